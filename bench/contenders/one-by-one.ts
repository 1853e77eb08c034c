// The code most applications have: insert a parent, await its id, insert its
// child, next. Contenders 1 (plain knex) and 5 (knex-batch-inserts) run this
// very function, so they differ only in the transaction it runs in.
import type { Knex } from 'knex';
import type { Workload } from '../workload';

export async function insertOneByOne(trx: Knex.Transaction, { parents, children }: Workload): Promise<void> {
  for (let i = 0; i < parents.length; i++) {
    const [{ id }] = await trx('parents').insert(parents[i]).returning('id');
    await trx('children').insert({ parent_id: id, n: children[i].n, note: children[i].note });
  }
}
