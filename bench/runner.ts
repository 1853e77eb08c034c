// The schedule: for each latency, open every contender's connection (through
// the proxy), warm them up, then for each N run the repetitions, contenders
// alternating within each repetition, and reduce each cell to medians.
import type { Contender, Session } from './contenders/contender';
import type { Database } from './database';
import { type Link, measureRoundTripMs, openLink } from './latency';
import type { BenchOptions } from './options';
import { startCounting, stopCounting } from '../demo/statement-counter';
import { buildWorkload, checkData, truncateTables } from './workload';

/** One contender in one cell (N, latency), over all repetitions. */
export interface Measurement {
  contender: Contender;
  n: number;
  latencyMs: number;
  /** Parents actually inserted per run: N, or the sample for an extrapolated cell. */
  ranN: number;
  /** Each repetition's time, in ms, for ranN parents. */
  times: number[];
  /** Median time for N parents: measured, or scaled linearly from the sample. */
  medianMs: number;
  statements: number;
  roundTrips: number;
  extrapolated: boolean;
}

export interface RunResults {
  measurements: Measurement[];
  /** Median `select 1` time measured at each latency: what the proxy really adds. */
  roundTripMs: Map<number, number>;
}

interface RunOutcome {
  ms: number;
  statements: number;
  roundTrips: number;
}

/** Parents a contender inserts in a cell: a one-per-row contender runs a sample where the full run would take long. */
export function runSize(contender: Contender, n: number, latencyMs: number, sample: number): number {
  if (!contender.onePerRow || n <= sample) return n;
  return latencyMs > 0 || n > 2 * sample ? sample : n;
}

export async function runBenchmark(db: Database, options: BenchOptions, contenders: readonly Contender[]): Promise<RunResults> {
  const progress = progressCounter(options.latencies.length * options.rows.length * options.reps * contenders.length);
  const measurements: Measurement[] = [];
  const roundTripMs = new Map<number, number>();
  for (const [index, latencyMs] of options.latencies.entries()) {
    const link = await openLink(db.url, latencyMs);
    try {
      const url = db.urlFor(link.port);
      roundTripMs.set(latencyMs, await measureRoundTripMs(url));
      process.stderr.write(`latency ${latencyMs} ms: select 1 takes ${roundTripMs.get(latencyMs)!.toFixed(2)} ms\n`);
      measurements.push(...(await runLatency(db, options, contenders, link, url, index === 0, progress)));
    } finally {
      await link.close();
    }
  }
  return { measurements, roundTripMs };
}

async function runLatency(
  db: Database,
  options: BenchOptions,
  contenders: readonly Contender[],
  link: Link,
  url: string,
  first: boolean,
  progress: Progress,
): Promise<Measurement[]> {
  const sessions: Session[] = [];
  try {
    for (const contender of contenders) sessions.push(await contender.open({ url, schema: db.schema }));
    await warmUp(db, options, contenders, sessions, link.latencyMs, first);
    const measurements: Measurement[] = [];
    for (const n of options.rows) measurements.push(...(await runCell(db, options, contenders, sessions, n, link.latencyMs, progress)));
    return measurements;
  } finally {
    for (const session of sessions) await session.close().catch(() => undefined);
  }
}

/** One cell (N, latency): the repetitions, every contender once in each, then each contender's medians. */
async function runCell(
  db: Database,
  options: BenchOptions,
  contenders: readonly Contender[],
  sessions: Session[],
  n: number,
  latencyMs: number,
  progress: Progress,
): Promise<Measurement[]> {
  const sizes = contenders.map((contender) => runSize(contender, n, latencyMs, options.plainSample));
  const outcomes = contenders.map(() => [] as RunOutcome[]);
  for (let rep = 0; rep < options.reps; rep++) {
    // Rotate the order each repetition, so no contender always follows the same one.
    for (let k = 0; k < contenders.length; k++) {
      const c = (rep + k) % contenders.length;
      const sample = sizes[c] < n ? ` (sample of ${sizes[c]}, extrapolated)` : '';
      progress.start(`N=${n} latency=${latencyMs} ms ${contenders[c].name} rep ${rep + 1}/${options.reps}${sample}`);
      const outcome = await timedRun(db, contenders[c], sessions[c], sizes[c], options.fullGc);
      progress.done(formatDuration(outcome.ms));
      outcomes[c].push(outcome);
    }
  }
  return contenders.map((contender, c) => summarize(contender, n, latencyMs, sizes[c], outcomes[c]));
}

/** Untimed runs of each contender at the first latency: V8 compiles a library's hot code after a few transactions, not one. */
export const WARM_UP_RUNS = 5;

/**
 * Untimed runs before measuring. At the first latency: each contender
 * WARM_UP_RUNS times at the smallest N (what it would run there), so that
 * every cell measures compiled code, as in a process that has been running
 * for a while; a one-per-row contender behind added latency runs only 100
 * parents, which warm it as well in a fraction of the time. At later
 * latencies the code is warm: 10 parents each open the new connections
 * through the proxy and fill per-instance caches (knex's server version, the
 * library's table metadata) outside the timing.
 */
async function warmUp(db: Database, options: BenchOptions, contenders: readonly Contender[], sessions: Session[], latencyMs: number, first: boolean): Promise<void> {
  for (const [c, contender] of contenders.entries()) {
    const size = runSize(contender, options.rows[0], latencyMs, options.plainSample);
    const n = !first ? Math.min(10, size) : contender.onePerRow && latencyMs > 0 ? Math.min(100, size) : size;
    const runs = first ? WARM_UP_RUNS : 1;
    process.stderr.write(`warm-up: ${contender.name}, ${n} parents, latency ${latencyMs} ms${runs > 1 ? `, ${runs} times` : ''}\n`);
    for (let run = 0; run < runs; run++) await timedRun(db, contender, sessions[c], n, options.fullGc);
  }
}

/**
 * One transaction of `n` parents and children on empty tables, timed from
 * before BEGIN to after COMMIT, then checked.
 *
 * No full garbage collection is forced before it unless --full-gc: a forced
 * collection reduces memory, dropping V8's maps of objects that no longer
 * exist, and code compiled for them is thrown away. A library whose per-insert
 * objects all die with the transaction then runs every repetition in freshly
 * deoptimized code, which a process that is not forced to collect sees only
 * after an idle-time collection (knex-batch-inserts at 1,000 parents: 68 ms
 * with it and 33 ms without, the other contenders within 10%, until
 * src/shape-keeper.ts kept one object of each such map alive: 26 against 19 ms).
 * Without it, each run pays the garbage collections its allocations cause,
 * some of them of garbage an earlier run left, which the rotating order
 * spreads over the contenders.
 */
async function timedRun(db: Database, contender: Contender, session: Session, n: number, fullGc: boolean): Promise<RunOutcome> {
  await truncateTables(db.admin, db.schema);
  const transaction = session.prepare(buildWorkload(n));
  if (fullGc) globalThis.gc?.();
  startCounting();
  const started = performance.now();
  let ms: number;
  let count;
  try {
    await transaction();
  } finally {
    ms = performance.now() - started;
    count = stopCounting();
  }
  await checkData(db.admin, db.schema, n, contender.name);
  return { ms, ...count };
}

/** Medians of a cell's repetitions; a sampled cell is scaled linearly to N. */
function summarize(contender: Contender, n: number, latencyMs: number, ranN: number, outcomes: RunOutcome[]): Measurement {
  const times = outcomes.map((o) => o.ms);
  const statements = median(outcomes.map((o) => o.statements));
  const roundTrips = median(outcomes.map((o) => o.roundTrips));
  const base = { contender, n, latencyMs, ranN, times };
  if (ranN === n) return { ...base, medianMs: median(times), statements, roundTrips, extrapolated: false };
  // The sample must have sent what one INSERT per row means, BEGIN and COMMIT included,
  // or scaling its count to N would be wrong.
  if (statements !== 2 * ranN + 2 || roundTrips !== statements) {
    throw new Error(`${contender.name} sent ${statements} statements (${roundTrips} round trips) for ${ranN} parents, expected ${2 * ranN + 2}: cannot extrapolate`);
  }
  return { ...base, medianMs: (median(times) * n) / ranN, statements: 2 * n + 2, roundTrips: 2 * n + 2, extrapolated: true };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function formatDuration(ms: number): string {
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  if (ms < 100_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.round(ms / 1000).toLocaleString('en-US')} s`;
}

interface Progress {
  start(label: string): void;
  done(result: string): void;
}

/** `[12/108] N=100000 latency=10 ms knex-batch-inserts rep 2/3 ... 1.23 s` on stderr, one line per timed run. */
function progressCounter(total: number): Progress {
  let current = 0;
  return {
    start(label) {
      current += 1;
      process.stderr.write(`[${current}/${total}] ${label} ... `);
    },
    done(result) {
      process.stderr.write(`${result}\n`);
    },
  };
}
