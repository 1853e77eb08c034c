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
