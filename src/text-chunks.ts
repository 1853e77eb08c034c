// Memory outside V8's heap for staged COPY text, reused from one flush to the
// next. Staged text lives for several minor collections, so as strings it
// would be copied to the old generation and stay there, garbage, until a
// full collection: loading 1,000,000 rows (`npm run bench:memory`), the peak
// went from 1.64 to 1.92-1.96 times the rows. Copied into chunks that are
// handed back once the server has answered the flush that sent them, the
// text adds a few megabytes, allocated once per transaction.

/** Bytes per chunk: a piece of COPY text (copy-format.ts, PIECE: 64K characters) fits, even at 3 bytes a character. */
const CHUNK_BYTES = 256 * 1024;

export class TextChunks {
  private readonly free: Buffer[] = [];
  /** Chunks written since the last `take`, the last one being filled. */
  private written: Buffer[] = [];
  private used = CHUNK_BYTES;

  /** Copies `text` in, as UTF-8: the bytes written, a view of a chunk, valid until the chunk is handed back. */
  write(text: string): Buffer {
    const bytes = Buffer.byteLength(text);
    if (bytes > CHUNK_BYTES) return Buffer.from(text, 'utf8'); // a row larger than a chunk: its own buffer
    if (this.used + bytes > CHUNK_BYTES) {
      this.written.push(this.free.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES));
      this.used = 0;
    }
    const chunk = this.written[this.written.length - 1];
    chunk.write(text, this.used, 'utf8');
    const view = chunk.subarray(this.used, this.used + bytes);
    this.used += bytes;
    return view;
  }

  /** The chunks written so far, for a flush to hand back (`giveBack`) once its statements are answered. */
  take(): Buffer[] {
    const taken = this.written;
    this.written = [];
    this.used = CHUNK_BYTES;
    return taken;
  }

  giveBack(chunks: readonly Buffer[]): void {
    this.free.push(...chunks);
  }
}
