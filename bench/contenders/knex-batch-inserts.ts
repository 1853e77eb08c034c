// Contender 5: this library. The same loop as plain knex (one-by-one.ts),
// inside batchTransaction, as the README shows it. The knex instance lives
// for all runs at a latency, as in an application: the library caches table
// metadata per knex instance.
import { batchTransaction, type BatchTransactionOptions } from 'knex-batch-inserts';
import type { Contender } from './contender';
import { connectKnex } from './knex-connection';
import { insertOneByOne } from './one-by-one';

export const knexBatchInserts = knexBatchInsertsWith();

/** The contender with options for batchTransaction (bench:memory's --max-queued-rows). */
export function knexBatchInsertsWith(options?: BatchTransactionOptions): Contender {
  return {
    id: 'knex-batch-inserts',
    name: 'knex-batch-inserts',
    async open(context) {
      const knex = connectKnex(context);
      return {
        prepare: (work) => () => batchTransaction(knex, (trx) => insertOneByOne(trx, work), options),
        close: () => knex.destroy(),
      };
    },
  };
}

/**
 * `--max-queued-rows N`, which bench, bench:memory, bench:timeline and
 * bench:profile take: undefined when not given (the library's default), else
 * a positive whole number; what is wrong with it otherwise.
 */
export function maxQueuedRowsOption(text: string | undefined): number | undefined | { error: string } {
  if (text === undefined) return undefined;
  const rows = Number(text);
  return Number.isInteger(rows) && rows > 0 ? rows : { error: `--max-queued-rows must be a positive whole number, got ${text}` };
}
