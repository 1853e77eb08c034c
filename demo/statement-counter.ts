// Counts the statements and round trips the demo and each contender of the
// benchmark send, in the same way for all of them: every one ends up in pg's
// `Client.prototype.query` (knex and Objection through the project's pg,
// pg-promise through its own copy of pg), so wrapping that method counts one
// call as one round trip and one statement, BEGIN and COMMIT included, plus
// the statements a call carries besides its own (knex-batch-inserts' BEGIN in
// front of its first statement, its COPYs and COMMIT sent together). A BEGIN
// or COMMIT knex-batch-inserts answers itself reaches no pg Client and counts
// for nothing. Counting is on only between startCounting and stopCounting.

export interface StatementCount {
  statements: number;
  roundTrips: number;
}

/** The part of a pg `Client` class the counter needs. */
interface ClientClass {
  prototype: { query: (...args: unknown[]) => unknown };
}

const wrapped = Symbol('knex-batch-inserts statement counter');

let counting = false;
let count: StatementCount = { statements: 0, roundTrips: 0 };

/**
 * Wraps `query` of a pg Client class (once per class). Call it for every copy
 * of pg in use: the project's and pg-promise's are different modules.
 */
export function countStatementsOf(Client: ClientClass): void {
  const prototype = Client.prototype as ClientClass['prototype'] & { [wrapped]?: true };
  if (prototype[wrapped]) return;
  const original = prototype.query;
  prototype.query = function (this: unknown, ...args: unknown[]) {
    if (counting) {
      const copies = copyCommands(args[0]);
      count.statements += Math.max(1, copies + (copies > 0 ? commits(args[0]) : 0)) + carriedBegin(args[0]);
      // A COPY FROM STDIN through pg-copy-streams costs two round trips: the
      // server first answers CopyInResponse, then the data goes and
      // CommandComplete comes back. A query object that sends its data
      // without waiting says what it costs (knex-batch-inserts' CopyBatch).
      count.roundTrips += copies === 0 ? 1 : ownRoundTrips(args[0]) ?? 2;
    }
    return original.apply(this, args);
  };
  prototype[wrapped] = true;
}

/** Starts counting from zero. */
export function startCounting(): void {
  count = { statements: 0, roundTrips: 0 };
  counting = true;
}

/** Stops counting and returns what was counted since `startCounting()`. */
export function stopCounting(): StatementCount {
  counting = false;
  return { ...count };
}

/** The COPY commands in a query object that pg submits (pg-copy-streams, CopyBatch); 0 for anything else. */
function copyCommands(query: unknown): number {
  if (typeof query !== 'object' || query === null) return 0;
  const candidate = query as { submit?: unknown; text?: unknown };
  if (typeof candidate.submit !== 'function' || typeof candidate.text !== 'string') return 0;
  return candidate.text.split(';').filter((sql) => /^\s*copy\b/i.test(sql)).length;
}

/** The COMMIT a batch of COPYs carries (knex-batch-inserts' last flush): knex's own COMMIT then reaches no pg Client. */
function commits(batch: unknown): number {
  return (batch as { text: string }).text.split(';').filter((sql) => /^\s*commit\b/i.test(sql)).length;
}

/** 1 when a query's text opens with a BEGIN and goes on with more (knex-batch-inserts' held BEGIN, src/held-begin.ts). */
function carriedBegin(query: unknown): number {
  const text = typeof query === 'string' ? query : (query as { text?: unknown } | null)?.text;
  return typeof text === 'string' && /^\s*begin\b[^;]*;\s*\S/i.test(text) ? 1 : 0;
}

function ownRoundTrips(query: unknown): number | undefined {
  const roundTrips = (query as { roundTrips?: unknown }).roundTrips;
  return typeof roundTrips === 'number' ? roundTrips : undefined;
}
