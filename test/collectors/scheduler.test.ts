/**
 * The scheduler's hand-over to the hub: the node's host label is added, and a series keeps its
 * labels object, key and store slot from cycle to cycle, so the store neither rebuilds its key nor
 * looks it up again; what a cycle no longer reports is let go.
 */

import assert from 'node:assert/strict';
import type { Collection, Collector } from '../../src/collectors/collector';
import { LabelCache } from '../../src/collectors/labels';
import { CollectorScheduler } from '../../src/collectors/scheduler';
import { parseConfig } from '../../src/config/load';
import { Hub } from '../../src/hub/hub';
import { createLogger } from '../../src/log/logger';
import type { Labels, Sample } from '../../src/model/sample';
import { seriesKey } from '../../src/model/series-key';
import { SeriesStore } from '../../src/store/series-store';
import { SelfMetrics } from '../../src/telemetry/self-metrics';

const logger = createLogger({ level: 'error', format: 'json', service: 't', version: 't', silent: true });

/** A collector reporting two fields for each of the CPUs it is told, with labels reused as the real ones do. */
function cpuLike(cpus: () => string[], reuseLabels = true): Collector {
  const cache = new LabelCache('cpu');
  return {
    name: 'cpu',
    defaultIntervalMs: 1000,
    collect: async (): Promise<Collection> => {
      const samples: Sample[] = [];
      for (const cpu of cpus()) {
        const labels: Labels = reuseLabels ? cache.get(cpu) : { cpu };
        samples.push({ name: 'cpu_usage_user', labels, value: 1, type: 'gauge' });
        samples.push({ name: 'cpu_usage_system', labels, value: 2, type: 'gauge' });
      }
      cache.retain(new Set(cpus()));
      return { samples, present: true };
    },
  };
}

function setup(collector: Collector) {
  const config = parseConfig({});
  const store = new SeriesStore(() => config, Date.now);
  const hub = new Hub(store, new SelfMetrics({ series: () => store.size, bytes: () => store.bytes }));
  const batches: Sample[][] = [];
  hub.subscribe((b) => void batches.push([...b.samples]));
  const scheduler = new CollectorScheduler([{ collector, intervalMs: 1000 }], hub, 'node-1', logger);
  return { store, batches, scheduler };
}

describe('collectors: scheduler', () => {
  it('adds the host label and keeps each series key and slot across cycles', async () => {
    const { store, batches, scheduler } = setup(cpuLike(() => ['cpu0', 'cpu1']));
    await scheduler.runOnce();
    await scheduler.runOnce();
    assert.equal(batches.length, 2);
    const [first, second] = batches;
    assert.equal(first.length, 4);
    for (let i = 0; i < first.length; i++) {
      const a = first[i];
      const b = second[i];
      assert.deepEqual(a.labels, { cpu: i < 2 ? 'cpu0' : 'cpu1', host: 'node-1' });
      assert.equal(a.key, seriesKey(a.name, a.labels));
      // The same objects in the next cycle: no new labels, key or slot per cycle.
      assert.equal(b.labels, a.labels);
      assert.equal(b.key, a.key);
      assert.equal(b.slot, a.slot);
      // The slot names the store's series, so the store skips its map lookup.
      assert.equal(b.slot!.series, store.get(a.key!));
    }
    assert.equal(store.size, 4);
  });

  it('lets go of the series a cycle no longer reports, and keys new labels objects right', async () => {
    let cpus = ['cpu0', 'cpu1'];
    const { store, batches, scheduler } = setup(cpuLike(() => cpus));
    await scheduler.runOnce();
    const cpu1Slot = batches[0][2].slot!;
    cpus = ['cpu0'];
    await scheduler.runOnce();
    cpus = ['cpu0', 'cpu1'];
    await scheduler.runOnce();
    // cpu1 came back with a new labels object (the collector forgot the old one): a new slot, the same series.
    const back = batches[2][2];
    assert.notEqual(back.slot, cpu1Slot);
    assert.equal(back.key, 'cpu_usage_user{cpu="cpu1",host="node-1"}');
    assert.equal(back.slot!.series, store.get(back.key!));
    assert.equal(store.size, 4);
  });

  it('keys samples right when a collector hands out new labels objects every cycle', async () => {
    const { store, batches, scheduler } = setup(cpuLike(() => ['cpu0'], false));
    await scheduler.runOnce();
    await scheduler.runOnce();
    assert.notEqual(batches[1][0].slot, batches[0][0].slot);
    assert.equal(batches[1][0].key, 'cpu_usage_user{cpu="cpu0",host="node-1"}');
    assert.equal(batches[1][0].slot!.series, store.get('cpu_usage_user{cpu="cpu0",host="node-1"}'));
    assert.equal(store.size, 2);
  });
});
