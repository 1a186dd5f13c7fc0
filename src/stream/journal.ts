/**
 * The ids of the events sent recently, each with the store's removal count at that moment: what
 * a resume (Last-Event-ID) needs to know that the id is ours and that no series vanished since.
 * A fixed ring (16 bytes an entry); ids are strictly increasing, so lookup is a binary search.
 */

export class EventJournal {
  private readonly ids: Float64Array;
  private readonly removals: Float64Array;
  private start = 0;
  private count = 0;

  constructor(readonly capacity = 16_384) {
    this.ids = new Float64Array(capacity);
    this.removals = new Float64Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Records an id; it must be larger than every id recorded before. Drops the oldest when full. */
  record(id: number, removedTotal: number): void {
    const cap = this.capacity;
    if (this.count === cap) {
      this.start = (this.start + 1) % cap;
      this.count--;
    }
    const i = (this.start + this.count) % cap;
    this.ids[i] = id;
    this.removals[i] = removedTotal;
    this.count++;
  }

  /** The removal count recorded with `id`, or undefined when `id` is not (or no longer) in the journal. */
  removalsAt(id: number): number | undefined {
    let lo = 0;
    let hi = this.count;
    const cap = this.capacity;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ids[(this.start + mid) % cap] < id) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.count) return undefined;
    const i = (this.start + lo) % cap;
    return this.ids[i] === id ? this.removals[i] : undefined;
  }
}
