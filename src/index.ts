// knex-batch-inserts: batched inserts for knex transactions on PostgreSQL.
export { batchTransaction, resetTableMetadata, withBatchInserts } from './batch-transaction';
export type { BatchTransaction, BatchTransactionOptions } from './batch-transaction';
export { BatchInsertError } from './errors';
export type { BatchOptions, FlushStats } from './options';
