/**
 * Compressed chunks of (timestamp ms, value) points, in the style of the Prometheus TSDB head
 * (after Facebook's Gorilla paper) for timestamps: delta-of-delta in variable-width buckets. Values
 * that are decimals (what parsing "41.7" or "1024" gives) are stored, as VictoriaMetrics does, as
 * integer mantissas at a decimal scale shared by the chunk, coded as a delta or delta-of-delta in a
 * variable-length code; other values fall back to the XOR with the previous value (Gorilla), which
 * cannot compress decimal fractions (0.1 has no short binary form).
 *
 * Read-back is bit-identical: a value is stored as a mantissa m at scale k only when m / 10^k gives
 * back exactly its 64 bits (the decoder does the same division); anything else (NaN payloads, ±Inf,
 * -0, values with more digits than a double keeps, mantissas past 2^50) goes raw or XOR-coded.
 * Timestamps may be any float (the store keeps fractional milliseconds): a timestamp the
 * delta-of-delta path cannot reproduce exactly (fractions, -0, jumps past ±2^19 ms) is written raw
 * behind an escape code, so nothing is ever rounded.
 *
 * Layout of a chunk: one byte with the point count, then the bit stream: the first timestamp as 64
 * raw bits, then a mode bit. Each later point is a timestamp code then a value code.
 *   timestamp: `0` same delta | `10`+14 bits | `110`+17 bits | `1110`+20 bits (signed dod) | `1111`+64 raw bits
 * Mode 0 (XOR): the first value as 64 raw bits; each later value
 *   `0` same value | `10`+bits in the previous window | `11`+5 bits leading zeros+6 bits length+bits
 * Mode 1 (decimal): 4 bits scale k, 1 bit predictor (0: m − previous m; 1: that minus the previous
 * delta), the first mantissa as a number code of its zigzag; each later value is the number code of
 * the zigzagged residual z after the predictor:
 *   `0` z=0 | `10`+4 bits | `110`+7 | `1110`+11 | `11110`+16 | `111110`+24 | `1111110`+54 (each
 *   class counts on from where the previous one ended) | `1111111` escape, then 2 bits:
 *   `00` 4 bits new (larger) scale, then the residual at that scale (earlier mantissas scaled up);
 *   `01` this one value as 64 raw bits (the mantissa state stays); `10` this value and the rest of
 *   the chunk in XOR mode.
 * The writer picks the predictor of the next chunk by which one would have cost fewer bits in this
 * one (counters: delta-of-delta; wandering gauges: delta).
 *
 * Pure: no I/O, no clock. The writer owns its buffer; a completed chunk is its first `byteLength` bytes.
 */

/** Points per chunk, as in the Prometheus head (120 points: two minutes at 1 s). */
export const CHUNK_POINTS = 120;

// Scratch for moving numbers to and from their bits: never held across calls.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// Index of the high word in u32 on this machine (little-endian everywhere Node runs, but say so).
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/** Powers of ten a scale may use, all exact doubles. */
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
const MAX_SCALE = POW10.length - 1;
/**
 * Largest mantissa kept as a decimal: deltas (≤ 2^51) and deltas of deltas (≤ 2^52), and their
 * zigzags (≤ 2^53), stay exact integers in a double.
 */
const MAX_MANTISSA = 2 ** 50;
const TWO32 = 2 ** 32;
/** First zigzag value of each number-code class (see the layout above). */
const NUM_B1 = 1;
const NUM_B2 = NUM_B1 + 16;
const NUM_B3 = NUM_B2 + 128;
const NUM_B4 = NUM_B3 + 2048;
const NUM_B5 = NUM_B4 + 65536;
const NUM_B6 = NUM_B5 + 16777216;

const MODE_XOR = 0;
const MODE_DEC = 1;

/** The mantissa of `v` at scale k, or NaN when m / 10^k would not give back v's exact bits. */
function mantissaAt(v: number, k: number): number {
  const p = POW10[k];
  const m = Math.round(v * p);
  // NaN fails the equality, ±Inf the bound, -0 the sign test (its mantissa would decode as +0).
  if (m / p !== v || m > MAX_MANTISSA || m < -MAX_MANTISSA || (m === 0 && 1 / v < 0)) return NaN;
  return m;
}

function zigzag(r: number): number {
  return r >= 0 ? 2 * r : -2 * r - 1;
}

function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** Bit length of a zigzag value (an estimate past 2^32, where only "large" matters). */
function bitLength(z: number): number {
  return z < TWO32 ? 32 - Math.clz32(z) : 40;
}

/**
 * Where a writer gets buffers too large for V8 to keep on its own heap: none means plain typed
 * arrays (see history.ts's BufferPool for why a store pools them).
 */
export interface ChunkBuffers {
  /** A zero-filled buffer of exactly `bytes` bytes (a power of two above ON_HEAP_MAX_BYTES). */
  take(bytes: number): Uint8Array;
  /** Returns a buffer `take` gave; the caller holds no reference to it afterwards. */
  give(buf: Uint8Array): void;
}

/** V8 keeps typed arrays up to this size inside its heap, without a backing store of their own. */
export const ON_HEAP_MAX_BYTES = 64;
const NO_BYTES = new Uint8Array(0);

/** Mutable encoder state of one chunk being written. */
export class ChunkWriter {
  /** Bit stream; byte 0 is reserved for the count. Grown on demand, zero beyond `bitLen`. */
  buf: Uint8Array;
  /** Bits written, counting the 8 of the count byte. */
  bitLen = 8;
  count = 0;
  firstT = 0;
  lastT = 0;
  private tDelta = 0;
  /** Bits of the previous value (what an XOR code is taken against). */
  private vHi = 0;
  private vLo = 0;
  /** Leading/trailing zero counts of the last XOR window; -1 before the first window. */
  private lead = -1;
  private trail = 0;
  private mode = MODE_XOR;
  /** Decimal mode: scale, its power of ten, previous mantissa and delta. */
  private scale = 0;
  private pow = 1;
  private mPrev = 0;
  private dPrev = 0;
  /** Predictor of this chunk (0 delta, 1 delta-of-delta) and what each would have cost, in bits. */
  private pred = 1;
  private costDelta = 0;
  private costDod = 0;
  /** A value of this chunk went out raw already: the next non-decimal one switches to XOR. */
  private rawUsed = false;
  /** The previous value is the mantissa state's (not a raw one). */
  private prevDecimal = false;

  constructor(
    initialBytes = 32,
    private readonly buffers: ChunkBuffers | null = null,
  ) {
    this.buf = new Uint8Array(initialBytes);
  }

  /** Gives a pooled buffer back; the writer holds nothing afterwards and must not be written to again. */
  dispose(): void {
    this.giveBack(this.buf);
    this.buf = NO_BYTES;
    this.bitLen = 8;
    this.count = 0;
  }

  /** Bytes the chunk takes when completed (count byte included). */
  get byteLength(): number {
    return (this.bitLen + 7) >>> 3;
  }

  /**
   * Appends a point. The caller keeps timestamps strictly increasing (the store does); this encoder
   * would encode a step backwards exactly too, it just would not be sorted.
   */
  append(t: number, v: number): void {
    f64[0] = v;
    const hi = u32[HI];
    const lo = u32[LO];
    if (this.count === 0) {
      this.firstT = t;
      this.writeRaw(t);
      this.writeFirstValue(v, hi, lo);
      this.tDelta = 0;
    } else {
      this.writeTime(t);
      if (this.mode === MODE_DEC) this.writeDecimal(v, hi, lo);
      else this.writeValue(hi, lo);
      this.tDelta = t - this.lastT;
    }
    this.lastT = t;
    this.vHi = hi;
    this.vLo = lo;
    this.count++;
    this.buf[0] = this.count;
  }

  /** Forgets everything written, keeping the buffer (and what was learnt of the values) for the next chunk. */
  reset(): void {
    this.buf.fill(0, 0, this.byteLength);
    this.bitLen = 8;
    this.count = 0;
    this.tDelta = 0;
    this.lead = -1;
    this.trail = 0;
    if (this.costDelta !== this.costDod) this.pred = this.costDod < this.costDelta ? 1 : 0;
    this.costDelta = 0;
    this.costDod = 0;
    this.rawUsed = false;
  }

  private writeFirstValue(v: number, hi: number, lo: number): void {
    for (let k = 0; k <= MAX_SCALE; k++) {
      const m = mantissaAt(v, k);
      if (m === m) {
        this.mode = MODE_DEC;
        this.scale = k;
        this.pow = POW10[k];
        this.mPrev = m;
        this.dPrev = 0;
        this.prevDecimal = true;
        this.writeBits(0b100000 | (k << 1) | this.pred, 6);
        this.writeNum(zigzag(m));
        return;
      }
    }
    this.mode = MODE_XOR;
    this.writeBits(0, 1);
    this.writeBits(hi, 32);
    this.writeBits(lo, 32);
  }

  private writeDecimal(v: number, hi: number, lo: number): void {
    // A repeat of a decimal value on a flat stretch: both predictors give 0 (constants, idle gauges).
    if (hi === this.vHi && lo === this.vLo && this.dPrev === 0 && this.prevDecimal) {
      this.writeBits(0, 1);
      return;
    }
    const p = this.pow;
    const m = Math.round(v * p);
    if (m / p !== v || m > MAX_MANTISSA || m < -MAX_MANTISSA || (m === 0 && 1 / v < 0)) {
      this.decimalMiss(v, hi, lo);
      return;
    }
    this.writeMantissa(m);
  }

  /** Codes mantissa m (at the current scale) by the chunk's predictor; keeps both predictors' costs. */
  private writeMantissa(m: number): void {
    const d = m - this.mPrev;
    const dod = d - this.dPrev;
    const zd = zigzag(d);
    const zdod = zigzag(dod);
    this.writeNum(this.pred === 1 ? zdod : zd);
    this.costDelta += bitLength(zd);
    this.costDod += bitLength(zdod);
    this.mPrev = m;
    this.dPrev = d;
    this.prevDecimal = true;
  }

  /** A value the chunk's scale cannot hold: a larger scale, one raw value, or XOR from here on. */
  private decimalMiss(v: number, hi: number, lo: number): void {
    for (let k = this.scale + 1; k <= MAX_SCALE; k++) {
      const m = mantissaAt(v, k);
      if (m !== m) continue;
      const f = POW10[k - this.scale];
      const mPrev = this.mPrev * f;
      const dPrev = this.dPrev * f;
      // A larger scale only makes these larger: no point trying further.
      if (Math.abs(mPrev) > MAX_MANTISSA || Math.abs(dPrev) > 2 * MAX_MANTISSA) break;
      this.writeBits(0b111111100, 9);
      this.writeBits(k, 4);
      this.scale = k;
      this.pow = POW10[k];
      this.mPrev = mPrev;
      this.dPrev = dPrev;
      this.writeMantissa(m);
      return;
    }
    if (!this.rawUsed) {
      this.rawUsed = true;
      this.prevDecimal = false;
      this.writeBits(0b111111101, 9);
      this.writeBits(hi, 32);
      this.writeBits(lo, 32);
      return;
    }
    this.writeBits(0b111111110, 9);
    this.mode = MODE_XOR;
    this.lead = -1;
    this.writeValue(hi, lo);
  }

  /** The number code of a zigzag value z (0 ≤ z ≤ 2^53). */
  private writeNum(z: number): void {
    if (z === 0) this.writeBits(0, 1);
    else if (z < NUM_B2) this.writeBits(0x20 | (z - NUM_B1), 6);
    else if (z < NUM_B3) this.writeBits(0x300 | (z - NUM_B2), 10);
    else if (z < NUM_B4) this.writeBits(0x7000 | (z - NUM_B3), 15);
    else if (z < NUM_B5) this.writeBits(0x1e0000 | (z - NUM_B4), 21);
    else if (z < NUM_B6) this.writeBits(0x3e000000 | (z - NUM_B5), 30);
    else {
      const x = z - NUM_B6;
      const h = Math.floor(x / TWO32);
      this.writeBits(0x7e, 7);
      this.writeBits(h, 22);
      this.writeBits(x - h * TWO32, 32);
    }
  }

  private writeTime(t: number): void {
    const base = this.lastT + this.tDelta;
    const dod = (t - this.lastT - this.tDelta) | 0;
    // Only when the decoder's sum gives back exactly t (integers, no -0, no precision loss).
    const exact = base + dod === t && (t !== 0 || 1 / t > 0);
    if (exact && dod === 0) {
      this.writeBits(0, 1);
    } else if (exact && dod >= -8191 && dod <= 8192) {
      this.writeBits(0b10, 2);
      this.writeBits(dod & 0x3fff, 14);
    } else if (exact && dod >= -65535 && dod <= 65536) {
      this.writeBits(0b110, 3);
      this.writeBits(dod & 0x1ffff, 17);
    } else if (exact && dod >= -524287 && dod <= 524288) {
      this.writeBits(0b1110, 4);
      this.writeBits(dod & 0xfffff, 20);
    } else {
      this.writeBits(0b1111, 4);
      this.writeRaw(t);
    }
  }

  private writeValue(hi: number, lo: number): void {
    const xHi = (hi ^ this.vHi) >>> 0;
    const xLo = (lo ^ this.vLo) >>> 0;
    if (xHi === 0 && xLo === 0) {
      this.writeBits(0, 1);
      return;
    }
    let lead = xHi !== 0 ? Math.clz32(xHi) : 32 + Math.clz32(xLo);
    const trail = xLo !== 0 ? ctz32(xLo) : 32 + ctz32(xHi);
    if (lead > 31) lead = 31; // 5 bits
    if (this.lead >= 0 && lead >= this.lead && trail >= this.trail) {
      this.writeBits(0b10, 2);
      this.writeWindow(xHi, xLo, this.trail, 64 - this.lead - this.trail);
      return;
    }
    const sig = 64 - lead - trail;
    this.writeBits(0b11, 2);
    this.writeBits(lead, 5);
    this.writeBits(sig & 63, 6); // 64 is written as 0
    this.writeWindow(xHi, xLo, trail, sig);
    this.lead = lead;
    this.trail = trail;
  }

  /** Writes bits [trail, trail + n) of the 64-bit word (xHi, xLo), most significant first. */
  private writeWindow(xHi: number, xLo: number, trail: number, n: number): void {
    let h: number;
    let l: number;
    if (trail >= 32) {
      h = 0;
      l = xHi >>> (trail - 32);
    } else if (trail === 0) {
      h = xHi;
      l = xLo;
    } else {
      h = xHi >>> trail;
      l = ((xLo >>> trail) | (xHi << (32 - trail))) >>> 0;
    }
    if (n > 32) {
      this.writeBits(h, n - 32);
      this.writeBits(l, 32);
    } else {
      this.writeBits(l, n);
    }
  }

  private writeRaw(t: number): void {
    f64[0] = t;
    const hi = u32[HI];
    const lo = u32[LO];
    this.writeBits(hi, 32);
    this.writeBits(lo, 32);
  }

  /** Appends the low `n` (1..32) bits of `v`, most significant first. */
  private writeBits(v: number, n: number): void {
    let pos = this.bitLen;
    const end = pos + n;
    if (end > this.buf.length << 3) this.grow(end);
    const buf = this.buf;
    while (n > 0) {
      const used = pos & 7;
      const free = 8 - used;
      const take = n < free ? n : free;
      const bits = (v >>> (n - take)) & ((1 << take) - 1);
      buf[pos >>> 3] |= bits << (free - take);
      pos += take;
      n -= take;
    }
    this.bitLen = end;
  }

  private grow(bits: number): void {
    let cap = Math.max(this.buf.length * 2, 8);
    while (cap << 3 < bits) cap *= 2;
    const next = this.buffers !== null && cap > ON_HEAP_MAX_BYTES ? this.buffers.take(cap) : new Uint8Array(cap);
    next.set(this.buf);
    this.giveBack(this.buf);
    this.buf = next;
  }

  private giveBack(buf: Uint8Array): void {
    if (this.buffers !== null && buf.length > ON_HEAP_MAX_BYTES) this.buffers.give(buf);
  }
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/**
 * Decodes the chunk starting at `buf[offset]`, calling `fn(t, v)` for each point in order.
 * Stops early when `fn` returns false. The chunk must have been written by ChunkWriter.
 */
export function readChunk(buf: Uint8Array, offset: number, fn: (t: number, v: number) => boolean | void): void {
  const count = buf[offset];
  if (count === 0) return;
  const r = new BitReader(buf, (offset + 1) * 8);
  let t = r.readRaw();
  let mode = r.readBits(1);
  // XOR state: the previous value's bits (valid in XOR mode and after a raw value) and window.
  let vHi = 0;
  let vLo = 0;
  let lead = 0;
  let trail = 0;
  // Decimal state.
  let scale = 0;
  let pow = 1;
  let pred = 0;
  let m = 0;
  let d = 0;
  let v: number;
  if (mode === MODE_DEC) {
    const head = r.readBits(5);
    scale = head >>> 1;
    pow = POW10[scale];
    pred = head & 1;
    m = unzigzag(r.readNum());
    v = m / pow;
  } else {
    vHi = r.readBits(32);
    vLo = r.readBits(32);
    v = toFloat(vHi, vLo);
  }
  if (fn(t, v) === false) return;
  /** The previous value was a decimal one: its bits are computed only if a switch to XOR needs them. */
  let prevDecimal = mode === MODE_DEC;
  let delta = 0;
  for (let i = 1; i < count; i++) {
    // Timestamp.
    let nt: number;
    if (r.readBits(1) === 0) {
      nt = t + delta + 0;
    } else if (r.readBits(1) === 0) {
      nt = t + delta + signed(r.readBits(14), 14);
    } else if (r.readBits(1) === 0) {
      nt = t + delta + signed(r.readBits(17), 17);
    } else if (r.readBits(1) === 0) {
      nt = t + delta + signed(r.readBits(20), 20);
    } else {
      nt = r.readRaw();
    }
    delta = nt - t;
    t = nt;
    // Value.
    if (mode === MODE_DEC) {
      let z = r.readNum();
      let raw = false;
      if (z < 0) {
        const esc = r.readBits(2);
        if (esc === 0) {
          const k = r.readBits(4);
          const f = POW10[k - scale];
          scale = k;
          pow = POW10[k];
          m *= f;
          d *= f;
          z = r.readNum();
        } else if (esc === 1) {
          vHi = r.readBits(32);
          vLo = r.readBits(32);
          v = toFloat(vHi, vLo);
          raw = true;
        } else {
          if (prevDecimal) {
            f64[0] = v;
            vHi = u32[HI];
            vLo = u32[LO];
          }
          mode = MODE_XOR;
        }
      }
      if (mode === MODE_DEC && !raw) {
        const res = unzigzag(z);
        const nd = pred === 1 ? d + res : res;
        m += nd;
        d = nd;
        v = m / pow;
        prevDecimal = true;
      } else if (raw) {
        prevDecimal = false;
      }
    }
    if (mode === MODE_XOR) {
      if (r.readBits(1) === 1) {
        if (r.readBits(1) === 1) {
          lead = r.readBits(5);
          let sig = r.readBits(6);
          if (sig === 0) sig = 64;
          trail = 64 - lead - sig;
        }
        const n = 64 - lead - trail;
        let h = 0;
        let l: number;
        if (n > 32) {
          h = r.readBits(n - 32);
          l = r.readBits(32);
        } else {
          l = r.readBits(n);
        }
        // Shift (h, l) left by `trail` and XOR into the previous value.
        let xHi: number;
        let xLo: number;
        if (trail >= 32) {
          xHi = (l << (trail - 32)) >>> 0;
          xLo = 0;
        } else if (trail === 0) {
          xHi = h;
          xLo = l;
        } else {
          xHi = ((h << trail) | (l >>> (32 - trail))) >>> 0;
          xLo = (l << trail) >>> 0;
        }
        vHi = (vHi ^ xHi) >>> 0;
        vLo = (vLo ^ xLo) >>> 0;
      }
      v = toFloat(vHi, vLo);
    }
    if (fn(t, v) === false) return;
  }
}

/** The point count of the chunk at `buf[offset]`. */
export function chunkCount(buf: Uint8Array, offset: number): number {
  return buf[offset];
}

/** The first timestamp of the chunk at `buf[offset]` (stored raw). */
export function chunkFirstTime(buf: Uint8Array, offset: number): number {
  return new BitReader(buf, (offset + 1) * 8).readRaw();
}

function signed(v: number, bits: number): number {
  return v > 1 << (bits - 1) ? v - (1 << bits) : v;
}

function toFloat(hi: number, lo: number): number {
  u32[HI] = hi;
  u32[LO] = lo;
  return f64[0];
}

class BitReader {
  constructor(private readonly buf: Uint8Array, private pos: number) {}

  /** Reads `n` (1..32) bits as an unsigned integer. */
  readBits(n: number): number {
    let v = 0;
    let pos = this.pos;
    const buf = this.buf;
    while (n > 0) {
      const used = pos & 7;
      const avail = 8 - used;
      const take = n < avail ? n : avail;
      const bits = (buf[pos >>> 3] >>> (avail - take)) & ((1 << take) - 1);
      v = (v << take) | bits;
      pos += take;
      n -= take;
    }
    this.pos = pos;
    return v >>> 0;
  }

  /** A number code (see the layout): the zigzag value, or -1 for the escape. */
  readNum(): number {
    let c = 0;
    while (c < 7 && this.readBits(1) === 1) c++;
    switch (c) {
      case 0:
        return 0;
      case 1:
        return NUM_B1 + this.readBits(4);
      case 2:
        return NUM_B2 + this.readBits(7);
      case 3:
        return NUM_B3 + this.readBits(11);
      case 4:
        return NUM_B4 + this.readBits(16);
      case 5:
        return NUM_B5 + this.readBits(24);
      case 6:
        return NUM_B6 + this.readBits(22) * TWO32 + this.readBits(32);
      default:
        return -1;
    }
  }

  readRaw(): number {
    const hi = this.readBits(32);
    const lo = this.readBits(32);
    return toFloat(hi, lo);
  }
}
