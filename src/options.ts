// The options of a batching transaction and their defaults.
import type { IdBlockOptions } from './id-allocator';

/** What one flush did. */
export interface FlushStats {
  /** Groups of inserts sent together (same table, column set, returning and conflict clause). */
  groups: number;
  /** Rows written. */
  rows: number;
  /** Rows of `rows` whose COPY text was written earlier, when their queue aged, and waited for this flush (see maxQueuedRows). */
  staged: number;
  /** INSERT statements sent. */
  statements: number;
  /** Everything sent to the server: catalog and id queries, INSERTs, inserts that ran on their own. */
  roundTrips: number;
  /** Wall time of the flush. */
  ms: number;
}

export interface BatchOptions {
  /**
   * Flush once this many rows are queued, in the background: the await of the
   * insert that fills the queue goes on once the flush has taken it, and the
   * flush is sent right behind the one before it, without waiting for its
   * answer. While two flushes or more on their way carry 20,000 rows, a
   * full queue waits for the first to be answered. Default 10,000. The queue
   * is also let go earlier, from 2,500 rows, when an await answered at once
   * finds that the code has allocated half of V8's young generation since
   * the queue began: its inserts then die young instead of staying in memory
   * until the load ends. Where its flush would be all COPY and no await
   * waits for it, only its COPY text is written then, and waits, counted
   * among the queued rows, for the flush at this many rows, which sends it
   * in the same COPYs; otherwise the flush is sent then. Loading 1,000,000
   * rows in a loop of awaits, the process peaks at about 1.7 times the memory
   * of the rows (see the README's Performance section).
   */
  maxQueuedRows?: number;
  /**
   * Ids drawn from a sequence when code awaits ids one insert at a time: the
   * first request takes what it needs (for a bigint key: what the last
   * transaction of this knex instance used, if more; beyond 10,000, it takes
   * 10,000 and draws the rest in the background), later ones a block of
   * three times what the transaction drew so far, at least `min` and at most
   * `max`. Unused ids become gaps in the sequence: never more than `max` per
   * table and transaction, and for 4-byte keys at most max(min, 3 x ids used).
   * Default { min: 32, max: 100000 }.
   */
  idBlock?: Partial<IdBlockOptions>;
  /** Called with the stats of every flush that wrote something, including the one before COMMIT. */
  onFlush?: (stats: FlushStats) => void;
  /**
   * Record where `.insert()` was called, so that an error names the line that
   * queued the failing row. V8 walks the stack for it, which costs about as
   * much as the rest of queueing an insert (2-5 µs). 'sampled' (the default)
   * records the first 100 inserts of a transaction and then one in 100; an
   * error about an insert whose line was not recorded names the last recorded
   * insert into the same table. true records every insert, false none.
   */
  captureCallSites?: boolean | 'sampled';
}

/** captureCallSites: 'sampled' records the first `first` inserts of a transaction, then one in `every`. */
export const SAMPLED_CALL_SITES = { first: 100, every: 100 } as const;

export interface ResolvedOptions {
  maxQueuedRows: number;
  idBlock: IdBlockOptions;
  onFlush?: (stats: FlushStats) => void;
  captureCallSites: boolean | 'sampled';
}

export function resolveOptions(options: BatchOptions = {}): ResolvedOptions {
  const maxQueuedRows = options.maxQueuedRows ?? 10_000;
  const idBlock = { min: options.idBlock?.min ?? 32, max: options.idBlock?.max ?? 100_000 };
  if (!(maxQueuedRows >= 1)) throw new TypeError(`knex-batch-inserts: maxQueuedRows must be at least 1, got ${maxQueuedRows}`);
  if (!(Number.isSafeInteger(idBlock.min) && Number.isSafeInteger(idBlock.max) && idBlock.min >= 1 && idBlock.max >= idBlock.min)) {
    throw new TypeError(`knex-batch-inserts: idBlock needs whole numbers 1 <= min <= max, got ${JSON.stringify(idBlock)}`);
  }
  return { maxQueuedRows, idBlock, onFlush: options.onFlush, captureCallSites: options.captureCallSites ?? 'sampled' };
}
