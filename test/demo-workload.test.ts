// The reference library's demo, written as plain sequential knex code.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { batchTransaction } from '../src';
import { newKnex } from './support/setup';
import { kinds, recordRoundTrips, recordStatements } from './support/statements';

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

/** The statements knex announces while `work` runs, by kind, and the round trips they took. */
async function sent(db: Knex, work: () => Promise<unknown>): Promise<{ statements: string[]; roundTrips: number }> {
  const { result, roundTrips } = await recordRoundTrips(() => recordStatements(db, work));
  return { statements: kinds(result.statements), roundTrips: roundTrips.length };
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

  it('plain knex.transaction sends 302 statements in 302 round trips', async () => {
    expect(await sent(knex, () => knex.transaction(addAllSequentially))).to.deep.include({ roundTrips: 302 }).and.have.nested.property('statements.length', 302);
  });

  it('batchTransaction sends 7 statements in 6 round trips in the first transaction of a process and writes the same rows', async () => {
    await knex.transaction(addAllSequentially);
    const plain = await rows();
    await knex.raw('truncate demo_users, demo_addresses restart identity');

    const cold = newKnex(); // nothing cached yet, as in a new process
    await cold.raw('select 1'); // knex's own queries on a new connection (server version, search_path), which plain knex pays too
    // the catalog query carries the BEGIN and draws the first id; then blocks of 32 and 99
    expect(await sent(cold, () => batchTransaction(cold, addAllSequentially))).to.deep.equal({
      statements: ['BEGIN', 'catalog', 'ids', 'ids', 'insert demo_users', 'insert demo_addresses', 'COMMIT'],
      roundTrips: 6,
    });
    expect(await rows()).to.deep.equal(plain);
  });

  it('runs the same code in 7 statements, 6 round trips, once the catalog is cached', async () => {
    const warm = newKnex();
    await batchTransaction(warm, async (trx) => void (await trx('demo_users').insert({ name: 'warm-up' })));
    await knex.raw('truncate demo_users, demo_addresses restart identity');
    expect(await sent(warm, () => batchTransaction(warm, addAllSequentially))).to.deep.equal({
      statements: ['BEGIN', 'ids', 'ids', 'ids', 'insert demo_users', 'insert demo_addresses', 'COMMIT'],
      roundTrips: 6,
    });
  });

  it('runs it again in 5 statements, 4 round trips: the first block of ids is what the last transaction used (bigint keys)', async () => {
    const db = newKnex();
    await batchTransaction(db, addAllSequentially);
    await knex.raw('truncate demo_users, demo_addresses restart identity');
    expect(await sent(db, () => batchTransaction(db, addAllSequentially))).to.deep.equal({
      statements: ['BEGIN', 'ids', 'insert demo_users', 'insert demo_addresses', 'COMMIT'],
      roundTrips: 4,
    });
    expect(await knex('demo_users').max('id as max')).to.deep.equal([{ max: '100' }]); // no id left unused
  });

  it('under Promise.all: 5 statements, 4 round trips, in a new process too, and the same data', async () => {
    await knex.transaction(addAllSequentially);
    const plain = await addressesByUser();

    for (const [label, expected] of [['cold', ['BEGIN', 'catalog']], ['warm', ['BEGIN', 'ids']]] as const) {
      await knex.raw('truncate demo_users, demo_addresses restart identity');
      const db = label === 'cold' ? newKnex() : knex;
      await db.raw('select 1'); // a new connection's own queries, outside the count
      if (label === 'warm') await batchTransaction(db, async (trx) => void (await trx('demo_users').insert({ name: 'x' })));
      await knex.raw('truncate demo_users, demo_addresses restart identity');
      expect(await sent(db, () => batchTransaction(db, addAllAtOnce)), label).to.deep.equal({
        statements: [...expected, 'insert demo_users', 'insert demo_addresses', 'COMMIT'],
        roundTrips: 4,
      });
      expect(await addressesByUser(), label).to.deep.equal(plain);
      expect((await rows()).users.map(({ id }) => Number(id)), label).to.deep.equal(USERS.map((_, i) => i + 1));
    }
  });
});
