// Nested transactions and savepoints, the forms of batchTransaction, withBatchInserts.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pg from 'pg';
import { BatchInsertError, batchTransaction, withBatchInserts } from '../src';
import { CopyBatch } from '../src/copy-batch';
import { databaseSource, newKnex } from './support/setup';
import { kinds, recordRoundTrips, recordStatements } from './support/statements';

describe('transactions', () => {
  let knex: Knex;
  const names = async () => (await knex('tx_items').select('name').orderBy('id')).map(({ name }) => name);

  before(async () => {
    knex = newKnex();
    await knex.raw('create table tx_items (id serial primary key, name text not null)');
    await batchTransaction(knex, async (trx) => void (await trx('tx_items').insert({ name: 'x' }))); // cache the catalog
  });
  beforeEach(() => knex.raw('truncate tx_items restart identity'));

  it('batches a nested transaction in its savepoint, after writing the outer queue', async () => {
    const { statements } = await recordStatements(knex, () =>
      batchTransaction(knex, async (trx) => {
        await trx('tx_items').insert({ name: 'outer 1' });
        await trx.transaction(async (nested) => {
          expect(await nested('tx_items').pluck('name')).to.deep.equal(['outer 1']);
          await nested('tx_items').insert({ name: 'nested 1' });
          await nested('tx_items').insert({ name: 'nested 2' });
        });
        await trx('tx_items').insert({ name: 'outer 2' });
      }),
    );
    expect(kinds(statements)).to.deep.equal([
      'BEGIN', 'insert tx_items', 'SAVEPOINT', 'select "name"', 'insert tx_items', 'RELEASE', 'insert tx_items', 'COMMIT',
    ]);
    expect(await names()).to.deep.equal(['outer 1', 'nested 1', 'nested 2', 'outer 2']);
  });

  it('drops only the nested queue when the savepoint rolls back', async () => {
    await batchTransaction(knex, async (trx) => {
      await trx('tx_items').insert({ name: 'kept' });
      const failure = await trx.savepoint(async (nested) => {
        await nested('tx_items').insert({ name: 'dropped' });
        throw new Error('undo');
      }).catch((error) => error);
      expect(failure.message).to.equal('undo');
      await trx('tx_items').insert({ name: 'kept too' });
    });
    expect(await names()).to.deep.equal(['kept', 'kept too']);
  });

  it('nests in a savepoint when given a plain knex transaction', async () => {
    await knex.transaction(async (plain) => {
      await plain('tx_items').insert({ name: 'plain' });
      await batchTransaction(plain, async (trx) => {
        await trx('tx_items').insert({ name: 'batched 1' });
        await trx('tx_items').insert({ name: 'batched 2' });
      });
      expect(await plain('tx_items').pluck('name')).to.deep.equal(['plain', 'batched 1', 'batched 2']);
    });
    expect(await names()).to.deep.equal(['plain', 'batched 1', 'batched 2']);
  });

  it('in a savepoint of a plain knex transaction, the last flush does not carry a COMMIT: the outer rollback undoes it', async () => {
    const rows = Array.from({ length: 1200 }, (_, i) => ({ name: `in savepoint ${i}` })); // three COPYs, flushes of 400 rows
    const outcome = await knex.transaction(async (plain) => {
      await batchTransaction(plain, async (trx) => {
        for (const row of rows) await trx('tx_items').insert(row);
      });
      expect(await plain('tx_items').count('* as n')).to.deep.equal([{ n: '1200' }]);
      throw new Error('outer rolls back');
    }).catch((e) => e.message);
    expect(outcome).to.equal('outer rolls back');
    expect(await names()).to.deep.equal([]);
  });

  it('code still running when the last flush carries the COMMIT gets an error for its insert, never a row silently lost', async function () {
    if (databaseSource() === 'PGlite') this.skip(); // its socket server has no COPY FROM STDIN: COMMIT goes on its own
    const db = newKnex();
    let trx: Knex.Transaction | undefined;
    let late: Promise<string> | undefined;
    let copies = 0;
    db.on('query', ({ sql }: { sql: string }) => {
      // right after the batch of COPY and COMMIT is handed to pg, before its answer: code the callback left running
      if (late === undefined && sql.startsWith('copy') && ++copies === 4) {
        late = new Promise((resolve) => setImmediate(resolve)).then(() => trx!('tx_items').insert({ name: 'late' })).then(() => 'written', (e: Error) => e.message);
      }
    });
    await batchTransaction(db, async (t) => {
      trx = t;
      // three flushes of 400 rows (RAMP_QUEUE_ROWS in queue-policy.ts), then the fourth COPY: the last flush, with the COMMIT
      for (let i = 0; i < 1300; i++) await t('tx_items').insert({ name: `n${i}` });
    });
    expect(await late).to.match(/COMMIT went with its last flush|Transaction query already complete/);
    expect(await knex('tx_items').count('* as n')).to.deep.equal([{ n: '1300' }]);
  });

  it('a savepoint the callback left open gets an error once the last flush carried the COMMIT, and writes nothing outside it', async function () {
    if (databaseSource() === 'PGlite') this.skip(); // its socket server has no COPY FROM STDIN: COMMIT goes on its own
    const db = newKnex();
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let copies = 0;
    db.on('query', ({ sql }: { sql: string }) => {
      if (sql.startsWith('copy') && ++copies === 4) open(); // as the batch of COPY and COMMIT is handed to pg
    });
    let nested: Promise<string> | undefined;
    await batchTransaction(db, async (trx) => {
      nested = trx.transaction(async (sp) => {
        await gate;
        await sp('tx_items').insert({ name: 'late' });
      }).then(() => 'written', (e: Error) => e.message);
      await new Promise((resolve) => setImmediate(resolve)); // the savepoint is open
      // three flushes of 400 rows (RAMP_QUEUE_ROWS in queue-policy.ts), then the fourth COPY: the last flush, with the COMMIT
      for (let i = 0; i < 1300; i++) await trx('tx_items').insert({ name: `n${i}` });
    });
    expect(await nested).to.match(/COMMIT went with its last flush|Transaction query already complete/);
    expect(await knex('tx_items').where('name', 'late').count('* as n')).to.deep.equal([{ n: '0' }]);
  });

  it('without a callback, returns the transaction; commit() writes the queue, rollback() drops it', async () => {
    const trx = await batchTransaction(knex);
    trx('tx_items').insert({ name: 'committed' });
    await trx('tx_items').insert({ name: 'committed too' });
    await trx.commit();
    const other = await batchTransaction(knex);
    await other('tx_items').insert({ name: 'rolled back' });
    await other.rollback();
    expect(await names()).to.deep.equal(['committed', 'committed too']);
  });

  it('commit() fails with the flush error and rolls back', async () => {
    const trx = await batchTransaction(knex);
    await trx('tx_items').insert({ name: null });
    const error = await trx.commit().catch((e) => e);
    expect(error.code).to.equal('23502');
    expect(trx.isCompleted()).to.equal(true);
    expect(await names()).to.deep.equal([]);
  });

  it('writes inserts queued by code that a flush before COMMIT resumed', async () => {
    await batchTransaction(knex, (trx) => {
      void trx('tx_items').insert({ name: 'first' }).returning('*').then(() => trx('tx_items').insert({ name: 'resumed' }));
    });
    expect(await names()).to.deep.equal(['first', 'resumed']);
  });

  describe('BEGIN, held for the first statement (src/held-begin.ts)', () => {
    before(async () => {
      await knex.raw('create table tx_parents (id bigserial primary key, name text not null)');
      await knex.raw('create table tx_children (id bigserial primary key, parent_id bigint not null references tx_parents, n int not null)');
      await knex.raw('create table tx_notes (note text)'); // no key: a flush of it sends nothing but its rows
      await batchTransaction(knex, (trx) => trx('tx_parents').insert({ name: 'x' }).returning('id')); // cache the catalog
    });
    beforeEach(() => knex.raw('truncate tx_parents, tx_children, tx_notes restart identity'));

    const addFamilies = async (trx: Knex.Transaction, count: number) => {
      for (let i = 0; i < count; i++) {
        const [{ id }] = await trx('tx_parents').insert({ name: `p${i}` }).returning('id');
        await trx('tx_children').insert({ parent_id: id, n: i });
      }
    };

    it('goes with the first id draw; the last COPYs carry the COMMIT: 3 round trips for 300 parents and children', async function () {
      if (databaseSource() === 'PGlite') this.skip(); // its socket server has no COPY FROM STDIN: rows go as INSERTs
      await batchTransaction(knex, (trx) => addFamilies(trx, 300)); // a job run again draws its ids in one query
      await knex.raw('truncate tx_parents, tx_children restart identity');
      const { roundTrips } = await recordRoundTrips(() => recordStatements(knex, () => batchTransaction(knex, (trx) => addFamilies(trx, 300))));
      // 600 rows: a flush of the first 400 (RAMP_QUEUE_ROWS in queue-policy.ts), then the last one with the COMMIT
      expect(roundTrips.map((text) => text.replace(/ \(.*/s, ''))).to.deep.equal(['BEGIN;\nselect', 'copy "tx_parents"', 'copy "tx_parents"']);
      expect(roundTrips[2].split(';\n').map((sql) => sql.replace(/ \(.*/, ''))).to.deep.equal(['copy "tx_parents"', 'copy "tx_children"', 'commit']);
      const { rows } = await knex.raw('select count(*)::int n from tx_children c join tx_parents p on p.id = c.parent_id and p.name = \'p\' || c.n');
      expect(rows[0].n).to.equal(300);
    });

    it('when the last row filled the queue, COMMIT goes right behind its flush, before that flush is answered', async function () {
      if (databaseSource() === 'PGlite') this.skip(); // its socket server has no COPY FROM STDIN: COMMIT goes on its own
      const events: string[] = [];
      const { submit, handleReadyForQuery } = CopyBatch.prototype;
      CopyBatch.prototype.submit = function (this: CopyBatch, ...args: Parameters<CopyBatch['submit']>) {
        if (!this.sent) events.push(`sent ${this.text.split(/\s/)[0]}`);
        return submit.apply(this, args);
      };
      CopyBatch.prototype.handleReadyForQuery = function (this: CopyBatch) {
        events.push(`answered ${this.text.split(/\s/)[0]}`);
        return handleReadyForQuery.apply(this);
      };
      try {
        await batchTransaction(knex, (trx) => addFamilies(trx, 200)); // 400 rows: the last one fills the queue
      } finally {
        Object.assign(CopyBatch.prototype, { submit, handleReadyForQuery });
      }
      expect(events).to.deep.equal(['sent copy', 'sent commit', 'answered copy', 'answered commit']);
      expect(await knex('tx_children').count('* as n')).to.deep.equal([{ n: '200' }]);
    });

    it('a COMMIT sent behind a flush that fails is answered with ROLLBACK: the transaction fails with that flush\'s error', async function () {
      if (databaseSource() === 'PGlite') this.skip(); // its socket server has no COPY FROM STDIN: COMMIT goes on its own
      const { roundTrips, result: error } = await recordRoundTrips(() =>
        batchTransaction(knex, async (trx) => {
          for (let i = 0; i < 200; i++) { // 400 rows: the last one fills the queue, COMMIT goes behind its flush
            const [{ id }] = await trx('tx_parents').insert({ name: `p${i}` }).returning('id');
            await trx('tx_children').insert({ parent_id: id, n: i === 150 ? null : i });
          }
        }).catch((e) => e),
      );
      expect(roundTrips.slice(-3).map((text) => text.split(/\s/)[0])).to.deep.equal(['copy', 'commit', 'ROLLBACK']);
      expect(error).to.be.instanceOf(BatchInsertError);
      expect(error).to.include({ code: '23502', table: 'tx_children', column: 'n' });
      expect(error.where).to.match(/^COPY tx_children, line 151/);
      expect((await knex.raw('select (select count(*) from tx_parents)::int p, (select count(*) from tx_children)::int c')).rows).to.deep.equal([{ p: 0, c: 0 }]);
    });

    it('knex still reports it, in its place', async () => {
      await batchTransaction(knex, (trx) => addFamilies(trx, 3)); // a job run again draws its ids in one query
      const { statements } = await recordStatements(knex, () => batchTransaction(knex, (trx) => addFamilies(trx, 3)));
      expect(kinds(statements)).to.deep.equal(['BEGIN', 'ids', 'insert tx_parents', 'insert tx_children', 'COMMIT']);
    });

    it('goes with the first COPY batch, and the isolation level with it', async function () {
      if (databaseSource() === 'PGlite') this.skip(); // its socket server has no COPY FROM STDIN: rows go as INSERTs
      const { roundTrips } = await recordRoundTrips(() =>
        batchTransaction(knex, async (trx) => {
          for (let i = 0; i < 1200; i++) void trx('tx_parents').insert({ name: `p${i}` });
        }, { transaction: { isolationLevel: 'repeatable read' } }),
      );
      expect(roundTrips.map((text) => text.split(';\n').map((sql) => sql.replace(/ \(.*/, '')))).to.deep.equal([
        ['BEGIN TRANSACTION ISOLATION LEVEL repeatable read', 'copy "tx_parents"', 'commit'],
      ]);
      expect(await knex('tx_parents').count('* as n')).to.deep.equal([{ n: '1200' }]);
    });

    it('goes alone before a statement of the code; a transaction that sends nothing costs no round trip', async () => {
      const { roundTrips, result } = await recordRoundTrips(async () => [
        await batchTransaction(knex, async (trx) => (await trx('tx_parents').count('* as n'))[0].n),
        await batchTransaction(knex, async () => 'nothing sent'),
        await batchTransaction(knex, async () => {
          throw new Error('nothing sent either');
        }).catch((error) => error.message),
      ]);
      expect(roundTrips.map((text) => text.split(' ')[0])).to.deep.equal(['BEGIN', 'select', 'COMMIT;']);
      expect(result).to.deep.equal(['0', 'nothing sent', 'nothing sent either']);
    });

    it('is sent before the connection goes to code that uses pg itself, so its statements are in the transaction', async () => {
      const failure = await batchTransaction(knex, async (trx) => {
        const connection = await trx.client.acquireConnection();
        await connection.query("insert into tx_parents (name) values ('by pg')");
        throw new Error('undo');
      }).catch((error) => error);
      expect(failure.message).to.equal('undo');
      expect(await knex('tx_parents').count('* as n')).to.deep.equal([{ n: '0' }]);
    });

    it('carries the transaction mode: a read-only transaction refuses the id draw its BEGIN went with', async () => {
      const { roundTrips, result: failure } = await recordRoundTrips(() =>
        batchTransaction(knex, (trx) => trx('tx_parents').insert({ name: 'x' }).returning('id'), { transaction: { readOnly: true } }).catch((error) => error),
      );
      expect(failure.message).to.match(/cannot execute nextval\(\) in a read-only transaction/);
      expect(roundTrips.map((text) => text.slice(0, 36))).to.deep.equal(['BEGIN TRANSACTION READ ONLY;\nselect ', 'ROLLBACK']);
    });

    it('if BEGIN fails, every later statement fails with its error: none runs outside a transaction', async () => {
      const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
      const query = prototype.query;
      prototype.query = function (this: unknown, ...args: unknown[]) {
        const callback = args[args.length - 1];
        if ((args[0] as { text?: string }).text === 'BEGIN' && typeof callback === 'function') return void callback(new Error('BEGIN refused'));
        return query.apply(this, args);
      };
      try {
        const errors = await batchTransaction(knex, async (trx) => {
          const caught = [];
          for (const statement of [() => trx('tx_parents').count(), () => trx.raw("insert into tx_parents (name) values ('raw')")]) {
            caught.push(await statement().then(() => 'ran', (error: Error) => error.message));
          }
          expect(caught).to.deep.equal(['BEGIN refused', "knex-batch-inserts: not run, the transaction's BEGIN failed: BEGIN refused"]);
          void trx('tx_parents').insert({ name: 'queued' }); // an INSERT at the end
          for (let i = 0; i < 1200; i++) void trx('tx_notes').insert({ note: `n${i}` }); // a COPY (an INSERT on PGlite)
        }).catch((error) => error);
        expect(errors.message).to.match(/^insert into tx_parents failed: knex-batch-inserts: not run, the transaction's BEGIN failed: BEGIN refused/); // the final flush's
      } finally {
        prototype.query = query;
      }
      expect(await knex('tx_parents').count('* as n')).to.deep.equal([{ n: '0' }]);
      expect(await knex('tx_notes').count('* as n')).to.deep.equal([{ n: '0' }]);
    });

    it('is not held for a transaction on a connection the code gave, which it may use outside knex', async () => {
      const connection = await knex.client.acquireConnection();
      try {
        const failure = await batchTransaction(knex, async () => {
          await connection.query("insert into tx_parents (name) values ('by pg')");
          throw new Error('undo');
        }, { transaction: { connection } }).catch((error) => error);
        expect(failure.message).to.equal('undo');
      } finally {
        await knex.client.releaseConnection(connection);
      }
      expect(await knex('tx_parents').count('* as n')).to.deep.equal([{ n: '0' }]);
    });

    it('is sent before a savepoint that comes first', async () => {
      const failure = await batchTransaction(knex, async (trx) => {
        await trx.transaction(async (nested) => void (await nested('tx_parents').insert({ name: 'nested' })));
        throw new Error('undo');
      }).catch((error) => error);
      expect(failure.message).to.equal('undo');
      expect(await knex('tx_parents').count('* as n')).to.deep.equal([{ n: '0' }]);
    });

    it('a COPY that fails in the message that opened the transaction fails it, with the error of its row, and writes nothing', async function () {
      if (databaseSource() === 'PGlite') this.skip(); // its socket server has no COPY FROM STDIN: rows go as INSERTs
      const { roundTrips, result: failure } = await recordRoundTrips(() =>
        batchTransaction(knex, async (trx) => {
          for (let i = 0; i < 1200; i++) void trx('tx_parents').insert({ name: i === 700 ? null : `p${i}` });
        }).catch((error) => error),
      );
      expect(roundTrips.map((text) => text.split(';\n').map((sql) => sql.replace(/ \(.*/, '')))).to.deep.equal([
        ['BEGIN', 'copy "tx_parents"', 'commit'],
        ['ROLLBACK'],
      ]);
      expect(failure).to.include({ code: '23502', table: 'tx_parents', column: 'name' });
      expect(failure.where).to.match(/^COPY tx_parents, line 701/); // line 1 is the first row, not BEGIN
      expect(failure.message).to.match(/^insert into tx_parents failed: null value in column "name"/);
      expect(await knex('tx_parents').count('* as n')).to.deep.equal([{ n: '0' }]);
    });
  });

  it('passes transaction options to knex', async () => {
    const level = await batchTransaction(knex, async (trx) => (await trx.raw('show transaction_isolation')).rows[0].transaction_isolation, {
      transaction: { isolationLevel: 'serializable' },
    });
    expect(level).to.equal('serializable');
  });

  it('withBatchInserts: a knex whose transaction() and transactionProvider() batch', async () => {
    const db = withBatchInserts(knex, { maxQueuedRows: 1000 });
    const { statements } = await recordStatements(knex, async () => {
      await db.transaction(async (trx) => {
        for (let i = 0; i < 10; i++) await trx('tx_items').insert({ name: `a${i}` });
      });
      const provide = db.transactionProvider();
      const trx = await provide();
      for (let i = 0; i < 10; i++) await trx('tx_items').insert({ name: `b${i}` });
      await trx.commit();
    });
    expect(kinds(statements)).to.deep.equal(['BEGIN', 'insert tx_items', 'COMMIT', 'BEGIN', 'insert tx_items', 'COMMIT']);
    expect(await db('tx_items').count('* as n')).to.deep.equal([{ n: '20' }]);
  });

  it('hands out a real Knex.Transaction: code typed for knex takes it as it is', async () => {
    const addItem = (trx: Knex.Transaction, name: string) => trx('tx_items').insert({ name });
    const addWithKnex = (db: Knex, name: string) => db('tx_items').insert({ name });
    await batchTransaction(knex, async (trx) => {
      await addItem(trx, 'typed as a transaction');
      await addWithKnex(trx, 'typed as knex');
      expect(trx.isTransaction).to.equal(true);
    });
    expect(await names()).to.deep.equal(['typed as a transaction', 'typed as knex']);
  });

  it('leaves nothing of a committed transaction alive: its rows and client can be collected (src/shape-keeper.ts keeps copies)', async () => {
    // a new knex instance, so that this is its first transaction: the one whose objects the per-instance memos see first
    const fresh = newKnex({ asyncStackTraces: true });
    const collect = collector();
    const watched = await (async () => {
      const row = { id: 1_000_000, name: 'collectable' };
      const updates = { name: 'merged' };
      const context = { user: { name: 'in context' } }; // knex clones a builder's context, not what it holds
      let client: object | undefined;
      await batchTransaction(fresh, async (trx) => {
        client = trx.client;
        await trx('tx_items').insert(row).onConflict('id').merge(updates);
        await trx('tx_items').insert({ name: 'with context' }).queryContext(context).returning('id');
        await trx('tx_items').insert({ name: 'never awaited for ids' });
      });
      return { row: new WeakRef(row), updates: new WeakRef(updates), context: new WeakRef(context.user), client: new WeakRef(client!) };
    })();
    await new Promise((resolve) => setImmediate(resolve)); // a WeakRef keeps its target alive until the job that made it ends
    collect();
    const alive = Object.entries(watched).filter(([, ref]) => ref.deref() !== undefined).map(([name]) => name);
    expect(alive).to.deep.equal([]);
    expect(await names()).to.deep.equal(['with context', 'never awaited for ids', 'collectable']);
  });
});

/** V8's full garbage collection, without starting node with --expose-gc. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('identifier and response mapping', () => {
  const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const camel = (name: string) => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const camelKeys = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(camelKeys);
    if (value && typeof value === 'object' && value.constructor === Object) {
      return Object.fromEntries(Object.entries(value).map(([key, v]) => [camel(key), v]));
    }
    return value;
  };
  let knex: Knex;

  before(async () => {
    knex = newKnex({
      wrapIdentifier: (value, original) => original(snake(value)),
      postProcessResponse: (result) => camelKeys(result),
    });
    await knex.raw(`
      create table map_users (user_id serial primary key, first_name text not null, created_at timestamptz not null default now());
      create table map_posts (post_id serial primary key, user_id int not null references map_users, post_title text not null)`);
  });

  it('accepts two keys that name the same column (userId and user_id) in one group', async () => {
    await batchTransaction(knex, async (trx) => {
      const [{ userId }] = await trx('mapUsers').insert({ firstName: 'Key' }).returning('userId');
      await trx('mapPosts').insert({ userId, postTitle: 'camel' });
      await trx('mapPosts').insert({ user_id: userId, post_title: 'snake' });
    });
    const posts = await knex('mapPosts').whereIn('postTitle', ['camel', 'snake']).select('postTitle').orderBy('postId');
    expect(posts).to.deep.equal([{ postTitle: 'camel' }, { postTitle: 'snake' }]);
  });

  it('writes and answers like knex with wrapIdentifier and postProcessResponse', async () => {
    const body = async (trx: Knex.Transaction) => {
      const answers = [];
      for (const firstName of ['Ada', 'Grace']) {
        const [{ userId }] = await trx('mapUsers').insert({ firstName }).returning('userId');
        answers.push(userId);
        answers.push(await trx('mapPosts').insert({ userId, postTitle: `${firstName}'s post` }).returning(['postId', 'postTitle']));
        answers.push((await trx('mapPosts').insert({ userId, postTitle: 'second' })).rowCount);
      }
      const [all] = await trx('mapUsers').insert({ firstName: 'Star' }, '*');
      answers.push(Object.keys(all));
      return answers;
    };
    await knex.raw('truncate map_users, map_posts restart identity');
    const plain = await knex.transaction(body);
    const plainRows = await knex('mapPosts').select('*').orderBy('postId');
    await knex.raw('truncate map_users, map_posts restart identity');
    const batch = await batchTransaction(knex, body);
    expect(batch).to.deep.equal(plain);
    expect(batch[0]).to.equal(1);
    expect(batch.at(-1)).to.deep.equal(['userId', 'firstName', 'createdAt']);
    expect(await knex('mapPosts').select('*').orderBy('postId')).to.deep.equal(plainRows);
  });
});
