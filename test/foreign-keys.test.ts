// Statement order: no foreign key fails that plain sequential code would not fail.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { batchTransaction, type FlushStats } from '../src';
import { databaseSource, newKnex } from './support/setup';
import { allocateYoung } from './support/young-garbage';
import { kinds, recordStatements } from './support/statements';

describe('foreign keys', () => {
  let knex: Knex;

  before(async () => {
    knex = newKnex();
    await knex.raw(`
      create table fk_parents (id serial primary key, name text not null);
      create table fk_children (id serial primary key, parent_id int not null references fk_parents (id), name text not null);
      create table fk_tree (id serial primary key, parent_id int references fk_tree (id), label text not null, note text);
      create table fk_a (id serial primary key, b_id int, name text not null);
      create table fk_b (id serial primary key, a_id int not null references fk_a (id), name text not null);
      alter table fk_a add foreign key (b_id) references fk_b (id);
      insert into fk_parents (name) values ('existing')`);
  });

  it('sends parents before children even when a child table comes first in the queue', async () => {
    const { statements } = await recordStatements(knex, () =>
      batchTransaction(knex, async (trx) => {
        await trx('fk_children').insert({ parent_id: 1, name: 'child of existing' });
        const [{ id }] = await trx('fk_parents').insert({ name: 'new parent' }).returning('id');
        await trx('fk_children').insert({ parent_id: id, name: 'child of new' });
      }),
    );
    expect(kinds(statements).filter((kind) => kind.startsWith('insert'))).to.deep.equal(['insert fk_parents', 'insert fk_children']);
    expect(await knex('fk_children as c').join('fk_parents as p', 'p.id', 'c.parent_id').select('c.name', 'p.name as parent').orderBy('c.id'))
      .to.deep.equal([{ name: 'child of existing', parent: 'existing' }, { name: 'child of new', parent: 'new parent' }]);
  });

  it('writes a self-referencing tree in queue order, one statement per run of inserts that can share one', async () => {
    const { statements } = await recordStatements(knex, () =>
      batchTransaction(knex, async (trx) => {
        const add = async (label: string, parent_id: number | null, depth: number): Promise<void> => {
          const [{ id }] = await trx('fk_tree').insert({ label, parent_id }).returning('id');
          if (depth < 3) for (const child of ['a', 'b']) await add(`${label}.${child}`, id, depth + 1);
        };
        await add('root', null, 0);
        const [{ id: noted }] = await trx('fk_tree').insert({ label: 'noted', parent_id: 1, note: 'n' }).returning(['id', 'note']);
        await trx('fk_tree').insert({ label: 'under noted', parent_id: noted });
      }),
    );
    expect(kinds(statements).filter((kind) => kind.startsWith('insert'))).to.deep.equal(['insert fk_tree', 'insert fk_tree', 'insert fk_tree']);
    const rows = await knex('fk_tree as t').leftJoin('fk_tree as p', 'p.id', 't.parent_id').select('t.label', 'p.label as parent').orderBy('t.id');
    expect(rows).to.have.length(17);
    for (const { label, parent } of rows) {
      if (label === 'root') expect(parent).to.equal(null);
      else if (label === 'noted') expect(parent).to.equal('root');
      else if (label === 'under noted') expect(parent).to.equal('noted');
      else expect(parent).to.equal(label.slice(0, label.lastIndexOf('.')));
    }
  });

  it('writes a two-table foreign-key cycle in queue order', async () => {
    const { statements } = await recordStatements(knex, () =>
      batchTransaction(knex, async (trx) => {
        let previousB: number | null = null;
        for (let i = 0; i < 3; i++) {
          const [{ id: a }] = await trx('fk_a').insert({ name: `a${i}`, b_id: previousB }).returning('id');
          const [{ id: b }] = await trx('fk_b').insert({ name: `b${i}`, a_id: a }).returning('id');
          previousB = b;
        }
        await trx('fk_a').update({ b_id: previousB }).where({ name: 'a0' }); // closes the cycle; flushes first
      }),
    );
    expect(kinds(statements).filter((kind) => kind.startsWith('insert'))).to.have.length(6);
    const chain = await knex('fk_a as a').join('fk_b as b', 'b.id', 'a.b_id').select('a.name', 'b.name as b').orderBy('a.id');
    expect(chain).to.deep.equal([{ name: 'a0', b: 'b2' }, { name: 'a1', b: 'b0' }, { name: 'a2', b: 'b1' }]);
  });

  it('keeps queue order when a flush touches a table the catalog does not know (a view)', async () => {
    await knex.raw('create view fk_parents_view as select * from fk_parents');
    await batchTransaction(knex, async (trx) => {
      await trx('fk_children').insert({ parent_id: 1, name: 'first' });
      await trx('fk_parents_view').insert({ id: 1000, name: 'through the view' });
      await trx('fk_children').insert({ parent_id: 1000, name: 'second' });
    });
    expect(await knex('fk_children').where('parent_id', 1000).pluck('name')).to.deep.equal(['second']);
  });

  it('a BEFORE INSERT trigger that routes rows elsewhere (returns NULL): the rows plain knex would get', async () => {
    await knex.raw(`
      create table fk_routed (id serial primary key, v int);
      create table fk_routed_child () inherits (fk_routed);
      create function fk_route() returns trigger language plpgsql as $$ begin insert into fk_routed_child values (new.*); return null; end $$;
      create trigger route before insert on fk_routed for each row execute function fk_route()`);
    const body = (trx: Knex.Transaction) => Promise.all([trx('fk_routed').insert({ v: 1 }).returning('*'), trx('fk_routed').insert({ v: 2 }).returning('*')]);
    const plain = await knex.transaction(body);
    const batch = await batchTransaction(knex, body);
    expect(batch).to.deep.equal(plain);
    expect(await knex('fk_routed').count('* as n')).to.deep.equal([{ n: '4' }]);
  });

  it('sees a BEFORE INSERT trigger on a partition', async () => {
    await knex.raw(`
      create table fk_parted (id serial, name text, primary key (id)) partition by range (id);
      create table fk_parted_1 partition of fk_parted for values from (0) to (1000000);
      create function fk_parted_skip() returns trigger language plpgsql as $$ begin if new.name = 'skip' then return null; end if; return new; end $$;
      create trigger skip before insert on fk_parted_1 for each row execute function fk_parted_skip()`);
    const answers = await batchTransaction(knex, (trx) => Promise.all(['keep', 'skip'].map((name) => trx('fk_parted').insert({ name }).returning('id'))));
    expect(answers).to.deep.equal([[{ id: 1 }], []]);
  });

  it('writes a cycle filled table by table in one statement per table', async () => {
    await knex.raw('update fk_a set b_id = null; truncate fk_a, fk_b restart identity cascade');
    const { statements } = await recordStatements(knex, () =>
      batchTransaction(knex, async (trx) => {
        const as = [];
        for (let i = 0; i < 50; i++) as.push((await trx('fk_a').insert({ name: `a${i}` }).returning('id'))[0].id);
        for (const [i, a_id] of as.entries()) await trx('fk_b').insert({ name: `b${i}`, a_id });
      }),
    );
    expect(kinds(statements).filter((kind) => kind.startsWith('insert'))).to.deep.equal(['insert fk_a', 'insert fk_b']);
    expect(await knex('fk_b').count('* as n')).to.deep.equal([{ n: '50' }]);
  });

  it('joins staged COPY text of parents and children to the next flush: one COPY per table, parents first', async function () {
    if (databaseSource() === 'PGlite') this.skip(); // its socket server has no COPY FROM STDIN: nothing is staged
    await knex.raw('truncate fk_children; delete from fk_parents where id > 1');
    const db = newKnex();
    const flushes: FlushStats[] = [];
    const { statements } = await recordStatements(db, () =>
      batchTransaction(db, async (trx) => {
        for (let i = 0; i < 8000; i++) {
          allocateYoung(i); // the queue ages every few thousand rows
          const [{ id }] = await trx('fk_parents').insert({ name: `p${i}` }).returning('id');
          await trx('fk_children').insert({ parent_id: id, name: `c${i}` });
        }
      }, { onFlush: (stats) => flushes.push(stats) }),
    );
    // 16,000 rows: the transaction's first 4,000 in flushes of 400 (RAMP_ROWS in queue-policy.ts), then the flush at 10,000
    // (staged text and the queue) and the one before COMMIT
    expect(flushes.map(({ rows }) => rows)).to.deep.equal([...Array<number>(10).fill(400), 10_000, 2000]);
    expect(flushes[10].staged).to.be.greaterThan(0);
    expect(kinds(statements).filter((kind) => kind.startsWith('copy') || kind.startsWith('insert')))
      .to.deep.equal(Array.from({ length: 12 }, () => ['copy fk_parents', 'copy fk_children']).flat());
    const wrong = await db('fk_children as c').join('fk_parents as p', 'p.id', 'c.parent_id')
      .whereRaw("substr(c.name, 2) <> substr(p.name, 2)").count('* as n');
    expect(wrong).to.deep.equal([{ n: '0' }]);
    expect(await db('fk_children').count('* as n')).to.deep.equal([{ n: '8000' }]);
  });
});
