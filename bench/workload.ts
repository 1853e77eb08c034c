// The benchmark's workload: N parents, each with one child, in one
// transaction. The tables, the caller's row objects (built before timing) and
// the check that a contender wrote exactly what it was given.
import { isDeepStrictEqual } from 'node:util';
import type { Client } from 'pg';

export interface Payload {
  i: number;
  tags: string[];
  nested: { x: number };
}

/** A parent row as the caller has it: no id yet. */
export interface ParentRow {
  name: string;
  payload: Payload;
}

/** A child row as the caller has it: its parent_id is known only once parent i is inserted. */
export interface ChildRow {
  n: number;
  note: string;
}

export interface Workload {
  /** How many parents, and as many children. */
  n: number;
  parents: ParentRow[];
  /** children[i] belongs to parents[i]. */
  children: ChildRow[];
}

export const parentRow = (i: number): ParentRow => ({ name: `parent ${i}`, payload: { i, tags: ['a', 'b'], nested: { x: i * 2 } } });
export const childRow = (i: number): ChildRow => ({ n: i, note: `child of ${i}` });

/** Fresh row objects for every run, so no contender sees objects another one touched. */
export function buildWorkload(n: number): Workload {
  const parents = new Array<ParentRow>(n);
  const children = new Array<ChildRow>(n);
  for (let i = 0; i < n; i++) {
    parents[i] = parentRow(i);
    children[i] = childRow(i);
  }
  return { n, parents, children };
}

export async function createTables(admin: Client, schema: string): Promise<void> {
  await admin.query(`create table ${schema}.parents (
    id bigserial primary key,
    name text not null,
    created_at timestamptz not null default now(),
    payload jsonb
  )`);
  await admin.query(`create table ${schema}.children (
    id bigserial primary key,
    parent_id bigint not null references ${schema}.parents,
    n int not null,
    note text
  )`);
}

/** Empties both tables between runs. The tables stay: the library caches their metadata per knex instance. */
export async function truncateTables(admin: Client, schema: string): Promise<void> {
  await admin.query(`truncate ${schema}.parents, ${schema}.children restart identity`);
}

/**
 * Throws unless the tables hold exactly `n` parents and `n` children, child i
 * attached to the parent named `parent i`, with the right note, and the
 * payloads of a sample of parents equal to what the caller gave.
 */
export async function checkData(admin: Client, schema: string, n: number, contender: string): Promise<void> {
  const problems = [...(await checkCounts(admin, schema, n)), ...(await checkSample(admin, schema, n))];
  if (problems.length > 0) {
    throw new Error(`data check failed for ${contender} (N=${n}):\n  ${problems.join('\n  ')}`);
  }
}

async function checkCounts(admin: Client, schema: string, n: number): Promise<string[]> {
  // Children with distinct n in [0, N), each joined to the parent of the same
  // number, make N pairs exactly when every child i is attached to parent i.
  const { rows } = await admin.query<Record<string, number>>(
    `select
       (select count(*) from ${schema}.parents)::int as parents,
       (select count(distinct name) from ${schema}.parents)::int as "distinct parent names",
       (select count(*) from ${schema}.children)::int as children,
       (select count(distinct n) from ${schema}.children where n >= 0 and n < $1)::int as "distinct child n in range",
       (select count(*) from ${schema}.children c join ${schema}.parents p on p.id = c.parent_id
         where p.name = 'parent ' || c.n)::int as "children whose parent is parent n",
       (select count(*) from ${schema}.children where note = 'child of ' || n)::int as "children with the right note"`,
    [n],
  );
  return Object.entries(rows[0])
    .filter(([, found]) => found !== n)
    .map(([what, found]) => `${what}: ${found}, expected ${n}`);
}

/** Compares the payload of a few parents (first, last, middle, some spread out) with the caller's objects. */
async function checkSample(admin: Client, schema: string, n: number): Promise<string[]> {
  const sample = [...new Set([0, 1, Math.floor(n / 2), n - 1, ...[0.1, 0.3, 0.7, 0.9].map((f) => Math.floor(n * f))])].filter((i) => i >= 0 && i < n);
  const { rows } = await admin.query<{ name: string; payload: unknown }>(`select name, payload from ${schema}.parents where name = any($1::text[])`, [
    sample.map((i) => parentRow(i).name),
  ]);
  const found = new Map(rows.map((row) => [row.name, row.payload]));
  const problems: string[] = [];
  for (const i of sample) {
    const expected = parentRow(i);
    const payload = found.get(expected.name);
    if (!isDeepStrictEqual(payload, expected.payload)) {
      problems.push(`payload of ${expected.name}: ${JSON.stringify(payload)}, expected ${JSON.stringify(expected.payload)}`);
    }
  }
  return problems;
}
