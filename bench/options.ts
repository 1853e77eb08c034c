// Command-line options of `npm run bench`.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { CONTENDERS } from './contenders';
import { maxQueuedRowsOption } from './contenders/knex-batch-inserts';

export interface BenchOptions {
  rows: number[];
  latencies: number[];
  reps: number;
  /** Parents the one-statement-per-row contender runs when it is sampled. */
  plainSample: number;
  contenders: string[];
  out: string;
  quick: boolean;
  /** Force a full garbage collection before each timed run (see runner.ts, timedRun). */
  fullGc: boolean;
  /** knex-batch-inserts' maxQueuedRows; undefined: the library's default. */
  maxQueuedRows?: number;
}

export const HELP = `Usage: npm run bench -- [options]

Inserts N parents, each with one child, in one transaction, with each
contender (${CONTENDERS.map((c) => c.id).join(', ')}),
at each added latency; reports median time, rows/s, statements, round trips
and time relative to COPY, and writes <out>/latest.md and <out>/latest.svg.

Database: $DATABASE_URL, else an embedded PGlite (not representative).

Options:
  --rows LIST          parents per transaction (default 1000,100000)
  --latency LIST       milliseconds added per round trip through a local TCP
                       proxy; 0 connects directly (default 0,1,10)
  --reps N             timed repetitions per cell, median reported (default 3)
  --plain-sample N     plain knex runs N parents and is extrapolated linearly
                       when N parents < rows and either rows > 2 x N or
                       latency > 0 (default 1000; 200 with --quick)
  --contenders LIST    which contenders to run (default all)
  --quick              about a minute: --rows 1000,10000 --latency 0,10
                       --reps 3 --plain-sample 200 (flags given win)
  --max-queued-rows N  knex-batch-inserts' maxQueuedRows (default: the library's)
  --full-gc            force a full garbage collection before each timed run
                       (needs node --expose-gc, which npm run bench sets).
                       Off by default: see bench/runner.ts, timedRun
  --out DIR            where to write latest.md and latest.svg (default bench/results)
  --help               this text
`;

const QUICK = { rows: '1000,10000', latency: '0,10', reps: '3', 'plain-sample': '200' };
const NORMAL = { rows: '1000,100000', latency: '0,1,10', reps: '3', 'plain-sample': '1000' };

/** The options, or a message saying what is wrong with the command line. */
export function parseOptions(argv: string[]): BenchOptions | { help: true } | { error: string } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        rows: { type: 'string' },
        latency: { type: 'string' },
        reps: { type: 'string' },
        'plain-sample': { type: 'string' },
        contenders: { type: 'string' },
        quick: { type: 'boolean', default: false },
        'full-gc': { type: 'boolean', default: false },
        'max-queued-rows': { type: 'string' },
        out: { type: 'string', default: path.join(__dirname, 'results') },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    return { error: (error as Error).message };
  }
  if (values.help) return { help: true };
  const defaults = values.quick ? QUICK : NORMAL;
  const rows = numberList(values.rows ?? defaults.rows, 1);
  const latencies = numberList(values.latency ?? defaults.latency, 0);
  const reps = Number(values.reps ?? defaults.reps);
  const plainSample = Number(values['plain-sample'] ?? defaults['plain-sample']);
  const contenders = values.contenders?.split(',').map((id) => id.trim()) ?? CONTENDERS.map((c) => c.id);
  const maxQueuedRows = maxQueuedRowsOption(values['max-queued-rows']);
  const unknown = contenders.filter((id) => !CONTENDERS.some((c) => c.id === id));

  if (!rows) return { error: `--rows must be a list of positive whole numbers, got ${values.rows}` };
  if (!latencies) return { error: `--latency must be a list of whole milliseconds, got ${values.latency}` };
  if (!Number.isInteger(reps) || reps < 1) return { error: `--reps must be a positive whole number, got ${values.reps}` };
  if (!Number.isInteger(plainSample) || plainSample < 1) return { error: `--plain-sample must be a positive whole number, got ${values['plain-sample']}` };
  if (typeof maxQueuedRows === 'object') return maxQueuedRows;
  if (unknown.length > 0) return { error: `unknown contender ${unknown.join(', ')}; known: ${CONTENDERS.map((c) => c.id).join(', ')}` };
  return {
    rows: [...new Set(rows)].sort((a, b) => a - b),
    // Lowest latency first: the warm-up runs at the first one.
    latencies: [...new Set(latencies)].sort((a, b) => a - b),
    reps,
    plainSample,
    contenders,
    out: path.resolve(values.out),
    quick: values.quick,
    fullGc: values['full-gc'],
    maxQueuedRows,
  };
}

/** "1000,100000" as numbers, each a whole number >= min; undefined if any is not. */
function numberList(text: string, min: number): number[] | undefined {
  const numbers = text.split(',').map((part) => Number(part.trim()));
  return numbers.every((n) => Number.isInteger(n) && n >= min) && numbers.length > 0 ? numbers : undefined;
}
