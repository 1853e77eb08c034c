// Mocha root hooks: one database and one schema per test run, dropped at the end.
// Every knex instance of the tests has that schema as its search path.
import knexLib, { type Knex } from 'knex';
import { type Database, startDatabase } from './database';

let database: Database | undefined;
const instances: Knex[] = [];
/** The schema of this run; tables of other schemas go in `${runSchema}_other`. */
export const runSchema = `kbi_test_${Date.now().toString(36)}_${process.pid}`;
export const otherSchema = `${runSchema}_other`;

export function databaseSource(): Database['source'] {
  return database!.source;
}

/** The URL of the run's database, for a knex config of a test's own. */
export function databaseUrl(): string {
  return database!.url;
}

/** A new knex instance (so a cold metadata cache), closed after the run; idle connections close within seconds (PGlite serves at most 32). */
export function newKnex(config: Partial<Knex.Config> = {}): Knex {
  const knex = knexLib({ client: 'pg', connection: database!.url, searchPath: [runSchema], pool: { min: 0, max: 4, idleTimeoutMillis: 1000 }, ...config });
  instances.push(knex);
  return knex;
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(120_000);
    database = await startDatabase((message) => console.log(`      ${message}`));
    console.log(`      database: ${database.source}, schema ${runSchema}`);
    const admin = newKnex();
    await admin.raw(`create schema ${runSchema}; create schema ${otherSchema}`);
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    const admin = newKnex();
    await admin.raw(`drop schema if exists ${runSchema} cascade; drop schema if exists ${otherSchema} cascade`);
    await Promise.all(instances.map((knex) => knex.destroy()));
    await database?.stop();
  },
};
