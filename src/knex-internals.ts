// Typed views of the knex 3 internals this library relies on. Everything that
// reaches under knex's public API goes through these types, so this file is
// the list of seams to re-check when knex changes (see README, "How it works").
import type { Knex } from 'knex';
import type * as pg from 'pg';

export type Row = Record<string, unknown>;

/** A pg client as knex hands it out: the connection a transaction runs on, with its protocol writer (see copy-batch.ts). */
export type Connection = pg.Client & { __knexUid?: string; __knexTxId?: string; connection?: WireConnection };

/**
 * pg's protocol writer under a Client (`client.connection`, not in pg's
 * types): the methods copy-batch.ts writes messages with, as pg-copy-streams does.
 */
export interface WireConnection {
  stream: { cork(): void; uncork(): void };
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
}

/** What knex's `client.query` takes and resolves to. */
export interface QueryObject {
  sql: string;
  bindings?: readonly unknown[];
  response?: pg.QueryResult;
}

/** The `_single` part of a query builder: the settings of an insert. */
export interface BuilderSingle {
  table?: unknown;
  schema?: unknown;
  insert?: unknown;
  returning?: unknown;
  onConflict?: unknown;
  ignore?: boolean;
  merge?: { updates?: unknown };
}

/** A knex query builder, seen through the private fields an insert is read from. */
export interface QueryBuilderInternals {
  client: KnexClient;
  _method: string;
  _single: BuilderSingle;
  _statements: unknown[];
  _comments: unknown[];
  _timeout?: number;
  _connection?: unknown;
  _options?: unknown[];
  queryContext(): unknown;
  clone(): QueryBuilderInternals;
  toSQL(): Knex.Sql;
}

/**
 * The runner knex creates to execute a builder: `then` calls `run`, and
 * `stream` and `pipe` their namesakes (knex/lib/builder-interface-augmenter.js).
 */
export interface Runner {
  run(): Promise<unknown>;
  stream(...args: unknown[]): unknown;
  pipe(...args: unknown[]): unknown;
  connection?: Connection;
}

/**
 * knex's client object. Inside a transaction it is the transaction's own
 * client, derived from the root client by `makeTxClient`
 * (knex/lib/execution/transaction.js), so own properties set on it affect
 * that transaction only.
 */
export interface KnexClient {
  config: Knex.Config;
  driver: typeof pg;
  transacting?: boolean;
  queryBuilder(): QueryBuilderInternals;
  runner(builder: unknown): Runner;
  acquireConnection(): Promise<Connection>;
  query(connection: Connection, query: QueryObject): Promise<QueryObject>;
  _query(connection: Connection, query: QueryObject): Promise<QueryObject>;
  postProcessResponse(response: unknown, queryContext: unknown): unknown;
  emit(event: string, data: unknown): boolean;
  queryCompiler(builder: unknown): { tableName: string };
  formatter(builder: unknown): { columnize(columns: string[]): string };
}

/** The parts of a knex transaction object (a "transactor") that we replace or read. */
export interface TransactionInternals {
  client: KnexClient;
  /** Set by knex on a transaction nested in another, a savepoint. */
  parentTransaction?: unknown;
  commit(value?: unknown): Promise<unknown>;
  rollback(error?: unknown): Promise<unknown>;
  /** The methods `trx.transaction()` and `trx.batchInsert()` forward to. */
  context: {
    transaction: (container?: unknown, config?: unknown) => Promise<unknown>;
    batchInsert: (table: string, rows: readonly Row[], chunkSize?: number) => unknown;
  };
}

const identity = (value: string): string => value;

/**
 * The name PostgreSQL sees for a knex-level identifier: the user's
 * `wrapIdentifier` applied, knex's quoting not. knex passes its quoting to
 * `wrapIdentifier` as the last step, so handing it the identity instead
 * yields the bare name. It takes the config, not a client, as knex's
 * `customWrapIdentifier` reads only that: names are memoised per config, and
 * a memo holding a transaction's client would keep that transaction alive.
 */
export function databaseName(config: Knex.Config, name: string, queryContext: unknown): string {
  return config.wrapIdentifier ? config.wrapIdentifier(name, identity, queryContext) : name;
}

/** True for knex Raw and QueryBuilder values, which compile into SQL text. */
export function isSqlFragment(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const fragment = value as { isRawInstance?: boolean; _method?: unknown; toSQL?: unknown };
  return fragment.isRawInstance === true || (typeof fragment._method === 'string' && typeof fragment.toSQL === 'function');
}
