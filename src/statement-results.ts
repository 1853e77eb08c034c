// Gives each insert its share of a multi-row statement's answer: its row
// count and its RETURNING rows, in the order of its values, as plain knex
// would have received them from a statement of its own.
import type { Row } from './knex-internals';
import type { InsertOutcome, QueuedInsert } from './queued-insert';
import type { Statement } from './statement-writer';

export type Outcomes = Map<QueuedInsert, InsertOutcome>;

export function distributeResult(statement: Statement, returned: readonly Row[], rowCount: number | null, outcomes: Outcomes): void {
  const matched = matchRows(statement, returned, rowCount);
  statement.rows.forEach(({ item }, i) => {
    let outcome = outcomes.get(item.insert);
    if (!outcome) outcomes.set(item.insert, (outcome = item.spec.returning ? { rowCount: 0, rows: [] } : { rowCount: 0 }));
    const row = matched[i];
    if (row === undefined) return; // skipped by ON CONFLICT DO NOTHING, or a merge's WHERE
    outcome.rowCount++;
    if (outcome.rows && row !== null) outcome.rows.push(row);
  });
}

/**
 * For each sent row, the returned row that belongs to it (null when the
 * statement returns nothing), or undefined when the row was not written.
 */
function matchRows(statement: Statement, returned: readonly Row[], rowCount: number | null): (Row | null | undefined)[] {
  const { matching, sentRows } = statement;
  if (matching.by === 'count') {
    if (rowCount !== sentRows.length) throw unexpected(`wrote ${rowCount} of ${sentRows.length} rows`, statement);
    return sentRows.map(() => null);
  }
  if (matching.by === 'position') {
    if (returned.length !== sentRows.length) throw unexpected(`returned ${returned.length} rows for ${sentRows.length}`, statement);
    return [...returned];
  }
  const keyOf = (read: (column: string) => unknown) => {
    const parts = matching.columns.map((column, i) => {
      const value = read(column);
      return value == null ? undefined : matching.normalize[i](value);
    });
    return parts.includes(undefined) ? undefined : JSON.stringify(parts);
  };
  const waiting = new Map<string, number[]>();
  sentRows.forEach((row, index) => {
    const key = keyOf((column) => statement.valueOf(row, column));
    if (key === undefined) return;
    const list = waiting.get(key);
    if (list) list.push(index);
    else waiting.set(key, [index]);
  });
  const matched: (Row | undefined)[] = sentRows.map(() => undefined);
  for (const row of returned) {
    const index = waiting.get(keyOf((column) => row[column]) ?? '')?.shift();
    if (index === undefined) throw unexpected('returned a row that matches no row it was sent', statement);
    for (const column of matching.added) delete row[column];
    matched[index] = row;
  }
  return matched;
}

function unexpected(what: string, statement: Statement): Error {
  return new Error(`knex-batch-inserts: an insert into ${statement.rows[0].item.spec.tableLabel} ${what}; nothing can be matched safely`);
}
