// Where the tests find PostgreSQL: DATABASE_URL when set, else a container
// from testcontainers (needs Docker), else PGlite, PostgreSQL compiled to
// WebAssembly, served on a local socket so the real pg driver talks to it.
export interface Database {
  url: string;
  source: 'DATABASE_URL' | 'testcontainers' | 'PGlite';
  stop(): Promise<void>;
}

export async function startDatabase(log: (message: string) => void = console.log): Promise<Database> {
  if (process.env.DATABASE_URL) {
    return { url: process.env.DATABASE_URL, source: 'DATABASE_URL', stop: async () => {} };
  }
  try {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:15-alpine').start();
    return { url: container.getConnectionUri(), source: 'testcontainers', stop: async () => void (await container.stop()) };
  } catch (error) {
    log(`testcontainers cannot start PostgreSQL (${String(error).split('\n')[0]}); using embedded PGlite`);
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create();
  // PGlite is one backend: the server runs one connection's transaction at a
  // time, and session settings (search_path) are shared by all connections.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 32 });
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    source: 'PGlite',
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
