// When a batching transaction lets its queue go to a flush of its own accord
// (the batcher also flushes before other statements, on trx.flush() and
// before COMMIT): the queue is full, or it holds the transaction's first
// rows (the ramp), or it has aged. This module only counts; Batcher.makeRoom
// sends, or stages, what it lets go.
import { YoungGeneration } from './young-generation';

/**
 * A queue is also let go (staged or flushed) before it holds maxQueuedRows
 * rows, from EARLY_FLUSH_ROWS on, once the code has allocated this share of
 * V8's young generation since the queue began. A queued insert still alive
 * at two minor collections is copied to the old generation, which V8 lets
 * grow to about four times what was live at its last full collection, and
 * where most of what an allocation site made is still alive at a minor
 * collection, V8 allocates that site's objects in the old generation from
 * then on: a queue that outlives a young generation's worth of allocation
 * ends up in RSS until the load is over. Flushed (or staged) within half of
 * one, its inserts die young. `npm run bench:memory` (1,000,000 rows, default
 * options) peaked at 1.6-1.8x the rows with this, 3.6-4.1x without; with
 * this constant at 0.6 still 1.7-1.8x, at 0.7 3.6-3.9x (flushed, before
 * staging; see the README's memory figures).
 */
const YOUNG_SHARE = 0.5;
/** Enough rows for each table of a two-table loop to go by COPY (statement-writer.ts, COPY_MIN_ROWS), with room. */
const EARLY_FLUSH_ROWS = 2_500;

/**
 * A transaction's first RAMP_ROWS rows go in flushes of RAMP_QUEUE_ROWS
 * rows, sent in the background, each group by COPY whatever its size; later
 * groups of a table that went by COPY do too, in background flushes and the
 * last one (Batcher.statementsOf). The server is idle while the code queues:
 * without this, it gets a loop's first rows only at COMMIT, or when maxQueuedRows are queued, and its work all
 * comes after the loop's. Small flushes put it to work after the first few
 * hundred rows, and for a loop of up to 4,000 rows the flush at COMMIT is
 * small. 1,000 parents and children took 1.33x and 1.39x the COPY floor's
 * time without this, 1.15x and 1.05x with it (`npm run bench -- --rows 1000
 * --latency 0 --reps 15 --contenders knex-batch-inserts,copy`, two runs
 * each, alternating, at 9483aa9 and 6f5afd8); flushing only while
 * the server was idle, or in flushes growing from 400 rows, gained less.
 * Beyond RAMP_ROWS, flushes stay large: the server spends about a
 * millisecond on each COPY besides its rows (staged-copies.ts), and
 * background flushes keep it busy anyway.
 */
const RAMP_QUEUE_ROWS = 400;
const RAMP_ROWS = 4_000;
/** Answered awaits between two reads of the young generation (a read costs about a microsecond). */
const READ_YOUNG_EVERY = 128;

export class QueuePolicy {
  /** Rows flushes have taken off the queue, for RAMP_ROWS. */
  private rowsTaken = 0;
  /** A flush of the ramp ended without being released (INSERTs, a failure, nothing sent): see `ramping`. */
  private rampStopped = false;
  /** Allocation since the queue began (see YOUNG_SHARE). */
  private readonly young = new YoungGeneration();
  /** Awaits answered at once, counted for READ_YOUNG_EVERY. */
  private answered = 0;

  constructor(private readonly maxQueuedRows: number) {}

  /** The queue holds maxQueuedRows rows, counting those staged as text, or the transaction's first rows fill a small one (`ramping`). */
  full(queuedRows: number, stagedRows: number): boolean {
    return this.overMax(queuedRows + stagedRows) || this.ramping(queuedRows);
  }

  /** `rows` (queued and staged) reach maxQueuedRows. */
  overMax(rows: number): boolean {
    return rows >= this.maxQueuedRows;
  }

  /**
   * The transaction has let go fewer than RAMP_ROWS rows and the queue holds
   * RAMP_QUEUE_ROWS, unless a flush of the ramp ended with INSERTs (a table
   * COPY cannot write, a server without COPY): such a flush lets the next
   * task start only once it is answered, and the await that fills the queue
   * again would wait for that answer each time.
   */
  ramping(queuedRows: number): boolean {
    return !this.rampStopped && this.rowsTaken < RAMP_ROWS && queuedRows >= RAMP_QUEUE_ROWS;
  }

  /** The queue holds EARLY_FLUSH_ROWS rows and the code has allocated YOUNG_SHARE of the young generation since it began. */
  aged(queuedRows: number): boolean {
    return queuedRows >= EARLY_FLUSH_ROWS && this.young.filledSinceMark(YOUNG_SHARE);
  }

  /** Counts an await answered at once: true every READ_YOUNG_EVERY of them, when `aged` is worth asking. */
  answeredAtOnce(): boolean {
    return ++this.answered % READ_YOUNG_EVERY === 0;
  }

  /** A flush took `rows` rows off the queue: the queue begins again. */
  taken(rows: number): void {
    this.rowsTaken += rows;
    this.young.mark();
  }

  /** A flush of the ramp ended; one that was never released ends the ramp. */
  rampFlushEnded(released: boolean): void {
    this.rampStopped ||= !released;
  }
}
