// The demo's workload, as in the reference library's demo: users, each with
// two addresses, inserted by plain sequential knex code. The same function
// runs in knex.transaction and in batchTransaction.
import type { Knex } from 'knex';

export async function createTables(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (table) => {
    table.bigIncrements('id');
    table.text('name').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('addresses', (table) => {
    table.bigIncrements('id');
    table.bigInteger('user_id').notNullable().references('id').inTable('users');
    table.text('email').notNullable();
  });
}

/** Plain knex code: one awaited insert after another. */
export async function addUsers(trx: Knex.Transaction, count: number, onUser: (done: number) => void = () => {}): Promise<void> {
  for (let i = 0; i < count; i++) {
    const [{ id }] = await trx('users').insert({ name: `user ${i}` }).returning('id');
    await trx('addresses').insert({ user_id: id, email: `user${i}@home.example` });
    await trx('addresses').insert({ user_id: id, email: `user${i}@work.example` });
    onUser(i + 1);
  }
}

export interface Snapshot {
  users: { id: string; name: string }[];
  /** Each address with the name of the user it is attached to. */
  addresses: { id: string; user: string; email: string }[];
}

export async function snapshot(knex: Knex): Promise<Snapshot> {
  return {
    users: await knex('users').select('id', 'name').orderBy('id'),
    addresses: await knex('addresses as a').join('users as u', 'u.id', 'a.user_id').select('a.id', 'u.name as user', 'a.email').orderBy('a.id'),
  };
}

/** What differs between two snapshots, as readable lines; empty when they are the same. */
export function differences(a: Snapshot, b: Snapshot, labels: [string, string]): string[] {
  const lines: string[] = [];
  for (const key of ['users', 'addresses'] as const) {
    const [left, right] = [a[key].map((row) => JSON.stringify(row)), b[key].map((row) => JSON.stringify(row))];
    if (left.length !== right.length) lines.push(`${key}: ${labels[0]} wrote ${left.length}, ${labels[1]} wrote ${right.length}`);
    for (let i = 0; i < Math.min(left.length, right.length); i++) {
      if (left[i] !== right[i]) lines.push(`${key} #${i + 1}: ${labels[0]} ${left[i]}, ${labels[1]} ${right[i]}`);
    }
  }
  return lines;
}
