// npm run bench:memory -- [--rows 1000000] [--max-queued-rows N] [--out DIR] [--help]
//
// How much memory knex-batch-inserts needs beyond the caller's own rows: in a
// fresh process per contender (memory-child.ts), RSS before and after building
// the rows, then the peak while inserting them all in one transaction. The
// COPY floor is measured the same way for reference.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { maxQueuedRowsOption } from './contenders/knex-batch-inserts';
import { type Database, openDatabase } from './database';
import { describeEnvironment, machine, shortPostgres } from './environment';
import type { MemoryFigures } from './memory-child';
import { checkData, createTables, truncateTables } from './workload';

const HELP = `Usage: npm run bench:memory -- [options]

Inserts --rows rows (half parents, half children: 1,000,000 rows are 500,000
parents and 500,000 children) in one transaction, in a fresh process per
contender, and reports the peak RSS above the baseline against the memory
the rows themselves take. Writes <out>/memory.md.

Options:
  --rows N              rows in total, parents + children (default 1000000)
  --max-queued-rows N   knex-batch-inserts' maxQueuedRows (default: the library's)
  --contenders LIST     knex-batch-inserts, copy or both (default both; copy
                        is skipped on PGlite)
  --out DIR             where to write memory.md (default bench/results)
  --help                this text
`;

interface MemoryOptions {
  rows: number;
  maxQueuedRows?: number;
  contenders: string[];
  out: string;
}

function parseOptions(): MemoryOptions | string {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      'max-queued-rows': { type: 'string' },
      contenders: { type: 'string', default: 'knex-batch-inserts,copy' },
      out: { type: 'string', default: path.join(__dirname, 'results') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return HELP;
  const rows = Number(values.rows);
  const maxQueuedRows = maxQueuedRowsOption(values['max-queued-rows']);
  if (!Number.isInteger(rows) || rows < 2 || rows % 2 !== 0) return `--rows must be an even whole number >= 2, got ${values.rows}\n\n${HELP}`;
  const contenders = values.contenders.split(',').map((id) => id.trim());
  if (typeof maxQueuedRows === 'object') return `${maxQueuedRows.error}\n\n${HELP}`;
  if (!contenders.every((id) => id === 'knex-batch-inserts' || id === 'copy')) return `--contenders must name knex-batch-inserts and/or copy\n\n${HELP}`;
  return { rows, maxQueuedRows, contenders, out: path.resolve(values.out) };
}

/** Runs memory-child.ts in a new node process (same flags: --expose-gc, tsx) and returns its figures. */
function runChild(args: string[]): Promise<MemoryFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, path.join(__dirname, 'memory-child.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`memory-child ${args[0]} exited with code ${code}`));
      resolve(JSON.parse(output.trim().split('\n').pop()!) as MemoryFigures);
    });
  });
}

async function measure(db: Database, options: MemoryOptions, id: string): Promise<MemoryFigures> {
  const parents = options.rows / 2;
  await truncateTables(db.admin, db.schema);
  process.stderr.write(`${id}: ${parents.toLocaleString('en-US')} parents + ${parents.toLocaleString('en-US')} children in a fresh process ...\n`);
  const figures = await runChild([id, String(parents), db.urlFor(), db.schema, ...(options.maxQueuedRows ? [String(options.maxQueuedRows)] : [])]);
  await checkData(db.admin, db.schema, parents, figures.contender);
  return figures;
}

function table(results: MemoryFigures[]): string {
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;
  // Below a few MB the rows' RSS is lost in page-level noise: no ratio then.
  const ratio = (peak: number, rows: number) => (rows >= 4 * 1024 * 1024 ? (peak / rows).toFixed(2) : '–');
  const lines = [
    '| contender | rows | time | baseline RSS | rows memory | peak − baseline (10 ms samples) | peak − baseline (maxRSS) | ratio (samples) | ratio (maxRSS) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map((r) =>
      [
        r.contender,
        (2 * r.parents).toLocaleString('en-US'),
        `${(r.ms / 1000).toFixed(2)} s`,
        mb(r.baselineBytes),
        mb(r.rowsBytes),
        mb(r.peakSampledBytes),
        mb(r.peakMaxRssBytes),
        ratio(r.peakSampledBytes, r.rowsBytes),
        ratio(r.peakMaxRssBytes, r.rowsBytes),
      ].join(' | '),
    ).map((line) => `| ${line} |`),
  ];
  return lines.join('\n');
}

async function main(): Promise<number> {
  const options = parseOptions();
  if (typeof options === 'string') {
    process.stdout.write(options);
    return options === HELP ? 0 : 2;
  }
  const db = await openDatabase('kbi_bench_memory');
  process.once('SIGINT', () => void db.close(true).finally(() => process.exit(130)));
  try {
    const env = describeEnvironment(db.version, db.embedded, `npm run bench:memory${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`);
    if (db.embedded) console.log('No DATABASE_URL: embedded PGlite (runs in this parent process, so its memory is not counted); COPY is skipped on it.');
    await createTables(db.admin, db.schema);
    const results: MemoryFigures[] = [];
    for (const id of options.contenders) if (!(id === 'copy' && db.embedded)) results.push(await measure(db, options, id));

    const report = `# knex-batch-inserts memory benchmark

- date: ${env.date}
- machine: ${machine(env)}
- Node: ${env.node}
- PostgreSQL: ${shortPostgres(env)}
- command: \`${env.command}\`
- knex-batch-inserts maxQueuedRows: ${options.maxQueuedRows?.toLocaleString('en-US') ?? "the library's default"}
${db.embedded ? '\n**Embedded PGlite (in the parent process, so not in these figures): not a PostgreSQL server.**\n' : ''}
Each contender runs in a fresh process. The rows are N/2 parents (\`name\`, \`payload\` jsonb) and N/2
children, built as the caller's plain objects and inserted in one transaction (knex-batch-inserts: the
one-awaited-insert-per-row loop inside \`batchTransaction\`). Baseline: RSS after gc, once connected and
after one tiny transaction. Rows memory: RSS after gc with the rows built, minus the baseline. Peak: the
highest RSS of the process, sampled every 10 ms from a worker thread, and the kernel's peak (maxRSS):
\`process.resourceUsage().maxRSS\`, except on Linux, which carries maxRSS over from the spawning parent
through execve, so there \`VmHWM\` of /proc/self/status, the same peak for the process's own memory.
Ratio: (peak − baseline) / rows memory; 1.00 would mean nothing beyond the rows themselves.

${table(results)}
`;
    console.log(`\n${table(results)}\n`);
    await mkdir(options.out, { recursive: true });
    await writeFile(path.join(options.out, 'memory.md'), report);
    console.log(`wrote ${path.join(options.out, 'memory.md')}`);
    return 0;
  } finally {
    await db.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
