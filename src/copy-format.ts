// The text format of `COPY ... FROM STDIN`: one line per row, fields
// separated by tabs, `\N` for NULL, and backslash escapes for the four
// characters that would break a line or a field. Each value is first turned
// into text by pg's own `prepareValue`, the function pg applies to query
// parameters, so the server parses exactly the text an INSERT would have
// bound (dates, JSON, arrays, objects with toPostgres).
import type { Row } from './knex-internals';

/** pg's conversion of a parameter to the text it sends (exported by pg as `utils.prepareValue`). */
export type PrepareValue = (value: unknown) => string | Buffer | null;

/** Characters that COPY's text format must escape. */
const SPECIAL = /[\\\n\r\t]/;
const SPECIAL_ALL = /[\\\n\r\t]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Text is sent in pieces of at most about this many characters: the server parses one piece while the next is built. */
export const PIECE = 64 * 1024;
/**
 * The first piece of a COPY is this small, and each next one twice as large
 * up to PIECE: the Query message leaves with the first piece (copy-batch.ts),
 * so the server sets up the COPY and parses rows while the client writes
 * the rest, rather than only once PIECE characters are written. Text written
 * ahead (staged-copies.ts) waits for nothing when sent: it starts at PIECE.
 */
const FIRST_PIECE = 256;

/** A column of a COPY, and where each row's value for it comes from. */
export interface CopyColumn {
  /** The knex-level key of the rows. */
  key: string;
  /** The PostgreSQL column it fills. */
  name: string;
  /** The pre-allocated key column: a row's id, when it has one, is its value. */
  id: boolean;
  /** A json or jsonb column: arrays go as JSON text, not as PostgreSQL arrays (as for INSERT, see statement-writer.ts). */
  json: boolean;
}

/**
 * Whether a row, with its pre-allocated id if any, gives exactly `columns`
 * values COPY can carry: Buffers are bound as binary parameters, which COPY's
 * text format cannot reproduce for every column type, and undefined means
 * DEFAULT, which COPY cannot say for one row.
 */
export function fitsColumns(row: Row, id: unknown, columns: readonly CopyColumn[]): boolean {
  let keys = 0;
  for (const _key in row) keys++;
  if (id !== undefined) {
    const keyColumn = keyColumnOf(columns);
    if (keyColumn === undefined) return false; // its id would not be sent
    if (!(keyColumn.key in row)) keys++;
  }
  if (keys !== columns.length) return false;
  for (const column of columns) {
    const value = valueOf(row, id, column);
    if (value === undefined || (typeof value === 'object' && value !== null && ArrayBuffer.isView(value))) return false;
  }
  return true;
}

/**
 * The rows of several inserts as COPY text, in pieces that grow from
 * `firstPiece` to PIECE characters: `rows[i]` are the rows of insert i,
 * `ids[i]` their pre-allocated ids by row index.
 */
export function* copyText(
  rows: readonly (readonly Row[])[],
  ids: readonly (readonly unknown[])[],
  columns: readonly CopyColumn[],
  prepare: PrepareValue,
  firstPiece = FIRST_PIECE,
): Generator<string> {
  // fields and separators are collected and joined once per piece: `text += field` would make two string objects per field
  const parts: string[] = [];
  let length = 0;
  let piece = firstPiece;
  const last = columns.length - 1;
  for (let i = 0; i < rows.length; i++) {
    for (let j = 0; j < rows[i].length; j++) {
      for (let c = 0; c <= last; c++) {
        const text = field(valueOf(rows[i][j], ids[i][j], columns[c]), prepare);
        parts.push(text, c < last ? '\t' : '\n');
        length += text.length + 1;
      }
      if (length >= piece) {
        yield parts.join('');
        parts.length = 0;
        length = 0;
        piece = Math.min(PIECE, piece * 2);
      }
    }
  }
  if (length > 0) yield parts.join('');
}

function keyColumnOf(columns: readonly CopyColumn[]): CopyColumn | undefined {
  for (const column of columns) if (column.id) return column;
  return undefined;
}

function valueOf(row: Row, id: unknown, { key, id: isKey, json }: CopyColumn): unknown {
  const value = isKey && id !== undefined ? id : row[key];
  return json && Array.isArray(value) ? JSON.stringify(value) : value;
}

/**
 * A value as a COPY field: the text pg's prepareValue makes of it, escaped.
 * Numbers and strings skip prepareValue, which returns them as toString()
 * and as they are; a number's text has nothing to escape.
 */
function field(value: unknown, prepare: PrepareValue): string {
  if (typeof value === 'number') return String(value);
  const text = typeof value === 'string' ? value : prepare(value);
  if (text === null) return '\\N';
  const plain = String(text);
  return SPECIAL.test(plain) ? plain.replace(SPECIAL_ALL, (char) => ESCAPES[char]) : plain;
}

const UNESCAPES: Record<string, string> = { '\\': '\\', n: '\n', r: '\r', t: '\t' };

/**
 * Rows of COPY text as `copyText` writes it, read back by column name (NULL
 * as null, every other value as its text): what an error reads of a batch
 * whose inserts were let go once their text was written.
 */
export function parseCopyText(text: string, columns: readonly string[]): Row[] {
  const lines = text.split('\n');
  lines.pop(); // the text ends with a newline
  return lines.map((line) => {
    const fields = line.split('\t');
    const row: Row = {};
    columns.forEach((column, i) => {
      const field = fields[i];
      row[column] = field === '\\N' ? null : field.replace(/\\(.)/g, (_, char: string) => UNESCAPES[char] ?? char);
    });
    return row;
  });
}
