// The reference library's demo, written as plain sequential knex code.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { batchTransaction } from '../src';
import { newKnex } from './support/setup';
import { kinds, recordStatements } from './support/statements';

const USERS = Array.from({ length: 100 }, (_, i) => ({ name: `user ${i}` }));

async function addUser(trx: Knex.Transaction, user: { name: string }, i: number): Promise<void> {
  const [{ id }] = await trx('demo_users').insert(user).returning('id');
  await trx('demo_addresses').insert({ user_id: id, email: `${i}a@example.com` });
  await trx('demo_addresses').insert({ user_id: id, email: `${i}b@example.com` });
}

async function addAllSequentially(trx: Knex.Transaction): Promise<void> {
  for (const [i, user] of USERS.entries()) await addUser(trx, user, i);
}

async function addAllAtOnce(trx: Knex.Transaction): Promise<void> {
  await Promise.all(USERS.map((user, i) => addUser(trx, user, i)));
}

describe('the reference demo: 100 users with 2 addresses each', () => {
  let knex: Knex;

  before(async () => {
    knex = newKnex();
    await knex.raw(`
      create table demo_users (id bigserial primary key, name text not null, created_at timestamptz not null default now());
      create table demo_addresses (id bigserial primary key, user_id bigint not null references demo_users (id), email text not null)`);
  });
  beforeEach(() => knex.raw('truncate demo_users, demo_addresses restart identity'));

  const rows = async () => ({
    users: await knex('demo_users').select('id', 'name').orderBy('id'),
    addresses: await knex('demo_addresses').select('id', 'user_id', 'email').orderBy('id'),
  });
  const addressesByUser = async () =>
    (await knex('demo_addresses as a').join('demo_users as u', 'u.id', 'a.user_id').select('u.name', 'a.email'))
      .map(({ name, email }) => `${name} ${email}`)
      .sort();

  it('plain knex.transaction sends 302 statements', async () => {
    const { statements } = await recordStatements(knex, () => knex.transaction(addAllSequentially));
    expect(statements).to.have.length(302);
  });

  it('batchTransaction sends 7 statements in the first transaction of a process and writes the same rows', async () => {
    await knex.transaction(addAllSequentially);
    const plain = await rows();
    await knex.raw('truncate demo_users, demo_addresses restart identity');

    const cold = newKnex(); // nothing cached yet, as in a new process
    const { statements } = await recordStatements(cold, () => batchTransaction(cold, addAllSequentially));
    // the catalog query also draws the first id; then blocks of 32 and 99
    expect(kinds(statements)).to.deep.equal(['BEGIN', 'catalog', 'ids', 'ids', 'insert demo_users', 'insert demo_addresses', 'COMMIT']);
    expect(await rows()).to.deep.equal(plain);
  });

  it('runs the same code in 7 statements once the catalog is cached', async () => {
    const warm = newKnex();
    await batchTransaction(warm, async (trx) => void (await trx('demo_users').insert({ name: 'warm-up' })));
    await knex.raw('truncate demo_users, demo_addresses restart identity');
    const { statements } = await recordStatements(warm, () => batchTransaction(warm, addAllSequentially));
    expect(kinds(statements)).to.deep.equal(['BEGIN', 'ids', 'ids', 'ids', 'insert demo_users', 'insert demo_addresses', 'COMMIT']);
  });

  it('runs it again in 5 statements: the first block of ids is what the last transaction used (bigint keys)', async () => {
    const db = newKnex();
    await batchTransaction(db, addAllSequentially);
    await knex.raw('truncate demo_users, demo_addresses restart identity');
    const { statements } = await recordStatements(db, () => batchTransaction(db, addAllSequentially));
    expect(kinds(statements)).to.deep.equal(['BEGIN', 'ids', 'insert demo_users', 'insert demo_addresses', 'COMMIT']);
    expect(await knex('demo_users').max('id as max')).to.deep.equal([{ max: '100' }]); // no id left unused
  });

  it('under Promise.all: 5 statements, in a new process too, and the same data', async () => {
    await knex.transaction(addAllSequentially);
    const plain = await addressesByUser();

    for (const [label, expected] of [['cold', ['BEGIN', 'catalog']], ['warm', ['BEGIN', 'ids']]] as const) {
      await knex.raw('truncate demo_users, demo_addresses restart identity');
      const db = label === 'cold' ? newKnex() : knex;
      if (label === 'warm') await batchTransaction(db, async (trx) => void (await trx('demo_users').insert({ name: 'x' })));
      await knex.raw('truncate demo_users, demo_addresses restart identity');
      const { statements } = await recordStatements(db, () => batchTransaction(db, addAllAtOnce));
      expect(kinds(statements), label).to.deep.equal([...expected, 'insert demo_users', 'insert demo_addresses', 'COMMIT']);
      expect(await addressesByUser(), label).to.deep.equal(plain);
      expect((await rows()).users.map(({ id }) => Number(id)), label).to.deep.equal(USERS.map((_, i) => i + 1));
    }
  });
});
