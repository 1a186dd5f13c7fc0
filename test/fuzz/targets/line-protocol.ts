import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineProtocolParser, parseLineProtocol } from '../../../src/formats/influx/parse';
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
  maxBytes: 64 * 1024,
  run(data) {
    const text = data.toString('utf8');
    const precision = PRECISIONS[data.length % PRECISIONS.length];
    const fresh = parseLineProtocol(text, { precision });
    const again = cached.parse(text, { precision });
    checkSamples(fresh.samples);
    const lines = text.split('\n').length;
    for (const e of fresh.errors) {
      if (!(e.line >= 1 && e.line <= lines)) throw new Error(`error on line ${e.line} of ${lines}`);
    }
    for (const s of fresh.samples) if (!Number.isFinite(s.value)) throw new Error(`non-finite sample ${s.value}`);
    assert.deepStrictEqual(
      { s: again.samples.map((s) => ({ ...s, labels: { ...s.labels } })), e: again.errors, p: again.points },
      { s: fresh.samples.map((s) => ({ ...s, labels: { ...s.labels } })), e: fresh.errors, p: fresh.points },
      'cached parser disagrees with a fresh one',
    );
    return outcome('lp', fresh.errors.map((e) => e.message), fresh.points ?? 0, fresh.errors.length);
  },
};
