// Reads a knex insert builder into a plain description of what it inserts,
// decides whether it can join a batch, and refuses input that cannot work.
import { BatchInsertError, type Origin } from './errors';
import { databaseName, isSqlFragment, type KnexClient, type QueryBuilderInternals, type Row } from './knex-internals';
import { keepSentinel } from './shape-keeper';

/** A table as PostgreSQL names it (after the user's `wrapIdentifier`). */
export interface TableName {
  schema?: string;
  name: string;
}

/** `.onConflict(...).ignore()` or `.onConflict(...).merge(...)`, with knex-level column names. */
export type Conflict =
  | { action: 'ignore'; target: readonly string[] | null }
  | { action: 'merge'; target: readonly string[]; updates: readonly string[] | Row | undefined };

/** What inserts of one kind share: everything the flush needs from a builder but its rows. */
export interface InsertKind {
  table: TableName;
  /** The table as knex would write it, for messages. */
  tableLabel: string;
  /** `.returning(...)` as given (knex-level names, or `*`), null when absent. */
  returning: readonly string[] | null;
  conflict: Conflict | null;
  /** Inserts with equal keys can share a statement: table, returning, conflict and query context agree. */
  groupKey: string;
  queryContext: unknown;
  /** knex-level key -> PostgreSQL column name. */
  columnName(key: string): string;
}

/**
 * Everything about one queued insert that the flush needs, read from its
 * builder: its rows, and its kind, which a loop's inserts share. Two fields,
 * not a copy of the kind's seven: a queue holds one per insert until its
 * flush is answered, long enough for V8 to move it to the old generation,
 * which grows by what is moved there (see the README's memory figures).
 */
export class InsertSpec implements InsertKind {
  constructor(
    private readonly kind: InsertKind,
    readonly rows: readonly Row[],
  ) {}

  get table(): TableName {
    return this.kind.table;
  }

  get tableLabel(): string {
    return this.kind.tableLabel;
  }

  get returning(): readonly string[] | null {
    return this.kind.returning;
  }

  get conflict(): Conflict | null {
    return this.kind.conflict;
  }

  get groupKey(): string {
    return this.kind.groupKey;
  }

  get queryContext(): unknown {
    return this.kind.queryContext;
  }

  columnName(key: string): string {
    return this.kind.columnName(key);
  }
}

keepSentinel(new InsertSpec({} as InsertKind, [])); // kept alive for its map (see shape-keeper.ts)

/** Why an insert cannot join a batch: it runs on its own, in its place in the queue, as knex writes it. */
export class NotBatchable {
  constructor(readonly reason: string) {}
}

/**
 * Refuses values no insert can use, when `.insert()` is called: nothing to
 * insert, an empty array, a row that is not an object, or a column holding a
 * function or symbol. Anything else is left for knex and PostgreSQL to judge.
 */
export function checkInsertValues(values: unknown, origin: Origin): void {
  if (typeof values === 'function' || isSqlFragment(values)) return; // insert ... select: runs in place
  if (values == null) refuse(origin, `it has no values (got ${values})`);
  const many = Array.isArray(values);
  if (many && values.length === 0) refuse(origin, 'it inserts an empty array');
  const count = many ? values.length : 1;
  for (let index = 0; index < count; index++) {
    const row: unknown = many ? values[index] : values;
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      refuse(origin, `${rowLabel(many, index)} is ${Array.isArray(row) ? 'an array' : String(row)}, not an object`);
    }
    for (const column in row as Row) {
      const value = (row as Row)[column];
      if (typeof value === 'function' || typeof value === 'symbol') {
        refuse(origin, `${rowLabel(many, index)} has a ${typeof value} as the value of column "${column}"`);
      }
    }
  }
}

const rowLabel = (many: boolean, index: number): string => (many ? `row ${index}` : 'the row');

function refuse(origin: Origin, what: string): never {
  throw new BatchInsertError(`knex-batch-inserts: cannot queue this insert: ${what}`, { origin });
}

/**
 * Reads a builder whose `.insert()` has been called. Inserts that one
 * multi-row statement could not reproduce exactly are reported as not
 * batchable; they run on their own, in their place in the queue.
 */
export function readInsert(builder: QueryBuilderInternals, origin: Origin, { copyRows = false } = {}): InsertSpec | NotBatchable {
  const single = builder._single;
  if (builder._method !== 'insert') return notBatchable('not an insert');
  if (single.table == null || single.table === '') {
    throw new BatchInsertError(
      "knex-batch-inserts: cannot queue this insert: it names no table (use trx('table').insert(...) or .into('table'))",
      { origin },
    );
  }
  if (typeof single.table !== 'string') return notBatchable('its table is a subquery or raw');
  if (builder._statements.length > 0 || builder._comments.length > 0) return notBatchable('it has with/where/comment clauses');
  if (builder._timeout !== undefined || builder._connection !== undefined || builder._options?.length) {
    return notBatchable('it has its own timeout, connection or driver options');
  }

  const kind = insertKind(builder);
  if (kind instanceof NotBatchable) return kind;

  const values = single.insert;
  if (typeof values === 'function' || isSqlFragment(values)) return notBatchable('it inserts from a subquery or raw');
  if (Array.isArray(values) ? values.some(hasSqlFragment) : hasSqlFragment(values as Row)) return notBatchable('a value is raw SQL or a subquery');
  const rows = Array.isArray(values) ? (copyRows ? values.map(copyRow) : (values as Row[])) : [copyRows ? copyRow(values as Row) : (values as Row)];

  const { table, returning, conflict, queryContext } = kind;
  const columns = ownColumnSet(builder.client, conflict, rows);
  if (columns === null) return new InsertSpec(kind, rows);
  return new InsertSpec({ ...kind, groupKey: groupKeyOf(table, returning, conflict, queryContext, columns) }, rows);
}

/**
 * Kinds of plain inserts (no onConflict, no query context, returning one
 * column or none), by knex config, table as written and returning: a loop
 * reads the same few kinds thousands of times.
 */
const plainKinds = new WeakMap<object, Map<string, Map<string | undefined, InsertKind | NotBatchable>>>();

function insertKind(builder: QueryBuilderInternals): InsertKind | NotBatchable {
  const single = builder._single;
  const plain = single.onConflict === undefined && builder.queryContext() === undefined
    && (single.returning === undefined || typeof single.returning === 'string') && (single.schema === undefined || typeof single.schema === 'string');
  if (!plain) return readKind(builder);
  let byTable = plainKinds.get(builder.client.config);
  if (!byTable) plainKinds.set(builder.client.config, (byTable = new Map()));
  const written = single.schema === undefined ? (single.table as string) : `${single.schema}\u001f${single.table as string}`;
  let byReturning = byTable.get(written);
  if (!byReturning) byTable.set(written, (byReturning = new Map()));
  const returning = single.returning as string | undefined;
  let kind = byReturning.get(returning);
  if (!kind) byReturning.set(returning, (kind = readKind(builder)));
  return kind;
}

function readKind(builder: QueryBuilderInternals): InsertKind | NotBatchable {
  const single = builder._single;
  const queryContext = builder.queryContext();
  const client = builder.client;
  const table = tableName(client, single.table as string, single.schema, queryContext);
  if (!table) return notBatchable('its table name is not a plain [schema.]table');
  const returning = columnList(single.returning);
  if (returning === undefined) return notBatchable('its returning() is raw');
  const conflict = conflictClause(single);
  if (conflict === undefined) return notBatchable('its onConflict() is raw or has no target for merge');
  return {
    table,
    tableLabel: single.schema ? `${String(single.schema)}.${single.table as string}` : (single.table as string),
    returning,
    conflict,
    queryContext,
    groupKey: groupKeyOf(table, returning, conflict, queryContext, null),
    columnName: columnNamer(client, queryContext),
  };
}

/** The spec, if the insert can join a batch. */
export function batchableSpec(read: InsertSpec | NotBatchable): InsertSpec | undefined {
  return read instanceof NotBatchable ? undefined : read;
}

function notBatchable(reason: string): NotBatchable {
  return new NotBatchable(reason);
}

const copyRow = (row: Row): Row => ({ ...row });

function hasSqlFragment(row: Row): boolean {
  for (const key in row) if (isSqlFragment(row[key])) return true;
  return false;
}

/** Inserts with equal keys can share a statement: table, returning, conflict clause, query context (by identity) and, where it matters, column set agree. */
function groupKeyOf(table: TableName, returning: readonly string[] | null, conflict: Conflict | null, queryContext: unknown, columns: string[] | null): string {
  return JSON.stringify([table.schema, table.name, returning, conflict, contextId(queryContext), columns]);
}

/** TableName objects by namer and `schema.table` as written: one object per table, which the catalog's lookups memoise on. */
const tableNames = new WeakMap<Namer, Map<string, TableName | undefined>>();

function tableName(client: KnexClient, table: string, schema: unknown, queryContext: unknown): TableName | undefined {
  const namer = columnNamer(client, queryContext);
  let names = tableNames.get(namer);
  if (!names) tableNames.set(namer, (names = new Map()));
  const written = typeof schema === 'string' ? `${schema}\u001f${table}` : schema == null ? table : undefined;
  if (written === undefined) return undefined;
  if (!names.has(written)) names.set(written, readTableName(client, table, schema, queryContext));
  return names.get(written);
}

function readTableName(client: KnexClient, table: string, schema: unknown, queryContext: unknown): TableName | undefined {
  if (/\sas\s/i.test(table)) return undefined;
  const parts = table.split('.');
  if (typeof schema === 'string' && schema !== '') parts.unshift(schema);
  else if (schema != null) return undefined;
  if (parts.length > 2) return undefined;
  const names = parts.map((part) => databaseName(client.config, part.trim(), queryContext));
  return names.length === 2 ? { schema: names[0], name: names[1] } : { name: names[0] };
}

/** The value a row gives a column (by PostgreSQL name), whichever knex-level key names it; undefined means DEFAULT. */
export function columnValue(spec: InsertSpec, row: Row, column: string): unknown {
  for (const key in row) if (row[key] !== undefined && spec.columnName(key) === column) return row[key];
  return undefined;
}

/**
 * The column a `.returning()` entry comes back as, by PostgreSQL name: `*`
 * for all columns (`*`, `t.*`), undefined for an alias (`a as b`).
 */
export function returnedColumn(spec: InsertSpec, entry: string): string | undefined {
  if (/\sas\s/i.test(entry)) return undefined;
  const name = entry.slice(entry.lastIndexOf('.') + 1);
  return name === '*' ? '*' : spec.columnName(name);
}

/**
 * The insert's own column set, where inserts naming different columns must
 * not share a statement. `.merge()` without arguments updates every column
 * the insert names: a column one of them leaves out would be set to its
 * default on conflict. With knex's `useNullAsDefault`, a column left out
 * would be NULL instead of its default.
 */
function ownColumnSet(client: KnexClient, conflict: Conflict | null, rows: readonly Row[]): string[] | null {
  const mergesAll = conflict?.action === 'merge' && conflict.updates === undefined;
  if (!mergesAll && !client.config.useNullAsDefault) return null;
  return [...new Set(rows.flatMap((row) => Object.keys(row)))].sort();
}

/** null when absent, undefined when not a list of plain column names. */
function columnList(value: unknown): readonly string[] | null | undefined {
  if (value == null) return null;
  const list = Array.isArray(value) ? value : [value];
  return list.every((item) => typeof item === 'string') ? (list as string[]) : undefined;
}

/** null when absent, undefined when it cannot be batched. */
function conflictClause(single: QueryBuilderInternals['_single']): Conflict | null | undefined {
  if (single.onConflict === undefined) return null;
  const target = single.onConflict === true ? null : columnList(single.onConflict);
  if (target === undefined) return undefined;
  if (single.ignore) return { action: 'ignore', target };
  const updates = single.merge?.updates;
  if (target === null || !single.merge) return undefined;
  if (updates === undefined) return { action: 'merge', target, updates };
  if (Array.isArray(updates)) return updates.every((u) => typeof u === 'string') ? { action: 'merge', target, updates } : undefined;
  if (typeof updates === 'object' && updates !== null && !Object.values(updates).some(isSqlFragment)) {
    return { action: 'merge', target, updates: updates as Row };
  }
  return undefined;
}

const contextIds = new WeakMap<object, number>();
let lastContextId = 0;

/** Query contexts are compared by identity: builders sharing one may share a statement. */
function contextId(queryContext: unknown): unknown {
  if (queryContext === null || typeof queryContext !== 'object') return queryContext ?? null;
  let id = contextIds.get(queryContext);
  if (id === undefined) contextIds.set(queryContext, (id = ++lastContextId));
  return `#${id}`;
}

type Namer = (key: string) => string;

/** Memoised namers: per query-context object (weakly), or per knex config for contexts that are not objects. */
const namersByContext = new WeakMap<object, Namer>();
const namersByConfig = new WeakMap<object, Map<unknown, Namer>>();

/** A memoised knex-level -> PostgreSQL column name mapping for a knex config and query context. */
function columnNamer(client: KnexClient, queryContext: unknown): Namer {
  const isObject = queryContext !== null && typeof queryContext === 'object';
  let byPrimitive = isObject ? undefined : namersByConfig.get(client.config);
  if (!isObject && !byPrimitive) namersByConfig.set(client.config, (byPrimitive = new Map()));
  let namer = isObject ? namersByContext.get(queryContext) : byPrimitive!.get(queryContext);
  if (!namer) {
    const names = new Map<string, string>();
    const { config } = client; // the memo outlives this client's transaction: keep only what all of them share
    namer = (key) => {
      let name = names.get(key);
      if (name === undefined) names.set(key, (name = databaseName(config, key, queryContext)));
      return name;
    };
    if (isObject) namersByContext.set(queryContext, namer);
    else byPrimitive!.set(queryContext, namer);
  }
  return namer;
}
