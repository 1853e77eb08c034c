// Several `COPY ... FROM STDIN` in one round trip.
//
// The usual client (psql, libpq, pg-copy-streams) sends the COPY command,
// waits for the server's CopyInResponse, then sends the data: two round trips
// per COPY. The protocol does not require the wait. The server reads the
// Query message, starts the first COPY and reads its data from what is
// already on the socket, ends it at CopyDone, goes on to the next COPY of the
// same Query message, and answers everything at the end. So this sends the
// Query message naming every COPY, then each COPY's data and CopyDone,
// without waiting for an answer, and reads the answers as they come: one
// round trip for any number of tables. (pg-copy-streams waits for CopyInResponse, so it cannot do this.)
//
// When a COPY fails, the server reports the error, skips the rest of the
// Query message and ignores the CopyData and CopyDone messages still coming
// (PostgreSQL's main loop accepts and drops them "because a COPY failed, and
// the frontend is still sending data"); the connection stays in step.
//
// The object is a pg "submittable", the interface pg-copy-streams and
// pg-cursor use: pg's Client calls `submit` when the connection is free and
// forwards the server's messages to the `handle...` methods.
import type { WireConnection } from './knex-internals';

/**
 * pg's Client as far as handing it a batch goes: `query`, and its queue of
 * queries not yet sent (pg 8's `_queryQueue`), which it sends from the
 * front, one at a time, each once the one before is answered.
 */
export interface QueryClient {
  query(batch: CopyBatch): unknown;
  _queryQueue: unknown[];
}

export interface CopyCommand {
  sql: string;
  /** The rows in COPY's text format, in pieces, as text or UTF-8. */
  data: Iterable<string | Buffer>;
}

/**
 * How a batch ended: the row count of each COPY that completed, and the
 * error of the one after them (or of the COMMIT), if one failed; whether
 * the COMMIT that ended it went through.
 */
export interface CopyBatchResult {
  rowCounts: number[];
  error?: unknown;
  committed: boolean;
}

export class CopyBatch {
  /** For pg and for logs: the Query message's text. */
  readonly text: string;
  /** What it costs, for whoever counts (the benchmark): the data does not wait for an answer. */
  readonly roundTrips = 1;
  readonly done: Promise<CopyBatchResult>;
  private readonly rowCounts: number[] = [];
  private committed = false;
  private error: unknown;
  private finish!: (result: CopyBatchResult) => void;

  /** Let go once written: their data refers to the inserts it was written from (see releaseCopied in statement-writer.ts). */
  private commands: readonly CopyCommand[];

  /**
   * With `begin` (knex's BEGIN, held back: held-begin.ts), the Query message
   * opens the transaction first. With `commit`, it ends with COMMIT: the
   * server runs it once every COPY is through, in the same round trip, and
   * skips it if one fails, which leaves the transaction failed, as it would
   * be anyway.
   */
  constructor(commands: readonly CopyCommand[], { begin, commit }: { begin?: string; commit?: boolean } = {}) {
    this.commands = commands;
    this.text = [...(begin ? [begin] : []), ...commands.map(({ sql }) => sql), ...(commit ? ['commit'] : [])].join(';\n');
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  /** Written to the connection: by `submit`, or by `sendAfter`, in which case pg's call to `submit` does nothing. */
  sent = false;
  /** Answered, or failed. */
  finished = false;
  /** A batch written behind this one, which pg is handed when this one is answered (see sendAfter). */
  private follower: { batch: CopyBatch; client: QueryClient } | undefined;

  /**
   * Writes this batch now, right behind `before`, which the server is still
   * answering: the server goes on to it without waiting a round trip. pg
   * holds one query at a time as running, and queries queued meanwhile
   * (other statements of the transaction) would come after this batch on
   * the wire but before it in pg's queue. So pg is given this batch only
   * when `before` is answered, from pg's own message handling, at the front
   * of its queue: it is the next query pg runs, and gets the next answers.
   */
  sendAfter(before: CopyBatch, client: QueryClient, connection: WireConnection): void {
    before.follower = { batch: this, client };
    this.submit(connection);
  }

  submit(connection: WireConnection): void {
    if (this.sent) return;
    this.sent = true;
    // Corked, the short messages (Query, CopyDone) leave in one write with the
    // data next to them. Uncorked after each piece, the piece leaves at once:
    // the server parses it while the next one is built.
    const { stream } = connection;
    stream.cork();
    try {
      connection.query(this.text);
      for (const { data } of this.commands) {
        try {
          for (const piece of data) {
            connection.sendCopyFromChunk(typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece);
            stream.uncork();
            stream.cork();
          }
        } catch (error) {
          // a value pg cannot turn into text (a BigInt inside JSON): the server fails this COPY and skips the
          // rest of the message; the batch fails with this error rather than the server's answer to CopyFail
          this.error = error;
          connection.sendCopyFail(error instanceof Error ? error.message : String(error));
          return;
        }
        connection.endCopyFrom();
      }
    } finally {
      stream.uncork();
      this.commands = [];
    }
  }

  handleCopyInResponse(): void {
    // the data is on its way already
  }

  handleCommandComplete(message: { text?: string }): void {
    if (message.text === 'COMMIT') this.committed = true;
    else if (message.text !== 'BEGIN' && message.text !== 'ROLLBACK') this.rowCounts.push(Number(/\d+$/.exec(message.text ?? '')?.[0] ?? 0));
  }

  /**
   * pg calls this instead of handleReadyForQuery when the server reports an
   * error (or the connection fails), and starts the next query it holds at
   * the ReadyForQuery that follows: a batch written behind this one is handed
   * over now, to be that query.
   */
  handleError(error: unknown): void {
    this.error ??= error;
    this.end({ rowCounts: this.rowCounts, error: this.error, committed: this.committed });
  }

  handleReadyForQuery(): void {
    this.end({ rowCounts: this.rowCounts, committed: this.committed });
  }

  private end(result: CopyBatchResult): void {
    if (this.finished) return;
    this.finished = true;
    if (this.follower) {
      // pg runs it next (its submit does nothing: it is sent), once this one's ReadyForQuery is handled: handed over
      // as any query, so that what watches pg's queries sees it, or, if pg holds queries queued meanwhile, before them
      const { batch, client } = this.follower;
      this.follower = undefined;
      if (client._queryQueue.length === 0) client.query(batch);
      else client._queryQueue.unshift(batch);
    }
    this.finish(result);
  }

  // Messages a COPY FROM never gets; pg would call them on any query object.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
}
