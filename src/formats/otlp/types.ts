/**
 * The OTLP metrics request as a plain object, in the shape of the OTLP/JSON encoding.
 *
 * Two producers fill these types: `JSON.parse` of an OTLP/JSON body (untrusted, so nothing here is
 * guaranteed and the converter checks every field at run time), and `decodeExportMetricsRequest`
 * for protobuf bodies, which produces exactly the OTLP/JSON shape so one converter serves both.
 *
 * Conventions, as in OTLP/JSON:
 * - Keys are lowerCamelCase. (The converter also accepts the original snake_case names.)
 * - 64-bit integers (`fixed64`, `sfixed64`, `int64`, `uint64`) are decimal strings, e.g.
 *   `"1700000000000000000"`. JSON senders may also use numbers; the protobuf decoder always writes
 *   strings, so precision is never lost before the converter decides what to do with a value.
 * - 32-bit integers, enums, booleans and doubles are JS numbers/booleans. The decoder keeps NaN and
 *   ±Infinity as numbers; JSON senders write them as the strings "NaN", "Infinity", "-Infinity".
 * - `bytes` are base64 strings.
 * - Enums are integers; JSON senders may also use the enum's name.
 * - A field that is absent means its default (0, "", false, empty list).
 *
 * Fields we never read (exemplars, entity refs, string-table indexes) are not decoded from protobuf.
 */

/** A 64-bit integer: a decimal string (OTLP/JSON and our decoder) or a number (lenient JSON). */
export type OtlpInt64 = string | number;
/** A double: a number, or "NaN" / "Infinity" / "-Infinity" (or a numeric string) in JSON. */
export type OtlpDouble = number | string;
/** An enum: its integer value, or (lenient JSON) its name. */
export type OtlpEnum = number | string;

export const AggregationTemporality = {
  UNSPECIFIED: 0,
  DELTA: 1,
  CUMULATIVE: 2,
} as const;

/** Names of AggregationTemporality values as they may appear in JSON. */
export const AGGREGATION_TEMPORALITY_NAMES: Readonly<Record<string, number>> = {
  AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
  AGGREGATION_TEMPORALITY_DELTA: 1,
  AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
};

/** DataPointFlags bit: the point marks a gap (no value was recorded), not a measurement. */
export const DATA_POINT_FLAG_NO_RECORDED_VALUE = 1;

export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: OtlpInt64;
  doubleValue?: OtlpDouble;
  arrayValue?: OtlpArrayValue;
  kvlistValue?: OtlpKeyValueList;
  /** base64 */
  bytesValue?: string;
}

export interface OtlpArrayValue {
  values?: OtlpAnyValue[];
}

export interface OtlpKeyValueList {
  values?: OtlpKeyValue[];
}

export interface OtlpKeyValue {
  key?: string;
  /** null/absent: an empty AnyValue. */
  value?: OtlpAnyValue | null;
}

export interface OtlpResource {
  attributes?: OtlpKeyValue[];
  droppedAttributesCount?: number;
}

export interface OtlpInstrumentationScope {
  name?: string;
  version?: string;
  attributes?: OtlpKeyValue[];
  droppedAttributesCount?: number;
}

export interface OtlpExportRequest {
  resourceMetrics?: OtlpResourceMetrics[];
}

export interface OtlpResourceMetrics {
  resource?: OtlpResource;
  scopeMetrics?: OtlpScopeMetrics[];
  schemaUrl?: string;
}

export interface OtlpScopeMetrics {
  scope?: OtlpInstrumentationScope;
  metrics?: OtlpMetric[];
  schemaUrl?: string;
}

/** Exactly one of gauge, sum, histogram, exponentialHistogram, summary is set on a valid metric. */
export interface OtlpMetric {
  name?: string;
  description?: string;
  unit?: string;
  gauge?: OtlpGauge;
  sum?: OtlpSum;
  histogram?: OtlpHistogram;
  exponentialHistogram?: OtlpExponentialHistogram;
  summary?: OtlpSummary;
  metadata?: OtlpKeyValue[];
}

export interface OtlpGauge {
  dataPoints?: OtlpNumberDataPoint[];
}

export interface OtlpSum {
  dataPoints?: OtlpNumberDataPoint[];
  aggregationTemporality?: OtlpEnum;
  isMonotonic?: boolean;
}

export interface OtlpHistogram {
  dataPoints?: OtlpHistogramDataPoint[];
  aggregationTemporality?: OtlpEnum;
}

export interface OtlpExponentialHistogram {
  dataPoints?: OtlpExponentialHistogramDataPoint[];
  aggregationTemporality?: OtlpEnum;
}

export interface OtlpSummary {
  dataPoints?: OtlpSummaryDataPoint[];
}

/** Fields every data point type has. */
export interface OtlpDataPointBase {
  attributes?: OtlpKeyValue[];
  startTimeUnixNano?: OtlpInt64;
  timeUnixNano?: OtlpInt64;
  /** Bit field; see DATA_POINT_FLAG_NO_RECORDED_VALUE. */
  flags?: number;
}

/** At most one of asDouble and asInt. */
export interface OtlpNumberDataPoint extends OtlpDataPointBase {
  asDouble?: OtlpDouble;
  asInt?: OtlpInt64;
}

export interface OtlpHistogramDataPoint extends OtlpDataPointBase {
  count?: OtlpInt64;
  sum?: OtlpDouble;
  bucketCounts?: OtlpInt64[];
  explicitBounds?: OtlpDouble[];
  min?: OtlpDouble;
  max?: OtlpDouble;
}

export interface OtlpBuckets {
  offset?: number;
  bucketCounts?: OtlpInt64[];
}

export interface OtlpExponentialHistogramDataPoint extends OtlpDataPointBase {
  count?: OtlpInt64;
  sum?: OtlpDouble;
  scale?: number;
  zeroCount?: OtlpInt64;
  positive?: OtlpBuckets;
  negative?: OtlpBuckets;
  min?: OtlpDouble;
  max?: OtlpDouble;
  zeroThreshold?: OtlpDouble;
}

export interface OtlpValueAtQuantile {
  quantile?: OtlpDouble;
  value?: OtlpDouble;
}

export interface OtlpSummaryDataPoint extends OtlpDataPointBase {
  count?: OtlpInt64;
  sum?: OtlpDouble;
  quantileValues?: OtlpValueAtQuantile[];
}

/** What the server tells the client about rejected points (ExportMetricsPartialSuccess). */
export interface OtlpPartialSuccess {
  rejectedDataPoints: number;
  errorMessage: string;
}

/** ExportMetricsServiceResponse in OTLP/JSON shape; `partialSuccess` is absent on full success. */
export interface OtlpExportResponseJson {
  partialSuccess?: { rejectedDataPoints?: string; errorMessage?: string };
}
