// The knex instance the knex-based contenders use: one connection, tables
// found through the search path, as an application would configure it.
import knexLib, { type Knex } from 'knex';
import type { ContenderContext } from './contender';

export function connectKnex({ url, schema }: ContenderContext): Knex {
  return knexLib({ client: 'pg', connection: url, searchPath: [schema], pool: { min: 1, max: 1 } });
}
