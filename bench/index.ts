// npm run bench -- [--rows 1000,100000] [--latency 0,1,10] [--reps 3] [--quick] [--out DIR] [--help]
//
// Times six ways to insert N parents with one child each in one transaction,
// each written the way its users write it, checks the data each one wrote,
// and reports medians, statements and round trips (see options.ts for flags).
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as pg from 'pg';
import { CONTENDERS } from './contenders';
import { knexBatchInsertsWith } from './contenders/knex-batch-inserts';
import type { Contender } from './contenders/contender';
import { pgp } from './contenders/pg-promise';
import { type Database, openDatabase, redact } from './database';
import { describeEnvironment, machine } from './environment';
import { type BenchOptions, HELP, parseOptions } from './options';
import { markdownReport, markdownTable } from './report-markdown';
import { svgChart } from './report-svg';
import { runBenchmark } from './runner';
import { countStatementsOf } from '../demo/statement-counter';
import { createTables } from './workload';

let database: Database | undefined;

async function main(): Promise<number> {
  const parsed = parseOptions(process.argv.slice(2));
  if ('help' in parsed) {
    process.stdout.write(HELP);
    return 0;
  }
  if ('error' in parsed) {
    process.stderr.write(`${parsed.error}\n\n${HELP}`);
    return 2;
  }
  const options: BenchOptions = parsed;
  countStatementsOf(pg.Client);
  countStatementsOf(pgp.pg.Client);

  database = await openDatabase('kbi_bench');
  try {
    const env = describeEnvironment(database.version, database.embedded, commandLine());
    printHeader(database, env, options);
    const contenders = runnable(options, database.embedded);
    await createTables(database.admin, database.schema);
    const results = await runBenchmark(database, options, contenders);

    console.log(`\n${markdownTable(results)}\n`);
    await mkdir(options.out, { recursive: true });
    await writeFile(path.join(options.out, 'latest.md'), markdownReport(env, options, results));
    await writeFile(path.join(options.out, 'latest.svg'), svgChart(results, env));
    console.log(`wrote ${path.join(options.out, 'latest.md')} and latest.svg`);
    return 0;
  } finally {
    await database.close();
  }
}

function printHeader(db: Database, env: ReturnType<typeof describeEnvironment>, options: BenchOptions): void {
  console.log(`knex-batch-inserts benchmark, ${env.date}`);
  console.log(`machine: ${machine(env)}; Node ${env.node}`);
  console.log(`database: ${db.embedded ? `embedded PGlite on ${db.url.host}` : redact(db.url)}, schema ${db.schema}`);
  console.log(`server: ${env.postgres}`);
  if (db.embedded) {
    console.log('\n*** No DATABASE_URL: running on the embedded PGlite (PostgreSQL in WebAssembly, in this process).');
    console.log('*** Its figures are NOT representative of a PostgreSQL server. Set DATABASE_URL for real figures.\n');
  }
  console.log(`rows ${options.rows.join(', ')}; latency ${options.latencies.join(', ')} ms; ${options.reps} repetitions; contenders: ${options.contenders.join(', ')}`);
  if (options.fullGc && globalThis.gc === undefined) console.log('(--full-gc without node --expose-gc: no collection can be forced)');
}

/** The contenders asked for, less those that cannot run on the embedded PGlite (said so on stdout), with --max-queued-rows applied. */
function runnable(options: BenchOptions, embedded: boolean): Contender[] {
  return CONTENDERS.filter((c) => {
    if (!options.contenders.includes(c.id)) return false;
    if (embedded && c.notOnEmbedded) console.log(`skipping ${c.name} on PGlite: ${c.notOnEmbedded}`);
    return !(embedded && c.notOnEmbedded);
  }).map((c) => (c.id === 'knex-batch-inserts' ? knexBatchInsertsWith({ maxQueuedRows: options.maxQueuedRows }) : c));
}

/** How this run was started, for the report: `npm run bench -- ...` when npm started it. */
function commandLine(): string {
  const args = process.argv.slice(2).join(' ');
  if (process.env.npm_lifecycle_event) return `npm run ${process.env.npm_lifecycle_event}${args ? ` -- ${args}` : ''}`;
  return `tsx ${path.relative(process.cwd(), process.argv[1])}${args ? ` ${args}` : ''}`;
}

/** Ctrl-C: end the contenders' sessions, drop the schema, then exit. A second Ctrl-C exits at once. */
function onInterrupt(signal: NodeJS.Signals): void {
  process.stderr.write(`\n${signal}: cleaning up ${database?.schema ?? ''}\n`);
  void (database?.close(true) ?? Promise.resolve()).finally(() => process.exit(130));
}
process.once('SIGINT', onInterrupt);
process.once('SIGTERM', onInterrupt);

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write('\n');
    console.error(error);
    process.exitCode = 1;
  },
);
