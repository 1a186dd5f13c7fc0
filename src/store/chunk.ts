/**
 * Compressed chunks of (timestamp ms, value) points, in the style of the Prometheus TSDB head
 * (after Facebook's Gorilla paper): timestamps as delta-of-delta in variable-width buckets, values
 * as the XOR with the previous value, keeping only the meaningful bits.
 *
 * Read-back is bit-identical: values go in and out as their 64 IEEE 754 bits (NaN payloads, ±Inf
 * and -0 included). Timestamps may be any float (the store keeps fractional milliseconds): a
 * timestamp the delta-of-delta path cannot reproduce exactly (fractions, -0, jumps past ±2^19 ms)
 * is written raw behind an escape code, so nothing is ever rounded.
 *
 * Layout of a chunk: one byte with the point count, then the bit stream. The first point is two raw
 * 64-bit words; each later point is a timestamp code then a value code:
 *   timestamp: `0` same delta | `10`+14 bits | `110`+17 bits | `1110`+20 bits (signed dod) | `1111`+64 raw bits
 *   value:     `0` same value | `10`+bits in the previous window | `11`+5 bits leading zeros+6 bits length+bits
 *
 * Pure: no I/O, no clock. The writer owns its buffer; `take()` hands out a copy-ready view.
 */

/** Points per chunk, as in the Prometheus head (120 points: two minutes at 1 s). */
export const CHUNK_POINTS = 120;

// Scratch for moving numbers to and from their bits: never held across calls.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// Index of the high word in u32 on this machine (little-endian everywhere Node runs, but say so).
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

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
  private vHi = 0;
  private vLo = 0;
  /** Leading/trailing zero counts of the last XOR window; -1 before the first window. */
  private lead = -1;
  private trail = 0;

  constructor(initialBytes = 32) {
    this.buf = new Uint8Array(initialBytes);
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
      this.writeBits(hi, 32);
      this.writeBits(lo, 32);
      this.tDelta = 0;
    } else {
      this.writeTime(t);
      this.writeValue(hi, lo);
      this.tDelta = t - this.lastT;
    }
    this.lastT = t;
    this.vHi = hi;
    this.vLo = lo;
    this.count++;
    this.buf[0] = this.count;
  }

  /** Forgets everything written, keeping the buffer for the next chunk. */
  reset(): void {
    this.buf.fill(0, 0, this.byteLength);
    this.bitLen = 8;
    this.count = 0;
    this.tDelta = 0;
    this.lead = -1;
    this.trail = 0;
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
    let cap = this.buf.length * 2;
    while (cap << 3 < bits) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf);
    this.buf = next;
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
  let vHi = r.readBits(32);
  let vLo = r.readBits(32);
  if (fn(t, toFloat(vHi, vLo)) === false) return;
  let delta = 0;
  let lead = 0;
  let trail = 0;
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
    if (fn(t, toFloat(vHi, vLo)) === false) return;
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

  readRaw(): number {
    const hi = this.readBits(32);
    const lo = this.readBits(32);
    return toFloat(hi, lo);
  }
}
