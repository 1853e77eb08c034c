// Hooks one knex transaction so that its inserts go to a Batcher. Each hook
// is an own property of the transaction's client object, which knex creates
// for that transaction alone (makeTxClient), so nothing outside it changes.
//
//   queryBuilder        builders of this transaction are BatchingQueryBuilders:
//                       `.insert()` queues, `.toSQL()` marks the insert compiled
//   runner              an awaited insert is answered by the batcher instead of run;
//                       any other statement is checked for queued inserts used inside
//                       it and for SQL that may move sequences (pooled ids are dropped)
//   acquireConnection   every statement knex runs for the transaction (queries, raw,
//                       schema, streams, nested transactions) asks for the
//                       connection first: the queue is flushed before it gets it,
//                       and a BEGIN still held (held-begin.ts) is sent
//   _query              keeps the PostgreSQL error message, which knex overwrites
//                       with the whole statement and its values; answers knex's
//                       COMMIT when the last flush carried it (Batcher.finish)
import { Batcher, type TransactionAccess } from './batcher';
import { CopyBatch, type QueryClient } from './copy-batch';
import type { Origin } from './errors';
import { answeredHere, heldBeginOf, transactionEnd } from './held-begin';
import { checkInsertValues } from './insert-spec';
import type { Connection, KnexClient, QueryBuilderInternals, QueryObject, Runner, TransactionInternals } from './knex-internals';
import type { ResolvedOptions } from './options';
import { queuedInsertOf } from './queued-insert';
import { keepSentinel } from './shape-keeper';

const batchers = new WeakMap<KnexClient, Batcher>();
const pgMessages = new WeakMap<object, string>();

export function batcherOf(trx: object): Batcher | undefined {
  return batchers.get((trx as { client: KnexClient }).client);
}

export function hookTransaction(trx: TransactionInternals, options: ResolvedOptions, parent?: Batcher): Batcher {
  const client = trx.client;
  const { acquireConnection, runner, query, _query } = client;
  const connection = (): Promise<Connection> => acquireConnection.call(client);
  const heldBegin = heldBeginOf(client);
  /** The last COPY batch sent: the next one may go right behind it while it is answered (see copy). */
  let lastBatch: CopyBatch | undefined;

  const access: TransactionAccess = {
    client,
    nested: parent !== undefined || trx.parentTransaction !== undefined,
    async query(sql, bindings) {
      try {
        const { response } = await query.call(client, await connection(), { sql, bindings });
        return response!;
      } catch (error) {
        const message = typeof error === 'object' && error !== null ? pgMessages.get(error) : undefined;
        if (message !== undefined) (error as Error).message = message;
        throw error;
      }
    },
    async copy(commands, sent, commit) {
      const conn = await connection();
      for (const { sql } of commands) client.emit('query', { __knexUid: conn.__knexUid, __knexTxId: conn.__knexTxId, sql, bindings: [], method: 'copy' });
      const batch = new CopyBatch(commands, { begin: heldBegin?.take(), commit });
      // behind a batch still being answered, this one goes out at once and reaches pg when that one is answered
      const pg = conn as unknown as Partial<QueryClient>;
      const before = lastBatch?.sent && !lastBatch.finished && Array.isArray(pg._queryQueue) ? lastBatch : undefined;
      lastBatch = batch;
      if (before) batch.sendAfter(before, pg as QueryClient, conn.connection!);
      else conn.query(batch as never);
      sent?.();
      return batch.done;
    },
    async runInPlace(builder) {
      const inPlace = runner.call(client, builder);
      inPlace.connection = await connection(); // a runner with a connection does not ask for one
      return inPlace.run();
    },
    async typeParser(typeOid) {
      return (await connection()).getTypeParser(typeOid, 'text');
    },
  };
  const batcher = new Batcher(access, options, parent);
  batchers.set(client, batcher);

  const BatchingQueryBuilder = batchingBuilderClass(client.queryBuilder().constructor as QueryBuilderClass);
  client.queryBuilder = function (this: KnexClient) {
    return new BatchingQueryBuilder(this);
  };
  client.runner = function (this: KnexClient, builder: unknown): Runner {
    const statement = builder as QueryBuilderInternals;
    if (statement._method === 'insert') return new InsertRunner(batcher, this, statement, runner);
    if (mayTakeSequenceValues(builder)) batcher.forgetIds();
    return runner.call(this, builder);
  };
  client.acquireConnection = async function (this: KnexClient) {
    await batcher.settle();
    if (batcher.afterCommit) throw committedError('a statement'); // a stream or a nested transaction, which _query does not see
    const conn = await acquireConnection.call(this);
    await heldBegin?.sendAlone(conn); // not the library's own statements: they take the connection from `connection()`
    return conn;
  };
  client._query = function (this: KnexClient, conn: Connection, queryObject: QueryObject) {
    if (batcher.afterCommit && transactionEnd(queryObject.sql) !== 'ROLLBACK') return afterCommitSent(batcher, queryObject);
    return _query.call(this, conn, queryObject).catch((error: unknown) => {
      if (error instanceof Error) pgMessages.set(error, error.message);
      throw error;
    });
  };
  return batcher;
}

/**
 * A statement (other than ROLLBACK, after a failed flush) of a transaction
 * whose last flush went with its COMMIT (see Batcher.finish): knex's own
 * COMMIT, which follows, is answered as the server answered that one.
 * Anything else would run after that COMMIT, outside the transaction, and is
 * refused, as knex refuses statements of a transaction that has completed.
 */
function afterCommitSent(batcher: Batcher, queryObject: QueryObject): Promise<QueryObject> {
  if (batcher.committed && transactionEnd(queryObject.sql) === 'COMMIT') {
    return answeredHere(queryObject, 'COMMIT');
  }
  return Promise.reject(committedError(queryObject.sql.slice(0, 100)));
}

function committedError(what: string): Error {
  return new Error(`knex-batch-inserts: the transaction's COMMIT went with its last flush; not run: ${what}`);
}

/**
 * What knex runs an insert builder with: awaiting it (`then` calls `run`)
 * claims it from the batcher. knex's own runner is made only where knex
 * runs the insert after all (streams, a finished transaction).
 */
class InsertRunner implements Runner {
  constructor(
    private readonly batcher: Batcher,
    private readonly client: KnexClient,
    private readonly builder: QueryBuilderInternals,
    private readonly makeKnexRunner: KnexClient['runner'],
  ) {}

  run(): Promise<unknown> {
    return this.batcher.claim(this.builder, this);
  }

  /** Runs the insert as knex would (see Batcher.claim). */
  runInKnex(): Promise<unknown> {
    return this.knexRunner().run();
  }

  stream(...args: unknown[]): unknown {
    return this.knexRunner().stream(...args);
  }

  pipe(...args: unknown[]): unknown {
    return this.knexRunner().pipe(...args);
  }

  private knexRunner(): Runner {
    return this.makeKnexRunner.call(this.client, this.builder);
  }
}

// kept alive for its map (see shape-keeper.ts)
keepSentinel(new InsertRunner({} as Batcher, {} as KnexClient, {} as QueryBuilderInternals, () => ({}) as Runner));

/** knex query-builder methods that, without raw SQL in them, cannot move a sequence. */
const READS_OR_UPDATES = new Set(['select', 'first', 'pluck', 'update', 'del', 'columnInfo']);
/** Raw SQL that reads and nothing else starts like this... */
const PLAIN_READ = /^[\s(]*(select|with|values|show|explain)\b/i;
/** ...and names none of these, which take values from sequences, move them, or write rows. */
const WRITES_OR_SEQUENCES = /\b(nextval|setval|insert|update|delete|merge|truncate|alter|copy|call|do|perform)\b/i;

/**
 * Whether a statement may take values from a sequence or move one back
 * (setval, RESTART), which would put pooled ids out of queue order or make
 * them collide: raw SQL that is not a plain read, truncate and DDL, and knex
 * queries with raw fragments that name such commands. Rows inserted by
 * triggers of an update or delete are not seen (see README, Limits).
 */
function mayTakeSequenceValues(builder: unknown): boolean {
  const statement = builder as { isRawInstance?: boolean; sql?: unknown; _method?: string };
  const parts = inspectStatement(builder);
  if (statement.isRawInstance) parts.push(String(statement.sql));
  const plainRead = statement.isRawInstance ? PLAIN_READ.test(String(statement.sql)) : READS_OR_UPDATES.has(statement._method!);
  return !plainRead || parts.some((sql) => WRITES_OR_SEQUENCES.test(sql));
}

/** Why these values cannot be inserted, if they cannot: the refusal is kept for the await (or the flush). */
function refusalOf(values: unknown, origin: Origin): unknown {
  try {
    checkInsertValues(values, origin);
    return undefined;
  } catch (error) {
    return error;
  }
}

type QueryBuilderClass = new (client: KnexClient) => QueryBuilderInternals & {
  insert(values: unknown, returning?: unknown, options?: unknown): unknown;
};

const subclasses = new WeakMap<QueryBuilderClass, QueryBuilderClass>();

/** knex's query builder of the dialect, with `.insert()` queueing and `.toSQL()` noted. */
function batchingBuilderClass(Base: QueryBuilderClass): QueryBuilderClass {
  const known = subclasses.get(Base);
  if (known) return known;
  class BatchingQueryBuilder extends Base {
    override insert(values: unknown, returning?: unknown, options?: unknown): unknown {
      const batcher = batchers.get(this.client);
      if (!batcher?.accepting) return super.insert(values, returning, options);
      const origin = batcher.origin(BatchingQueryBuilder.prototype.insert, this._single.table);
      super.insert(values, returning, options);
      batcher.enqueue(this, origin, refusalOf(values, origin));
      return this;
    }

    override toSQL(): ReturnType<QueryBuilderInternals['toSQL']> {
      const queued = queuedInsertOf(this);
      if (queued) queued.compiled = true;
      return super.toSQL();
    }
  }
  subclasses.set(Base, BatchingQueryBuilder);
  return BatchingQueryBuilder;
}

/**
 * Walks the parts of a statement about to run (subqueries, CTEs, raw
 * bindings). A queued insert used inside it is written by that statement,
 * so it must not also be written by the queue, exactly as if it had been
 * compiled with `.toSQL()`. Returns the SQL text of the raw fragments in it.
 */
function inspectStatement(node: unknown, depth = 0, rawSql: string[] = []): string[] {
  if (node === null || typeof node !== 'object' || depth > 8) return rawSql;
  const queued = depth > 0 ? queuedInsertOf(node) : undefined;
  if (queued) queued.compiled = true;
  const part = node as { isRawInstance?: boolean; sql?: unknown; _statements?: { value?: unknown }[]; bindings?: unknown; _single?: Record<string, unknown> };
  if (depth > 0 && part.isRawInstance) rawSql.push(String(part.sql));
  const children = Array.isArray(node)
    ? node
    : [part._statements?.map((statement) => statement.value), part.bindings, ...Object.values(part._single ?? {})];
  for (const child of children) inspectStatement(child, depth + 1, rawSql);
  return rawSql;
}
