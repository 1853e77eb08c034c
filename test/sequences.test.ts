// Sequences as they are in real databases: moved by setval, near their limit,
// out of the application role's reach, behind a domain, on other columns.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { batchTransaction } from '../src';
import { databaseSource, newKnex, runSchema } from './support/setup';
import { kinds, recordStatements } from './support/statements';

describe('sequences', () => {
  let knex: Knex;
  const lastValue = async (sequence: string) =>
    Number((await knex.raw('select last_value from pg_sequences where sequencename = ?', [sequence])).rows[0].last_value);

  before(async () => {
    knex = newKnex();
    await knex.raw(`
      create table seq_items (id serial primary key, name text);
      create table seq_log (id serial primary key, note text)`);
  });
  beforeEach(() => knex.raw('truncate seq_items, seq_log restart identity'));

  it('drops pooled ids when a query moves the sequence back (setval in a select): no collision', async () => {
    await batchTransaction(knex, async (trx) => {
      await trx('seq_items').insert({ name: 'a' }).returning('id');
      await trx('seq_items').insert({ name: 'b' }).returning('id'); // a block of 32: ids 2..33
      await trx('seq_items').del();
      await trx.select(trx.raw("setval('seq_items_id_seq', 1, false)"));
      await trx('seq_items').insert({ name: 'c' }).returning('id');
      await trx.raw("insert into seq_items (name) values ('r1'), ('r2')");
    });
    expect(await knex('seq_items').pluck('name')).to.deep.equal(['c', 'r1', 'r2']);
  });

  it("draws from a sequence whose name has a ? in it (knex would take a bare ? for a placeholder)", async () => {
    await knex.raw(`create table seq_odd (id serial primary key, name text); alter sequence seq_odd_id_seq rename to "seq_odd\\?ids"`); // \\? : a ? for knex.raw
    expect((await knex.raw("select pg_get_serial_sequence('seq_odd', 'id') as name")).rows[0].name).to.match(/"seq_odd\?ids"$/);
    try {
      const { result: ids, statements } = await recordStatements(knex, () =>
        batchTransaction(knex, async (trx) => {
          const drawn = [];
          for (let i = 0; i < 40; i++) drawn.push((await trx('seq_odd').insert({ name: `n${i}` }).returning('id'))[0].id);
          return drawn;
        }),
      );
      expect(kinds(statements)).to.deep.equal(['BEGIN', 'catalog', 'ids', 'ids', 'insert seq_odd', 'COMMIT']); // 1, 32, then 96 ids
      expect(ids).to.deep.equal(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(await knex('seq_odd').orderBy('id').pluck('id')).to.deep.equal(ids);
    } finally {
      await knex.raw('drop table seq_odd');
    }
  });

  it('keeps pooled ids across plain reads, and wastes little when writes drop them', async () => {
    await batchTransaction(knex, async (trx) => {
      for (let i = 0; i < 20; i++) {
        await trx('seq_items').insert({ name: `n${i}` }).returning('id');
        await trx.raw('select count(*) from seq_items'); // a plain read keeps the pool
      }
    });
    expect(await lastValue('seq_items_id_seq')).to.equal(33); // 1, then a block of 32
    await batchTransaction(knex, async (trx) => {
      for (let i = 0; i < 20; i++) {
        await trx('seq_items').insert({ name: `m${i}` }).returning('id');
        await trx.raw('insert into seq_log (note) values (?)', [`after ${i}`]); // a write drops it
      }
    });
    expect(await lastValue('seq_items_id_seq')).to.equal(53); // exactly what was used: blocks start small again
  });

  it('never draws past MAXVALUE where plain code would not (smallserial near its end)', async () => {
    await knex.raw("create table seq_small (id smallserial primary key, name text); select setval('seq_small_id_seq', 32760)");
    const ids = await batchTransaction(knex, async (trx) => {
      const all = [];
      for (const name of ['a', 'b', 'c', 'd']) all.push((await trx('seq_small').insert({ name }).returning('id'))[0].id);
      return all;
    });
    expect(ids).to.deep.equal([32761, 32762, 32763, 32764]);
  });

  it('parses ids of a key behind a domain as the base type, from the first block on', async () => {
    await knex.raw("create domain seq_id as int; create sequence seq_domain_seq; create table seq_domain (id seq_id primary key default nextval('seq_domain_seq'), name text)");
    const db = newKnex(); // a new process: the first ids come with the catalog
    const ids = await batchTransaction(db, async (trx) => {
      const all = [];
      for (const name of ['a', 'b', 'c']) all.push((await trx('seq_domain').insert({ name }).returning('id'))[0].id);
      return all;
    });
    expect(ids).to.deep.equal([1, 2, 3]);
  });

  it('numbers other sequence-fed columns in queue order', async () => {
    await knex.raw('create table seq_codes (id serial primary key, code serial unique, name text)');
    const body = (trx: Knex.Transaction) => Promise.all([
      trx('seq_codes').insert({ name: 'a' }).returning('id'),
      trx('seq_codes').insert({ name: 'b' }).returning('code'),
      trx('seq_codes').insert({ name: 'c' }),
      trx('seq_codes').insert({ name: 'd' }).returning('name'),
    ]);
    const batch = await batchTransaction(knex, body);
    expect(batch[1]).to.deep.equal([{ code: 2 }]);
    expect(await knex('seq_codes').orderBy('code').pluck('name')).to.deep.equal(['a', 'b', 'c', 'd']);
  });

  it('does not pre-allocate from a sequence the role may not use (identity columns need no grant to insert)', async function () {
    if (databaseSource() === 'PGlite') this.skip(); // one session for all connections: SET ROLE would hold for every test
    const role = `${runSchema}_app`;
    await knex.raw(`create role ${role}; grant usage on schema ${runSchema} to ${role};
      create table seq_guarded (id int generated by default as identity primary key, name text);
      grant select, insert on seq_guarded to ${role}`);
    const app = newKnex({ pool: { min: 0, max: 1, afterCreate: (c: { query: (sql: string, done: (e: Error) => void) => void }, done: (e: Error | null, c: unknown) => void) => c.query(`set role ${role}`, (e) => done(e, c)) } });
    try {
      const ids = await batchTransaction(app, async (trx) => [
        await trx('seq_guarded').insert({ name: 'a' }).returning('id'),
        await trx('seq_guarded').insert({ name: 'b' }).returning('id'),
      ]);
      expect(ids).to.deep.equal([[{ id: 1 }], [{ id: 2 }]]);
    } finally {
      await app.destroy();
      await knex.raw(`drop table seq_guarded; drop owned by ${role}; drop role ${role}`);
    }
  });
});
