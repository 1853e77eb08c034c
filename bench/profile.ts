// npm run bench:profile -- [--rows N] [--max-queued-rows N]
//
// Where knex-batch-inserts spends a large transaction: the benchmark's loop
// (bench/contenders/one-by-one.ts) inside batchTransaction, on a direct
// connection, after warm-up transactions. Prints, for one transaction of N
// parents and N children:
//   - its time, and V8's CPU samples by source file (1 per 200 µs); "(idle)"
//     samples are time the thread had nothing to run: it waited for the server;
//   - for the library and for the COPY floor, medians of 3 such transactions: wall
//     time, this process's CPU time, and the CPU time of the PostgreSQL processes
//     when the server runs on this machine (server-cpu.ts);
//   - bytes allocated per parent and child, for the library and for the COPY floor:
//     heapUsed after minus before, in a process whose young generation is large enough
//     (--max-semi-space-size, set by the npm script) that no collection runs in between.
import { Session } from 'node:inspector/promises';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { copy } from './contenders/copy';
import type { Contender, Session as ContenderSession } from './contenders/contender';
import { knexBatchInsertsWith, maxQueuedRowsOption } from './contenders/knex-batch-inserts';
import { openDatabase } from './database';
import { median, WARM_UP_RUNS } from './runner';
import { isLocal, serverCpuMs } from './server-cpu';
import { buildWorkload, createTables, truncateTables } from './workload';

/** Transactions whose allocations are measured, after the warm-up ones. */
const MEASURED_RUNS = 7;
/** Transactions of N rows whose CPU time is measured, per contender. */
const CPU_RUNS = 3;

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '100000' }, 'max-queued-rows': { type: 'string' } } });
  const n = Number(values.rows);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--rows must be a positive whole number, got ${values.rows}`);
  const maxQueuedRows = maxQueuedRowsOption(values['max-queued-rows']);
  if (typeof maxQueuedRows === 'object') throw new Error(maxQueuedRows.error);
  const knexBatchInserts = knexBatchInsertsWith({ maxQueuedRows });
  if (!globalThis.gc) throw new Error('run with node --expose-gc (npm run bench:profile does)');
  const db = await openDatabase('kbi_profile');
  try {
    await createTables(db.admin, db.schema);
    await withWarmSession(db, knexBatchInserts, async (session) => {
      await truncateTables(db.admin, db.schema);
      const run = session.prepare(buildWorkload(n));
      // no collection forced first: it would throw away the compiled code of the warm-up (see bench/runner.ts, timedRun)
      const { ms, profile } = await profiled(run);
      console.log(`${n.toLocaleString('en-US')} parents + ${n.toLocaleString('en-US')} children: ${ms.toFixed(0)} ms under the profiler\n`);
      console.log('CPU samples by file ((idle): waiting for the server; (program): V8 and Node internals):\n');
      for (const [file, share] of samplesByFile(profile).slice(0, 15)) console.log(`  ${(100 * share).toFixed(1).padStart(5)}%  ${file}`);
    });
    console.log(`\nCPU time of one transaction of ${n.toLocaleString('en-US')} parents and children (median of ${CPU_RUNS}), in ms:\n`);
    const local = isLocal(db.url) && serverCpuMs() !== undefined;
    for (const contender of [knexBatchInserts, copy]) console.log(`  ${contender.name.padEnd(20)} ${await cpuTimes(db, contender, n, local)}`);
    if (!local) console.log('  (the server is not on this machine, or /proc cannot be read: its CPU time is not measured)');
    console.log(`\nBytes allocated per parent and child (1,000 of each; median of ${MEASURED_RUNS} transactions after ${WARM_UP_RUNS} warm-up ones):\n`);
    for (const contender of [knexBatchInserts, copy]) console.log(`  ${contender.name.padEnd(20)} ${await allocatedPerPair(db, contender)}`);
  } finally {
    await db.close();
  }
}

async function onEmptyTables(db: Awaited<ReturnType<typeof openDatabase>>, transaction: () => Promise<void>): Promise<void> {
  await truncateTables(db.admin, db.schema);
  await transaction();
}

async function profiled(run: () => Promise<void>): Promise<{ ms: number; profile: CpuProfile }> {
  const inspector = new Session();
  inspector.connect();
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.setSamplingInterval', { interval: 200 });
  await inspector.post('Profiler.start');
  const started = performance.now();
  await run();
  const ms = performance.now() - started;
  const { profile } = (await inspector.post('Profiler.stop')) as unknown as { profile: CpuProfile };
  inspector.disconnect();
  return { ms, profile };
}

/** Share of samples per source file (the library's dist/ files by name, packages by package), largest first. */
function samplesByFile(profile: CpuProfile): [string, number][] {
  const fileOf = new Map(profile.nodes.map((node) => [node.id, fileName(node.callFrame)]));
  const counts = new Map<string, number>();
  for (const id of profile.samples) counts.set(fileOf.get(id)!, (counts.get(fileOf.get(id)!) ?? 0) + 1);
  return [...counts].map(([file, count]): [string, number] => [file, count / profile.samples.length]).sort((a, b) => b[1] - a[1]);
}

function fileName({ functionName, url }: { functionName: string; url: string }): string {
  if (url === '') return `(${functionName.replace(/[()]/g, '') || 'native'})`;
  const parts = url.replace(/^file:\/\//, '').split(path.sep);
  const modules = parts.lastIndexOf('node_modules');
  if (modules !== -1) return `${parts[modules + 1]} (package)`;
  return parts.slice(-2).join('/');
}

/** Wall time, this process's CPU time and the local server's, medians of CPU_RUNS transactions after warm-up ones. */
async function cpuTimes(db: Awaited<ReturnType<typeof openDatabase>>, contender: Contender, n: number, local: boolean): Promise<string> {
  return withWarmSession(db, contender, async (session) => {
    const [wall, client, server]: number[][] = [[], [], []];
    for (let i = 0; i < CPU_RUNS; i++) {
      await truncateTables(db.admin, db.schema);
      const run = session.prepare(buildWorkload(n));
      const [startedAt, clientBefore, serverBefore] = [performance.now(), process.cpuUsage(), serverCpuMs()];
      await run();
      wall.push(performance.now() - startedAt);
      const used = process.cpuUsage(clientBefore);
      client.push((used.user + used.system) / 1000);
      if (local) server.push(serverCpuMs()! - serverBefore!);
    }
    const ms = (values: number[]) => Math.round(median(values)).toLocaleString('en-US').padStart(6);
    return `wall ${ms(wall)}   this process ${ms(client)}   server ${local ? ms(server) : '     –'}`;
  });
}

/** Runs `use` with a session of `contender` that has run the benchmark's warm-up transactions (1,000 parents each), then closes it. */
async function withWarmSession<T>(db: Awaited<ReturnType<typeof openDatabase>>, contender: Contender, use: (session: ContenderSession) => Promise<T>): Promise<T> {
  const session = await contender.open({ url: db.urlFor(), schema: db.schema });
  try {
    for (let i = 0; i < WARM_UP_RUNS; i++) await onEmptyTables(db, () => session.prepare(buildWorkload(1000))());
    return await use(session);
  } finally {
    await session.close();
  }
}

async function allocatedPerPair(db: Awaited<ReturnType<typeof openDatabase>>, contender: Contender): Promise<string> {
  const session = await contender.open({ url: db.urlFor(), schema: db.schema });
  try {
    const perPair: number[] = [];
    for (let i = 0; i < WARM_UP_RUNS + MEASURED_RUNS; i++) {
      await truncateTables(db.admin, db.schema);
      const run = session.prepare(buildWorkload(1000));
      globalThis.gc!();
      const before = process.memoryUsage().heapUsed;
      await run();
      if (i >= WARM_UP_RUNS) perPair.push((process.memoryUsage().heapUsed - before) / 1000);
    }
    return `${Math.round(median(perPair)).toLocaleString('en-US')} bytes`;
  } finally {
    await session.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
