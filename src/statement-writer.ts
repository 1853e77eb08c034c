// Writes the multi-row INSERT statements of one group. knex compiles them
// from a clone of the group's first builder, so identifier wrapping, value
// binding, ON CONFLICT and RETURNING come out exactly as knex writes them;
// this module decides which rows go into which statement and what each
// statement returns so that its answer can be given back to each insert.
import camelCase from 'lodash/camelCase';
import type { Group, PlannedInsert } from './flush-plan';
import type { InsertSpec } from './insert-spec';
import type { KnexClient, Row } from './knex-internals';
import type { QueuedInsert } from './queued-insert';

/** PostgreSQL's limit: the parameter count of a statement is a 16-bit number. */
export const MAX_PARAMETERS = 65_535;

export interface FlushItem extends PlannedInsert {
  insert: QueuedInsert;
}

/** Row `index` of `item`, as carried by a statement. */
export interface StatementRow {
  item: FlushItem;
  index: number;
}

/**
 * How a statement's answer is given back to the inserts it carries:
 * count    -> no RETURNING; every row is written, so each insert's rowCount is its row count
 * key      -> RETURNING includes `columns` (database names); returned rows are matched to
 *             sent rows by those values, so rows skipped by ON CONFLICT are simply unmatched
 * position -> the n-th returned row belongs to the n-th sent row (only where no row can be skipped)
 */
export type Matching =
  | { by: 'count' }
  | { by: 'position' }
  | { by: 'key'; columns: readonly string[]; normalize: readonly Normalizer[]; added: readonly string[] };

export interface Statement {
  sql: string;
  bindings: readonly unknown[];
  rows: readonly StatementRow[];
  /** The rows as sent, by database column name, to find the row an error is about. */
  valueOf(row: Row, column: string): unknown;
  sentRows: readonly Row[];
  matching: Matching;
}

type Normalizer = (value: unknown) => string | undefined;

const integerText: Normalizer = (value) => {
  try {
    return BigInt(String(value).trim()).toString();
  } catch {
    return String(value);
  }
};

/** Column types whose values we can compare to what PostgreSQL returns for them. */
const NORMALIZERS: Record<string, Normalizer> = {
  int2: integerText,
  int4: integerText,
  int8: integerText,
  text: (value) => String(value),
  varchar: (value) => String(value),
  uuid: (value) => String(value).replace(/[{}-]/g, '').toLowerCase(),
};

export function writeStatements(group: Group<FlushItem>, client: KnexClient): Statement[] {
  const first = group.inserts[0];
  const names = new ColumnNames(group, first);
  const matching = chooseMatching(group, names);
  const statements: Statement[] = [];
  for (const chunk of chunks(group, names, matching)) {
    statements.push(compile(group, chunk, names, matching, client));
  }
  return statements;
}

/** Maps between knex-level keys and PostgreSQL column names for one group. */
class ColumnNames {
  /** database column -> knex-level key, for every key any row of the group uses */
  private readonly keys = new Map<string, string>();
  readonly generatedKey: string | undefined;
  readonly columnCount: number;

  constructor(group: Group<FlushItem>, private readonly first: FlushItem) {
    for (const { spec } of group.inserts) {
      for (const row of spec.rows) for (const key of Object.keys(row)) this.keys.set(spec.columnName(key), key);
    }
    for (const key of first.spec.returning ?? []) this.keys.set(first.spec.columnName(key), key);
    const generated = group.meta?.generatedKey?.column;
    this.generatedKey = generated === undefined ? undefined : this.keyFor(generated);
    const sendsIds = group.inserts.some(({ insert }) => insert.ids.length > 0);
    this.columnCount = this.keys.size + (sendsIds && !this.keys.has(generated!) ? 1 : 0);
  }

  /** A knex-level key that names `column`, when one can be found. */
  keyFor(column: string): string | undefined {
    return this.keys.get(column) ?? knexKeyFor(this.first.spec, column);
  }

  columnOf(key: string): string {
    return this.first.spec.columnName(key);
  }
}

/**
 * A knex-level key that names `column` for this insert: one it already uses,
 * or the column's name itself or in camelCase (for the usual snake_case
 * mappings in `wrapIdentifier`), whichever the mapping turns into `column`.
 */
export function knexKeyFor(spec: InsertSpec, column: string): string | undefined {
  const candidates = [...(spec.returning ?? []), ...Object.keys(spec.rows[0] ?? {}), column, camelCase(column)];
  return candidates.find((key) => key !== '*' && spec.columnName(key) === column);
}

/**
 * By key where every row has comparable key values and no BEFORE INSERT
 * trigger can change them; else by position, which is safe where no row can
 * be skipped (no ON CONFLICT, a known table) and checked by the row count;
 * else one statement per insert, which is exactly what knex would send.
 */
function chooseMatching(group: Group<FlushItem>, names: ColumnNames): Matching & { perInsert?: boolean } {
  const { spec } = group.inserts[0];
  if (!spec.returning && !spec.conflict) return { by: 'count' };
  const byKey = group.meta?.hasBeforeInsertTrigger ? undefined : keyMatching(group, names);
  if (byKey) return byKey;
  return { by: 'position', perInsert: spec.conflict !== null || !group.meta };
}

/** Matching by key columns, when every sent row has comparable values for them. */
function keyMatching(group: Group<FlushItem>, names: ColumnNames): Matching | undefined {
  const { spec } = group.inserts[0];
  const meta = group.meta;
  if (!meta) return undefined;
  let columns: readonly string[];
  if (spec.conflict?.action === 'merge') {
    columns = spec.conflict.target.map((key) => spec.columnName(key));
    const { updates } = spec.conflict;
    const rewritesKey = updates !== undefined && !Array.isArray(updates)
      && Object.keys(updates).some((key) => columns.includes(spec.columnName(key)));
    if (rewritesKey) return undefined; // a merge that changes the conflict key returns other key values
  } else {
    columns = meta.primaryKey;
    const everyRowHasKey = group.inserts.every(({ insert, spec: s }) =>
      s.rows.every((row, index) => columns.every((column) =>
        (column === meta.generatedKey?.column && insert.ids[index] !== undefined)
        || valueByColumn(row, column, names) != null)));
    if (!everyRowHasKey) return undefined;
  }
  const normalize = columns.map((column) => NORMALIZERS[meta.keyColumnTypes.get(column) ?? '']);
  if (columns.length === 0 || normalize.some((n) => n === undefined)) return undefined;
  const returnsAll = spec.returning?.includes('*') ?? false;
  const returned = new Set((spec.returning ?? []).map((key) => spec.columnName(key)));
  const added = returnsAll ? [] : columns.filter((column) => !returned.has(column));
  if (added.some((column) => names.keyFor(column) === undefined)) return undefined;
  return { by: 'key', columns, normalize, added };
}

function valueByColumn(row: Row, column: string, names: ColumnNames): unknown {
  for (const key of Object.keys(row)) if (names.columnOf(key) === column) return row[key];
  return undefined;
}

/**
 * Cuts the group's rows into statements: at the parameter limit; before a
 * row whose ON CONFLICT DO UPDATE key already occurs in the statement, where
 * one statement would fail with 21000 but separate ones do not (only between
 * inserts: duplicates inside one insert fail in plain knex too); and, where
 * results are matched by position and rows may be skipped, after each insert.
 */
function* chunks(group: Group<FlushItem>, names: ColumnNames, matching: Matching & { perInsert?: boolean }) {
  const { spec } = group.inserts[0];
  const updates = spec.conflict?.action === 'merge' ? spec.conflict.updates : undefined;
  const extraParameters = updates && !Array.isArray(updates) ? Object.keys(updates).length : 0;
  const rowLimit = Math.max(1, Math.floor((MAX_PARAMETERS - extraParameters) / Math.max(1, names.columnCount)));
  const mergeKeys = spec.conflict?.action === 'merge' ? spec.conflict.target.map((key) => names.columnOf(key)) : undefined;

  let chunk: StatementRow[] = [];
  let seenKeys = new Set<string>();
  for (const item of group.inserts) {
    if (matching.perInsert && chunk.length > 0) {
      yield chunk;
      chunk = [];
    }
    const keysOfThisInsert: string[] = [];
    for (let index = 0; index < item.spec.rows.length; index++) {
      const row = item.spec.rows[index];
      const mergeKey = mergeKeys && conflictKey(row, mergeKeys, names);
      if (chunk.length >= rowLimit || (mergeKey !== undefined && seenKeys.has(mergeKey))) {
        yield chunk;
        chunk = [];
        seenKeys = new Set();
      }
      chunk.push({ item, index });
      if (mergeKey !== undefined) keysOfThisInsert.push(mergeKey);
    }
    for (const key of keysOfThisInsert) seenKeys.add(key);
  }
  if (chunk.length > 0) yield chunk;
}

/** The conflict key of a row as text, or undefined when a NULL makes it conflict with nothing. */
function conflictKey(row: Row, columns: readonly string[], names: ColumnNames): string | undefined {
  const values = columns.map((column) => valueByColumn(row, column, names));
  return values.some((value) => value == null) ? undefined : JSON.stringify(values.map(String));
}

function compile(
  group: Group<FlushItem>,
  chunk: StatementRow[],
  names: ColumnNames,
  matching: Matching,
  client: KnexClient,
): Statement {
  const first = group.inserts[0];
  const meta = group.meta;
  const sentRows = chunk.map(({ item, index }) => rowToSend(item, index, names, group));
  const builder = first.insert.builder.clone();
  builder._single.insert = sentRows;
  builder._single.returning = returningFor(first, matching, names);
  const compiled = builder.toSQL();
  let sql = compiled.sql;
  const sendsKeys = names.generatedKey !== undefined && chunk.some(({ item, index }) => item.insert.ids[index] !== undefined);
  if (meta?.generatedKey?.always && sendsKeys) sql = overrideSystemValue(sql, builder, sentRows, client);
  if (compiled.bindings.length > MAX_PARAMETERS) {
    throw new Error(`knex-batch-inserts: a statement for ${first.spec.tableLabel} has ${compiled.bindings.length} parameters`);
  }
  return {
    sql,
    bindings: compiled.bindings,
    rows: chunk,
    sentRows,
    valueOf: (row, column) => valueByColumn(row, column, names),
    matching,
  };
}

/** The row with its pre-allocated key, and arrays bound for json columns as JSON text. */
function rowToSend(item: FlushItem, index: number, names: ColumnNames, group: Group<FlushItem>): Row {
  const row = item.spec.rows[index];
  const id = item.insert.ids[index];
  const jsonColumns = group.meta?.jsonColumns;
  let sent = row;
  if (id !== undefined && names.generatedKey !== undefined) sent = { ...row, [names.generatedKey]: id };
  if (jsonColumns && jsonColumns.size > 0) {
    for (const [key, value] of Object.entries(sent)) {
      if (Array.isArray(value) && jsonColumns.has(names.columnOf(key))) {
        if (sent === row) sent = { ...row };
        sent[key] = JSON.stringify(value);
      }
    }
  }
  return sent;
}

function returningFor(first: FlushItem, matching: Matching, names: ColumnNames): string[] | undefined {
  const returning = [...(first.spec.returning ?? [])];
  if (matching.by === 'key') for (const column of matching.added) returning.push(names.keyFor(column)!);
  return returning.length > 0 ? returning : undefined;
}

/**
 * GENERATED ALWAYS identity columns take explicit values only with
 * OVERRIDING SYSTEM VALUE, which knex cannot write. It goes right after the
 * column list; the prefix up to there is rebuilt with knex's own formatter
 * (knex orders insert columns by sorted name) and must match exactly.
 */
function overrideSystemValue(sql: string, builder: ReturnType<FlushItem['insert']['builder']['clone']>, rows: Row[], client: KnexClient): string {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))].sort();
  const prefix = `insert into ${client.queryCompiler(builder).tableName} (${client.formatter(builder).columnize(columns)})`;
  if (!sql.startsWith(prefix)) throw new Error(`knex-batch-inserts: unexpected insert SQL, cannot add OVERRIDING SYSTEM VALUE: ${sql.slice(0, 200)}`);
  return `${prefix} overriding system value${sql.slice(prefix.length)}`;
}
