// What is queued, when it is written, and what each await resolves to.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { batchTransaction, type FlushStats } from '../src';
import { QueuePolicy } from '../src/queue-policy';
import { databaseSource, newKnex } from './support/setup';
import { allocateYoung } from './support/young-garbage';
import { kinds, recordStatements } from './support/statements';

describe('queueing and flushing', () => {
  let knex: Knex;
  const names = async (table = 'q_items') => (await knex(table).select('name').orderBy('id')).map(({ name }) => name);

  before(async () => {
    knex = newKnex();
    await knex.raw(`
      create table q_items (id bigserial primary key, name text not null, tags text[], meta jsonb, created_at timestamptz not null default now());
      create table q_copies (name text not null, id serial primary key)`);
  });
  beforeEach(() => knex.raw('truncate q_items, q_copies restart identity'));

  it('writes bare statements that are never awaited, in one INSERT before COMMIT', async () => {
    const db = newKnex();
    const { statements } = await recordStatements(db, () =>
      batchTransaction(db, (trx) => {
        for (let i = 0; i < 50; i++) trx('q_items').insert({ name: `bare ${i}` });
      }),
    );
    expect(kinds(statements)).to.deep.equal(['BEGIN', 'catalog', 'insert q_items', 'COMMIT']);
    expect(await names()).to.deep.equal(Array.from({ length: 50 }, (_, i) => `bare ${i}`));
  });

  it('never writes a builder that is only compiled, and writes a compiled one that is awaited once', async () => {
    await batchTransaction(knex, async (trx) => {
      const compiled = trx('q_items').insert({ name: 'compiled only' });
      expect(compiled.toSQL().sql).to.match(/^insert into "q_items"/);
      expect(String(compiled)).to.contain('compiled only');
      const awaited = trx('q_items').insert({ name: 'compiled and awaited' });
      awaited.toString();
      await awaited;
    });
    expect(await names()).to.deep.equal(['compiled and awaited']);
  });

  it('answers Promise.all of 1,000 inserts returning * with one flush, each await with its own row', async () => {
    const db = newKnex();
    const inputs = Array.from({ length: 1000 }, (_, i) => ({ name: `row ${i}`, tags: [`t${i}`], meta: { i } }));
    const { result, statements } = await recordStatements(db, () =>
      batchTransaction(db, (trx) => Promise.all(inputs.map((row) => trx('q_items').insert(row).returning('*')))),
    );
    expect(kinds(statements)).to.deep.equal(['BEGIN', 'catalog', 'ids', 'insert q_items', 'COMMIT']);
    expect(result).to.have.length(1000);
    result.forEach((rows, i) => {
      expect(rows).to.have.length(1);
      expect(rows[0]).to.include({ name: `row ${i}` });
      expect(rows[0].tags).to.deep.equal([`t${i}`]);
      expect(rows[0].meta).to.deep.equal({ i });
      expect(rows[0].created_at).to.be.instanceOf(Date);
    });
    const stored = await knex('q_items').select('*').orderBy('id');
    expect(result.map(([row]) => row)).to.deep.equal(stored);
  });

  it('writes on trx.flush(), so that a select after it sees the rows; flush stats say what was sent', async () => {
    const db = newKnex();
    const seen: FlushStats[] = [];
    await batchTransaction(db, async (trx) => {
      for (let i = 0; i < 10; i++) await trx('q_items').insert({ name: `first ${i}` });
      const stats = await trx.flush();
      expect(stats).to.include({ groups: 1, rows: 10, statements: 1, roundTrips: 2 });
      expect(stats.ms).to.be.a('number');
      expect(await trx('q_items').count('* as n')).to.deep.equal([{ n: '10' }]);
      expect(await trx.flush()).to.include({ rows: 0, statements: 0, roundTrips: 0 });
      await trx('q_items').insert({ name: 'last' });
    }, { onFlush: (stats) => seen.push(stats) });
    expect(seen.map(({ rows, statements, roundTrips }) => ({ rows, statements, roundTrips }))).to.deep.equal([
      { rows: 10, statements: 1, roundTrips: 2 },
      { rows: 1, statements: 1, roundTrips: 1 },
    ]);
  });

  it('flushes before select, update, delete and raw, so the transaction reads its own writes', async () => {
    const { statements } = await recordStatements(knex, () =>
      batchTransaction(knex, async (trx) => {
        await trx('q_items').insert({ name: 'a' });
        expect(await trx('q_items').pluck('name')).to.deep.equal(['a']);
        await trx('q_items').insert({ name: 'b' });
        expect(await trx('q_items').update({ name: 'B' }).where({ name: 'b' })).to.equal(1);
        await trx('q_items').insert({ name: 'c' });
        expect(await trx('q_items').delete().where({ name: 'c' })).to.equal(1);
        await trx('q_items').insert({ name: 'd' });
        expect((await trx.raw('select count(*)::int as n from q_items')).rows).to.deep.equal([{ n: 3 }]);
      }),
    );
    expect(kinds(statements).filter((kind) => kind !== 'catalog')).to.deep.equal([
      'BEGIN', 'insert q_items', 'select "name"', 'insert q_items', 'update "q_items"', 'insert q_items', 'delete from',
      'insert q_items', 'select count(*)::int', 'COMMIT',
    ]);
    expect(await names()).to.deep.equal(['a', 'B', 'd']);
  });

  it('resolves each await to what plain knex resolves to', async () => {
    const run = (db: Knex, mode: 'plain' | 'batch') => {
      const body = async (trx: Knex.Transaction) => {
        const noReturning = await trx('q_items').insert([{ name: 'x' }, { name: 'y' }]);
        const ids = await trx('q_items').insert([{ name: 'p' }, { name: 'q' }]).returning('id');
        const some = await trx('q_items').insert({ name: 'r', tags: ['a', 'b'] }).returning(['id', 'name', 'tags']);
        const all = await trx('q_items').insert({ name: 's', meta: { deep: [1, 2] } }, '*');
        return { noReturning, ids, some, all: all.map(({ created_at: _, ...row }: { created_at: Date }) => row) };
      };
      return mode === 'plain' ? db.transaction(body) : batchTransaction(db, body);
    };
    const plain = await run(knex, 'plain');
    await knex.raw('truncate q_items restart identity');
    const batch = await run(knex, 'batch');
    expect(batch.noReturning).to.include({ command: 'INSERT', rowCount: 2 });
    expect(batch.noReturning.rows).to.deep.equal([]);
    expect(batch.noReturning).to.be.instanceOf(Object.getPrototypeOf(plain.noReturning).constructor);
    expect({ ...batch, noReturning: undefined }).to.deep.equal({ ...plain, noReturning: undefined });
    expect(batch.ids).to.deep.equal([{ id: '3' }, { id: '4' }]);
  });

  it('answers returning with qualified names and driver options as plain knex does', async () => {
    const body = (trx: Knex.Transaction) => Promise.all([
      trx('q_items').insert({ name: 'a' }).returning('q_items.id'),
      trx('q_items').insert({ name: 'b' }).returning(['q_items.name', 'id']),
      trx('q_items').insert({ name: 'c' }).returning('name').options({ rowMode: 'array' }),
    ]);
    const plain = await knex.transaction(body);
    await knex.raw('truncate q_items restart identity');
    expect(await batchTransaction(knex, body)).to.deep.equal(plain);
    expect(plain[2]).to.deep.equal([['c']]);
  });

  it('queues trx.insert().into(), trx.table(), withSchema, .transacting(trx); trx.batchInsert in a savepoint, as knex', async () => {
    const db = newKnex();
    const { result, statements } = await recordStatements(db, () =>
      batchTransaction(db, async (trx) => {
        await trx.insert({ name: 'into' }).into('q_items');
        await trx.table('q_items').insert({ name: 'table' });
        await db('q_items').insert({ name: 'transacting' }).transacting(trx);
        const chunks = await trx.batchInsert('q_items', [{ name: 'batch 1' }, { name: 'batch 2' }, { name: 'batch 3' }], 2);
        return chunks;
      }),
    );
    expect(kinds(statements)).to.deep.equal(['BEGIN', 'catalog', 'insert q_items', 'SAVEPOINT', 'insert q_items', 'RELEASE', 'COMMIT']);
    expect(result.map(({ rowCount }: { rowCount: number }) => rowCount)).to.deep.equal([2, 1]);
    expect(await names()).to.deep.equal(['into', 'table', 'transacting', 'batch 1', 'batch 2', 'batch 3']);
  });

  it('a failed trx.batchInsert rolls back its savepoint only, as in knex', async () => {
    await knex.raw('create unique index q_items_name on q_items (name)');
    try {
      await batchTransaction(knex, async (trx) => {
        await trx('q_items').insert({ name: 'kept' });
        const failed = await trx.batchInsert('q_items', [{ name: 'a' }, { name: 'b' }, { name: 'kept' }], 2).catch((error) => error);
        expect(failed.code).to.equal('23505');
        await trx('q_items').insert({ name: 'after' });
      });
    } finally {
      await knex.raw('drop index q_items_name');
    }
    expect(await names()).to.deep.equal(['kept', 'after']);
  });

  it('copies rows when they are awaited: a row object reused after an await keeps what was inserted', async () => {
    await batchTransaction(knex, async (trx) => {
      const row = { name: 'first' };
      for (const name of ['first', 'second', 'third']) {
        row.name = name;
        await trx('q_items').insert(row);
      }
    });
    expect(await names()).to.deep.equal(['first', 'second', 'third']);
  });

  it('a statement sees the inserts queued before it, not those queued after it', async () => {
    const counts = await batchTransaction(knex, async (trx) => {
      await trx('q_items').insert({ name: 'before' });
      const count = trx('q_items').count('* as n').then(([{ n }]) => n);
      const after = trx('q_items').insert({ name: 'after' }).returning('name');
      return Promise.all([count, after]);
    });
    expect(counts).to.deep.equal(['1', [{ name: 'after' }]]);
  });

  it('writes several insert({}) of one flush as rows of defaults', async () => {
    const db = newKnex();
    await db.raw('create table q_defaults (id serial primary key, note text default $$none$$)');
    const { statements } = await recordStatements(db, () =>
      batchTransaction(db, async (trx) => {
        for (let i = 0; i < 3; i++) await trx('q_defaults').insert({});
      }),
    );
    expect(kinds(statements).filter((kind) => kind.startsWith('insert'))).to.deep.equal(['insert q_defaults']);
    expect(await db('q_defaults').select('*').orderBy('id')).to.deep.equal([1, 2, 3].map((id) => ({ id, note: 'none' })));
  });

  it('refuses .returning() chained after the flush that wrote the insert, rather than answer without it', async () => {
    await batchTransaction(knex, async (trx) => {
      const insert = trx('q_items').insert({ name: 'bare' });
      await trx('q_items').select(); // writes the bare insert
      const error = await insert.returning('*').catch((e) => e);
      expect(error.message).to.match(/written by a flush before it was awaited/);
    });
    expect(await names()).to.deep.equal(['bare']);
  });

  it('batchInsert with returning resolves to the returned rows of all chunks, like knex', async () => {
    const rows = await batchTransaction(knex, (trx) =>
      trx.batchInsert('q_items', [{ name: 'a' }, { name: 'b' }, { name: 'c' }], 2).returning(['id', 'name']),
    );
    expect(rows).to.deep.equal([{ id: '1', name: 'a' }, { id: '2', name: 'b' }, { id: '3', name: 'c' }]);
  });

  it('runs an awaited insert it cannot batch before the inserts queued after it', async () => {
    await knex.raw("insert into q_items (name) values ('old')");
    await batchTransaction(knex, async (trx) => {
      const copy = trx('q_copies').insert(trx('q_items').select('name'));
      const later = trx('q_items').insert({ name: 'later' });
      await copy;
      await later;
    });
    expect(await names('q_copies')).to.deep.equal(['old']);
  });

  it('runs inserts it cannot batch in their place, after the rows queued before them', async () => {
    const { statements } = await recordStatements(knex, () =>
      batchTransaction(knex, async (trx) => {
        trx('q_items').insert({ name: 'one' });
        trx('q_items').insert({ name: 'two' });
        await trx('q_copies').insert(trx('q_items').select('name').orderBy('id')); // insert ... select
        trx('q_items').insert({ name: trx.raw("'th' || 'ree'") }); // raw value, never awaited
        trx('q_items').insert({ name: 'four' });
      }),
    );
    expect(await names('q_copies')).to.deep.equal(['one', 'two']);
    expect(await names()).to.deep.equal(['one', 'two', 'three', 'four']);
    expect(kinds(statements).filter((kind) => kind !== 'catalog')).to.deep.equal([
      'BEGIN', 'insert q_items', 'insert q_copies', 'insert q_items', 'insert q_items', 'COMMIT',
    ]);
  });

  it('an insert awaited twice is written twice, as in knex; one flushed before its await is written once', async () => {
    await batchTransaction(knex, async (trx) => {
      const twice = trx('q_items').insert({ name: 'twice' });
      await twice;
      await twice;
      const bare = trx('q_items').insert({ name: 'flushed first' }).returning('name');
      await trx.flush();
      expect(await bare).to.deep.equal([{ name: 'flushed first' }]);
    });
    expect(await names()).to.deep.equal(['twice', 'twice', 'flushed first']);
  });

  it('a queue of the transaction\'s first rows with ids awaited: the ids are drawn, and the queue goes in the background by COPY', async function () {
    if (databaseSource() === 'PGlite') this.skip(); // its socket server has no COPY FROM STDIN: rows go as INSERTs
    const db = newKnex();
    const { statements } = await recordStatements(db, () =>
      batchTransaction(db, async (trx) => {
        for (let i = 0; i < 400; i++) trx('q_items').insert({ name: `bare ${i}` }); // 400 rows: a flush of the ramp (RAMP_QUEUE_ROWS in queue-policy.ts)
        const [{ id }] = await trx('q_items').insert({ name: 'awaited' }).returning('id'); // and ids awaited, in the same tick
        expect(Number(id)).to.be.greaterThan(0);
      }),
    );
    // not a flush of its own at the end of the tick, which would send groups under 1,000 rows as INSERTs
    expect(kinds(statements).filter((kind) => kind.startsWith('insert') || kind.startsWith('copy'))).to.deep.equal(['copy q_items', 'copy q_items']);
    expect(await names()).to.deep.equal([...Array.from({ length: 400 }, (_, i) => `bare ${i}`), 'awaited']);
  });

  it('flushes when maxQueuedRows rows are queued, in the background: the await that fills the queue waits only for the flush before', async () => {
    const db = newKnex();
    const flushed: number[] = [];
    const { statements } = await recordStatements(db, () =>
      batchTransaction(db, async (trx) => {
        for (let i = 0; i < 450; i++) {
          await trx('q_items').insert({ name: `n${i}` });
          // at each full queue the await waited for the flush under way, and no other: rows 0-99 are being written
          // while the loop goes on to 199, rows 100-199 while it goes on to 299, ...
          if (i % 100 === 99) expect(flushed).to.deep.equal(Array((i - 99) / 100).fill(100));
        }
      }, { maxQueuedRows: 100, onFlush: ({ rows }) => flushed.push(rows) }),
    );
    expect(flushed).to.deep.equal([100, 100, 100, 100, 50]);
    expect(kinds(statements)).to.deep.equal(['BEGIN', 'catalog', ...Array(5).fill('insert q_items'), 'COMMIT']);
  });

  it('lets the queue go before maxQueuedRows, from 2,500 rows, once the code has allocated half of the young generation since it began: as staged COPY text, or else as a flush', async () => {
    const db = newKnex();
    const flushes: FlushStats[] = [];
    const { statements } = await recordStatements(db, () =>
      batchTransaction(db, async (trx) => {
        for (let i = 0; i < 12000; i++) {
          allocateYoung(i);
          await trx('q_items').insert({ name: `g${i}` });
        }
      }, { maxQueuedRows: 1_000_000, onFlush: (stats) => flushes.push(stats) }),
    );
    expect(flushes.reduce((rows, flush) => rows + flush.rows, 0)).to.equal(12000);
    if (databaseSource() === 'PGlite') {
      // its socket server takes no COPY: the transaction's first flush of 400 rows (RAMP_QUEUE_ROWS in queue-policy.ts) was
      // INSERTs, which end the small flushes, and the aged queues are flushed as INSERTs
      expect(flushes[0].rows).to.equal(400);
      expect(flushes.length).to.be.at.least(3);
      expect(flushes.slice(1, -1).every(({ rows }) => rows >= 2500)).to.equal(true);
    } else {
      // after the transaction's first 4,000 rows, in flushes of 400 (RAMP_ROWS in queue-policy.ts), the text of the aged queues
      // waited for the flush before COMMIT, which sent it and the rest as one COPY; no id was awaited, so no id is drawn:
      // the column default numbers the rows as the COPY runs, in queue order
      expect(flushes.map(({ rows }) => rows)).to.deep.equal([...Array<number>(10).fill(400), 8000]);
      expect(flushes[10].staged).to.be.at.least(2500);
      expect(kinds(statements)).to.deep.equal(['BEGIN', 'catalog', ...Array<string>(11).fill('copy q_items'), 'COMMIT']);
    }
    expect(await knex('q_items').orderBy('id').pluck('name')).to.deep.equal(Array.from({ length: 12000 }, (_, i) => `g${i}`));
  });

  it('COMMIT waits for a flush under way whose ids already let the callback return', async () => {
    const rows = Array.from({ length: 40_000 }, (_, i) => ({ name: `r${i}` }));
    // the full queue makes the tick flush; its ids answer the await before its 2 statements are written
    const ids = await batchTransaction(knex, (trx) => trx('q_items').insert(rows).returning('id'), { maxQueuedRows: 10 });
    expect(ids).to.have.length(40_000);
    expect(await knex('q_items').count('* as n')).to.deep.equal([{ n: '40000' }]);
  });

  it('drops the queue on rollback: nothing is sent, nothing is written', async () => {
    const db = newKnex();
    const { statements } = await recordStatements(db, async () => {
      const failure = new Error('changed my mind');
      const outcome = await batchTransaction(db, async (trx) => {
        trx('q_items').insert({ name: 'bare' });
        await trx('q_items').insert({ name: 'awaited' });
        throw failure;
      }).catch((error) => error);
      expect(outcome).to.equal(failure);
    });
    expect(kinds(statements)).to.deep.equal(['BEGIN', 'ROLLBACK']);
    expect(await names()).to.deep.equal([]);
  });
});

describe('when the queue is let go (src/queue-policy.ts)', () => {
  it('is full at maxQueuedRows, queued and staged rows together', () => {
    const policy = new QueuePolicy(1000);
    policy.taken(4000); // past the ramp
    expect([policy.full(999, 0), policy.full(600, 400), policy.full(0, 1000)]).to.deep.equal([false, true, true]);
  });

  it('lets the first 4,000 rows go from 400 queued rows, staged text aside', () => {
    const policy = new QueuePolicy(10_000);
    expect([policy.full(399, 0), policy.full(0, 400), policy.full(400, 0)]).to.deep.equal([false, false, true]);
    policy.taken(3999);
    expect(policy.ramping(400)).to.equal(true);
    policy.taken(1);
    expect(policy.ramping(400)).to.equal(false);
  });

  it('ends the ramp after a flush of it that was answered before it was released (it ended with INSERTs)', () => {
    const policy = new QueuePolicy(10_000);
    policy.rampFlushEnded(true);
    expect(policy.ramping(400)).to.equal(true);
    policy.rampFlushEnded(false);
    policy.rampFlushEnded(true);
    expect(policy.ramping(400)).to.equal(false);
  });

  it('asks whether the queue aged every 128 answers, and only from 2,500 rows', () => {
    const policy = new QueuePolicy(10_000);
    const asks = Array.from({ length: 256 }, () => policy.answeredAtOnce()).flatMap((ask, i) => (ask ? [i + 1] : []));
    expect(asks).to.deep.equal([128, 256]);
    expect(policy.aged(2499)).to.equal(false);
  });
});
