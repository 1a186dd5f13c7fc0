import assert from 'node:assert/strict';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { ValidationError } from '../../../src/model/names';
import {
  MAX_NESTING_DEPTH,
  ProtoReader,
  ProtobufDecodeError,
  decodeExportMetricsRequest,
  encodeExportMetricsResponse,
  exportMetricsResponseJson,
  int64ToDecimal,
  uint64ToDecimal,
} from '../../../src/formats/otlp/protobuf';
import {
  EGROUP,
  I64,
  LEN,
  SGROUP,
  VARINT,
  anyString,
  doubleBytes,
  fDouble,
  fFixed32,
  fFixed64,
  fLen,
  fSint32,
  fString,
  fVarint,
  fixed64Bytes,
  key,
  kv,
  msg,
  u8,
  varint,
} from './wire';

const reader = (bytes: number[]): ProtoReader => new ProtoReader(u8(bytes));

function assertDecodeError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProtobufDecodeError, `expected ProtobufDecodeError, got ${String(e)}`);
    assert.ok(e instanceof ValidationError, 'ProtobufDecodeError must be a ValidationError');
    assert.match(e.message, pattern);
    return true;
  });
}

/** Wraps metric bytes in ExportMetricsServiceRequest → ResourceMetrics → ScopeMetrics. */
function request(...metrics: number[][]): Uint8Array {
  return u8(fLen(1, fLen(2, msg(...metrics.map((m) => fLen(2, m))))));
}

function firstMetric(bytes: Uint8Array): Record<string, unknown> {
  const req = decodeExportMetricsRequest(bytes);
  return req.resourceMetrics![0].scopeMetrics![0].metrics![0] as Record<string, unknown>;
}

describe('otlp protobuf reader', () => {
  describe('varints', () => {
    const cases: [bigint, string][] = [
      [0n, '0'],
      [1n, '1'],
      [127n, '127'],
      [128n, '128'],
      [300n, '300'],
      [2n ** 31n - 1n, '2147483647'],
      [2n ** 32n - 1n, '4294967295'],
      [2n ** 32n, '4294967296'],
      [2n ** 35n + 5n, '34359738373'],
      [2n ** 53n - 1n, '9007199254740991'],
      [2n ** 53n, '9007199254740992'],
      [2n ** 53n + 1n, '9007199254740993'],
      [2n ** 63n, '9223372036854775808'],
      [2n ** 64n - 1n, '18446744073709551615'],
    ];
    for (const [value, text] of cases) {
      it(`reads uint64 ${text} exactly (${varint(value).length} bytes)`, () => {
        const r = reader(varint(value));
        assert.equal(r.uint64(), text);
        assert.equal(r.more(), false);
      });
    }

    it('reads negative int64 values written as 10-byte varints', () => {
      for (const v of [-1n, -2n, -(2n ** 31n), -(2n ** 53n), -(2n ** 53n) - 1n, -(2n ** 63n)]) {
        const bytes = varint(v);
        assert.equal(bytes.length, 10);
        assert.equal(reader(bytes).int64(), v.toString());
      }
      assert.equal(reader(varint(2n ** 63n - 1n)).int64(), '9223372036854775807');
    });

    it('reads int32 (sign-extended) and truncates uint32 like protobuf', () => {
      assert.equal(reader(varint(-5)).int32(), -5);
      assert.equal(reader(varint(-(2 ** 31))).int32(), -(2 ** 31));
      assert.equal(reader(varint(2n ** 32n + 7n)).uint32(), 7);
    });

    it('decodes zigzag sint32', () => {
      const cases: [number, number][] = [[0, 0], [1, -1], [2, 1], [3, -2], [4294967294, 2147483647], [4294967295, -2147483648]];
      for (const [raw, value] of cases) assert.equal(reader(varint(raw)).sint32(), value, `zigzag ${raw}`);
    });

    it('rejects truncated, over-long and overflowing varints', () => {
      assertDecodeError(() => reader([0x80]).uint64(), /byte 0: truncated varint/);
      assertDecodeError(() => reader([0xff, 0xff, 0xff]).uint32(), /truncated varint/);
      assertDecodeError(() => reader([...Array(10).fill(0xff), 0x01]).uint64(), /does not fit in 64 bits/);
      assertDecodeError(() => reader([...Array(9).fill(0xff), 0x02]).uint64(), /does not fit in 64 bits/);
    });

    it('converts 64-bit halves to decimal without precision loss', () => {
      assert.equal(uint64ToDecimal(0xffffffff, 0x1fffff), '9007199254740991');
      assert.equal(uint64ToDecimal(1, 0x200000), '9007199254740993');
      assert.equal(int64ToDecimal(0xffffffff, 0xffffffff), '-1');
      assert.equal(int64ToDecimal(0, 0xffe00000), '-9007199254740992');
      assert.equal(int64ToDecimal(0xffffffff, 0xffdfffff), '-9007199254740993');
      assert.equal(int64ToDecimal(0, 0x80000000), '-9223372036854775808');
    });
  });

  describe('fixed-width values', () => {
    it('reads fixed64 and sfixed64 as exact decimals', () => {
      assert.equal(reader(fixed64Bytes(2n ** 64n - 1n)).fixed64Decimal(), '18446744073709551615');
      assert.equal(reader(fixed64Bytes(1700000000123456789n)).fixed64Decimal(), '1700000000123456789');
      assert.equal(reader(fixed64Bytes(-1n)).sfixed64Decimal(), '-1');
      assert.equal(reader(fixed64Bytes(-(2n ** 63n))).sfixed64Decimal(), '-9223372036854775808');
      assert.equal(reader(fixed64Bytes(42n)).sfixed64Decimal(), '42');
    });

    it('reads doubles including NaN, infinities and negative zero', () => {
      assert.ok(Number.isNaN(reader(doubleBytes(NaN)).double()));
      assert.equal(reader(doubleBytes(Infinity)).double(), Infinity);
      assert.equal(reader(doubleBytes(-Infinity)).double(), -Infinity);
      assert.ok(Object.is(reader(doubleBytes(-0)).double(), -0));
      assert.equal(reader(doubleBytes(0.1)).double(), 0.1);
    });

    it('reads fixed32, sfixed32 and float', () => {
      const b = Buffer.alloc(12);
      b.writeUInt32LE(0xfffffffe, 0);
      b.writeInt32LE(-3, 4);
      b.writeFloatLE(1.5, 8);
      const r = new ProtoReader(b);
      assert.equal(r.fixed32(), 0xfffffffe);
      assert.equal(r.sfixed32(), -3);
      assert.equal(r.float(), 1.5);
    });

    it('rejects truncated fixed-width values', () => {
      assertDecodeError(() => reader([1, 2, 3]).double(), /need 8 bytes, 3 left/);
      assertDecodeError(() => reader([1, 2, 3]).fixed32(), /need 4 bytes, 3 left/);
    });
  });

  describe('keys, lengths and skipping', () => {
    it('rejects field number 0 and wire types 6 and 7', () => {
      assertDecodeError(() => reader([0x02]).tag(), /field number 0/);
      assertDecodeError(() => reader([(1 << 3) | 6]).tag(), /wire type 6/);
      assertDecodeError(() => reader([(1 << 3) | 7]).tag(), /wire type 7/);
    });

    it('rejects a length that runs past the end of the enclosing message', () => {
      assertDecodeError(() => reader([5, 1, 2]).string(), /length 5 runs past the end \(2 bytes left\)/);
      // A nested message whose inner length exceeds the outer one.
      assertDecodeError(() => decodeExportMetricsRequest(u8(msg(key(1, LEN), [3], key(2, LEN), [9], [0]))), /runs past the end/);
    });

    it('skips every wire type, including nested groups', () => {
      const unknown = msg(
        fVarint(100, 2n ** 64n - 1n),
        fFixed64(101, 7),
        fLen(102, [1, 2, 3]),
        fFixed32(103, 9),
        key(104, SGROUP), fVarint(1, 1), key(5, SGROUP), fString(2, 'x'), key(5, EGROUP), key(104, EGROUP),
      );
      const r = reader(msg(unknown, fVarint(1, 77)));
      for (;;) {
        const tag = r.tag();
        if (tag === ((1 << 3) | VARINT)) break;
        r.skip(tag);
      }
      assert.equal(r.uint32(), 77);
      assert.equal(r.more(), false);
    });

    it('rejects unbalanced groups', () => {
      assertDecodeError(() => decodeExportMetricsRequest(u8(msg(key(9, SGROUP), fVarint(1, 1)))), /group 9 is not closed/);
      assertDecodeError(() => decodeExportMetricsRequest(u8(msg(key(9, SGROUP), key(8, EGROUP)))), /group 9 closed as 8/);
      assertDecodeError(() => decodeExportMetricsRequest(u8(key(9, EGROUP))), /unexpected end of group 9/);
    });

    it('decodes UTF-8 strings and replaces invalid sequences', () => {
      const utf8 = [...Buffer.from('hé€', 'utf8')]; // 68 c3a9 e282ac
      assert.equal(reader(msg([6], utf8)).string(), 'hé€');
      assert.equal(reader(msg([4], utf8.slice(0, 4))).string(), 'hé\ufffd'); // € cut short
    });
  });

  describe('decodeExportMetricsRequest', () => {
    it('decodes an empty body as an empty request', () => {
      assert.deepEqual(decodeExportMetricsRequest(new Uint8Array(0)), {});
    });

    it('decodes every metric type into the OTLP/JSON shape', () => {
      const attrs = (field: number) =>
        msg(
          fLen(field, kv('s', anyString('v'))),
          fLen(field, kv('b', fVarint(2, 1))),
          fLen(field, kv('i', fVarint(3, -7))),
          fLen(field, kv('d', fDouble(4, 2.5))),
          fLen(field, kv('a', fLen(5, msg(fLen(1, anyString('x')), fLen(1, fVarint(3, 2n ** 62n)))))),
          fLen(field, kv('k', fLen(6, fLen(1, kv('n', fVarint(2, 0)))))),
          fLen(field, kv('y', fLen(7, [0xde, 0xad, 0xbe, 0xef]))),
        );
      const resource = fLen(1, msg(fLen(1, kv('service.name', anyString('svc'))), fVarint(2, 3)));
      const scope = fLen(1, msg(fString(1, 'lib'), fString(2, '1.2.3'), fLen(3, kv('sa', anyString('sv')))));
      const time = 1700000000123456789n;
      const gauge = msg(fString(1, 'g'), fString(2, 'help'), fString(3, 'By'),
        fLen(5, fLen(1, msg(attrs(7), fFixed64(2, time - 1000n), fFixed64(3, time), fDouble(4, 0), fVarint(8, 1)))));
      const sum = msg(fString(1, 'c'),
        fLen(7, msg(fLen(1, msg(fFixed64(3, time), fFixed64(6, -42n))), fVarint(2, 2), fVarint(3, 1))));
      const histogram = msg(fString(1, 'h'),
        fLen(9, msg(fLen(1, msg(
          fFixed64(3, time), fFixed64(4, 6), fDouble(5, 12.5),
          fLen(6, msg(fixed64Bytes(1), fixed64Bytes(2), fixed64Bytes(3))),
          fLen(7, msg(doubleBytes(1), doubleBytes(5))),
          fVarint(10, 0), fDouble(11, 0.5), fDouble(12, 9),
        )), fVarint(2, 2))));
      const expo = msg(fString(1, 'e'),
        fLen(10, msg(fLen(1, msg(
          fFixed64(3, time), fFixed64(4, 5), fDouble(5, 3), fSint32(6, -2), fFixed64(7, 1),
          fLen(8, msg(fSint32(1, -3), fLen(2, msg(varint(1), varint(2))))),
          fLen(9, msg(fSint32(1, 4), fLen(2, varint(1)))),
          fDouble(14, 0.001),
        )), fVarint(2, 2))));
      const summary = msg(fString(1, 's'),
        fLen(11, fLen(1, msg(fFixed64(3, time), fFixed64(4, 3), fDouble(5, 7.5),
          fLen(6, msg(fDouble(1, 0.5), fDouble(2, 2))), fLen(6, msg(fDouble(1, 0.99), fDouble(2, 4))), fVarint(8, 0)))));
      const bytes = u8(fLen(1, msg(resource, fLen(2, msg(scope, ...[gauge, sum, histogram, expo, summary].map((m) => fLen(2, m)), fString(3, 'scope-schema'))), fString(3, 'res-schema'))));

      const t = time.toString();
      assert.deepEqual(decodeExportMetricsRequest(bytes), {
        resourceMetrics: [{
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }], droppedAttributesCount: 3 },
          scopeMetrics: [{
            scope: { name: 'lib', version: '1.2.3', attributes: [{ key: 'sa', value: { stringValue: 'sv' } }] },
            metrics: [
              {
                name: 'g', description: 'help', unit: 'By',
                gauge: { dataPoints: [{
                  attributes: [
                    { key: 's', value: { stringValue: 'v' } },
                    { key: 'b', value: { boolValue: true } },
                    { key: 'i', value: { intValue: '-7' } },
                    { key: 'd', value: { doubleValue: 2.5 } },
                    { key: 'a', value: { arrayValue: { values: [{ stringValue: 'x' }, { intValue: '4611686018427387904' }] } } },
                    { key: 'k', value: { kvlistValue: { values: [{ key: 'n', value: { boolValue: false } }] } } },
                    { key: 'y', value: { bytesValue: '3q2+7w==' } },
                  ],
                  startTimeUnixNano: '1700000000123455789', timeUnixNano: t, asDouble: 0, flags: 1,
                }] },
              },
              {
                name: 'c',
                sum: { dataPoints: [{ timeUnixNano: t, asInt: '-42' }], aggregationTemporality: 2, isMonotonic: true },
              },
              {
                name: 'h',
                histogram: {
                  dataPoints: [{
                    timeUnixNano: t, count: '6', sum: 12.5, bucketCounts: ['1', '2', '3'], explicitBounds: [1, 5],
                    flags: 0, min: 0.5, max: 9,
                  }],
                  aggregationTemporality: 2,
                },
              },
              {
                name: 'e',
                exponentialHistogram: {
                  dataPoints: [{
                    timeUnixNano: t, count: '5', sum: 3, scale: -2, zeroCount: '1',
                    positive: { offset: -3, bucketCounts: ['1', '2'] },
                    negative: { offset: 4, bucketCounts: ['1'] },
                    zeroThreshold: 0.001,
                  }],
                  aggregationTemporality: 2,
                },
              },
              {
                name: 's',
                summary: { dataPoints: [{
                  timeUnixNano: t, count: '3', sum: 7.5,
                  quantileValues: [{ quantile: 0.5, value: 2 }, { quantile: 0.99, value: 4 }], flags: 0,
                }] },
              },
            ],
            schemaUrl: 'scope-schema',
          }],
          schemaUrl: 'res-schema',
        }],
      });
    });

    it('accepts repeated scalars both packed and unpacked, mixed', () => {
      const point = msg(
        fFixed64(6, 1), fLen(6, msg(fixed64Bytes(2), fixed64Bytes(2n ** 60n))), fFixed64(6, 4),
        fDouble(7, 0.5), fLen(7, doubleBytes(1.5)),
        fFixed64(4, 7),
      );
      const h = firstMetric(request(msg(fString(1, 'h'), fLen(9, fLen(1, point))))).histogram as Record<string, unknown[]>;
      assert.deepEqual(h.dataPoints[0], { bucketCounts: ['1', '2', '1152921504606846976', '4'], explicitBounds: [0.5, 1.5], count: '7' });

      const buckets = msg(fVarint(2, 5), fLen(2, msg(varint(6), varint(2n ** 64n - 1n))), fVarint(2, 8));
      const e = firstMetric(request(msg(fString(1, 'e'), fLen(10, fLen(1, fLen(8, buckets)))))).exponentialHistogram as Record<string, unknown[]>;
      assert.deepEqual(e.dataPoints[0], { positive: { bucketCounts: ['5', '6', '18446744073709551615', '8'] } });
    });

    it('rejects packed fixed-width data whose length is not a multiple of 8', () => {
      assertDecodeError(() => decodeExportMetricsRequest(request(msg(fString(1, 'h'), fLen(9, fLen(1, fLen(6, [1, 2, 3])))))), /not a multiple of 8/);
    });

    it('skips unknown fields and known fields with the wrong wire type', () => {
      const metric = msg(
        fVarint(1, 5), // name with wire type varint: not a name
        fString(1, 'real'),
        fVarint(99, 1), fFixed32(98, 1), fFixed64(97, 1), fLen(96, [1, 2]),
        fLen(5, msg(fLen(1, msg(fDouble(4, 3), fFixed64(77, 1), fVarint(3, 9))), fString(50, 'x'))),
      );
      const m = firstMetric(request(metric));
      assert.deepEqual(m, { name: 'real', gauge: { dataPoints: [{ asDouble: 3 }] } });
    });

    it('applies oneof and merge rules like a generated parser', () => {
      // Metric.data: a later member replaces an earlier one.
      const m1 = firstMetric(request(msg(fString(1, 'x'), fLen(5, fLen(1, fDouble(4, 1))), fLen(7, fLen(1, fDouble(4, 2))))));
      assert.deepEqual(Object.keys(m1).sort(), ['name', 'sum']);
      // The same singular message field twice is merged.
      const m2 = firstMetric(request(msg(fString(1, 'x'), fLen(5, fLen(1, fDouble(4, 1))), fLen(5, fLen(1, fDouble(4, 2))))));
      assert.deepEqual(m2, { name: 'x', gauge: { dataPoints: [{ asDouble: 1 }, { asDouble: 2 }] } });
      // NumberDataPoint.value: asInt after asDouble wins.
      const m3 = firstMetric(request(msg(fString(1, 'x'), fLen(5, fLen(1, msg(fDouble(4, 1), fFixed64(6, 5)))))));
      assert.deepEqual(m3, { name: 'x', gauge: { dataPoints: [{ asInt: '5' }] } });
      // AnyValue: the last member wins; last scalar occurrence wins.
      const m4 = firstMetric(request(msg(fString(1, 'x'), fString(1, 'y'), fLen(5, fLen(1, fLen(7, kv('k', msg(anyString('s'), fVarint(2, 1)))))))));
      assert.deepEqual(m4, { name: 'y', gauge: { dataPoints: [{ attributes: [{ key: 'k', value: { boolValue: true } }] }] } });
      // Two resource fields merge their attributes.
      const req = decodeExportMetricsRequest(u8(fLen(1, msg(fLen(1, fLen(1, kv('a', anyString('1')))), fLen(1, fLen(1, kv('b', anyString('2'))))))));
      assert.deepEqual(req.resourceMetrics![0].resource!.attributes!.map((a) => a.key), ['a', 'b']);
    });

    it('rejects attribute values nested too deeply instead of overflowing the stack', () => {
      let value = anyString('leaf');
      for (let i = 0; i < MAX_NESTING_DEPTH + 2; i++) value = fLen(5, fLen(1, value));
      assertDecodeError(() => decodeExportMetricsRequest(request(msg(fString(1, 'x'), fLen(5, fLen(1, fLen(7, kv('k', value))))))), /nested more than 32/);
      let ok = anyString('leaf');
      for (let i = 0; i < MAX_NESTING_DEPTH - 2; i++) ok = fLen(5, fLen(1, ok));
      assert.doesNotThrow(() => decodeExportMetricsRequest(request(msg(fString(1, 'x'), fLen(5, fLen(1, fLen(7, kv('k', ok))))))));
    });

    it('reads a view into a larger buffer at its own offset', () => {
      const body = request(msg(fString(1, 'offset'), fLen(5, fLen(1, fDouble(4, 9)))));
      const big = new Uint8Array(body.length + 13);
      big.fill(0xff);
      big.set(body, 7);
      const view = big.subarray(7, 7 + body.length);
      assert.deepEqual(firstMetric(view), { name: 'offset', gauge: { dataPoints: [{ asDouble: 9 }] } });
    });

    it('reports the absolute byte offset of a problem', () => {
      // gauge { data_points { as_double: <missing 8 bytes> } }: fails right after the last byte.
      const bytes = u8(msg(fLen(1, fLen(2, fLen(2, msg(fString(1, 'x'), [(5 << 3) | LEN, 3, (1 << 3) | LEN, 1, (4 << 3) | I64]))))));
      assert.throws(() => decodeExportMetricsRequest(bytes), (e: unknown) => {
        assert.ok(e instanceof ProtobufDecodeError);
        assert.match(e.message, /need 8 bytes, 0 left/);
        assert.equal(e.offset, bytes.length);
        return true;
      });
    });

    it('throws only ProtobufDecodeError for every truncation of a valid message', () => {
      const full = request(
        msg(fString(1, 'metric.name'), fLen(5, fLen(1, msg(fLen(7, kv('k', anyString('v'))), fFixed64(3, 1700000000000000000n), fDouble(4, 1))))),
        msg(fString(1, 'h'), fLen(9, fLen(1, msg(fFixed64(4, 1), fLen(6, fixed64Bytes(1)))))),
      );
      let failures = 0;
      for (let n = 0; n < full.length; n++) {
        try {
          decodeExportMetricsRequest(full.subarray(0, n));
        } catch (e) {
          assert.ok(e instanceof ProtobufDecodeError, `prefix ${n}: ${String(e)}`);
          failures++;
        }
      }
      assert.ok(failures > full.length / 2, `most prefixes must fail, ${failures} did`);
    });
  });

  describe('encodeExportMetricsResponse', () => {
    it('encodes full success as the empty message', () => {
      assert.equal(encodeExportMetricsResponse({ rejectedDataPoints: 0, errorMessage: '' }).length, 0);
      assert.deepEqual(exportMetricsResponseJson({ rejectedDataPoints: 0, errorMessage: '' }), {});
    });

    it('encodes partial success that the OpenTelemetry SDK reads back', () => {
      const bytes = encodeExportMetricsResponse({ rejectedDataPoints: 3, errorMessage: 'metric "x": délta' });
      assert.deepEqual(ProtobufMetricsSerializer.deserializeResponse(bytes), {
        partialSuccess: { rejectedDataPoints: 3, errorMessage: 'metric "x": délta' },
      });
      // And field by field with our reader: partial_success(1) { rejected_data_points(1), error_message(2) }.
      const r = new ProtoReader(bytes);
      assert.equal(r.tag(), (1 << 3) | LEN);
      const saved = r.enter();
      assert.equal(r.tag(), (1 << 3) | VARINT);
      assert.equal(r.int64(), '3');
      assert.equal(r.tag(), (2 << 3) | LEN);
      assert.equal(r.string(), 'metric "x": délta');
      r.leave(saved);
      assert.equal(r.more(), false);
    });

    it('encodes large counts, warnings without rejections, and rejections without a message', () => {
      const big = new ProtoReader(encodeExportMetricsResponse({ rejectedDataPoints: 2 ** 40 + 1, errorMessage: '' }));
      big.tag();
      big.enter();
      assert.equal(big.tag(), (1 << 3) | VARINT);
      assert.equal(big.int64(), String(2 ** 40 + 1));
      assert.equal(big.more(), false);
      assert.deepEqual(ProtobufMetricsSerializer.deserializeResponse(encodeExportMetricsResponse({ rejectedDataPoints: 0, errorMessage: 'note' })), {
        partialSuccess: { errorMessage: 'note' },
      });
      assert.deepEqual(exportMetricsResponseJson({ rejectedDataPoints: 5, errorMessage: 'bad' }), {
        partialSuccess: { rejectedDataPoints: '5', errorMessage: 'bad' },
      });
    });

    it('refuses a negative or fractional count', () => {
      assert.throws(() => encodeExportMetricsResponse({ rejectedDataPoints: -1, errorMessage: '' }), RangeError);
      assert.throws(() => encodeExportMetricsResponse({ rejectedDataPoints: 1.5, errorMessage: '' }), RangeError);
    });
  });
});
