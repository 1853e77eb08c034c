// Table metadata from the PostgreSQL catalog: primary keys, the sequence that
// feeds a key, foreign keys, json columns, triggers. Loaded one schema at a
// time in one query and cached per knex instance, so only the first
// transaction of a process pays for it.
import type { TableName } from './insert-spec';
import { intArray, textArray } from './sql-literal';

/** A single-column primary key whose values come from a sequence. */
export interface GeneratedKey {
  column: string;
  /** Schema-qualified, quoted sequence name, as `nextval` takes it. */
  sequence: string;
  /** Schema-qualified, quoted type of the key column, for casting allocated ids. */
  type: string;
  /** Its type OID, to parse ids drawn as text as pg parses that column. */
  typeOid: number;
  /** GENERATED ALWAYS AS IDENTITY: explicit values need OVERRIDING SYSTEM VALUE. */
  always: boolean;
}

export interface TableMeta {
  /** Identifies the table within one catalog: see `tableId`. */
  id: string;
  schema: string;
  name: string;
  primaryKey: readonly string[];
  generatedKey?: GeneratedKey;
  jsonColumns: ReadonlySet<string>;
  /** Type name and typmod of the columns that take part in a unique index ("text (nondeterministic)" for such collations). */
  keyColumnTypes: ReadonlyMap<string, readonly [string, number]>;
  /**
   * Columns besides a pre-allocated key that take values from a sequence:
   * their values follow statement order, so the table keeps queue order.
   */
  sequencedColumns: boolean;
  /** Tables this one references through foreign keys checked at the end of each statement. */
  parents: readonly string[];
  /** A BEFORE INSERT row trigger may change or drop rows, so their ids cannot be promised early. */
  hasBeforeInsertTrigger: boolean;
  /**
   * An AFTER INSERT trigger (a foreign key's check, a deferrable unique
   * constraint's recheck, the user's own) may fail a statement after its
   * last row is read: such an error names no row of a COPY.
   */
  checksAfterRows: boolean;
  /** COPY would bypass its rules, refuses row-level security, or the server cannot take it: rows go in as INSERT statements. */
  refusesCopy: boolean;
}

export type RunQuery = (sql: string, bindings: readonly unknown[]) => Promise<{ rows: Row[] }>;
type Row = Record<string, unknown>;

interface RelationRow {
  schema: string;
  name: string;
  kind: string;
  primaryKey: string[] | null;
  generatedKey: GeneratedKey | null;
  jsonColumns: string[] | null;
  keyColumnTypes: Record<string, [string, number]> | null;
  sequencedColumns: boolean;
  parents: string[] | null;
  hasBeforeInsertTrigger: boolean;
  checksAfterRows: boolean;
  refusesCopy: boolean;
}

// One row of JSON, parsed here rather than by pg, so that user type parsers
// (for json, arrays, int8) cannot change what we read. Schemas in `schemas`
// are loaded; with `withSearchPath` also those on the search path. Temporary
// schemas are left out: they belong to one connection, the cache to the whole
// knex instance. `requests` ask for ids at the same time (schema, table, key
// column, count): a transaction's first ids cost no round trip of their own.
// `drawn` is a volatile CTE, so PostgreSQL evaluates it exactly once. Values
// are written into the text (sql-literal.ts), not bound: as a transaction's
// first statement, the query carries its BEGIN (held-begin.ts).
const catalogSql = ({ schemas, withSearchPath, requests }: CatalogQuery) => `
with relations as (
  select c.oid, n.nspname, c.relname, c.relkind,
         -- COPY skips rules and refuses row-level security; PGlite's socket server has no COPY FROM STDIN
         c.relhasrules or c.relrowsecurity or version() like '%PGlite%' as refuses_copy
  from pg_namespace n
  join pg_class c on c.relnamespace = n.oid and c.relkind in ('r', 'p', 'v', 'm', 'f')
  where n.nspname = any(${textArray(schemas)})
     or (${withSearchPath} and n.nspname = any(current_schemas(false)) and n.nspname <> 'pg_catalog')
),
requested as (
  select r.i, r.key_column, r.n,
         to_regclass(case when r.schema is null then quote_ident(r.name) else quote_ident(r.schema) || '.' || quote_ident(r.name) end) as relid
  from unnest(${textArray(requests.map(({ table }) => table.schema ?? null))}, ${textArray(requests.map(({ table }) => table.name))},
              ${textArray(requests.map(({ column }) => column))}, ${intArray(requests.map(({ count }) => count))}) with ordinality r(schema, name, key_column, n, i)
),
keys as (
  select i.indrelid as relid, a.attname as key_column, s.oid as seq,
         quote_ident(sn.nspname) || '.' || quote_ident(s.relname) as sequence,
         quote_ident(tn.nspname) || '.' || quote_ident(t.typname) as type,
         (case when t.typtype = 'd' then t.typbasetype else t.oid end)::int8 as type_oid,
         a.attidentity = 'a' as always
  from pg_index i
  join pg_class c on c.oid = i.indrelid
  join pg_namespace n on n.oid = c.relnamespace
  join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
  join pg_type t on t.oid = a.atttypid
  join pg_namespace tn on tn.oid = t.typnamespace
  join pg_class s on s.oid = case
    when a.attidentity <> '' then
      to_regclass(pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname), a.attname))
    else (
      select d.refobjid
      from pg_attrdef ad
      join pg_depend d on d.classid = 'pg_attrdef'::regclass and d.objid = ad.oid and d.refclassid = 'pg_class'::regclass
      join pg_class ds on ds.oid = d.refobjid and ds.relkind = 'S'
      where ad.adrelid = c.oid and ad.adnum = a.attnum
        and pg_get_expr(ad.adbin, ad.adrelid) ~ '^nextval\\(''[^'']*''::regclass\\)$'
      limit 1)
    end
  join pg_namespace sn on sn.oid = s.relnamespace
  where i.indisprimary and i.indnatts = 1
    and (i.indrelid in (select oid from relations) or i.indrelid in (select relid from requested))
    -- identity columns need no privilege on their sequence to insert; nextval (and reading its room) does
    and case when s.relkind = 'S' then has_sequence_privilege(s.oid, 'USAGE') end -- CASE: never evaluated for other relations
),
insert_triggers as (
  -- enabled INSERT triggers of tables, on themselves or on a partition: their tgtype, and whether PostgreSQL made them
  select r.relid, g.tgtype::int as kind, g.tgisinternal as internal
  from (select oid as relid from relations union select relid from requested) r
  join pg_class c on c.oid = r.relid and c.relkind in ('r', 'p') -- pg_partition_tree refuses views
  cross join lateral (select r.relid as member union select p.relid from pg_partition_tree(r.relid) p) m -- no rows unless partitioned
  join pg_trigger g on g.tgrelid = m.member
  where g.tgenabled <> 'D' and (g.tgtype::int & 4) <> 0
),
triggered as (
  -- tables with a BEFORE INSERT row trigger of the user's
  select relid from insert_triggers where not internal and (kind & 7) = 7
),
drawn as (
  select r.i, array(select nextval(k.seq)::text from generate_series(1, r.n)) as ids
  from requested r
  join keys k on k.relid = r.relid and k.key_column = r.key_column
  where r.relid not in (select relid from triggered)
)
select json_build_object(
  'searchPath', (select coalesce(array_agg(s), '{}') from unnest(current_schemas(true)) s
                 where s <> 'pg_catalog' and s not like 'pg_temp%'),
  'ids', (select coalesce(json_object_agg(i, ids), '{}') from drawn),
  'relations', (select coalesce(json_agg(json_build_object(
    'schema', c.nspname,
    'name', c.relname,
    'kind', c.relkind,
    'primaryKey', (
      select array_agg(a.attname order by k.ord)
      from pg_index i
      cross join unnest(i.indkey) with ordinality k(attnum, ord)
      join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
      where i.indrelid = c.oid and i.indisprimary),
    'generatedKey', (
      select json_build_object('column', k.key_column, 'sequence', k.sequence, 'type', k.type, 'typeOid', k.type_oid, 'always', k.always)
      from keys k where k.relid = c.oid),
    'jsonColumns', (
      select array_agg(a.attname)
      from pg_attribute a
      where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        and a.atttypid in ('json'::regtype, 'jsonb'::regtype)),
    'keyColumnTypes', (
      select json_object_agg(a.attname, json_build_array(
        t.typname || case when coalesce(co.collisdeterministic, true) then '' else ' (nondeterministic)' end,
        a.atttypmod))
      from pg_attribute a
      join pg_type t on t.oid = a.atttypid
      left join pg_collation co on co.oid = a.attcollation
      where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        and exists (select 1 from pg_index u where u.indrelid = c.oid and u.indisunique and a.attnum = any(u.indkey))),
    'sequencedColumns', exists (
      select 1 from pg_attribute a
      left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
      where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        and (a.attidentity <> '' or pg_get_expr(ad.adbin, ad.adrelid) like 'nextval(%')
        and a.attname is distinct from (select k.key_column from keys k where k.relid = c.oid)),
    'parents', (
      select array_agg(distinct pn.nspname || chr(31) || p.relname)
      from pg_constraint f
      join pg_class p on p.oid = f.confrelid
      join pg_namespace pn on pn.oid = p.relnamespace
      where f.conrelid = c.oid and f.contype = 'f' and not f.condeferred),
    'hasBeforeInsertTrigger', c.oid in (select relid from triggered),
    -- an AFTER INSERT trigger, internal ones included (foreign keys, deferrable unique constraints)
    'checksAfterRows', c.oid in (select relid from insert_triggers where (kind & 66) = 0),
    'refusesCopy', c.refuses_copy
  )), '[]') from relations c)
)::text as catalog`;

/** Ids wanted from the sequence of a table's key, asked for with the catalog. */
export interface CatalogIdRequest {
  table: TableName;
  /** The key column the code awaits; ids are drawn only if it is the table's generated key. */
  column: string;
  count: number;
}

interface CatalogQuery {
  schemas: readonly string[];
  withSearchPath: boolean;
  requests: readonly CatalogIdRequest[];
}

/** What the catalog knows of every relation in the schemas it has loaded. */
export class Catalog {
  private searchPath: string[] | undefined;
  /** Every relation of the loaded schemas; null for views and other non-tables. */
  private readonly relations = new Map<string, TableMeta | null>();
  /** Answers of `lookup` since the catalog last changed: readInsert reuses TableName objects, so this is hit per insert. */
  private found = new WeakMap<TableName, TableMeta | undefined>();
  /** Per table id: ids the last transaction used, for the size of the next one's first block (id-allocator.ts). */
  readonly idsLastUsed = new Map<string, number>();

  /** The table's metadata, or undefined when it is not (yet) known to be a table. */
  lookup(table: TableName): TableMeta | undefined {
    if (this.found.has(table)) return this.found.get(table);
    const id = this.resolve(table);
    const meta = id === undefined ? undefined : this.relations.get(id) ?? undefined;
    this.found.set(table, meta);
    return meta;
  }

  /**
   * Loads, in one query, every schema needed to look up these tables, and
   * draws the ids of `requests` on the way (as text, by request index; a
   * request gets none unless its column is the table's generated key and no
   * BEFORE INSERT trigger may change it).
   */
  async load(tables: readonly TableName[], query: RunQuery, requests: readonly CatalogIdRequest[] = []): Promise<string[][]> {
    const schemas = new Set<string>();
    let withSearchPath = this.searchPath === undefined;
    for (const table of new Set(tables)) { // readInsert shares TableName objects: one per table
      if (this.resolve(table) !== undefined) continue;
      if (table.schema !== undefined) schemas.add(table.schema);
      else withSearchPath = true; // not found on the path: maybe created since we looked
    }
    if (schemas.size === 0 && !withSearchPath) return requests.map(() => []);
    const { rows } = await query(catalogSql({ schemas: [...schemas], withSearchPath, requests }), []);
    const catalog = JSON.parse(String(rows[0].catalog)) as { searchPath: string[]; relations: RelationRow[]; ids: Record<string, string[]> };
    this.store(catalog, schemas, withSearchPath);
    return requests.map((_, i) => catalog.ids[String(i + 1)] ?? []);
  }

  /** Drops everything, for when the database no longer matches what was loaded. */
  forget(): void {
    this.searchPath = undefined;
    this.relations.clear();
    this.found = new WeakMap();
  }

  private resolve(table: TableName): string | undefined {
    const candidates = table.schema !== undefined ? [table.schema] : this.searchPath ?? [];
    return candidates.map((schema) => tableId(schema, table.name)).find((id) => this.relations.has(id));
  }

  private store(catalog: { searchPath: string[]; relations: RelationRow[] }, schemas: Set<string>, withSearchPath: boolean) {
    this.found = new WeakMap();
    const reloaded = new Set(schemas);
    if (withSearchPath) {
      this.searchPath = catalog.searchPath;
      for (const schema of catalog.searchPath) reloaded.add(schema);
    }
    for (const id of [...this.relations.keys()]) {
      if (reloaded.has(id.slice(0, id.indexOf(SEPARATOR)))) this.relations.delete(id);
    }
    for (const relation of catalog.relations) {
      const id = tableId(relation.schema, relation.name);
      this.relations.set(id, relation.kind === 'r' || relation.kind === 'p' ? toTableMeta(id, relation) : null);
    }
  }
}

function toTableMeta(id: string, row: RelationRow): TableMeta {
  return {
    id,
    schema: row.schema,
    name: row.name,
    primaryKey: row.primaryKey ?? [],
    generatedKey: row.generatedKey ?? undefined,
    jsonColumns: new Set(row.jsonColumns ?? []),
    keyColumnTypes: new Map(Object.entries(row.keyColumnTypes ?? {})),
    sequencedColumns: row.sequencedColumns,
    parents: row.parents ?? [],
    hasBeforeInsertTrigger: row.hasBeforeInsertTrigger,
    checksAfterRows: row.checksAfterRows,
    refusesCopy: row.refusesCopy,
  };
}

// chr(31), the ASCII unit separator: cannot clash with real schema or table names.
const SEPARATOR = '\u001f';

function tableId(schema: string, name: string): string {
  return schema + SEPARATOR + name;
}

const catalogs = new WeakMap<object, Catalog>();

/** The catalog of a knex instance: its root client and every transaction client share one config object. */
export function catalogFor(config: object): Catalog {
  let catalog = catalogs.get(config);
  if (!catalog) catalogs.set(config, (catalog = new Catalog()));
  return catalog;
}
