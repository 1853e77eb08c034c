// What every contender provides. The runner times `prepare(work)()` only:
// from just before BEGIN to just after COMMIT.
import type { Workload } from '../workload';

export interface ContenderContext {
  /** Where to connect: the server, or the latency proxy in front of it. */
  url: string;
  /** The benchmark's schema, holding `parents` and `children`. */
  schema: string;
}

export interface Session {
  /**
   * Untimed: turns the caller's row objects into what this contender's users
   * would hand it, and returns the timed part: one transaction that inserts them.
   */
  prepare(work: Workload): () => Promise<void>;
  close(): Promise<void>;
}

export interface Contender {
  /** Short name for --contenders and for the chart's colours. */
  id: string;
  /** As it appears in the table, the chart and the progress line. */
  name: string;
  /** One statement per row: at large N or added latency the runner times a sample and extrapolates. */
  onePerRow?: boolean;
  /** The floor every other contender is compared with. */
  floor?: boolean;
  /** Why it cannot run on the embedded PGlite, if it cannot. */
  notOnEmbedded?: string;
  /** Connects (one connection, kept for every run at this latency). */
  open(context: ContenderContext): Promise<Session>;
}
