// knex opens a transaction by sending BEGIN and waiting for the answer before
// the callback runs: a round trip that carries nothing else. A batching
// transaction holds that BEGIN back until its first statement:
//
//   - a statement of the library's own sent as plain text (an id draw, a
//     batch of COPYs) carries it in the same Query message, "BEGIN; ...": one
//     round trip fewer for every transaction whose first statement is one of them;
//   - anything else that asks for the connection (the user's statements,
//     knex's savepoints and streams, a connection taken for pg itself) gets
//     it sent alone first, as knex would have sent it, only later
//     (transaction-hooks.ts calls `sendAlone` then);
//   - knex's COMMIT or ROLLBACK while it is still held is answered here:
//     nothing reached the server.
//
// No statement can tell: a transaction takes no lock and no snapshot at BEGIN
// (REPEATABLE READ takes its snapshot at the first statement either way). Only
// `now()`, the time the transaction started, is the time of that first
// statement rather than of the callback's start.
import type { QueryResult } from 'pg';
import { BatchInsertError, messageOf } from './errors';
import type { Connection, KnexClient, QueryObject } from './knex-internals';

/** The part of knex's Transaction object (knex/lib/execution/transaction.js) that opens it. */
interface KnexTransactionObject {
  trxClient?: KnexClient;
  begin(connection: Connection): Promise<unknown>;
}

const heldBegins = new WeakMap<KnexClient, HeldBegin>();

/**
 * Makes the transaction that `knex.transaction()` returned hold its BEGIN.
 * Call it at once: knex begins once it has a connection, a tick later at the
 * earliest. Anything but knex's Transaction object is left as it is.
 */
export function holdBegin(transaction: unknown): void {
  const knexTransaction = transaction as Partial<KnexTransactionObject>;
  const knexBegin = knexTransaction.begin;
  if (typeof knexBegin !== 'function') return;
  knexTransaction.begin = function (this: KnexTransactionObject, connection: Connection) {
    // the transaction's own client is made right before BEGIN (makeTxClient): its statements go through `_query`
    if (this.trxClient) heldBegins.set(this.trxClient, new HeldBegin(this.trxClient));
    return knexBegin.call(this, connection);
  };
}

/** The BEGIN held for the transaction whose client this is, if it was opened by `holdBegin`. */
export function heldBeginOf(client: KnexClient): HeldBegin | undefined {
  return heldBegins.get(client);
}

export class HeldBegin {
  /** knex's BEGIN, as it would have sent it, until it is sent. */
  private sql: string | undefined;
  /** knex's BEGIN is the next statement. */
  private expected = true;
  /**
   * Why the message that sent the BEGIN failed. The BEGIN itself may have
   * failed (a serializable transaction on a standby): then nothing after it
   * may run, or it would run outside a transaction. Every later statement
   * but ROLLBACK fails with this error, as plain knex fails the transaction.
   */
  private failure: { error: unknown } | undefined;
  private readonly send: KnexClient['_query'];

  constructor(private readonly client: KnexClient) {
    this.send = client._query;
    client._query = (connection, queryObject) => this.query(connection, queryObject);
  }

  /**
   * The held BEGIN, without its semicolon, to go at the front of a Query
   * message of plain text, or '' once sent: from now on it counts as sent.
   * Throws if it was sent and failed: the message must not go.
   */
  take(): string {
    if (this.failure) throw this.refusal();
    const sql = this.sql?.trim().replace(/;$/, '') ?? '';
    this.sql = undefined;
    return sql;
  }

  /** Sends the held BEGIN on its own, if it is held: before a statement that cannot carry it. */
  async sendAlone(connection: Connection): Promise<void> {
    const sql = this.take();
    if (sql) await this.sent(this.send.call(this.client, connection, { sql, bindings: [] }));
  }

  private query(connection: Connection, queryObject: QueryObject): Promise<QueryObject> {
    const end = transactionEnd(queryObject.sql);
    if (this.failure && end !== 'ROLLBACK') return Promise.reject(this.refusal());
    if (this.expected) {
      this.expected = false;
      if (/^\s*begin\b/i.test(queryObject.sql)) {
        this.sql = queryObject.sql;
        return answeredHere(queryObject, 'BEGIN');
      }
    }
    if (this.sql === undefined) return this.send.call(this.client, connection, queryObject);
    if (end) {
      this.sql = undefined;
      return answeredHere(queryObject, end);
    }
    if (!queryObject.bindings?.length) return this.carry(connection, queryObject);
    return this.sendAlone(connection).then(() => this.send.call(this.client, connection, queryObject));
  }

  /** Sends a statement without bindings (plain text, a simple Query message) with the BEGIN in front. */
  private async carry(connection: Connection, queryObject: QueryObject): Promise<QueryObject> {
    const carried = await this.sent(this.send.call(this.client, connection, { ...queryObject, sql: `${this.take()};\n${queryObject.sql}` }));
    // pg answers a message of several statements with one result each
    const results = carried.response as unknown as QueryResult[];
    queryObject.response = (results.length === 2 ? results[1] : results.slice(1)) as QueryResult;
    return queryObject;
  }

  /** A new error for each statement refused after BEGIN failed: knex writes its SQL into the message of the error it is given. */
  private refusal(): BatchInsertError {
    const { error } = this.failure!;
    return new BatchInsertError(`knex-batch-inserts: not run, the transaction's BEGIN failed: ${messageOf(error)}`, { cause: error });
  }

  /** The answer to the message that sends the BEGIN; its failure is kept. */
  private sent(answer: Promise<QueryObject>): Promise<QueryObject> {
    return answer.catch((error: unknown) => {
      this.failure = { error };
      throw error;
    });
  }
}

/** Which of knex's statements that end a transaction `sql` is, if it is one (transaction-hooks.ts asks too). */
export function transactionEnd(sql: string): 'COMMIT' | 'ROLLBACK' | undefined {
  const end = /^\s*(commit|rollback);?\s*$/i.exec(sql);
  return end ? (end[1].toUpperCase() as 'COMMIT' | 'ROLLBACK') : undefined;
}

/** Resolves as pg does for a statement that returns no rows (transaction-hooks.ts answers knex's COMMIT with it too). */
export function answeredHere(queryObject: QueryObject, command: string): Promise<QueryObject> {
  return Promise.resolve(Object.assign(queryObject, { response: { command, rowCount: null, oid: 0, rows: [], fields: [] } as unknown as QueryResult }));
}
