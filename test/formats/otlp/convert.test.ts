import assert from 'node:assert/strict';
import { ValidationError } from '../../../src/model/names';
import type { Sample } from '../../../src/model/sample';
import {
  MAX_BUCKETS_PER_POINT,
  MAX_ERROR_MESSAGES,
  exponentialBound,
  formatPromFloat,
  otlpToSamples,
  unixNanosToMillis,
} from '../../../src/formats/otlp/convert';
import { prng } from '../../helpers/prng';

// ---- helpers -------------------------------------------------------------------------------

type J = Record<string, unknown>;

const T = '1700000000123456789'; // 2023-11-14T22:13:20.123456789Z
const T_MS = 1700000000123.456789;

function req(metrics: unknown[], resourceAttributes: unknown[] = []): J {
  return {
    resourceMetrics: [{
      resource: { attributes: resourceAttributes },
      scopeMetrics: [{ scope: { name: 'lib', version: '1', attributes: [sv('scope.attr', 'ignored')] }, metrics }],
    }],
  };
}

const sv = (key: string, value: string): J => ({ key, value: { stringValue: value } });
const gauge = (name: string, dataPoints: unknown[], extra: J = {}): J => ({ name, ...extra, gauge: { dataPoints } });
/** A sum; pass `...[t, m]` explicitly: `undefined` means the field is absent, not a default. */
const sum = (name: string, dataPoints: unknown[], ...rest: unknown[]): J => ({
  name, sum: { dataPoints, aggregationTemporality: rest.length > 0 ? rest[0] : 2, isMonotonic: rest.length > 1 ? rest[1] : true },
});
const histogram = (name: string, dataPoints: unknown[], temporality: unknown = 2): J => ({
  name, histogram: { dataPoints, aggregationTemporality: temporality },
});
const expHistogram = (name: string, dataPoints: unknown[], temporality: unknown = 2): J => ({
  name, exponentialHistogram: { dataPoints, aggregationTemporality: temporality },
});

/** name{labels} → value, for compact assertions. */
function table(samples: Sample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    const labels = Object.keys(s.labels).sort().map((k) => `${k}=${s.labels[k]}`).join(',');
    out[labels === '' ? s.name : `${s.name}{${labels}}`] = s.value;
  }
  return out;
}

function only(r: { samples: Sample[] }): Sample {
  assert.equal(r.samples.length, 1, JSON.stringify(r.samples));
  return r.samples[0];
}

function snake(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(snake);
  if (typeof v !== 'object' || v === null) return v;
  const out: J = {};
  for (const [k, x] of Object.entries(v)) out[k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase())] = snake(x);
  return out;
}


// ---- tests ---------------------------------------------------------------------------------

describe('otlp conversion', () => {
  describe('request structure', () => {
    it('treats a request without resourceMetrics, or with an empty list, as empty success', () => {
      for (const body of [{}, { resourceMetrics: [] }, { resourceMetrics: null }, { somethingElse: 1 }]) {
        assert.deepEqual(otlpToSamples(body), { samples: [], errors: [], rejectedDataPoints: 0 });
      }
    });

    it('throws ValidationError when the request as a whole is unusable', () => {
      for (const body of [null, undefined, 1, 'x', true, [], [{}]]) {
        assert.throws(() => otlpToSamples(body), ValidationError, JSON.stringify(body));
      }
      for (const rm of ['x', 1, {}, true]) {
        assert.throws(() => otlpToSamples({ resourceMetrics: rm }), /resourceMetrics must be an array/);
      }
    });

    it('reports malformed nesting per element instead of failing (the reference answered 500)', () => {
      const good = gauge('ok', [{ asDouble: 1 }]);
      const r = otlpToSamples({
        resourceMetrics: [
          'x',
          null,
          { scopeMetrics: 'not a list' },
          { scopeMetrics: [7, { metrics: {} }, { metrics: [null, 'm', good] }] },
        ],
      });
      assert.deepEqual(table(r.samples), { ok: 1 });
      assert.equal(r.errors.length, 7);
      assert.equal(r.rejectedDataPoints, 7);
      assert.ok(r.errors.every((e) => e.line === 0));
      assert.match(r.errors[0].message, /^resourceMetrics\[0\]: expected an object, got the string "x"/);
      assert.match(r.errors[2].message, /^resourceMetrics\[2\]\.scopeMetrics: expected an array/);
      assert.match(r.errors[4].message, /scopeMetrics\[1\]\.metrics: expected an array, got an object/);
      assert.match(r.errors[6].message, /metrics\[1\]: expected a metric object, got the string "m"/);
    });

    it('rejects metrics whose data is missing, ambiguous or malformed', () => {
      const r = otlpToSamples(req([
        { name: 'nodata' },
        { name: 'two', gauge: { dataPoints: [{ asDouble: 1 }] }, sum: { dataPoints: [{ asDouble: 1 }, { asDouble: 2 }] } },
        { name: 'str', gauge: 'x' },
        { name: 'dp', gauge: { dataPoints: { asDouble: 1 } } },
        { name: 'empty', gauge: { dataPoints: [] } },
        { name: 'nopoints', gauge: {} },
      ]));
      assert.deepEqual(r.samples, []);
      assert.equal(r.rejectedDataPoints, 1 + 3 + 1 + 1);
      assert.deepEqual(r.errors.map((e) => e.message), [
        'metric "nodata": has no data (none of gauge, sum, histogram, exponentialHistogram, summary)',
        'metric "two": sets more than one of gauge, sum, histogram, exponentialHistogram, summary',
        'metric "str": gauge must be an object, got the string "x"',
        'metric "dp": gauge.dataPoints must be an array, got an object',
      ]);
    });

    it('keeps the first MAX_ERROR_MESSAGES messages but counts every rejected point', () => {
      const points = Array.from({ length: 30 }, () => ({ timeUnixNano: T }));
      const r = otlpToSamples(req([gauge('g', [...points, { asDouble: 5 }])]));
      assert.equal(r.rejectedDataPoints, 30);
      assert.equal(r.errors.length, MAX_ERROR_MESSAGES + 1);
      assert.equal(r.errors[0].message, 'metric "g": data point 0: has neither asDouble nor asInt');
      assert.equal(r.errors[MAX_ERROR_MESSAGES].message, '… and 10 more problems not listed');
      assert.deepEqual(table(r.samples), { g: 5 });
    });
  });

  describe('names, help and unit', () => {
    it('sanitises names and sets help/unit only when non-empty', () => {
      const r = otlpToSamples(req([
        gauge('gpu.power-draw', [{ asDouble: 1 }], { description: 'Power', unit: 'W' }),
        gauge('9lives', [{ asDouble: 2 }], { description: '', unit: '' }),
      ]));
      assert.deepEqual(r.samples, [
        { name: 'gpu_power_draw', labels: {}, value: 1, type: 'gauge', help: 'Power', unit: 'W' },
        { name: '_9lives', labels: {}, value: 2, type: 'gauge' },
      ]);
    });

    it('rejects every point of a metric without a usable name', () => {
      const r = otlpToSamples(req([
        gauge('', [{ asDouble: 1 }, { asDouble: 2 }]),
        { gauge: { dataPoints: [{ asDouble: 1 }] } },
        { name: 5, gauge: { dataPoints: [{ asDouble: 1 }] } },
        gauge('...', [{ asDouble: 1 }]),
        gauge('x'.repeat(300), [{ asDouble: 1 }]),
      ]));
      assert.equal(r.samples.length, 0);
      assert.equal(r.rejectedDataPoints, 6);
      assert.match(r.errors[0].message, /^metric at resourceMetrics\[0\]\.scopeMetrics\[0\]\.metrics\[0\]: metric name must be a non-empty string/);
      assert.match(r.errors[3].message, /^metric "\.\.\.": .*no usable characters/);
      assert.match(r.errors[4].message, /300 characters long/);
    });
  });

  describe('values and timestamps', () => {
    it('reads asDouble and asInt in all their JSON spellings', () => {
      const r = otlpToSamples(req([gauge('v', [
        { asDouble: 1.5, attributes: [sv('case', 'double')] },
        { asInt: '100', attributes: [sv('case', 'int-string')] },
        { asInt: 7, attributes: [sv('case', 'int-number')] },
        { asInt: '-9007199254740993', attributes: [sv('case', 'int-big')] },
        { asDouble: '2.5', attributes: [sv('case', 'double-string')] },
      ])]));
      assert.deepEqual(table(r.samples), {
        'v{case=double}': 1.5,
        'v{case=int-string}': 100,
        'v{case=int-number}': 7,
        'v{case=int-big}': -9007199254740992, // nearest double; documented precision loss
        'v{case=double-string}': 2.5,
      });
      assert.deepEqual(r.errors, []);
    });

    it('keeps asDouble 0 even next to asInt (falsy trap)', () => {
      assert.equal(only(otlpToSamples(req([gauge('z', [{ asDouble: 0, asInt: '5' }])]))).value, 0);
      assert.equal(only(otlpToSamples(req([gauge('z', [{ asDouble: 0 }])]))).value, 0);
      assert.equal(only(otlpToSamples(req([gauge('z', [{ asInt: '0' }])]))).value, 0);
      assert.equal(only(otlpToSamples(req([gauge('z', [{ asDouble: null, asInt: 3 }])]))).value, 3);
    });

    it('keeps NaN and infinities', () => {
      const r = otlpToSamples(req([gauge('n', [
        { asDouble: 'NaN', attributes: [sv('i', '1')] },
        { asDouble: 'Infinity', attributes: [sv('i', '2')] },
        { asDouble: '-Infinity', attributes: [sv('i', '3')] },
        { asDouble: NaN, attributes: [sv('i', '4')] }, // as the protobuf decoder gives it
      ])]));
      assert.deepEqual(r.samples.map((s) => s.value), [NaN, Infinity, -Infinity, NaN]);
    });

    it('rejects points without a usable value', () => {
      const r = otlpToSamples(req([gauge('bad', [{}, { asDouble: 'abc' }, { asInt: 1.5 }, { asInt: 'x1' }, { asDouble: true }, { asDouble: {} }])]));
      assert.equal(r.samples.length, 0);
      assert.equal(r.rejectedDataPoints, 6);
      assert.deepEqual(r.errors.map((e) => e.message), [
        'metric "bad": data point 0: has neither asDouble nor asInt',
        'metric "bad": data point 1: asDouble must be a number, got the string "abc"',
        'metric "bad": data point 2: asInt must be an integer, got the number 1.5',
        'metric "bad": data point 3: asInt must be an integer, got the string "x1"',
        'metric "bad": data point 4: asDouble must be a number, got true',
        'metric "bad": data point 5: asDouble must be a number, got an object',
      ]);
    });

    it('turns timeUnixNano into float milliseconds precise to the microsecond', () => {
      const ts = only(otlpToSamples(req([gauge('t', [{ asDouble: 1, timeUnixNano: T }])]))).timestampMs!;
      assert.ok(Math.abs(ts - T_MS) < 1e-3, `${ts}`);
      assert.equal(unixNanosToMillis('1700000000123456000'), 1700000000123.456);
      assert.equal(unixNanosToMillis(1.7e18), 1.7e12);
      assert.equal(unixNanosToMillis('0001500000'), 1.5);
      assert.equal(unixNanosToMillis('999'), 0.000999);
      assert.equal(unixNanosToMillis('18446744073709551615'), 18446744073709.551615);
      for (const none of [undefined, null, '0', 0, '000']) assert.equal(unixNanosToMillis(none), undefined, String(none));
      for (const bad of ['-1', -5, '1e9', 'now', '', true, {}, '123456789012345678901']) {
        assert.throws(() => unixNanosToMillis(bad), ValidationError, String(bad));
      }
    });

    it('omits the timestamp when it is missing or zero and rejects a malformed one', () => {
      const r = otlpToSamples(req([gauge('t', [
        { asDouble: 1, attributes: [sv('i', 'a')] },
        { asDouble: 2, timeUnixNano: '0', attributes: [sv('i', 'b')] },
        { asDouble: 3, time_unix_nano: '2000000', attributes: [sv('i', 'c')] },
        { asDouble: 4, timeUnixNano: 'yesterday' },
      ])]));
      assert.deepEqual(r.samples.map((s) => s.timestampMs), [undefined, undefined, 2]);
      assert.ok(!('timestampMs' in r.samples[0]));
      assert.match(r.errors[0].message, /data point 3: timeUnixNano must be an unsigned integer/);
    });

    it('skips points flagged NO_RECORDED_VALUE silently', () => {
      const r = otlpToSamples(req([gauge('f', [
        { flags: 1, attributes: [sv('i', 'gap')] }, // no value either: still not an error
        { asDouble: 1, flags: 3, attributes: [sv('i', 'gap2')] },
        { asDouble: 2, flags: 2, attributes: [sv('i', 'other-bit')] },
        { asDouble: 3, flags: 0, attributes: [sv('i', 'zero')] },
      ])]));
      assert.deepEqual(table(r.samples), { 'f{i=other-bit}': 2, 'f{i=zero}': 3 });
      assert.deepEqual(r.errors, []);
      assert.equal(r.rejectedDataPoints, 0);
    });
  });

  describe('labels', () => {
    it('merges resource and point attributes, point winning, scope ignored, telemetry.sdk.* dropped', () => {
      const s = only(otlpToSamples(req(
        [gauge('m', [{ asDouble: 1, attributes: [sv('host.name', 'point'), sv('device', 'gpu0')] }])],
        [sv('service.name', 'infer'), sv('host.name', 'resource'), sv('telemetry.sdk.name', 'opentelemetry'),
          sv('telemetry.sdk.version', '2.0'), sv('telemetry.distro.name', 'kept')],
      )));
      assert.deepEqual(s.labels, { service_name: 'infer', host_name: 'point', device: 'gpu0', telemetry_distro_name: 'kept' });
    });

    it('overrides on the sanitised name and drops empty values (an empty point attribute removes a resource one)', () => {
      const s = only(otlpToSamples(req(
        [gauge('m', [{ asDouble: 1, attributes: [sv('a_b', 'point'), sv('zone', '')] }])],
        [sv('a.b', 'resource'), sv('zone', 'eu'), sv('keep', 'yes')],
      )));
      assert.deepEqual(s.labels, { a_b: 'point', keep: 'yes' });
    });

    it('turns every AnyValue type into a string', () => {
      const attrs = [
        sv('str', 'a "b"'),
        { key: 'bool', value: { boolValue: false } },
        { key: 'int_s', value: { intValue: '123' } },
        { key: 'int_n', value: { intValue: 45 } },
        { key: 'int_big', value: { intValue: '9007199254740993' } },
        { key: 'int_pad', value: { intValue: '-0012' } },
        { key: 'dbl', value: { doubleValue: 1.5 } },
        { key: 'dbl_big', value: { doubleValue: 1e21 } },
        { key: 'dbl_nan', value: { doubleValue: 'NaN' } },
        { key: 'dbl_s', value: { doubleValue: '0.25' } },
        { key: 'bytes', value: { bytesValue: 'AQID' } },
        { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '9007199254740993' }, { boolValue: true }, { doubleValue: 'Infinity' }, {}, { doubleValue: 0.5 }] } } },
        { key: 'kv', value: { kvlistValue: { values: [{ key: 'x', value: { doubleValue: 2 } }, { key: 'y', value: { arrayValue: {} } }, { key: 'z', value: { kvlistValue: { values: [] } } }] } } },
        { key: 'empty', value: {} },
        { key: 'nul', value: null },
        { key: 'missing' },
      ];
      const s = only(otlpToSamples(req([gauge('m', [{ asDouble: 1, attributes: attrs }])])));
      assert.deepEqual(s.labels, {
        str: 'a "b"',
        bool: 'false',
        int_s: '123',
        int_n: '45',
        int_big: '9007199254740993',
        int_pad: '-12',
        dbl: '1.5',
        dbl_big: '1e+21',
        dbl_nan: 'NaN',
        dbl_s: '0.25',
        bytes: 'AQID',
        arr: '["a",9007199254740993,true,"Infinity",null,0.5]',
        kv: '{"x":2,"y":[],"z":{}}',
      });
    });

    it('rejects a point whose attributes are malformed', () => {
      const bad: [unknown, RegExp][] = [
        ['attrs', /attributes must be an array, got the string "attrs"/],
        [[5], /attribute must be an object with key and value, got the number 5/],
        [[{ value: { stringValue: 'x' } }], /attribute key must be a non-empty string, got nothing/],
        [[{ key: '', value: { stringValue: 'x' } }], /attribute key must be a non-empty string/],
        [[{ key: 'k', value: 'plain' }], /attribute "k": value must be an AnyValue object, got the string "plain"/],
        [[{ key: 'k', value: { intValue: 'ten' } }], /attribute "k": intValue must be an integer/],
        [[{ key: 'k', value: { boolValue: 'yes' } }], /attribute "k": boolValue must be true or false/],
        [[{ key: 'k', value: { stringValue: 5 } }], /attribute "k": stringValue must be a string/],
        [[{ key: 'k', value: { arrayValue: { values: 'x' } } }], /arrayValue.values must be an array/],
        [[{ key: 'k', value: { kvlistValue: { values: [{ key: 1 }] } } }], /kvlistValue key must be a string/],
        [[{ key: '__name__', value: { stringValue: 'x' } }], /reserved/],
        [[{ key: 'k', value: { stringValue: 'v'.repeat(2049) } }], /longer than 2048 bytes/],
      ];
      for (const [attributes, pattern] of bad) {
        const r = otlpToSamples(req([gauge('m', [{ asDouble: 1, attributes }, { asDouble: 2 }])]));
        assert.deepEqual(table(r.samples), { m: 2 }, String(pattern));
        assert.equal(r.rejectedDataPoints, 1);
        assert.match(r.errors[0].message, pattern);
        assert.match(r.errors[0].message, /^metric "m": data point 0: /);
      }
    });

    it('rejects array/kvlist values nested too deeply instead of overflowing the stack', () => {
      let value: J = { stringValue: 'leaf' };
      for (let i = 0; i < 10_000; i++) value = { arrayValue: { values: [value] } };
      const r = otlpToSamples(req([gauge('m', [{ asDouble: 1, attributes: [{ key: 'deep', value }] }])]));
      assert.equal(r.samples.length, 0);
      assert.match(r.errors[0].message, /nested more than 32 levels/);
    });

    it('allows 64 labels per series, counting the le/quantile label', () => {
      const attrs = (n: number) => Array.from({ length: n }, (_, i) => sv(`k${i}`, 'v'));
      assert.equal(otlpToSamples(req([gauge('m', [{ asDouble: 1, attributes: attrs(64) }])])).samples.length, 1);
      const over = otlpToSamples(req([gauge('m', [{ asDouble: 1, attributes: attrs(65) }])]));
      assert.equal(over.rejectedDataPoints, 1);
      assert.match(over.errors[0].message, /65 labels; the limit is 64 per series/);
      // Resource and point attributes together.
      const merged = otlpToSamples(req([gauge('m', [{ asDouble: 1, attributes: attrs(40) }])], attrs(65).slice(40)));
      assert.equal(merged.rejectedDataPoints, 1);
      const hist = otlpToSamples(req([histogram('h', [{ count: '0', attributes: attrs(64) }])]));
      assert.match(hist.errors[0].message, /65 labels \(with "le"\)/);
      assert.equal(otlpToSamples(req([histogram('h', [{ count: '0', attributes: attrs(63) }])])).samples.length, 2);
    });

    it('rejects an le or quantile attribute on the types that add that label', () => {
      const h = otlpToSamples(req([histogram('h', [{ count: '1', attributes: [sv('le', '5')] }])]));
      assert.match(h.errors[0].message, /attribute "le" clashes/);
      const s = otlpToSamples(req([{ name: 's', summary: { dataPoints: [{ attributes: [sv('quantile', 'x')] }] } }]));
      assert.match(s.errors[0].message, /attribute "quantile" clashes/);
      assert.equal(only(otlpToSamples(req([gauge('g', [{ asDouble: 1, attributes: [sv('le', '5')] }])]))).labels.le, '5');
    });

    it('rejects every point of a resource with a bad attribute, with one message', () => {
      const r = otlpToSamples(req(
        [gauge('a', [{ asDouble: 1 }, { asDouble: 2 }]), sum('b', [{ asDouble: 1 }])],
        [sv('__bad', 'x')],
      ));
      assert.equal(r.samples.length, 0);
      assert.equal(r.rejectedDataPoints, 3);
      assert.deepEqual(r.errors.map((e) => e.message), ['resourceMetrics[0].resource: label name "__bad" is reserved (starts with "__")']);
      const notObject = otlpToSamples({ resourceMetrics: [{ resource: 'r', scopeMetrics: [{ metrics: [gauge('a', [{ asDouble: 1 }])] }] }] });
      assert.equal(notObject.rejectedDataPoints, 1);
      assert.match(notObject.errors[0].message, /resource: expected an object, got the string "r"/);
    });
  });

  describe('sum', () => {
    it('maps a monotonic cumulative sum to a counter with a _total series', () => {
      const r = otlpToSamples(req([
        { ...sum('http.requests', [{ asInt: '42', timeUnixNano: T, attributes: [sv('code', '200')] }]), description: 'Requests', unit: '1' },
        sum('bytes_total', [{ asDouble: 1.5 }]),
      ]));
      assert.deepEqual(r.samples, [
        { name: 'http_requests_total', labels: { code: '200' }, value: 42, timestampMs: r.samples[0].timestampMs, type: 'counter', family: 'http_requests', help: 'Requests', unit: '1' },
        { name: 'bytes_total', labels: {}, value: 1.5, type: 'counter', family: 'bytes' },
      ]);
    });

    it('maps a non-monotonic cumulative sum to a gauge without a suffix', () => {
      const r = otlpToSamples(req([sum('queue.depth', [{ asInt: '-3' }], 2, false), sum('q2', [{ asInt: 4 }], 2, undefined)]));
      assert.deepEqual(r.samples, [
        { name: 'queue_depth', labels: {}, value: -3, type: 'gauge' },
        { name: 'q2', labels: {}, value: 4, type: 'gauge' },
      ]);
    });

    it('accepts the temporality as a number or an enum name, snake_case too', () => {
      for (const t of [2, '2', 'AGGREGATION_TEMPORALITY_CUMULATIVE']) {
        assert.equal(only(otlpToSamples(req([sum('c', [{ asDouble: 1 }], t)]))).name, 'c_total', String(t));
      }
      const snakeSum = { name: 'c', sum: { data_points: [{ as_double: 1 }], aggregation_temporality: 2, is_monotonic: true } };
      assert.equal(only(otlpToSamples(req([snakeSum]))).name, 'c_total');
    });

    it('rejects delta and unspecified temporality, counting every point', () => {
      const points = [{ asDouble: 1 }, { asDouble: 2 }, { asDouble: 3 }];
      for (const t of [1, 'AGGREGATION_TEMPORALITY_DELTA', 0, undefined, 'AGGREGATION_TEMPORALITY_UNSPECIFIED']) {
        const r = otlpToSamples(req([sum('d', points, t), gauge('ok', [{ asDouble: 1 }])]));
        assert.deepEqual(table(r.samples), { ok: 1 }, String(t));
        assert.equal(r.rejectedDataPoints, 3);
        assert.equal(r.errors.length, 1);
        assert.match(r.errors[0].message, /^metric "d": .*delta .*not supported/);
      }
      const weird = otlpToSamples(req([sum('d', points, 7)]));
      assert.match(weird.errors[0].message, /aggregationTemporality the number 7 is not a known value/);
      const nonBool = otlpToSamples(req([sum('d', points, 2, 'yes')]));
      assert.match(nonBool.errors[0].message, /isMonotonic must be true or false/);
      assert.equal(nonBool.rejectedDataPoints, 3);
    });
  });

  describe('histogram', () => {
    it('emits cumulative buckets, +Inf, _sum and _count', () => {
      const r = otlpToSamples(req([{
        ...histogram('http.latency', [{
          attributes: [sv('route', '/a')], timeUnixNano: T,
          count: '10', sum: 4.25, bucketCounts: ['1', '2', 3, '0', '4'], explicitBounds: [0.005, 0.5, 1, 1e6],
        }]),
        unit: 's',
      }]));
      assert.deepEqual(table(r.samples), {
        'http_latency_bucket{le=0.005,route=/a}': 1,
        'http_latency_bucket{le=0.5,route=/a}': 3,
        'http_latency_bucket{le=1,route=/a}': 6,
        'http_latency_bucket{le=1e+06,route=/a}': 6,
        'http_latency_bucket{le=+Inf,route=/a}': 10,
        'http_latency_sum{route=/a}': 4.25,
        'http_latency_count{route=/a}': 10,
      });
      for (const s of r.samples) {
        assert.equal(s.type, 'histogram');
        assert.equal(s.family, 'http_latency');
        assert.equal(s.unit, 's');
        assert.ok(Math.abs(s.timestampMs! - T_MS) < 1e-3);
      }
      // _sum and _count share the point's labels, buckets get their own objects.
      assert.equal(r.samples[5].labels, r.samples[6].labels);
      assert.notEqual(r.samples[0].labels, r.samples[1].labels);
    });

    it('omits _sum when absent and handles a point without buckets', () => {
      const r = otlpToSamples(req([histogram('h', [{ count: '3' }])]));
      assert.deepEqual(table(r.samples), { 'h_bucket{le=+Inf}': 3, h_count: 3 });
      const zero = otlpToSamples(req([histogram('h', [{ count: 2, sum: 0, bucketCounts: [2, 0], explicitBounds: [1] }])]));
      assert.deepEqual(table(zero.samples), { 'h_bucket{le=1}': 2, 'h_bucket{le=+Inf}': 2, h_sum: 0, h_count: 2 });
    });

    it('rejects inconsistent histograms', () => {
      const cases: [J, RegExp][] = [
        [{ count: 3, bucketCounts: [1, 2], explicitBounds: [1, 2] }, /2 bucketCounts for 2 explicitBounds/],
        [{ count: 3, explicitBounds: [1] }, /1 explicitBounds but no bucketCounts/],
        [{ count: 3, bucketCounts: [1, 1, 1], explicitBounds: [2, 1] }, /strictly increasing/],
        [{ count: 3, bucketCounts: [1, 1, 1], explicitBounds: [1, 1] }, /strictly increasing/],
        [{ count: 2, bucketCounts: [1, 1], explicitBounds: ['Infinity'] }, /must be finite/],
        [{ count: 5, bucketCounts: [1, 1], explicitBounds: [1] }, /count 5 differs from the sum of bucketCounts 2/],
        [{ count: -1 }, /count must not be negative/],
        [{ count: 1, bucketCounts: 'x' }, /bucketCounts must be an array/],
        [{ count: 1, bucketCounts: [1, 'a'], explicitBounds: [1] }, /bucketCounts\[1\] must be an integer/],
        [{ count: 1, sum: 'lots' }, /sum must be a number/],
      ];
      for (const [point, pattern] of cases) {
        const r = otlpToSamples(req([histogram('h', [point])]));
        assert.equal(r.samples.length, 0, String(pattern));
        assert.equal(r.rejectedDataPoints, 1);
        assert.match(r.errors[0].message, pattern);
      }
    });

    it('limits the number of buckets per point', () => {
      const n = MAX_BUCKETS_PER_POINT;
      const bounds = Array.from({ length: n }, (_, i) => i);
      const r = otlpToSamples(req([histogram('h', [{ count: 0, bucketCounts: new Array(n + 1).fill(0), explicitBounds: bounds }])]));
      assert.match(r.errors[0].message, new RegExp(`has ${n + 1} buckets; the limit is ${n}`));
    });

    it('rejects delta histograms', () => {
      const r = otlpToSamples(req([histogram('h', [{ count: 1 }, { count: 2 }], 1)]));
      assert.equal(r.samples.length, 0);
      assert.equal(r.rejectedDataPoints, 2);
      assert.match(r.errors[0].message, /delta aggregation temporality is not supported/);
    });
  });

  describe('exponential histogram', () => {
    it('converts a small histogram to the hand-computed classic buckets (scale 0)', () => {
      // base 2. Negative buckets (offset 0): #0 [-2,-1) ×4, #1 [-4,-2) ×5. Zero ×2.
      // Positive (offset 0): #0 (1,2] ×1, #1 (2,4] ×2, #2 (4,8] ×3.
      const r = otlpToSamples(req([expHistogram('e', [{
        count: '17', sum: 1, scale: 0, zeroCount: '2',
        positive: { offset: 0, bucketCounts: ['1', '2', '3'] },
        negative: { offset: 0, bucketCounts: ['4', '5'] },
      }])]));
      assert.deepEqual(r.samples.map((s) => [s.name, s.labels.le, s.value]), [
        ['e_bucket', '-2', 5],
        ['e_bucket', '-1', 9],
        ['e_bucket', '0', 11],
        ['e_bucket', '2', 12],
        ['e_bucket', '4', 14],
        ['e_bucket', '8', 17],
        ['e_bucket', '+Inf', 17],
        ['e_sum', undefined, 1],
        ['e_count', undefined, 17],
      ]);
      assert.ok(r.samples.every((s) => s.type === 'histogram' && s.family === 'e'));
    });

    it('uses the zero threshold as the zero bucket bound and handles negative and positive scales', () => {
      // scale -1: base 4. Positive offset 1: #1 (4,16] ×1, #2 (16,64] ×1. Zero bucket [-1e-9, 1e-9] ×3.
      const neg = otlpToSamples(req([expHistogram('e', [{
        count: 5, scale: -1, zeroCount: 3, zeroThreshold: 1e-9, positive: { offset: 1, bucketCounts: [1, 1] },
      }])]));
      assert.deepEqual(neg.samples.map((s) => [s.labels.le, s.value]), [
        ['1e-09', 3], ['16', 4], ['64', 5], ['+Inf', 5], [undefined, 5],
      ]);
      // scale 1: base √2. Positive offset -3: #-3 (2^-1.5, 0.5], #-2 (0.5, 2^-0.5], #-1 (2^-0.5, 1], #0 (1, √2].
      const pos = otlpToSamples(req([expHistogram('e', [{
        count: 10, scale: 1, positive: { offset: -3, bucketCounts: [1, 2, 3, 4] },
      }])]));
      const les = pos.samples.filter((s) => s.name === 'e_bucket').map((s) => s.labels.le);
      assert.deepEqual(les.slice(0, 2), ['0', '0.5']);
      assert.ok(Math.abs(Number(les[2]) - Math.SQRT1_2) < 1e-15, les[2]);
      assert.equal(les[3], '1');
      assert.ok(Math.abs(Number(les[4]) - Math.SQRT2) < 1e-15, les[4]);
      assert.equal(les[5], '+Inf');
      assert.deepEqual(pos.samples.map((s) => s.value), [0, 1, 3, 6, 10, 10, 10]);
    });

    it('matches brute-force counting of the raw values for many scales', () => {
      const rand = prng(42);
      for (const scale of [-3, -1, 0, 1, 2, 3, 5, 8]) {
        const spread = scale >= 6 ? 2 : 12; // keep the bucket count under MAX_BUCKETS_PER_POINT
        const perOctave = 2 ** scale;
        const zeroThreshold = scale === 2 ? 0.01 : 0;
        const values: number[] = [];
        for (let i = 0; i < 400; i++) {
          const magnitude = Math.exp((rand() - 0.5) * spread); // spread 12: about 0.0025 … 400
          values.push(rand() < 0.3 ? -magnitude : magnitude);
        }
        values.push(0, 0);
        // Build the OTLP point by mapping each value to its bucket index: base^i < |v| ≤ base^(i+1).
        const index = (v: number) => Math.ceil(Math.log2(v) * perOctave) - 1;
        const pos = new Map<number, number>();
        const neg = new Map<number, number>();
        let zero = 0;
        for (const v of values) {
          if (Math.abs(v) <= zeroThreshold) zero++;
          else (v > 0 ? pos : neg).set(index(Math.abs(v)), ((v > 0 ? pos : neg).get(index(Math.abs(v))) ?? 0) + 1);
        }
        const dense = (m: Map<number, number>) => {
          if (m.size === 0) return { offset: 0, bucketCounts: [] as number[] };
          const lo = Math.min(...m.keys());
          const hi = Math.max(...m.keys());
          return { offset: lo, bucketCounts: Array.from({ length: hi - lo + 1 }, (_, k) => m.get(lo + k) ?? 0) };
        };
        const r = otlpToSamples(req([expHistogram('x', [{
          count: values.length, sum: values.reduce((a, b) => a + b, 0), scale, zeroCount: zero, zeroThreshold,
          positive: dense(pos), negative: dense(neg),
        }])]));
        assert.deepEqual(r.errors, [], `scale ${scale}`);
        const buckets = r.samples.filter((s) => s.name === 'x_bucket');
        let previous = -Infinity;
        for (const b of buckets) {
          const le = b.labels.le === '+Inf' ? Infinity : Number(b.labels.le);
          assert.ok(le > previous, `scale ${scale}: le ${b.labels.le} not increasing`);
          previous = le;
          const expected = values.filter((v) => v <= le).length;
          assert.equal(b.value, expected, `scale ${scale}, le=${b.labels.le}`);
        }
        assert.equal(buckets.at(-1)!.labels.le, '+Inf');
        assert.equal(r.samples.find((s) => s.name === 'x_count')!.value, values.length);
      }
    });

    it('computes bucket bounds exactly on powers of two', () => {
      assert.equal(exponentialBound(0, 5), 1);
      assert.equal(exponentialBound(32, 5), 2);
      assert.equal(exponentialBound(-64, 5), 0.25);
      assert.equal(exponentialBound(3, 0), 8);
      assert.equal(exponentialBound(-2, -2), 2 ** -8); // base 16
      assert.equal(exponentialBound(1, 1), Math.SQRT2);
      assert.ok(Math.abs(exponentialBound(5, 3) - 2 ** (5 / 8)) < 1e-15);
      assert.equal(exponentialBound(100, -10), Infinity);
    });

    it('merges bounds that overflow or collide instead of emitting a broken histogram', () => {
      // scale -10: base 2^1024 overflows, so positive bucket 0's bound is +Inf (folded into +Inf).
      const r = otlpToSamples(req([expHistogram('e', [{ count: 3, scale: -10, zeroCount: 1, positive: { offset: 0, bucketCounts: [2] } }])]));
      assert.deepEqual(r.samples.map((s) => [s.labels.le, s.value]), [['0', 1], ['+Inf', 3], [undefined, 3]]);
      // A zero threshold wider than the first positive bucket: that bucket folds into the zero bucket.
      const wide = otlpToSamples(req([expHistogram('e', [{ count: 4, scale: 0, zeroCount: 1, zeroThreshold: 3, positive: { offset: 0, bucketCounts: [1, 1, 1] } }])]));
      // (1,2] holds values ≤ 3, so le="3" counts the zero bucket and that bucket: 2.
      assert.deepEqual(wide.samples.map((s) => [s.labels.le, s.value]), [['3', 2], ['4', 3], ['8', 4], ['+Inf', 4], [undefined, 4]]);
    });

    it('rejects inconsistent exponential histograms and delta temporality', () => {
      const cases: [J, RegExp][] = [
        [{ count: 5, zeroCount: 1, positive: { bucketCounts: [1] } }, /count 5 differs from zeroCount plus all bucketCounts \(2\)/],
        [{ count: 0, scale: 21 }, /scale 21 is outside -10\.\.20/],
        [{ count: 0, scale: 1.5 }, /scale must be an integer/],
        [{ count: 0, zeroThreshold: -1 }, /zeroThreshold must be a finite number/],
        [{ count: 0, zeroThreshold: 'Infinity' }, /zeroThreshold must be a finite number/],
        [{ count: 0, positive: [1] }, /positive must be an object/],
        [{ count: 0, negative: { offset: 'x' } }, /negative.offset must be an integer/],
        [{ count: 0, positive: { offset: 2 ** 31 } }, /does not fit in 32 bits/],
      ];
      for (const [point, pattern] of cases) {
        const r = otlpToSamples(req([expHistogram('e', [point])]));
        assert.equal(r.samples.length, 0, String(pattern));
        assert.match(r.errors[0].message, pattern);
      }
      const delta = otlpToSamples(req([expHistogram('e', [{ count: 0 }], 'AGGREGATION_TEMPORALITY_DELTA')]));
      assert.match(delta.errors[0].message, /delta/);
      assert.equal(delta.rejectedDataPoints, 1);
    });
  });

  describe('summary', () => {
    it('emits one series per quantile plus _sum and _count', () => {
      const r = otlpToSamples(req([{
        name: 'rpc.duration', description: 'RPC time', summary: { dataPoints: [{
          attributes: [sv('svc', 'a')], timeUnixNano: T, count: '4', sum: 10.5,
          quantileValues: [{ quantile: 0, value: 0.5 }, { quantile: 0.5, value: 2 }, { quantile: 0.99, value: 'NaN' }, { quantile: 1, value: 7 }],
        }] },
      }]));
      assert.deepEqual(table(r.samples), {
        'rpc_duration{quantile=0,svc=a}': 0.5,
        'rpc_duration{quantile=0.5,svc=a}': 2,
        'rpc_duration{quantile=0.99,svc=a}': NaN,
        'rpc_duration{quantile=1,svc=a}': 7,
        'rpc_duration_sum{svc=a}': 10.5,
        'rpc_duration_count{svc=a}': 4,
      });
      assert.ok(r.samples.every((s) => s.type === 'summary' && s.family === 'rpc_duration' && s.help === 'RPC time'));
    });

    it('defaults an absent sum and count to 0 and rejects bad quantiles', () => {
      assert.deepEqual(table(otlpToSamples(req([{ name: 's', summary: { dataPoints: [{}] } }])).samples), { s_sum: 0, s_count: 0 });
      for (const [qv, pattern] of [
        [[{ quantile: 1.5, value: 1 }], /quantile must be between 0 and 1, got 1.5/],
        [[{ quantile: 'NaN', value: 1 }], /between 0 and 1, got NaN/],
        ['x', /quantileValues must be an array/],
        [[null], /quantileValues\[0\] must be an object, got null/],
      ] as [unknown, RegExp][]) {
        const r = otlpToSamples(req([{ name: 's', summary: { dataPoints: [{ quantileValues: qv }] } }]));
        assert.equal(r.samples.length, 0);
        assert.match(r.errors[0].message, pattern);
      }
    });
  });

  describe('encodings', () => {
    it('gives the same samples for snake_case field names', () => {
      const body = req([
        gauge('g', [{ asDouble: 0, timeUnixNano: T, attributes: [{ key: 'k', value: { intValue: '5' } }] }]),
        sum('c', [{ asInt: '9', startTimeUnixNano: T }]),
        histogram('h', [{ count: '3', sum: 1, bucketCounts: ['1', '2'], explicitBounds: [0.5] }]),
        expHistogram('e', [{ count: '3', scale: 1, zeroCount: '1', zeroThreshold: 0.001, positive: { offset: 2, bucketCounts: ['2'] } }]),
        { name: 's', summary: { dataPoints: [{ count: '1', sum: 2, quantileValues: [{ quantile: 0.5, value: 2 }] }] } },
        gauge('a', [{ asDouble: 1, attributes: [{ key: 'arr', value: { arrayValue: { values: [{ kvlistValue: { values: [{ key: 'x', value: { bytesValue: 'AA==' } }] } }] } } }] }]),
      ], [sv('service.name', 'x')]);
      const camel = otlpToSamples(body);
      assert.deepEqual(camel.errors, []);
      // gauge 1, counter 1, histogram 4 (le 0.5, +Inf, sum, count), exponential 4 (zero bucket,
      // one positive bucket, +Inf, count: no sum given), summary 3, array-attribute gauge 1.
      assert.equal(camel.samples.length, 1 + 1 + 4 + 4 + 3 + 1);
      const snaked = snake(body) as J;
      assert.ok('resource_metrics' in snaked);
      assert.deepEqual(otlpToSamples(snaked), camel);
    });

    it('formats le and quantile values the way Prometheus writes floats', () => {
      const cases: [number, string][] = [
        [0, '0'], [-0, '0'], [1, '1'], [0.005, '0.005'], [0.1, '0.1'], [2.5, '2.5'], [100000, '100000'],
        [123456, '123456'], [1e6, '1e+06'], [1234567, '1.234567e+06'], [16777216, '1.6777216e+07'],
        [0.0001, '0.0001'], [0.00001, '1e-05'], [-2.5e-7, '-2.5e-07'], [1e21, '1e+21'], [1e100, '1e+100'],
        [5e-324, '5e-324'], [NaN, 'NaN'], [Infinity, '+Inf'], [-Infinity, '-Inf'], [-1.5, '-1.5'],
      ];
      for (const [v, text] of cases) {
        assert.equal(formatPromFloat(v), text, String(v));
        if (Number.isFinite(v)) assert.ok(Number(text) === v, `${text} must parse back`);
      }
    });
  });
});
