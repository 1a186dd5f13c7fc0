import assert from 'node:assert/strict';

import type { Labels, MetricType } from '../../../src/model/sample';
import { encodeOpenMetrics, encodeText, type ExpoFamily } from '../../../src/formats/prometheus/encode';
import { parsePrometheusText } from '../../../src/formats/prometheus/parse';
import { everyType, family, series } from './fixtures';

interface Flat {
  name: string;
  labels: Labels;
  value: number;
  timestampMs?: number;
  type: MetricType;
  help?: string;
}

/** Decodes the labels back out of the series keys, by way of the parser we are not testing here. */
function expected(fams: ExpoFamily[], withTimestamps: boolean): Flat[] {
  const out: Flat[] = [];
  for (const f of fams) {
    for (const s of f.series) {
      const labels = parsePrometheusText(`${s.key} 0`).families[0].samples[0].labels;
      const row: Flat = { name: s.name, labels, value: s.value, type: f.type, help: f.help };
      if (withTimestamps && s.timestampMs !== undefined) row.timestampMs = s.timestampMs;
      out.push(row);
    }
  }
  return sortRows(out);
}

function flatten(text: string): Flat[] {
  const r = parsePrometheusText(text);
  assert.deepEqual(r.errors, []);
  const out: Flat[] = [];
  for (const f of r.families) {
    for (const s of f.samples) {
      const row: Flat = { name: s.name, labels: s.labels, value: s.value, type: f.type, help: f.help };
      if (s.timestampMs !== undefined) row.timestampMs = s.timestampMs;
      out.push(row);
    }
  }
  return sortRows(out);
}

function sortRows(rows: Flat[]): Flat[] {
  const k = (r: Flat) => r.name + JSON.stringify(Object.entries(r.labels).sort());
  return rows.sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
}

describe('prometheus encode → parse round trip', () => {
  for (const withTimestamps of [false, true]) {
    it(`text 0.0.4${withTimestamps ? ' with timestamps' : ''} gives back every sample, label, value and help`, () => {
      const fams = everyType();
      assert.deepEqual(flatten(encodeText(fams, { timestamps: withTimestamps })), expected(fams, withTimestamps));
    });

    it(`OpenMetrics${withTimestamps ? ' with timestamps' : ''} gives back every sample, label, value and help`, () => {
      const fams = everyType();
      const rows = expected(fams, withTimestamps).map((r) => ({ ...r, type: r.type }));
      assert.deepEqual(flatten(encodeOpenMetrics(fams, { timestamps: withTimestamps })), rows);
    });
  }

  it('keeps family names and units where each format can carry them', () => {
    const fams = [
      family('reqs', 'counter', [series('reqs_total', {}, 1)], 'R.'),
      family('lat_seconds', 'histogram', [series('lat_seconds_bucket', { le: '+Inf' }, 1), series('lat_seconds_count', {}, 1)], 'L.', 'seconds'),
      family('power', 'gauge', [series('power', {}, 1)], 'P.', 'watts'),
    ];
    const text = parsePrometheusText(encodeText(fams)).families;
    assert.deepEqual(text.map((f) => [f.name, f.type, f.unit]), [
      ['reqs_total', 'counter', undefined],
      ['lat_seconds', 'histogram', 'seconds'],
      ['power', 'gauge', 'watts'],
    ]);
    const om = parsePrometheusText(encodeOpenMetrics(fams)).families;
    assert.deepEqual(om.map((f) => [f.name, f.type, f.unit]), [
      ['reqs', 'counter', undefined],
      ['lat_seconds', 'histogram', 'seconds'],
      ['power', 'gauge', undefined],
    ]);
  });

  it('survives random label values and numbers', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const alphabet = ['a', 'Z', '0', ' ', '"', '\\', '\n', '\t', '{', '}', ',', '=', '#', 'é', '☃', '😀', '\\n', '\\"'];
    const s = [];
    for (let i = 0; i < 300; i++) {
      let v = '';
      const len = 1 + Math.floor(rand() * 12);
      for (let j = 0; j < len; j++) v += alphabet[Math.floor(rand() * alphabet.length)];
      const value = [NaN, Infinity, -Infinity, 0, -0, rand() * 1e-300, (rand() - 0.5) * 1e300, Math.floor(rand() * 1e9)][i % 8];
      s.push(series('fuzz', { i: String(i), v }, value, Math.floor(rand() * 2e12) - 1e12));
    }
    const fams = [family('fuzz', 'gauge', s, 'fuzz "help" \\ with\nnewline')];
    assert.deepEqual(flatten(encodeText(fams, { timestamps: true })), expected(fams, true));
    assert.deepEqual(flatten(encodeOpenMetrics(fams)), expected(fams, false));
  });
});
