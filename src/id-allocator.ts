// Pre-allocates primary keys from sequences: one query for every table that
// needs ids at that moment, ids kept in a pool for the rest of the transaction.
//
// Pools live and die with one transaction. A pool kept across transactions
// would hand out ids that collide after `TRUNCATE ... RESTART IDENTITY` or
// `setval`, which test suites do all the time.
import { literal, wholeNumber } from './sql-literal';
import type { RunQuery, TableMeta } from './table-metadata';

export interface IdBlockOptions {
  /** Smallest block fetched once a transaction asks for ids a second time. */
  min: number;
  /** Largest block fetched at once: bounds the ids one transaction can leave unused. */
  max: number;
}

export interface IdRequest {
  table: TableMeta;
  /** Ids wanted now, beyond what the pool holds. */
  count: number;
  /**
   * The request comes from code awaiting ids one insert after another: fetch
   * a block that grows with what this transaction has drawn so far, so that
   * a loop of N awaits costs O(log N) queries. Flushes ask for exact counts,
   * except those that stage their rows (see forFlush in id-assignment.ts).
   */
  grow: boolean;
}

/**
 * SQL for the extra ids of a growing block, cut to the values the sequence
 * has left before its MAXVALUE (MINVALUE when descending), so that growth
 * never fails where plain code would not: the ids actually needed are drawn
 * whatever happens, as plain code would draw them.
 */
function extraWithinRoom(sequence: string, count: string, extra: string): string {
  const last = `coalesce(pg_sequence_last_value(s.seqrelid)::numeric, s.seqstart::numeric - s.seqincrement)`;
  const room = `(select floor(case when s.seqincrement > 0 then (s.seqmax - ${last}) / s.seqincrement
    else (${last} - s.seqmin) / -s.seqincrement end) from pg_sequence s where s.seqrelid = to_regclass(${sequence}))`;
  return `least(${extra}, greatest(0, ${room} - ${count}))::int`;
}

/** The parser pg applies to text values of a type on the transaction's connection. */
export type TypeParserOf = (typeOid: number) => Promise<(text: string) => unknown>;

/** How draws reach the database. */
export interface DrawAccess {
  query: RunQuery;
  parserOf: TypeParserOf;
  /** Runs before ids of `tables` (of any table, without them) are drawn: see Batcher.sendStagedBefore. */
  before(tables?: readonly TableMeta[]): Promise<void>;
}

/** The type OID of int8 (bigint, bigserial). */
const INT8_OID = 20;

/** The sequence no longer exists: the cached catalog is out of date. */
export class StaleSequenceError extends Error {}

interface Pool {
  ids: unknown[];
  next: number;
  /** Ids drawn from the sequence for this table in this transaction. */
  drawn: number;
}

/**
 * The most a transaction's first block draws while the code waits, when the
 * last transaction used more: the rest is drawn right after, in the
 * background (see `prefetch`). 100,000 ids took 55 ms to draw and parse, with
 * the loop stopped and nothing else sent meanwhile (`npm run bench:timeline --
 * --rows 100000`); 10,000 take about 6 ms, and the loop needs more than
 * that to use them.
 */
const FIRST_BLOCK_MOST = 10_000;

export class IdAllocator {
  private readonly pools = new Map<string, Pool>();
  /** Draws under way: ids they bring belong to rows queued before any await that comes meanwhile. */
  private draws = 0;
  /** By table id: ids of the last transaction's use that the first block left out, for `prefetch`, and `forgotten` when asked for. */
  private readonly toPrefetch = new Map<string, { table: TableMeta; count: number; forgotten: number }>();
  /** Counts `forget` calls: ids drawn before one and answered after it may collide, and only what was needed of them is kept. */
  private forgotten = 0;

  constructor(
    private readonly blocks: IdBlockOptions,
    /** Per table id: ids the last transaction of this knex instance used from growing blocks (see `blockSize`). */
    private readonly lastUsed: Map<string, number>,
  ) {}

  get drawing(): boolean {
    return this.draws > 0;
  }

  available(table: TableMeta): number {
    const pool = this.pools.get(table.id);
    return pool ? pool.ids.length - pool.next : 0;
  }

  /** Takes up to `count` ids from the pool, in sequence order. */
  take(table: TableMeta, count: number): unknown[] {
    const pool = this.pools.get(table.id);
    if (!pool) return [];
    const ids = pool.ids.slice(pool.next, pool.next + count);
    pool.next += ids.length;
    return ids;
  }

  /**
   * Adds ids to the pools of all requested tables with one query. Each
   * table's ids come back as one text value, in the order nextval gave them
   * (descending for a negative increment), cast to the key column's type
   * first, and `parserOf` parses each as pg parses that column in a
   * RETURNING clause (int4 -> number, int8 -> string, or whatever type parser
   * the user installed). One value rather than a row per id: pg would build
   * a message, a field list and a row object for each.
   */
  async fetch(requests: readonly IdRequest[], access: DrawAccess): Promise<void> {
    const wanted = requests.filter((request) => request.count > 0);
    if (wanted.length === 0) return;
    const sizes = wanted.map((request) => this.blockSize(request));
    const forgotten = this.forgotten;
    this.draws++;
    const drawn = await this.draw(wanted, sizes, access).finally(() => this.draws--);
    for (const [i, { table, count }] of wanted.entries()) {
      if (drawn[i].length < count) throw new StaleSequenceError(`sequence ${table.generatedKey!.sequence} not found`);
      // forgotten meanwhile: the rows that asked were queued before that statement and take their ids; the rest is dropped
      this.add(table, this.forgotten === forgotten ? drawn[i] : drawn[i].slice(0, count));
    }
  }

  /** Whether a first block left ids of the last transaction's use to draw in the background. */
  get prefetchWanted(): boolean {
    return this.toPrefetch.size > 0;
  }

  /**
   * Draws what the first blocks left out (see FIRST_BLOCK_MOST): in the
   * background, while awaits go on taking from the pools, so this is not one
   * of the draws that hold them back. Its ids go to the end of the pools,
   * after those drawn before, in sequence order. Nothing is drawn or kept
   * once the pools were forgotten after it was asked for.
   */
  async prefetch(access: DrawAccess): Promise<void> {
    const forgotten = this.forgotten;
    const wanted = [...this.toPrefetch.values()].filter((request) => request.forgotten === forgotten);
    this.toPrefetch.clear();
    if (wanted.length === 0) return;
    const requests = wanted.map(({ table }) => ({ table, count: 0, grow: false })); // none needed: cut to the room left
    const drawn = await this.draw(requests, wanted.map(({ count }) => count), access);
    if (this.forgotten !== forgotten) return;
    for (const [i, { table }] of wanted.entries()) this.add(table, drawn[i]);
  }

  /**
   * One query for all requests: per request, `sizes[i]` ids at most (see
   * extraWithinRoom), parsed, in sequence order. Plain text, values written
   * in (sql-literal.ts): a draw that is a transaction's first statement
   * carries its BEGIN (held-begin.ts), which a statement with bindings cannot.
   */
  private async draw(wanted: readonly IdRequest[], sizes: readonly number[], { query, parserOf, before }: DrawAccess): Promise<unknown[][]> {
    await before(wanted.map(({ table }) => table));
    const columns = wanted.map(({ table, count }, i) => {
      const sequence = literal(table.generatedKey!.sequence);
      // the sequence is looked up once, as an InitPlan: to_regclass per row took 57 ms for 100,000 ids, against 31
      const id = `nextval((select to_regclass(${sequence})))::${table.generatedKey!.type}::text`;
      const extra = extraWithinRoom(sequence, wholeNumber(count), wholeNumber(sizes[i] - count));
      return `(select string_agg(${id}, ',') from generate_series(1, ${wholeNumber(count)} + ${extra})) as k${i}`;
    });
    const { rows } = await query(`select ${columns.join(', ')}`, []);
    const drawn = [];
    for (const [i, { table }] of wanted.entries()) {
      // a sequence that is gone gives NULLs, which string_agg leaves out (NULL when all are)
      const text = rows[0][`k${i}`] as string | null;
      const parse = await parserOf(table.generatedKey!.typeOid);
      drawn.push(text === null ? [] : text.split(',').map((id) => parse(id)));
    }
    return drawn;
  }

  /** Drops the ids in the pools; blocks start small again, which bounds what repeated drops waste. */
  forget(): void {
    this.forgotten++;
    for (const pool of this.pools.values()) {
      pool.next = pool.ids.length;
      pool.drawn = 0;
    }
  }

  /**
   * The size of the block to draw; the part beyond `count` is cut to what
   * the sequence has left (see extraWithinRoom). A transaction's first block
   * is what it needs, or, for bigint keys, what the last transaction used
   * (up to `max`): a job that runs the same loop again draws its ids in one
   * query, or, beyond FIRST_BLOCK_MOST, in one query and one prefetch.
   * 4-byte keys never get the larger first block, since ids a shorter
   * transaction leaves unused bring their end closer. After `forget`, blocks
   * start small again, without the last transaction's figure.
   */
  private blockSize({ table, count, grow }: IdRequest): number {
    const pool = this.pools.get(table.id);
    const drawn = pool?.drawn ?? 0;
    if (!grow) return count;
    if (drawn === 0) {
      const last = !pool && table.generatedKey!.typeOid === INT8_OID ? Math.min(this.blocks.max, this.lastUsed.get(table.id) ?? 0) : 0;
      const first = Math.max(count, Math.min(last, FIRST_BLOCK_MOST));
      if (last > first) this.toPrefetch.set(table.id, { table, count: last - first, forgotten: this.forgotten });
      return first;
    }
    return Math.max(count, Math.min(this.blocks.max, Math.max(this.blocks.min, 3 * drawn)));
  }

  /** At commit: remembers, per table, how many ids this transaction used, for the first block of the next one. */
  remember(): void {
    for (const [id, pool] of this.pools) if (pool.drawn > 0) this.lastUsed.set(id, pool.drawn - (pool.ids.length - pool.next));
  }

  /** Adds ids drawn for `table`, in sequence order, to its pool. */
  add(table: TableMeta, ids: unknown[]): void {
    const pool = this.pools.get(table.id);
    if (!pool) {
      this.pools.set(table.id, { ids, next: 0, drawn: ids.length });
      return;
    }
    pool.ids = pool.ids.slice(pool.next).concat(ids);
    pool.next = 0;
    pool.drawn += ids.length;
  }
}
