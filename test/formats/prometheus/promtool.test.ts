/**
 * Checks encoder output with the real promtool (Debian package `prometheus`).
 *
 * - Text 0.0.4: `promtool check metrics` reads stdin with client_golang's 0.0.4 parser and lints it.
 *   Exit 0 = clean, 3 = lint findings only (printed one per line as `<metric> <problem>`), 1 = the
 *   text could not be parsed ("error while linting: …"). It has no OpenMetrics mode: it rejects
 *   `# TYPE x unknown`, `\"` in HELP and fractional timestamps, so it cannot check OpenMetrics.
 * - OpenMetrics: `promtool tsdb create-blocks-from openmetrics <file> <dir>` runs Prometheus' own
 *   OpenMetrics parser (it requires `# EOF` and a timestamp on every sample) and writes TSDB blocks.
 *   That parser is strict on syntax but does not check naming rules, so the structure check in
 *   fixtures.ts (openMetricsProblems) covers those.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { encodeOpenMetrics, encodeText } from '../../../src/formats/prometheus/encode';
import { everyType, family, openMetricsProblems, series } from './fixtures';

/** `$PROMTOOL` if set (only that), else `promtool` on PATH, else /usr/bin/promtool. */
function findPromtool(): string | undefined {
  const explicit = process.env.PROMTOOL;
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d !== '');
  const candidates = explicit ? [explicit] : [...dirs.map((d) => path.join(d, 'promtool')), '/usr/bin/promtool'];
  for (const p of candidates) {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

interface Run {
  status: number | null;
  output: string[];
}

function run(bin: string, args: string[], input?: string): Run {
  const r = spawnSync(bin, args, { input, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  const output = (r.stdout + r.stderr).split('\n').filter((l) => l.trim() !== '');
  return { status: r.status, output };
}

describe('prometheus encoders checked by promtool', function () {
  let promtool = '';
  let tmp = '';

  before(function () {
    const found = findPromtool();
    if (found === undefined) {
      const msg = 'promtool not found (install the Debian package "prometheus"); promtool checks of the Prometheus encoders';
      if (process.env.CI === 'true') throw new Error(`${msg} cannot run, and CI=true makes that a failure`);
      console.warn(`\n  !!! SKIPPED: ${msg} were skipped !!!\n`);
      this.skip();
    }
    promtool = found as string;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-promtool-'));
  });

  after(() => {
    if (tmp !== '') fs.rmSync(tmp, { recursive: true, force: true });
  });

  function checkMetrics(text: string): Run {
    return run(promtool, ['check', 'metrics'], text);
  }

  /** Returns promtool's exit status and the number of samples it imported. */
  function importOpenMetrics(text: string): { status: number | null; samples: number; output: string[] } {
    const dir = fs.mkdtempSync(path.join(tmp, 'om-'));
    const file = path.join(dir, 'input.om');
    fs.writeFileSync(file, text);
    const r = run(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', file, path.join(dir, 'blocks')]);
    // Table: BLOCK ULID  MIN TIME  MAX TIME  DURATION  NUM SAMPLES  NUM CHUNKS  NUM SERIES  SIZE
    let samples = 0;
    for (const line of r.output) {
      const cols = line.trim().split(/\s+/);
      if (/^[0-9A-Z]{26}$/.test(cols[0]) && cols.length >= 6) samples += Number(cols[5]);
    }
    return { status: r.status, samples, output: r.output };
  }

  describe('text 0.0.4 with `promtool check metrics`', () => {
    it('passes without a finding for every type, units, nasty labels, NaN and ±Inf', () => {
      const r = checkMetrics(encodeText(everyType()));
      assert.deepEqual(r, { status: 0, output: [] });
    });

    it('passes with timestamps too', () => {
      const r = checkMetrics(encodeText(everyType(), { timestamps: true }));
      assert.deepEqual(r, { status: 0, output: [] });
    });

    it('passes with _created series', () => {
      const text = encodeText([
        family('reqs', 'counter', [series('reqs_total', { a: 'b' }, 5), series('reqs_created', { a: 'b' }, 1_600_000_000)], 'R.'),
        family('lat_seconds', 'histogram', [
          series('lat_seconds_bucket', { le: '+Inf' }, 1),
          series('lat_seconds_sum', {}, 1),
          series('lat_seconds_count', {}, 1),
          series('lat_seconds_created', {}, 1_600_000_000),
        ], 'L.'),
      ]);
      assert.deepEqual(checkMetrics(text), { status: 0, output: [] });
    });

    it('reports only the lint findings the input deserves, never a format error', () => {
      // Missing HELP and a counter without _total are the caller's naming choices, not encoder bugs:
      // promtool lints them (exit 3) and the text is still valid.
      const text = encodeText([
        family('jobs', 'counter', [series('jobs', { q: 'a"b' }, 1)]),
        family('queue_depth', 'gauge', [series('queue_depth', {}, NaN)]),
        family('ok_total', 'counter', [series('ok_total', {}, 1)], 'Fine.'),
      ]);
      const r = checkMetrics(text);
      assert.equal(r.status, 3, r.output.join('\n'));
      assert.deepEqual(r.output.sort(), [
        'jobs counter metrics should have "_total" suffix',
        'jobs no help text',
        'queue_depth no help text',
      ]);
    });

    it('does fail on a real format error (control)', () => {
      const r = checkMetrics('# TYPE m gauge\nm{a="x"} 1 1.5\n');
      assert.equal(r.status, 1);
      assert.match(r.output.join('\n'), /error while linting/);
    });
  });

  describe('OpenMetrics with `promtool tsdb create-blocks-from openmetrics`', () => {
    it('imports every sample of every type, with nasty labels, NaN and ±Inf', () => {
      const text = encodeOpenMetrics(everyType(), { timestamps: true });
      assert.deepEqual(openMetricsProblems(text), []);
      const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
      const r = importOpenMetrics(text);
      assert.equal(r.status, 0, r.output.join('\n'));
      assert.equal(r.samples, lines, r.output.join('\n'));
    });

    it('imports counters renamed to _total and units that fit the name', () => {
      const text = encodeOpenMetrics([
        family('bare', 'counter', [series('bare', { a: '1' }, 1, 1000), series('bare', { a: '2' }, 2, 1000)], 'Bare "counter".', 'seconds'),
        family('energy_joules_total', 'counter', [series('energy_joules_total', {}, 5, 1000)], 'Energy.', 'joules'),
        family('thing', 'untyped', [series('thing', {}, 1, 1000)], 'Untyped.', 'bytes'),
      ], { timestamps: true });
      assert.deepEqual(openMetricsProblems(text), []);
      const r = importOpenMetrics(text);
      assert.equal(r.status, 0, r.output.join('\n'));
      assert.equal(r.samples, 4);
    });

    it('imports _created series', () => {
      const text = encodeOpenMetrics([
        family('reqs', 'counter', [series('reqs_total', { a: 'b' }, 5, 1000), series('reqs_created', { a: 'b' }, 1_600_000_000, 1000)], 'R.'),
        family('lat_seconds', 'histogram', [
          series('lat_seconds_bucket', { le: '+Inf' }, 1, 1000),
          series('lat_seconds_sum', {}, 1, 1000),
          series('lat_seconds_count', {}, 1, 1000),
          series('lat_seconds_created', {}, 1_600_000_000, 1000),
        ], 'L.', 'seconds'),
      ], { timestamps: true });
      assert.deepEqual(openMetricsProblems(text), []);
      const r = importOpenMetrics(text);
      assert.equal(r.status, 0, r.output.join('\n'));
      assert.equal(r.samples, 6);
    });

    it('does reject invalid OpenMetrics (control)', () => {
      const r = importOpenMetrics('# TYPE a counter\n# UNIT a seconds\na_total 1 1\n# EOF\n');
      assert.notEqual(r.status, 0);
      assert.match(r.output.join('\n'), /unit not a suffix/);
    });
  });
});
