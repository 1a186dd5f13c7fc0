/**
 * Property tests (fast-check): encode then parse gives back what was encoded, for line protocol,
 * Prometheus text and remote write (with its snappy framing), over generated names, label values
 * with escapes and unicode, and every kind of double (NaN, ±Inf, -0, subnormals, extremes).
 *
 * Each property runs a fixed number of cases from a fixed seed, so a failure replays; fast-check
 * prints the shrunk counterexample.
 */

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeLineProtocol, type LineFieldValue } from '../../src/formats/influx/encode';
import { parseLineProtocol } from '../../src/formats/influx/parse';
import { encodeText, type ExpoFamily } from '../../src/formats/prometheus/encode';
import { parsePrometheusText } from '../../src/formats/prometheus/parse';
import { fieldSeriesName, sanitizeLabelName } from '../../src/model/names';
import type { Labels } from '../../src/model/sample';
import { seriesKey } from '../../src/model/series-key';
import { snappyCompress } from '../../src/sinks/remote-write/snappy';
import { encodeLabels, encodeWriteRequest } from '../../src/sinks/remote-write/write-request';
import { decodeWriteRequest, snappyDecompress } from '../sinks/decoders';

const RUNS = { numRuns: 300, seed: 0x11 };

/** Doubles with the edge cases made likely: fc.double() alone rarely hits them exactly. */
const anyDouble = fc.oneof(
  { weight: 3, arbitrary: fc.double() },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      NaN, Infinity, -Infinity, 0, -0, 5e-324, -5e-324, 2.2250738585072009e-308, 2.2250738585072014e-308,
      Number.MAX_VALUE, -Number.MAX_VALUE, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 0.1, 1e21, 1e-7, 123456789.123456789,
    ),
  },
);

/** Same double, NaN included, -0 told apart from 0. */
function sameDouble(a: number, b: number): boolean {
  return Object.is(a, b);
}

/** Strings with the characters every format escapes somewhere, plus unicode of 1–4 UTF-8 bytes. */
const tricky = (chars: string[], maxLength: number) =>
  fc.array(fc.oneof(fc.constantFrom(...chars), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })), { minLength: 1, maxLength }).map((a) => a.join(''));

const CONTROL = /[\u0000-\u001f\u007f]/;

describe('encode ∘ parse is identity (fast-check)', () => {
  describe('line protocol', () => {
    // Names may hold the separators (escaped by the encoder) and unicode; no backslash, which the
    // encoder rewrites in some positions on purpose (see encode.ts), and no control characters,
    // which line protocol cannot carry in names.
    const nameChars = ['a', 'z', 'Q', '_', '0', '9', ' ', ',', '=', '.', '-', '"', '#', 'é', '😀'];
    const name = tricky(nameChars, 12).filter((s) => !CONTROL.test(s) && !s.startsWith('#'));
    // Tag values also get backslashes (and escape-looking pairs), except the two placements the
    // encoder changes on purpose: at the very end and right before a quote.
    const tagValue = tricky([...nameChars, '\\', '\\,', '\\ ', '\\=', '\\\\', 'n'], 16).filter(
      (s) => !CONTROL.test(s) && !s.endsWith('\\') && !s.includes('\\"') && Buffer.byteLength(s) <= 2048,
    );
    const point = fc.record({
      measurement: name,
      tags: fc.dictionary(name, tagValue, { maxKeys: 5 }),
      fields: fc.dictionary(name, fc.oneof(anyDouble, fc.maxSafeInteger().map((n) => ({ int: n })), fc.boolean(), tagValue), { minKeys: 1, maxKeys: 5 }),
      timestampNs: fc.option(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { nil: undefined }),
    });

    it('gives back every representable field exactly, with the tags as labels and the exact timestamp', () => {
      fc.assert(
        fc.property(point, (p) => {
          // Our own naming rules must keep the generated keys apart, or the parser rightly merges
          // (fields) or rejects (tags) them: those are tested elsewhere.
          const labelNames = Object.keys(p.tags).map(sanitizeLabelName);
          fc.pre(new Set(labelNames).size === labelNames.length && labelNames.every((n) => !n.startsWith('__')));
          const sampleNames = Object.keys(p.fields).map((k) => fieldSeriesName(p.measurement, k));
          fc.pre(new Set(sampleNames).size === sampleNames.length);

          const fields: Record<string, LineFieldValue> = {};
          const intFields = new Set<string>();
          const expected = new Map<string, number>();
          for (const [k, v] of Object.entries(p.fields)) {
            const n = fieldSeriesName(p.measurement, k);
            if (typeof v === 'object') {
              fields[k] = v.int;
              intFields.add(k);
              expected.set(n, v.int);
            } else {
              fields[k] = v;
              if (typeof v === 'boolean') expected.set(n, v ? 1 : 0);
              else if (typeof v === 'number' && Number.isFinite(v)) expected.set(n, v);
              // NaN/±Inf cannot be written (the encoder drops and counts them); strings are no samples.
            }
          }
          const text = encodeLineProtocol([{ measurement: p.measurement, tags: p.tags, fields, intFields, timestampNs: p.timestampNs }]);
          const r = parseLineProtocol(text, { precision: 'ns' });
          assert.deepEqual(r.errors, [], text);
          const got = new Map(r.samples.map((s) => [s.name, s.value]));
          assert.equal(got.size, expected.size, text);
          for (const [n, v] of expected) assert.ok(sameDouble(got.get(n)!, v), `${n}: ${String(got.get(n))} != ${String(v)} in ${text}`);
          const labels: Labels = {};
          for (const [k, v] of Object.entries(p.tags)) labels[sanitizeLabelName(k)] = v;
          for (const s of r.samples) {
            assert.deepEqual({ ...s.labels }, labels, text);
            if (p.timestampNs === undefined) assert.equal(s.timestampMs, undefined);
            else {
              const abs = p.timestampNs < 0n ? -p.timestampNs : p.timestampNs;
              const ms = Number(abs / 1_000_000n) + Number(abs % 1_000_000n) / 1e6;
              assert.equal(s.timestampMs, p.timestampNs < 0n ? -ms : ms, text);
            }
          }
        }),
        RUNS,
      );
    });
  });

  describe('Prometheus text 0.0.4', () => {
    const metricName = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,20}$/);
    const labelName = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,12}$/);
    // Any text: the format escapes backslash, quote and newline in label values.
    const labelValue = tricky(['\\', '"', '\n', '\\n', '\\"', '{', '}', ',', '=', ' ', '\t', '#', 'é', '😀'], 16);
    const sample = fc.record({
      labels: fc.dictionary(labelName, labelValue, { maxKeys: 4 }),
      value: anyDouble,
      timestampMs: fc.integer({ min: -(2 ** 45), max: 2 ** 45 }),
    });

    it('gives back every series with its labels, its value bit for bit and its timestamp', () => {
      fc.assert(
        fc.property(metricName, fc.uniqueArray(sample, { minLength: 1, maxLength: 6, selector: (s) => JSON.stringify(Object.entries(s.labels).sort()) }), (name, samples) => {
          const fam: ExpoFamily = {
            name,
            type: 'gauge',
            help: 'generated',
            series: samples.map((s) => ({ key: seriesKey(name, s.labels), name, value: s.value, timestampMs: s.timestampMs })),
          };
          const text = encodeText([fam], { timestamps: true });
          const r = parsePrometheusText(text, { format: 'text' });
          assert.deepEqual(r.errors, [], text);
          assert.equal(r.families.length, 1);
          const got = r.families[0].samples;
          assert.equal(got.length, samples.length, text);
          samples.forEach((s, k) => {
            assert.equal(got[k].name, name);
            assert.deepEqual({ ...got[k].labels }, { ...s.labels }, text);
            assert.ok(sameDouble(got[k].value, s.value), `${String(got[k].value)} != ${String(s.value)}`);
            assert.equal(got[k].timestampMs, s.timestampMs);
          });
        }),
        RUNS,
      );
    });
  });

  describe('remote write', () => {
    const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,12}$/).filter((n) => n !== '__name__');
    const labelValue = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 24 });
    const series = fc.record({
      name: fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,20}$/),
      labels: fc.dictionary(labelName, labelValue, { maxKeys: 5 }),
      samples: fc.array(fc.tuple(fc.integer({ min: -(2 ** 50), max: 2 ** 50 }), anyDouble), { minLength: 1, maxLength: 8 }),
    });

    it('decodes the snappy-compressed WriteRequest back to the same labels (sorted) and samples (by time)', () => {
      fc.assert(
        fc.property(fc.array(series, { minLength: 1, maxLength: 4 }), (list) => {
          const body = snappyCompress(
            encodeWriteRequest(list.map((s) => ({ labels: encodeLabels(s.name, s.labels), timestamps: s.samples.map((x) => x[0]), values: s.samples.map((x) => x[1]) }))),
          );
          const decoded = decodeWriteRequest(snappyDecompress(body));
          assert.equal(decoded.length, list.length);
          list.forEach((s, k) => {
            const pairs: Array<[string, string]> = [['__name__', s.name], ...Object.entries(s.labels)];
            pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
            assert.deepEqual(decoded[k].labels, pairs);
            // The encoder sorts samples by timestamp (stable), as remote write requires.
            const want = s.samples.map((x, i) => ({ t: x[0], v: x[1], i })).sort((a, b) => a.t - b.t || a.i - b.i);
            assert.equal(decoded[k].samples.length, want.length);
            want.forEach((w, i) => {
              assert.equal(decoded[k].samples[i].timestamp, BigInt(w.t));
              assert.ok(sameDouble(decoded[k].samples[i].value, w.v), `${String(decoded[k].samples[i].value)} != ${String(w.v)}`);
            });
          });
        }),
        RUNS,
      );
    });

    it('snappy: decompress ∘ compress is identity on any bytes', () => {
      fc.assert(
        fc.property(fc.oneof(fc.uint8Array({ maxLength: 5000 }), fc.uint8Array({ maxLength: 64 }).map((b) => new Uint8Array(Buffer.concat(Array(100).fill(Buffer.from(b)))))), (bytes) => {
          const back = snappyDecompress(snappyCompress(bytes));
          assert.ok(Buffer.from(bytes).equals(back));
        }),
        RUNS,
      );
    });
  });
});
