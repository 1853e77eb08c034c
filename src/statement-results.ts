// Gives each insert its share of a multi-row statement's answer: its row
// count and its RETURNING rows, in the order of its values, as plain knex
// would have received them from a statement of its own.
import debug from 'debug';
import type { Row } from './knex-internals';
import type { InsertOutcome } from './queued-insert';
import { type FlushItem, matchKey, type Statement, type WholeInserts } from './statement-writer';

const log = debug('knex-batch-inserts');

/** Adds a statement's answer to the outcomes of the inserts it carries. */
export function distributeResult(statement: Statement, returned: readonly Row[], rowCount: number | null): void {
  if (statement.wholeInserts) {
    distributeCount(statement.wholeInserts, rowCount);
    return;
  }
  const { rows, matching } = statement;
  if (rows.every(({ item }) => item === rows[0].item)) {
    // the rows of one insert: the answer is what knex would have received, rows a trigger dropped included
    const outcome = outcomeOf(rows[0].item);
    outcome.rowCount += rowCount ?? returned.length;
    for (const row of returned) {
      if (matching.by === 'key') for (const column of matching.added) delete row[column];
      outcome.rows?.push(row);
    }
    return;
  }
  const matched = matchRows(statement, returned, rowCount);
  rows.forEach(({ item }, i) => {
    const outcome = outcomeOf(item);
    const row = matched[i];
    if (row === undefined) return; // skipped by ON CONFLICT DO NOTHING, or a merge's WHERE
    outcome.rowCount++;
    if (outcome.rows && row !== null) outcome.rows.push(row);
  });
}

/**
 * A statement matched by count that carries every row of its inserts: each
 * insert's row count is its number of rows (one insert alone gets what the
 * statement wrote, rows a trigger dropped included). Only inserts whose
 * outcome is still wanted are left to get one (see releaseCopied).
 */
function distributeCount({ tableLabel, inserts, rows, wanted }: WholeInserts, rowCount: number | null): void {
  if (rowCount !== rows) log('%s wrote %d of %d rows', tableLabel, rowCount, rows);
  for (const item of wanted) {
    if (!item.insert.outcomeWanted) continue;
    outcomeOf(item).rowCount += inserts === 1 ? rowCount ?? 0 : item.spec.rows.length;
  }
}

/**
 * For each sent row, the returned row that belongs to it (null when the
 * statement returns nothing), or undefined when the row was not written.
 */
function matchRows(statement: Statement, returned: readonly Row[], rowCount: number | null): (Row | null | undefined)[] {
  const { matching, rows } = statement;
  if (matching.by === 'count') {
    // Without RETURNING nothing says which rows a rule or a BEFORE trigger dropped: each insert keeps its own count.
    if (rowCount !== rows.length) log('%s wrote %d of %d rows', rows[0].item.spec.tableLabel, rowCount, rows.length);
    return rows.map(() => null);
  }
  if (matching.by === 'position') {
    if (returned.length !== rows.length) throw unexpected(`returned ${returned.length} rows for ${rows.length}`, statement);
    return [...returned];
  }
  const byKey = new Map<string, number>();
  rows.forEach(({ sent }, index) => byKey.set(matching.sentKey(sent)!, index));
  const matched: (Row | undefined)[] = rows.map(() => undefined);
  for (const row of returned) {
    const index = byKey.get(matchKey(matching, (column) => row[column]) ?? '');
    if (index === undefined || matched[index] !== undefined) throw unexpected('returned a row that matches no row it was sent', statement);
    for (const column of matching.added) delete row[column];
    matched[index] = row;
  }
  return matched;
}

function outcomeOf(item: FlushItem): InsertOutcome {
  return (item.outcome ??= item.spec.returning ? { rowCount: 0, rows: [] } : { rowCount: 0 });
}

function unexpected(what: string, statement: Statement): Error {
  return new Error(`knex-batch-inserts: an insert into ${statement.rows[0].item.spec.tableLabel} ${what}; nothing can be matched safely`);
}
