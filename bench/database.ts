// Which PostgreSQL the benchmark talks to, and the schema it owns there.
// DATABASE_URL when set; otherwise the embedded PGlite server the demo uses,
// which is fine to try the harness but not to compare methods: it is one
// WebAssembly backend in this very process, sharing its CPU and event loop.
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../demo/embedded-postgres';

export interface Database {
  /** The server's URL, without a schema or application name. */
  url: URL;
  embedded: boolean;
  /** `select version()`. */
  version: string;
  /** The schema this run owns: created by `openDatabase`, dropped by `close`. */
  schema: string;
  /** A direct connection (never through the latency proxy) for setup, truncation and checks. */
  admin: Client;
  /** A URL for contenders to connect with: `host`/`port` replaced when given (the latency proxy). */
  urlFor(port?: number): string;
  /** Drops the schema and disconnects; safe to call more than once and after an interrupt. */
  close(interrupted?: boolean): Promise<void>;
}

export async function openDatabase(schemaPrefix: string): Promise<Database> {
  const given = process.env.DATABASE_URL;
  const embedded = given ? undefined : await startEmbeddedPostgres();
  const url = new URL(given ?? embedded!.url);
  const schema = `${schemaPrefix}_${process.pid}_${Date.now().toString(36)}`;
  const admin = new Client({ connectionString: url.toString(), application_name: `${schema}_admin` });
  let version: string;
  try {
    await admin.connect();
    version = (await admin.query<{ version: string }>('select version()')).rows[0].version;
    await admin.query(`create schema ${schema}`);
  } catch (error) {
    await admin.end().catch(() => undefined);
    await embedded?.stop();
    throw error;
  }

  let closing: Promise<void> | undefined;
  const close = (interrupted = false) =>
    (closing ??= (async () => {
      // After an interrupt a contender's transaction may still hold its locks:
      // end those sessions (named after the schema) so the drop does not wait.
      // PGlite is one backend for all connections; stopping it discards everything.
      if (interrupted && !embedded) {
        await admin
          .query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()', [schema])
          .catch(() => undefined);
      }
      if (!(interrupted && embedded)) await admin.query(`drop schema if exists ${schema} cascade`).catch((error) => console.error(`could not drop schema ${schema}:`, error));
      await admin.end().catch(() => undefined);
      await embedded?.stop();
    })());

  return {
    url,
    embedded: embedded !== undefined,
    version,
    schema,
    admin,
    urlFor(port?: number) {
      const copy = new URL(url);
      if (port !== undefined) {
        copy.hostname = '127.0.0.1';
        copy.port = String(port);
      }
      // Every contender's connection carries the schema's name, so an interrupted run can find it.
      copy.searchParams.set('application_name', schema);
      return copy.toString();
    },
    close,
  };
}

/** The URL with any password hidden, for printing. */
export function redact(url: URL): string {
  const copy = new URL(url);
  if (copy.password) copy.password = '***';
  return copy.toString();
}
