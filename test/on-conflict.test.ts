// onConflict().ignore() and .merge(): batched, with each await answered as plain knex would be.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { batchTransaction } from '../src';
import { newKnex } from './support/setup';
import { kinds, recordStatements } from './support/statements';

describe('onConflict', () => {
  let knex: Knex;

  before(async () => {
    knex = newKnex();
    await knex.raw(`
      create table oc_people (id serial primary key, email text not null unique, name text not null, visits int not null default 1);
      create table oc_tags (label text primary key, uses int not null default 1)`);
  });
  const reset = () => knex.raw("truncate oc_people, oc_tags restart identity; insert into oc_people (email, name) values ('taken@x', 'Existing')");

  /** The same code in plain knex and batched: results, rows after commit, statements. */
  async function compare(body: (trx: Knex.Transaction) => Promise<unknown>) {
    await reset();
    const plain = await knex.transaction(body);
    const plainRows = await knex('oc_people').select('*').orderBy('id');
    await reset();
    const { result: batch, statements } = await recordStatements(knex, () => batchTransaction(knex, body));
    return { plain, batch, plainRows, batchRows: await knex('oc_people').select('*').orderBy('id'), statements };
  }

  const people = ['taken@x', 'new@x', 'new@x', 'other@x'].map((email, i) => ({ email, name: `n${i}` }));

  it('ignore(): skipped rows get no returned row and rowCount 0, duplicates inside the batch included', async () => {
    const result = await compare((trx) => Promise.all([
      ...people.map((person) => trx('oc_people').insert(person).onConflict('email').ignore().returning('*')),
      ...people.map((person) => trx('oc_people').insert({ ...person, email: `again.${person.email}` }).onConflict().ignore()),
    ]));
    expect(result.batch).to.have.length(8);
    expect((result.batch as unknown[]).slice(0, 4)).to.deep.equal((result.plain as unknown[]).slice(0, 4));
    expect((result.batch as { rowCount: number }[]).slice(4).map(({ rowCount }) => rowCount)).to.deep.equal([1, 1, 0, 1]);
    expect((result.batch as unknown[][]).slice(0, 4).map((rows) => rows.length)).to.deep.equal([0, 1, 0, 1]);
    expect(result.batchRows).to.deep.equal(result.plainRows);
    expect(kinds(result.statements).filter((kind) => kind.startsWith('insert'))).to.deep.equal(['insert oc_people', 'insert oc_people']);
  });

  it('ignore(): of two conflicting rows from different kinds of insert, the one queued first is written', async () => {
    const result = await compare((trx) => Promise.all([
      trx('oc_people').insert({ email: 'q@x', name: 'first' }).onConflict('email').ignore().returning('name'),
      trx('oc_people').insert({ email: 'r@x', name: 'second' }).onConflict('email').ignore(),
      trx('oc_people').insert({ email: 'r@x', name: 'third' }).onConflict('email').ignore().returning('name'),
    ]));
    expect(result.batchRows).to.deep.equal(result.plainRows);
    expect((result.batch as unknown[])[2]).to.deep.equal([]);
  });

  it('merge(): splits a batch where a key repeats, so later rows win as in sequential code', async () => {
    const result = await compare((trx) => Promise.all(
      people.map((person) => trx('oc_people').insert(person).onConflict('email').merge().returning(['email', 'name'])),
    ));
    expect(result.batch).to.deep.equal(result.plain);
    expect(result.batchRows).to.deep.equal(result.plainRows);
    expect(kinds(result.statements).filter((kind) => kind.startsWith('insert'))).to.deep.equal(['insert oc_people', 'insert oc_people']);
  });

  it('merge() without arguments overwrites only the columns each insert names', async () => {
    const result = await compare((trx) => Promise.all([
      trx('oc_people').insert({ email: 'taken@x', name: 'renamed' }).onConflict('email').merge(),
      trx('oc_people').insert({ email: 'taken@x', name: 'again', visits: 7 }).onConflict('email').merge(),
      trx('oc_people').insert({ email: 'taken@x', name: 'last' }).onConflict('email').merge(),
    ]));
    expect(result.batchRows).to.deep.equal(result.plainRows);
    expect(result.batchRows[0]).to.include({ id: 1, name: 'last', visits: 7 });
  });

  it('merge() with updates and no returning resolves to the rowCount plain knex gives', async () => {
    const body = async (trx: Knex.Transaction) => {
      const results = [];
      for (const person of people) {
        results.push(await trx('oc_people').insert(person).onConflict('email').merge({ visits: trx.raw('oc_people.visits + 1') }));
      }
      return results.map(({ rowCount }) => rowCount);
    };
    const result = await compare(body);
    expect(result.batch).to.deep.equal(result.plain);
    expect(result.batchRows).to.deep.equal(result.plainRows);
  });

  it('merge() on a text primary key, batched with duplicates across inserts', async () => {
    await reset();
    const answers = await batchTransaction(knex, (trx) => Promise.all(
      ['a', 'b', 'a', 'c', 'a'].map((label) => trx('oc_tags').insert({ label }).onConflict('label').merge({ uses: 99 }).returning('*')),
    ));
    expect(answers).to.deep.equal([
      [{ label: 'a', uses: 1 }], [{ label: 'b', uses: 1 }], [{ label: 'a', uses: 99 }], [{ label: 'c', uses: 1 }], [{ label: 'a', uses: 99 }],
    ]);
  });

  it('ignore(): returned rows go to the right await when explicit keys repeat across inserts', async () => {
    await knex.raw("create table oc_explicit (id int primary key, email text unique); insert into oc_explicit values (99, 'x')");
    const answers = await batchTransaction(knex, (trx) => Promise.all([
      trx('oc_explicit').insert({ id: 1, email: 'x' }).onConflict().ignore().returning('*'),
      trx('oc_explicit').insert({ id: 1, email: 'y' }).onConflict().ignore().returning('*'),
    ]));
    expect(answers).to.deep.equal([[], [{ id: 1, email: 'y' }]]);
  });

  it('merge(): equal keys written differently ("05" and 5, upper- and lower-case uuids) are one key', async () => {
    await knex.raw('create table oc_keys (id serial primary key, num bigint unique, ext uuid unique, v text)');
    await batchTransaction(knex, (trx) => Promise.all([
      trx('oc_keys').insert({ num: '05', v: 'first' }).onConflict('num').merge(),
      trx('oc_keys').insert({ num: 5, v: 'second' }).onConflict('num').merge(),
      trx('oc_keys').insert({ ext: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', v: 'third' }).onConflict('ext').merge(),
      trx('oc_keys').insert({ ext: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', v: 'fourth' }).onConflict('ext').merge(),
    ]));
    expect(await knex('oc_keys').select('num', 'v').orderBy('id')).to.deep.equal([{ num: '5', v: 'second' }, { num: null, v: 'fourth' }]);
  });

  it('matches varchar(n) keys that PostgreSQL cuts (trailing spaces)', async () => {
    await knex.raw("create table oc_codes (code varchar(3) primary key, v int); insert into oc_codes values ('ab', 0)");
    const answers = await batchTransaction(knex, (trx) => Promise.all([
      trx('oc_codes').insert({ code: 'ab    ', v: 1 }).onConflict('code').merge().returning('*'),
      trx('oc_codes').insert({ code: 'xyz  ', v: 2 }).returning('*'),
    ]));
    expect(answers).to.deep.equal([[{ code: 'ab ', v: 1 }], [{ code: 'xyz', v: 2 }]]);
  });

  it('fails like plain knex when one insert repeats a merge key (21000)', async () => {
    const rows = [{ email: 'dup@x', name: 'a' }, { email: 'dup@x', name: 'b' }];
    await reset();
    const plain = await knex.transaction((trx) => trx('oc_people').insert(rows).onConflict('email').merge()).catch((e) => e);
    const batch = await batchTransaction(knex, async (trx) => {
      await trx('oc_people').insert(rows).onConflict('email').merge();
    }).catch((e) => e);
    expect(plain.code).to.equal('21000');
    expect(batch.code).to.equal('21000');
  });
});
