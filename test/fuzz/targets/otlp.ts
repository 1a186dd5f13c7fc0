import fc from 'fast-check';
import { otlpToSamples } from '../../../src/formats/otlp/convert';
import { decodeExportMetricsRequest } from '../../../src/formats/otlp/protobuf';
import type { FuzzTarget } from '../engine';
import { checkSamples, outcome, parseJson } from './shape';

function convert(request: unknown): string {
  const r = otlpToSamples(request);
  checkSamples(r.samples);
  if (r.rejectedDataPoints < 0 || !Number.isInteger(r.rejectedDataPoints)) throw new Error(`rejectedDataPoints ${r.rejectedDataPoints}`);
  return outcome('otlp', r.errors.map((e) => e.message), r.samples.length, r.errors.length);
}

/** Protobuf: decode errors must be ProtobufDecodeError (a ValidationError, 400 at the route), never a RangeError or TypeError. */
export const otlpProtobuf: FuzzTarget = {
  name: 'otlp-protobuf',
  about: 'OTLP ExportMetricsServiceRequest protobuf decoder, then conversion to samples',
  tokens: ['\x0a', '\x12', '\x1a', '\x22', '\x2a', '\x32', '\x3a', '\x42', '\x4a', '\x52', '\x09', '\x11', '\x19', '\x21', '\x31', '\x39', '\x80\x80\x80\x80\x10', '\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01', '\x00'].map((s) => Buffer.from(s, 'latin1').toString('latin1')),
  arbitrary: fc.uint8Array({ maxLength: 256 }).map((a) => Buffer.from(a)),
  run(data) {
    return convert(decodeExportMetricsRequest(data));
  },
};

const anyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.record({ stringValue: fc.string() }),
    fc.record({ intValue: fc.oneof(fc.string(), fc.integer()) }),
    fc.record({ doubleValue: fc.oneof(fc.double(), fc.string()) }),
    fc.record({ boolValue: fc.boolean() }),
    fc.record({ arrayValue: fc.record({ values: fc.array(tie('v'), { maxLength: 3 }) }) }),
  ),
})).v;
const point = fc.record({
  asDouble: fc.oneof(fc.double(), fc.constantFrom('NaN', 'Infinity', '-Infinity', 'x')),
  asInt: fc.oneof(fc.string(), fc.bigInt().map(String)),
  timeUnixNano: fc.oneof(fc.bigInt({ min: -1n, max: 2n ** 64n }).map(String), fc.integer()),
  count: fc.oneof(fc.string(), fc.nat()),
  bucketCounts: fc.array(fc.oneof(fc.nat().map(String), fc.string()), { maxLength: 5 }),
  explicitBounds: fc.array(fc.double(), { maxLength: 5 }),
  attributes: fc.array(fc.record({ key: fc.string(), value: anyValue }), { maxLength: 3 }),
}, { requiredKeys: [] });
const metric = fc.record({
  name: fc.string(),
  unit: fc.string(),
  gauge: fc.record({ dataPoints: fc.array(point, { maxLength: 3 }) }),
  sum: fc.record({ dataPoints: fc.array(point, { maxLength: 3 }), isMonotonic: fc.boolean(), aggregationTemporality: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.string()) }, { requiredKeys: [] }),
  histogram: fc.record({ dataPoints: fc.array(point, { maxLength: 3 }), aggregationTemporality: fc.integer({ min: -1, max: 3 }) }, { requiredKeys: [] }),
}, { requiredKeys: [] });

/** JSON: after JSON.parse (whose SyntaxError is the route's 400), conversion throws only ValidationError. */
export const otlpJson: FuzzTarget = {
  name: 'otlp-json',
  about: 'OTLP/JSON conversion to samples (after JSON.parse)',
  tokens: ['{', '}', '[', ']', ':', ',', '"resourceMetrics"', '"scopeMetrics"', '"metrics"', '"gauge"', '"sum"', '"histogram"', '"exponentialHistogram"', '"summary"', '"dataPoints"', '"asDouble"', '"asInt"', '"timeUnixNano"', '"attributes"', '"key"', '"value"', '"stringValue"', '"kvlistValue"', '"arrayValue"', '"bucketCounts"', '"explicitBounds"', '"scale"', '"positive"', '"offset"', 'null', 'true', '-1', '1e308', '"NaN"', '"18446744073709551616"'],
  arbitrary: fc.record({ resourceMetrics: fc.array(fc.record({ scopeMetrics: fc.array(fc.record({ metrics: fc.array(metric, { maxLength: 3 }) }), { maxLength: 2 }) }), { maxLength: 2 }) }).map((o) => Buffer.from(JSON.stringify(o), 'utf8')),
  run(data) {
    const j = parseJson(data);
    if (!j.ok) return 'not-json';
    return convert(j.value);
  },
};
