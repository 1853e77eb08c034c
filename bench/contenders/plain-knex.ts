// Contender 1: plain knex, one awaited INSERT per row in knex.transaction.
import type { Contender } from './contender';
import { connectKnex } from './knex-connection';
import { insertOneByOne } from './one-by-one';

export const plainKnex: Contender = {
  id: 'plain-knex',
  name: 'plain knex',
  onePerRow: true,
  async open(context) {
    const knex = connectKnex(context);
    return {
      prepare: (work) => () => knex.transaction((trx) => insertOneByOne(trx, work)),
      close: () => knex.destroy(),
    };
  },
};
