// Keeps V8's compiled code for the insert path from being thrown away
// between transactions.
//
// V8 compiles the functions every insert runs through for the hidden classes
// ("maps") of the objects they meet: knex's builders, and this library's
// queued inserts, their specs and runners. All of those objects die with
// their transaction. A full garbage collection that finds no object of a
// map alive drops the map, and throws away every function compiled for it
// (V8 spares such maps for a couple of collections, and not at all when it
// collects to reduce memory, as it does when the process goes idle). The
// next transaction then runs unoptimized code until V8 compiles it again.
//
// So one object of each map stays alive here: a sentinel of each of this
// library's per-insert classes, made when its module loads, and, for every
// kind of insert the last committed transaction awaited, a copy of its
// builder that holds nothing of that transaction (no client, no values).
// `npm run bench -- --rows 1000 --latency 0,1 --reps 11 --contenders
// knex-batch-inserts,copy,knex-batchinsert,pg-promise --full-gc`, which forces
// a full collection before every transaction, took 40 ms at 0 ms and 54 ms at
// 1 ms latency without this, 26 and 33 ms with it (19 and 29 ms when no
// collection is forced; 2026-11-24, the README's machine).
import type { QueryBuilderInternals } from './knex-internals';

const kept: { sentinels: object[]; builderCopies: readonly QueryBuilderInternals[] } = { sentinels: [], builderCopies: [] };

/** Keeps a sentinel of a per-insert class alive for the life of the process. */
export function keepSentinel(sentinel: object): void {
  kept.sentinels.push(sentinel);
}

/**
 * Before COMMIT, once everything is written: copies of the transaction's
 * builders, one per kind of insert, replace the last transaction's. `link`
 * marks each copy as the batcher marks the builders it queues, which changes
 * its map the same way (a parameter: queued-insert.ts imports this module).
 */
export function keepBuilderShapes(builders: Iterable<QueryBuilderInternals>, link: (copy: QueryBuilderInternals) => void): void {
  const copies: QueryBuilderInternals[] = [];
  for (const builder of builders) {
    const copy = builder.clone();
    // same properties, so the same map; their values cut, so that nothing of the transaction stays reachable:
    // its client, its rows and merge values, the user's query context, and the stack knex's asyncStackTraces saves
    const fields = copy as unknown as Record<string, unknown>;
    for (const field of ['client', '_queryContext', '_asyncStack']) if (field in fields) fields[field] = undefined;
    for (const field of ['insert', 'merge'] as const) if (field in copy._single) copy._single[field] = undefined;
    link(copy);
    copies.push(copy);
  }
  if (copies.length > 0) kept.builderCopies = copies; // a transaction that awaited no insert leaves the last ones
}
