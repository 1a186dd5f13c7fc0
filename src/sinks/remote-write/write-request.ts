/**
 * Samples → Prometheus remote write 1.0 `WriteRequest` protobuf, encoded by hand. Pure: no I/O.
 *
 *     message WriteRequest { repeated TimeSeries timeseries = 1; }
 *     message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
 *     message Label        { string name = 1; string value = 2; }
 *     message Sample       { double value = 1; int64 timestamp = 2; }   // timestamp in ms
 *
 * A WriteRequest has one repeated field, so two encoded WriteRequests concatenated are one
 * WriteRequest with both lists of series: that is what makes a chunk of this codec (the series of
 * one debounce window, each series once with its samples in time order) concatenable.
 *
 * Rules from the spec that are applied here: labels sorted by name (byte order, `__name__`
 * included), names unique, empty label values left out (an empty value means "no such label"),
 * samples of a series in timestamp order. Timestamps are rounded to whole milliseconds.
 */

import type { Labels, Sample } from '../../model/sample';
import { seriesKey } from '../../model/series-key';
import type { ChunkCodec } from '../core/codec';

// Field tags: (field number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited).
const TAG_TIMESERIES = 0x0a; // WriteRequest.timeseries, 1:LEN
const TAG_LABELS = 0x0a; //     TimeSeries.labels, 1:LEN
const TAG_SAMPLES = 0x12; //    TimeSeries.samples, 2:LEN
const TAG_LABEL_NAME = 0x0a; // Label.name, 1:LEN
const TAG_LABEL_VALUE = 0x12; // Label.value, 2:LEN
const TAG_VALUE = 0x09; //      Sample.value, 1:I64
const TAG_TIMESTAMP = 0x10; //  Sample.timestamp, 2:VARINT

const MAX_CACHED_SERIES = 100_000;
const MAX_CACHED_BYTES = 64 * 1024 * 1024;
/** Estimated bytes per sample in the open chunk: tag, length, 9-byte double, ~7-byte timestamp. */
const SAMPLE_ESTIMATE = 18;

/** The encoded `labels` entries of a TimeSeries (each `0x0a len Label`), sorted, `__name__` included. */
export function encodeLabels(name: string, labels: Labels): Buffer {
  const pairs: Array<[string, string]> = [['__name__', name]];
  for (const k of Object.keys(labels)) {
    const v = labels[k];
    if (k === '__name__' || k === '' || typeof v !== 'string' || v === '') continue;
    pairs.push([k, v]);
  }
  pairs.sort(compareByName);
  let size = 0;
  const encoded: Array<[Buffer, Buffer]> = [];
  for (const [k, v] of pairs) {
    const kb = Buffer.from(k, 'utf8');
    const vb = Buffer.from(v, 'utf8');
    const inner = 1 + varintLength(kb.length) + kb.length + 1 + varintLength(vb.length) + vb.length;
    size += 1 + varintLength(inner) + inner;
    encoded.push([kb, vb]);
  }
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const [kb, vb] of encoded) {
    const inner = 1 + varintLength(kb.length) + kb.length + 1 + varintLength(vb.length) + vb.length;
    out[pos++] = TAG_LABELS;
    pos = writeVarint(out, pos, inner);
    out[pos++] = TAG_LABEL_NAME;
    pos = writeVarint(out, pos, kb.length);
    pos += kb.copy(out, pos);
    out[pos++] = TAG_LABEL_VALUE;
    pos = writeVarint(out, pos, vb.length);
    pos += vb.copy(out, pos);
  }
  return out;
}

/** Byte order of the UTF-8 encodings (label names are ASCII after sanitising, but be exact). */
function compareByName(a: [string, string], b: [string, string]): number {
  return Buffer.compare(Buffer.from(a[0], 'utf8'), Buffer.from(b[0], 'utf8'));
}

interface OpenSeries {
  labels: Buffer;
  timestamps: number[];
  values: number[];
  sorted: boolean;
}

/** Builds WriteRequest chunks: the series of one window, each once, with its samples. */
export class RemoteWriteCodec implements ChunkCodec {
  private series = new Map<string, OpenSeries>();
  private bytes = 0;
  private samples = 0;
  private labelCache = new Map<string, Buffer>();
  private labelCacheBytes = 0;

  get openBytes(): number {
    return this.bytes;
  }

  get openSamples(): number {
    return this.samples;
  }

  add(s: Sample, timestampMs: number): boolean {
    if (typeof s.value !== 'number') return false;
    const t = Math.round(timestampMs);
    if (!Number.isSafeInteger(t)) return false;
    const key = s.key ?? seriesKey(s.name, s.labels);
    let open = this.series.get(key);
    if (open === undefined) {
      let labels = this.labelCache.get(key);
      if (labels === undefined) {
        labels = encodeLabels(s.name, s.labels);
        if (this.labelCache.size >= MAX_CACHED_SERIES || this.labelCacheBytes >= MAX_CACHED_BYTES) {
          this.labelCache = new Map();
          this.labelCacheBytes = 0;
        }
        this.labelCache.set(key, labels);
        this.labelCacheBytes += labels.length + key.length * 2;
      }
      open = { labels, timestamps: [], values: [], sorted: true };
      this.series.set(key, open);
      this.bytes += labels.length + 6;
    }
    const ts = open.timestamps;
    if (ts.length > 0 && t < ts[ts.length - 1]) open.sorted = false;
    ts.push(t);
    open.values.push(s.value);
    this.bytes += SAMPLE_ESTIMATE;
    this.samples++;
    return true;
  }

  finish(): Buffer | null {
    if (this.samples === 0) return null;
    const list = [...this.series.values()];
    this.series = new Map();
    this.bytes = 0;
    this.samples = 0;
    return encodeWriteRequest(list);
  }
}

function sortSeries(s: OpenSeries): void {
  if (s.sorted) return;
  const idx = s.timestamps.map((_, i) => i);
  idx.sort((a, b) => s.timestamps[a] - s.timestamps[b] || a - b);
  s.timestamps = idx.map((i) => s.timestamps[i]);
  s.values = idx.map((i) => s.values[i]);
  s.sorted = true;
}

/** A WriteRequest with one TimeSeries per entry (labels already encoded by encodeLabels). */
export function encodeWriteRequest(list: ReadonlyArray<{ labels: Buffer; timestamps: number[]; values: number[]; sorted?: boolean }>): Buffer {
  const bodyLengths: number[] = [];
  let total = 0;
  for (const s of list) {
    sortSeries(s as OpenSeries);
    let body = s.labels.length;
    for (const t of s.timestamps) {
      const sampleLen = 1 + 8 + 1 + varintLength(t);
      body += 1 + 1 + sampleLen; // sampleLen < 128: one length byte
    }
    bodyLengths.push(body);
    total += 1 + varintLength(body) + body;
  }
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (let k = 0; k < list.length; k++) {
    const s = list[k];
    out[pos++] = TAG_TIMESERIES;
    pos = writeVarint(out, pos, bodyLengths[k]);
    pos += s.labels.copy(out, pos);
    for (let i = 0; i < s.timestamps.length; i++) {
      const t = s.timestamps[i];
      out[pos++] = TAG_SAMPLES;
      out[pos++] = 1 + 8 + 1 + varintLength(t);
      out[pos++] = TAG_VALUE;
      out.writeDoubleLE(s.values[i], pos);
      pos += 8;
      out[pos++] = TAG_TIMESTAMP;
      pos = writeVarint(out, pos, t);
    }
  }
  if (pos !== total) throw new Error(`remote write encoding: wrote ${pos} bytes, expected ${total}`);
  return out;
}

/** Bytes of the varint of an int64 given as a safe integer (negatives take ten bytes). */
export function varintLength(n: number): number {
  if (n < 0) return 10;
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Writes an int64 varint of a safe integer; negatives as their 64-bit two's complement. */
export function writeVarint(out: Uint8Array, pos: number, n: number): number {
  if (n < 0) {
    let u = BigInt.asUintN(64, BigInt(n));
    while (u >= 0x80n) {
      out[pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    out[pos++] = Number(u);
    return pos;
  }
  while (n >= 128) {
    out[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[pos++] = n;
  return pos;
}
