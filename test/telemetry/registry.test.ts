/**
 * The self-metrics registry (src/telemetry/registry.ts): the exact text it writes, checked by the
 * real promtool and read back by our Prometheus text parser, including escaping, NaN and ±Inf and
 * cumulative histogram buckets.
 */

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePrometheusText, type ParsedSample } from '../../src/formats/prometheus/parse';
import { Counter, Gauge, Histogram, Registry } from '../../src/telemetry/registry';
import { requireTool, run } from '../helpers/tools';

const PROMTOOL = '/usr/bin/promtool';

function sample(text: string, name: string, labels: Record<string, string> = {}): ParsedSample | undefined {
  // An empty label value is the same as no label, and parsers drop it.
  const want = JSON.stringify(Object.entries(labels).filter(([, v]) => v !== '').sort());
  for (const f of parsePrometheusText(text).families) {
    for (const s of f.samples) if (s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want) return s;
  }
  return undefined;
}

describe('telemetry: registry', () => {
  it('writes HELP, TYPE and samples exactly, with the escaping text format 0.0.4 asks for', () => {
    const r = new Registry();
    const c = new Counter({ name: 'x_requests_total', help: 'Requests, by path.\nSecond line with a \\ backslash and "quotes".', labelNames: ['path', 'code'] as const, registry: r });
    c.inc({ path: 'a"b\\c\nd', code: 200 });
    c.inc({ path: 'a"b\\c\nd', code: 200 }, 2);
    c.inc({ path: '/', code: '404' }, 0);
    const g = new Gauge({ name: 'x_temperature', help: 'Values that are not numbers.', labelNames: ['case'] as const, registry: r });
    g.set({ case: 'nan' }, NaN);
    g.set({ case: 'pos' }, Infinity);
    g.set({ case: 'neg' }, -Infinity);
    g.set({ case: 'big' }, 2 ** 53);
    g.set({ case: 'small' }, 1.5e-7);
    new Gauge({ name: 'x_untouched', help: 'An unlabelled gauge shows 0 before its first update.', registry: r });
    new Counter({ name: 'x_empty_total', help: 'A labelled counter without children prints no samples.', labelNames: ['a'] as const, registry: r });

    assert.equal(r.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(r.metrics(), [
      '# HELP x_requests_total Requests, by path.\\nSecond line with a \\\\ backslash and "quotes".',
      '# TYPE x_requests_total counter',
      'x_requests_total{path="a\\"b\\\\c\\nd",code="200"} 3',
      'x_requests_total{path="/",code="404"} 0',
      '',
      '# HELP x_temperature Values that are not numbers.',
      '# TYPE x_temperature gauge',
      'x_temperature{case="nan"} NaN',
      'x_temperature{case="pos"} +Inf',
      'x_temperature{case="neg"} -Inf',
      'x_temperature{case="big"} 9007199254740992',
      'x_temperature{case="small"} 1.5e-7',
      '',
      '# HELP x_untouched An unlabelled gauge shows 0 before its first update.',
      '# TYPE x_untouched gauge',
      'x_untouched 0',
      '',
      '# HELP x_empty_total A labelled counter without children prints no samples.',
      '# TYPE x_empty_total counter',
      '',
    ].join('\n'));
  });

  it('histograms: cumulative buckets with le first, +Inf, _sum and _count; NaN counts only in +Inf', () => {
    const r = new Registry();
    const h = new Histogram({ name: 'x_duration_seconds', help: 'Durations.', labelNames: ['op'] as const, buckets: [0.1, 1, 2.5], registry: r });
    for (const v of [0.05, 0.1, 0.5, 1, 3, 100]) h.observe({ op: 'read' }, v);
    h.observe({ op: 'nan' }, NaN);
    const text = r.metrics();
    assert.equal(text, [
      '# HELP x_duration_seconds Durations.',
      '# TYPE x_duration_seconds histogram',
      'x_duration_seconds_bucket{le="0.1",op="read"} 2',
      'x_duration_seconds_bucket{le="1",op="read"} 4',
      'x_duration_seconds_bucket{le="2.5",op="read"} 4',
      'x_duration_seconds_bucket{le="+Inf",op="read"} 6',
      'x_duration_seconds_sum{op="read"} 104.65',
      'x_duration_seconds_count{op="read"} 6',
      'x_duration_seconds_bucket{le="0.1",op="nan"} 0',
      'x_duration_seconds_bucket{le="1",op="nan"} 0',
      'x_duration_seconds_bucket{le="2.5",op="nan"} 0',
      'x_duration_seconds_bucket{le="+Inf",op="nan"} 1',
      'x_duration_seconds_sum{op="nan"} NaN',
      'x_duration_seconds_count{op="nan"} 1',
      '',
    ].join('\n'));
    const unlabelled = new Histogram({ name: 'y_seconds', help: 'No labels.', buckets: [1], registry: r });
    unlabelled.observe(-Infinity);
    assert.match(r.metrics(), /\ny_seconds_bucket\{le="1"\} 1\ny_seconds_bucket\{le="\+Inf"\} 1\ny_seconds_sum -Inf\ny_seconds_count 1\n$/);
  });

  it('counters ignore negative and NaN increments; gauges go both ways; reset forgets children', () => {
    const c = new Counter({ name: 'c_total', help: 'h' });
    c.inc(2);
    c.inc(-5);
    c.inc(NaN);
    c.inc();
    assert.equal(c.get(), 3);
    const g = new Gauge({ name: 'g', help: 'h', labelNames: ['t'] as const });
    g.inc({ t: 'a' });
    g.inc({ t: 'a' }, 4);
    g.dec({ t: 'a' }, 2);
    g.dec({ t: 'b' });
    assert.equal(g.get({ t: 'a' }), 3);
    assert.equal(g.get({ t: 'b' }), -1);
    g.reset();
    assert.equal(g.get({ t: 'a' }), undefined);
    c.reset();
    assert.equal(c.get(), 0);
  });

  it('collect callbacks all run before any family is written; names are unique per registry', () => {
    const r = new Registry();
    const second = new Gauge({ name: 'b_value', help: 'set by the first collect' });
    let calls = 0;
    new Gauge({ name: 'a_value', help: 'h', registry: r, collect() { calls++; this.set(calls); second.set(calls * 10); } });
    r.register(second);
    assert.match(r.metrics(), /^a_value 1$[\s\S]*^b_value 10$/m);
    assert.match(r.metrics(), /^a_value 2$[\s\S]*^b_value 20$/m);
    assert.throws(() => new Counter({ name: 'a_value', help: 'again', registry: r }), /already registered/);
    assert.throws(() => new Counter({ name: 'bad-name', help: 'h' }), /invalid metric name/);
    assert.throws(() => new Histogram({ name: 'h', help: 'h', labelNames: ['le'] as const, buckets: [1] }), /le is reserved/);
    assert.throws(() => new Histogram({ name: 'h', help: 'h', buckets: [1, 1] }), /increasing/);
  });

  it('any label values, values and observations read back as written (fast-check, our parser)', () => {
    const labelValue = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '"', '\\', '\n', '{', '}', ',', '=', 'é', '\u{1F600}'), maxLength: 12 });
    const value = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(NaN, Infinity, -Infinity, 0, 2 ** 53 - 1));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(labelValue, labelValue, value), { minLength: 1, maxLength: 8 }),
        fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { maxLength: 30 }),
        (entries, observations) => {
          const r = new Registry();
          const g = new Gauge({ name: 'p_gauge', help: 'Help with "quotes", \\ and\nnewline.', labelNames: ['a', 'b'] as const, registry: r });
          const h = new Histogram({ name: 'p_seconds', help: 'h', buckets: [-1, 0, 0.5, 10], registry: r });
          const want = new Map<string, { a: string; b: string; v: number }>();
          for (const [a, b, v] of entries) {
            g.set({ a, b }, v);
            want.set(JSON.stringify([a, b]), { a, b, v });
          }
          for (const o of observations) h.observe(o);
          const text = r.metrics();
          const parsed = parsePrometheusText(text);
          assert.deepEqual(parsed.errors, []);
          const fam = parsed.families.find((f) => f.name === 'p_gauge')!;
          assert.equal(fam.help, 'Help with "quotes", \\ and\nnewline.');
          assert.equal(fam.samples.length, want.size);
          for (const { a, b, v } of want.values()) {
            const s = sample(text, 'p_gauge', { a, b });
            assert.ok(s, `missing ${JSON.stringify([a, b])}`);
            assert.ok(Object.is(s.value, v) || (v === 0 && s.value === 0), `${s.value} != ${v}`);
          }
          const bounds = ['-1', '0', '0.5', '10', '+Inf'];
          const limits = [-1, 0, 0.5, 10, Infinity];
          let prev = 0;
          for (let i = 0; i < bounds.length; i++) {
            const n = sample(text, 'p_seconds_bucket', { le: bounds[i] })!.value;
            assert.equal(n, observations.filter((o) => o <= limits[i]).length);
            assert.ok(n >= prev);
            prev = n;
          }
          assert.equal(sample(text, 'p_seconds_count')!.value, observations.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('promtool check metrics finds nothing in a registry using every feature', function () {
    if (!requireTool(this, PROMTOOL, 'prometheus')) return;
    const r = new Registry();
    const c = new Counter({ name: 'demo_events_total', help: 'Events, with "quotes", a \\ and a\nsecond line.', labelNames: ['kind'] as const, registry: r });
    c.inc({ kind: 'a"b\\c\nd' }, 3);
    const g = new Gauge({ name: 'demo_level', help: 'Level.', labelNames: ['case'] as const, registry: r });
    g.set({ case: 'nan' }, NaN);
    g.set({ case: 'inf' }, Infinity);
    g.set({ case: 'neg' }, -Infinity);
    const h = new Histogram({ name: 'demo_duration_seconds', help: 'Durations.', labelNames: ['op'] as const, buckets: [0.001, 0.5, 60], registry: r });
    h.observe({ op: 'x' }, 0.2);
    h.observe({ op: 'x' }, 1e9);
    new Counter({ name: 'demo_idle_total', help: 'Never counted.', labelNames: ['k'] as const, registry: r });
    const text = r.metrics();
    const check = run(PROMTOOL, ['check', 'metrics'], text);
    assert.deepEqual({ code: check.code, findings: (check.stdout + check.stderr).trim() }, { code: 0, findings: '' });
    // Control: an unescaped quote in a label value is what promtool rejects, so the check can fail.
    const broken = run(PROMTOOL, ['check', 'metrics'], text.replace('a\\"b', 'a"b'));
    assert.notEqual(broken.code, 0);
  });
});
