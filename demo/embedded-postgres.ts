// PostgreSQL with nothing installed: PGlite (PostgreSQL compiled to
// WebAssembly) served on a local TCP socket, so knex and the real pg driver
// talk to it exactly as to a server. Used by the demo and the tests.
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(): Promise<EmbeddedPostgres> {
  const db = await PGlite.create();
  // PGlite is one backend: the server runs one connection's transaction at a
  // time, and session settings such as search_path are shared by all connections.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 32 });
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
