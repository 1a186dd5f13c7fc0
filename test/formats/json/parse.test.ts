import assert from 'node:assert/strict';
import { parseReport } from '../../../src/formats/component-report/parse';
import { parseBatch, parseSimple } from '../../../src/formats/json/parse';
import { ValidationError } from '../../../src/model/names';

describe('JSON formats', () => {
  describe('parseSimple', () => {
    it('builds one gauge sample with auto-detected timestamp units', () => {
      for (const [ts, ms] of [[1704067200, 1704067200000], [1704067200000, 1704067200000], [1704067200000000, 1704067200000], [1704067200000000000, 1704067200000]]) {
        const s = parseSimple({ name: 'm', value: 1, timestamp: ts });
        assert.equal(s.timestampMs, ms, String(ts));
      }
      const s = parseSimple({ name: 'fps', value: 29.97, tags: { source: 'cam' } });
      assert.deepEqual({ ...s, timestampMs: s.timestampMs }, { name: 'fps', labels: { source: 'cam' }, value: 29.97, timestampMs: undefined, type: 'gauge', help: undefined, unit: undefined });
    });

    it('accepts null tags and drops empty tag values', () => {
      assert.deepEqual(parseSimple({ name: 'm', value: 1, tags: null }).labels, {});
      assert.deepEqual(parseSimple({ name: 'm', value: 1, tags: { a: '', b: 'x' } }).labels, { b: 'x' });
    });

    it('rejects bad input with ValidationError naming the field', () => {
      assert.throws(() => parseSimple({ value: 1 }), (e: unknown) => e instanceof ValidationError && /name/.test(e.message));
      assert.throws(() => parseSimple({ name: 'm', value: 'Infinity' }), ValidationError);
      // The value's problem in words a pusher can act on, whatever was wrong with it.
      for (const value of [true, 'abc', null, undefined, {}]) {
        assert.throws(() => parseSimple({ name: 'm', value }), (e: unknown) => e instanceof ValidationError && e.message === 'value: value must be a finite number or a numeric string', String(value));
      }
      // JSON reads 1e999 as Infinity: not a value we store.
      assert.throws(() => parseSimple({ name: 'm', value: JSON.parse('1e999') as number }), /value: value must be a finite number$/);
      assert.throws(() => parseSimple({ name: 'm', value: '1e999' }), /value: value must be a finite number$/);
      assert.equal(parseSimple({ name: 'm', value: ' 12.5 ' }).value, 12.5);
      assert.throws(() => parseSimple({ name: 'm', value: 1, metric_type: 'meter' }), /metric_type/);
    });
  });

  describe('parseBatch', () => {
    it('one series per numeric field, strings skipped, booleans 0/1, shared labels object', () => {
      const { samples, points } = parseBatch({ metrics: [{ name: 'inf', fields: { value: 2, lat: 1.5, ok: false, model: 'x' }, tags: { a: 'b' }, metric_type: 'counter' }] }, 10);
      assert.equal(points, 1);
      assert.deepEqual(samples.map((s) => [s.name, s.value, s.type]), [['inf', 2, 'counter'], ['inf_lat', 1.5, 'counter'], ['inf_ok', 0, 'counter']]);
      assert.ok(samples[0].labels === samples[1].labels);
    });

    it('maps histogram/summary metric types to untyped (a single number has no buckets)', () => {
      const { samples } = parseBatch({ metrics: [{ name: 'h', fields: { v: 1 }, metric_type: 'histogram' }] }, 10);
      assert.equal(samples[0].type, 'untyped');
    });

    it('lists every invalid item', () => {
      assert.throws(() => parseBatch({ metrics: [{ name: 'a', fields: { v: 1 } }, { name: 'b' }, { fields: { v: 1 } }] }, 10), (e: unknown) => {
        assert.ok(e instanceof ValidationError);
        assert.deepEqual(e.details!.map((d) => d.slice(0, 11)), ['metrics[1]:', 'metrics[2]:']);
        return true;
      });
      assert.throws(() => parseBatch({ metrics: 'x' }, 10), /metrics must be an array/);
      assert.throws(() => parseBatch({ metrics: [1, 2, 3] }, 2), /Batch size 3 exceeds the configured limit of 2/);
    });
  });

  describe('parseReport', () => {
    it('adds component labels and keeps help and unit', () => {
      const [s] = parseReport({ component_name: 'w1', component_type: 'worker', metrics: [{ metric_name: 'cpu.pct', metric_value: 3, help_text: 'h', unit: 'percent', timestamp: '2024-01-01T00:00:00Z' }] }, 10);
      assert.deepEqual(s, { name: 'cpu_pct', labels: { component_name: 'w1', component_type: 'worker' }, value: 3, timestampMs: 1704067200000, type: 'gauge', help: 'h', unit: 'percent' });
    });

    it('a component label in labels cannot override the component', () => {
      const [s] = parseReport({ component_name: 'w1', metrics: [{ metric_name: 'm', metric_value: 1, labels: { component_name: 'spoof' } }] }, 10);
      assert.equal(s.labels.component_name, 'w1');
    });

    it('rejects non-numeric values naming the item', () => {
      assert.throws(() => parseReport({ component_name: 'w', metrics: [{ metric_name: 'm', metric_value: 'x' }] }, 10), (e: unknown) => e instanceof ValidationError && /metrics\[0\]/.test(e.details!.join()));
    });
  });
});
