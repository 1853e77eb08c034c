// Which queued rows get pre-allocated ids, and when: the policy on top of
// id-allocator.ts, which only draws from sequences.
//
//   - An await of `.returning(<key>)` is answered by ids alone (`canAnswer`)
//     when the table's key comes from a sequence the role may use and no
//     BEFORE INSERT trigger may change it. Such awaits get ids for their rows
//     and for every id-less row of that table queued before them (`forAwaits`),
//     so ids follow queue order. In a new process the catalog query draws the
//     first of them (`drawWithCatalog`).
//   - A flush gives ids to a table's id-less rows when something depends on
//     them (`forFlush`): an await of its ids, results matched by key, or rows
//     in several groups, where column defaults would number them in group
//     order rather than queue order. Other rows take what the pool still
//     holds, then their column default. Rows staged as COPY text
//     (staged-copies.ts) with their key left to the column default get it
//     only when sent: before ids of their table are drawn, the batcher sends
//     them (`DrawAccess.before`), so those ids still come after theirs.
import type { Group } from './flush-plan';
import type { DrawAccess, IdAllocator } from './id-allocator';
import { columnValue, returnedColumn, type InsertSpec, type TableName } from './insert-spec';
import type { KnexClient, Row } from './knex-internals';
import type { QueuedInsert } from './queued-insert';
import { type FlushItem, knexKeyFor, needsRows } from './statement-writer';
import type { Catalog, CatalogIdRequest, TableMeta } from './table-metadata';

/** A row without a key value, waiting for a pre-allocated one. */
interface IdlessRow {
  insert: QueuedInsert;
  index: number;
}

/** An insert whose await of `.returning(<key>)` ids may answer. */
export interface IdAwait {
  insert: QueuedInsert;
  spec: InsertSpec;
}

/** Inserts of one table whose id-less rows may still need ids, in queue order; those before `head` are done. */
interface PendingInserts {
  inserts: QueuedInsert[];
  head: number;
}

export class IdAssignment {
  /** By table id: inserts whose rows `forAwaits` may have to number, in queue order (see `track`). */
  private pending = new Map<string, PendingInserts>();
  /** Tracked inserts of tables the catalog did not know. */
  private unresolved: QueuedInsert[] = [];
  /** Flushes that took rows off the queue and have not given them ids yet (see `numberingTaken`). */
  private numbering = 0;

  constructor(
    /** Shared by a transaction and the transactions nested in it. */
    readonly pools: IdAllocator,
    private readonly catalog: Catalog,
    private readonly access: DrawAccess,
  ) {}

  /** Whether ids alone answer an await of this insert's `.returning(<key>)` (the catalog must know its table). */
  canAnswer(spec: InsertSpec): boolean {
    const meta = this.catalog.lookup(spec.table);
    const key = meta?.generatedKey?.column;
    if (key === undefined || meta!.hasBeforeInsertTrigger || returnedColumn(spec, spec.returning![0]) !== key) return false;
    for (const row of spec.rows) if (hasValue(spec, row, key)) return false;
    return true;
  }

  /** What the await resolves to: its rows' ids, under the key column's name, as knex would return them. */
  answer(insert: QueuedInsert, spec: InsertSpec, client: KnexClient): unknown {
    const column = returnedColumn(spec, spec.returning![0])!;
    const rows = new Array<Row>(spec.rows.length);
    for (let i = 0; i < rows.length; i++) rows[i] = { [column]: insert.ids[i] };
    return client.postProcessResponse(rows, spec.queryContext);
  }

  /**
   * Notes a queued insert (in queue order, each once) whose id-less rows
   * `forAwaits` may number later. Reading each insert once keeps a loop of
   * N awaits linear: an await looks only at rows queued since the last one.
   */
  track(insert: QueuedInsert): void {
    const meta = this.catalog.lookup(insert.spec!.table);
    if (meta) this.addPending(insert, meta);
    else this.unresolved.push(insert); // not in the catalog yet: looked at again once it is
  }

  /**
   * Called as a flush takes rows off the queue: until it calls the function
   * returned, once it has given them ids, no await takes ids from the pool.
   * The flush may wait for the catalog in between, while the code goes on:
   * an id the pool gave meanwhile to a row queued later would be lower than
   * the ids of the rows the flush took.
   */
  numberingTaken(): () => void {
    this.numbering++;
    let done = false;
    return () => {
      if (!done) this.numbering--;
      done = true;
    };
  }

  /** Forgets the rows of inserts a flush took: the flush gives them ids if they need any. */
  untrack(): void {
    for (const [table, list] of this.pending) {
      const inserts = list.inserts.slice(list.head).filter((insert) => insert.state === 'queued');
      if (inserts.length > 0) this.pending.set(table, { inserts, head: 0 });
      else this.pending.delete(table);
    }
    this.unresolved = this.unresolved.filter((insert) => insert.state === 'queued');
  }

  /** Ids for `awaits` and every id-less row of their tables queued before them, from growing blocks. */
  async forAwaits(awaits: readonly IdAwait[]): Promise<void> {
    this.resolvePending();
    const rows = new Map<TableMeta, IdlessRow[]>();
    const done: { list: PendingInserts; head: number }[] = [];
    const waiting = new Set(awaits.map(({ insert }) => insert));
    for (const meta of new Set(awaits.map(({ spec }) => this.catalog.lookup(spec.table)!))) {
      const upTo = this.pendingUpTo(meta, waiting);
      if (!upTo) continue;
      rows.set(meta, upTo.rows);
      done.push(upTo);
    }
    await this.assign(rows, rows, true);
    for (const { list, head } of done) list.head = Math.max(list.head, head);
  }

  /**
   * Answers an await from the pool alone, at once, when the pool holds ids
   * for it and every id-less row of its table queued before it, and no
   * draw is under way (whose ids would belong to rows queued earlier).
   * Returns false, having changed nothing, when it cannot.
   */
  fromPool(insert: QueuedInsert, spec: InsertSpec): boolean {
    if (this.pools.drawing || this.numbering > 0) return false;
    this.resolvePending();
    const meta = this.catalog.lookup(spec.table)!;
    const list = this.pending.get(meta.id);
    const last = list ? list.inserts.lastIndexOf(insert) : -1;
    if (!list || last < list.head) return false;
    // counted first, then given: this runs for every await of a loop, so it builds no list of rows
    let count = 0;
    for (let i = list.head; i <= last; i++) count += eachIdlessRow(list.inserts[i], meta);
    if (this.pools.available(meta) < count) return false;
    const ids = this.pools.take(meta, count);
    let next = 0;
    for (let i = list.head; i <= last; i++) next = giveIds(list.inserts[i], meta, ids, next);
    list.head = last + 1;
    return true;
  }

  /** The id-less rows of `meta`'s pending inserts up to the last one of `waiting`, and where the list's head moves once they have ids. */
  private pendingUpTo(meta: TableMeta, waiting: ReadonlySet<QueuedInsert>): { list: PendingInserts; head: number; rows: IdlessRow[] } | undefined {
    const list = this.pending.get(meta.id);
    if (!list) return undefined;
    let last = list.inserts.length - 1;
    while (last >= list.head && !waiting.has(list.inserts[last])) last--;
    const rows: IdlessRow[] = [];
    for (let i = list.head; i <= last; i++) {
      const insert = list.inserts[i];
      eachIdlessRow(insert, meta, (index) => rows.push({ insert, index }));
    }
    return { list, head: last + 1, rows };
  }

  /**
   * Ids for the rows of a flush's groups, all tables in one query: see the
   * header. With `grow`, drawn in blocks that grow, as awaits do (rows to be
   * staged: an exact draw per staging would cost a round trip each).
   */
  async forFlush(groups: readonly Group<FlushItem>[], awaits: readonly IdAwait[], grow: boolean): Promise<void> {
    const waiting = new Set(awaits.map(({ insert }) => insert));
    const idless = new Map<TableMeta, IdlessRow[]>();
    const needed = new Map<TableMeta, IdlessRow[]>();
    for (const [table, tableGroups] of groupsByTable(groups)) {
      if (tableGroups.length === 1 && this.pools.available(table) === 0 && !mayNeedIds(tableGroups[0], waiting)) continue; // the column default numbers them
      const rowsOfGroups = tableGroups.map((group) => ({ group, rows: group.inserts.flatMap(idlessRowsOf) })).filter(({ rows }) => rows.length > 0);
      if (rowsOfGroups.length === 0) continue;
      const matchesByKey = rowsOfGroups.some(({ group }) => needsRows(group) || group.inserts[0].spec.conflict?.action === 'ignore');
      const awaited = rowsOfGroups.some(({ rows }) => rows.some(({ insert }) => waiting.has(insert)));
      const rows = rowsOfGroups.flatMap(({ rows }) => rows);
      const available = this.pools.available(table);
      // a pool that numbers only some rows would leave a group of two column sets, which COPY cannot send
      const need = rowsOfGroups.length > 1 || matchesByKey || awaited || (available > 0 && available < rows.length);
      if (!need && available === 0) continue; // nothing to give: the column default numbers them
      if (rowsOfGroups.length > 1) rows.sort((a, b) => a.insert.sequence - b.insert.sequence || a.index - b.index); // queue order
      idless.set(table, rows);
      if (need) needed.set(table, rows);
    }
    await this.assign(idless, needed, grow);
  }

  /** Explicit values for a GENERATED ALWAYS identity column: knex runs the insert, and PostgreSQL refuses it as it would. */
  mustRunInPlace({ spec, meta }: FlushItem): boolean {
    const key = meta?.generatedKey;
    return key?.always === true && spec.rows.some((row) => hasValue(spec, row, key.column));
  }

  /**
   * Loads what the catalog lacks for the awaited tables. For a table it did
   * not know, the catalog query also draws the ids the awaits need (the
   * id-less rows of `queue` up to the last await), on the assumption that the
   * awaited column is the generated key, which the query checks: the first
   * ids of a new process cost no round trip of their own.
   */
  async drawWithCatalog(awaits: readonly IdAwait[], queue: readonly QueuedInsert[]): Promise<void> {
    const unknown = awaits.filter(({ spec }) => !this.catalog.lookup(spec.table));
    const last = new Map(unknown.map(({ insert, spec }) => [JSON.stringify(spec.table), insert]));
    const names = [...last.keys()].map((table) => (JSON.parse(table) as TableName).name);
    const requests: CatalogIdRequest[] = [];
    for (const [table, lastInsert] of last) {
      // one table written two ways ('t', 'public.t') would draw twice from one sequence, in no set order
      if (names.filter((name) => name === (JSON.parse(table) as TableName).name).length > 1) continue;
      const { spec: awaited } = unknown.find(({ insert }) => insert === lastInsert)!;
      const key = returnedColumn(awaited, awaited.returning![0]);
      if (key === undefined || key === '*') continue;
      let count = 0;
      for (const { spec } of queue.slice(0, queue.indexOf(lastInsert) + 1)) {
        if (spec && JSON.stringify(spec.table) === table) count += spec.rows.filter((row) => !hasValue(spec, row, key)).length;
      }
      requests.push({ table: JSON.parse(table), column: key, count });
    }
    if (requests.length > 0) await this.access.before(); // tables the catalog does not know may still have staged rows
    const drawn = await this.catalog.load(awaits.map(({ spec }) => spec.table), this.access.query, requests);
    for (const [i, ids] of drawn.entries()) {
      const meta = this.catalog.lookup(requests[i].table);
      if (ids.length === 0 || !meta?.generatedKey) continue;
      const parse = await this.access.parserOf(meta.generatedKey.typeOid);
      this.pools.add(meta, ids.map((id) => parse(id)));
    }
  }

  private addPending(insert: QueuedInsert, meta: TableMeta): void {
    if (!meta.generatedKey) return;
    const list = this.pending.get(meta.id);
    if (list) list.inserts.push(insert);
    else this.pending.set(meta.id, { inserts: [insert], head: 0 });
  }

  /** Tracks inserts whose table the catalog has learnt since, in their place in queue order. */
  private resolvePending(): void {
    if (this.unresolved.length === 0) return;
    const still: typeof this.unresolved = [];
    const touched = new Set<PendingInserts>();
    for (const insert of this.unresolved) {
      if (!insert.spec) continue; // re-read at a flush as not batchable: no ids to give
      const meta = this.catalog.lookup(insert.spec.table);
      if (!meta) {
        still.push(insert);
        continue;
      }
      this.addPending(insert, meta);
      const list = this.pending.get(meta.id);
      if (list) touched.add(list);
    }
    this.unresolved = still;
    for (const list of touched) list.inserts.sort((a, b) => a.sequence - b.sequence);
  }

  /**
   * Gives ids to rows: from the pools first, then, for the tables in `needed`,
   * drawn from their sequences in one query. Rows of other tables that the
   * pools cannot serve keep their column default, assigned by the INSERT.
   */
  private async assign(idless: Map<TableMeta, IdlessRow[]>, needed: Map<TableMeta, IdlessRow[]>, grow: boolean): Promise<void> {
    const give = (table: TableMeta, rows: IdlessRow[]) => {
      const ids = this.pools.take(table, rows.length);
      ids.forEach((id, i) => rows[i].insert.setId(rows[i].index, id));
      return rows.slice(ids.length);
    };
    const requests = [];
    for (const [table, rows] of idless) {
      const rest = give(table, rows);
      if (rest.length > 0 && needed.has(table)) requests.push({ table, count: rest.length, grow });
    }
    if (requests.length === 0) return;
    await this.pools.fetch(requests, this.access);
    for (const { table } of requests) give(table, idless.get(table)!.filter(({ insert, index }) => insert.ids[index] === undefined));
  }
}

/** Whether the rows of a table's only group may need ids (see `forFlush`); false means they certainly do not. */
function mayNeedIds(group: Group<FlushItem>, waiting: ReadonlySet<QueuedInsert>): boolean {
  return needsRows(group) || group.inserts[0].spec.conflict?.action === 'ignore' || group.inserts.some(({ insert }) => waiting.has(insert));
}

/** The groups of each table whose key comes from a sequence, in flush order. */
function groupsByTable(groups: readonly Group<FlushItem>[]): Map<TableMeta, Group<FlushItem>[]> {
  const byTable = new Map<TableMeta, Group<FlushItem>[]>();
  for (const group of groups) {
    if (!group.meta?.generatedKey) continue;
    const list = byTable.get(group.meta);
    if (list) list.push(group);
    else byTable.set(group.meta, [group]);
  }
  return byTable;
}

/** The rows of `item` without a key value, if its table's key comes from a sequence and can be named in knex terms. */
function idlessRowsOf({ insert, meta }: FlushItem): readonly IdlessRow[] {
  let rows: IdlessRow[] | undefined; // most rows of a flush have their ids already: no list for them
  eachIdlessRow(insert, meta, (index) => (rows ??= []).push({ insert, index }));
  return rows ?? NONE;
}

const NONE: readonly IdlessRow[] = [];

/**
 * Calls `each` with the index of every row of `insert` that has neither a
 * key value nor a pre-allocated id yet, if its table's key comes from a
 * sequence and can be named in knex terms; returns how many there are.
 */
function eachIdlessRow(insert: QueuedInsert, meta: TableMeta | undefined, each?: (index: number) => void): number {
  const key = idKeyOf(insert, meta);
  if (key === undefined) return 0;
  let count = 0;
  for (let index = 0; index < insert.spec!.rows.length; index++) {
    if (!needsId(insert, index, key)) continue;
    each?.(index);
    count++;
  }
  return count;
}

/** Gives `insert`'s id-less rows (see eachIdlessRow) `ids` from `next` on, in order; returns where the next insert's start. */
function giveIds(insert: QueuedInsert, meta: TableMeta, ids: readonly unknown[], next: number): number {
  const key = idKeyOf(insert, meta);
  if (key === undefined) return next;
  for (let index = 0; index < insert.spec!.rows.length; index++) if (needsId(insert, index, key)) insert.setId(index, ids[next++]);
  return next;
}

/** The key column whose ids `insert`'s rows may get: its table's, if that comes from a sequence and knex can name it for the insert. */
function idKeyOf({ spec }: QueuedInsert, meta: TableMeta | undefined): string | undefined {
  const key = meta?.generatedKey?.column;
  return spec && key !== undefined && knexKeyFor(spec, key) !== undefined ? key : undefined;
}

function needsId(insert: QueuedInsert, index: number, key: string): boolean {
  return insert.ids[index] === undefined && !hasValue(insert.spec!, insert.spec!.rows[index], key);
}

/** Whether the row gives `column` (a database name) a value. */
function hasValue(spec: InsertSpec, row: Row, column: string): boolean {
  return columnValue(spec, row, column) !== undefined;
}
