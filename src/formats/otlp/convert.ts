/**
 * OTLP metrics (the OTLP/JSON object shape, from JSON.parse or from decodeExportMetricsRequest)
 * → Samples. Pure. See README.md in this folder for the mapping rules and their reasons.
 *
 * Error model:
 * - A request that cannot be read at all (not an object, `resourceMetrics` not an array) throws a
 *   ValidationError; the HTTP edge answers 400.
 * - Anything confined to one resource, scope, metric or data point is skipped, its data points are
 *   counted in `rejectedDataPoints` (an element whose points cannot be counted because it is not
 *   even the right kind of value counts as one), and a message is added to `errors` (at most
 *   MAX_ERROR_MESSAGES, then one line saying how many more there were).
 * - Nothing else is thrown for any JSON value. Points flagged NO_RECORDED_VALUE are skipped
 *   without counting them: they are gaps, not data.
 *
 * Ownership: the input is only read. The returned samples are new objects; samples of one data
 * point may share their `labels` object.
 */

import { LIMITS, ValidationError, checkLabel, checkMetricName, sanitizeLabelName } from '../../model/names';
import type { ItemError, Labels, MetricType, Sample } from '../../model/sample';
import { AGGREGATION_TEMPORALITY_NAMES, AggregationTemporality, DATA_POINT_FLAG_NO_RECORDED_VALUE } from './types';

/** How many problems are described one by one; the rest are summed up in one last message. */
export const MAX_ERROR_MESSAGES = 20;
/** Buckets one histogram data point may have; each becomes a series of its own. */
export const MAX_BUCKETS_PER_POINT = 2048;
/** How deeply array/kvlist attribute values may nest. */
export const MAX_VALUE_DEPTH = 32;
/** Exponential histogram scales the OTLP data model allows. */
export const MIN_SCALE = -10;
export const MAX_SCALE = 20;

export interface OtlpConversion {
  samples: Sample[];
  /** One per rejected item; `line` is always 0 (OTLP has no lines). */
  errors: ItemError[];
  /** For ExportMetricsPartialSuccess.rejected_data_points. */
  rejectedDataPoints: number;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A field by its lowerCamelCase name, else by its original snake_case name. null means absent. */
function get(o: Obj, camel: string, snake?: string): unknown {
  let v = o[camel];
  if (v == null && snake !== undefined) v = o[snake];
  return v === null ? undefined : v;
}

function clip(s: string, max = 64): string {
  return s.length > max ? s.slice(0, max) + '…' : s;
}

/** "the string \"x\"", "an array", … for error messages. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string': return `the string ${JSON.stringify(clip(v, 32))}`;
    case 'number': return `the number ${v}`;
    case 'boolean': return String(v);
    case 'object': return 'an object';
    default: return `a ${typeof v}`;
  }
}

function fail(message: string): never {
  throw new ValidationError(message);
}

// ---------------------------------------------------------------------------------------------
// Scalars. OTLP/JSON writes 64-bit integers as strings and non-finite doubles as "NaN" etc.;
// protobuf JSON parsers also accept numbers as strings, so we do too.

const INT_RE = /^-?\d{1,30}$/;
const FLOAT_RE = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function toDouble(v: unknown, what: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    if (FLOAT_RE.test(v)) return Number(v);
  }
  return fail(`${what} must be a number, got ${describe(v)}`);
}

/** int64 as a number; beyond 2^53 the nearest double (documented precision loss). */
function toInt64(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v + 0; // +0 turns -0 into 0
  if (typeof v === 'string' && INT_RE.test(v)) return Number(v) + 0;
  return fail(`${what} must be an integer, got ${describe(v)}`);
}

function toUint64(v: unknown, what: string): number {
  const n = toInt64(v, what);
  if (n < 0) fail(`${what} must not be negative, got ${n}`);
  return n;
}

function toInt32(v: unknown, what: string): number {
  const n = toInt64(v, what);
  if (n < -2147483648 || n > 2147483647) fail(`${what} ${n} does not fit in 32 bits`);
  return n;
}

function optional<T>(v: unknown, what: string, parse: (v: unknown, what: string) => T, dflt: T): T {
  return v === undefined ? dflt : parse(v, what);
}

function uint64List(v: unknown, what: string): number[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return fail(`${what} must be an array, got ${describe(v)}`);
  const out = new Array<number>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = toUint64(v[i], `${what}[${i}]`);
  return out;
}

function doubleList(v: unknown, what: string): number[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return fail(`${what} must be an array, got ${describe(v)}`);
  const out = new Array<number>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = toDouble(v[i], `${what}[${i}]`);
  return out;
}

function total(counts: number[]): number {
  let n = 0;
  for (const c of counts) n += c;
  return n;
}

/**
 * OTLP timestamps are unsigned nanoseconds since the epoch. Milliseconds (float) come back; 0 or
 * absent means "not given" (undefined, i.e. now). Digit strings are split so that the result is
 * exact to well under a microsecond for present-day times, with no detour through a lossy double.
 */
export function unixNanosToMillis(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) fail(`timeUnixNano must be a non-negative number of nanoseconds, got ${v}`);
    return v === 0 ? undefined : v / 1e6;
  }
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) {
    let i = 0;
    while (i < v.length - 1 && v.charCodeAt(i) === 48) i++;
    const d = i === 0 ? v : v.slice(i);
    if (d === '0') return undefined;
    if (d.length <= 15) return Number(d) / 1e6;
    return Number(d.slice(0, -6)) + Number(d.slice(-6)) / 1e6;
  }
  return fail(`timeUnixNano must be an unsigned integer of nanoseconds, got ${describe(v)}`);
}

/**
 * A float as Prometheus (Go's strconv 'g' with shortest precision) writes it in `le` and
 * `quantile` labels: "0.005", "1", "250000", "1e+06", "1.6777216e+07", "1e-05", "+Inf", "-Inf",
 * "NaN". Negative zero is written "0". Shortest round-trip digits, so distinct values never share
 * a label value and every value parses back exactly.
 */
export function formatPromFloat(v: number): string {
  if (v === 0) return '0';
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const e = v.toExponential(); // shortest digits, e.g. "1.6777216e+7"
  const at = e.indexOf('e');
  const exp = Number(e.slice(at + 1));
  if (exp >= -4 && exp < 6) return String(v); // JS writes fixed notation in this range
  const sign = exp < 0 ? '-' : '+';
  const digits = String(Math.abs(exp));
  return e.slice(0, at) + 'e' + sign + (digits.length < 2 ? '0' + digits : digits);
}

// ---------------------------------------------------------------------------------------------
// Attributes → labels.

/** The AnyValue member that is set (first in declaration order if a sender set several). */
function anyValueMember(v: Obj): [kind: string, value: unknown] | undefined {
  let x: unknown;
  if ((x = get(v, 'stringValue', 'string_value')) !== undefined) return ['string', x];
  if ((x = get(v, 'boolValue', 'bool_value')) !== undefined) return ['bool', x];
  if ((x = get(v, 'intValue', 'int_value')) !== undefined) return ['int', x];
  if ((x = get(v, 'doubleValue', 'double_value')) !== undefined) return ['double', x];
  if ((x = get(v, 'arrayValue', 'array_value')) !== undefined) return ['array', x];
  if ((x = get(v, 'kvlistValue', 'kvlist_value')) !== undefined) return ['kvlist', x];
  if ((x = get(v, 'bytesValue', 'bytes_value')) !== undefined) return ['bytes', x];
  return undefined;
}

/** int64 written exactly (no double in between), normalised ("007" → "7", "-0" → "0"). */
function intDecimal(x: unknown): string {
  if (typeof x === 'number') {
    if (!Number.isInteger(x)) fail(`intValue must be an integer, got ${x}`);
    return Number.isSafeInteger(x) ? String(x + 0) : BigInt(x).toString();
  }
  if (typeof x === 'string' && INT_RE.test(x)) {
    return x.length <= 15 ? String(Number(x) + 0) : BigInt(x).toString();
  }
  return fail(`intValue must be an integer, got ${describe(x)}`);
}

function expectString(x: unknown, what: string): string {
  if (typeof x !== 'string') fail(`${what} must be a string, got ${describe(x)}`);
  return x;
}

/** An AnyValue as a label value. An empty or absent AnyValue gives "" (no label). */
function anyValueToLabel(v: unknown): string {
  if (v === undefined) return '';
  if (!isObj(v)) return fail(`value must be an AnyValue object, got ${describe(v)}`);
  const m = anyValueMember(v);
  if (m === undefined) return '';
  const [kind, x] = m;
  switch (kind) {
    case 'string': return expectString(x, 'stringValue');
    case 'bool':
      if (typeof x !== 'boolean') fail(`boolValue must be true or false, got ${describe(x)}`);
      return x ? 'true' : 'false';
    case 'int': return intDecimal(x);
    case 'double': return String(toDouble(x, 'doubleValue'));
    case 'bytes': return expectString(x, 'bytesValue'); // already base64 in both encodings
    default: return anyValueToJson(v, 0); // array, kvlist
  }
}

/** Compact JSON for array/kvlist values; int64 digits are copied exactly, NaN/±Inf become strings. */
function anyValueToJson(v: unknown, depth: number): string {
  if (depth > MAX_VALUE_DEPTH) fail(`value nested more than ${MAX_VALUE_DEPTH} levels deep`);
  if (v === undefined) return 'null';
  if (!isObj(v)) return fail(`array/kvlist element must be an AnyValue object, got ${describe(v)}`);
  const m = anyValueMember(v);
  if (m === undefined) return 'null';
  const [kind, x] = m;
  switch (kind) {
    case 'string': return JSON.stringify(expectString(x, 'stringValue'));
    case 'bytes': return JSON.stringify(expectString(x, 'bytesValue'));
    case 'bool':
      if (typeof x !== 'boolean') fail(`boolValue must be true or false, got ${describe(x)}`);
      return x ? 'true' : 'false';
    case 'int': return intDecimal(x);
    case 'double': {
      const d = toDouble(x, 'doubleValue');
      return Number.isFinite(d) ? String(d) : JSON.stringify(String(d));
    }
    case 'array': {
      if (!isObj(x)) fail(`arrayValue must be an object with values, got ${describe(x)}`);
      const values = get(x, 'values');
      if (values === undefined) return '[]';
      if (!Array.isArray(values)) fail(`arrayValue.values must be an array, got ${describe(values)}`);
      let out = '[';
      for (let i = 0; i < values.length; i++) {
        if (i > 0) out += ',';
        out += anyValueToJson(values[i] ?? undefined, depth + 1);
      }
      return out + ']';
    }
    default: { // kvlist
      if (!isObj(x)) fail(`kvlistValue must be an object with values, got ${describe(x)}`);
      const values = get(x, 'values');
      if (values === undefined) return '{}';
      if (!Array.isArray(values)) fail(`kvlistValue.values must be an array, got ${describe(values)}`);
      let out = '{';
      for (let i = 0; i < values.length; i++) {
        const kv = values[i];
        if (!isObj(kv)) fail(`kvlistValue entry must be an object with key and value, got ${describe(kv)}`);
        if (i > 0) out += ',';
        out += JSON.stringify(expectString(kv.key, 'kvlistValue key')) + ':' + anyValueToJson(get(kv, 'value'), depth + 1);
      }
      return out + '}';
    }
  }
}

/**
 * Adds a list of KeyValues to `into` (sanitised name → value), later keys overriding earlier ones.
 * Empty values are kept here so they can override; `finishLabels` drops them.
 */
function addAttributes(into: Map<string, string>, attrs: unknown, isResource: boolean): void {
  if (attrs === undefined) return;
  if (!Array.isArray(attrs)) fail(`attributes must be an array, got ${describe(attrs)}`);
  for (const kv of attrs) {
    if (!isObj(kv)) fail(`attribute must be an object with key and value, got ${describe(kv)}`);
    const key = kv.key;
    if (typeof key !== 'string' || key === '') fail(`attribute key must be a non-empty string, got ${describe(key)}`);
    if (isResource && key.startsWith('telemetry.sdk.')) continue;
    let value: string;
    try {
      value = anyValueToLabel(get(kv, 'value'));
    } catch (e) {
      if (e instanceof ValidationError) fail(`attribute ${JSON.stringify(clip(key))}: ${e.message}`);
      throw e;
    }
    const name = sanitizeLabelName(key);
    checkLabel(name, value);
    into.set(name, value);
  }
}

/**
 * The final label set of a series: empty values dropped, `reserved` (the `le`/`quantile` label the
 * metric type adds) must not come from attributes, and the per-series label limit counts it.
 */
function finishLabels(map: Map<string, string>, reserved: string | undefined): Labels {
  const out: Labels = {};
  let n = reserved === undefined ? 0 : 1;
  for (const [k, v] of map) {
    if (v === '') continue;
    if (k === reserved) fail(`attribute "${k}" clashes with the "${reserved}" label this metric type adds`);
    out[k] = v;
    n++;
  }
  if (n > LIMITS.maxLabelsPerSeries) {
    fail(`${n} labels${reserved === undefined ? '' : ` (with "${reserved}")`}; the limit is ${LIMITS.maxLabelsPerSeries} per series`);
  }
  return out;
}

function pointLabels(resource: Map<string, string>, point: Obj, reserved: string | undefined): Labels {
  const attrs = get(point, 'attributes');
  if (attrs === undefined || (Array.isArray(attrs) && attrs.length === 0)) return finishLabels(resource, reserved);
  const map = new Map(resource);
  addAttributes(map, attrs, false);
  return finishLabels(map, reserved);
}

// ---------------------------------------------------------------------------------------------
// The walk.

class Collector {
  readonly samples: Sample[] = [];
  readonly errors: ItemError[] = [];
  rejected = 0;
  private unlisted = 0;

  reject(points: number, message: string): void {
    this.rejected += points;
    if (this.errors.length < MAX_ERROR_MESSAGES) this.errors.push({ line: 0, message });
    else this.unlisted++;
  }

  result(): OtlpConversion {
    const errors = this.errors;
    if (this.unlisted > 0) errors.push({ line: 0, message: `… and ${this.unlisted} more problems not listed` });
    return { samples: this.samples, errors, rejectedDataPoints: this.rejected };
  }
}

/** What every sample of one metric shares. */
interface MetricInfo {
  name: string;
  help?: string;
  unit?: string;
  resource: Map<string, string>;
}

function emit(
  c: Collector,
  m: MetricInfo,
  name: string,
  labels: Labels,
  value: number,
  timestampMs: number | undefined,
  type: MetricType,
  family: string | undefined,
): void {
  const s: Sample = { name, labels, value, type };
  if (timestampMs !== undefined) s.timestampMs = timestampMs;
  if (family !== undefined) s.family = family;
  if (m.help !== undefined) s.help = m.help;
  if (m.unit !== undefined) s.unit = m.unit;
  c.samples.push(s);
}

const DATA_FIELDS = [
  ['gauge', 'gauge'],
  ['sum', 'sum'],
  ['histogram', 'histogram'],
  ['exponentialHistogram', 'exponential_histogram'],
  ['summary', 'summary'],
] as const;
type Kind = (typeof DATA_FIELDS)[number][0];

/**
 * Converts one OTLP metrics request. Throws ValidationError only when the request as a whole is
 * unusable; see the file comment.
 */
export function otlpToSamples(req: unknown): OtlpConversion {
  if (!isObj(req)) fail(`an OTLP metrics request must be an object with resourceMetrics, got ${describe(req)}`);
  const c = new Collector();
  const resources = get(req, 'resourceMetrics', 'resource_metrics');
  if (resources === undefined) return c.result();
  if (!Array.isArray(resources)) fail(`resourceMetrics must be an array, got ${describe(resources)}`);
  for (let i = 0; i < resources.length; i++) convertResource(c, resources[i], `resourceMetrics[${i}]`);
  return c.result();
}

/**
 * The same conversion one resourceMetrics at a time, for callers that decode a large request in
 * bounded steps: `add` each in order (index = its position in the request, for messages), then
 * `result()`. Holds only the samples and messages, never the decoded request.
 */
export class OtlpConverter {
  private readonly c = new Collector();

  add(resourceMetrics: unknown, index: number): void {
    convertResource(this.c, resourceMetrics, `resourceMetrics[${index}]`);
  }

  /** Samples made so far. */
  get sampleCount(): number {
    return this.c.samples.length;
  }

  result(): OtlpConversion {
    return this.c.result();
  }
}

function convertResource(c: Collector, rm: unknown, where: string): void {
  if (!isObj(rm)) return c.reject(1, `${where}: expected an object, got ${describe(rm)}`);
  const scopes = get(rm, 'scopeMetrics', 'scope_metrics');
  if (scopes === undefined) return;
  if (!Array.isArray(scopes)) return c.reject(1, `${where}.scopeMetrics: expected an array, got ${describe(scopes)}`);

  const labels = new Map<string, string>();
  try {
    const resource = get(rm, 'resource');
    if (resource !== undefined) {
      if (!isObj(resource)) fail(`expected an object, got ${describe(resource)}`);
      addAttributes(labels, get(resource, 'attributes'), true);
    }
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    return c.reject(countScopes(scopes), `${where}.resource: ${e.message}`);
  }

  for (let s = 0; s < scopes.length; s++) {
    const sm = scopes[s];
    const at = `${where}.scopeMetrics[${s}]`;
    if (!isObj(sm)) {
      c.reject(1, `${at}: expected an object, got ${describe(sm)}`);
      continue;
    }
    // The scope (name, version, attributes) is deliberately not turned into labels.
    const metrics = get(sm, 'metrics');
    if (metrics === undefined) continue;
    if (!Array.isArray(metrics)) {
      c.reject(1, `${at}.metrics: expected an array, got ${describe(metrics)}`);
      continue;
    }
    for (let m = 0; m < metrics.length; m++) convertMetric(c, metrics[m], `${at}.metrics[${m}]`, labels);
  }
}

/** Best-effort data point count of a list of scopes, for rejecting a whole resource. */
function countScopes(scopes: unknown[]): number {
  let n = 0;
  for (const sm of scopes) {
    const metrics = isObj(sm) ? get(sm, 'metrics') : null;
    if (metrics === undefined) continue;
    if (!Array.isArray(metrics)) n += 1;
    else for (const m of metrics) n += countPoints(m);
  }
  return n;
}

/** Best-effort data point count of one metric; malformed parts count as one. */
function countPoints(m: unknown): number {
  if (!isObj(m)) return 1;
  let n = 0;
  let kinds = 0;
  for (const [camel, snake] of DATA_FIELDS) {
    const data = get(m, camel, snake);
    if (data === undefined) continue;
    kinds++;
    const points = isObj(data) ? get(data, 'dataPoints', 'data_points') : null;
    if (points === undefined) continue;
    n += Array.isArray(points) ? points.length : 1;
  }
  return kinds === 0 ? 1 : n;
}

function temporalityProblem(raw: unknown): string | undefined {
  let t: number | undefined;
  if (raw === undefined) t = AggregationTemporality.UNSPECIFIED;
  else if (typeof raw === 'number' && Number.isInteger(raw)) t = raw;
  else if (typeof raw === 'string') {
    if (Object.prototype.hasOwnProperty.call(AGGREGATION_TEMPORALITY_NAMES, raw)) t = AGGREGATION_TEMPORALITY_NAMES[raw];
    else if (/^\d{1,9}$/.test(raw)) t = Number(raw);
  }
  switch (t) {
    case AggregationTemporality.CUMULATIVE:
      return undefined;
    case AggregationTemporality.DELTA:
      return 'delta aggregation temporality is not supported (only cumulative values are stored); ' +
        'configure the exporter for cumulative temporality';
    case AggregationTemporality.UNSPECIFIED:
      return 'aggregation temporality is unspecified; only cumulative is supported (delta temporality is not supported)';
    default:
      return `aggregationTemporality ${describe(raw)} is not a known value; only cumulative (2) is supported`;
  }
}

function convertMetric(c: Collector, m: unknown, where: string, resource: Map<string, string>): void {
  if (!isObj(m)) return c.reject(1, `${where}: expected a metric object, got ${describe(m)}`);
  const rawName = m.name;
  const what = typeof rawName === 'string' && rawName !== '' ? `metric ${JSON.stringify(clip(rawName))}` : `metric at ${where}`;

  let kind: Kind | undefined;
  let data: unknown;
  let kinds = 0;
  for (const [camel, snake] of DATA_FIELDS) {
    const v = get(m, camel, snake);
    if (v === undefined) continue;
    kinds++;
    if (kind === undefined) {
      kind = camel;
      data = v;
    }
  }
  if (kind === undefined) {
    return c.reject(1, `${what}: has no data (none of gauge, sum, histogram, exponentialHistogram, summary)`);
  }
  if (kinds > 1) {
    return c.reject(countPoints(m), `${what}: sets more than one of gauge, sum, histogram, exponentialHistogram, summary`);
  }
  if (!isObj(data)) return c.reject(1, `${what}: ${kind} must be an object, got ${describe(data)}`);
  const points = get(data, 'dataPoints', 'data_points');
  if (points === undefined) return;
  if (!Array.isArray(points)) return c.reject(1, `${what}: ${kind}.dataPoints must be an array, got ${describe(points)}`);
  if (points.length === 0) return;

  let name: string;
  try {
    name = checkMetricName(rawName);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    return c.reject(points.length, `${what}: ${e.message}`);
  }

  let convert: PointConverter;
  switch (kind) {
    case 'gauge':
      convert = gaugePoint;
      break;
    case 'sum': {
      const problem = temporalityProblem(get(data, 'aggregationTemporality', 'aggregation_temporality'));
      if (problem !== undefined) return c.reject(points.length, `${what}: ${problem}`);
      const monotonic = get(data, 'isMonotonic', 'is_monotonic');
      if (monotonic !== undefined && typeof monotonic !== 'boolean') {
        return c.reject(points.length, `${what}: isMonotonic must be true or false, got ${describe(monotonic)}`);
      }
      convert = monotonic === true ? counterPoint : gaugePoint;
      break;
    }
    case 'histogram':
    case 'exponentialHistogram': {
      const problem = temporalityProblem(get(data, 'aggregationTemporality', 'aggregation_temporality'));
      if (problem !== undefined) return c.reject(points.length, `${what}: ${problem}`);
      convert = kind === 'histogram' ? histogramPoint : exponentialHistogramPoint;
      break;
    }
    case 'summary':
      convert = summaryPoint;
      break;
  }

  const info: MetricInfo = { name, resource };
  const description = m.description;
  if (typeof description === 'string' && description !== '') info.help = description;
  const unit = m.unit;
  if (typeof unit === 'string' && unit !== '') info.unit = unit;

  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    const before = c.samples.length;
    try {
      if (!isObj(p)) fail(`expected an object, got ${describe(p)}`);
      const flags = optional(get(p, 'flags'), 'flags', toUint64, 0);
      if ((flags & DATA_POINT_FLAG_NO_RECORDED_VALUE) !== 0) continue;
      convert(c, info, p);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      c.samples.length = before; // a point is all or nothing
      c.reject(1, `${what}: data point ${i}: ${e.message}`);
    }
  }
}

type PointConverter = (c: Collector, m: MetricInfo, p: Obj) => void;

function pointValue(p: Obj): number {
  const d = get(p, 'asDouble', 'as_double');
  if (d !== undefined) return toDouble(d, 'asDouble');
  const i = get(p, 'asInt', 'as_int');
  if (i !== undefined) return toInt64(i, 'asInt');
  return fail('has neither asDouble nor asInt');
}

function timeOf(p: Obj): number | undefined {
  return unixNanosToMillis(get(p, 'timeUnixNano', 'time_unix_nano'));
}

const gaugePoint: PointConverter = (c, m, p) => {
  const value = pointValue(p);
  const ts = timeOf(p);
  emit(c, m, m.name, pointLabels(m.resource, p, undefined), value, ts, 'gauge', undefined);
};

const counterPoint: PointConverter = (c, m, p) => {
  const value = pointValue(p);
  const ts = timeOf(p);
  const labels = pointLabels(m.resource, p, undefined);
  const series = m.name.endsWith('_total') ? m.name : m.name + '_total';
  const base = series.slice(0, -'_total'.length);
  const family = base === '' ? series : base;
  emit(c, m, series, labels, value, ts, 'counter', family);
};

/** Emits `_bucket` series for (upper bound, cumulative count) pairs, then +Inf, `_sum`, `_count`. */
function emitHistogram(
  c: Collector,
  m: MetricInfo,
  labels: Labels,
  ts: number | undefined,
  bounds: number[],
  cumulative: number[],
  count: number,
  sum: number | undefined,
): void {
  const bucket = m.name + '_bucket';
  for (let i = 0; i < bounds.length; i++) {
    emit(c, m, bucket, { ...labels, le: formatPromFloat(bounds[i]) }, cumulative[i], ts, 'histogram', m.name);
  }
  emit(c, m, bucket, { ...labels, le: '+Inf' }, count, ts, 'histogram', m.name);
  if (sum !== undefined) emit(c, m, m.name + '_sum', labels, sum, ts, 'histogram', m.name);
  emit(c, m, m.name + '_count', labels, count, ts, 'histogram', m.name);
}

const histogramPoint: PointConverter = (c, m, p) => {
  const labels = pointLabels(m.resource, p, 'le');
  const ts = timeOf(p);
  const count = optional(get(p, 'count'), 'count', toUint64, 0);
  const sum = optional(get(p, 'sum'), 'sum', toDouble, undefined);
  const counts = uint64List(get(p, 'bucketCounts', 'bucket_counts'), 'bucketCounts');
  const bounds = doubleList(get(p, 'explicitBounds', 'explicit_bounds'), 'explicitBounds');
  if (counts.length === 0) {
    if (bounds.length > 0) fail(`has ${bounds.length} explicitBounds but no bucketCounts`);
  } else if (counts.length !== bounds.length + 1) {
    fail(`has ${counts.length} bucketCounts for ${bounds.length} explicitBounds (must be one more)`);
  }
  if (bounds.length + 1 > MAX_BUCKETS_PER_POINT) fail(`has ${bounds.length + 1} buckets; the limit is ${MAX_BUCKETS_PER_POINT}`);
  for (let i = 0; i < bounds.length; i++) {
    if (!Number.isFinite(bounds[i])) fail(`explicitBounds[${i}] is ${bounds[i]}; bounds must be finite`);
    if (i > 0 && !(bounds[i] > bounds[i - 1])) fail(`explicitBounds must be strictly increasing (index ${i})`);
  }
  if (counts.length > 0 && total(counts) !== count) {
    fail(`count ${count} differs from the sum of bucketCounts ${total(counts)}`);
  }
  const cumulative = new Array<number>(bounds.length);
  let running = 0;
  for (let i = 0; i < bounds.length; i++) cumulative[i] = running += counts[i];
  emitHistogram(c, m, labels, ts, bounds, cumulative, count, sum);
};

/**
 * base^index for base = 2^(2^-scale), i.e. 2^(index / 2^scale). Computed as an exact power of two
 * times 2^(fraction) so that every bound on a power of two is exact.
 */
export function exponentialBound(index: number, scale: number): number {
  if (scale <= 0) return 2 ** (index * 2 ** -scale);
  const perOctave = 2 ** scale;
  const whole = Math.floor(index / perOctave);
  const rest = index - whole * perOctave;
  return rest === 0 ? 2 ** whole : 2 ** (rest / perOctave) * 2 ** whole;
}

function bucketsOf(v: unknown, what: string): { offset: number; counts: number[] } {
  if (v === undefined) return { offset: 0, counts: [] };
  if (!isObj(v)) return fail(`${what} must be an object with offset and bucketCounts, got ${describe(v)}`);
  return {
    offset: optional(get(v, 'offset'), `${what}.offset`, toInt32, 0),
    counts: uint64List(get(v, 'bucketCounts', 'bucket_counts'), `${what}.bucketCounts`),
  };
}

const exponentialHistogramPoint: PointConverter = (c, m, p) => {
  const labels = pointLabels(m.resource, p, 'le');
  const ts = timeOf(p);
  const count = optional(get(p, 'count'), 'count', toUint64, 0);
  const sum = optional(get(p, 'sum'), 'sum', toDouble, undefined);
  const scale = optional(get(p, 'scale'), 'scale', toInt32, 0);
  if (scale < MIN_SCALE || scale > MAX_SCALE) fail(`scale ${scale} is outside ${MIN_SCALE}..${MAX_SCALE}`);
  const zeroCount = optional(get(p, 'zeroCount', 'zero_count'), 'zeroCount', toUint64, 0);
  const zeroThreshold = optional(get(p, 'zeroThreshold', 'zero_threshold'), 'zeroThreshold', toDouble, 0);
  if (!(zeroThreshold >= 0 && zeroThreshold < Infinity)) fail(`zeroThreshold must be a finite number ≥ 0, got ${zeroThreshold}`);
  const pos = bucketsOf(get(p, 'positive'), 'positive');
  const neg = bucketsOf(get(p, 'negative'), 'negative');
  const buckets = pos.counts.length + neg.counts.length + 1;
  if (buckets > MAX_BUCKETS_PER_POINT) fail(`has ${buckets} buckets; the limit is ${MAX_BUCKETS_PER_POINT}`);
  const inBuckets = zeroCount + total(pos.counts) + total(neg.counts);
  if (inBuckets !== count) fail(`count ${count} differs from zeroCount plus all bucketCounts (${inBuckets})`);

  // Upper bounds in increasing order with cumulative counts. A bound that does not exceed the
  // previous one (float underflow, a zero threshold wider than the first positive bucket) is merged
  // into the previous bucket so the output stays a valid histogram.
  const bounds: number[] = [];
  const cumulative: number[] = [];
  let running = 0;
  const add = (bound: number, n: number): void => {
    running += n;
    const last = bounds.length - 1;
    if (last >= 0 && !(bound > bounds[last])) cumulative[last] = running;
    else {
      bounds.push(bound);
      cumulative.push(running);
    }
  };
  // Negative bucket i holds [-base^(i+1), -base^i): its upper end is -base^i. Most negative first.
  for (let k = neg.counts.length - 1; k >= 0; k--) add(-exponentialBound(neg.offset + k, scale), neg.counts[k]);
  add(zeroThreshold, zeroCount);
  // Positive bucket i holds (base^i, base^(i+1)].
  for (let k = 0; k < pos.counts.length; k++) add(exponentialBound(pos.offset + k + 1, scale), pos.counts[k]);
  // A bound that overflowed to +Infinity is the +Inf bucket, which emitHistogram writes from count.
  while (bounds.length > 0 && bounds[bounds.length - 1] === Infinity) {
    bounds.pop();
    cumulative.pop();
  }
  emitHistogram(c, m, labels, ts, bounds, cumulative, count, sum);
};

const summaryPoint: PointConverter = (c, m, p) => {
  const labels = pointLabels(m.resource, p, 'quantile');
  const ts = timeOf(p);
  const count = optional(get(p, 'count'), 'count', toUint64, 0);
  const sum = optional(get(p, 'sum'), 'sum', toDouble, 0); // not optional in the proto: absent is 0
  const qvs = get(p, 'quantileValues', 'quantile_values');
  const quantiles: [string, number][] = [];
  if (qvs !== undefined) {
    if (!Array.isArray(qvs)) fail(`quantileValues must be an array, got ${describe(qvs)}`);
    for (let i = 0; i < qvs.length; i++) {
      const qv = qvs[i];
      if (!isObj(qv)) fail(`quantileValues[${i}] must be an object, got ${describe(qv)}`);
      const q = optional(get(qv, 'quantile'), `quantileValues[${i}].quantile`, toDouble, 0);
      if (!(q >= 0 && q <= 1)) fail(`quantileValues[${i}].quantile must be between 0 and 1, got ${q}`);
      quantiles.push([formatPromFloat(q), optional(get(qv, 'value'), `quantileValues[${i}].value`, toDouble, 0)]);
    }
  }
  for (const [q, value] of quantiles) emit(c, m, m.name, { ...labels, quantile: q }, value, ts, 'summary', m.name);
  emit(c, m, m.name + '_sum', labels, sum, ts, 'summary', m.name);
  emit(c, m, m.name + '_count', labels, count, ts, 'summary', m.name);
};
