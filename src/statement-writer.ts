// Writes the multi-row INSERT statements of one group. knex compiles them
// from a clone of the group's first builder, so identifier wrapping, value
// binding, ON CONFLICT and RETURNING come out exactly as knex writes them;
// this module decides which rows go into which statement and what each
// statement returns so that its answer can be given back to each insert.
import camelCase from 'lodash/camelCase';
import { type CopyColumn, copyText, fitsColumns, parseCopyText, PIECE, type PrepareValue } from './copy-format';
import type { FailedStatement, Origin, SentRow } from './errors';
import type { Group, PlannedInsert } from './flush-plan';
import { columnValue, type InsertSpec, returnedColumn } from './insert-spec';
import type { KnexClient, QueryBuilderInternals, Row } from './knex-internals';
import { type InsertOutcome, keepOutcomesWanted, type QueuedInsert } from './queued-insert';
import type { TableMeta } from './table-metadata';
import type { TextChunks } from './text-chunks';

/** PostgreSQL's limit: the parameter count of a statement is a 16-bit number. */
const MAX_PARAMETERS = 65_535;

/**
 * Groups of at least this many rows go by COPY where nothing has to come
 * back: the server parses COPY's text about twice as fast as a multi-row
 * INSERT's parameters, the client builds it without knex compiling a
 * statement, and consecutive COPYs share one round trip (copy-batch.ts).
 * Smaller groups keep INSERT, whose statements are what knex would send
 * (measured with `npm run bench`; see the README's Performance section),
 * unless a COPY of their table is staged: they join it where their columns
 * match, without a statement of their own (staged-copies.ts), and are a
 * small COPY of their own where they do not. A transaction's first flushes,
 * small on purpose, go by COPY too (RAMP_QUEUE_ROWS in queue-policy.ts), and so,
 * in background flushes and the last one, do later groups of a table that
 * went by COPY (Batcher.statementsOf).
 */
const COPY_MIN_ROWS = 1_000;

/** An insert in a flush, and what the database answered for it once its statements ran (statement-results.ts). */
export interface FlushItem extends PlannedInsert {
  insert: QueuedInsert;
  outcome?: InsertOutcome;
}

/** Row `index` of `item`, and the row as a statement sends it. */
export interface StatementRow {
  item: FlushItem;
  index: number;
  sent: Row;
}

/**
 * How a statement's answer is given back to the inserts it carries:
 * count    -> no RETURNING; each insert's rowCount is its row count
 * key      -> RETURNING includes `columns` (database names), whose values are
 *             unique within the statement; returned rows are matched to sent
 *             rows by them, so rows skipped by ON CONFLICT are simply unmatched
 * position -> the n-th returned row belongs to the n-th sent row; used only
 *             where no row can be skipped, or for one insert per statement
 */
export type Matching = { by: 'count' } | { by: 'position' } | KeyMatching;
export interface KeyMatching {
  by: 'key';
  columns: readonly string[];
  normalize: readonly Normalizer[];
  added: readonly string[];
  /** The key of a sent row (see matchKey), read by database column name. */
  sentKey(sent: Row): string | undefined;
}

export interface Statement {
  sql: string;
  /** The table it writes to: which statements must go before it (see staged-copies.ts). */
  meta: TableMeta | undefined;
  bindings: readonly unknown[];
  /**
   * For `COPY ... FROM STDIN`: the data, as pieces of text; given `chunks`,
   * written into them, as views of them (staged-copies.ts).
   */
  copyData?: (chunks?: TextChunks) => Iterable<string | Buffer>;
  /** The rows an INSERT sends, which its answer is matched to; none for a COPY, matched by count. */
  rows: readonly StatementRow[];
  /** Set for a statement that carries every row of its inserts and is matched by count (a COPY): each gets its own row count. */
  wholeInserts?: WholeInserts;
  /** A COPY into a table whose key comes from a sequence, without the key: its rows take it from the column default when it runs. */
  keyFromDefault?: boolean;
  matching: Matching;
  /** What its error reads of it, should it fail. */
  failed(): FailedStatement;
}

/** The inserts of a COPY: how many, with how many rows, and those whose outcome is still wanted (see releaseCopied). */
export interface WholeInserts {
  tableLabel: string;
  inserts: number;
  rows: number;
  wanted: readonly FlushItem[];
}

/** A key value as PostgreSQL will store it, as text; undefined where that cannot be told (a Date for a text column). */
type Normalizer = (value: unknown) => string | undefined;

const scalar = (value: unknown): string | undefined =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint' ? String(value) : undefined;

const integerText: Normalizer = (value) => {
  const text = scalar(value);
  try {
    return text === undefined ? undefined : BigInt(text.trim()).toString();
  } catch {
    return text;
  }
};

/** varchar(n) cuts excess trailing spaces (anything else that is too long fails the insert). */
const cutTo = (length: number): Normalizer => (value) => {
  const text = scalar(value);
  const chars = text === undefined ? [] : [...text];
  return chars.length > length ? chars.slice(0, length).join('') : text;
};

/**
 * How to compare values of a key column ([type name, typmod] from the
 * catalog) with what PostgreSQL returns; undefined for types we cannot,
 * and for text under a nondeterministic (e.g. case-insensitive) collation.
 */
function normalizerFor([type, typmod]: readonly [string, number]): Normalizer | undefined {
  if (type === 'int2' || type === 'int4' || type === 'int8') return integerText;
  if (type === 'text') return scalar;
  if (type === 'varchar') return typmod > 4 ? cutTo(typmod - 4) : scalar;
  if (type === 'uuid') return (value) => scalar(value)?.replace(/[{}-]/g, '').toLowerCase();
  return undefined;
}

/** A row's matching key as text, or undefined if a key value is NULL or cannot be compared. */
export function matchKey(matching: KeyMatching, read: (column: string) => unknown): string | undefined {
  const parts: string[] = [];
  for (const [i, column] of matching.columns.entries()) {
    const value = read(column);
    const part = value == null ? undefined : matching.normalize[i](value);
    if (part === undefined) return undefined;
    parts.push(part);
  }
  return JSON.stringify(parts);
}

/** The statements of a group, compiled from `template`, a builder of the group's kind; `copyAnySize`: by COPY if it can be, whatever its size. */
export function writeStatements(group: Group<FlushItem>, template: QueryBuilderInternals, client: KnexClient, copyAnySize = false): Statement[] {
  const copy = copyStatement(group, template, client, copyAnySize ? 1 : COPY_MIN_ROWS);
  if (copy) return [copy];
  const names = new ColumnNames(group);
  const rows = prepareRows(group, names);
  const { matching, perInsert } = chooseMatching(group, names, rows);
  const statements: Statement[] = [];
  for (const chunk of chunks(group, rows, matching, perInsert)) statements.push(compile(group, template, chunk, names, matching, client));
  return statements;
}

/** Maps between knex-level keys and PostgreSQL column names for one group. */
class ColumnNames {
  /** database column -> the knex-level key used for it; the first of several that map to it */
  private readonly keys = new Map<string, string>();
  /** Some column is named by two knex-level keys (`userId`, `user_id`): rows get one key per column. */
  readonly aliased: boolean;
  readonly generatedKey: string | undefined;
  private readonly first: InsertSpec;

  constructor(group: Group<FlushItem>) {
    this.first = group.inserts[0].spec;
    let aliased = false;
    for (const { spec } of group.inserts) {
      for (const row of spec.rows) {
        for (const key in row) {
          const column = spec.columnName(key);
          const known = this.keys.get(column);
          if (known === undefined) this.keys.set(column, key);
          else if (known !== key) aliased = true;
        }
      }
    }
    this.aliased = aliased;
    for (const key of this.first.returning ?? []) if (!this.keys.has(this.columnOf(key))) this.keys.set(this.columnOf(key), key);
    const generated = group.meta?.generatedKey?.column;
    this.generatedKey = generated === undefined ? undefined : this.keyFor(generated);
  }

  /** A knex-level key that names `column`, when one can be found. */
  keyFor(column: string): string | undefined {
    return this.keys.get(column) ?? knexKeyFor(this.first, column);
  }

  columnOf(key: string): string {
    return this.first.columnName(key);
  }

  valueOf(row: Row, column: string): unknown {
    return columnValue(this.first, row, column);
  }

  /** The key this group uses for `key`'s column. */
  canonical(key: string): string {
    return this.keys.get(this.columnOf(key)) ?? key;
  }
}

/** How many rows these inserts carry. */
function rowsIn(items: readonly FlushItem[]): number {
  let rows = 0;
  for (const { spec } of items) rows += spec.rows.length;
  return rows;
}

/**
 * A knex-level key that names `column` for this insert: one it already uses,
 * or the column's name itself or in camelCase (for the usual snake_case
 * mappings in `wrapIdentifier`), whichever the mapping turns into `column`.
 */
export function knexKeyFor(spec: InsertSpec, column: string): string | undefined {
  if (spec.returning) for (const key of spec.returning) if (key !== '*' && spec.columnName(key) === column) return key;
  for (const key in spec.rows[0]) if (spec.columnName(key) === column) return key;
  if (spec.columnName(column) === column) return column;
  const camel = camelCased(column);
  return spec.columnName(camel) === column ? camel : undefined;
}

const camelCases = new Map<string, string>();

function camelCased(column: string): string {
  let name = camelCases.get(column);
  if (name === undefined) camelCases.set(column, (name = camelCase(column)));
  return name;
}

/**
 * The rows as they will be sent: with their pre-allocated key, arrays bound
 * for json columns as JSON text, one key per column, and, where no row names
 * any column (`insert({})`), the key column set to DEFAULT, since a
 * multi-row VALUES list needs at least one column.
 */
function prepareRows(group: Group<FlushItem>, names: ColumnNames): StatementRow[] {
  const jsonColumns = group.meta?.jsonColumns;
  const rows: StatementRow[] = [];
  let anyColumn = false;
  for (const item of group.inserts) {
    item.spec.rows.forEach((row, index) => {
      let sent = row;
      if (names.aliased) sent = Object.fromEntries(Object.entries(row).map(([key, value]) => [names.canonical(key), value]));
      const id = item.insert.ids[index];
      if (id !== undefined && names.generatedKey !== undefined) sent = { ...sent, [names.generatedKey]: id };
      if (jsonColumns && jsonColumns.size > 0) {
        for (const key in sent) {
          const value = sent[key];
          if (Array.isArray(value) && jsonColumns.has(names.columnOf(key))) {
            if (sent === row) sent = { ...row };
            sent[key] = JSON.stringify(value);
          }
        }
      }
      anyColumn ||= Object.keys(sent).length > 0;
      rows.push({ item, index, sent });
    });
  }
  const filler = group.meta?.generatedKey?.column ?? group.meta?.primaryKey[0];
  const fillerKey = filler === undefined ? undefined : names.keyFor(filler);
  if (!anyColumn && fillerKey !== undefined) for (const row of rows) row.sent = { [fillerKey]: undefined };
  return rows;
}

/**
 * By key where every row has comparable, non-NULL key values; by position
 * where no row can be skipped (no ON CONFLICT); else one statement per
 * insert, which is exactly what knex would send. Tables with a BEFORE INSERT
 * trigger, which may rewrite or drop rows, and unknown tables get one
 * statement per insert whenever rows must be matched.
 */
function chooseMatching(group: Group<FlushItem>, names: ColumnNames, rows: StatementRow[]): { matching: Matching; perInsert: boolean } {
  const { spec } = group.inserts[0];
  const noColumns = rows.every(({ sent }) => Object.keys(sent).length === 0);
  if (!spec.conflict && !needsRows(group)) return { matching: { by: 'count' }, perInsert: noColumns };
  if (!group.meta || group.meta.hasBeforeInsertTrigger) return { matching: { by: 'position' }, perInsert: true };
  const byKey = keyMatching(group, names, rows);
  if (byKey) return { matching: byKey, perInsert: false };
  return { matching: { by: 'position' }, perInsert: spec.conflict !== null || noColumns };
}

/** Whether some insert of the group still needs its RETURNING rows (see QueuedInsert.outcomeWanted). */
export function needsRows(group: Group<FlushItem>): boolean {
  return group.inserts[0].spec.returning !== null && group.inserts.some(({ insert }) => insert.outcomeWanted);
}

/** Matching by key columns: the conflict target of a merge, else the primary key. */
function keyMatching(group: Group<FlushItem>, names: ColumnNames, rows: StatementRow[]): KeyMatching | undefined {
  const { spec } = group.inserts[0];
  const meta = group.meta!;
  let columns: readonly string[] = meta.primaryKey;
  if (spec.conflict?.action === 'merge') {
    columns = spec.conflict.target.map((key) => spec.columnName(key));
    const { updates } = spec.conflict;
    const rewritesKey = updates !== undefined && !Array.isArray(updates)
      && Object.keys(updates).some((key) => columns.includes(spec.columnName(key)));
    if (rewritesKey) return undefined; // a merge that changes the conflict key returns other key values
  }
  const normalize = columns.map((column) => {
    const type = meta.keyColumnTypes.get(column);
    return type && normalizerFor(type);
  });
  if (columns.length === 0 || normalize.some((n) => n === undefined)) return undefined;
  const returned = new Set((spec.returning ?? []).map((entry) => returnedColumn(spec, entry)));
  const added = returned.has('*') ? [] : columns.filter((column) => !returned.has(column));
  if (added.some((column) => names.keyFor(column) === undefined)) return undefined;
  const matching: KeyMatching = {
    by: 'key',
    columns,
    normalize: normalize as Normalizer[],
    added,
    sentKey: (sent) => matchKey(matching, (column) => names.valueOf(sent, column)),
  };
  const everyRowHasKey = rows.every(({ sent }) => matching.sentKey(sent) !== undefined);
  return everyRowHasKey ? matching : undefined;
}


/**
 * Cuts the group's rows into statements, in order:
 *   - at the parameter limit;
 *   - before a row whose matching key already occurs in the statement, so that
 *     keys identify rows. For ON CONFLICT DO UPDATE this is also where one
 *     statement would fail with 21000 ("cannot affect row a second time")
 *     but separate statements do not; a key repeated inside one insert fails
 *     in plain knex too and is left to fail;
 *   - after each insert, where rows are matched by position and may be skipped.
 */
function* chunks(group: Group<FlushItem>, rows: StatementRow[], matching: Matching, perInsert: boolean) {
  const { spec } = group.inserts[0];
  const updates = spec.conflict?.action === 'merge' ? spec.conflict.updates : undefined;
  const extraParameters = updates && !Array.isArray(updates) ? Object.keys(updates).length : 0;
  const columnCount = new Set(rows.flatMap(({ sent }) => Object.keys(sent))).size;
  const rowLimit = Math.max(1, Math.floor((MAX_PARAMETERS - extraParameters) / Math.max(1, columnCount)));
  const merging = spec.conflict?.action === 'merge';

  let chunk: StatementRow[] = [];
  let keys = new Map<string, QueuedInsert>();
  for (const row of rows) {
    const key = matching.by === 'key' ? matching.sentKey(row.sent) : undefined;
    const holder = key === undefined ? undefined : keys.get(key);
    const repeats = holder !== undefined && !(merging && holder === row.item.insert);
    const newInsert = perInsert && chunk.length > 0 && chunk[chunk.length - 1].item !== row.item;
    if (chunk.length >= rowLimit || repeats || newInsert) {
      yield chunk;
      chunk = [];
      keys = new Map();
    }
    chunk.push(row);
    if (key !== undefined) keys.set(key, row.item.insert);
  }
  if (chunk.length > 0) yield chunk;
}

function compile(group: Group<FlushItem>, template: QueryBuilderInternals, chunk: StatementRow[], names: ColumnNames, matching: Matching, client: KnexClient): Statement {
  const first = group.inserts[0];
  const sentRows = chunk.map(({ sent }) => sent);
  const builder = template.clone();
  builder._single.insert = sentRows;
  builder._single.returning = returningFor(first, matching, names);
  const { conflict } = first.spec;
  if (conflict?.action === 'merge' && conflict.updates === undefined) {
    // `.merge()` updates every inserted column; a key column added here is not one of the user's
    builder._single.merge = { updates: [...new Set(group.inserts.flatMap(({ spec }) => spec.rows.flatMap((row) => Object.keys(row).map((key) => names.canonical(key)))))] };
  }
  const compiled = builder.toSQL();
  let sql = compiled.sql;
  const sendsKeys = chunk.some(({ item, index }) => item.insert.ids[index] !== undefined);
  if (group.meta?.generatedKey?.always && sendsKeys && names.generatedKey !== undefined) sql = overrideSystemValue(sql, builder, sentRows, client);
  if (compiled.bindings.length > MAX_PARAMETERS) {
    throw new Error(`knex-batch-inserts: a statement for ${first.spec.tableLabel} has ${compiled.bindings.length} parameters`);
  }
  const valueOf = (row: Row, column: string) => names.valueOf(row, column);
  const failed = () => ({ tableLabel: first.spec.tableLabel, copy: false, rows: forError(chunk), valueOf });
  return { sql, meta: group.meta, bindings: compiled.bindings, rows: chunk, matching, failed };
}

function forError(rows: readonly StatementRow[]): SentRow[] {
  return rows.map(({ item, index, sent }) => ({ insert: item.insert, index, sent }));
}

function returningFor(first: FlushItem, matching: Matching, names: ColumnNames): string[] | undefined {
  if (matching.by === 'count') return undefined;
  const returning = [...(first.spec.returning ?? [])];
  if (matching.by === 'key') for (const column of matching.added) returning.push(names.keyFor(column)!);
  return returning.length > 0 ? returning : undefined;
}

/**
 * `COPY ... FROM STDIN` for a large group that needs no rows back and has no
 * ON CONFLICT (so it would be matched by count, see chooseMatching), whose
 * rows all name the same columns with values COPY can carry, into a table
 * whose rules or row-level security COPY would not apply. Triggers and
 * constraints apply to COPY as to INSERT; explicit values for GENERATED
 * ALWAYS identity columns are taken without OVERRIDING SYSTEM VALUE.
 *
 * The text is written from the inserts' own rows and ids: a large group
 * builds no row objects to send (prepareRows), which would live as long as
 * the round trip. Once it is written, the inserts are let go (releaseCopied).
 */
function copyStatement(group: Group<FlushItem>, builder: QueryBuilderInternals, client: KnexClient, minRows: number): Statement | undefined {
  const prepare = (client.driver as { utils?: { prepareValue?: PrepareValue } }).utils?.prepareValue;
  const { insert: firstInsert, spec: first } = group.inserts[0];
  const { meta } = group;
  if (!prepare || !meta || meta.refusesCopy || first.conflict || needsRows(group)) return undefined;
  if (rowsIn(group.inserts) < minRows) return undefined;
  const columns = copyColumns(first, firstInsert.ids[0], meta);
  if (columns === undefined) return undefined;
  let keysDrawn = true; // every row's generated key, if sent, comes from pre-allocated ids
  for (const { insert, spec } of group.inserts) {
    for (let index = 0; index < spec.rows.length; index++) {
      if (!fitsColumns(spec.rows[index], insert.ids[index], columns)) return undefined;
      keysDrawn &&= insert.ids[index] !== undefined;
    }
  }
  const sql = `copy ${client.queryCompiler(builder).tableName} (${client.formatter(builder).columnize(columns.map(({ key }) => key))}) from stdin`;
  const whole: WholeInserts = { tableLabel: first.tableLabel, inserts: group.inserts.length, rows: rowsIn(group.inserts), wanted: group.inserts };
  let copied: CopiedRows | undefined;
  return {
    sql,
    meta,
    bindings: [],
    keyFromDefault: meta.generatedKey !== undefined && !columns.some(({ name }) => name === meta.generatedKey!.column),
    *copyData(chunks?: TextChunks) {
      // text in chunks stays there until the answer anyway: an error may as well read it
      const pieces: (string | Buffer)[] | undefined = chunks || mayNeedValues(meta, columns, keysDrawn) ? [] : undefined;
      const rows = group.inserts.map(({ spec }) => spec.rows);
      for (const text of copyText(rows, group.inserts.map(({ insert }) => insert.ids), columns, prepare, chunks ? PIECE : undefined)) {
        const piece = chunks ? chunks.write(text) : text;
        pieces?.push(piece);
        yield piece;
      }
      copied = releaseCopied(group, pieces, columns);
    },
    rows: [],
    wholeInserts: whole,
    matching: { by: 'count' },
    failed: () => (copied ? copiedRows(first.tableLabel, copied) : liveRows(group)),
  };
}

/**
 * What is kept of a COPY's inserts once its text is written: their origins
 * and row counts, which with the line PostgreSQL names in an error give the
 * insert of the failing row. The text is kept as well where an error may
 * need the values (mayNeedValues). Kept until the answer, a round trip or
 * more, the text is moved to V8's old generation; kept for every table, it
 * added 0.2-0.3 times the rows' own memory to the peak of the memory
 * benchmark (`npm run bench:memory -- --max-queued-rows 2000`).
 */
interface CopiedRows {
  origins: Origin[];
  rowCounts: number[];
  pieces: (string | Buffer)[] | undefined;
  columns: string[];
}

/**
 * Whether an error of a COPY may need its rows' values to name them: an
 * AFTER INSERT trigger (a foreign key's check, a deferrable unique key, the
 * user's own) fails the statement once every line is read, naming values
 * but no line; and a unique key the rows give values for may be repeated
 * among them, whose other rows the error can name (errors.ts). A key filled
 * from pre-allocated ids is never repeated.
 */
function mayNeedValues(meta: TableMeta, columns: readonly CopyColumn[], keysDrawn: boolean): boolean {
  return meta.checksAfterRows || columns.some(({ name, id }) => meta.keyColumnTypes.has(name) && !(id && keysDrawn));
}

/**
 * Lets go of a COPY's inserts once its text is written, but for those whose
 * outcome is still wanted (QueuedInsert.outcomeWanted): in a loop, every
 * other insert's await was answered already, and nothing reads it again.
 * The batch is answered a round trip or more later, while the code queues
 * the next ones; held until then, a few thousand inserts with their rows
 * would outlive two minor collections and be moved to V8's old generation,
 * which grows by all it is given until a full collection (the README's
 * memory figures). Each insert's origin is kept for an error (CopiedRows).
 */
function releaseCopied(group: Group<FlushItem>, pieces: (string | Buffer)[] | undefined, columns: readonly CopyColumn[]): CopiedRows {
  const copied: CopiedRows = {
    origins: group.inserts.map(({ insert }) => insert.origin),
    rowCounts: group.inserts.map(({ spec }) => spec.rows.length),
    pieces,
    columns: columns.map(({ name }) => name),
  };
  keepOutcomesWanted(group.inserts, ({ insert }) => insert);
  return copied;
}

function copiedRows(tableLabel: string, { origins, rowCounts, pieces, columns }: CopiedRows): FailedStatement {
  const parsed = pieces ? parseCopyText(pieces.map((piece) => piece.toString()).join(''), columns) : [];
  const rows: SentRow[] = [];
  origins.forEach((origin, i) => {
    const insert = { origin };
    for (let index = 0; index < rowCounts[i]; index++) rows.push({ insert, index, sent: parsed[rows.length] });
  });
  return { tableLabel, copy: true, rows, valueOf: (row, column) => row[column] };
}

function liveRows(group: Group<FlushItem>): FailedStatement {
  const names = new ColumnNames(group);
  return { tableLabel: group.inserts[0].spec.tableLabel, copy: true, rows: forError(prepareRows(group, names)), valueOf: (row, column) => names.valueOf(row, column) };
}

/**
 * The columns of a COPY whose first row is `first`'s: its keys, and the key
 * column if the row has a pre-allocated id; undefined where two keys name
 * one column (`userId`, `user_id`). The other rows must name the same keys
 * (fitsColumns), so the first row alone says what every row sends.
 */
function copyColumns(first: InsertSpec, id: unknown, meta: TableMeta): CopyColumn[] | undefined {
  const keys = Object.keys(first.rows[0]);
  const columns = keys.map((key) => first.columnName(key));
  const generated = meta.generatedKey?.column;
  if (id !== undefined && generated !== undefined && !columns.includes(generated)) {
    const key = knexKeyFor(first, generated);
    if (key === undefined) return undefined;
    keys.push(key);
    columns.push(generated);
  }
  if (keys.length === 0 || new Set(columns).size !== columns.length) return undefined;
  return keys.map((key, i) => ({ key, name: columns[i], id: columns[i] === generated, json: meta.jsonColumns.has(columns[i]) }));
}

/**
 * GENERATED ALWAYS identity columns take explicit values only with
 * OVERRIDING SYSTEM VALUE, which knex cannot write. It goes right after the
 * column list; the prefix up to there is rebuilt with knex's own formatter
 * (knex orders insert columns by sorted name) and must match exactly.
 */
function overrideSystemValue(sql: string, builder: QueryBuilderInternals, rows: Row[], client: KnexClient): string {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))].sort();
  const prefix = `insert into ${client.queryCompiler(builder).tableName} (${client.formatter(builder).columnize(columns)})`;
  if (!sql.startsWith(prefix)) throw new Error(`knex-batch-inserts: unexpected insert SQL, cannot add OVERRIDING SYSTEM VALUE: ${sql.slice(0, 200)}`);
  return `${prefix} overriding system value${sql.slice(prefix.length)}`;
}
