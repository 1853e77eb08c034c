// One insert in the queue of a batching transaction, from `.insert()` to the
// flush that carries it, and the awaits waiting on it.
import type { Origin } from './errors';
import type { InsertSpec } from './insert-spec';
import type { QueryBuilderInternals, Row } from './knex-internals';
import { keepSentinel } from './shape-keeper';

/**
 * queued   -> in the queue; the builder may still be changed by chained calls
 * flushing -> taken by a flush, statements on their way; or staged as COPY text
 *              (staged-copies.ts), which only inserts nobody waits for are,
 *              and which nothing answers: they stay here
 * done     -> written; `outcome` holds what the database answered
 * failed   -> its flush failed; `error` says why
 * dropped  -> never written: only compiled (`.toSQL()`), or its transaction rolled back
 */
export type InsertState = 'queued' | 'flushing' | 'done' | 'failed' | 'dropped';

/** What the database answered for one insert: what plain knex would have seen. */
export interface InsertOutcome {
  rowCount: number;
  /** Rows of its RETURNING clause, in the order of its values; absent without `.returning()`. */
  rows?: Row[];
  /** What knex answered, for an insert that could not be batched and ran on its own. */
  response?: unknown;
}

interface Waiter {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** Turns the outcome into what the await resolves to. */
  shape(outcome: InsertOutcome): unknown;
}

let queued = 0;
const NO_IDS: readonly unknown[] = Object.freeze([]);
const NO_WAITERS: readonly Waiter[] = Object.freeze([]);

export class QueuedInsert {
  /** Increases in queue order, across the transactions of a process. */
  readonly sequence = ++queued;
  state: InsertState = 'queued';
  /** Awaited at least once: it is written even if it was also compiled. */
  claimed = false;
  /** `.toSQL()` or `.toString()` was called on it. Never awaited too, it is never written. */
  compiled = false;
  /** Its values cannot be inserted (see checkInsertValues): its await rejects, or, never awaited, it fails the flush. */
  refusal?: unknown;
  /** The builder as read at the last await, or at the flush for one never awaited; undefined if it cannot be batched (or is not read yet). */
  spec: InsertSpec | undefined = undefined;
  /** Rows it inserts, as `.insert()` gave them: what it counts for in the queue's size (see maxQueuedRows). */
  readonly size: number;
  /** Pre-allocated primary keys of its rows, by row index; holes for rows without one (see setId). */
  ids: readonly unknown[] = NO_IDS;
  outcome?: InsertOutcome;
  error?: unknown;
  private waiters: Waiter[] | undefined;

  /**
   * The builder, until an await has read it into a batchable spec: then the
   * batcher keeps one copy per kind of insert (see Batcher.templateFor) and
   * this one is let go, so that a queue of thousands of inserts does not hold
   * thousands of knex builders.
   */
  builder: QueryBuilderInternals | undefined;

  constructor(
    builder: QueryBuilderInternals,
    readonly origin: Origin,
  ) {
    this.builder = builder;
    const values = builder._single.insert;
    this.size = Array.isArray(values) ? values.length : 1;
  }

  /** Gives row `index` its pre-allocated key. The list is made at the first one, at its full size: most inserts never get one. */
  setId(index: number, id: unknown): void {
    if (this.ids === NO_IDS) this.ids = new Array(this.spec?.rows.length ?? this.size);
    (this.ids as unknown[])[index] = id;
  }

  /** A promise settled when this insert is written (or fails), shaped by `shape`. */
  wait(shape: Waiter['shape']): Promise<unknown> {
    if (this.state === 'done') return Promise.resolve().then(() => shape(this.outcome!));
    if (this.state === 'failed' || this.state === 'dropped') return Promise.reject(this.error);
    return new Promise((resolve, reject) => (this.waiters ??= []).push({ resolve, reject, shape }));
  }

  get awaited(): boolean {
    return this.waiters !== undefined && this.waiters.length > 0;
  }

  /**
   * Whether what the database answers for it may still be read: an await
   * waits for its flush, or it was never awaited (it may be, later). An
   * insert awaited and answered already (ids from the pool, no RETURNING)
   * needs nothing back.
   */
  get outcomeWanted(): boolean {
    return this.awaited || !this.claimed;
  }

  succeed(outcome: InsertOutcome): void {
    this.state = 'done';
    this.outcome = outcome;
    const waiters = this.takeWaiters();
    for (let i = 0; i < waiters.length; i++) {
      const waiter = waiters[i];
      try {
        waiter.resolve(waiter.shape(outcome));
      } catch (error) {
        waiter.reject(error);
      }
    }
  }

  fail(error: unknown, state: 'failed' | 'dropped' = 'failed'): void {
    this.state = state;
    this.error = error;
    for (const waiter of this.takeWaiters()) waiter.reject(error);
  }

  /** Replaced by a later `.insert()` on the same builder, or compiled and never awaited. */
  drop(): void {
    this.state = 'dropped';
  }

  private takeWaiters(): readonly Waiter[] {
    const waiters = this.waiters ?? NO_WAITERS;
    this.waiters = undefined;
    return waiters;
  }
}

/** Removes from `entries`, in place, those whose insert's outcome nobody will read (see QueuedInsert.outcomeWanted). */
export function keepOutcomesWanted<T>(entries: T[], insertOf: (entry: T) => QueuedInsert): void {
  let kept = 0;
  for (const entry of entries) if (insertOf(entry).outcomeWanted) entries[kept++] = entry;
  entries.length = kept;
}

/** A queued insert of no transaction, kept alive for its map (see shape-keeper.ts). */
const SENTINEL = new QueuedInsert({ _single: { insert: {} } } as QueryBuilderInternals, {});
keepSentinel(SENTINEL);

const QUEUED = Symbol('knex-batch-inserts.queued');

/** The queued insert a builder's `.insert()` created, if any. */
export function queuedInsertOf(builder: object): QueuedInsert | undefined {
  return (builder as { [QUEUED]?: QueuedInsert })[QUEUED];
}

/** A symbol-keyed property: knex's clone() and anything that lists the builder's keys leave it alone. */
export function linkBuilder(builder: object, insert: QueuedInsert): void {
  (builder as { [QUEUED]?: QueuedInsert })[QUEUED] = insert;
}

/** Marks a builder's copy kept by shape-keeper.ts as `linkBuilder` marks a queued builder, with an insert of no transaction. */
export function linkSentinel(copy: object): void {
  linkBuilder(copy, SENTINEL);
}
