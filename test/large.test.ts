// Large flushes: by COPY where nothing comes back, else INSERT statements
// cut at PostgreSQL's 65,535 bind-parameter limit.
import { expect } from 'chai';
import type { Knex } from 'knex';
import { BatchInsertError, batchTransaction, type FlushStats } from '../src';
import { copyText, PIECE } from '../src/copy-format';
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

describe('COPY of several tables in one round trip', () => {
  let knex: Knex;

  before(async function () {
    if (databaseSource() === 'PGlite') this.skip(); // its socket server has no COPY FROM STDIN
    knex = newKnex({ pool: { min: 0, max: 1 } }); // one connection: what follows a failed batch runs on it
    await knex.raw('create table cp_parents (id bigserial primary key, name text not null)');
    await knex.raw('create table cp_children (id bigserial primary key, parent_id bigint not null references cp_parents, n int not null)');
  });
  beforeEach(() => knex.raw('truncate cp_parents, cp_children restart identity'));

  const load = (trx: Knex.Transaction, badChild?: number) => async () => {
    for (let i = 0; i < 1200; i++) {
      const [{ id }] = await trx('cp_parents').insert({ name: `p${i}` }).returning('id');
      await trx('cp_children').insert({ parent_id: id, n: i === badChild ? null : i });
    }
  };

  it('parents and children: two COPY commands, announced one by one, sent as one round trip', async () => {
    const flushes: FlushStats[] = [];
    const { statements } = await recordStatements(knex, () =>
      batchTransaction(knex, (trx) => load(trx)(), { onFlush: (stats) => flushes.push(stats) }));
    // the awaits drew the parents' ids in growing blocks (see ids.test.ts); flushes of 400 rows sent the rows, the transaction's
    // first (RAMP_QUEUE_ROWS in queue-policy.ts)
    const copies = Array.from({ length: 6 }, () => ['copy cp_parents', 'copy cp_children']).flat();
    expect(kinds(statements).filter((kind) => kind !== 'ids')).to.deep.equal(['BEGIN', 'catalog', ...copies, 'COMMIT']);
    expect(flushes.map(({ statements, roundTrips, rows }) => ({ statements, roundTrips, rows }))).to.deep.equal(Array(6).fill({ statements: 2, roundTrips: 1, rows: 400 }));
    const [{ n }] = (await knex.raw('select count(*)::int as n from cp_children c join cp_parents p on p.id = c.parent_id where p.name = \'p\' || c.n')).rows;
    expect(n).to.equal(1200);
  });

  it('a bad row in the second COPY: its table and row are named, nothing is written, and the connection carries on', async () => {
    const error = await batchTransaction(knex, (trx) => load(trx, 700)()).catch((e) => e);
    expect(error).to.be.instanceOf(BatchInsertError);
    expect(error).to.include({ code: '23502', table: 'cp_children', column: 'n' });
    expect(error.where).to.match(/^COPY cp_children, line 101/); // of the fourth flush of 400 rows, children 600 to 799
    // the 1,401st insert: its line is not recorded by default (see errors.test.ts), the loop's is
    expect(error.message).to.match(/row 0 of the insert queued at a line not recorded; the last recorded insert into cp_children was queued at \S*large\.test\.ts:\d+:\d+/);
    expect((await knex.raw('select (select count(*) from cp_parents)::int as p, (select count(*) from cp_children)::int as c')).rows).to.deep.equal([{ p: 0, c: 0 }]);
    await batchTransaction(knex, (trx) => load(trx)());
    expect((await knex.raw('select count(*)::int as c from cp_children')).rows).to.deep.equal([{ c: 1200 }]);
  });
});

describe('a full queue goes out while the flush before it is still being answered', () => {
  let knex: Knex;
  let other: Knex;

  before(async function () {
    if (databaseSource() === 'PGlite') this.skip(); // no COPY FROM STDIN, and one backend for every connection
    knex = newKnex({ pool: { min: 0, max: 1 } }); // one connection: what follows a failed flush runs on it
    other = newKnex();
    await knex.raw('create table pl_rows (id int primary key, v text not null)');
  });
  beforeEach(() => knex.raw('truncate pl_rows'));

  const rows = (from: number) => Array.from({ length: 1000 }, (_, i) => ({ id: from + i, v: `v${from + i}` }));
  /** What the server answered ROLLBACK with, when that was an error: pg would have given ROLLBACK a batch's answers. */
  let rollbackErrors: string[] = [];
  beforeEach(() => void (rollbackErrors = []));

  /**
   * Another transaction inserts id 1500 and keeps it uncommitted, so the
   * flush carrying rows 1000-1999 waits for it on the server. Three full
   * queues of 1,000 rows are queued; the test waits until the third flush's
   * COPY has been handed to the connection, then ends the other transaction.
   */
  async function loadPastBlockedFlush(end: 'commit' | 'rollback', thenThrow?: Error) {
    const blocker = await other.transaction();
    await blocker('pl_rows').insert({ id: 1500, v: 'other' });
    const copies: string[] = [];
    const onQuery = ({ sql }: { sql: string }) => void (sql.startsWith('copy') && copies.push(sql));
    const onQueryError = (error: Error, { sql }: { sql: string }) => void (sql.startsWith('ROLLBACK') && rollbackErrors.push(error.message));
    knex.on('query', onQuery);
    knex.on('query-error', onQueryError);
    try {
      const sentThree = async () => {
        for (let waited = 0; copies.length < 3 && waited < 5000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
      };
      const loading = batchTransaction(knex, async (trx) => {
        for (const from of [0, 1000, 2000]) await trx('pl_rows').insert(rows(from));
        if (!thenThrow) return;
        await sentThree(); // the third flush is written behind the held one, and waits for it to reach pg
        throw thenThrow;
      }, { maxQueuedRows: 1000 }).catch((e) => e);
      await sentThree();
      expect(copies).to.have.length(3); // sent while the second flush cannot be answered
      await blocker[end]();
      return await loading;
    } finally {
      knex.removeListener('query', onQuery);
      knex.removeListener('query-error', onQueryError);
      await blocker.rollback().catch(() => undefined);
    }
  }

  it('the rows of every flush are written, in order, once the server gets to them', async () => {
    expect(await loadPastBlockedFlush('rollback')).to.equal(undefined);
    expect((await knex.raw('select count(*)::int as n, min(id) as lo, max(id) as hi from pl_rows')).rows).to.deep.equal([{ n: 3000, lo: 0, hi: 2999 }]);
  });

  it('code that throws while flushes are on their way: its error, ROLLBACK after their answers, nothing written', async () => {
    const boom = new Error('boom');
    // the held flush then fails, and the one behind it is refused: ROLLBACK must not take their answers
    expect(await loadPastBlockedFlush('commit', boom)).to.equal(boom);
    expect(rollbackErrors).to.deep.equal([]);
    expect((await knex.raw('select count(*)::int as n from pl_rows')).rows).to.deep.equal([{ n: 1 }]); // the other transaction's row
    await knex.raw('truncate pl_rows');
    await batchTransaction(knex, (trx) => trx('pl_rows').insert(rows(0)));
    expect((await knex.raw('select count(*)::int as n from pl_rows')).rows).to.deep.equal([{ n: 1000 }]);
  });

  it('a flush that fails with flushes sent behind it: its own error, nothing written, the connection carries on', async () => {
    const error = await loadPastBlockedFlush('commit');
    expect(error).to.be.instanceOf(BatchInsertError);
    expect(error).to.include({ code: '23505', constraint: 'pl_rows_pkey', table: 'pl_rows' });
    expect(error.detail).to.equal('Key (id)=(1500) already exists.');
    expect((await knex.raw('select count(*)::int as n from pl_rows')).rows).to.deep.equal([{ n: 1 }]); // the other transaction's row
    await knex.raw('truncate pl_rows');
    await batchTransaction(knex, (trx) => trx('pl_rows').insert(rows(0)));
    expect((await knex.raw('select count(*)::int as n from pl_rows')).rows).to.deep.equal([{ n: 1000 }]);
  });
});

describe('a value pg cannot turn into text, in a COPY group', () => {
  let knex: Knex;

  before(async function () {
    if (databaseSource() === 'PGlite') this.skip(); // no COPY FROM STDIN
    knex = newKnex({ pool: { min: 0, max: 1 } }); // one connection: what follows the failure runs on it
    await knex.raw('create table cp_docs (id serial primary key, doc jsonb not null)');
  });

  it('fails the transaction with the error pg gives plain knex, writes nothing, and the connection carries on', async () => {
    const docs = (bad?: number) => Array.from({ length: 1500 }, (_, i) => ({ doc: i === bad ? { n: BigInt(i) } : { n: i } }));
    const plain = await knex.transaction((trx) => trx('cp_docs').insert(docs(700))).catch((e) => e);
    const error = await batchTransaction(knex, async (trx) => {
      for (const row of docs(700)) await trx('cp_docs').insert(row);
    }).catch((e) => e);
    expect(plain.message).to.contain('Do not know how to serialize a BigInt');
    expect(error).to.be.instanceOf(BatchInsertError);
    expect(error.message).to.contain('Do not know how to serialize a BigInt');
    expect((await knex.raw('select count(*)::int as n from cp_docs')).rows).to.deep.equal([{ n: 0 }]);
    await batchTransaction(knex, async (trx) => {
      for (const row of docs()) await trx('cp_docs').insert(row);
    });
    expect((await knex.raw('select count(*)::int as n from cp_docs')).rows).to.deep.equal([{ n: 1500 }]);
  });
});

describe('COPY text in pieces (src/copy-format.ts)', () => {
  const prepare = (value: unknown) => String(value);
  const columns = [{ key: 'name', name: 'name', id: false, json: false }];
  const rows = [Array.from({ length: 20_000 }, (_, i) => ({ name: `row ${String(i).padStart(8, '0')}` }))]; // 13 characters a line
  const ids = [rows[0].map(() => undefined)];

  it('starts with a small piece, so that the COPY command leaves at once, and doubles it up to 64 KB', () => {
    const sizes = [...copyText(rows, ids, columns, prepare)].map((piece) => piece.length);
    expect(sizes.slice(0, 9)).to.deep.equal([256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536].map((size) => Math.ceil(size / 13) * 13));
    expect(sizes.slice(9, -1).every((size) => size === Math.ceil(65536 / 13) * 13)).to.equal(true);
    expect(sizes.reduce((sum, size) => sum + size, 0)).to.equal(20_000 * 13);
  });

  it('starts at 64 KB for text written ahead of its flush (staged), which waits for nothing when sent', () => {
    const sizes = [...copyText(rows, ids, columns, prepare, PIECE)].map((piece) => piece.length);
    expect(sizes.slice(0, -1).every((size) => size === Math.ceil(65536 / 13) * 13)).to.equal(true);
  });
});
