// Hooks one knex transaction so that its inserts go to a Batcher. Each hook
// is an own property of the transaction's client object, which knex creates
// for that transaction alone (makeTxClient), so nothing outside it changes.
//
//   queryBuilder        builders of this transaction are BatchingQueryBuilders:
//                       `.insert()` queues, `.toSQL()` marks the insert compiled
//   runner              an awaited insert is answered by the batcher instead of run
//   acquireConnection   every statement knex runs for the transaction (queries, raw,
//                       schema, streams, nested transactions) asks for the
//                       connection first: the queue is flushed before it gets it
//   _query              keeps the PostgreSQL error message, which knex overwrites
//                       with the whole statement and its values
import { Batcher, type TransactionAccess } from './batcher';
import { checkInsertValues } from './insert-spec';
import type { Connection, KnexClient, QueryBuilderInternals, QueryObject, Runner, TransactionInternals } from './knex-internals';
import type { ResolvedOptions } from './options';
import { queuedInsertOf } from './queued-insert';

const batchers = new WeakMap<KnexClient, Batcher>();
const pgMessages = new WeakMap<object, string>();

export function batcherOf(trx: object): Batcher | undefined {
  return batchers.get((trx as { client: KnexClient }).client);
}

export function hookTransaction(trx: TransactionInternals, options: ResolvedOptions, parent?: Batcher): Batcher {
  const client = trx.client;
  const { acquireConnection, runner, query, _query } = client;
  const connection = (): Promise<Connection> => acquireConnection.call(client);

  const access: TransactionAccess = {
    client,
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
    const original = runner.call(this, builder);
    const statement = builder as QueryBuilderInternals;
    if (statement._method === 'insert') {
      const run = original.run.bind(original);
      original.run = () => batcher.claim(statement, run);
      return original;
    }
    markEmbeddedInserts(builder);
    if (!READS_OR_UPDATES.has(statement._method)) batcher.forgetIds(); // raw SQL, truncate, DDL: may take ids from sequences
    return original;
  };
  client.acquireConnection = async function (this: KnexClient) {
    await batcher.settle();
    return acquireConnection.call(this);
  };
  client._query = function (this: KnexClient, conn: Connection, queryObject: QueryObject) {
    return _query.call(this, conn, queryObject).catch((error: unknown) => {
      if (error instanceof Error) pgMessages.set(error, error.message);
      throw error;
    });
  };
  return batcher;
}

/** knex query-builder methods that cannot take values from a sequence. */
const READS_OR_UPDATES = new Set(['select', 'first', 'pluck', 'update', 'del', 'columnInfo']);

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
      if (!batcher) return super.insert(values, returning, options);
      const origin = batcher.origin(BatchingQueryBuilder.prototype.insert);
      checkInsertValues(values, origin);
      super.insert(values, returning, options);
      batcher.enqueue(this, origin);
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
 * A queued insert used inside another statement (a CTE, a subquery, a raw
 * binding) is written by that statement: it must not also be written by the
 * queue, exactly as if it had been compiled with `.toSQL()`.
 */
function markEmbeddedInserts(node: unknown, depth = 0): void {
  if (depth > 0) {
    const queued = node !== null && typeof node === 'object' ? queuedInsertOf(node) : undefined;
    if (queued) queued.compiled = true;
  }
  if (depth > 8 || node === null || typeof node !== 'object') return;
  const children = Array.isArray(node)
    ? node
    : [(node as { _statements?: { value?: unknown }[] })._statements?.map((statement) => statement.value),
       (node as { bindings?: unknown }).bindings,
       (node as { _single?: { insert?: unknown } })._single?.insert];
  for (const child of children) if (child !== null && typeof child === 'object') markEmbeddedInserts(child, depth + 1);
}
