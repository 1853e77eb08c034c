import type { Knex } from 'knex';
import pg from 'pg';

/** Runs `work` and returns its result with the SQL of every statement knex sent meanwhile. */
export async function recordStatements<T>(knex: Knex, work: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  const statements: string[] = [];
  const listener = (query: { sql: string }) => statements.push(query.sql);
  knex.on('query', listener);
  try {
    return { result: await work(), statements };
  } finally {
    knex.removeListener('query', listener);
  }
}

/** A short name for each statement: BEGIN, COMMIT, catalog, ids, insert <table>, copy <table>, or its first words. */
export function kinds(statements: readonly string[]): string[] {
  return statements.map((sql) => {
    const text = sql.trim();
    if (/^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT)\b/i.test(text)) return text.split(/[ ;]/)[0].toUpperCase() === 'RELEASE' ? 'RELEASE' : text.split(/[ ;]/)[0].toUpperCase();
    if (text.startsWith('with relations as (')) return 'catalog';
    if (text.startsWith('select (select string_agg(nextval(')) return 'ids';
    const insert = /^insert into "([^"]+)"(?:\."([^"]+)")?/.exec(text);
    if (insert) return `insert ${insert[2] ?? insert[1]}`;
    const copy = /^copy "([^"]+)"(?:\."([^"]+)")? \(.*\) from stdin$/.exec(text);
    if (copy) return `copy ${copy[2] ?? copy[1]}`;
    return text.split(/\s+/).slice(0, 2).join(' ');
  });
}

/**
 * Runs `work` and returns the text of every query pg's clients sent the
 * server meanwhile (a Query message, or Parse to Sync): one per round trip.
 * Unlike knex's `query` events, it leaves out statements answered without
 * the server, and shows statements sent together as the one text they went in.
 */
export async function recordRoundTrips<T>(work: () => Promise<T>): Promise<{ result: T; roundTrips: string[] }> {
  const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = prototype.query;
  const roundTrips: string[] = [];
  prototype.query = function (this: unknown, ...args: unknown[]) {
    const first = args[0] as string | { text?: string };
    roundTrips.push(typeof first === 'string' ? first : String(first.text));
    return query.apply(this, args);
  };
  try {
    return { result: await work(), roundTrips };
  } finally {
    prototype.query = query;
  }
}
