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

import { CHUNK_POINTS, ChunkWriter, chunkFirstTime, readChunk, type ChunkBuffers } from './chunk';

/** Slab size: a few hundred typical chunks, small enough that a small store wastes little. */
export const SLAB_BYTES = 64 * 1024;
const SLAB_SHIFT = 2 ** 20; // ref = slab id × 2^20 + offset (offset < SLAB_BYTES ≤ 2^20)

interface Slab {
  readonly buf: Uint8Array;
  used: number;
  /** Chunks in this slab that some series still references. */
  live: number;
}

/** Block size of the open chunks' buffer pool: 512 buffers of 128 bytes, 16 of 4 KiB. */
export const POOL_BLOCK_BYTES = 64 * 1024;

interface PoolBlock {
  readonly size: number;
  readonly buf: ArrayBuffer;
  /** Bytes handed out so far by bumping (views past this were never made). */
  bumped: number;
  /** Views given back, ready to hand out again. */
  readonly free: Uint8Array[];
  live: number;
}

/**
 * Buffers of the open chunks, one per series with history, as views into shared 64 KiB blocks of
 * one size each. A typed array of its own (what a chunk of more than 64 bytes needs) costs its
 * backing store's native bookkeeping besides its bytes: about 400 bytes per buffer on Node 24,
 * more than a typical open chunk holds. A view into a block shares that block's. A block is
 * freed when its last buffer comes back, so a store that shrinks gives the memory back.
 */
export class BufferPool implements ChunkBuffers {
  /** Blocks by the ArrayBuffer their views share (give() finds a view's block through it). */
  private readonly blocks = new Map<ArrayBuffer, PoolBlock>();
  /** Per size: blocks that can hand out a buffer (some given back, or room to bump). */
  private readonly open = new Map<number, PoolBlock[]>();
  /** Bytes of buffers handed out and not given back. */
  inUseBytes = 0;

  /** Bytes of the blocks (what the process holds for the pool). */
  get bytes(): number {
    return this.blocks.size * POOL_BLOCK_BYTES;
  }

  take(bytes: number): Uint8Array {
    let list = this.open.get(bytes);
    if (list === undefined) this.open.set(bytes, (list = []));
    let block = list[list.length - 1];
    if (block === undefined) {
      block = { size: bytes, buf: new ArrayBuffer(POOL_BLOCK_BYTES), bumped: 0, free: [], live: 0 };
      this.blocks.set(block.buf, block);
      list.push(block);
    }
    let view = block.free.pop();
    if (view === undefined) {
      view = new Uint8Array(block.buf, block.bumped, bytes);
      block.bumped += bytes;
    }
    block.live++;
    if (block.free.length === 0 && block.bumped + bytes > POOL_BLOCK_BYTES) list.pop();
    this.inUseBytes += bytes;
    return view;
  }

  give(buf: Uint8Array): void {
    const block = this.blocks.get(buf.buffer as ArrayBuffer);
    if (block === undefined || buf.length !== block.size) throw new Error('BufferPool: not a buffer of this pool');
    this.inUseBytes -= block.size;
    const list = this.open.get(block.size)!;
    const wasFull = block.free.length === 0 && block.bumped + block.size > POOL_BLOCK_BYTES;
    if (--block.live === 0) {
      // Its last buffer: the block goes (a full block is on no list).
      this.blocks.delete(block.buf);
      if (!wasFull) list.splice(list.indexOf(block), 1);
      return;
    }
    buf.fill(0);
    block.free.push(buf);
    if (wasFull) list.push(block);
  }
}

/** The shared store of completed chunks. One per SeriesStore. */
export class HistoryArena {
  /** Buffers of the open chunks of this store's histories. */
  readonly openBuffers = new BufferPool();

  private readonly slabs: Array<Slab | null> = [];
  private readonly freeIds: number[] = [];
  private current: Slab | null = null;
  private currentId = -1;
  private slabCount = 0;

  /**
   * Bytes allocated for slabs (what the process really holds, holes included), and the open
   * buffers' pool beyond the buffers in use (each history counts its own).
   */
  get bytes(): number {
    return this.slabCount * SLAB_BYTES + this.openBuffers.bytes - this.openBuffers.inUseBytes;
  }

  /** Copies `len` bytes of `src` in; returns the reference. */
  put(src: Uint8Array, len: number): number {
    let slab = this.current;
    if (slab === null || slab.used + len > SLAB_BYTES) {
      // Chunks are at most a few KiB (CHUNK_POINTS points of at most 154 bits), far below a slab.
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
 * Fixed cost of a history beyond its buffers: the object, its writer (a score of fields, several
 * of them boxed doubles), the writer's typed array. Measured as heap + external after GC, less
 * what the buffers' lengths account for: 520–600 B with a few thousand bare histories, 380–440 B
 * inside whole stores (bench/store-memory.ts, both modes); this sits between.
 */
const HISTORY_OVERHEAD_BYTES = 480;
/** What the chunk table costs beyond its doubles: the array object and its elements' header. */
const TABLE_ARRAY_BYTES = 32;
/** Completed chunks' table: two doubles a chunk, grown by doubling from this many chunks. */
const TABLE_MIN_CHUNKS = 4;
const NO_CHUNKS: number[] = [];

/**
 * `n` zeros in a JS array V8 keeps as unboxed doubles (8 bytes each, on the heap): a typed array
 * would put them in a separately allocated backing store, whose native bookkeeping cost more than
 * the table itself (about 400 bytes per series on Node 24). Filled with a non-integer first, so
 * the array's elements kind is double from the start.
 */
function doubles(n: number): number[] {
  const a = new Array<number>(n).fill(0.5);
  return a.fill(0);
}

export class SeriesHistory {
  private readonly open: ChunkWriter;
  /**
   * Completed chunks, oldest first, as pairs (arena reference, last timestamp) from pair `head` on.
   * Made at its full length and never pushed to, so its capacity is its length (known exactly).
   */
  private table: number[] = NO_CHUNKS;
  private head = 0;
  private n = 0;
  /** True once any chunk was dropped (time window or byte budget): older points are gone. */
  trimmed = false;

  constructor(private readonly arena: HistoryArena) {
    this.open = new ChunkWriter(32, arena.openBuffers);
  }

  /** Bytes held by this history itself (the arena's slabs are counted by the store). */
  get bytes(): number {
    return HISTORY_OVERHEAD_BYTES + this.open.buf.length + (this.table.length > 0 ? TABLE_ARRAY_BYTES + this.table.length * 8 : 0);
  }

  /** Points held. */
  get length(): number {
    return this.n * CHUNK_POINTS + this.open.count;
  }

  get chunks(): number {
    return this.n;
  }

  /** Timestamp of the newest point held, or -Infinity when empty. */
  get lastTime(): number {
    return this.open.count > 0 ? this.open.lastT : this.n > 0 ? this.table[(this.head + this.n - 1) * 2 + 1] : -Infinity;
  }

  /** Timestamp of the oldest point held, or +Infinity when empty. */
  get firstTime(): number {
    if (this.n > 0) {
      const [buf, off] = this.arena.locate(this.table[this.head * 2]);
      return chunkFirstTime(buf, off);
    }
    return this.open.count > 0 ? this.open.firstT : Infinity;
  }

  /** Last timestamp of the oldest completed chunk (trimming order), or +Infinity when none. */
  get oldestChunkEnd(): number {
    return this.n > 0 ? this.table[this.head * 2 + 1] : Infinity;
  }

  /**
   * Appends a point newer than every point held (the caller checks `t > lastTime`). Returns how
   * much `bytes` grew, so a caller keeping a sum need not read it before and after (on the ingest
   * path those reads were a cache miss each on the open chunk's buffer and the chunk table).
   */
  append(t: number, v: number): number {
    const w = this.open;
    let grown = 0;
    if (w.count === CHUNK_POINTS) {
      grown = this.pushChunk(this.arena.put(w.buf, w.byteLength), w.lastT);
      w.reset();
    }
    const len = w.buf.length;
    w.append(t, v);
    return grown + w.buf.length - len;
  }

  /** Adds a completed chunk to the table; returns how much `bytes` grew (the table's growth). */
  private pushChunk(ref: number, lastT: number): number {
    let end = (this.head + this.n) * 2;
    let grown = 0;
    if (end === this.table.length) {
      // Full: slide the live pairs down if half of it is dropped chunks, else double.
      if (this.head > 0 && this.head * 2 >= this.table.length >>> 1) {
        this.table.copyWithin(0, this.head * 2, end);
      } else {
        const next = doubles(Math.max(TABLE_MIN_CHUNKS * 2, this.table.length * 2));
        for (let i = this.head * 2; i < end; i++) next[i - this.head * 2] = this.table[i];
        grown = (next.length - this.table.length) * 8 + (this.table.length === 0 ? TABLE_ARRAY_BYTES : 0);
        this.table = next;
      }
      this.head = 0;
      end = this.n * 2;
    }
    this.table[end] = ref;
    this.table[end + 1] = lastT;
    this.n++;
    return grown;
  }

  /** Drops completed chunks whose points all lie before `cutoff`; returns how many. */
  dropChunksBefore(cutoff: number): number {
    let k = 0;
    while (k < this.n && this.table[(this.head + k) * 2 + 1] < cutoff) {
      this.arena.release(this.table[(this.head + k) * 2]);
      k++;
    }
    if (k > 0) {
      this.head += k;
      this.n -= k;
      if (this.n === 0) this.head = 0;
      this.trimmed = true;
    }
    return k;
  }

  /** Releases every chunk, the open one's buffer too: the series is going away or its history is disabled. */
  releaseAll(): void {
    this.open.dispose();
    for (let i = 0; i < this.n; i++) this.arena.release(this.table[(this.head + i) * 2]);
    this.table = NO_CHUNKS;
    this.head = 0;
    this.n = 0;
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
    for (let i = 0; i < this.n && go; i++) {
      const j = (this.head + i) * 2;
      if (this.table[j + 1] < fromMs) continue;
      const [buf, off] = this.arena.locate(this.table[j]);
      readChunk(buf, off, visit);
    }
    if (go && this.open.count > 0 && this.open.lastT >= fromMs) readChunk(this.open.buf, 0, visit);
    return go;
  }
}
