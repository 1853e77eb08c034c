// Values are bound as knex binds them; undefined means DEFAULT.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { batchTransaction } from '../src';
import { databaseSource, newKnex } from './support/setup';

describe('values', () => {
  let knex: Knex;

  before(async () => {
    knex = newKnex();
    await knex.raw(`create table v_values (
      id serial primary key, at timestamptz, bytes bytea, doc jsonb, plain_json json, numbers int[], note text default 'default note', maybe text)`);
  });
  beforeEach(() => knex.raw('truncate v_values restart identity'));

  const rows = [
    { at: new Date('2026-11-24T10:00:00Z'), bytes: Buffer.from([0, 1, 255]), doc: { a: [1, { b: null }] }, plain_json: { x: 'y' }, numbers: [1, 2, 3], maybe: null },
    { at: undefined, bytes: null, doc: { nested: { deep: true } }, numbers: [], note: undefined, maybe: 'set' },
    { doc: 'just a string in quotes'.length, note: 'given' },
  ];

  it('writes what plain knex writes, row for row', async () => {
    await knex.transaction(async (trx) => {
      for (const row of rows) await trx('v_values').insert(row);
    });
    const plain = await knex('v_values').select('*').orderBy('id');
    await knex.raw('truncate v_values restart identity');
    await batchTransaction(knex, async (trx) => {
      for (const row of rows) await trx('v_values').insert(row);
    });
    const batch = await knex('v_values').select('*').orderBy('id');
    expect(batch).to.deep.equal(plain);
    expect(batch[1].note).to.equal('default note');
    expect(batch[0].bytes).to.deep.equal(Buffer.from([0, 1, 255]));
  });

  it('sends the same values by COPY as knex binds: dates, JSON, arrays, escapes, NULL, booleans, bigints', async () => {
    await knex.raw(`create table v_copy (id serial primary key, at timestamptz, day date, doc jsonb, numbers int[], words text[],
      note text, flag boolean, big int8, ratio float8)`);
    const copyRows = Array.from({ length: 1200 }, (_, i) => ({
      at: new Date(Date.UTC(2026, 10, 24, 10, 0, i % 60, i % 1000)),
      day: '2026-11-24',
      doc: { i, text: 'tab\there, newline\nthere, backslash \\ and "quotes"', list: [1, null, { deep: 'ü' }] },
      numbers: [i, -i, 0],
      words: ['a,b', 'c"d', 'e\\f', null, ''],
      note: i % 7 === 0 ? null : `line\r\nbreak\t${'\\N'} ${i}`,
      flag: i % 2 === 0,
      big: 9007199254740993n + BigInt(i),
      ratio: i / 3,
    }));
    const insertAll = async (trx: Knex.Transaction) => {
      for (const row of copyRows) await trx('v_copy').insert(row);
    };
    await knex.transaction(insertAll);
    const plain = await knex('v_copy').select('*').orderBy('id');
    await knex.raw('truncate v_copy restart identity');
    const statements: string[] = [];
    const db = newKnex().on('query', ({ sql }: { sql: string }) => statements.push(sql));
    await batchTransaction(db, insertAll);
    await db.destroy();
    // three flushes of 400 rows, the transaction's first (RAMP_QUEUE_ROWS in queue-policy.ts); PGlite has no COPY FROM STDIN
    expect(statements.filter((sql) => sql.startsWith('copy '))).to.have.length(databaseSource() === 'PGlite' ? 0 : 3);
    expect(await knex('v_copy').select('*').orderBy('id')).to.deep.equal(plain);
  });

  it('binds arrays for json and jsonb columns as JSON (plain knex sends them as PostgreSQL arrays, which fails)', async () => {
    const answer = await batchTransaction(knex, (trx) =>
      trx('v_values').insert({ doc: [1, 'two', { three: 3 }], plain_json: [[1], []], numbers: [4, 5] }).returning(['doc', 'plain_json', 'numbers']),
    );
    expect(answer).to.deep.equal([{ doc: [1, 'two', { three: 3 }], plain_json: [[1], []], numbers: [4, 5] }]);
    const plain = await knex.transaction((trx) => trx('v_values').insert({ doc: [1, 'two'] })).catch((error) => error);
    expect(plain.code).to.equal('22P02');
  });
});
