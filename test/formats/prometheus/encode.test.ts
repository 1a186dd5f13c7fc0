import assert from 'node:assert/strict';

import {
  encodeOpenMetrics,
  encodeText,
  formatValue,
  OPENMETRICS_CONTENT_TYPE,
  openMetricsSteps,
  TEXT_CONTENT_TYPE,
  textSteps,
  type ExpoFamily,
  type ExpoSeries,
} from '../../../src/formats/prometheus/encode';
import { everyType, family, openMetricsProblems, series } from './fixtures';

describe('prometheus encode', () => {
  describe('formatValue', () => {
    it('spells NaN and infinities the Prometheus way', () => {
      assert.equal(formatValue(NaN), 'NaN');
      assert.equal(formatValue(Infinity), '+Inf');
      assert.equal(formatValue(-Infinity), '-Inf');
    });

    it('prints the shortest decimal that reads back exactly', () => {
      for (const v of [0, 1, -1, 0.1, 1 / 3, 123456789.125, 1e21, 1e-7, -2.5e-300, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 2]) {
        const s = formatValue(v);
        assert.equal(Number(s), v, s);
      }
      assert.equal(formatValue(0.1), '0.1');
      assert.equal(formatValue(42), '42');
      assert.equal(formatValue(1e21), '1e+21');
    });

    it('keeps the sign of negative zero', () => {
      assert.equal(formatValue(-0), '-0');
      assert.equal(formatValue(0), '0');
    });
  });

  it('exports the content types', () => {
    assert.equal(TEXT_CONTENT_TYPE, 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(OPENMETRICS_CONTENT_TYPE, 'application/openmetrics-text; version=1.0.0; charset=utf-8');
  });

  describe('text 0.0.4', () => {
    it('writes HELP, TYPE, UNIT and samples, escaping labels and help', () => {
      const out = encodeText([
        family('temp_celsius', 'gauge', [
          series('temp_celsius', { zone: 'a"b\\c\nd' }, 21.5),
          series('temp_celsius', {}, NaN),
        ], 'Line one\nback\\slash "quotes" stay', 'celsius'),
      ]);
      assert.equal(out, [
        '# HELP temp_celsius Line one\\nback\\\\slash "quotes" stay',
        '# TYPE temp_celsius gauge',
        '# UNIT temp_celsius celsius',
        'temp_celsius{zone="a\\"b\\\\c\\nd"} 21.5',
        'temp_celsius NaN',
        '',
      ].join('\n'));
    });

    it('leaves out HELP when there is none and UNIT when there is none', () => {
      const out = encodeText([family('up', 'untyped', [series('up', {}, 1)])]);
      assert.equal(out, '# TYPE up untyped\nup 1\n');
    });

    it('writes counter metadata under the series name', () => {
      const out = encodeText([
        family('reqs', 'counter', [series('reqs_total', { code: '200' }, 5), series('reqs_total', { code: '500' }, 1)], 'Requests.'),
        family('plain', 'counter', [series('plain', {}, 2)]),
      ]);
      assert.equal(out, [
        '# HELP reqs_total Requests.',
        '# TYPE reqs_total counter',
        'reqs_total{code="200"} 5',
        'reqs_total{code="500"} 1',
        '# TYPE plain counter',
        'plain 2',
        '',
      ].join('\n'));
    });

    it('writes histogram and summary families under the family name', () => {
      const out = encodeText([
        family('lat', 'histogram', [
          series('lat_bucket', { le: '0.5' }, 1),
          series('lat_bucket', { le: '+Inf' }, 2),
          series('lat_sum', {}, 0.75),
          series('lat_count', {}, 2),
        ], 'Latency.'),
        family('rpc', 'summary', [
          series('rpc', { quantile: '0.5' }, 0.1),
          series('rpc_sum', {}, 3),
          series('rpc_count', {}, 9),
        ]),
      ]);
      assert.equal(out, [
        '# HELP lat Latency.',
        '# TYPE lat histogram',
        'lat_bucket{le="0.5"} 1',
        'lat_bucket{le="+Inf"} 2',
        'lat_sum 0.75',
        'lat_count 2',
        '# TYPE rpc summary',
        'rpc{quantile="0.5"} 0.1',
        'rpc_sum 3',
        'rpc_count 9',
        '',
      ].join('\n'));
    });

    it('gives _created series a gauge block of their own', () => {
      const out = encodeText([
        family('reqs', 'counter', [series('reqs_total', { a: 'b' }, 5), series('reqs_created', { a: 'b' }, 1_600_000_000)], 'R.', 'requests'),
        family('lat', 'histogram', [series('lat_bucket', { le: '+Inf' }, 1), series('lat_count', {}, 1), series('lat_created', {}, 1_600_000_000)]),
      ]);
      assert.equal(out, [
        '# HELP reqs_total R.',
        '# TYPE reqs_total counter',
        '# UNIT reqs_total requests',
        'reqs_total{a="b"} 5',
        '# HELP reqs_created R.',
        '# TYPE reqs_created gauge',
        'reqs_created{a="b"} 1600000000',
        '# TYPE lat histogram',
        'lat_bucket{le="+Inf"} 1',
        'lat_count 1',
        '# TYPE lat_created gauge',
        'lat_created 1600000000',
        '',
      ].join('\n'));
    });

    it('prints timestamps in whole milliseconds only when asked', () => {
      const fams = [family('g', 'gauge', [series('g', {}, 1, 1_700_000_000_123.6), series('g', { a: 'b' }, 2, -5), series('g', { a: 'c' }, 3)])];
      assert.equal(encodeText(fams), '# TYPE g gauge\ng 1\ng{a="b"} 2\ng{a="c"} 3\n');
      assert.equal(encodeText(fams, { timestamps: true }), '# TYPE g gauge\ng 1 1700000000124\ng{a="b"} 2 -5\ng{a="c"} 3\n');
    });

    it('prints nothing for families without series', () => {
      assert.equal(encodeText([family('empty', 'gauge', [], 'help')]), '');
      assert.equal(encodeText([]), '');
    });

    it('merges families that share a name, keeping the first metadata', () => {
      const out = encodeText([
        family('g', 'gauge', [series('g', { a: '1' }, 1)], 'first'),
        family('h', 'gauge', [series('h', {}, 9)]),
        family('g', 'counter', [series('g', { a: '2' }, 2)], 'second'),
      ]);
      assert.equal(out, '# HELP g first\n# TYPE g gauge\ng{a="1"} 1\ng{a="2"} 2\n# TYPE h gauge\nh 9\n');
    });

    it('accepts any iterable, e.g. generators', () => {
      function* gen() {
        yield series('g', {}, 1);
      }
      function* fams() {
        yield { name: 'g', type: 'gauge' as const, series: gen() };
      }
      assert.equal(encodeText(fams()), '# TYPE g gauge\ng 1\n');
    });
  });

  describe('OpenMetrics 1.0', () => {
    it('ends with # EOF and uses TYPE, UNIT, HELP order', () => {
      const out = encodeOpenMetrics([family('temp_celsius', 'gauge', [series('temp_celsius', {}, 1)], 'Temp "in" C\\', 'celsius')]);
      assert.equal(out, [
        '# TYPE temp_celsius gauge',
        '# UNIT temp_celsius celsius',
        '# HELP temp_celsius Temp \\"in\\" C\\\\',
        'temp_celsius 1',
        '# EOF',
        '',
      ].join('\n'));
      assert.equal(encodeOpenMetrics([]), '# EOF\n');
    });

    it('names counter families without _total and their samples with it', () => {
      const out = encodeOpenMetrics([
        family('reqs', 'counter', [series('reqs_total', { code: '200' }, 5), series('reqs_created', { code: '200' }, 1_600_000_000)]),
        family('jobs_total', 'counter', [series('jobs_total', {}, 3)]),
        family('bare', 'counter', [series('bare', { a: 'x' }, 7), series('bare', {}, 8)]),
      ]);
      assert.equal(out, [
        '# TYPE reqs counter',
        'reqs_total{code="200"} 5',
        'reqs_created{code="200"} 1600000000',
        '# TYPE jobs counter',
        'jobs_total 3',
        '# TYPE bare counter',
        'bare_total{a="x"} 7',
        'bare_total 8',
        '# EOF',
        '',
      ].join('\n'));
      assert.deepEqual(openMetricsProblems(out), []);
    });

    it('prints UNIT only when the family name ends with it', () => {
      const out = encodeOpenMetrics([
        family('energy_joules', 'counter', [series('energy_joules_total', {}, 1)], undefined, 'joules'),
        family('power', 'gauge', [series('power', {}, 1)], undefined, 'watts'),
        family('busy_ratio', 'gauge', [series('busy_ratio', {}, 1)], undefined, 'ratio'),
      ]);
      assert.match(out, /^# UNIT energy_joules joules$/m);
      assert.doesNotMatch(out, /watts/);
      assert.match(out, /^# UNIT busy_ratio ratio$/m);
      assert.deepEqual(openMetricsProblems(out), []);
    });

    it('writes untyped as unknown', () => {
      const out = encodeOpenMetrics([family('x', 'untyped', [series('x', {}, 1)])]);
      assert.equal(out, '# TYPE x unknown\nx 1\n# EOF\n');
    });

    it('prints timestamps as seconds when asked', () => {
      const fams = [family('g', 'gauge', [series('g', {}, 1, 1_700_000_000_123), series('g', { a: 'b' }, 2, 1500), series('g', { a: 'c' }, 3)])];
      assert.equal(encodeOpenMetrics(fams, { timestamps: true }), '# TYPE g gauge\ng 1 1700000000.123\ng{a="b"} 2 1.5\ng{a="c"} 3\n# EOF\n');
      assert.equal(encodeOpenMetrics(fams), '# TYPE g gauge\ng 1\ng{a="b"} 2\ng{a="c"} 3\n# EOF\n');
    });

    it('keeps each histogram Metric together with buckets in le order', () => {
      const out = encodeOpenMetrics([
        family('lat_seconds', 'histogram', [
          series('lat_seconds_bucket', { le: '+Inf', path: 'a' }, 3),
          series('lat_seconds_bucket', { le: '+Inf', path: 'b' }, 4),
          series('lat_seconds_bucket', { le: '0.25', path: 'a' }, 1),
          series('lat_seconds_bucket', { le: '0.25', path: 'b' }, 2),
          series('lat_seconds_sum', { path: 'a' }, 0.5),
          series('lat_seconds_sum', { path: 'b' }, 0.75),
          series('lat_seconds_count', { path: 'a' }, 3),
          series('lat_seconds_count', { path: 'b' }, 4),
          series('lat_seconds_bucket', { le: '10' }, 0),
          series('lat_seconds_bucket', { le: '+Inf' }, 0),
          series('lat_seconds_bucket', { le: '1' }, 0),
          series('lat_seconds_count', {}, 0),
        ], 'Latency.', 'seconds'),
      ]);
      assert.equal(out, [
        '# TYPE lat_seconds histogram',
        '# UNIT lat_seconds seconds',
        '# HELP lat_seconds Latency.',
        'lat_seconds_bucket{le="0.25",path="a"} 1',
        'lat_seconds_bucket{le="+Inf",path="a"} 3',
        'lat_seconds_sum{path="a"} 0.5',
        'lat_seconds_count{path="a"} 3',
        'lat_seconds_bucket{le="0.25",path="b"} 2',
        'lat_seconds_bucket{le="+Inf",path="b"} 4',
        'lat_seconds_sum{path="b"} 0.75',
        'lat_seconds_count{path="b"} 4',
        'lat_seconds_bucket{le="1"} 0',
        'lat_seconds_bucket{le="10"} 0',
        'lat_seconds_bucket{le="+Inf"} 0',
        'lat_seconds_count 0',
        '# EOF',
        '',
      ].join('\n'));
      assert.deepEqual(openMetricsProblems(out), []);
    });

    it('keeps each summary Metric together', () => {
      const out = encodeOpenMetrics([
        family('rpc_seconds', 'summary', [
          series('rpc_seconds', { quantile: '0.5', svc: 'a' }, 1),
          series('rpc_seconds', { quantile: '0.5', svc: 'b' }, 2),
          series('rpc_seconds_count', { svc: 'a' }, 5),
          series('rpc_seconds_count', { svc: 'b' }, 6),
        ]),
      ]);
      assert.equal(out, [
        '# TYPE rpc_seconds summary',
        'rpc_seconds{quantile="0.5",svc="a"} 1',
        'rpc_seconds_count{svc="a"} 5',
        'rpc_seconds{quantile="0.5",svc="b"} 2',
        'rpc_seconds_count{svc="b"} 6',
        '# EOF',
        '',
      ].join('\n'));
    });

    it('does not mistake an escaped le inside another label value for the le label', () => {
      const out = encodeOpenMetrics([
        family('h', 'histogram', [
          series('h_bucket', { a: ',le="5"}', le: '+Inf' }, 1),
          series('h_bucket', { a: ',le="5"}', le: '1' }, 1),
          series('h_count', { a: ',le="5"}' }, 1),
        ]),
      ]);
      assert.equal(out, [
        '# TYPE h histogram',
        'h_bucket{a=",le=\\"5\\"}",le="1"} 1',
        'h_bucket{a=",le=\\"5\\"}",le="+Inf"} 1',
        'h_count{a=",le=\\"5\\"}"} 1',
        '# EOF',
        '',
      ].join('\n'));
    });

    it('merges repeated family names into one block', () => {
      const out = encodeOpenMetrics([
        family('g', 'gauge', [series('g', { a: '1' }, 1)]),
        family('h', 'gauge', [series('h', {}, 1)]),
        family('g', 'gauge', [series('g', { a: '2' }, 2)]),
      ]);
      assert.equal(out, '# TYPE g gauge\ng{a="1"} 1\ng{a="2"} 2\n# TYPE h gauge\nh 1\n# EOF\n');
      assert.deepEqual(openMetricsProblems(out), []);
    });

    it('produces structurally valid output for every type and nasty label values', () => {
      assert.deepEqual(openMetricsProblems(encodeOpenMetrics(everyType(), { timestamps: true })), []);
      assert.deepEqual(openMetricsProblems(encodeOpenMetrics(everyType())), []);
    });
  });

  describe('pausing every k series (textSteps, openMetricsSteps)', () => {
    /** Runs the steps to the end; returns the text and the number of pauses. */
    const run = (steps: Generator<void, string, void>) => {
      let pauses = 0;
      for (;;) {
        const r = steps.next();
        if (r.done) return { text: r.value, pauses };
        pauses++;
      }
    };
    const count = (fams: ExpoFamily[]) => fams.reduce((n, f) => n + [...f.series].length, 0);

    it('gives the one-go text, pausing once per k series', () => {
      for (const timestamps of [false, true]) {
        const n = count(everyType());
        for (const k of [1, 2, 3, 7, n - 1, n, n + 1]) {
          const text = run(textSteps(everyType(), { timestamps }, k));
          assert.equal(text.text, encodeText(everyType(), { timestamps }), `text, k=${k}`);
          assert.equal(text.pauses, Math.floor(n / k), `text pauses, k=${k}`);
          const om = run(openMetricsSteps(everyType(), { timestamps }, k));
          assert.equal(om.text, encodeOpenMetrics(everyType(), { timestamps }), `OpenMetrics, k=${k}`);
          assert.equal(om.pauses, Math.floor(n / k), `OpenMetrics pauses, k=${k}`);
        }
      }
    });

    it('never writes a series twice when the store changes during a pause', () => {
      // Live collections, as the store's are: during the first pause a series of the family being
      // written is deleted and pushed again (to the end of its family), and a family is deleted
      // and created again (to the end of the families).
      const g: ExpoSeries[] = [series('g', { i: '1' }, 1), series('g', { i: '2' }, 2), series('g', { i: '3' }, 3)];
      const fams: ExpoFamily[] = [family('g', 'gauge', g), family('h', 'gauge', [series('h', {}, 9)])];
      for (const steps of [textSteps(fams, {}, 1), openMetricsSteps(fams, {}, 1)]) {
        const saved = { g: [...g], fams: [...fams] };
        assert.equal(steps.next().done, false);
        g.push(g.shift()!);
        fams.push(fams.splice(1, 1)[0]);
        fams.push(family('g', 'gauge', [series('g', { i: '1' }, 1)]));
        let r = steps.next();
        while (!r.done) r = steps.next();
        for (const key of ['g{i="1"}', 'g{i="2"}', 'g{i="3"}', 'h']) {
          assert.equal(r.value.split('\n').filter((l) => l.startsWith(key + ' ')).length, 1, `${key} once in ${JSON.stringify(r.value)}`);
        }
        g.splice(0, g.length, ...saved.g);
        fams.splice(0, fams.length, ...saved.fams);
      }
    });
  });
});
