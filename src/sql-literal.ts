// Values written into the text of the library's own statements instead of
// bound as parameters: a statement that may be a transaction's first must be
// plain text to carry its held BEGIN (held-begin.ts). Strings are quoted by
// pg's escapeLiteral. knex then turns every `?` of a statement's text into a
// `$n` placeholder (positionBindings), even inside quotes, so a `?` in a
// value is written as chr(63) instead.
import { escapeLiteral } from 'pg';

/** A text value as SQL. */
export function literal(value: string): string {
  return value.split('?').map(escapeLiteral).join(' || chr(63) || ');
}

/** A text[] value as SQL; null elements are NULL. */
export function textArray(values: readonly (string | null)[]): string {
  return `array[${values.map((value) => (value === null ? 'null' : literal(value))).join(', ')}]::text[]`;
}

/** An int[] value as SQL. */
export function intArray(values: readonly number[]): string {
  return `array[${values.map(wholeNumber).join(', ')}]::int[]`;
}

/** A whole number as SQL; anything else is refused rather than written. */
export function wholeNumber(value: number): string {
  if (!Number.isSafeInteger(value)) throw new TypeError(`knex-batch-inserts: expected a whole number for SQL text, got ${value}`);
  return String(value);
}
