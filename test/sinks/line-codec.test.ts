import assert from 'node:assert/strict';
import { encodeLineProtocol } from '../../src/formats/influx/encode';
import { LineProtocolParser } from '../../src/formats/influx/parse';
import type { Labels, Sample } from '../../src/model/sample';
import { seriesKey } from '../../src/model/series-key';
import { LineProtocolCodec, nanosText } from '../../src/sinks/influx/line-codec';
import { sample } from './helpers';

/** Names as the store holds them (already sanitised) and label values as clients send them. */
const NAMES = ['cpu', 'a:b_c', '_x9', 'gpu_engine_usage_usage', 'x'.repeat(200)];
const VALUES = [
  'plain', 'with space', 'comma,here', 'eq=sign', 'quote"inside', '"', 'tab\there', 'back\\slash', 'trailing\\', '\\',
  '\\ ', '\\,', '\\=', 'ünïcödé ✓ 𝄞', '#hash', 'a b,c=d\\e"f', '  ', '=', ',', 'line\nfeed', 'cr\rhere',
];
const LABEL_NAMES = ['host', 'gpu_id', '_under', 'A', 'x1'];

function expectedValue(v: string): string {
  // What the encoder promises (src/formats/influx/encode.ts): line controls become spaces, a
  // trailing backslash or one before `"` becomes `_`; everything else is kept exactly.
  let out = v.replace(/[\t\n\v\f\r]/g, ' ');
  out = out.replace(/\\$/, '_');
  return out.replace(/\\(?=")/g, '_');
}

describe('line protocol codec', () => {
  it('every line round-trips through our parser with nasty names and label values', () => {
    const codec = new LineProtocolCodec();
    const input: Sample[] = [];
    let t = 1_700_000_000_000;
    for (const name of NAMES) {
      for (let i = 0; i < VALUES.length; i++) {
        const labels: Labels = { [LABEL_NAMES[i % LABEL_NAMES.length]]: VALUES[i], z: VALUES[(i + 3) % VALUES.length] };
        input.push(sample(name, labels, i * 1.25 - 7, t++));
      }
    }
    input.push(sample('tiny', { a: 'b' }, 5e-324, t++), sample('huge', {}, -1.7976931348623157e308, t++), sample('negzero', {}, -0, t++));
    input.push(sample('frac_ts', {}, 1, 1_700_000_000_123.456789));
    for (const s of input) assert.equal(codec.add(s, s.timestampMs!), true);
    const text = codec.finish()!.toString('utf8');
    const lines = text.split('\n');
    assert.equal(lines.pop(), '', 'ends with a newline');
    assert.equal(lines.length, input.length, 'one line per sample');

    const parsed = new LineProtocolParser().parse(text, { precision: 'ns' });
    assert.deepEqual(parsed.errors, []);
    assert.equal(parsed.samples.length, input.length);
    for (let i = 0; i < input.length; i++) {
      const want = input[i];
      const got = parsed.samples[i];
      assert.equal(got.name, want.name);
      const wantLabels: Labels = {};
      for (const [k, v] of Object.entries(want.labels)) wantLabels[k] = expectedValue(v);
      for (const k of Object.keys(wantLabels)) if (wantLabels[k] === '') delete wantLabels[k];
      assert.deepEqual({ ...got.labels }, wantLabels, `labels of line ${i + 1}: ${lines[i]}`);
      assert.ok(Object.is(got.value, want.value), `value of line ${i + 1}`);
      assert.ok(Math.abs(got.timestampMs! - want.timestampMs!) < 1e-6, `timestamp of line ${i + 1}: ${got.timestampMs} vs ${want.timestampMs}`);
    }
  });

  it('writes exactly what encodeLineProtocol writes for the same point (cached prefixes change nothing)', () => {
    const codec = new LineProtocolCodec();
    const points: Array<{ s: Sample; ts: number }> = [];
    for (let i = 0; i < VALUES.length; i++) {
      const s = sample(NAMES[i % NAMES.length], { host: VALUES[i], empty: '' }, i / 3);
      points.push({ s, ts: 1_600_000_000_000 + i }, { s: { ...s, key: seriesKey(s.name, s.labels) }, ts: 1_600_000_000_500 + i });
    }
    for (const p of points) codec.add(p.s, p.ts);
    const ours = codec.finish()!.toString('utf8');
    const reference = encodeLineProtocol(points.map((p) => ({ measurement: p.s.name, tags: p.s.labels, fields: { value: p.s.value }, timestampNs: BigInt(p.ts) * 1_000_000n })));
    assert.equal(ours, reference);
  });

  it('never writes NaN, ±Inf, empty names or unrepresentable timestamps; empty tag values are left out', () => {
    const codec = new LineProtocolCodec();
    assert.equal(codec.add(sample('a', {}, NaN), 1), false);
    assert.equal(codec.add(sample('a', {}, Infinity), 1), false);
    assert.equal(codec.add(sample('a', {}, -Infinity), 1), false);
    assert.equal(codec.add(sample('', {}, 1), 1), false);
    assert.equal(codec.add(sample('a', {}, 1), 1e16), false);
    assert.equal(codec.add(sample('a', { k: '' }, 1), 1), true);
    assert.equal(codec.finish()!.toString(), 'a value=1 1000000\n');
  });

  it('converts milliseconds to exact nanosecond text', () => {
    assert.equal(nanosText(0), '0');
    assert.equal(nanosText(1), '1000000');
    assert.equal(nanosText(1_700_000_000_000), '1700000000000000000');
    assert.equal(nanosText(1_700_000_000_000.5), '1700000000000500000');
    assert.equal(nanosText(0.000001), '1');
    assert.equal(nanosText(0.25), '250000');
    assert.equal(nanosText(-1), '-1000000');
    assert.equal(nanosText(-1.5), '-1500000');
    assert.equal(nanosText(2.9999999999), '3000000');
    assert.equal(nanosText(NaN), null);
    assert.equal(nanosText(9.3e12), null);
  });
});
