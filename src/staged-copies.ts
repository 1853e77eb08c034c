// COPY text written ahead of the flush that sends it.
//
// A queue that has aged (YOUNG_SHARE in queue-policy.ts) must be let go before V8
// moves its inserts to the old generation. Sent as a flush of its own, it
// makes the server run more and smaller COPYs, and PostgreSQL spends about
// 1-1.8 ms on each COPY of 1,000 rows or more besides its rows (100,000
// rows of one table: 157 ms in one COPY, 205 ms in 40, 252 ms in 100;
// `npm run bench:copy-cost`). So when every statement of such a flush
// is a COPY and no await waits for its answer, the flush writes their text
// and stages it here instead: the inserts die young, and the text, a
// fraction of their size, joins the COPYs of the next flush that is sent.
// The server then gets COPYs as large as if one queue had held every row.
// The text is kept outside V8's heap (text-chunks.ts).
import { type FailedStatement, statementError } from './errors';
import type { Statement } from './statement-writer';
import type { TableMeta } from './table-metadata';
import { TextChunks } from './text-chunks';

export class StagedCopies {
  private statements: Statement[] = [];
  private readonly chunks = new TextChunks();
  /** Rows staged as text: they count toward maxQueuedRows as queued rows do. */
  rows = 0;

  /** Writes and keeps the text of `statements` if every one is a COPY; false, keeping nothing, otherwise. */
  stage(statements: readonly Statement[]): boolean {
    if (statements.length === 0 || !statements.every(isCopy)) return false;
    this.statements = joinStatements(this.statements, statements.map((statement) => this.writeAhead(statement)));
    for (const { wholeInserts } of statements) this.rows += wholeInserts!.rows;
    return true;
  }

  /**
   * The statements of a flush about to be sent, the staged ones joined in
   * front (see joinStatements), and the chunks their text is in, to be handed
   * back once they are answered (`giveBack`); empties the stage.
   */
  takeInto(statements: readonly Statement[]): { statements: Statement[]; chunks: Buffer[] } {
    const joined = this.rows > 0 ? joinStatements(this.statements, statements) : [...statements];
    const chunks = this.chunks.take();
    this.drop();
    return { statements: joined, chunks };
  }

  giveBack(chunks: readonly Buffer[]): void {
    this.chunks.giveBack(chunks);
  }

  /** Whether a COPY into this table is staged. */
  holds(table: TableMeta | undefined): boolean {
    return table !== undefined && this.statements.some(({ meta }) => meta?.id === table.id);
  }

  /**
   * Whether staged rows of one of these tables (of any, without `tables`)
   * take their key from the column default when sent: ids drawn for that
   * table before they are sent would be lower than theirs, though queued
   * after them, so the batcher sends them first (Batcher.sendStagedBefore).
   */
  leavesKeysToDefault(tables?: readonly TableMeta[]): boolean {
    return this.statements.some(({ meta, keyFromDefault }) => keyFromDefault && (!tables || tables.some(({ id }) => id === meta?.id)));
  }

  drop(): void {
    this.statements = [];
    this.rows = 0;
  }

  /**
   * A COPY whose text is written now, into chunks (which lets go of its
   * inserts, see releaseCopied in statement-writer.ts), and kept. A value
   * pg cannot turn into text fails it as it would fail the COPY if sent.
   */
  private writeAhead(statement: Statement): Statement {
    try {
      const pieces = [...statement.copyData!(this.chunks)];
      return { ...statement, copyData: () => pieces };
    } catch (error) {
      throw statementError(error, statement.failed());
    }
  }
}

function isCopy(statement: Statement): boolean {
  return statement.copyData !== undefined && statement.wholeInserts !== undefined;
}

/**
 * `before` then `after`, with each COPY moved forward into an earlier COPY of
 * the same table and columns, its rows after that one's, wherever no
 * statement in between must go first: one into the same table (its rows keep
 * their order), or into a table its rows reference. Every row still follows
 * the rows it references, and each table's rows keep queue order, as in
 * flush-plan.ts.
 */
export function joinStatements(before: readonly Statement[], after: readonly Statement[]): Statement[] {
  const joined = [...before];
  for (const statement of after) {
    const into = isCopy(statement) ? joinableBefore(joined, statement) : -1;
    if (into >= 0) joined[into] = join(joined[into], statement);
    else joined.push(statement);
  }
  return joined;
}

/** The index of the COPY in `statements` that `next` may join, or -1. */
function joinableBefore(statements: readonly Statement[], next: Statement): number {
  for (let i = statements.length - 1; i >= 0; i--) {
    const statement = statements[i];
    if (statement.sql === next.sql && isCopy(statement)) return i;
    if (mustPrecede(statement, next)) return -1;
  }
  return -1;
}

function mustPrecede(earlier: Statement, later: Statement): boolean {
  if (!earlier.meta || !later.meta) return true; // a table the catalog does not know: references unknown
  return earlier.meta.id === later.meta.id || later.meta.parents.includes(earlier.meta.id);
}

/** One COPY carrying `first`'s rows, then `second`'s. */
function join(first: Statement, second: Statement): Statement {
  const a = first.wholeInserts!;
  const b = second.wholeInserts!;
  return {
    ...first,
    *copyData() {
      yield* first.copyData!();
      yield* second.copyData!();
    },
    wholeInserts: {
      tableLabel: a.tableLabel,
      inserts: a.inserts + b.inserts,
      rows: a.rows + b.rows,
      // read once the text is written, when each part has let go of the inserts nothing waits for
      get wanted() {
        return [...a.wanted, ...b.wanted];
      },
    },
    failed: () => joinFailed(first.failed(), second.failed()),
  };
}

/** A joined COPY's rows for an error: the line PostgreSQL names counts from the first part's first row. */
function joinFailed(first: FailedStatement, second: FailedStatement): FailedStatement {
  const fromFirst = new Set(first.rows.map(({ sent }) => sent));
  return {
    tableLabel: first.tableLabel,
    copy: true,
    rows: [...first.rows, ...second.rows],
    valueOf: (row, column) => (fromFirst.has(row) ? first : second).valueOf(row, column),
  };
}
