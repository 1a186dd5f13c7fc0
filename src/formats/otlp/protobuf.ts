/**
 * OTLP/protobuf for metrics, read and written by hand.
 *
 * `decodeExportMetricsRequest` turns an ExportMetricsServiceRequest into the same plain object that
 * `JSON.parse` gives for the OTLP/JSON encoding of that request (see types.ts), so one converter
 * (convert.ts) serves both encodings. In particular every 64-bit integer (timestamps, counts,
 * `asInt`, `intValue`) comes out as a decimal string, computed exactly (BigInt only when the value
 * is 2^53 or more), and `bytes` come out as base64.
 *
 * The reader follows the protobuf wire format rules a generated parser follows:
 * - unknown fields, and known fields that arrive with an unexpected wire type, are skipped;
 * - repeated scalars are accepted both packed and unpacked;
 * - for a singular field the last occurrence wins; a singular message field that occurs twice is
 *   merged; setting one member of a oneof clears the others;
 * - truncated or malformed input (a varint longer than 10 bytes, a length past the end of its
 *   enclosing message, wire types 6/7, field number 0, an unbalanced group) throws
 *   `ProtobufDecodeError`, which is a `ValidationError` (bad request), naming the byte offset.
 * Strings are decoded as UTF-8 with invalid sequences replaced by U+FFFD rather than rejected.
 * Exemplars, entity refs and string-table indexes are not decoded: nothing downstream reads them.
 *
 * Field numbers: opentelemetry-proto, `opentelemetry/proto/{collector/metrics,metrics,common,
 * resource}/v1/*.proto`.
 *
 * Pure: no I/O. The input buffer is only read, never kept: the result shares no memory with it.
 */

import { ValidationError } from '../../model/names';
import type {
  OtlpAnyValue,
  OtlpArrayValue,
  OtlpBuckets,
  OtlpExponentialHistogram,
  OtlpExponentialHistogramDataPoint,
  OtlpExportRequest,
  OtlpExportResponseJson,
  OtlpGauge,
  OtlpHistogram,
  OtlpHistogramDataPoint,
  OtlpInstrumentationScope,
  OtlpKeyValue,
  OtlpKeyValueList,
  OtlpMetric,
  OtlpNumberDataPoint,
  OtlpPartialSuccess,
  OtlpResource,
  OtlpResourceMetrics,
  OtlpScopeMetrics,
  OtlpSum,
  OtlpSummary,
  OtlpSummaryDataPoint,
  OtlpValueAtQuantile,
} from './types';

/** Malformed protobuf input. A ValidationError, so the HTTP edge answers 400 with the message. */
export class ProtobufDecodeError extends ValidationError {
  /** Byte offset in the original buffer where the problem was found. */
  readonly offset: number;
  constructor(problem: string, offset: number) {
    super(`invalid protobuf at byte ${offset}: ${problem}`);
    this.offset = offset;
  }
}

export const WireType = {
  VARINT: 0,
  I64: 1,
  LEN: 2,
  SGROUP: 3,
  EGROUP: 4,
  I32: 5,
} as const;

const VARINT = WireType.VARINT;
const I64 = WireType.I64;
const LEN = WireType.LEN;
const I32 = WireType.I32;

/** How deeply AnyValue arrays/kvlists (and unknown groups) may nest before we call it abuse. */
export const MAX_NESTING_DEPTH = 32;

const TWO_POW_32 = 4294967296;

/** Exact decimal form of the unsigned 64-bit integer hi·2^32 + lo. */
export function uint64ToDecimal(lo: number, hi: number): string {
  if (hi < 0x200000) return String(hi * TWO_POW_32 + lo); // below 2^53: exact as a double
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** Exact decimal form of the two's-complement signed 64-bit integer with halves hi, lo. */
export function int64ToDecimal(lo: number, hi: number): string {
  if (hi < 0x80000000) return uint64ToDecimal(lo, hi);
  if (hi >= 0xffe00000) return String((hi - TWO_POW_32) * TWO_POW_32 + lo); // ≥ -2^53: exact
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/**
 * A cursor over one protobuf buffer. Nested messages do not get their own reader: `enter()`
 * narrows `limit` to the message and `leave()` restores it, so offsets in errors stay absolute.
 */
export class ProtoReader {
  pos = 0;
  /** End of the message being read (exclusive). */
  limit: number;
  /** Low and high unsigned 32-bit halves of the last value read by `varint64()` or `fixed64()`. */
  lo = 0;
  hi = 0;
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private readonly text: Buffer;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.limit = buf.length;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(problem: string, offset: number = this.pos): never {
    throw new ProtobufDecodeError(problem, offset);
  }

  /** True while the current message has bytes left. */
  more(): boolean {
    return this.pos < this.limit;
  }

  /** Reads a field key and returns it whole: `(fieldNumber << 3) | wireType`. */
  tag(): number {
    const at = this.pos;
    const tag = this.uint32();
    if (tag >>> 3 === 0) this.fail('field number 0 is not allowed', at);
    const wt = tag & 7;
    if (wt > 5) this.fail(`wire type ${wt} does not exist`, at);
    return tag;
  }

  /** Reads a varint of up to 64 bits into `lo`/`hi`. */
  varint64(): void {
    const buf = this.buf;
    const start = this.pos;
    let pos = start;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= this.limit) this.fail('truncated varint', start);
      const b = buf[pos++];
      if (i < 4) {
        lo |= (b & 0x7f) << (7 * i);
      } else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi = (b & 0x7f) >>> 4;
      } else if (i < 9) {
        hi |= (b & 0x7f) << (7 * i - 32);
      } else if (b > 1) {
        this.fail('varint does not fit in 64 bits', start);
      } else {
        hi |= b << 31;
      }
      if (b < 0x80) {
        this.pos = pos;
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return;
      }
    }
    /* c8 ignore next */
    this.fail('varint longer than 10 bytes', start);
  }

  /** uint32 (and the low 32 bits of any longer varint, as protobuf truncates). */
  uint32(): number {
    if (this.pos < this.limit) {
      const b = this.buf[this.pos];
      if (b < 0x80) {
        this.pos++;
        return b;
      }
    }
    this.varint64();
    return this.lo;
  }

  /** int32 and enums (negative values arrive sign-extended to 10 bytes). */
  int32(): number {
    return this.uint32() | 0;
  }

  sint32(): number {
    const n = this.uint32();
    return (n >>> 1) ^ -(n & 1);
  }

  bool(): boolean {
    this.varint64();
    return this.lo !== 0 || this.hi !== 0;
  }

  uint64(): string {
    this.varint64();
    return uint64ToDecimal(this.lo, this.hi);
  }

  int64(): string {
    this.varint64();
    return int64ToDecimal(this.lo, this.hi);
  }

  private need(n: number): number {
    const at = this.pos;
    if (this.limit - at < n) this.fail(`truncated: need ${n} bytes, ${this.limit - at} left`, at);
    this.pos = at + n;
    return at;
  }

  /** Reads 8 little-endian bytes into `lo`/`hi`. */
  fixed64(): void {
    const at = this.need(8);
    this.lo = this.view.getUint32(at, true);
    this.hi = this.view.getUint32(at + 4, true);
  }

  fixed64Decimal(): string {
    this.fixed64();
    return uint64ToDecimal(this.lo, this.hi);
  }

  sfixed64Decimal(): string {
    this.fixed64();
    return int64ToDecimal(this.lo, this.hi);
  }

  double(): number {
    return this.view.getFloat64(this.need(8), true);
  }

  fixed32(): number {
    return this.view.getUint32(this.need(4), true);
  }

  sfixed32(): number {
    return this.view.getInt32(this.need(4), true);
  }

  float(): number {
    return this.view.getFloat32(this.need(4), true);
  }

  /** Reads a length prefix and checks it fits in the current message. */
  length(): number {
    const at = this.pos;
    this.varint64();
    const left = this.limit - this.pos;
    if (this.hi !== 0 || this.lo > left) {
      this.fail(`length ${uint64ToDecimal(this.lo, this.hi)} runs past the end (${left} bytes left)`, at);
    }
    return this.lo;
  }

  string(): string {
    const n = this.length();
    const at = this.pos;
    this.pos += n;
    return n === 0 ? '' : this.text.toString('utf8', at, at + n);
  }

  bytesBase64(): string {
    const n = this.length();
    const at = this.pos;
    this.pos += n;
    return n === 0 ? '' : this.text.toString('base64', at, at + n);
  }

  /** A copy of a length-delimited field's bytes. */
  bytes(): Uint8Array {
    const n = this.length();
    const at = this.pos;
    this.pos += n;
    return this.buf.slice(at, at + n);
  }

  /** Starts reading a length-delimited sub-message; returns the token `leave()` needs. */
  enter(): number {
    const n = this.length();
    const saved = this.limit;
    this.limit = this.pos + n;
    return saved;
  }

  leave(saved: number): void {
    if (this.pos !== this.limit) this.fail('sub-message not fully read');
    this.limit = saved;
  }

  /** Packed `repeated fixed64` → decimal strings appended to `out`. */
  packedFixed64(out: (string | number)[]): void {
    const n = this.length();
    if (n % 8 !== 0) this.fail(`packed fixed64 field has ${n} bytes, not a multiple of 8`);
    const end = this.pos + n;
    while (this.pos < end) out.push(this.fixed64Decimal());
  }

  /** Packed `repeated double` appended to `out`. */
  packedDouble(out: (string | number)[]): void {
    const n = this.length();
    if (n % 8 !== 0) this.fail(`packed double field has ${n} bytes, not a multiple of 8`);
    const end = this.pos + n;
    while (this.pos < end) out.push(this.double());
  }

  /** Packed `repeated uint64` (varints) → decimal strings appended to `out`. */
  packedUint64(out: (string | number)[]): void {
    const saved = this.enter();
    while (this.pos < this.limit) out.push(this.uint64());
    this.leave(saved);
  }

  /** Skips the value of a field whose key (from `tag()`) we do not want. */
  skip(tag: number, depth = 0): void {
    switch (tag & 7) {
      case VARINT:
        this.varint64();
        return;
      case I64:
        this.need(8);
        return;
      case LEN: {
        const n = this.length(); // read before `pos` is used: the prefix moves it
        this.pos += n;
        return;
      }
      case I32:
        this.need(4);
        return;
      case WireType.SGROUP: {
        if (depth >= MAX_NESTING_DEPTH) this.fail('groups nested too deeply');
        const field = tag >>> 3;
        for (;;) {
          if (this.pos >= this.limit) this.fail(`group ${field} is not closed`);
          const inner = this.tag();
          if ((inner & 7) === WireType.EGROUP) {
            if (inner >>> 3 !== field) this.fail(`group ${field} closed as ${inner >>> 3}`);
            return;
          }
          this.skip(inner, depth + 1);
        }
      }
      default: // EGROUP without a matching start
        this.fail(`unexpected end of group ${tag >>> 3}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Messages. Each reader takes the object to fill (so a repeated occurrence of a singular message
// field merges, as protobuf requires) and reads one length-delimited message into it.
// The switch cases are whole keys, `(field << 3) | wireType`: a known field with the wrong wire
// type falls through to `skip` like an unknown one.

/** Decodes an ExportMetricsServiceRequest. Throws ProtobufDecodeError on malformed input. */
export function decodeExportMetricsRequest(bytes: Uint8Array): OtlpExportRequest {
  if (!(bytes instanceof Uint8Array)) throw new ValidationError('protobuf body must be bytes');
  const r = new ProtoReader(bytes);
  const out: OtlpExportRequest = {};
  while (r.more()) {
    const tag = r.tag();
    if (tag === ((1 << 3) | LEN)) (out.resourceMetrics ??= []).push(readResourceMetrics(r, {}));
    else r.skip(tag);
  }
  return out;
}

/**
 * Decodes an ExportMetricsServiceRequest one resourceMetrics at a time, so a caller can convert
 * and drop each before decoding the next (a 20 MiB request never exists as one object graph).
 * Throws ProtobufDecodeError at the first malformed part, after yielding the ones before it.
 */
export function* decodeResourceMetrics(bytes: Uint8Array): Generator<OtlpResourceMetrics, void, undefined> {
  if (!(bytes instanceof Uint8Array)) throw new ValidationError('protobuf body must be bytes');
  const r = new ProtoReader(bytes);
  while (r.more()) {
    const tag = r.tag();
    if (tag === ((1 << 3) | LEN)) yield readResourceMetrics(r, {});
    else r.skip(tag);
  }
}

function readResourceMetrics(r: ProtoReader, out: OtlpResourceMetrics): OtlpResourceMetrics {
  const saved = r.enter();
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | LEN: out.resource = readResource(r, out.resource ?? {}); break;
      case (2 << 3) | LEN: (out.scopeMetrics ??= []).push(readScopeMetrics(r, {})); break;
      case (3 << 3) | LEN: out.schemaUrl = r.string(); break;
      default: r.skip(tag);
    }
  }
  r.leave(saved);
  return out;
}

function readResource(r: ProtoReader, out: OtlpResource): OtlpResource {
  const saved = r.enter();
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | LEN: (out.attributes ??= []).push(readKeyValue(r, {}, 0)); break;
      case (2 << 3) | VARINT: out.droppedAttributesCount = r.uint32(); break;
      default: r.skip(tag); // 3: entity_refs
    }
  }
  r.leave(saved);
  return out;
}

function readScopeMetrics(r: ProtoReader, out: OtlpScopeMetrics): OtlpScopeMetrics {
  const saved = r.enter();
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | LEN: out.scope = readScope(r, out.scope ?? {}); break;
      case (2 << 3) | LEN: (out.metrics ??= []).push(readMetric(r, {})); break;
      case (3 << 3) | LEN: out.schemaUrl = r.string(); break;
      default: r.skip(tag);
    }
  }
  r.leave(saved);
  return out;
}

function readScope(r: ProtoReader, out: OtlpInstrumentationScope): OtlpInstrumentationScope {
  const saved = r.enter();
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | LEN: out.name = r.string(); break;
      case (2 << 3) | LEN: out.version = r.string(); break;
      case (3 << 3) | LEN: (out.attributes ??= []).push(readKeyValue(r, {}, 0)); break;
      case (4 << 3) | VARINT: out.droppedAttributesCount = r.uint32(); break;
      default: r.skip(tag);
    }
  }
  r.leave(saved);
  return out;
}

function readKeyValue(r: ProtoReader, out: OtlpKeyValue, depth: number): OtlpKeyValue {
  const saved = r.enter();
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | LEN: out.key = r.string(); break;
      case (2 << 3) | LEN: out.value = readAnyValue(r, out.value ?? {}, depth + 1); break;
      default: r.skip(tag); // 3: key_strindex (profiles only)
    }
  }
  r.leave(saved);
  return out;
}

/** AnyValue is a oneof: each member replaces the object, except that a repeated nested member merges. */
function readAnyValue(r: ProtoReader, into: OtlpAnyValue, depth: number): OtlpAnyValue {
  if (depth > MAX_NESTING_DEPTH) r.fail(`attribute values nested more than ${MAX_NESTING_DEPTH} levels deep`);
  let out = into;
  const saved = r.enter();
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | LEN: out = { stringValue: r.string() }; break;
      case (2 << 3) | VARINT: out = { boolValue: r.bool() }; break;
      case (3 << 3) | VARINT: out = { intValue: r.int64() }; break;
      case (4 << 3) | I64: out = { doubleValue: r.double() }; break;
      case (5 << 3) | LEN: out = { arrayValue: readArrayValue(r, out.arrayValue ?? {}, depth) }; break;
      case (6 << 3) | LEN: out = { kvlistValue: readKeyValueList(r, out.kvlistValue ?? {}, depth) }; break;
      case (7 << 3) | LEN: out = { bytesValue: r.bytesBase64() }; break;
      default: r.skip(tag); // 8: string_value_strindex (profiles only)
    }
  }
  r.leave(saved);
  return out;
}

function readArrayValue(r: ProtoReader, out: OtlpArrayValue, depth: number): OtlpArrayValue {
  const saved = r.enter();
  while (r.more()) {
    const tag = r.tag();
    if (tag === ((1 << 3) | LEN)) (out.values ??= []).push(readAnyValue(r, {}, depth + 1));
    else r.skip(tag);
  }
  r.leave(saved);
  return out;
}

function readKeyValueList(r: ProtoReader, out: OtlpKeyValueList, depth: number): OtlpKeyValueList {
  const saved = r.enter();
  while (r.more()) {
    const tag = r.tag();
    if (tag === ((1 << 3) | LEN)) (out.values ??= []).push(readKeyValue(r, {}, depth));
    else r.skip(tag);
  }
  r.leave(saved);
  return out;
}

type DataKey = 'gauge' | 'sum' | 'histogram' | 'exponentialHistogram' | 'summary';
const DATA_KEYS: readonly DataKey[] = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'];

/** Metric.data is a oneof: selecting one member drops the others. */
function selectData(m: OtlpMetric, keep: DataKey): void {
  for (const k of DATA_KEYS) if (k !== keep && m[k] !== undefined) delete m[k];
}

function readMetric(r: ProtoReader, out: OtlpMetric): OtlpMetric {
  const saved = r.enter();
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | LEN: out.name = r.string(); break;
      case (2 << 3) | LEN: out.description = r.string(); break;
      case (3 << 3) | LEN: out.unit = r.string(); break;
      case (5 << 3) | LEN:
        selectData(out, 'gauge');
        out.gauge = readGauge(r, out.gauge ?? {});
        break;
      case (7 << 3) | LEN:
        selectData(out, 'sum');
        out.sum = readSum(r, out.sum ?? {});
        break;
      case (9 << 3) | LEN:
        selectData(out, 'histogram');
        out.histogram = readHistogram(r, out.histogram ?? {});
        break;
      case (10 << 3) | LEN:
        selectData(out, 'exponentialHistogram');
        out.exponentialHistogram = readExponentialHistogram(r, out.exponentialHistogram ?? {});
        break;
      case (11 << 3) | LEN:
        selectData(out, 'summary');
        out.summary = readSummary(r, out.summary ?? {});
        break;
      case (12 << 3) | LEN: (out.metadata ??= []).push(readKeyValue(r, {}, 0)); break;
      default: r.skip(tag);
    }
  }
  r.leave(saved);
  return out;
}

function readGauge(r: ProtoReader, out: OtlpGauge): OtlpGauge {
  const saved = r.enter();
  while (r.more()) {
    const tag = r.tag();
    if (tag === ((1 << 3) | LEN)) (out.dataPoints ??= []).push(readNumberDataPoint(r, {}));
    else r.skip(tag);
  }
  r.leave(saved);
  return out;
}

function readSum(r: ProtoReader, out: OtlpSum): OtlpSum {
  const saved = r.enter();
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | LEN: (out.dataPoints ??= []).push(readNumberDataPoint(r, {})); break;
      case (2 << 3) | VARINT: out.aggregationTemporality = r.int32(); break;
      case (3 << 3) | VARINT: out.isMonotonic = r.bool(); break;
      default: r.skip(tag);
    }
  }
  r.leave(saved);
  return out;
}

function readHistogram(r: ProtoReader, out: OtlpHistogram): OtlpHistogram {
  const saved = r.enter();
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | LEN: (out.dataPoints ??= []).push(readHistogramDataPoint(r, {})); break;
      case (2 << 3) | VARINT: out.aggregationTemporality = r.int32(); break;
      default: r.skip(tag);
    }
  }
  r.leave(saved);
  return out;
}

function readExponentialHistogram(r: ProtoReader, out: OtlpExponentialHistogram): OtlpExponentialHistogram {
  const saved = r.enter();
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | LEN: (out.dataPoints ??= []).push(readExponentialHistogramDataPoint(r, {})); break;
      case (2 << 3) | VARINT: out.aggregationTemporality = r.int32(); break;
      default: r.skip(tag);
    }
  }
  r.leave(saved);
  return out;
}

function readSummary(r: ProtoReader, out: OtlpSummary): OtlpSummary {
  const saved = r.enter();
  while (r.more()) {
    const tag = r.tag();
    if (tag === ((1 << 3) | LEN)) (out.dataPoints ??= []).push(readSummaryDataPoint(r, {}));
    else r.skip(tag);
  }
  r.leave(saved);
  return out;
}

function readNumberDataPoint(r: ProtoReader, out: OtlpNumberDataPoint): OtlpNumberDataPoint {
  const saved = r.enter();
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case (7 << 3) | LEN: (out.attributes ??= []).push(readKeyValue(r, {}, 0)); break;
      case (2 << 3) | I64: out.startTimeUnixNano = r.fixed64Decimal(); break;
      case (3 << 3) | I64: out.timeUnixNano = r.fixed64Decimal(); break;
      case (4 << 3) | I64:
        delete out.asInt;
        out.asDouble = r.double();
        break;
      case (6 << 3) | I64:
        delete out.asDouble;
        out.asInt = r.sfixed64Decimal();
        break;
      case (8 << 3) | VARINT: out.flags = r.uint32(); break;
      default: r.skip(tag); // 5: exemplars
    }
  }
  r.leave(saved);
  return out;
}

function readHistogramDataPoint(r: ProtoReader, out: OtlpHistogramDataPoint): OtlpHistogramDataPoint {
  const saved = r.enter();
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case (9 << 3) | LEN: (out.attributes ??= []).push(readKeyValue(r, {}, 0)); break;
      case (2 << 3) | I64: out.startTimeUnixNano = r.fixed64Decimal(); break;
      case (3 << 3) | I64: out.timeUnixNano = r.fixed64Decimal(); break;
      case (4 << 3) | I64: out.count = r.fixed64Decimal(); break;
      case (5 << 3) | I64: out.sum = r.double(); break;
      case (6 << 3) | I64: (out.bucketCounts ??= []).push(r.fixed64Decimal()); break;
      case (6 << 3) | LEN: r.packedFixed64((out.bucketCounts ??= [])); break;
      case (7 << 3) | I64: (out.explicitBounds ??= []).push(r.double()); break;
      case (7 << 3) | LEN: r.packedDouble((out.explicitBounds ??= [])); break;
      case (10 << 3) | VARINT: out.flags = r.uint32(); break;
      case (11 << 3) | I64: out.min = r.double(); break;
      case (12 << 3) | I64: out.max = r.double(); break;
      default: r.skip(tag); // 8: exemplars
    }
  }
  r.leave(saved);
  return out;
}

function readBuckets(r: ProtoReader, out: OtlpBuckets): OtlpBuckets {
  const saved = r.enter();
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | VARINT: out.offset = r.sint32(); break;
      case (2 << 3) | VARINT: (out.bucketCounts ??= []).push(r.uint64()); break;
      case (2 << 3) | LEN: r.packedUint64((out.bucketCounts ??= [])); break;
      default: r.skip(tag);
    }
  }
  r.leave(saved);
  return out;
}

function readExponentialHistogramDataPoint(
  r: ProtoReader,
  out: OtlpExponentialHistogramDataPoint,
): OtlpExponentialHistogramDataPoint {
  const saved = r.enter();
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | LEN: (out.attributes ??= []).push(readKeyValue(r, {}, 0)); break;
      case (2 << 3) | I64: out.startTimeUnixNano = r.fixed64Decimal(); break;
      case (3 << 3) | I64: out.timeUnixNano = r.fixed64Decimal(); break;
      case (4 << 3) | I64: out.count = r.fixed64Decimal(); break;
      case (5 << 3) | I64: out.sum = r.double(); break;
      case (6 << 3) | VARINT: out.scale = r.sint32(); break;
      case (7 << 3) | I64: out.zeroCount = r.fixed64Decimal(); break;
      case (8 << 3) | LEN: out.positive = readBuckets(r, out.positive ?? {}); break;
      case (9 << 3) | LEN: out.negative = readBuckets(r, out.negative ?? {}); break;
      case (10 << 3) | VARINT: out.flags = r.uint32(); break;
      case (12 << 3) | I64: out.min = r.double(); break;
      case (13 << 3) | I64: out.max = r.double(); break;
      case (14 << 3) | I64: out.zeroThreshold = r.double(); break;
      default: r.skip(tag); // 11: exemplars
    }
  }
  r.leave(saved);
  return out;
}

function readSummaryDataPoint(r: ProtoReader, out: OtlpSummaryDataPoint): OtlpSummaryDataPoint {
  const saved = r.enter();
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case (7 << 3) | LEN: (out.attributes ??= []).push(readKeyValue(r, {}, 0)); break;
      case (2 << 3) | I64: out.startTimeUnixNano = r.fixed64Decimal(); break;
      case (3 << 3) | I64: out.timeUnixNano = r.fixed64Decimal(); break;
      case (4 << 3) | I64: out.count = r.fixed64Decimal(); break;
      case (5 << 3) | I64: out.sum = r.double(); break;
      case (6 << 3) | LEN: (out.quantileValues ??= []).push(readValueAtQuantile(r, {})); break;
      case (8 << 3) | VARINT: out.flags = r.uint32(); break;
      default: r.skip(tag);
    }
  }
  r.leave(saved);
  return out;
}

function readValueAtQuantile(r: ProtoReader, out: OtlpValueAtQuantile): OtlpValueAtQuantile {
  const saved = r.enter();
  while (r.more()) {
    const tag = r.tag();
    switch (tag) {
      case (1 << 3) | I64: out.quantile = r.double(); break;
      case (2 << 3) | I64: out.value = r.double(); break;
      default: r.skip(tag);
    }
  }
  r.leave(saved);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The response.

/** Appends a varint for a non-negative safe integer. */
function pushVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/**
 * Encodes an ExportMetricsServiceResponse. Full success (nothing rejected, no message) is the
 * empty message, as the OTLP spec asks the server to leave `partial_success` unset; otherwise
 * `partial_success` carries `rejected_data_points` and `error_message`. Throws a RangeError when
 * `rejectedDataPoints` is not a non-negative safe integer (a caller bug, not bad input).
 */
export function encodeExportMetricsResponse(p: OtlpPartialSuccess): Uint8Array {
  const { rejectedDataPoints, errorMessage } = p;
  if (!Number.isSafeInteger(rejectedDataPoints) || rejectedDataPoints < 0) {
    throw new RangeError(`rejectedDataPoints must be a non-negative integer, got ${rejectedDataPoints}`);
  }
  if (rejectedDataPoints === 0 && errorMessage === '') return new Uint8Array(0);
  const inner: number[] = [];
  if (rejectedDataPoints !== 0) {
    inner.push((1 << 3) | VARINT);
    pushVarint(inner, rejectedDataPoints);
  }
  const text = Buffer.from(errorMessage, 'utf8');
  if (text.length > 0) {
    inner.push((2 << 3) | LEN);
    pushVarint(inner, text.length);
  }
  const head: number[] = [(1 << 3) | LEN];
  pushVarint(head, inner.length + text.length);
  const out = new Uint8Array(head.length + inner.length + text.length);
  out.set(head, 0);
  out.set(inner, head.length);
  out.set(text, head.length + inner.length);
  return out;
}

/** The same response in OTLP/JSON shape (int64 as a decimal string); `{}` on full success. */
export function exportMetricsResponseJson(p: OtlpPartialSuccess): OtlpExportResponseJson {
  if (p.rejectedDataPoints === 0 && p.errorMessage === '') return {};
  const partialSuccess: NonNullable<OtlpExportResponseJson['partialSuccess']> = {};
  if (p.rejectedDataPoints !== 0) partialSuccess.rejectedDataPoints = String(p.rejectedDataPoints);
  if (p.errorMessage !== '') partialSuccess.errorMessage = p.errorMessage;
  return { partialSuccess };
}
