import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineProtocolParser, parseLineProtocol } from '../../../src/formats/influx/parse';
import type { ParseResult, Sample } from '../../../src/model/sample';
import type { Precision } from '../../../src/model/time';
import type { FuzzTarget } from '../engine';
import { checkSamples, outcome } from './shape';

const PRECISIONS: Array<Precision | undefined> = [undefined, 'ns', 'us', 'ms', 's', 'm', 'h'];
/** Reused across inputs with tiny bounds, so its cache resets often: it must agree with a fresh parser. */
const cached = new LineProtocolParser({ maxCachedSeries: 50, maxCachedBytes: 20_000 });

const piece = fc.constantFrom('m', 'cpu', 'host', 'v', 'value', ',', '=', ' ', '\\', '\\ ', '\\,', '\\=', '"', '#', '\n', '\r\n', '\t', '1', '-1.5e3', '12i', '7u', 't', 'FALSE', '1704067200000000000', 'é', '😀', '\u0000');

export const lineProtocol: FuzzTarget = {
  name: 'line-protocol',
  about: 'InfluxDB line protocol parser (fresh and cache-reusing parser must agree)',
  tokens: [' ', ',', '=', '\\', '\\ ', '\\,', '\\=', '"', '\\"', '#', '\n', '\r\n', '\t', 'i', 'u', 'e', 'E', '-', '.', 'true', 'F', 'nan', 'inf', '9223372036854775808', '18446744073709551615', '1704067200000000000', '=""', ',t=1', ' v=1', '__name__', 'é', '😀'],
  arbitrary: fc.array(piece, { maxLength: 60 }).map((a) => Buffer.from(a.join(''), 'utf8')),
  run(data) {
    const text = data.toString('utf8');
    const precision = PRECISIONS[data.length % PRECISIONS.length];
    const fresh = parseLineProtocol(text, { precision });
    const again = cached.parse(text, { precision });
    checkSamples(fresh.samples);
    const lines = countLines(text);
    for (const e of fresh.errors) {
      if (!(e.line >= 1 && e.line <= lines)) throw new Error(`error on line ${e.line} of ${lines}`);
    }
    for (const s of fresh.samples) if (!Number.isFinite(s.value)) throw new Error(`non-finite sample ${s.value}`);
    if (!sameResult(again, fresh)) {
      // The full comparison only to word the finding: it is what made the fuzzer slow per input.
      assert.deepStrictEqual(
        { s: again.samples.map((s) => ({ ...s, labels: { ...s.labels } })), e: again.errors, p: again.points },
        { s: fresh.samples.map((s) => ({ ...s, labels: { ...s.labels } })), e: fresh.errors, p: fresh.points },
        'cached parser disagrees with a fresh one',
      );
      throw new Error('cached parser disagrees with a fresh one (in a way deepStrictEqual does not show)');
    }
    return outcome('lp', fresh.errors.map((e) => e.message), fresh.points ?? 0, fresh.errors.length);
  },
};

function countLines(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * Field-by-field equality of two parse results, without copying them: every own field of each
 * sample (values with Object.is, so NaN and -0 count), labels, errors and point counts.
 */
export function sameResult(a: ParseResult & { points?: number }, b: ParseResult & { points?: number }): boolean {
  if (a.points !== b.points || a.samples.length !== b.samples.length || a.errors.length !== b.errors.length) return false;
  for (let i = 0; i < a.errors.length; i++) {
    const x = a.errors[i];
    const y = b.errors[i];
    if (x.line !== y.line || x.message !== y.message || Object.keys(x).length !== Object.keys(y).length) return false;
  }
  for (let i = 0; i < a.samples.length; i++) if (!sameSample(a.samples[i], b.samples[i])) return false;
  return true;
}

function sameSample(x: Sample, y: Sample): boolean {
  const a = x as unknown as Record<string, unknown>;
  const b = y as unknown as Record<string, unknown>;
  let n = 0;
  for (const k in a) {
    if (!Object.prototype.hasOwnProperty.call(a, k)) continue;
    n++;
    if (k === 'labels') continue;
    // The slot is the parser's own cache entry (another object per parser, none for a series not
    // cached, as in a fresh parser): only its key must agree where there is one.
    if (k === 'slot') {
      if ((x.slot !== undefined && x.slot.key !== x.key) || (y.slot !== undefined && y.slot.key !== y.key)) return false;
      continue;
    }
    if (!Object.prototype.hasOwnProperty.call(b, k) || !Object.is(a[k], b[k])) return false;
  }
  for (const k in b) if (Object.prototype.hasOwnProperty.call(b, k)) n--;
  if (n !== 0) return false;
  // Label order is not part of a sample (as for deepStrictEqual).
  const xl = Object.keys(x.labels);
  if (xl.length !== Object.keys(y.labels).length) return false;
  for (const k of xl) if (!Object.prototype.hasOwnProperty.call(y.labels, k) || x.labels[k] !== y.labels[k]) return false;
  return true;
}
