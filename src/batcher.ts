// The batching schedule of one transaction.
//
// `.insert()` on a builder of the transaction puts a QueuedInsert at the end
// of the queue, synchronously; nothing is sent. The builder stays live, so
// `.returning()`, `.onConflict()` and friends chained after it still count:
// the builder is read when it is awaited, or at the flush if it never is.
//
// Awaiting a queued insert ("claiming" it) resolves:
//   - without returning or onConflict: at once, with the pg Result plain knex
//     would give. The row is written at the next flush; if it fails there, the
//     flush fails and with it the transaction.
//   - with returning of only the primary key the library pre-allocates: once
//     ids are drawn. Id requests of one tick share one query (see `tick`).
//   - with anything else: after the flush that writes the row.
//
// What happens in which tick:
//   tick N       claims register what they wait for and schedule a job for the
//                end of the tick, DataLoader-style: after the promise jobs of
//                this tick and the process.nextTick callbacks they queue, so that
//                `await Promise.all(rows.map(r => trx(t).insert(r).returning('*')))`
//                claims every row before the job runs.
//   end of tick  the job loads table metadata it lacks (one query), then either
//                flushes, if some await needs the database to answer (or ids are
//                awaited while the queue is full: that flush gives them), or else
//                draws the ids awaited (one query).
//
// When the queue holds maxQueuedRows rows, or 400 among the transaction's
// first 4,000 (the ramp), or 2,500 once the code has allocated half of V8's
// young generation since the queue began (queue-policy.ts), it goes to a
// flush that runs in the background (`makeRoom`, the one path for a full
// queue: the await that filled it calls it, and so does the end-of-tick job,
// for inserts never awaited). The await that filled the queue resolves once
// that flush has taken it (one that found it aged does not wait), so the
// code queues the next batch while the server writes this one. A queue taken only because it aged, whose flush is all
// COPY and that no await waits for, is staged instead: its COPY text is
// written and waits, counted among the queued rows, to be sent with the
// COPYs of the next flush (staged-copies.ts). A flush whose last statements
// are COPY lets the next task start once they are on the connection: the
// next full queue goes right behind it, and the server moves from one batch
// to the next without waiting a round trip. A full queue waits while two
// background flushes or more are on their way and carry
// MAX_ROWS_ON_THEIR_WAY rows, for the first of them to be answered.
//
// The queue is also flushed before any other statement reaches the connection
// (`settle`, called by the hooks in transaction-hooks.ts), on `trx.flush()`,
// and before COMMIT (`finish`), which also wait for the flushes on their way;
// the last flush carries the COMMIT where `commitsWith` allows, or, with
// nothing left to flush, COMMIT goes right behind the flushes on their way
// (`commitBehind`).
// All database work of a transaction goes through `exclusive`, one task at a
// time, in the order it was asked for, except that a flush whose COPY batch
// pg holds lets the next task start while it waits for the answer; pg answers
// in the order statements were sent (see copy-batch.ts).
//
// A flush takes the queue (or its part before a statement that asked for the
// connection), drops inserts that were only compiled, runs inserts that cannot
// be batched in their place, and for the rest: orders and groups them
// (flush-plan.ts), gives ids to the rows that need them, all tables in one
// query (id-assignment.ts), writes each group's statements
// (statement-writer.ts) and hands each insert its share of the answers
// (statement-results.ts).
//
// After a failed flush the transaction cannot commit: every later statement,
// await and the commit reject with the first failure.
import debug from 'debug';
import type { CopyBatchResult, CopyCommand } from './copy-batch';
import { BatchInsertError, captureOrigin, messageOf, type Origin, statementError } from './errors';
import { type Group, planGroups } from './flush-plan';
import { type DrawAccess, IdAllocator, StaleSequenceError, type TypeParserOf } from './id-allocator';
import { type IdAwait, IdAssignment } from './id-assignment';
import { batchableSpec, checkInsertValues, type InsertSpec, NotBatchable, readInsert, type TableName } from './insert-spec';
import type { KnexClient, QueryBuilderInternals, Row } from './knex-internals';
import { type FlushStats, type ResolvedOptions, SAMPLED_CALL_SITES } from './options';
import { keepOutcomesWanted, linkBuilder, linkSentinel, queuedInsertOf, QueuedInsert, type InsertOutcome } from './queued-insert';
import { keepBuilderShapes } from './shape-keeper';
import { distributeResult } from './statement-results';
import { QueuePolicy } from './queue-policy';
import { StagedCopies } from './staged-copies';
import { type FlushItem, type Statement, writeStatements } from './statement-writer';
import { type Catalog, catalogFor, type TableMeta } from './table-metadata';

const log = debug('knex-batch-inserts');

/** How the batcher reaches the database: the transaction's connection, through knex. */
export interface TransactionAccess {
  client: KnexClient;
  /** A savepoint in another transaction (batching or not): it ends with RELEASE, not COMMIT. */
  nested: boolean;
  /** Runs SQL as knex runs its own statements (events, debug output), with the pg error's own message on failure. */
  query(sql: string, bindings: readonly unknown[]): Promise<{ rows: Row[]; rowCount: number | null }>;
  /**
   * Runs `COPY ... FROM STDIN` commands in one round trip (copy-batch.ts),
   * each announced to knex's `query` listeners like any statement. While the
   * connection is still answering an earlier batch, they are written right
   * behind it rather than after its answer. `sent` is called once pg holds
   * them. With `commit`, COMMIT follows them in the same round trip; with
   * no commands, it goes alone (Batcher.commitBehind).
   */
  copy(commands: readonly CopyCommand[], sent?: () => void, commit?: boolean): Promise<CopyBatchResult>;
  /** Runs a builder exactly as knex would, without waiting for the queue. */
  runInPlace(builder: QueryBuilderInternals): Promise<unknown>;
  /** The parser pg applies to text values of a type on this connection. */
  typeParser: TypeParserOf;
}

type StatementResult = { rows: Row[]; rowCount: number | null };

/** What a flush takes and how it goes (see Batcher.flushQueue). */
interface FlushRequest {
  /** The queue up to and including this insert; none of it for null; all of it when absent. */
  upTo?: QueuedInsert | null;
  /** Called once its last statements are on the connection: the next task may start. */
  release?: () => void;
  /** For a queue that aged: staged rather than sent where it can be (staged-copies.ts). */
  stage?: boolean;
  /** The last flush before COMMIT: it may carry it (Batcher.commitsWith). */
  mayCommit?: boolean;
  /** A flush of the ramp (queue-policy.ts): every group COPY can carry goes by COPY, whatever its size. */
  ramp?: boolean;
}

/**
 * What the last statements of a flush also do: `sent` is called once pg
 * holds them; if they are COPY, `commit`, asked as they are sent, says
 * whether COMMIT goes with them (Batcher.commitsWith).
 */
interface FlushEnd {
  sent?: () => void;
  commit: () => boolean;
}

/** An await of `.returning(<key>)` that ids alone may answer. */
interface IdWaiter extends IdAwait {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

const NO_ORIGIN: Origin = {};

/**
 * Rows that background flushes may carry on their way to the server, the
 * one a full queue sends included, beyond two flushes, which always may:
 * enough for the server to have the next batch before it finishes one, a
 * round trip of 10 ms behind. Counted in rows, not only flushes, so that a
 * small queue (maxQueuedRows, or an aged one flushed, see queue-policy.ts) does not
 * shorten the pipeline: 100,000 parents and children in 2,000-row flushes,
 * 10 ms away, committed after a median 1.69 s two flushes at a time and
 * 1.51 s ten at a time (`npm run bench:timeline -- --rows 100000 --latency
 * 10 --reps 3 --max-queued-rows 2000`). What waits on the way is COPY text,
 * not the inserts (see releaseCopied in statement-writer.ts).
 */
const MAX_ROWS_ON_THEIR_WAY = 20_000;

/**
 * Errors of an INSERT that may come from table metadata read before the
 * table changed: an identity column now GENERATED ALWAYS, a column or table
 * gone, a new foreign key. The catalog is read again by the next transaction.
 */
const STALE_CATALOG_CODES = new Set(['428C9', '42703', '42P01', '23503']);

export class Batcher {
  private queue: QueuedInsert[] = [];
  private queuedRows = 0;
  /** COPY text of aged queues, which the next flush sends (staged-copies.ts). */
  private readonly staged = new StagedCopies();
  /** Queue entries before this index have been read for `ids.track`. */
  private tracked = 0;
  /** Queued inserts whose awaits wait for a flush: the next tick flushes. */
  private readonly awaitingFlush = new Set<QueuedInsert>();
  private idWaiters: IdWaiter[] = [];
  private tickScheduled = false;
  private work: Promise<unknown> = Promise.resolve();
  /** Tasks of `exclusive` not finished yet, released or not, in order. */
  private readonly unanswered: Promise<void>[] = [];
  /** Background flushes sent and not yet answered (see makeRoom), and the rows they carry. */
  private readonly onTheirWay: Promise<void>[] = [];
  private rowsOnTheirWay = 0;
  /** The inserts of flushes sent and not answered yet whose outcome may still be awaited (see commitsWith). */
  private readonly awaitableOnTheirWay = new Set<readonly QueuedInsert[]>();
  /** Set while an await of a full queue waits for room (see makeRoom). */
  private room: Promise<void> | undefined;
  private failure: unknown;
  /** Set before COMMIT (everything is written) or at ROLLBACK: nothing more is queued. */
  private ended: 'committing' | 'rolled back' | undefined;
  /** Set when `finish` begins: no more ids are drawn in the background. */
  private finishing = false;
  /** This transaction's COMMIT went with its last flush (see `finish`), and once answered, went through: knex's own is not sent (transaction-hooks.ts). */
  private commitSent = false;
  committed = false;
  private roundTrips = 0;
  /** When the queue is let go of its own accord. */
  private readonly policy: QueuePolicy;
  /** Tables that went by COPY in this transaction: their later groups may too, whatever their size (see statementsOf). */
  private readonly copiedTables = new Set<string>();
  /** Inserts queued so far, for captureCallSites: 'sampled'. */
  private origins = 0;
  /** By table as written: what an insert whose line is not recorded gets as its origin. */
  private readonly unrecorded = new Map<string, Origin>();
  private readonly ids: IdAssignment;
  /** The stats of the flush under way, until it has sent its statements: staged text sent before a draw counts in them. */
  private flushStats: FlushStats | undefined;
  private readonly drawAccess: DrawAccess = {
    query: (sql, bindings) => this.query(sql, bindings),
    parserOf: (typeOid) => this.tx.typeParser(typeOid),
    before: (tables) => this.sendStagedBefore(tables),
  };
  private readonly catalog: Catalog;
  /** By group key: a copy of the first builder of that kind that was awaited, which the statements of its groups are compiled from. */
  private readonly templates = new Map<string, QueryBuilderInternals>();

  constructor(
    private readonly tx: TransactionAccess,
    readonly options: ResolvedOptions,
    private readonly parent?: Batcher,
  ) {
    this.catalog = catalogFor(tx.client.config);
    this.policy = new QueuePolicy(options.maxQueuedRows);
    // one pool of ids per transaction: nested transactions share their parent's, so ids keep queue order
    const pools = parent?.ids.pools ?? new IdAllocator(options.idBlock, this.catalog.idsLastUsed);
    this.ids = new IdAssignment(pools, this.catalog, this.drawAccess);
  }

  /** Where an insert into `table` is being queued, as far as captureCallSites records it (see errors.ts). */
  origin(below: (...args: never[]) => unknown, table: unknown): Origin {
    const { captureCallSites } = this.options;
    const count = this.origins++;
    const sampled = count < SAMPLED_CALL_SITES.first || count % SAMPLED_CALL_SITES.every === 0;
    if (captureCallSites === true || (captureCallSites === 'sampled' && sampled)) {
      const origin = captureOrigin(below);
      if (captureCallSites === 'sampled' && typeof table === 'string') this.unrecorded.set(table, { lastRecorded: origin, table });
      return origin;
    }
    return (typeof table === 'string' && this.unrecorded.get(table)) || NO_ORIGIN;
  }

  /** False once the transaction commits or rolls back: inserts then go to knex, which reports what it would. */
  get accepting(): boolean {
    return this.ended === undefined && !this.afterCommit;
  }

  /** `.insert()` was called on a builder of this transaction; `refusal` says why its values cannot be inserted. */
  enqueue(builder: QueryBuilderInternals, origin: Origin, refusal?: unknown): void {
    const previous = queuedInsertOf(builder);
    if (previous?.state === 'queued' && !previous.claimed) previous.drop(); // knex replaced its values
    const insert = new QueuedInsert(builder, origin);
    insert.refusal = refusal;
    this.push(insert, builder);
  }

  /**
   * An insert builder was awaited: answer it (see the schedule above). Its
   * rows are copied now, since knex would compile them now: code that
   * reuses a row object after the await must not change what was queued.
   */
  claim(builder: QueryBuilderInternals, knex: { runInKnex(): Promise<unknown> }): Promise<unknown> {
    if (this.ended) return knex.runInKnex(); // knex runs it, or reports the finished transaction
    if (this.failure) return Promise.reject(this.failure);
    try {
      let insert = queuedInsertOf(builder);
      if (insert && !insert.claimed && insert.state !== 'dropped') {
        insert.claimed = true;
        if (insert.refusal) throw insert.refusal;
        if (insert.state !== 'queued') return this.answerFlushed(insert, builder);
      } else {
        // awaited a second time (knex runs it again), a clone, or attached with .transacting(trx)
        insert = new QueuedInsert(builder, this.origin(this.claim, builder._single.table));
        checkInsertValues(builder._single.insert, insert.origin);
        insert.claimed = true;
        this.push(insert, builder);
      }
      const read = readInsert(builder, insert.origin, { copyRows: true });
      if (!(read instanceof NotBatchable)) {
        insert.spec = read;
        if (!this.templates.has(read.groupKey)) this.templates.set(read.groupKey, builder.clone());
        insert.builder = undefined;
        return this.answer(insert, read);
      }
      insert.spec = undefined;
      log('an insert into %s runs on its own: %s', builder._single.table, read.reason);
      // knex runs it in its place: after what was queued before it, before what was queued after it
      const answer = insert.wait((outcome) => outcome.response);
      this.exclusive(() => this.flushQueue({ upTo: insert })).catch(() => undefined);
      return answer;
    } catch (error) {
      queuedInsertOf(builder)?.drop();
      return Promise.reject(error);
    }
  }

  /**
   * An insert written (or being written) by a flush before it was awaited.
   * Calls chained after that flush (`.returning()`, `.onConflict()`) come too
   * late to apply: refused rather than answered in the wrong shape.
   */
  private answerFlushed(insert: QueuedInsert, builder: QueryBuilderInternals): Promise<unknown> {
    const flushed = insert.spec;
    const now = flushed && batchableSpec(readInsert(builder, insert.origin));
    if (now && now.groupKey !== flushed!.groupKey) {
      return Promise.reject(new BatchInsertError(
        'knex-batch-inserts: this insert was written by a flush before it was awaited, so what was chained to it after that flush ' +
        '(returning, onConflict) cannot apply; chain it before the next statement or flush',
        { origin: insert.origin },
      ));
    }
    return insert.wait(this.shapeOf(insert));
  }

  /** A statement that may take values from a sequence or move it back is about to run: pooled ids could break queue order or collide. */
  forgetIds(): void {
    this.ids.pools.forget();
  }

  /** Flushes everything queued so far (the parent transaction's queue first). */
  async flush(): Promise<FlushStats> {
    await this.parent?.settle();
    return this.exclusiveAnswered(() => this.flushQueue());
  }

  /**
   * Called when another statement asks for the connection: what was queued
   * before that moment is written first (the parent transaction's queue
   * first); what is queued after it waits, as it would in plain knex.
   */
  async settle(mayCommit = false): Promise<void> {
    const last = this.queue[this.queue.length - 1];
    await this.parent?.settle();
    await this.exclusiveAnswered(async () => {
      const queued = last !== undefined && this.queue.includes(last);
      if (queued || this.staged.rows > 0) await this.flushQueue({ upTo: queued ? last : null, mayCommit });
      else if (mayCommit) await this.commitBehind();
    });
  }

  /**
   * COMMIT written right behind the flushes still on their way, when nothing
   * is left to flush (the loop's last row filled the queue): the server
   * commits once they are through, without a round trip of its own after
   * their answer. Where commitsWith says no, knex sends COMMIT, as always.
   */
  private async commitBehind(): Promise<void> {
    if (this.commitSent || this.onTheirWay.length === 0 || !this.commitsWith([])) return;
    try {
      await this.copyStatements([], { commit: () => true });
    } catch (error) {
      throw await this.failBehind(this.onTheirWay, error, []); // a flush on its way that failed made the server roll back
    }
  }

  /**
   * Before COMMIT: everything queued is written, or the commit fails with
   * the reason. `settle` also waits for a flush already under way (and
   * rethrows a failure), so it runs at least once; code resumed by awaits a
   * flush answered may queue more meanwhile, which is written too before the
   * queue closes. The last flush of a root transaction carries the COMMIT
   * where it can (see commitsWith): one round trip less; from then on the
   * transaction takes nothing more (see sendingCommit). A root transaction
   * then notes how many ids it used (for the next one's first block) and
   * the shapes of its builders (shape-keeper.ts).
   */
  async finish(): Promise<void> {
    const closing = !this.finishing; // the callback form calls this, then knex's commit calls it again
    this.finishing = true;
    do await this.settle(true);
    while (!this.commitSent && (this.queue.length > 0 || this.staged.rows > 0 || this.idWaiters.length > 0));
    this.ended = 'committing';
    if (this.parent || !closing) return;
    this.ids.pools.remember();
    try {
      keepBuilderShapes(this.templates.values(), linkSentinel);
    } catch (error) {
      log('builder shapes not kept: %s', messageOf(error)); // only speed is at stake: the commit goes on
    }
  }

  /** The transaction rolls back: nothing queued is written, nothing more is sent. */
  abandon(): void {
    this.ended = 'rolled back';
    const error = new Error('knex-batch-inserts: the transaction was rolled back before this insert was written');
    for (const insert of this.queue) insert.fail(error, 'dropped');
    for (const waiter of this.idWaiters) waiter.reject(error);
    this.queue = [];
    this.staged.drop();
    this.idWaiters = [];
  }

  private push(insert: QueuedInsert, builder: QueryBuilderInternals): void {
    linkBuilder(builder, insert);
    this.queue.push(insert);
    this.queuedRows += insert.size;
    if (this.queueFull()) this.scheduleTick();
  }

  private answer(insert: QueuedInsert, spec: InsertSpec): Promise<unknown> {
    if (!spec.returning && !spec.conflict) return this.afterRoom(this.response(spec, { rowCount: spec.rows.length }));
    const idsAnswer = spec.returning?.length === 1 && !spec.conflict;
    if (idsAnswer && this.answerFromPool(insert, spec)) return this.afterRoom(this.ids.answer(insert, spec, this.tx.client));
    this.scheduleTick();
    if (idsAnswer) return new Promise((resolve, reject) => this.idWaiters.push({ insert, spec, resolve, reject }));
    return this.waitForFlush(insert, this.shapeOf(insert));
  }

  /**
   * An answer known now. The await resolves at once, unless the queue holds
   * maxQueuedRows rows: then it resolves when a flush has taken the queue
   * (`makeRoom`). A queue found aged (read every so many answers, see
   * queue-policy.ts) goes to a flush too, or is staged, without the await
   * waiting for it: the connection may still be drawing ids in the
   * background, and the code may as well queue meanwhile. Waiting, the loop
   * of `npm run bench:timeline -- --rows 100000` stood still for about 45 ms
   * at its start, and its first COPY left at 52-79 ms instead of 39.
   */
  private afterRoom(answer: unknown): Promise<unknown> {
    const readYoung = this.policy.answeredAtOnce();
    if (this.queueFull()) return this.makeRoom().then(() => answer);
    if (readYoung && this.queueAged()) this.makeRoom().catch(() => undefined);
    return Promise.resolve(answer);
  }

  /** The queue is full or has aged (queue-policy.ts): it goes to a flush. */
  private queueDue(): boolean {
    return this.queueFull() || this.queueAged();
  }

  /** The queue holds maxQueuedRows rows, counting those staged as text, or the transaction's first rows fill a small one (queue-policy.ts). */
  private queueFull(): boolean {
    return this.policy.full(this.queuedRows, this.staged.rows);
  }

  /** Rows a flush would send now: those queued, and those staged as text. */
  private get pendingRows(): number {
    return this.queuedRows + this.staged.rows;
  }

  private queueAged(): boolean {
    return this.policy.aged(this.queuedRows);
  }

  /**
   * The server writes one flush while the code queues the next rows: a full
   * queue goes to a flush that runs in the background. The flush goes out
   * within a few promise jobs, before the code queues on, and when it is all
   * COPY its pieces leave as they are built (copy-batch.ts), so the server
   * works on it even if the code never yields to the event loop; once they
   * are sent, the next flush may follow (see the header). While two flushes
   * or more on their way carry MAX_ROWS_ON_THEIR_WAY rows, a full queue waits
   * for the first to be answered. A failure fails the next await, statement
   * or COMMIT, as any flush's does. A flush that finds the queue taken by
   * another (an await that needed one, a statement) when its turn comes does
   * nothing: half a batch is not worth a round trip.
   */
  private makeRoom(): Promise<void> {
    return (this.room ??= new Promise<void>((resolve, reject) => {
      this.exclusive(async (release) => {
        while (this.queueFull() && this.onTheirWay.length > 1 && this.rowsOnTheirWay + this.pendingRows > MAX_ROWS_ON_THEIR_WAY) await this.onTheirWay[0];
        this.room = undefined;
        if (!this.queueDue()) return resolve(); // taken meanwhile
        const carried = this.pendingRows;
        const ramp = this.policy.ramping(this.queuedRows);
        let released = false;
        // takes the queue before it first awaits; once its statements are sent, it is on its way
        const sent = () => {
          released = true;
          this.rowsOnTheirWay += carried;
          listUntilSettled(this.onTheirWay, flushing.finally(() => (this.rowsOnTheirWay -= carried)));
          release();
        };
        const flushing: Promise<unknown> = this.flushQueue({ release: sent, stage: !this.queueFull(), ramp });
        resolve();
        await flushing.finally(() => ramp && this.policy.rampFlushEnded(released));
      }).catch(reject); // after resolve(), the failure reaches the next await instead
    }));
  }

  /**
   * The common case of a loop that awaits ids one insert at a time: once a
   * block is drawn, its ids answer the next awaits at once, without waiting
   * for the end of the tick. Anything unusual (earlier awaits still waiting,
   * a refused insert in the queue, an empty pool) takes the tick's path.
   */
  private answerFromPool(insert: QueuedInsert, spec: InsertSpec): boolean {
    if (this.idWaiters.length > 0 || !this.ids.canAnswer(spec)) return false;
    try {
      this.trackQueue();
    } catch {
      return false; // a refused insert: the tick fails the flush with it
    }
    return this.ids.fromPool(insert, spec);
  }

  /** Reads what was queued since the last time, for the id assignment. */
  private trackQueue(): void {
    // one at a time, without a list: this runs at every await of a loop
    for (; this.tracked < this.queue.length; this.tracked++) {
      const insert = this.queue[this.tracked];
      if (this.readQueuedInsert(insert)) this.ids.track(insert);
    }
  }

  /** The live batchable inserts queued since the last call (see `readQueuedInsert`). */
  private readUntracked(): QueuedInsert[] {
    const fresh = [];
    for (let i = this.tracked; i < this.queue.length; i++) if (this.readQueuedInsert(this.queue[i])) fresh.push(this.queue[i]);
    this.tracked = this.queue.length;
    return fresh;
  }

  private waitForFlush(insert: QueuedInsert, shape: (outcome: InsertOutcome) => unknown): Promise<unknown> {
    this.awaitingFlush.add(insert);
    return insert.wait(shape);
  }

  /** What an await of `insert` resolves to, given what the database answered: what plain knex resolves to. */
  private shapeOf(insert: QueuedInsert): (outcome: InsertOutcome) => unknown {
    return (outcome) => ('response' in outcome ? outcome.response : this.response(insert.spec!, outcome));
  }

  private response(spec: InsertSpec, outcome: InsertOutcome): unknown {
    const response = spec.returning ? outcome.rows : insertResult(this.tx.client, outcome.rowCount);
    return this.tx.client.postProcessResponse(response, spec.queryContext);
  }

  private scheduleTick(): void {
    if (this.tickScheduled) return;
    this.tickScheduled = true;
    Promise.resolve().then(() =>
      process.nextTick(() => {
        this.tickScheduled = false;
        this.exclusive(() => this.tick()).catch(() => undefined); // failures reach the awaits and the commit
      }),
    );
  }

  private async tick(): Promise<void> {
    if (this.idWaiters.length > 0) {
      try {
        const fresh = this.readUntracked(); // before drawWithCatalog, which counts the rows of inserts never awaited too
        await this.ids.drawWithCatalog(this.idWaiters, this.queue);
        for (const insert of fresh) this.ids.track(insert);
      } catch (error) {
        throw this.fail(error, []);
      }
      this.sortIdWaiters();
    }
    if (this.needsFlush()) await this.flushQueue();
    else if (this.idWaiters.length > 0) await this.serveIdWaiters();
    if (this.queueFull()) this.makeRoom().catch(() => undefined); // inserts never awaited fill it too
  }

  /** Some await needs the database to answer it; id waiters go with the flush a full queue needs anyway. */
  private needsFlush(): boolean {
    for (const insert of this.awaitingFlush) {
      if (insert.state === 'queued') return true;
      this.awaitingFlush.delete(insert);
    }
    return this.idWaiters.length > 0 && this.policy.overMax(this.pendingRows); // a ramp's queue goes by makeRoom
  }

  /** Id waiters that ids cannot answer (no sequence, triggers, explicit keys) wait for the flush instead. */
  private sortIdWaiters(): void {
    this.idWaiters = this.idWaiters.filter((waiter) => {
      if (this.ids.canAnswer(waiter.spec)) return true;
      this.waitForFlush(waiter.insert, this.shapeOf(waiter.insert)).then(waiter.resolve, waiter.reject);
      return false;
    });
  }

  /** Draws ids for the awaited inserts and every id-less row queued before them, in queue order. */
  private async serveIdWaiters(): Promise<void> {
    const waiters = this.idWaiters;
    this.idWaiters = [];
    try {
      await this.retryOnStaleCatalog(this.queue, () => this.ids.forAwaits(waiters));
      for (const waiter of waiters) waiter.resolve(this.ids.answer(waiter.insert, waiter.spec, this.tx.client));
    } catch (error) {
      throw this.fail(error, waiters);
    }
    this.prefetchIds();
  }

  /**
   * Draws, right after this task, what a first block of ids left of the last
   * transaction's use (id-allocator.ts, prefetch), while the code goes on.
   * Not once `finish` has begun: the code has returned, and COMMIT must not
   * find a draw it did not wait for.
   */
  private prefetchIds(): void {
    if (!this.ids.pools.prefetchWanted || this.finishing || this.ended) return;
    this.exclusive(() => this.ids.pools.prefetch(this.drawAccess)).catch((error) => {
      // a BatchInsertError names a row of staged text sent first (sendStagedBefore)
      this.fail(error instanceof BatchInsertError ? error : new BatchInsertError(`knex-batch-inserts: drawing ids in the background failed: ${messageOf(error)}`, { cause: error }), []);
    });
  }

  /**
   * Reads a queued insert again if it was never awaited: calls chained after
   * `.insert()` may have changed it. True if it is live and batchable.
   */
  private readQueuedInsert(insert: QueuedInsert): boolean {
    if (insert.state !== 'queued' || (!insert.claimed && insert.compiled)) return false;
    if (!insert.claimed && insert.refusal) throw insert.refusal; // never awaited: it fails the flush
    if (!insert.claimed) insert.spec = batchableSpec(readInsert(insert.builder!, insert.origin));
    return insert.spec !== undefined;
  }

  /** A batchable insert of the queue, with its table's metadata. */
  private flushItem(insert: QueuedInsert): FlushItem | undefined {
    const { spec } = insert;
    if (!spec || (insert.state !== 'queued' && insert.state !== 'flushing')) return undefined;
    return { insert, spec, meta: this.catalog.lookup(spec.table), outcome: undefined };
  }

  /**
   * A sequence vanished since the catalog was read (nextval of NULL is NULL,
   * so nothing failed in the database): read the catalog again for `inserts`
   * and redo `task` once.
   */
  private async retryOnStaleCatalog<T>(inserts: readonly QueuedInsert[], task: () => Promise<T>): Promise<T> {
    try {
      return await task();
    } catch (error) {
      if (!(error instanceof StaleSequenceError)) throw error;
      log('catalog out of date (%s), reloading', error.message);
      this.catalog.forget();
      await this.loadCatalog(inserts);
      return task();
    }
  }

  /** Loads what the catalog lacks for the tables of the batchable ones among `inserts`. */
  private async loadCatalog(inserts: readonly QueuedInsert[]): Promise<void> {
    const tables = new Set<TableName>(); // readInsert shares TableName objects: one per table
    for (const { spec } of inserts) if (spec) tables.add(spec.table);
    await this.catalog.load([...tables], this.query);
  }

  private query = (sql: string, bindings: readonly unknown[]) => {
    this.countRoundTrip();
    return this.tx.query(sql, bindings);
  };

  /** Before anything is sent: refuses once the transaction rolled back, and counts the round trip for the flush's stats. */
  private countRoundTrip(): void {
    if (this.ended === 'rolled back') throw new Error('knex-batch-inserts: the transaction was rolled back');
    if (this.afterCommit) throw new Error("knex-batch-inserts: the transaction's COMMIT went with its last flush");
    this.roundTrips++;
  }

  /**
   * Whether the COMMIT of this transaction, or of the one it is nested in,
   * has gone with a last flush: nothing more may reach the connection.
   */
  get afterCommit(): boolean {
    return this.commitSent || this.parent?.afterCommit === true;
  }

  /** Sends a batch of COPYs; `commits` says whether COMMIT went with it. */
  private copy(commands: readonly CopyCommand[], end?: FlushEnd): { commits: boolean; answer: Promise<CopyBatchResult> } {
    this.countRoundTrip();
    // asked now: code resumed while earlier statements of the flush ran may have queued more, or awaits one of its inserts
    const commits = end?.commit() === true;
    if (commits) this.sendingCommit();
    return { commits, answer: this.tx.copy(commands, end?.sent, commits) };
  }

  /**
   * From the moment COMMIT goes with the last flush, nothing more may reach
   * the connection, where it would run after that COMMIT, outside the
   * transaction: inserts go to knex as after COMMIT (`ended`), and the
   * hooks refuse every statement but knex's own COMMIT and ROLLBACK
   * (transaction-hooks.ts). `commitsWith` made sure nothing was queued.
   */
  private sendingCommit(): void {
    this.commitSent = true;
    this.ended = 'committing';
  }

  /**
   * Writes what was staged and the queue, or its part up to `upTo` (see
   * FlushRequest). With `stage`, for an aged queue, a flush that is all COPY
   * and that no await waits for is staged, not sent (staged-copies.ts); with
   * `mayCommit`, the last one before COMMIT may carry it (commitsWith).
   */
  private async flushQueue({ upTo, release, stage = false, mayCommit = false, ramp = false }: FlushRequest = {}): Promise<FlushStats> {
    const started = performance.now();
    const roundTripsBefore = this.roundTrips;
    const stats = noStats();
    let inserts: QueuedInsert[] = [];
    let waiters: IdWaiter[] = [];
    const numbered = this.ids.numberingTaken();
    const earlier = [...this.onTheirWay];
    this.flushStats = stats;
    try {
      for (const insert of this.queue) this.readQueuedInsert(insert); // re-read what was never awaited
      inserts = this.takeQueue(upTo); // at once: code resumed meanwhile queues for the next flush
      await this.loadCatalog(inserts);
      this.sortIdWaiters();
      if (this.idWaiters.length > 0) {
        const taken = new Set(inserts);
        waiters = this.idWaiters.filter(({ insert }) => taken.has(insert));
        this.idWaiters = this.idWaiters.filter(({ insert }) => !taken.has(insert));
      }
      const mayStage = stage && waiters.length === 0 && inserts.every((insert) => !insert.outcomeWanted);
      const segments = await this.retryOnStaleCatalog(inserts, () => this.planWithIds(inserts, waiters, mayStage));
      numbered();
      for (const waiter of waiters) waiter.resolve(this.ids.answer(waiter.insert, waiter.spec, this.tx.client));
      if (this.staged.rows > 0 && !Array.isArray(segments[0])) segments.unshift([]); // staged rows go first
      const copyWhen = { ramp, copied: release !== undefined || mayCommit }; // a background flush has a release
      const first = Array.isArray(segments[0]) ? this.statementsOf(segments[0], copyWhen) : [];
      if (mayStage && segments.length === 1 && this.staged.stage(first)) return this.reported(stats, started, roundTripsBefore); // staged text may have gone before a draw
      let sent = false;
      const lastSent = () => {
        sent = true;
        if (this.flushStats === stats) this.flushStats = undefined; // what is sent from now on is not this flush's
        stats.roundTrips = this.roundTrips - roundTripsBefore;
        keepOutcomesWanted(inserts, (insert) => insert); // the rest are let go until the answer (see releaseCopied in statement-writer.ts)
        if (inserts.length > 0) this.awaitableOnTheirWay.add(inserts);
        release?.();
      };
      const end: FlushEnd = { sent: lastSent, commit: () => mayCommit && this.commitsWith(inserts) };
      for (const [i, segment] of segments.entries()) {
        if (segment instanceof QueuedInsert) {
          await this.runInPlace(segment);
          stats.statements++;
        } else {
          const atEnd = i === segments.length - 1 ? end : undefined;
          if (i === 0) await this.writeWithStaged(segment, first, stats, atEnd);
          else await this.writeGroups(segment, this.statementsOf(segment, copyWhen), stats, atEnd);
        }
      }
      this.reported(stats, started, sent ? undefined : roundTripsBefore); // once sent, counted then (lastSent)
    } catch (error) {
      throw await this.failBehind(earlier, error, waiters, inserts);
    } finally {
      numbered();
      if (this.flushStats === stats) this.flushStats = undefined;
      this.awaitableOnTheirWay.delete(inserts);
    }
    return stats;
  }

  /**
   * Completes a flush's stats and, if it wrote something, logs them and
   * passes them to onFlush; called inside the flush's try, so an error
   * onFlush throws fails the transaction, never vanishes. With
   * `roundTripsBefore`, counts the round trips since then.
   */
  private reported(stats: FlushStats, started: number, roundTripsBefore?: number): FlushStats {
    if (roundTripsBefore !== undefined) stats.roundTrips = this.roundTrips - roundTripsBefore;
    stats.ms = performance.now() - started;
    if (stats.statements > 0) {
      log('flush: %o', stats);
      this.options.onFlush?.(stats);
    }
    return stats;
  }

  /** Takes the queue (up to `upTo`, none of it for null) for a flush: inserts only compiled and never awaited are dropped. */
  private takeQueue(upTo?: QueuedInsert | null): QueuedInsert[] {
    const end = upTo === undefined ? this.queue.length : upTo === null ? 0 : this.queue.indexOf(upTo) + 1;
    const taken: QueuedInsert[] = [];
    for (const insert of this.queue.slice(0, end)) {
      if (insert.state !== 'queued') continue;
      if (!insert.claimed && insert.compiled) {
        insert.drop();
        continue;
      }
      insert.state = 'flushing';
      taken.push(insert);
    }
    this.queue = this.queue.slice(end);
    if (end > 0) this.policy.taken(taken.reduce((rows, insert) => rows + insert.size, 0));
    this.queuedRows = this.queue.reduce((rows, insert) => rows + insert.size, 0);
    this.tracked = Math.max(0, this.tracked - end);
    this.ids.untrack();
    return taken;
  }

  /**
   * Splits the flush at inserts that run in place, plans the groups of each
   * part, and gives ids to the rows that need them (id-assignment.ts).
   */
  private async planWithIds(inserts: readonly QueuedInsert[], waiters: readonly IdWaiter[], growIds: boolean): Promise<(Group<FlushItem>[] | QueuedInsert)[]> {
    const segments: (Group<FlushItem>[] | QueuedInsert)[] = [];
    let part: FlushItem[] = [];
    for (const insert of inserts) {
      const item = this.flushItem(insert);
      if (item && !this.ids.mustRunInPlace(item)) {
        part.push(item);
        continue;
      }
      if (part.length > 0) segments.push(planGroups(part));
      segments.push(insert);
      part = [];
    }
    if (part.length > 0) segments.push(planGroups(part));
    await this.ids.forFlush(segments.flatMap((segment) => (Array.isArray(segment) ? segment : [])), waiters, growIds);
    return segments;
  }

  /**
   * The statements of `groups`. A group goes by COPY whatever its size, if
   * COPY can carry it, in a flush of the ramp; where a COPY of its table is
   * staged; and, with `copied` (a background flush or the last one before
   * COMMIT), where its table went by COPY earlier in the transaction.
   */
  private statementsOf(groups: readonly Group<FlushItem>[], { ramp, copied }: { ramp: boolean; copied: boolean }): Statement[] {
    return groups.flatMap((group) => {
      const anySize = ramp || this.staged.holds(group.meta) || (copied && group.meta !== undefined && this.copiedTables.has(group.meta.id));
      const statements = writeStatements(group, this.templateFor(group), this.tx.client, anySize);
      if (group.meta && statements[0]?.copyData) this.copiedTables.add(group.meta.id);
      return statements;
    });
  }

  /**
   * Whether the flush of `inserts`, the last before COMMIT, may carry it in
   * the round trip of its last statements, when they are COPY: a transaction
   * that is not a savepoint (of a batching transaction or a plain knex one),
   * nothing queued after it, and no await waiting for its answer or for the
   * answer of a flush before it still on its way, which could resume code
   * that queues more. Should a flush on its way fail, the server refuses
   * what was sent behind it and skips a COMMIT that goes with COPYs
   * (copy-batch.ts), or answers a COMMIT sent alone with ROLLBACK; the
   * transaction fails with that flush's error, as it would have at COMMIT.
   * Not with onFlush, which is called after the flush and may still fail
   * the transaction.
   */
  private commitsWith(inserts: readonly QueuedInsert[]): boolean {
    if (this.tx.nested || this.options.onFlush || this.queue.length > 0 || this.idWaiters.length > 0) return false;
    for (const flushed of this.awaitableOnTheirWay) if (flushed.some((insert) => insert.awaited)) return false;
    return inserts.every((insert) => !insert.awaited);
  }

  /**
   * Sends the staged COPY text now, if rows of `tables` (of any table,
   * without them) in it take their key from the column default (see
   * leavesKeysToDefault): ids about to be drawn for those tables would
   * otherwise be lower than theirs, though queued after them. Staged rows
   * get pre-allocated ids only from what the pool holds or must draw anyway
   * (id-assignment.ts), so that rows whose ids nobody awaits cost no draw.
   * Within a flush, this counts in its stats; otherwise (a tick, a
   * prefetch) it is reported as a flush of its own.
   */
  private async sendStagedBefore(tables?: readonly TableMeta[]): Promise<void> {
    if (!this.staged.leavesKeysToDefault(tables)) return;
    if (this.flushStats) return this.writeWithStaged([], [], this.flushStats);
    const [started, roundTripsBefore, stats] = [performance.now(), this.roundTrips, noStats()];
    await this.writeWithStaged([], [], stats);
    this.reported(stats, started, roundTripsBefore);
  }

  /** `writeGroups` with what was staged joined in (staged-copies.ts); the chunks of its text are reused once answered. */
  private async writeWithStaged(groups: readonly Group<FlushItem>[], statements: readonly Statement[], stats: FlushStats, end?: FlushEnd): Promise<void> {
    stats.staged += this.staged.rows;
    const taken = this.staged.takeInto(statements);
    await this.writeGroups(groups, taken.statements, stats, end);
    this.staged.giveBack(taken.chunks);
  }

  /**
   * Sends the groups' statements in order; consecutive COPYs go together in
   * one round trip. The inserts get their answers once every group is written.
   */
  private async writeGroups(groups: readonly Group<FlushItem>[], statements: readonly Statement[], stats: FlushStats, end?: FlushEnd): Promise<void> {
    for (let i = 0; i < statements.length; ) {
      let next = i + 1;
      if (statements[i].copyData) while (next < statements.length && statements[next].copyData) next++;
      const run = statements.slice(i, next);
      const atEnd = next === statements.length ? end : undefined;
      const results = run[0].copyData ? await this.copyStatements(run, atEnd) : [await this.runStatement(run[0])];
      run.forEach((statement, k) => {
        distributeResult(statement, results[k].rows, results[k].rowCount);
        stats.rows += results[k].rowCount ?? 0;
      });
      stats.statements += run.length;
      i = next;
    }
    stats.groups += groups.length;
    for (const group of groups) for (const { insert, outcome } of group.inserts) insert.succeed(outcome ?? NO_OUTCOME);
  }

  /** The builder a group's statements are compiled from: its first insert's, or the copy kept for its kind. */
  private templateFor(group: Group<FlushItem>): QueryBuilderInternals {
    const [{ insert, spec }] = group.inserts;
    return insert.builder ?? this.templates.get(spec.groupKey)!;
  }

  /** A builder for an insert whose own was let go: its kind's copy with its rows. */
  private rebuild(insert: QueuedInsert): QueryBuilderInternals {
    const spec = insert.spec!;
    const builder = this.templates.get(spec.groupKey)!.clone();
    builder._single.insert = spec.rows;
    return builder;
  }

  private async runStatement(statement: Statement): Promise<StatementResult> {
    try {
      return await this.query(statement.sql, statement.bindings);
    } catch (error) {
      throw this.statementFailed(error, statement);
    }
  }

  /** Runs consecutive COPY statements in one round trip, the last of a flush with what `end` asks for. */
  private async copyStatements(statements: readonly Statement[], end?: FlushEnd): Promise<StatementResult[]> {
    const commands = statements.map(({ sql, copyData }) => ({ sql, data: copyData!() }));
    const { commits: carriesCommit, answer } = this.copy(commands, end);
    const { rowCounts, error, committed } = await answer;
    this.committed ||= committed;
    if (error !== undefined && carriesCommit && rowCounts.length === statements.length) {
      throw new BatchInsertError(`knex-batch-inserts: COMMIT, sent with the last flush, failed: ${messageOf(error)}`, { cause: error });
    }
    if (error !== undefined) throw this.statementFailed(error, statements[rowCounts.length] ?? statements[statements.length - 1]);
    if (rowCounts.length !== statements.length) throw new Error(`knex-batch-inserts: ${statements.length} COPY commands answered ${rowCounts.length} times`);
    if (carriesCommit && !committed) throw new Error('knex-batch-inserts: COMMIT, sent behind the last flush, was answered with ROLLBACK'); // the transaction failed before it: a flush on its way
    return rowCounts.map((rowCount) => ({ rows: [], rowCount }));
  }

  private statementFailed(error: unknown, statement: Statement): unknown {
    if (this.ended === 'rolled back') return error; // rolled back meanwhile: its answer no longer matters
    if (STALE_CATALOG_CODES.has((error as { code?: string }).code!)) this.catalog.forget(); // for the next transaction
    return statementError(error, statement.failed());
  }

  private async runInPlace(insert: QueuedInsert): Promise<void> {
    this.countRoundTrip();
    try {
      const response = await this.tx.runInPlace(insert.builder ?? this.rebuild(insert));
      this.forgetIds(); // its rows took ids from the sequence, after those in the pool
      insert.succeed({ rowCount: 0, response });
    } catch (error) {
      throw new BatchInsertError(`knex-batch-inserts: an insert that ran on its own failed: ${messageOf(error)}`, { origin: insert.origin, cause: error });
    }
  }

  /**
   * `fail`, once the flushes sent before are answered: one sent behind a
   * flush that failed fails only because of it, and that flush's error is
   * the transaction's, whichever answer's promise jobs run first.
   */
  private async failBehind(earlier: readonly Promise<void>[], error: unknown, waiters: readonly IdWaiter[], inserts?: readonly QueuedInsert[]): Promise<unknown> {
    await Promise.all(earlier);
    return this.fail(error, waiters, inserts);
  }

  /** Records the first failure and rejects everything waiting; returns the error to throw. */
  private fail(error: unknown, waiters: readonly IdWaiter[], inserts: readonly QueuedInsert[] = []): unknown {
    const failure = error instanceof BatchInsertError || this.ended === 'rolled back'
      ? error
      : new BatchInsertError(`knex-batch-inserts: flush failed: ${messageOf(error)}`, { cause: error });
    // the first failure is the transaction's: a batch sent behind a failed one fails only because of it (25P02)
    const first = (this.failure ??= failure);
    for (const waiter of [...waiters, ...this.idWaiters]) waiter.reject(first);
    for (const insert of inserts) if (insert.state === 'flushing') insert.fail(first);
    for (const insert of this.queue) if (insert.awaited) insert.fail(first);
    this.staged.drop(); // nothing waits for staged rows: the failure reaches the commit
    this.idWaiters = [];
    return first;
  }

  /**
   * Runs database work one task at a time, in order; no task starts after a
   * failure. A task may call `release` once pg holds what it sends: the next
   * task starts then, while the first waits for its answers, which pg gives
   * in the order the statements were sent.
   */
  private exclusive<T>(task: (release: () => void) => Promise<T>): Promise<T> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const run = this.work.then(() => {
      if (this.failure) throw this.failure;
      return task(release);
    });
    this.work = Promise.race([run, released]).catch(() => undefined);
    listUntilSettled(this.unanswered, run);
    return run;
  }

  /**
   * `exclusive`, then also waits for the tasks before it that were released
   * and are still being answered, and rethrows the transaction's failure:
   * what a statement, `trx.flush()` or COMMIT must see before it goes on.
   */
  private async exclusiveAnswered<T>(task: () => Promise<T>): Promise<T> {
    const earlier = [...this.unanswered];
    const result = await this.exclusive(task);
    await Promise.all(earlier);
    if (this.failure) throw this.failure;
    return result;
  }
}

/** The pg Result plain knex resolves an insert without RETURNING to (a plain object where pg exports no Result). */
function insertResult(client: KnexClient, rowCount: number): unknown {
  const Result = client.driver.Result as unknown as (new () => object) | undefined;
  return Object.assign(typeof Result === 'function' ? new Result() : { rows: [], fields: [] }, { command: 'INSERT', rowCount, oid: 0 });
}

function noStats(): FlushStats {
  return { groups: 0, rows: 0, staged: 0, statements: 0, roundTrips: 0, ms: 0 };
}

/** The outcome of an insert the flush gave none: its await was answered already (see distributeCount). */
const NO_OUTCOME: InsertOutcome = Object.freeze({ rowCount: 0 });

function noop(): void {}

/** Keeps `promise` in `list` until it settles, as a promise that never rejects. */
function listUntilSettled(list: Promise<void>[], promise: Promise<unknown>): void {
  const settled = promise.then(noop, noop);
  list.push(settled);
  void settled.then(() => list.splice(list.indexOf(settled), 1));
}
