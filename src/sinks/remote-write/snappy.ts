/**
 * Snappy *block* format compression (not the framed/stream format), as Prometheus remote write
 * requires. Pure: no I/O.
 *
 * The block format is: the uncompressed length as a varint, then a sequence of elements, each
 * starting with a tag byte whose low two bits say what follows:
 *
 * - `00` literal: length-1 in the upper six bits when below 60, otherwise 60..63 there meaning
 *   1..4 little-endian bytes of length-1 follow; then the literal bytes;
 * - `01` copy, 1-byte offset: length 4..11 as (len-4) in bits 2..4, offset bits 8..10 in bits
 *   5..7, then the low 8 offset bits;
 * - `10` copy, 2-byte offset: length 1..64 as (len-1) in the upper six bits, then a
 *   little-endian 16-bit offset;
 * - `11` copy with a 4-byte offset (never produced here: the input is cut into 64 KiB blocks, so
 *   every offset fits 16 bits).
 *
 * The compressor is the usual greedy one: a hash table of 4-byte sequences per 64 KiB block finds
 * an earlier occurrence, matches are extended as far as they go and written as copies, everything
 * else as literals. Runs without matches are skipped over faster and faster so incompressible
 * input costs little. It does not try hard for the best ratio; metric payloads (repeated label
 * bytes) compress well anyway.
 */

const BLOCK_SIZE = 1 << 16;
const MIN_HASH_BITS = 8;
const MAX_HASH_BITS = 14;
/** Inputs shorter than this are written as one literal. */
const MIN_NON_LITERAL_BLOCK = 1 + 1 + 4 + 4;

/** Upper bound of the compressed size of `n` input bytes (what the allocation must hold). */
export function maxCompressedLength(n: number): number {
  // Worst case: all literals; each 64 KiB block costs at most 5 tag bytes, plus the preamble.
  return 32 + n + Math.ceil(n / 6);
}

/** Compresses `input` into a new Buffer in snappy block format. */
export function snappyCompress(input: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(maxCompressedLength(input.length));
  let pos = writeVarint32(out, 0, input.length);
  const table = new Int32Array(1 << MAX_HASH_BITS);
  for (let start = 0; start < input.length; start += BLOCK_SIZE) {
    const end = Math.min(start + BLOCK_SIZE, input.length);
    pos = compressBlock(input, start, end, out, pos, table);
  }
  return out.subarray(0, pos);
}

function writeVarint32(out: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    out[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[pos++] = v;
  return pos;
}

function load32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

function hash(u: number, shift: number): number {
  return Math.imul(u, 0x1e35a7bd) >>> shift;
}

function compressBlock(src: Uint8Array, start: number, end: number, out: Uint8Array, pos: number, table: Int32Array): number {
  const n = end - start;
  if (n < MIN_NON_LITERAL_BLOCK) return emitLiteral(src, start, end, out, pos);

  let bits = MIN_HASH_BITS;
  while (bits < MAX_HASH_BITS && 1 << bits < n) bits++;
  const shift = 32 - bits;
  // Positions are stored +1 so that 0 means "empty" and the table needs no clearing per slot.
  table.fill(0, 0, 1 << bits);

  // The last match may not start later than this: a 4-byte read must stay inside the block.
  const limit = end - 4;
  let nextEmit = start;
  let i = start;
  for (;;) {
    // Look for a match, skipping ahead faster the longer nothing matches.
    let skip = 32;
    let candidate = -1;
    while (i <= limit) {
      const cur = load32(src, i);
      const h = hash(cur, shift);
      const c = table[h] - 1;
      table[h] = i - start + 1;
      if (c >= 0 && load32(src, start + c) === cur) {
        candidate = start + c;
        break;
      }
      i += skip >> 5;
      skip++;
    }
    if (candidate < 0) break;

    pos = emitLiteral(src, nextEmit, i, out, pos);
    // Emit copies for as long as matches follow one another directly.
    for (;;) {
      let len = 4;
      while (i + len < end && src[candidate + len] === src[i + len]) len++;
      pos = emitCopy(out, pos, i - candidate, len);
      i += len;
      nextEmit = i;
      if (i > limit) break;
      // Remember the position just before and check whether the current one matches again.
      table[hash(load32(src, i - 1), shift)] = i - 1 - start + 1;
      const cur = load32(src, i);
      const h = hash(cur, shift);
      const c = table[h] - 1;
      table[h] = i - start + 1;
      if (c >= 0 && load32(src, start + c) === cur) {
        candidate = start + c;
        continue;
      }
      i++;
      break;
    }
  }
  return nextEmit < end ? emitLiteral(src, nextEmit, end, out, pos) : pos;
}

function emitLiteral(src: Uint8Array, from: number, to: number, out: Uint8Array, pos: number): number {
  const len = to - from;
  if (len === 0) return pos;
  const n = len - 1;
  if (n < 60) {
    out[pos++] = n << 2;
  } else if (n < 1 << 8) {
    out[pos++] = 60 << 2;
    out[pos++] = n;
  } else if (n < 1 << 16) {
    out[pos++] = 61 << 2;
    out[pos++] = n & 0xff;
    out[pos++] = n >>> 8;
  } else if (n < 1 << 24) {
    out[pos++] = 62 << 2;
    out[pos++] = n & 0xff;
    out[pos++] = (n >>> 8) & 0xff;
    out[pos++] = n >>> 16;
  } else {
    out[pos++] = 63 << 2;
    out[pos++] = n & 0xff;
    out[pos++] = (n >>> 8) & 0xff;
    out[pos++] = (n >>> 16) & 0xff;
    out[pos++] = n >>> 24;
  }
  if (len < 16) {
    for (let k = 0; k < len; k++) out[pos + k] = src[from + k];
  } else {
    out.set(src.subarray(from, to), pos);
  }
  return pos + len;
}

/** One or more copy elements for a match of `len` bytes `offset` bytes back (offset < 65536). */
function emitCopy(out: Uint8Array, pos: number, offset: number, len: number): number {
  // Long matches: 64-byte pieces, leaving at least 4 bytes so the tail can use any form.
  while (len >= 68) {
    pos = emitCopy2(out, pos, offset, 64);
    len -= 64;
  }
  if (len > 64) {
    pos = emitCopy2(out, pos, offset, 60);
    len -= 60;
  }
  if (len >= 4 && len <= 11 && offset < 2048) {
    out[pos++] = 1 | ((len - 4) << 2) | ((offset >>> 8) << 5);
    out[pos++] = offset & 0xff;
    return pos;
  }
  return emitCopy2(out, pos, offset, len);
}

function emitCopy2(out: Uint8Array, pos: number, offset: number, len: number): number {
  out[pos++] = 2 | ((len - 1) << 2);
  out[pos++] = offset & 0xff;
  out[pos++] = offset >>> 8;
  return pos;
}
