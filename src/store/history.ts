/**
 * Per-series history kept by time, in compressed chunks (see chunk.ts).
 *
 * A series' newest point lives on the Series itself; everything older is here: completed chunks of
 * CHUNK_POINTS points, copied into a shared arena of fixed-size slabs, plus one open chunk being
 * written. A slab is freed when the last chunk in it is dropped; chunks complete in time order, so
 * trimming the oldest history empties the oldest slabs. Per completed chunk a series keeps only a
 * packed arena reference and its last timestamp (16 bytes), so a one-byte-per-point encoding is not
 * eaten up by per-chunk object overhead.
 */

import { CHUNK_POINTS, ChunkWriter, chunkFirstTime, readChunk } from './chunk';

/** Slab size: a few hundred typical chunks, small enough that a small store wastes little. */
export const SLAB_BYTES = 64 * 1024;
const SLAB_SHIFT = 2 ** 20; // ref = slab id × 2^20 + offset (offset < SLAB_BYTES ≤ 2^20)

interface Slab {
  readonly buf: Uint8Array;
  used: number;
  /** Chunks in this slab that some series still references. */
  live: number;
}

/** The shared store of completed chunks. One per SeriesStore. */
export class HistoryArena {
  private readonly slabs: Array<Slab | null> = [];
  private readonly freeIds: number[] = [];
  private current: Slab | null = null;
  private currentId = -1;
  private slabCount = 0;

  /** Bytes allocated for slabs (what the process really holds, holes included). */
  get bytes(): number {
    return this.slabCount * SLAB_BYTES;
  }

  /** Copies `len` bytes of `src` in; returns the reference. */
  put(src: Uint8Array, len: number): number {
    let slab = this.current;
    if (slab === null || slab.used + len > SLAB_BYTES) {
      // Chunks are at most a few KiB (CHUNK_POINTS points of at most 145 bits), far below a slab.
      slab = { buf: new Uint8Array(SLAB_BYTES), used: 0, live: 0 };
      const id = this.freeIds.pop() ?? this.slabs.length;
      this.slabs[id] = slab;
      this.current = slab;
      this.currentId = id;
      this.slabCount++;
    }
    const off = slab.used;
    slab.buf.set(src.subarray(0, len), off);
    slab.used += len;
    slab.live++;
    return this.currentId * SLAB_SHIFT + off;
  }

  /** Releases a chunk; frees its slab when it was the last one in it. */
  release(ref: number): void {
    const id = Math.floor(ref / SLAB_SHIFT);
    const slab = this.slabs[id];
    if (!slab) return;
    if (--slab.live > 0) return;
    if (slab === this.current) this.current = null;
    this.slabs[id] = null;
    this.freeIds.push(id);
    this.slabCount--;
  }

  /** The slab buffer and offset of a chunk. */
  locate(ref: number): [Uint8Array, number] {
    const id = Math.floor(ref / SLAB_SHIFT);
    return [this.slabs[id]!.buf, ref - id * SLAB_SHIFT];
  }
}

/**
 * Fixed cost of a history beyond its buffers: the object, its writer, two small arrays (measured
 * with bench/store-memory.ts).
 */
const HISTORY_OVERHEAD_BYTES = 240;
/** Per completed chunk: its packed reference and last timestamp (two doubles). */
const CHUNK_REF_BYTES = 16;

export class SeriesHistory {
  private readonly open = new ChunkWriter();
  /** Completed chunks, oldest first: arena references and last timestamps. */
  private refs: number[] = [];
  private lastTimes: number[] = [];
  /** True once any chunk was dropped (time window or byte budget): older points are gone. */
  trimmed = false;

  constructor(private readonly arena: HistoryArena) {}

  /** Bytes held by this history itself (the arena's slabs are counted by the store). */
  get bytes(): number {
    return HISTORY_OVERHEAD_BYTES + this.open.buf.length + this.refs.length * CHUNK_REF_BYTES;
  }

  /** Points held. */
  get length(): number {
    return this.refs.length * CHUNK_POINTS + this.open.count;
  }

  get chunks(): number {
    return this.refs.length;
  }

  /** Timestamp of the newest point held, or -Infinity when empty. */
  get lastTime(): number {
    return this.open.count > 0 ? this.open.lastT : this.lastTimes.length > 0 ? this.lastTimes[this.lastTimes.length - 1] : -Infinity;
  }

  /** Timestamp of the oldest point held, or +Infinity when empty. */
  get firstTime(): number {
    if (this.refs.length > 0) {
      const [buf, off] = this.arena.locate(this.refs[0]);
      return chunkFirstTime(buf, off);
    }
    return this.open.count > 0 ? this.open.firstT : Infinity;
  }

  /** Last timestamp of the oldest completed chunk (trimming order), or +Infinity when none. */
  get oldestChunkEnd(): number {
    return this.lastTimes.length > 0 ? this.lastTimes[0] : Infinity;
  }

  /** Appends a point newer than every point held (the caller checks `t > lastTime`). */
  append(t: number, v: number): void {
    const w = this.open;
    if (w.count === CHUNK_POINTS) {
      this.refs.push(this.arena.put(w.buf, w.byteLength));
      this.lastTimes.push(w.lastT);
      w.reset();
    }
    w.append(t, v);
  }

  /** Drops completed chunks whose points all lie before `cutoff`; returns how many. */
  dropChunksBefore(cutoff: number): number {
    let n = 0;
    while (n < this.lastTimes.length && this.lastTimes[n] < cutoff) {
      this.arena.release(this.refs[n]);
      n++;
    }
    if (n > 0) {
      this.refs.splice(0, n);
      this.lastTimes.splice(0, n);
      this.trimmed = true;
    }
    return n;
  }

  /** Releases every completed chunk (the series is going away or its history is disabled). */
  releaseAll(): void {
    for (const ref of this.refs) this.arena.release(ref);
    this.refs = [];
    this.lastTimes = [];
  }

  /**
   * Calls fn(t, v) for each point with t ≥ fromMs, oldest first; stops when fn returns false.
   * Chunks that end before fromMs are skipped without decoding.
   */
  forEach(fromMs: number, fn: (t: number, v: number) => boolean | void): boolean {
    let go = true;
    const visit = (t: number, v: number): boolean => {
      if (t < fromMs) return true;
      if (fn(t, v) === false) go = false;
      return go;
    };
    for (let i = 0; i < this.refs.length && go; i++) {
      if (this.lastTimes[i] < fromMs) continue;
      const [buf, off] = this.arena.locate(this.refs[i]);
      readChunk(buf, off, visit);
    }
    if (go && this.open.count > 0 && this.open.lastT >= fromMs) readChunk(this.open.buf, 0, visit);
    return go;
  }
}
