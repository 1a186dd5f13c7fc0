/**
 * A byte-bounded FIFO of encoded chunks: what a sink has encoded but not yet sent. Past the bound
 * the OLDEST chunks are dropped (the newest data is the most useful to a dashboard or an alert,
 * and the oldest is what a long outage has already made stale); the caller counts what `push`
 * reports as dropped.
 */

/** A piece of a sink's wire format: concatenating chunks of one sink gives a valid body. */
export interface Chunk {
  /** Encoded bytes. Owned by the queue once pushed; never modified afterwards. */
  readonly data: Buffer;
  /** Samples encoded in `data`. */
  readonly samples: number;
}

export interface PushResult {
  droppedChunks: number;
  droppedSamples: number;
  droppedBytes: number;
}

export class ChunkQueue {
  private items: Chunk[] = [];
  private head = 0;
  private totalBytes = 0;
  private totalSamples = 0;

  /** @param maxBytes bound on the summed `data` lengths; a single larger chunk is still kept. */
  constructor(readonly maxBytes: number) {
    if (!(Number.isFinite(maxBytes) && maxBytes > 0)) throw new RangeError(`maxBytes must be a positive number, got ${maxBytes}`);
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get samples(): number {
    return this.totalSamples;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** Appends `c`, first dropping the oldest chunks as needed to keep within `maxBytes`. */
  push(c: Chunk): PushResult {
    const res: PushResult = { droppedChunks: 0, droppedSamples: 0, droppedBytes: 0 };
    while (this.length > 0 && this.totalBytes + c.data.length > this.maxBytes) {
      const old = this.shift()!;
      res.droppedChunks++;
      res.droppedSamples += old.samples;
      res.droppedBytes += old.data.length;
    }
    this.items.push(c);
    this.totalBytes += c.data.length;
    this.totalSamples += c.samples;
    return res;
  }

  peek(): Chunk | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  shift(): Chunk | undefined {
    if (this.head >= this.items.length) return undefined;
    const c = this.items[this.head];
    (this.items as Array<Chunk | undefined>)[this.head] = undefined;
    this.head++;
    this.totalBytes -= c.data.length;
    this.totalSamples -= c.samples;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return c;
  }

  /** Removes and returns every chunk, oldest first. */
  drain(): Chunk[] {
    const out = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    this.totalBytes = 0;
    this.totalSamples = 0;
    return out;
  }
}
