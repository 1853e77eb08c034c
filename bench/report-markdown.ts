// The results as a markdown table, and bench/results/latest.md around it.
import type { Environment } from './environment';
import { machine } from './environment';
import type { BenchOptions } from './options';
import { formatDuration, type Measurement, type RunResults, WARM_UP_RUNS } from './runner';

/**
 * One row per cell and contender: median time, rows/s, statements, round
 * trips, time / floor. The latency column also shows the round trip measured
 * through the proxy, which is more than asked at small latencies (timers).
 */
export function markdownTable({ measurements, roundTripMs }: RunResults): string {
  const header = ['N', 'latency (select 1)', 'contender', 'median time', 'rows/s', 'statements', 'round trips', '× COPY'];
  const rows = measurements.map((m) => {
    const floor = measurements.find((f) => f.contender.floor && f.n === m.n && f.latencyMs === m.latencyMs);
    const mark = (text: string, note: string) => (m.extrapolated ? `~${text} (${note})` : text);
    const computed = (value: number) => `${value.toLocaleString('en-US')}${m.extrapolated ? ' (computed)' : ''}`;
    return [
      m.n.toLocaleString('en-US'),
      `${m.latencyMs} ms (${roundTripMs.get(m.latencyMs)?.toFixed(1) ?? '?'})`,
      m.contender.name,
      mark(formatDuration(m.medianMs), 'extrapolated'),
      mark(significant((2 * m.n) / (m.medianMs / 1000)), 'extrapolated'),
      computed(m.statements),
      computed(m.roundTrips),
      floor ? mark(ratio(m.medianMs / floor.medianMs), 'extrapolated') : '–',
    ];
  });
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const align = header.map((_, i) => (i < 3 ? '---' : '---:'));
  return [line(header), line(align), ...rows.map(line)].join('\n');
}

export function markdownReport(env: Environment, options: BenchOptions, results: RunResults): string {
  const sampled = results.measurements.filter((m) => m.extrapolated);
  const latencies = [...results.roundTripMs].map(([latency, ms]) => `${latency} ms → ${ms.toFixed(2)} ms`).join(', ');
  return `# knex-batch-inserts benchmark

- date: ${env.date}
- machine: ${machine(env)}
- Node: ${env.node}
- PostgreSQL: ${env.postgres}
- command: \`${env.command}\`
- knex-batch-inserts maxQueuedRows: ${options.maxQueuedRows?.toLocaleString('en-US') ?? "the library's default"}
${env.embedded ? '\n**Embedded PGlite, not a PostgreSQL server: these figures are not representative.**\n' : ''}
Workload: N parents (\`name\`, \`payload\` jsonb, \`created_at\` default now()) each with one child
(\`parent_id\` of its parent, \`n\`, \`note\`), all in one transaction on empty tables. Time runs from
before BEGIN to after COMMIT; median of ${options.reps} repetitions, contenders alternating within each
repetition, after ${WARM_UP_RUNS} untimed runs of each contender at the smallest N; ${options.fullGc ? 'a full garbage collection forced before each run (--full-gc)' : 'no garbage collection forced between runs (see bench/runner.ts, timedRun)'}. rows/s counts parents and children (2N). Statements are pg \`query\` calls, each COPY
command counted; round trips count a pg-copy-streams COPY as 2 and COPYs sent together in one message
as 1. Latency is what the proxy adds per round trip, half each way; in brackets the
\`select 1\` time measured through it, in ms (the proxy's timers add about a millisecond): ${latencies}.

${markdownTable(results)}

${extrapolationNote(sampled, options)}
`;
}

function extrapolationNote(sampled: Measurement[], options: BenchOptions): string {
  if (sampled.length === 0) return 'No cell is extrapolated: every figure is a full run.';
  const cells = sampled.map((m) => `${m.contender.name} at N=${m.n.toLocaleString('en-US')}, ${m.latencyMs} ms`).join('; ');
  return `Extrapolated (~), as one statement per row would take too long at that size: ${cells}. Each ran a
sample of ${options.plainSample.toLocaleString('en-US')} parents; its median time was scaled linearly to N, and its statements and
round trips are computed as 2N + 2 (the sample sent exactly 2 × sample + 2).`;
}

/** 136,000 for 135,791: three significant digits. */
function significant(value: number): string {
  if (value < 100) return value.toPrecision(2);
  const digits = Math.floor(Math.log10(value)) + 1;
  const unit = 10 ** Math.max(0, digits - 3);
  return (Math.round(value / unit) * unit).toLocaleString('en-US');
}

function ratio(value: number): string {
  if (value < 10) return `${value.toFixed(2)}×`;
  if (value < 100) return `${value.toFixed(1)}×`;
  return `${Math.round(value).toLocaleString('en-US')}×`;
}
