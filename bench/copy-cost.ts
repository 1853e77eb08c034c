// npm run bench:copy-cost -- [--rows N] [--reps R]
//
// What PostgreSQL spends on each COPY statement besides its rows: N rows of
// one table (id, text, jsonb) written in one transaction as 1 COPY, then as
// COPYs of 10,000, 2,500, 1,000, 500 and 100 rows, through pg-copy-streams
// on one connection, the text built beforehand. The difference to one COPY,
// divided by the extra COPYs, is the cost of one (knex-batch-inserts sends
// one COPY per table and flush: src/staged-copies.ts).
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { from as copyFrom } from 'pg-copy-streams';
import { openDatabase } from './database';
import { median } from './runner';

const SIZES = [Infinity, 10_000, 2_500, 1_000, 500, 100];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '100000' }, reps: { type: 'string', default: '5' } } });
  const [n, reps] = [Number(values.rows), Number(values.reps)];
  if (!(Number.isInteger(n) && n > 0 && Number.isInteger(reps) && reps > 0)) throw new Error('--rows and --reps take positive whole numbers');
  const db = await openDatabase('kbi_copy_cost');
  try {
    const table = `${db.schema}.rows`;
    await db.admin.query(`create table ${table} (id bigint primary key, name text, payload jsonb, created_at timestamptz default now())`);
    const lines = Array.from({ length: n }, (_, i) => `${i + 1}\tparent ${i}\t{"i":${i},"tags":["a","b"],"nested":{"x":${i * 2}}}\n`);
    const times = new Map<number, number[]>(SIZES.map((size) => [size, []]));
    for (let rep = 0; rep < reps; rep++) {
      for (const size of SIZES) times.get(size)!.push(await copyInParts(db.admin, table, lines, Math.min(size, n)));
    }
    const base = median(times.get(Infinity)!);
    console.log(`${n.toLocaleString('en-US')} rows, median of ${reps} (${db.version.split(' on ')[0]}):\n`);
    for (const size of SIZES) {
      const copies = Math.ceil(n / Math.min(size, n));
      const ms = median(times.get(size)!);
      const each = copies > 1 ? `, ${((ms - base) / (copies - 1)).toFixed(2)} ms more per COPY` : '';
      console.log(`  ${String(copies).padStart(5)} COPY of ${Math.min(size, n).toLocaleString('en-US').padStart(7)} rows: ${ms.toFixed(0).padStart(5)} ms${each}`);
    }
  } finally {
    await db.close();
  }
}

/** Truncates `table`, then writes `lines` in COPYs of `size` lines in one transaction; the time of the COPYs, in ms. */
async function copyInParts(client: Awaited<ReturnType<typeof openDatabase>>['admin'], table: string, lines: readonly string[], size: number): Promise<number> {
  await client.query(`truncate ${table}`);
  await client.query('begin');
  const started = performance.now();
  for (let start = 0; start < lines.length; start += size) {
    const text = lines.slice(start, start + size).join('');
    await pipeline(Readable.from([text]), client.query(copyFrom(`copy ${table} (id, name, payload) from stdin`)));
  }
  const ms = performance.now() - started;
  await client.query('commit');
  return ms;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
