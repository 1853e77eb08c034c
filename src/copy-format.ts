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

/** Text is sent in pieces of about this many characters: the server parses one piece while the next is built. */
const PIECE = 64 * 1024;

/**
 * Whether COPY can carry this value as pg would bind it. Buffers are bound
 * as binary parameters, which COPY's text format cannot reproduce for every
 * column type; undefined means DEFAULT, which COPY cannot say for one row.
 */
export function copyable(value: unknown): boolean {
  return value !== undefined && !(typeof value === 'object' && value !== null && ArrayBuffer.isView(value));
}

/** The rows as COPY text, `keys` in order, in pieces of about PIECE characters. */
export function* copyText(rows: readonly Row[], keys: readonly string[], prepare: PrepareValue): Generator<string> {
  let text = '';
  for (const row of rows) {
    for (let i = 0; i < keys.length; i++) {
      if (i > 0) text += '\t';
      text += field(prepare(row[keys[i]]));
    }
    text += '\n';
    if (text.length >= PIECE) {
      yield text;
      text = '';
    }
  }
  if (text.length > 0) yield text;
}

function field(value: string | Buffer | null): string {
  if (value === null) return '\\N';
  const text = String(value);
  return SPECIAL.test(text) ? text.replace(SPECIAL_ALL, (char) => ESCAPES[char]) : text;
}
