// npm run demo -- [--count N] [--latency MS] [--mode plain|batch|both] [--database URL]
//
// Runs the same plain knex code in knex.transaction and in batchTransaction,
// prints statements, round trips, rows and time of each, and checks that
// both wrote the same data (exit code 1 if not).
import knexLib, { type Knex } from 'knex';
import { batchTransaction } from 'knex-batch-inserts';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres } from './embedded-postgres';
import { medianRoundTripMs, startLatencyProxy } from './latency-proxy';
import { countStatementsOf, startCounting, stopCounting } from './statement-counter';
import { addUsers, createTables, differences, type Snapshot, snapshot } from './workload';

const HELP = `Usage: npm run demo -- [options]

Inserts N users with 2 addresses each, with plain sequential knex code, once
in knex.transaction and once in batchTransaction, and compares.

Options:
  --count N         users to insert (default 100)
  --latency MS      add about MS milliseconds to every round trip, through a
                    local TCP proxy (default 0)
  --mode MODE       plain, batch or both (default both)
  --database URL    PostgreSQL to use (default: $DATABASE_URL if set, else an
                    embedded PostgreSQL, PGlite, started for the demo)
  --help            this text
`;

interface Run {
  mode: 'plain' | 'batch';
  inserts: number;
  roundTrips: number;
  rows: number;
  ms: number;
  data: Snapshot;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '100' },
      latency: { type: 'string', default: '0' },
      mode: { type: 'string', default: 'both' },
      database: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const count = Number(values.count);
  const latency = Number(values.latency);
  const mode = values.mode;
  if (!Number.isInteger(count) || count < 1) return usage(`--count must be a positive whole number, got ${values.count}`);
  if (!(latency >= 0)) return usage(`--latency must be a number of milliseconds, got ${values.latency}`);
  if (mode !== 'plain' && mode !== 'batch' && mode !== 'both') return usage(`--mode must be plain, batch or both, got ${mode}`);

  const given = values.database ?? process.env.DATABASE_URL;
  const embedded = given ? undefined : await startEmbeddedPostgres();
  const url = new URL(given ?? embedded!.url);
  const proxy = latency > 0 ? await startLatencyProxy({ host: url.hostname, port: Number(url.port || 5432) }, latency) : undefined;
  const schema = `kbi_demo_${process.pid}_${Date.now().toString(36)}`;
  const connect = (through: URL) => knexLib({ client: 'pg', connection: through.toString(), searchPath: [schema], pool: { min: 1, max: 1 } });
  const direct = connect(url);
  const knex = proxy ? connect(withPort(url, proxy.port)) : direct;

  try {
    console.log(`knex-batch-inserts demo: ${count} users with 2 addresses each, inserted by plain sequential knex code`);
    console.log(`database: ${embedded ? `embedded PostgreSQL (PGlite) on ${url.host}` : redact(url)}, schema ${schema}`);
    await direct.raw(`create schema ${schema}`);
    await createTables(direct);
    const baseline = await roundTripMs(direct);
    if (proxy) {
      console.log(`latency: ${latency} ms per round trip requested; select 1 takes ${(await roundTripMs(knex)).toFixed(1)} ms through the proxy, ${baseline.toFixed(1)} ms without`);
    } else {
      console.log(`latency: none added; select 1 takes ${baseline.toFixed(1)} ms`);
    }
    const runs: Run[] = [];
    for (const current of mode === 'both' ? (['plain', 'batch'] as const) : [mode]) {
      await direct.raw('truncate users, addresses restart identity');
      runs.push(await measure(knex, current, count));
    }
    printTable(runs);
    return checkData(runs);
  } finally {
    await direct.raw(`drop schema if exists ${schema} cascade`).catch(() => undefined);
    await knex.destroy();
    if (knex !== direct) await direct.destroy();
    await proxy?.close();
    await embedded?.stop();
  }
}

countStatementsOf(pg.Client); // round trips are counted at pg's Client: knex announces a BEGIN the library may hold

async function measure(knex: Knex, mode: Run['mode'], count: number): Promise<Run> {
  const statements: string[] = [];
  const record = ({ sql }: { sql: string }) => statements.push(sql);
  const progress = mode === 'plain' ? progressLine(count) : () => {};
  const work = (trx: Knex.Transaction) => addUsers(trx, count, progress);
  knex.on('query', record);
  startCounting();
  const started = performance.now();
  let roundTrips: number;
  try {
    await (mode === 'plain' ? knex.transaction(work) : batchTransaction(knex, work));
  } finally {
    roundTrips = stopCounting().roundTrips;
    knex.removeListener('query', record);
  }
  const ms = performance.now() - started;
  const data = await snapshot(knex);
  return {
    mode,
    inserts: statements.filter((sql) => /^insert\b/i.test(sql)).length,
    roundTrips,
    rows: data.users.length + data.addresses.length,
    ms,
    data,
  };
}

function roundTripMs(knex: Knex): Promise<number> {
  return medianRoundTripMs(() => knex.raw('select 1'));
}

/** Reports the plain run's progress on stderr: a line redrawn in a terminal, a few lines otherwise. */
function progressLine(count: number): (done: number) => void {
  const started = performance.now();
  let shown = 0;
  return (done) => {
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (process.stderr.isTTY) {
      process.stderr.write(`\r  plain: ${done}/${count} users, ${seconds} s${done === count ? '\n' : ''}`);
    } else if (done === count || done >= shown + count / 4) {
      shown = done;
      process.stderr.write(`  plain: ${done}/${count} users, ${seconds} s\n`);
    }
  };
}

function printTable(runs: Run[]): void {
  const rows = [
    ['mode', 'INSERTs', 'round trips', 'rows written', 'time'],
    ...runs.map((run) => [run.mode, String(run.inserts), String(run.roundTrips), String(run.rows), formatMs(run.ms)]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  console.log('');
  for (const row of rows) console.log(row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  '));
  const [plain, batch] = runs;
  if (runs.length === 2) {
    console.log(`\nbatchTransaction: ${(plain.ms / batch.ms).toFixed(1)}x as fast, ${plain.roundTrips - batch.roundTrips} fewer round trips`);
  }
}

function checkData(runs: Run[]): number {
  if (runs.length < 2) {
    console.log('data check: skipped, only one mode ran');
    return 0;
  }
  const found = differences(runs[0].data, runs[1].data, ['plain', 'batch']);
  if (found.length === 0) {
    const { users, addresses } = runs[0].data;
    console.log(`data check: both wrote the same ${users.length} users and ${addresses.length} addresses, each address with the same user`);
    return 0;
  }
  console.error(`data check FAILED: ${found.length} differences\n${found.slice(0, 20).map((line) => `  ${line}`).join('\n')}`);
  return 1;
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

function withPort(url: URL, port: number): URL {
  const copy = new URL(url);
  copy.hostname = '127.0.0.1';
  copy.port = String(port);
  return copy;
}

function redact(url: URL): string {
  const copy = new URL(url);
  if (copy.password) copy.password = '***';
  return copy.toString();
}

function usage(problem: string): number {
  console.error(`${problem}\n\n${HELP}`);
  return 2;
}

main().then(
  (code) => (process.exitCode = code),
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
