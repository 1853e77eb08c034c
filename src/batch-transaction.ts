// The public entry points: batchTransaction and withBatchInserts. They open a
// knex transaction as usual, hook it (transaction-hooks.ts), and make sure
// the queue is written before COMMIT and dropped on ROLLBACK.
import type { Knex } from 'knex';
import chunk from 'lodash/chunk';
import flatten from 'lodash/flatten';
import type { Batcher } from './batcher';
import { holdBegin } from './held-begin';
import type { Row, TransactionInternals } from './knex-internals';
import { type BatchOptions, type FlushStats, resolveOptions } from './options';
import { catalogFor } from './table-metadata';
import { batcherOf, hookTransaction } from './transaction-hooks';

/** A knex transaction whose inserts are batched. */
export interface BatchTransaction<TRecord extends {} = any, TResult = any[]> extends Knex.Transaction<TRecord, TResult> {
  /** Writes everything queued so far; resolves to what it did. */
  flush(): Promise<FlushStats>;
}

export interface BatchTransactionOptions extends BatchOptions {
  /** Passed to knex's `transaction()`: isolationLevel, readOnly, ... */
  transaction?: Knex.TransactionConfig;
}

type Container<T> = (trx: BatchTransaction) => T | Promise<T>;
type Open = (container?: (trx: Knex.Transaction) => Promise<unknown>, config?: Knex.TransactionConfig) => Promise<unknown>;

/** How each batching transaction opens nested ones: knex's own `transaction()` of that transaction. */
const openNested = new WeakMap<Batcher, Open>();

/**
 * Like `knex.transaction(callback)`, with inserts batched: when the callback
 * resolves, everything queued is written, then the transaction commits and
 * the callback's value is returned. When it throws, the queue is dropped, the
 * transaction rolls back and the error is rethrown. Without a callback,
 * resolves to the transaction, whose `commit()` writes the queue first.
 * If `knex` is a transaction, the new one is nested in a savepoint.
 */
export function batchTransaction<T>(knex: Knex, callback: Container<T>, options?: BatchTransactionOptions): Promise<T>;
export function batchTransaction(knex: Knex, options?: BatchTransactionOptions): Promise<BatchTransaction>;
export function batchTransaction<T>(
  knex: Knex,
  callbackOrOptions?: Container<T> | BatchTransactionOptions,
  maybeOptions?: BatchTransactionOptions,
): Promise<T | BatchTransaction> {
  const callback = typeof callbackOrOptions === 'function' ? callbackOrOptions : undefined;
  const options = (typeof callbackOrOptions === 'function' ? maybeOptions : callbackOrOptions) ?? {};
  const outer = knex.isTransaction ? batcherOf(knex) : undefined;
  const open: Open = outer ? openNested.get(outer)! : (container, config) => openHoldingBegin(knex, container, config);
  return begin(open, callback, options, outer);
}

/**
 * A knex instance whose `transaction()` (and `transactionProvider()`) open
 * batching transactions, for code bases that open transactions in many places.
 * Everything else is the given instance.
 */
export function withBatchInserts(knex: Knex, options: BatchOptions = {}): Knex {
  const open: Open = (container, config) => openHoldingBegin(knex, container, config);
  const transaction = (container?: unknown, config?: Knex.TransactionConfig) => {
    if (container != null && typeof container !== 'function') return begin(open, undefined, { ...options, transaction: container });
    return begin(open, container as Container<unknown> | undefined, { ...options, transaction: config });
  };
  const transactionProvider = (config?: Knex.TransactionConfig) => {
    let trx: Promise<unknown> | undefined;
    return () => (trx ??= transaction(undefined, config));
  };
  return new Proxy(knex, {
    get(target, property) {
      if (property === 'transaction') return transaction;
      if (property === 'transactionProvider') return transactionProvider;
      return Reflect.get(target, property, target);
    },
  });
}

/**
 * Forgets the table metadata (keys, sequences, foreign keys) cached for this
 * knex instance, so the next batching transaction reads it again. Call it
 * after changing tables in a running process, e.g. after migrations.
 */
export function resetTableMetadata(knex: Knex): void {
  catalogFor(knex.client.config).forget();
}

/**
 * `knex.transaction()`, holding the BEGIN of a new transaction back for its
 * first statement (held-begin.ts), unless it runs on a connection the caller
 * gave, which the caller may also use outside knex. Without a container it
 * resolves to the transaction, as knex does, by making the container `resolve`.
 */
function openHoldingBegin(knex: Knex, container: Parameters<Open>[0], config?: Knex.TransactionConfig): Promise<unknown> {
  const opening = (container: (trx: Knex.Transaction) => unknown) => {
    const transaction = knex.transaction(container as never, config);
    if (!knex.isTransaction && !config?.connection) holdBegin(transaction);
    return transaction;
  };
  if (container) return opening(container);
  return new Promise((resolve, reject) => {
    opening(resolve).catch(reject);
  });
}

function begin<T>(open: Open, callback: Container<T> | undefined, options: BatchTransactionOptions, parent?: Batcher): Promise<T | BatchTransaction> {
  const resolved = resolveOptions(options);
  if (!callback) {
    return open(undefined, options.transaction).then((trx) => {
      attach(trx as Knex.Transaction, resolved, parent);
      return trx as BatchTransaction;
    });
  }
  return open(async (trx) => {
    const batcher = attach(trx, resolved, parent);
    let value: T;
    try {
      value = await callback(trx as BatchTransaction);
    } catch (error) {
      batcher.abandon();
      throw error;
    }
    await batcher.finish();
    return value;
  }, options.transaction) as Promise<T>;
}

function attach(knexTrx: Knex.Transaction, options: ReturnType<typeof resolveOptions>, parent?: Batcher): Batcher {
  const trx = knexTrx as unknown as TransactionInternals;
  const batcher = hookTransaction(trx, options, parent);
  const { commit, rollback } = trx;
  trx.commit = async (value?: unknown) => {
    try {
      await batcher.finish();
    } catch (error) {
      batcher.abandon();
      await rollback.call(trx, error);
      throw error;
    }
    return commit.call(trx, value);
  };
  trx.rollback = (error?: unknown) => {
    batcher.abandon();
    return rollback.call(trx, error);
  };
  (trx as unknown as BatchTransaction).flush = () => batcher.flush();

  const knexTransaction = trx.context.transaction.bind(trx.context) as Open;
  openNested.set(batcher, knexTransaction);
  trx.context.transaction = (container?: unknown, config?: unknown) =>
    begin(knexTransaction, container as Container<unknown> | undefined, { ...options, transaction: config as Knex.TransactionConfig }, batcher);

  const knexBatchInsert = trx.context.batchInsert.bind(trx.context);
  trx.context.batchInsert = (table, rows, chunkSize = 1000) => queueBatchInsert(knexTrx, knexBatchInsert, table, rows, chunkSize);
  return batcher;
}

/**
 * `trx.batchInsert(table, rows, chunkSize)`: as in knex, in a savepoint, so
 * that a failure rolls back the whole batch and nothing else; but all chunks
 * are queued at once in that (batching) savepoint and awaited together, so
 * they share a flush. Resolves like knex's: the chunks' results, flattened.
 */
function queueBatchInsert(
  trx: Knex.Transaction,
  knexBatchInsert: TransactionInternals['context']['batchInsert'],
  table: string,
  rows: readonly Row[],
  chunkSize: number,
) {
  if (typeof chunkSize !== 'number' || !(chunkSize >= 1)) throw new TypeError(`Invalid chunkSize: ${chunkSize}`);
  if (!Array.isArray(rows)) throw new TypeError(`Invalid batch: Expected array, got ${typeof rows}`);
  let returning: string | readonly string[] | undefined;
  let elsewhere: Knex.Transaction | undefined;
  // like knex's, it starts on its own, a tick later, after the chained calls
  const done = Promise.resolve().then(() => {
    if (elsewhere && elsewhere !== trx) {
      return (knexBatchInsert(table, rows, chunkSize) as Knex.BatchInsertBuilder).transacting(elsewhere).returning(returning ?? []);
    }
    return trx.transaction(async (savepoint) =>
      flatten(await Promise.all(chunk(rows, chunkSize).map((part) => savepoint(table).insert(part, returning as string[])))));
  });
  return Object.assign(done, {
    returning(columns: string | readonly string[]) {
      returning = columns;
      return this;
    },
    transacting(other: Knex.Transaction) {
      elsewhere = other;
      return this;
    },
  });
}
