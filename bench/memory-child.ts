// One memory measurement in a fresh process, started by memory.ts:
//   node --expose-gc --import tsx bench/memory-child.ts <contender> <parents> <url> <schema> [maxQueuedRows]
// Baseline RSS, the caller's rows, then one transaction that inserts them;
// prints the figures as one line of JSON on stdout.
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { copy } from './contenders/copy';
import type { Contender } from './contenders/contender';
import { knexBatchInsertsWith } from './contenders/knex-batch-inserts';
import { Client } from 'pg';
import { buildWorkload, truncateTables } from './workload';

export interface MemoryFigures {
  contender: string;
  parents: number;
  /** RSS after gc, before the rows exist. */
  baselineBytes: number;
  /** RSS after gc with the rows built, minus the baseline. */
  rowsBytes: number;
  /** Highest RSS sampled every 10 ms during the whole process, minus the baseline. */
  peakSampledBytes: number;
  /** The kernel's peak RSS of this process at the end (see highWaterRss), minus the baseline. */
  peakMaxRssBytes: number;
  ms: number;
}

/**
 * Samples RSS every 10 ms in a worker thread: RSS is the whole process's, and
 * the worker keeps sampling while the main thread is busy with synchronous work.
 * The highest value (KB) is kept in shared memory.
 */
function startSampler(): { peakBytes(): number; stop(): Promise<number> } {
  const peakKb = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     const peak = workerData;
     const sample = () => { const kb = Math.ceil(process.memoryUsage.rss() / 1024); if (kb > Atomics.load(peak, 0)) Atomics.store(peak, 0, kb); };
     sample();
     setInterval(sample, 10);`,
    { eval: true, workerData: peakKb },
  );
  return {
    peakBytes: () => Atomics.load(peakKb, 0) * 1024,
    stop: () => worker.terminate(),
  };
}

/**
 * The kernel's peak RSS: process.resourceUsage().maxRSS, except on Linux,
 * where that survives execve and so starts at the RSS of the parent that
 * spawned this process (hundreds of MB when the parent hosts PGlite). There
 * /proc/self/status's VmHWM is the same peak for this process's own memory.
 */
function highWaterRss(): number {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb) return Number(kb) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

function rssAfterGc(): number {
  globalThis.gc!();
  globalThis.gc!();
  return process.memoryUsage.rss();
}

async function measure(contender: Contender, parents: number, url: string, schema: string): Promise<MemoryFigures> {
  if (!globalThis.gc) throw new Error('run with node --expose-gc');
  const sampler = startSampler();
  // Connect and run a tiny transaction first, so code loading, the connection
  // and the library's table metadata are in the baseline, not in the figures.
  const session = await contender.open({ url, schema });
  await session.prepare(buildWorkload(1))();
  const admin = new Client({ connectionString: url });
  await admin.connect();
  await truncateTables(admin, schema);
  await admin.end();

  const baselineBytes = rssAfterGc();
  // The caller's rows stay alive for the whole transaction, as in an application.
  const work = buildWorkload(parents);
  const rowsBytes = rssAfterGc() - baselineBytes;
  const started = performance.now();
  await session.prepare(work)();
  const ms = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 30)); // one more sample after the end
  await session.close();
  await sampler.stop();
  return {
    contender: contender.name,
    parents,
    baselineBytes,
    rowsBytes,
    peakSampledBytes: sampler.peakBytes() - baselineBytes,
    peakMaxRssBytes: highWaterRss() - baselineBytes,
    ms,
  };
}

async function main(): Promise<void> {
  const [id, parents, url, schema, maxQueuedRows] = process.argv.slice(2);
  const contenders: Record<string, Contender> = {
    'knex-batch-inserts': knexBatchInsertsWith(maxQueuedRows ? { maxQueuedRows: Number(maxQueuedRows) } : undefined),
    copy,
  };
  const contender = contenders[id];
  if (!contender) throw new Error(`unknown contender ${id}`);
  const figures = await measure(contender, Number(parents), url, schema);
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1); // at once: the sampler's worker thread, still running after a failure, would keep the process (and bench:memory) waiting
});
