// A bad row fails the transaction with the PostgreSQL error intact, naming the
// table, the column where known and the line that queued it; nothing is written.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { BatchInsertError, batchTransaction } from '../src';
import { databaseSource, newKnex } from './support/setup';
import { allocateYoung } from './support/young-garbage';

/** `file:line` of the caller, to compare with an error's `queuedAt`. */
function here(): string {
  const frame = new Error().stack!.split('\n')[2];
  return /(\/[^():]+:\d+):\d+\)?$/.exec(frame)![1];
}

/**
 * Awaits `count` inserts into e_people while allocating young garbage, so
 * that the queue ages and, on PostgreSQL, is staged as COPY text; the one at
 * `bad` has an age that is no number. Returns the line that queued it.
 */
async function queueAgingPeople(trx: Knex.Transaction, count: number, bad: number): Promise<string> {
  let site = '';
  for (let i = 0; i < count; i++) {
    allocateYoung(i);
    if (i === bad) {
      site = here(); await trx('e_people').insert({ email: 'bad@x', name: 'bad', age: 'forty' }); // prettier-ignore
    } else {
      await trx('e_people').insert({ email: `ok${i}@x`, name: 'ok', age: i });
    }
  }
  return site;
}

describe('errors', () => {
  let knex: Knex;

  before(async () => {
    knex = newKnex();
    await knex.raw('create table e_people (id serial primary key, email text not null unique, age int, name text not null)');
  });
  beforeEach(() => knex.raw("truncate e_people restart identity; insert into e_people (email, name) values ('taken@x', 'Existing')"));
  const count = async () => Number((await knex('e_people').count('* as n'))[0].n);

  it('a NULL in a NOT NULL column: code, column, table, PostgreSQL message and the line that queued the row', async () => {
    let site = '';
    const error = await batchTransaction(knex, async (trx) => {
      for (let i = 0; i < 10; i++) await trx('e_people').insert({ email: `ok${i}@x`, name: 'ok' });
      site = here(); await trx('e_people').insert({ email: 'bad@x', name: null }); // prettier-ignore
      for (let i = 10; i < 20; i++) await trx('e_people').insert({ email: `ok${i}@x`, name: 'ok' });
    }).catch((e) => e);
    expect(error).to.be.instanceOf(BatchInsertError);
    expect(error).to.include({ code: '23502', column: 'name', table: 'e_people' });
    expect(error.queuedAt).to.match(new RegExp(`^${site}:`));
    expect(error.stack.split('\n')[error.message.split('\n').length]).to.contain(site);
    expect(error.message).to.contain('insert into e_people failed: null value in column "name" of relation "e_people" violates not-null constraint');
    expect(error.cause.message).to.equal('null value in column "name" of relation "e_people" violates not-null constraint');
    expect(await count()).to.equal(1);
  });

  it('after the first 100 inserts lines are sampled: an unrecorded insert names the last recorded line into its table; captureCallSites: true records all', async () => {
    const sites = { loop: '', bad: '' };
    const load = (trx: Knex.Transaction) => async () => {
      for (let i = 0; i < 1249; i++) {
        sites.loop = here(); await trx('e_people').insert({ email: `ok${i}@x`, name: 'ok' }); // prettier-ignore
      }
      sites.bad = here(); await trx('e_people').insert({ email: 'bad@x', name: null }); // prettier-ignore: the 1,250th insert, not one in 100
    };
    const sampled = await batchTransaction(knex, (trx) => load(trx)()).catch((e) => e);
    expect(sampled).to.include({ code: '23502', column: 'name', table: 'e_people' });
    expect(sampled.queuedAt).to.equal(undefined);
    expect(sampled.message).to.match(new RegExp(`row 0 of the insert queued at a line not recorded; the last recorded insert into e_people was queued at ${sites.loop}:\\d+ \\(`));
    const recorded = await batchTransaction(knex, (trx) => load(trx)(), { captureCallSites: true }).catch((e) => e);
    expect(recorded.queuedAt).to.match(new RegExp(`^${sites.bad}:`));
    expect(await count()).to.equal(1);
  });

  it('a bad row among rows sent by COPY: the row and the line that queued it, from the line PostgreSQL names', async function () {
    if (databaseSource() === 'PGlite') this.skip(); // its socket server has no COPY FROM STDIN: rows go as INSERTs
    let site = '';
    const error = await batchTransaction(knex, async (trx) => {
      for (let i = 0; i < 1500; i++) await trx('e_people').insert({ email: `ok${i}@x`, name: 'ok', age: i });
      site = here(); await trx('e_people').insert({ email: 'bad@x', name: 'tab\tand\nnewline', age: 'forty' }); // prettier-ignore
      for (let i = 1500; i < 3000; i++) await trx('e_people').insert({ email: `ok${i}@x`, name: 'ok', age: i });
    }).catch((e) => e);
    expect(error).to.be.instanceOf(BatchInsertError);
    expect(error).to.include({ code: '22P02', table: 'e_people' });
    // the transaction's first rows go in flushes of 400 (RAMP_QUEUE_ROWS in queue-policy.ts): the 1,501st is line 301 of the fourth
    expect(error.where).to.match(/^COPY e_people, line 301, column age/);
    expect(error.queuedAt).to.match(new RegExp(`^${site}:`));
    expect(error.message).to.contain('row 0 of the insert queued at');
    expect(await count()).to.equal(1);
  });

  it('a unique key repeated in a COPY whose awaits were answered names the row at the line PostgreSQL gives and the other row', async function () {
    if (databaseSource() === 'PGlite') this.skip(); // its socket server has no COPY FROM STDIN: rows go as INSERTs
    const sites = { first: '', second: '' };
    const error = await batchTransaction(knex, async (trx) => {
      for (let i = 0; i < 1500; i++) {
        if (i === 100) {
          sites.first = here(); await trx('e_people').insert({ email: 'twice@x', name: 'first' }); // prettier-ignore
        } else if (i === 300) {
          sites.second = here(); await trx('e_people').insert({ email: 'twice@x', name: 'second' }); // prettier-ignore
        } else {
          await trx('e_people').insert({ email: `ok${i}@x`, name: 'ok' });
        }
      }
    }, { captureCallSites: true }).catch((e) => e);
    expect(error).to.include({ code: '23505', table: 'e_people', detail: 'Key (email)=(twice@x) already exists.' });
    expect(error.where).to.match(/^COPY e_people, line 301/); // both in the transaction's first flush, of 400 rows
    expect(error.queuedAt).to.match(new RegExp(`^${sites.second}:`));
    expect(error.message).to.contain(`2 rows of the statement have this key; the others were queued at ${sites.first}:`);
    expect(await count()).to.equal(1);
  });

  it('a foreign-key violation in a COPY whose awaits were answered names its row and line, read back from the COPY text', async function () {
    if (databaseSource() === 'PGlite') this.skip(); // its socket server has no COPY FROM STDIN: rows go as INSERTs
    await knex.raw('create table e_pets (id serial primary key, owner_id int not null references e_people (id), name text)');
    try {
      const sites = { loop: '', bad: '' };
      const error = await batchTransaction(knex, async (trx) => {
        for (let i = 0; i < 1200; i++) {
          sites.loop = here(); await trx('e_pets').insert({ owner_id: 1, name: `pet\t${i}` }); // prettier-ignore
          if (i === 700) {
            sites.bad = here(); await trx('e_pets').insert({ owner_id: 404, name: 'stray' }); // prettier-ignore
          }
        }
      }, { captureCallSites: true }).catch((e) => e);
      expect(error).to.be.instanceOf(BatchInsertError);
      expect(error).to.include({ code: '23503', table: 'e_pets', detail: 'Key (owner_id)=(404) is not present in table "e_people".' });
      expect(error.where).to.not.match(/line \d+/); // checked at the end of the COPY: only the values tell the row
      expect(error.queuedAt).to.match(new RegExp(`^${sites.bad}:`));
      expect(error.message).to.contain('row 0 of the insert queued at');
      expect(Number((await knex('e_pets').count('* as n'))[0].n)).to.equal(0);
    } finally {
      await knex.raw('drop table e_pets');
    }
  });

  it('a bad row in a COPY that carries staged text: the line PostgreSQL names counts from the first staged row', async function () {
    if (databaseSource() === 'PGlite') this.skip(); // its socket server has no COPY FROM STDIN: rows go as INSERTs
    let site = '';
    const error = await batchTransaction(knex, async (trx) => {
      site = await queueAgingPeople(trx, 12_000, 9000);
    }).catch((e) => e);
    // after the transaction's first 4,000 rows (RAMP_ROWS in queue-policy.ts), the queue aged every few thousand rows;
    // flushed each time, the bad row would be on another line of another COPY
    expect(error).to.include({ code: '22P02', table: 'e_people' });
    expect(error.where).to.match(/^COPY e_people, line 5001, column age/);
    expect(error.queuedAt).to.match(new RegExp(`^${site}:`));
    expect(await count()).to.equal(1);
  });

  it('a bad row in staged text sent before ids of its table are drawn: the await that asked for them gets its error', async function () {
    if (databaseSource() === 'PGlite') this.skip(); // its socket server has no COPY FROM STDIN: rows go as INSERTs
    let site = '';
    const error = await batchTransaction(knex, async (trx) => {
      site = await queueAgingPeople(trx, 9000, 6000); // after the transaction's first 4,000 rows (RAMP_ROWS in queue-policy.ts)
      // the queue aged and was staged, its rows' ids left to the column default: it goes before ids are drawn
      const outcome = await trx('e_people').insert({ email: 'last@x', name: 'last', age: 1 }).returning('id').catch((e) => e);
      expect(outcome).to.be.an('error'); // this await's draw waited for the staged text, which failed
      throw outcome;
    }).catch((e) => e);
    expect(error).to.include({ code: '22P02', table: 'e_people' });
    expect(error.where).to.match(/^COPY e_people, line 2001, column age/);
    expect(error.queuedAt).to.match(new RegExp(`^${site}:`));
    expect(await count()).to.equal(1);
  });

  it('a foreign-key violation in staged text names its row from the values kept with the text', async function () {
    if (databaseSource() === 'PGlite') this.skip(); // its socket server has no COPY FROM STDIN: rows go as INSERTs
    await knex.raw('create table e_pets (id serial primary key, owner_id int not null references e_people (id), name text)');
    try {
      let site = '';
      const error = await batchTransaction(knex, async (trx) => {
        for (let i = 0; i < 12_000; i++) {
          allocateYoung(i);
          if (i === 700) {
            site = here(); await trx('e_pets').insert({ owner_id: 404, name: 'stray' }); // prettier-ignore
          } else {
            await trx('e_pets').insert({ owner_id: 1, name: `pet ${i}` });
          }
        }
      }, { captureCallSites: true }).catch((e) => e);
      expect(error).to.include({ code: '23503', table: 'e_pets', detail: 'Key (owner_id)=(404) is not present in table "e_people".' });
      expect(error.queuedAt).to.match(new RegExp(`^${site}:`));
      expect(error.message).to.contain('row 0 of the insert queued at');
      expect(Number((await knex('e_pets').count('* as n'))[0].n)).to.equal(0);
    } finally {
      await knex.raw('drop table e_pets');
    }
  });

  it('a value pg cannot turn into text, met while COPY text is staged, fails the transaction naming the table', async function () {
    if (databaseSource() === 'PGlite') this.skip(); // its socket server has no COPY FROM STDIN: nothing is staged
    await knex.raw('create table e_docs (id serial primary key, body jsonb)');
    try {
      const error = await batchTransaction(knex, async (trx) => {
        for (let i = 0; i < 6000; i++) {
          allocateYoung(i);
          await trx('e_docs').insert({ body: { n: i === 1000 ? 1n : i } });
        }
      }).catch((e) => e);
      expect(error).to.be.instanceOf(BatchInsertError);
      expect(error.message).to.match(/^insert into e_docs failed: Do not know how to serialize a BigInt/);
      expect(error.message).to.contain('queued at');
      expect(Number((await knex('e_docs').count('* as n'))[0].n)).to.equal(0);
    } finally {
      await knex.raw('drop table e_docs');
    }
  });

  it('the last flush carries the COMMIT: a key checked at COMMIT fails the transaction with the error intact, nothing written', async function () {
    if (databaseSource() === 'PGlite') this.skip(); // its socket server has no COPY FROM STDIN: rows go as INSERTs, COMMIT on its own
    await knex.raw('create table e_codes (id serial primary key, code text unique deferrable initially deferred)');
    try {
      const error = await batchTransaction(knex, async (trx) => {
        for (let i = 0; i < 1200; i++) await trx('e_codes').insert({ code: i === 900 ? 'c300' : `c${i}` });
      }).catch((e) => e);
      expect(error).to.be.instanceOf(BatchInsertError);
      expect(error).to.include({ code: '23505', constraint: 'e_codes_code_key', detail: 'Key (code)=(c300) already exists.' });
      expect(error.message).to.match(/^knex-batch-inserts: COMMIT, sent with the last flush, failed: duplicate key/);
      expect(Number((await knex('e_codes').count('* as n'))[0].n)).to.equal(0);
      // the connection is usable again
      expect(await batchTransaction(knex, async (trx) => (await trx('e_codes').insert({ code: 'after' }).returning('code'))[0].code)).to.equal('after');
    } finally {
      await knex.raw('drop table e_codes');
    }
  });

  it('a deferrable unique key, checked once the COPY is read, names both rows of the repeated key from their values', async function () {
    if (databaseSource() === 'PGlite') this.skip(); // its socket server has no COPY FROM STDIN: rows go as INSERTs
    await knex.raw('create table e_tags (id serial primary key, label text unique deferrable initially immediate)');
    try {
      let site = '';
      const error = await batchTransaction(knex, async (trx) => {
        for (let i = 0; i < 1200; i++) {
          await trx('e_tags').insert({ label: `tag ${i}` });
          if (i === 350) { // in the transaction's first flush, of 400 rows, with tag 300
            site = here(); await trx('e_tags').insert({ label: 'tag 300' }); // prettier-ignore
          }
        }
      }, { captureCallSites: true }).catch((e) => e);
      expect(error).to.be.instanceOf(BatchInsertError);
      expect(error).to.include({ code: '23505', table: 'e_tags', detail: 'Key (label)=(tag 300) already exists.' });
      expect(error.where ?? '').to.not.match(/line \d+/); // checked by an AFTER trigger at the end of the COPY
      expect(error.message).to.contain('row 0 of the insert queued at');
      expect(error.message).to.contain(`2 rows of the statement have this key; the others were queued at ${site}:`);
      expect(Number((await knex('e_tags').count('* as n'))[0].n)).to.equal(0);
    } finally {
      await knex.raw('drop table e_tags');
    }
  });

  it('a unique violation names the duplicate row among rows queued elsewhere', async () => {
    let site = '';
    const error = await batchTransaction(knex, async (trx) => {
      await trx('e_people').insert([{ email: 'a@x', name: 'a' }, { email: 'b@x', name: 'b' }]);
      site = here(); trx('e_people').insert({ email: 'taken@x', name: 'dup' }); // prettier-ignore
      await trx('e_people').insert({ email: 'c@x', name: 'c' });
    }).catch((e) => e);
    expect(error).to.include({ code: '23505', constraint: 'e_people_email_key', detail: 'Key (email)=(taken@x) already exists.' });
    expect(error.queuedAt).to.match(new RegExp(`^${site}:`));
    expect(await count()).to.equal(1);
  });

  it('a key repeated inside the batch names every line that queued it', async () => {
    const sites: string[] = [];
    const error = await batchTransaction(knex, async (trx) => {
      sites.push(here()); trx('e_people').insert({ email: 'same@x', name: 'a' }); // prettier-ignore
      trx('e_people').insert({ email: 'other@x', name: 'b' });
      sites.push(here()); trx('e_people').insert({ email: 'same@x', name: 'c' }); // prettier-ignore
    }).catch((e) => e);
    expect(error.code).to.equal('23505');
    expect(error.message).to.contain(`queued at ${sites[0]}:`);
    expect(error.message).to.contain(`2 rows of the statement have this key; the others were queued at ${sites[1]}:`);
  });

  it('text that is not a number names its row; every await of the failed flush rejects with the same error', async () => {
    let site = '';
    let awaited: unknown;
    const error = await batchTransaction(knex, async (trx) => {
      const rows = [{ email: 'p@x', name: 'p', age: 3 }, { email: 'q@x', name: 'q', age: 'three' }, { email: 'r@x', name: 'r', age: 4 }];
      const inserts = rows.map((row) => {
        if (row.email === 'q@x') site = here();
        return trx('e_people').insert(row).returning('*');
      });
      awaited = await Promise.all(inserts).catch((e) => e);
      throw awaited;
    }).catch((e) => e);
    expect(error).to.equal(awaited);
    expect(error).to.include({ code: '22P02' });
    expect(error.queuedAt).to.match(new RegExp(`^${site.replace(/:\d+$/, '')}:`));
    expect(await count()).to.equal(1);
  });

  it('an error in a row whose await already resolved surfaces at the next statement', async () => {
    const error = await batchTransaction(knex, async (trx) => {
      const [{ id }] = await trx('e_people').insert({ email: 'taken@x', name: 'dup' }).returning('id'); // a pre-allocated id
      expect(id).to.equal(2);
      await trx('e_people').select('*');
      expect.fail('the select should have failed');
    }).catch((e) => e);
    expect(error).to.include({ code: '23505', table: 'e_people' });
  });

  it('after a failed flush, later statements and the commit reject with the first failure', async () => {
    let later: unknown;
    const error = await batchTransaction(knex, async (trx) => {
      const failed = await trx('e_people').insert({ email: 'taken@x', name: 'dup' }).returning('*').catch((e) => e);
      later = await trx('e_people').select('*').catch((e) => e);
      expect(later).to.equal(failed);
    }).catch((e) => e);
    expect(error).to.equal(later);
    expect(error.code).to.equal('23505');
  });

  it('refuses unusable input when it is queued, saying what and where; its await rejects and nothing is lost', async () => {
    await batchTransaction(knex, async (trx) => {
      const refused = async (queued: Promise<unknown>, what: RegExp, site: string) => {
        const error = await queued.then(() => undefined, (e) => e);
        expect(error, String(what)).to.be.instanceOf(BatchInsertError);
        expect(error.message).to.match(what);
        expect(error.queuedAt).to.match(new RegExp(`^${site}:`));
      };
      await refused(trx('e_people').insert([]), /inserts an empty array/, here());
      await refused(trx('e_people').insert({ email: 'f@x', name: () => 'x' }), /has a function as the value of column "name"/, here());
      await refused(trx('e_people').insert({ email: Symbol('s'), name: 'x' }), /has a symbol as the value of column "email"/, here());
      await refused(trx('e_people').insert([{ email: 'ok@x', name: 'x' }, null]), /row 1 is null, not an object/, here());
      await refused(trx.insert({ email: 'n@x', name: 'n' }), /names no table/, here());
      await trx('e_people').insert({ email: 'kept@x', name: 'kept' });
    });
    expect(await knex('e_people').pluck('email')).to.deep.equal(['taken@x', 'kept@x']);
  });

  it('a refused insert that is never awaited fails the transaction at the flush', async () => {
    let site = '';
    const error = await batchTransaction(knex, async (trx) => {
      await trx('e_people').insert({ email: 'lost?@x', name: 'x' });
      site = here(); trx('e_people').insert([]); // prettier-ignore
    }).catch((e) => e);
    expect(error.message).to.match(/inserts an empty array/);
    expect(error.queuedAt).to.match(new RegExp(`^${site}:`));
    expect(await count()).to.equal(1);
  });
});
