// Allocation that dies young, for tests of what happens when a queue ages
// (src/queue-policy.ts, YOUNG_SHARE).

const held: unknown[][] = [];

/**
 * Allocates 32 KB that lives for four calls, then dies young. Called once a
 * row, a loop of a few thousand rows fills V8's young generation several
 * times over (6,000 rows: about 190 MB), so its queue ages every few
 * thousand rows and is staged as COPY text (or, on PGlite, flushed).
 */
export function allocateYoung(i: number): void {
  held[i % 4] = new Array(4000).fill(i);
}
