// Contender 4: pg-promise, one multi-row INSERT per table built by
// helpers.insert from a ColumnSet (values inlined as literals), in db.tx.
// Parent ids come back by position. Not chunked: at 100,000 rows the parents'
// statement is about 7 MB of SQL, which pg and PostgreSQL take without trouble.
import pgPromise from 'pg-promise';
import type { Contender } from './contender';

/** pg-promise brings its own copy of pg: the statement counter wraps `pgp.pg.Client` too. */
export const pgp = pgPromise();

export const pgPromiseContender: Contender = {
  id: 'pg-promise',
  name: 'pg-promise',
  async open({ url, schema }) {
    // One connection that stays open (pg's pool would close it after 10 s idle,
    // and the next run would pay for a new connection inside its timing).
    const db = pgp({ connectionString: url, max: 1, idleTimeoutMillis: 0 });
    const parentColumns = new pgp.helpers.ColumnSet(['name', { name: 'payload', mod: ':json' }], {
      table: new pgp.helpers.TableName({ table: 'parents', schema }),
    });
    const childColumns = new pgp.helpers.ColumnSet(['parent_id', 'n', 'note'], { table: new pgp.helpers.TableName({ table: 'children', schema }) });
    return {
      prepare:
        ({ parents, children }) =>
        () =>
          db.tx(async (t) => {
            const ids = await t.many<{ id: string }>(`${pgp.helpers.insert(parents, parentColumns)} returning id`);
            const rows = children.map((child, i) => ({ parent_id: ids[i].id, n: child.n, note: child.note }));
            await t.none(pgp.helpers.insert(rows, childColumns));
          }),
      close: () => db.$pool.end(),
    };
  },
};
