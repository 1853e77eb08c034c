// Contender 2: knex's own batchInsert, chunks of 1000 rows, in a transaction.
// Parent ids come back by position, so child i gets the i-th returned id.
import type { ParentRow } from '../workload';
import type { Contender } from './contender';
import { connectKnex } from './knex-connection';

const CHUNK_SIZE = 1000;

/** A parents row as the table has it, so that knex types `.returning('id')`. */
type ParentRecord = ParentRow & { id: string };

export const knexBatchInsert: Contender = {
  id: 'knex-batchinsert',
  name: 'knex batchInsert',
  async open(context) {
    const knex = connectKnex(context);
    return {
      prepare:
        ({ parents, children }) =>
        () =>
          knex.transaction(async (trx) => {
            const ids = await knex.batchInsert<ParentRecord>('parents', parents, CHUNK_SIZE).returning('id').transacting(trx);
            const rows = children.map((child, i) => ({ parent_id: ids[i].id, n: child.n, note: child.note }));
            await knex.batchInsert('children', rows, CHUNK_SIZE).transacting(trx);
          }),
      close: () => knex.destroy(),
    };
  },
};
