/**
 * Seeded mutation fuzzing: whatever the JSON or protobuf input, decoding and conversion either
 * succeed with well-formed output or throw a ValidationError. A failure prints the seed and input.
 */

import assert from 'node:assert/strict';
import { ValidationError } from '../../../src/model/names';
import { METRIC_TYPES, type Sample } from '../../../src/model/sample';
import { MAX_ERROR_MESSAGES, otlpToSamples, type OtlpConversion } from '../../../src/formats/otlp/convert';
import { ProtobufDecodeError, decodeExportMetricsRequest } from '../../../src/formats/otlp/protobuf';
import { anyString, doubleBytes, fDouble, fFixed64, fLen, fSint32, fString, fVarint, fixed64Bytes, kv, msg, u8, varint } from './wire';
import { prng } from '../../helpers/prng';


const T = '1700000000000000000';
const BASE = {
  resourceMetrics: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }, { key: 'telemetry.sdk.name', value: { stringValue: 'x' } }] },
    scopeMetrics: [{
      scope: { name: 'lib', attributes: [] },
      metrics: [
        { name: 'g', description: 'd', unit: 'u', gauge: { dataPoints: [{ asDouble: 0, timeUnixNano: T, attributes: [{ key: 'a', value: { intValue: '5' } }] }] } },
        { name: 'c', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ asInt: '7', timeUnixNano: T, flags: 0 }] } },
        { name: 'h', histogram: { aggregationTemporality: 2, dataPoints: [{ count: '3', sum: 1.5, bucketCounts: ['1', '1', '1'], explicitBounds: [0.1, 1] }] } },
        { name: 'e', exponentialHistogram: { aggregationTemporality: 2, dataPoints: [{ count: '4', scale: 2, zeroCount: '1', zeroThreshold: 0, positive: { offset: 1, bucketCounts: ['1', '1'] }, negative: { offset: 0, bucketCounts: ['1'] } }] } },
        { name: 's', summary: { dataPoints: [{ count: '2', sum: 3, quantileValues: [{ quantile: 0.5, value: 1 }, { quantile: 1, value: 2 }] }] } },
        { name: 'k', gauge: { dataPoints: [{ asDouble: 1, attributes: [{ key: 'l', value: { arrayValue: { values: [{ kvlistValue: { values: [{ key: 'x', value: { boolValue: true } }] } }] } } }] }] } },
      ],
    }],
  }],
};

const JUNK: unknown[] = [
  null, 0, -1, 1.5, -0, 1e308, 2 ** 64, '', 'x', 'NaN', '-Infinity', '18446744073709551616', '-9223372036854775809',
  '1e400', '00', true, false, [], {}, [null], [[[]]], { value: null }, { stringValue: 5 }, { intValue: 'x' },
  { arrayValue: { values: 'x' } }, 'a'.repeat(3000), JSON.parse('{"__proto__": {"polluted": 1}}'),
  { dataPoints: [{}] }, [{ key: '__proto__', value: { stringValue: 'p' } }], { key: 'constructor', value: { stringValue: 'c' } },
];

type Slot = [container: Record<string, unknown> | unknown[], key: string | number];

function slots(root: unknown): Slot[] {
  const out: Slot[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth > 40 || typeof v !== 'object' || v === null) return;
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        out.push([v, i]);
        walk(x, depth + 1);
      });
    } else {
      for (const k of Object.keys(v)) {
        out.push([v as Record<string, unknown>, k]);
        walk((v as Record<string, unknown>)[k], depth + 1);
      }
    }
  };
  walk(root, 0);
  return out;
}

function mutate(root: unknown, rand: () => number): unknown {
  const all = slots(root);
  if (all.length === 0 || rand() < 0.02) return JUNK[Math.floor(rand() * JUNK.length)];
  const [container, key] = all[Math.floor(rand() * all.length)];
  const get = () => (container as Record<string | number, unknown>)[key];
  const set = (v: unknown) => {
    (container as Record<string | number, unknown>)[key] = v;
  };
  switch (Math.floor(rand() * 7)) {
    case 0:
    case 1:
      set(structuredClone(JUNK[Math.floor(rand() * JUNK.length)]));
      break;
    case 2: // delete
      if (Array.isArray(container)) container.splice(key as number, 1);
      else delete container[key as string];
      break;
    case 3: // rename to snake_case or something unknown
      if (!Array.isArray(container)) {
        const v = get();
        delete container[key as string];
        const k = key as string;
        container[rand() < 0.5 ? k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()) : k + 'X'] = v;
      }
      break;
    case 4: // wrap in an array
      set([get()]);
      break;
    case 5: // duplicate an array element / copy a sibling value
      if (Array.isArray(container)) container.push(structuredClone(get()));
      else set(structuredClone(all[Math.floor(rand() * all.length)][0]));
      break;
    default: // numbers ↔ strings
      {
        const v = get();
        if (typeof v === 'number') set(String(v));
        else if (typeof v === 'string' && v !== '' && !Number.isNaN(Number(v))) set(Number(v));
        else set(null);
      }
  }
  return root;
}

function checkResult(r: OtlpConversion): void {
  assert.ok(Number.isSafeInteger(r.rejectedDataPoints) && r.rejectedDataPoints >= 0);
  assert.ok(r.errors.length <= MAX_ERROR_MESSAGES + 1);
  for (const e of r.errors) assert.ok(e.line === 0 && typeof e.message === 'string' && e.message.length > 0);
  for (const s of r.samples) checkSample(s);
}

function checkSample(s: Sample): void {
  assert.match(s.name, /^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
  assert.equal(typeof s.value, 'number');
  assert.ok(METRIC_TYPES.includes(s.type));
  assert.equal(Object.getPrototypeOf(s.labels), Object.prototype);
  const names = Object.keys(s.labels);
  assert.ok(names.length <= 64);
  for (const k of names) {
    assert.match(k, /^[a-zA-Z_][a-zA-Z0-9_]*$/);
    assert.ok(!k.startsWith('__'));
    assert.equal(typeof s.labels[k], 'string');
    assert.notEqual(s.labels[k], '');
  }
  if (s.timestampMs !== undefined) assert.ok(Number.isFinite(s.timestampMs));
}

function runOne(input: unknown, context: string): void {
  let r: OtlpConversion;
  try {
    r = otlpToSamples(input);
  } catch (e) {
    if (e instanceof ValidationError) return;
    throw new Error(`${context}: threw ${String(e)}\ninput: ${JSON.stringify(input)?.slice(0, 2000)}`);
  }
  try {
    checkResult(r);
  } catch (e) {
    throw new Error(`${context}: bad output ${String(e)}\ninput: ${JSON.stringify(input)?.slice(0, 2000)}`);
  }
}

describe('otlp fuzzing', () => {
  it('the unmutated base request converts cleanly', () => {
    const r = otlpToSamples(structuredClone(BASE));
    assert.deepEqual(r.errors, []);
    // e: le -1, le 0, two positive buckets, +Inf, count (no sum) = 6.
    assert.equal(r.samples.length, 1 + 1 + 5 + 6 + 4 + 1);
    checkResult(r);
  });

  it('never throws anything but ValidationError on mutated JSON (seeded)', () => {
    let accepted = 0;
    let rejected = 0;
    let thrown = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const rand = prng(seed);
      let input: unknown = structuredClone(BASE);
      const rounds = 1 + Math.floor(rand() * 4);
      for (let i = 0; i < rounds; i++) input = mutate(input, rand);
      // Round-trip through JSON text half the time, as the HTTP layer would.
      if (rand() < 0.5) {
        const text = JSON.stringify(input);
        input = text === undefined ? undefined : JSON.parse(text);
      }
      try {
        const r = otlpToSamples(input);
        if (r.rejectedDataPoints > 0 || r.errors.length > 0) rejected++;
        else accepted++;
      } catch {
        thrown++;
      }
      runOne(input, `seed ${seed}`);
    }
    // The fuzzer must exercise all three outcomes, or it is not testing much.
    assert.ok(accepted > 100 && rejected > 100 && thrown > 10, `${accepted} ok, ${rejected} partial, ${thrown} thrown`);
  });

  it('never throws anything but ProtobufDecodeError on mutated protobuf, and converts what decodes', () => {
    const point = msg(fLen(7, kv('k', anyString('v'))), fFixed64(3, 1700000000000000000n), fDouble(4, 2));
    const metrics = [
      msg(fString(1, 'g'), fString(2, 'help'), fLen(5, fLen(1, point))),
      msg(fString(1, 'c'), fLen(7, msg(fLen(1, msg(fFixed64(3, 1n), fFixed64(6, -5n))), fVarint(2, 2), fVarint(3, 1)))),
      msg(fString(1, 'h'), fLen(9, msg(fLen(1, msg(fFixed64(4, 2), fDouble(5, 1), fLen(6, msg(fixed64Bytes(1), fixed64Bytes(1))), fLen(7, doubleBytes(0.5)))), fVarint(2, 2)))),
      msg(fString(1, 'e'), fLen(10, msg(fLen(1, msg(fFixed64(4, 2), fSint32(6, 3), fFixed64(7, 1), fLen(8, msg(fSint32(1, -2), fLen(2, varint(1)))))), fVarint(2, 2)))),
      msg(fString(1, 's'), fLen(11, fLen(1, msg(fFixed64(4, 1), fDouble(5, 2), fLen(6, msg(fDouble(1, 0.5), fDouble(2, 2))))))),
    ];
    const base = u8(fLen(1, msg(fLen(1, fLen(1, kv('service.name', anyString('svc')))), fLen(2, msg(...metrics.map((m) => fLen(2, m)))))));
    const ok = otlpToSamples(decodeExportMetricsRequest(base));
    assert.deepEqual(ok.errors, []);
    assert.equal(ok.samples.length, 1 + 1 + 4 + 4 + 3);

    let decoded = 0;
    let failed = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const rand = prng(seed);
      let bytes = Array.from(base);
      const rounds = 1 + Math.floor(rand() * 3);
      for (let i = 0; i < rounds; i++) {
        const at = Math.floor(rand() * bytes.length);
        switch (Math.floor(rand() * 4)) {
          case 0: bytes[at] = Math.floor(rand() * 256); break;
          case 1: bytes[at] ^= 1 << Math.floor(rand() * 8); break;
          case 2: bytes.splice(at, 1); break;
          default: bytes = bytes.slice(0, at); break;
        }
      }
      let req;
      try {
        req = decodeExportMetricsRequest(Uint8Array.from(bytes));
        decoded++;
      } catch (e) {
        if (!(e instanceof ProtobufDecodeError)) throw new Error(`seed ${seed}: decoder threw ${String(e)}`);
        failed++;
        continue;
      }
      // Decoded requests always have the right top-level shape, so conversion must not throw.
      let r: OtlpConversion;
      try {
        r = otlpToSamples(req);
      } catch (e) {
        throw new Error(`seed ${seed}: conversion threw ${String(e)} for ${JSON.stringify(req)}`);
      }
      checkResult(r);
    }
    assert.ok(decoded > 100 && failed > 100, `${decoded} decoded, ${failed} failed`);
  });
});
