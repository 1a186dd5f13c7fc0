import assert from 'node:assert/strict';
import { HeapPageReleaser } from '../../src/memory/heap-pages';
import { SelfMetrics } from '../../src/telemetry/self-metrics';

const MiB = 1024 * 1024;

describe('heap page release (V8 page pool)', () => {
  function rig(opts = { thresholdBytes: 32 * MiB, minIntervalMs: 120_000 }) {
    const s = { anon: 100 * MiB, accounted: 80 * MiB, t: 0, calls: [] as unknown[], gcFrees: 0 };
    const r = new HeapPageReleaser(opts, { anon: () => s.anon, accounted: () => s.accounted }, () => s.t, () => (o) => {
      s.calls.push(o);
      s.anon -= s.gcFrees;
    });
    return { s, r };
  }

  it('runs a last-resort collection only when anonymous memory outgrows the heap and external memory by the threshold', () => {
    const { s, r } = rig();
    assert.equal(r.check(), 0, '20 MiB unexplained: below 32');
    assert.equal(s.calls.length, 0);
    s.anon = 130 * MiB; // 50 MiB unexplained
    s.gcFrees = 40 * MiB;
    assert.equal(r.check(), 40 * MiB);
    assert.deepEqual(s.calls, [{ type: 'major', flavor: 'last-resort' }]);
    assert.equal(r.releases, 1);
    assert.equal(r.releasedBytes, 40 * MiB);
  });

  it('waits the minimum interval, and counts from the level left after the last release', () => {
    const { s, r } = rig();
    s.anon = 130 * MiB;
    s.gcFrees = 5 * MiB; // little was pooled: 45 MiB stay unexplained (malloc, stacks)
    assert.equal(r.check(), 5 * MiB);
    s.t += 119_000;
    s.anon = 200 * MiB;
    assert.equal(r.check(), 0, 'within the interval');
    s.t += 1_000;
    s.anon = 150 * MiB; // 70 unexplained: 25 above the 45 left last time
    assert.equal(r.check(), 0, 'not 32 MiB above the floor');
    assert.equal(s.calls.length, 1);
    s.anon = 160 * MiB; // 80: 35 above the floor
    assert.equal(r.check(), 5 * MiB);
    assert.equal(s.calls.length, 2);
  });

  it('lowers the floor when memory falls, so a level left in a burst does not hold back the next release', () => {
    const { s, r } = rig();
    s.anon = 140 * MiB; // 60 unexplained
    s.gcFrees = 5 * MiB; // in a burst: 55 stay (request buffers, compiler zones)
    assert.equal(r.check(), 5 * MiB);
    s.t += 10_000;
    s.anon = 90 * MiB; // the burst is over: 10 unexplained
    assert.equal(r.check(), 0, 'within the interval');
    s.t += 110_000;
    s.anon = 124 * MiB; // 44 unexplained: 34 above the 10 seen since, though below 55 + 32
    s.gcFrees = 30 * MiB;
    assert.equal(r.check(), 30 * MiB);
    assert.equal(s.calls.length, 2);
  });

  it('does nothing where the gc function cannot be had', () => {
    const r = new HeapPageReleaser({ thresholdBytes: 0, minIntervalMs: 0 }, { anon: () => 500 * MiB, accounted: () => 0 }, () => 0, () => undefined);
    assert.equal(r.check(), 0);
    assert.equal(r.releases, 0);
  });

  it('with the real process: a release runs V8\'s collection and leaves the global object without gc', () => {
    const hadGc = typeof (globalThis as { gc?: unknown }).gc === 'function';
    const r = new HeapPageReleaser({ thresholdBytes: -Infinity, minIntervalMs: 0 });
    const freed = r.check();
    assert.equal(r.releases, 1);
    assert.ok(freed >= 0);
    assert.equal(typeof (globalThis as { gc?: unknown }).gc === 'function', hadGc, 'the global gc is left as it was');
  });

  it('the agent\'s self metrics count the releases and the bytes they gave back', async () => {
    const r = new HeapPageReleaser({ thresholdBytes: -Infinity, minIntervalMs: 0 });
    const m = new SelfMetrics({ series: () => 0, bytes: () => 0 });
    m.watchHeapPages(r);
    const read = async () => {
      const text = await m.registry.metrics();
      const value = (name: string) => Number(text.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1]);
      return { releases: value('metrics_manager_heap_page_releases_total'), bytes: value('metrics_manager_heap_page_released_bytes_total') };
    };
    assert.deepEqual(await read(), { releases: 0, bytes: 0 });
    r.check();
    r.check();
    assert.deepEqual(await read(), { releases: 2, bytes: r.releasedBytes });
  });
});
