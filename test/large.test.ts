// Large flushes: by COPY where nothing comes back, else INSERT statements
// cut at PostgreSQL's 65,535 bind-parameter limit.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { batchTransaction } from '../src';
import { databaseSource, newKnex } from './support/setup';
import { kinds, recordStatements } from './support/statements';

const N = 100_000;
const rowsOf = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ a: i, b: `text ${i}`, c: new Date(Date.UTC(2026, 0, 1, 0, 0, i % 60)), d: { i }, e: i % 2 === 0 }));

/** What a flush of `big` sends: one COPY, or INSERTs where the server has no COPY FROM STDIN (PGlite). */
const copyOr = (inserts: number) => (databaseSource() === 'PGlite' ? Array(inserts).fill('insert big') : ['copy big']);

describe('100,000 rows of 5 columns in one flush', function () {
  this.timeout(300_000);
  let knex: Knex;

  before(async () => {
    knex = newKnex();
    await knex.raw('create table big (id bigserial primary key, a int not null, b text not null, c timestamptz not null, d jsonb not null, e boolean not null)');
  });
  beforeEach(() => knex.raw('truncate big restart identity'));

  const check = async () => {
    const [stats] = (await knex.raw(`select count(*)::int as n, sum(a)::bigint as sum_a, count(distinct b)::int as bs,
      count(*) filter (where (d->>'i')::int = a and e = (a % 2 = 0) and extract(second from c)::int = a % 60)::int as consistent from big`)).rows;
    expect(stats).to.deep.equal({ n: N, sum_a: String((N * (N - 1)) / 2), bs: N, consistent: N });
  };

  it('one insert of 100,000 rows: one COPY', async () => {
    const db = newKnex();
    const { statements } = await recordStatements(db, () => batchTransaction(db, async (trx) => void (await trx('big').insert(rowsOf(N)))));
    expect(kinds(statements)).to.deep.equal(['BEGIN', 'catalog', ...copyOr(8), 'COMMIT']);
    await check();
  });

  it('100,000 inserts queued one by one, never awaited, in one flush', async () => {
    const db = newKnex();
    const { statements } = await recordStatements(db, () =>
      batchTransaction(db, (trx) => {
        for (const row of rowsOf(N)) trx('big').insert(row);
      }, { maxQueuedRows: N }),
    );
    expect(kinds(statements)).to.deep.equal(['BEGIN', 'catalog', ...copyOr(8), 'COMMIT']);
    await check();
  });

  it('one insert of 100,000 rows returning ids: ids drawn with the catalog, rows by COPY', async () => {
    const db = newKnex();
    const { result: ids, statements } = await recordStatements(db, () => batchTransaction(db, (trx) => trx('big').insert(rowsOf(N)).returning('id')));
    expect(kinds(statements)).to.deep.equal(['BEGIN', 'catalog', ...copyOr(10), 'COMMIT']);
    expect(ids).to.have.length(N);
    expect(ids.map(({ id }: { id: string }) => Number(id))).to.deep.equal(Array.from({ length: N }, (_, i) => i + 1));
    await check();
    const plain = await knex.transaction((trx) => trx('big').insert(rowsOf(N)).returning('id')).catch((error) => error);
    expect(plain).to.be.instanceOf(Error); // the parameter count wraps around 16 bits
  });

  it('one insert of 100,000 rows returning *, which plain knex cannot send in one statement: 10 INSERTs of 6 columns (ids drawn to match rows) and at most 10,922 rows', async () => {
    const db = newKnex();
    const { result: rows, statements } = await recordStatements(db, () => batchTransaction(db, (trx) => trx('big').insert(rowsOf(N)).returning('*')));
    expect(kinds(statements)).to.deep.equal(['BEGIN', 'catalog', 'ids', ...Array(10).fill('insert big'), 'COMMIT']);
    expect(rows.map(({ a }: { a: number }) => a)).to.deep.equal(rowsOf(N).map(({ a }) => a));
    await check();
  });
});
