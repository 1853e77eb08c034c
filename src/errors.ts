// Errors: the one error class users see, where an insert was queued, and which
// queued row a PostgreSQL error belongs to.
import * as path from 'node:path';
import type { Row } from './knex-internals';
import { SAMPLED_CALL_SITES } from './options';

/** Where an insert was queued: an object whose `stack` V8 formats on first read. */
export interface Origin {
  readonly stack?: string;
  /** For an insert whose line was not recorded (see captureCallSites): the last recorded insert into the same table before it. */
  readonly lastRecorded?: Origin;
  readonly table?: string;
}

/** The fields of a pg `DatabaseError` that are kept on a `BatchInsertError`. */
const DATABASE_FIELDS = [
  'code', 'detail', 'hint', 'severity', 'schema', 'table', 'column', 'dataType', 'constraint', 'where', 'routine',
] as const;

type DatabaseFields = { -readonly [K in (typeof DATABASE_FIELDS)[number]]?: string };

/**
 * Raised for an insert that cannot be queued (bad input) and for a flush that
 * PostgreSQL rejected. For the latter it carries the PostgreSQL error's fields
 * (`code`, `detail`, `constraint`, ...), keeps the error itself as `cause`, and
 * its stack starts at the user's line that queued the failing insert.
 */
export class BatchInsertError extends Error implements DatabaseFields {
  // `declare`: only the fields PostgreSQL sent become properties
  declare code?: string;
  declare detail?: string;
  declare hint?: string;
  declare severity?: string;
  declare schema?: string;
  declare table?: string;
  declare column?: string;
  declare dataType?: string;
  declare constraint?: string;
  declare where?: string;
  declare routine?: string;
  /** `file:line:column` of the user's code that queued the insert, when known. */
  declare readonly queuedAt?: string;

  /**
   * `what` names the queued thing on the message's next line ("row 3 of the
   * insert queued at file:line"); `note` adds a line after it.
   */
  constructor(message: string, options: { origin?: Origin; cause?: unknown; table?: string; what?: string; note?: string } = {}) {
    const queuedAt = callSite(options.origin);
    const lines = [message];
    if (queuedAt) lines.push(`${options.what ?? 'the insert'} queued at ${queuedAt}`);
    else if (options.origin?.lastRecorded) lines.push(`${options.what ?? 'the insert'} queued at a line not recorded; ${unrecordedNote(options.origin)}`);
    if (options.note) lines.push(options.note);
    super(lines.join('\n    '), { cause: options.cause });
    this.name = 'BatchInsertError';
    if (queuedAt !== undefined) Object.defineProperty(this, 'queuedAt', { value: queuedAt, enumerable: true });
    if (isObject(options.cause)) {
      for (const field of DATABASE_FIELDS) {
        const value = options.cause[field];
        if (typeof value === 'string') this[field] = value;
      }
    }
    if (options.table !== undefined) this.table ??= options.table;
    const frames = userFrames(options.origin);
    if (frames.length > 0) this.stack = `${this.name}: ${this.message}\n${frames.join('\n')}`;
  }
}

/**
 * Records the stack of the current call, leaving out `below` and everything it
 * called. V8 captures frames now and formats them only if `stack` is read, so
 * this costs about a microsecond and a few hundred bytes per insert.
 */
export function captureOrigin(below: (...args: never[]) => unknown): Origin {
  const origin: { stack?: string } = {};
  Error.captureStackTrace(origin, below);
  return origin;
}

/** Where the last recorded insert into the table was queued; see the captureCallSites option. */
function unrecordedNote({ lastRecorded, table }: Origin): string {
  const { first, every } = SAMPLED_CALL_SITES;
  return `the last recorded insert into ${table} was queued at ${callSite(lastRecorded)} ` +
    `(a transaction records the lines of its first ${first.toLocaleString('en-US')} inserts, then of one in ${every}; captureCallSites: true records every one)`;
}

const OWN_DIRECTORY = path.dirname(__filename) + path.sep;
const KNEX_DIRECTORY = `${path.sep}node_modules${path.sep}knex${path.sep}`;

function isLibraryFrame(frame: string): boolean {
  return frame.includes(OWN_DIRECTORY) || frame.includes(KNEX_DIRECTORY) || frame.includes('(node:');
}

/** The stack frames of `origin`, starting at the first one in the user's code. */
function userFrames(origin: Origin | undefined): string[] {
  const frames = (origin?.stack ?? '').split('\n').filter((line) => line.startsWith('    at '));
  const first = frames.findIndex((frame) => !isLibraryFrame(frame));
  return first === -1 ? frames : frames.slice(first);
}

/** `file:line:column` of the user's frame of `origin`. */
function callSite(origin: Origin | undefined): string | undefined {
  const frame = userFrames(origin)[0];
  if (frame === undefined) return undefined;
  const located = /\((.*)\)$/.exec(frame);
  return located ? located[1] : frame.slice('    at '.length);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

/**
 * The rows of a failed multi-row statement that fit what PostgreSQL
 * complained about, found from the error's column, key detail or quoted
 * value, in statement order; none when the error does not say.
 * `valueOf(row, column)` reads a row by database column name.
 */
function failingRows(error: unknown, rows: readonly (Row | undefined)[], valueOf: (row: Row, column: string) => unknown): number[] {
  const indexes = (fits: (row: Row) => boolean) => rows.flatMap((row, index) => (row !== undefined && fits(row) ? [index] : []));
  if (!isObject(error)) return [];
  const { code, column, detail, message } = error;
  if (code === '23502' && typeof column === 'string') {
    return indexes((row) => valueOf(row, column) == null);
  }
  if ((code === '23505' || code === '23503') && typeof detail === 'string') {
    const key = /^Key \((.*)\)=\((.*)\)/.exec(detail);
    if (!key) return [];
    const columns = key[1].split(', ');
    const values = columns.length === 1 ? [key[2]] : key[2].split(', ');
    if (values.length !== columns.length) return [];
    return indexes((row) => columns.every((name, i) => textOf(valueOf(row, name)) === values[i]));
  }
  if (typeof code === 'string' && code.startsWith('22') && typeof message === 'string') {
    const quoted = /: "(.*)"$/.exec(message);
    if (!quoted) return [];
    return indexes((row) => Object.values(row).some((value) => textOf(value) === quoted[1]));
  }
  return [];
}

/** The row (0-based) a COPY error happened at: PostgreSQL says `COPY t, line 3[, column c: ...]` in the error's context. */
function copyLine(error: unknown): number | undefined {
  const where = isObject(error) && typeof error.where === 'string' ? /^COPY [^\n]*?, line (\d+)/.exec(error.where) : null;
  return where ? Number(where[1]) - 1 : undefined;
}

function textOf(value: unknown): string | undefined {
  return value == null ? undefined : String(value);
}

/** A row a failed statement sent: the insert it came from (rows of one insert share it), its index there, and its values, if kept. */
export interface SentRow {
  insert: { readonly origin: Origin };
  index: number;
  /** Undefined for a COPY whose text was not kept (statement-writer.ts, CopiedRows): only the line PostgreSQL names finds it. */
  sent: Row | undefined;
}

/** What an error reads of a failed statement. */
export interface FailedStatement {
  tableLabel: string;
  /** A COPY: errors raised while reading a row name its line. */
  copy: boolean;
  rows: readonly SentRow[];
  /** Reads a sent row by database column name. */
  valueOf(row: Row, column: string): unknown;
}

/** The error of a failed statement, naming the insert (and its line) that queued the failing row, where known. */
export function statementError(error: unknown, statement: FailedStatement): BatchInsertError {
  const { rows, tableLabel } = statement;
  const line = statement.copy ? copyLine(error) : undefined;
  const found = failingRows(error, rows.map(({ sent }) => sent), statement.valueOf);
  const matches = line === undefined || line >= rows.length ? found : [line, ...found.filter((index) => index !== line)];
  const index = matches.length > 0 ? matches[0] : -1;
  const culprit = rows[Math.max(index, 0)];
  const detail = (error as { detail?: unknown }).detail;
  const inserts = new Set(rows.map((row) => row.insert)).size;
  const note = (error as { code?: unknown }).code === '23505' && matches.length > 1
    ? `${matches.length} rows of the statement have this key; the others were queued at ${sitesOf(matches.slice(1).map((i) => rows[i]))}`
    : undefined;
  const what = index >= 0
    ? `row ${culprit.index} of the insert`
    : `the row is one of ${rows.length} from ${inserts} insert${inserts > 1 ? 's' : ''}${otherCallSites(rows, culprit.insert.origin)}; the first was`;
  return new BatchInsertError(
    `insert into ${tableLabel} failed: ${messageOf(error)}${typeof detail === 'string' ? ` (${detail})` : ''}`,
    { origin: culprit.insert.origin, cause: error, table: tableLabel, what, note },
  );
}

function otherCallSites(rows: readonly SentRow[], first: Origin): string {
  const firstSite = callSite(first);
  const others = rows.filter(({ insert }) => callSite(insert.origin) !== firstSite);
  return others.length > 0 ? ` (also queued at ${sitesOf(others)})` : '';
}

/** The distinct call sites of `rows`, at most three. */
function sitesOf(rows: readonly SentRow[]): string {
  const sites = [...new Set(rows.map(({ insert }) => callSite(insert.origin) ?? 'an unknown place'))];
  return sites.slice(0, 3).join(', ') + (sites.length > 3 ? ', ...' : '');
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
