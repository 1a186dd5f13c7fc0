import assert from 'node:assert/strict';
import { selfReportSamples, SELF_REPORT_METRICS, type SelfSnapshot } from '../../../src/formats/component-report/self-report';
import { ValidationError } from '../../../src/model/names';
import { SelfSnapshotReader, type SelfSources } from '../../../src/telemetry/self-snapshot';

const snap: SelfSnapshot = {
  timestampMs: 1_700_000_000_000, residentBytes: 100e6, heapUsedBytes: 40e6, heapTotalBytes: 60e6, externalBytes: 5e6,
  cpuSeconds: 12.5, startTimeSeconds: 1_699_999_000, nodeMemoryTotalBytes: 8e9, nodeMemoryAvailableBytes: 6e9,
  nodeCpus: 4, load1: 1.5, load5: 1, load15: 0.5, nodeCpuUsagePercent: 25,
};

describe('self-report samples', () => {
  it('gives one sample per figure, labelled as the component, with help and the snapshot time', () => {
    const samples = selfReportSamples(snap, 'srv', 'server');
    assert.deepEqual(samples.map((s) => s.name), SELF_REPORT_METRICS);
    const by = new Map(samples.map((s) => [s.name, s]));
    assert.equal(by.get('process_resident_memory_bytes')!.value, 100e6);
    assert.equal(by.get('process_cpu_seconds_total')!.type, 'counter');
    assert.equal(by.get('system_memory_usage_percent')!.value, 25);
    assert.equal(by.get('system_load15')!.value, 0.5);
    for (const s of samples) {
      assert.deepEqual(s.labels, { component_name: 'srv', component_type: 'server' });
      assert.equal(s.timestampMs, snap.timestampMs);
      assert.ok(s.help && s.help.length > 0);
      assert.ok(s.name.endsWith('_total') === (s.type === 'counter'), s.name);
    }
    assert.deepEqual(selfReportSamples(snap, 'srv')[0].labels, { component_name: 'srv' });
  });

  it('refuses a missing or oversized component name', () => {
    assert.throws(() => selfReportSamples(snap, undefined), ValidationError);
    assert.throws(() => selfReportSamples(snap, ''), /component_name/);
    assert.throws(() => selfReportSamples(snap, 'x'.repeat(257)), /component_name/);
  });

  it('node CPU usage is the busy share between two reads', () => {
    let times = { user: 100, nice: 0, sys: 100, idle: 800, irq: 0 };
    const src: SelfSources = {
      cpus: () => [{ times }, { times }],
      totalmem: () => 1000, freemem: () => 250, loadavg: () => [1, 2, 3],
      memoryUsage: () => ({ rss: 10, heapUsed: 4, heapTotal: 6, external: 1 }),
      cpuUsage: () => ({ user: 2e6, system: 1e6 }), uptimeSeconds: () => 10,
    };
    const r = new SelfSnapshotReader(() => 50_000, src);
    const first = r.read();
    assert.equal(first.nodeCpuUsagePercent, 20); // since boot: 200 busy of 1000, per CPU
    assert.equal(first.cpuSeconds, 3);
    assert.equal(first.startTimeSeconds, 40);
    assert.equal(first.nodeCpus, 2);
    times = { user: 190, nice: 0, sys: 100, idle: 810, irq: 0 }; // +90 busy, +10 idle per CPU
    assert.equal(r.read().nodeCpuUsagePercent, 90);
    assert.equal(r.read().nodeCpuUsagePercent, 0); // nothing elapsed
  });
});
