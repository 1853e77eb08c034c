// The contenders, in the order of the report and of the first repetition.
import type { Contender } from './contender';
import { copy } from './copy';
import { knexBatchInsert } from './knex-batch-insert';
import { knexBatchInserts } from './knex-batch-inserts';
import { objection } from './objection';
import { pgPromiseContender } from './pg-promise';
import { plainKnex } from './plain-knex';

export const CONTENDERS: readonly Contender[] = [plainKnex, knexBatchInsert, objection, pgPromiseContender, knexBatchInserts, copy];
