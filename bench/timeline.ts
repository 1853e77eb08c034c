// npm run bench:timeline -- [--rows N] [--latency MS] [--reps R] [--full-gc] [--max-queued-rows N]
//
// What happens when inside one knex-batch-inserts transaction of the
// benchmark's workload: every statement as knex announces it (`query`
// events), each flush as `onFlush` reports it, the end of the loop and the
// commit, in ms from before BEGIN. Runs untimed transactions first, as the
// benchmark does, then prints the last of R timed ones and the medians of
// when the loop ended and when the commit returned.
import { parseArgs } from 'node:util';
import type { Knex } from 'knex';
import { batchTransaction } from 'knex-batch-inserts';
import { connectKnex } from './contenders/knex-connection';
import { insertOneByOne } from './contenders/one-by-one';
import { maxQueuedRowsOption } from './contenders/knex-batch-inserts';
import { openDatabase } from './database';
import { openLink } from './latency';
import { median, WARM_UP_RUNS } from './runner';
import { buildWorkload, createTables, truncateTables } from './workload';

interface Timeline {
  events: string[];
  loopEnd: number;
  committed: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000' },
      latency: { type: 'string', default: '0' },
      reps: { type: 'string', default: '15' },
      'full-gc': { type: 'boolean', default: false },
      'max-queued-rows': { type: 'string' },
    },
  });
  const [n, latencyMs, reps] = [Number(values.rows), Number(values.latency), Number(values.reps)];
  const maxQueuedRows = maxQueuedRowsOption(values['max-queued-rows']);
  if (![n, reps].every((v) => Number.isInteger(v) && v > 0) || !(latencyMs >= 0)) throw new Error('--rows and --reps take positive whole numbers, --latency milliseconds');
  if (typeof maxQueuedRows === 'object') throw new Error(maxQueuedRows.error);
  if (values['full-gc'] && !globalThis.gc) throw new Error('--full-gc needs node --expose-gc (npm run bench:timeline has it)');
  const db = await openDatabase('kbi_timeline');
  const link = await openLink(db.url, latencyMs);
  try {
    await createTables(db.admin, db.schema);
    const knex = connectKnex({ url: db.urlFor(link.port), schema: db.schema });
    try {
      const run = (fullGc: boolean) => timedTransaction(db.admin, db.schema, knex, n, fullGc, maxQueuedRows);
      for (let i = 0; i < WARM_UP_RUNS; i++) await run(false);
      const runs: Timeline[] = [];
      for (let i = 0; i < reps; i++) runs.push(await run(values['full-gc']));
      console.log(runs[runs.length - 1].events.join('\n'));
      console.log(`\n${n} parents + ${n} children, ${latencyMs} ms latency, ${reps} transactions${values['full-gc'] ? ', each after a full collection' : ''}:`);
      const loopEnd = median(runs.map((run) => run.loopEnd));
      console.log(`median loop end ${loopEnd.toFixed(1)} ms, median commit ${median(runs.map((run) => run.committed)).toFixed(1)} ms`);
    } finally {
      await knex.destroy();
    }
  } finally {
    await link.close();
    await db.close();
  }
}

async function timedTransaction(
  admin: Parameters<typeof truncateTables>[0],
  schema: string,
  knex: Knex,
  n: number,
  fullGc: boolean,
  maxQueuedRows: number | undefined,
): Promise<Timeline> {
  await truncateTables(admin, schema);
  const work = buildWorkload(n);
  if (fullGc) globalThis.gc!();
  const events: string[] = [];
  const started = performance.now();
  const at = () => performance.now() - started;
  const note = (what: string) => events.push(`${at().toFixed(2).padStart(9)}  ${what}`);
  const onQuery = ({ sql }: { sql: string }) => note(`sent  ${sql.replace(/\s+/g, ' ').slice(0, 60)}`);
  knex.on('query', onQuery);
  let loopEnd = 0;
  try {
    await batchTransaction(
      knex,
      async (trx) => {
        await insertOneByOne(trx, work);
        loopEnd = at();
        note('loop end');
      },
      { maxQueuedRows, onFlush: ({ rows, statements, roundTrips, ms }) => note(`flush answered: ${rows} rows, ${statements} statements, ${roundTrips} round trip(s), ${ms.toFixed(1)} ms`) },
    );
  } finally {
    knex.off('query', onQuery);
  }
  const committed = at();
  note('committed');
  return { events, loopEnd, committed };
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
