import fc from 'fast-check';
import { encodeLabels, encodeWriteRequest } from '../../../src/sinks/remote-write/write-request';
import type { FuzzTarget } from '../engine';
import { decodeWriteRequest } from '../../sinks/decoders';

/**
 * Remote write: (1) the bytes decoded as a WriteRequest (the test suite's independent decoder; its
 * "protobuf:" errors are the expected answer to garbage); (2) the bytes read as a recipe for series
 * (names, labels, timestamps, doubles), encoded by our encoder and decoded again: the round trip
 * must give the same labels and samples.
 */
export const remoteWrite: FuzzTarget = {
  name: 'remote-write',
  about: 'WriteRequest decode of any bytes; encode → decode round trip of series built from the bytes',
  tokens: ['\x0a', '\x12', '\x09', '\x10', '\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01', '\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01'].map((s) => Buffer.from(s, 'latin1').toString('latin1')),
  arbitrary: fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
  expected: (err) => err instanceof Error && err.message.startsWith('protobuf:'),
  run(data) {
    roundTrip(data);
    const series = decodeWriteRequest(data);
    return `decoded:${Math.min(series.length, 3)}`;
  },
};

function roundTrip(data: Buffer): void {
  const list: Array<{ name: string; labels: Record<string, string>; ts: number[]; vs: number[] }> = [];
  let pos = 0;
  const byte = () => (pos < data.length ? data[pos++] : 0);
  const str = (max: number) => {
    const len = byte() % max;
    const s = data.subarray(pos, pos + len).toString('utf8');
    pos += len;
    return s;
  };
  const nSeries = 1 + (byte() % 4);
  for (let k = 0; k < nSeries && pos < data.length; k++) {
    const name = 'm' + str(16);
    const labels: Record<string, string> = {};
    const nLabels = byte() % 5;
    for (let l = 0; l < nLabels; l++) {
      const key = 'l' + str(8);
      const value = str(24);
      if (value !== '') labels[key] = value;
    }
    const ts: number[] = [];
    const vs: number[] = [];
    const nSamples = 1 + (byte() % 6);
    for (let s = 0; s < nSamples; s++) {
      const b = Buffer.alloc(16);
      for (let i = 0; i < 16; i++) b[i] = byte();
      ts.push(Number(b.readBigInt64LE(0) >> 12n)); // within ±2^51: a safe integer
      vs.push(b.readDoubleLE(8));
    }
    list.push({ name, labels, ts, vs });
  }
  const encoded = encodeWriteRequest(list.map((s) => ({ labels: encodeLabels(s.name, s.labels), timestamps: [...s.ts], values: [...s.vs] })));
  const decoded = decodeWriteRequest(encoded);
  if (decoded.length !== list.length) throw new Error(`${list.length} series encoded, ${decoded.length} decoded`);
  list.forEach((s, k) => {
    // Remote write orders labels by the bytes of their UTF-8 names (Go's string order), which is not
    // JavaScript's UTF-16 order once names mix astral characters with U+E000..U+FFFF.
    const want = [['__name__', s.name], ...Object.entries(s.labels)].sort((a, b) => Buffer.compare(Buffer.from(a[0], 'utf8'), Buffer.from(b[0], 'utf8')));
    if (JSON.stringify(decoded[k].labels) !== JSON.stringify(want)) throw new Error(`labels changed: ${JSON.stringify(want)} → ${JSON.stringify(decoded[k].labels)}`);
    const order = s.ts.map((t, i) => ({ t, v: s.vs[i], i })).sort((a, b) => a.t - b.t || a.i - b.i);
    order.forEach((w, i) => {
      const got = decoded[k].samples[i];
      if (got === undefined || got.timestamp !== BigInt(w.t) || !Object.is(got.value, w.v)) {
        // NaN payloads may differ; any NaN is the same sample value.
        if (!(got !== undefined && got.timestamp === BigInt(w.t) && Number.isNaN(got.value) && Number.isNaN(w.v))) {
          throw new Error(`sample ${i} of series ${k} changed: ${w.t} ${w.v} → ${got?.timestamp} ${got?.value}`);
        }
      }
    });
  });
}
