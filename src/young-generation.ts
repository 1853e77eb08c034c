// How much V8 has allocated in its young generation since a mark, read from
// the young generation's used size: it grows with every allocation and only
// a collection makes it smaller. Reading it costs about a microsecond:
// callers read it every so many inserts, not at every one. Between two reads
// a few hundred kilobytes apart, a collection shows as a smaller size. The
// count is approximate both ways: what survives a collection is counted as
// allocated again (early), and a collection after which the space is fuller
// than at the read before, or a second one between two reads, is missed
// (late).
import { getHeapSpaceStatistics } from 'node:v8';

export class YoungGeneration {
  /** Bytes allocated since the mark, as of the last read. */
  private allocated = 0;
  private lastUsed = 0;

  constructor() {
    this.mark();
  }

  /** Measures from now. */
  mark(): void {
    this.lastUsed = newSpace().space_used_size;
    this.allocated = 0;
  }

  /** Whether `share` of the young generation's capacity has been allocated since the mark. */
  filledSinceMark(share: number): boolean {
    const { space_used_size: used, space_available_size: available } = newSpace();
    const capacity = used + available;
    // after a collection: what filled the space before it, then what is in it now (survivors included)
    this.allocated += used >= this.lastUsed ? used - this.lastUsed : capacity - this.lastUsed + used;
    this.lastUsed = used;
    return this.allocated >= share * capacity;
  }
}

const EMPTY = { space_used_size: 0, space_available_size: Infinity };

function newSpace(): { space_used_size: number; space_available_size: number } {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space') ?? EMPTY;
}
