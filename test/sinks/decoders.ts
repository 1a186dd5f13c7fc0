/**
 * Minimal, independent decoders for checking what the remote-write sink produces: a snappy block
 * decompressor and a protobuf reader for WriteRequest. Written from the format descriptions, not
 * from the encoder, and kept deliberately naive (byte at a time, BigInt varints).
 */

/** Snappy block format → bytes. Throws on any malformed input. */
export function snappyDecompress(input: Uint8Array): Buffer {
  let pos = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= input.length || shift > 28) throw new Error('snappy: bad length preamble');
    const b = input[pos++];
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  // Each byte of input yields at most 64 bytes of output (a 2-byte copy of 64); a larger claim is
  // corrupt, and must not become a huge allocation.
  if (length > (input.length - pos) * 64) throw new Error(`snappy: length preamble ${length} is impossible for ${input.length} bytes`);
  const out = Buffer.alloc(length);
  let o = 0;
  while (pos < input.length) {
    const tag = input[pos++];
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >> 2;
      if (len >= 60) {
        const bytes = len - 59;
        len = 0;
        for (let k = 0; k < bytes; k++) len += input[pos++] * 2 ** (8 * k);
      }
      len += 1;
      if (pos + len > input.length || o + len > length) throw new Error('snappy: literal overruns');
      for (let k = 0; k < len; k++) out[o++] = input[pos++];
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      len = ((tag >> 2) & 7) + 4;
      offset = ((tag >> 5) << 8) | input[pos++];
    } else if (kind === 2) {
      len = (tag >> 2) + 1;
      offset = input[pos] | (input[pos + 1] << 8);
      pos += 2;
    } else {
      len = (tag >> 2) + 1;
      offset = (input[pos] | (input[pos + 1] << 8) | (input[pos + 2] << 16)) + input[pos + 3] * 2 ** 24;
      pos += 4;
    }
    if (offset === 0 || offset > o || o + len > length) throw new Error(`snappy: bad copy (offset ${offset}, len ${len}, at ${o})`);
    for (let k = 0; k < len; k++, o++) out[o] = out[o - offset];
  }
  if (o !== length) throw new Error(`snappy: produced ${o} bytes, preamble said ${length}`);
  return out;
}

export interface DecodedSeries {
  labels: Array<[string, string]>;
  samples: Array<{ value: number; timestamp: bigint }>;
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer, readonly end = buf.length) {}
  done(): boolean {
    return this.pos >= this.end;
  }
  varint(): bigint {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (this.pos >= this.end || shift > 63n) throw new Error('protobuf: bad varint');
      const b = this.buf[this.pos++];
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
  }
  bytes(): Reader {
    const len = Number(this.varint());
    if (this.pos + len > this.end) throw new Error('protobuf: length overruns');
    const r = new Reader(this.buf, this.pos + len);
    r.pos = this.pos;
    this.pos += len;
    return r;
  }
  string(): string {
    const r = this.bytes();
    return this.buf.toString('utf8', r.pos, r.end);
  }
  fixed64double(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += this.need(8);
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += this.need(4);
    else throw new Error(`protobuf: wire type ${wire}`);
  }
  /** A fixed-width field must end within its message (not read past it into the next one). */
  private need(n: number): number {
    if (this.pos + n > this.end) throw new Error(`protobuf: ${n}-byte field overruns its message`);
    return n;
  }
}

/** WriteRequest bytes (uncompressed) → its series, in order. Unknown fields are skipped. */
export function decodeWriteRequest(buf: Buffer): DecodedSeries[] {
  const out: DecodedSeries[] = [];
  const r = new Reader(buf);
  while (!r.done()) {
    const key = Number(r.varint());
    if (key >> 3 === 1 && (key & 7) === 2) out.push(decodeSeries(r.bytes()));
    else r.skip(key & 7);
  }
  return out;
}

function decodeSeries(r: Reader): DecodedSeries {
  const s: DecodedSeries = { labels: [], samples: [] };
  while (!r.done()) {
    const key = Number(r.varint());
    const field = key >> 3;
    if (field === 1 && (key & 7) === 2) {
      const l = r.bytes();
      let name = '';
      let value = '';
      while (!l.done()) {
        const k = Number(l.varint());
        if (k === 0x0a) name = l.string();
        else if (k === 0x12) value = l.string();
        else l.skip(k & 7);
      }
      s.labels.push([name, value]);
    } else if (field === 2 && (key & 7) === 2) {
      const m = r.bytes();
      let value = 0;
      let timestamp = 0n;
      while (!m.done()) {
        const k = Number(m.varint());
        if (k === 0x09) value = m.fixed64double();
        else if (k === 0x10) timestamp = BigInt.asIntN(64, m.varint());
        else m.skip(k & 7);
      }
      s.samples.push({ value, timestamp });
    } else {
      r.skip(key & 7);
    }
  }
  return s;
}
