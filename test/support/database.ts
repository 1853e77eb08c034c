// Where the tests find PostgreSQL: DATABASE_URL when set, else a container
// from testcontainers (needs Docker), else the embedded PGlite of the demo.
import { startEmbeddedPostgres } from '../../demo/embedded-postgres';

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
  return { ...(await startEmbeddedPostgres()), source: 'PGlite' };
}
