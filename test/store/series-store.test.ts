import assert from 'node:assert/strict';
import type { Sample, SeriesSlot } from '../../src/model/sample';
import { SeriesStore, type StoreLimits } from '../../src/store/series-store';

function clock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const g = (name: string, labels: Record<string, string>, value: number, timestampMs?: number): Sample => ({ name, labels, value, timestampMs, type: 'gauge' });

function makeStore(limits: Partial<StoreLimits> = {}, c = clock()) {
  const l: StoreLimits = { retentionSeconds: 300, maxSeries: 1000, maxSystemSeries: 1000, maxStoreBytes: 64 * 1024 * 1024, historySeconds: 3600, ...limits };
  const removed: string[] = [];
  const store = new SeriesStore(() => l, c.now, (reason) => removed.push(reason));
  return { store, limits: l, clock: c, removed };
}

describe('SeriesStore', () => {
  it('keys series by name and sorted labels, never by name alone', () => {
    const { store } = makeStore();
    store.write([g('fps', { source: 'cam1' }, 30), g('fps', { source: 'cam2' }, 25), g('fps', {}, 1)], 'custom');
    assert.equal(store.size, 3);
    assert.equal(store.get('fps{source="cam1"}')?.value, 30);
    assert.equal(store.get('fps{source="cam2"}')?.value, 25);
    // Label order does not matter.
    store.write([g('x', { b: '2', a: '1' }, 5)], 'custom');
    store.write([g('x', { a: '1', b: '2' }, 6)], 'custom');
    assert.equal(store.get('x{a="1",b="2"}')?.value, 6);
    assert.equal(store.size, 4);
  });

  it('escapes label values in keys so different label sets cannot collide', () => {
    const { store } = makeStore();
    store.write([g('m', { a: 'x",b="y' }, 1), g('m', { a: 'x', b: 'y' }, 2)], 'custom');
    assert.equal(store.size, 2);
  });

  it('keeps a time-ordered history and the newest point as latest', () => {
    const { store } = makeStore();
    const t0 = 1_700_000_000_000;
    store.write([g('m', {}, 1, t0)], 'custom');
    store.write([g('m', {}, 3, t0 + 2000)], 'custom');
    store.write([g('m', {}, 2, t0 + 1000)], 'custom'); // out of order but newer than all history: kept
    const s = store.get('m')!;
    assert.equal(s.value, 3);
    assert.deepEqual(s.points(), [[t0, 1], [t0 + 1000, 2], [t0 + 2000, 3]]);
    store.write([g('m', {}, 30, t0 + 2000)], 'custom'); // same instant as the latest: last write wins
    assert.equal(s.value, 30);
    const res = store.write([g('m', {}, 0, t0 + 500), g('m', {}, 0, t0 + 1000)], 'custom'); // not newer than history
    assert.equal(res.tooOld, 2);
    assert.deepEqual(s.points(), [[t0, 1], [t0 + 1000, 2], [t0 + 2000, 30]]);
    assert.deepEqual(s.points(t0 + 500, t0 + 1500), [[t0 + 1000, 2]]);
  });

  it('keeps history by time, in chunks, bit for bit', () => {
    const { store, limits } = makeStore({ historySeconds: 600 });
    const t0 = 1_700_000_000_000;
    const special = [NaN, Infinity, -Infinity, -0, 0, Number.MIN_VALUE, -Number.MAX_VALUE, 0.1 + 0.2];
    const value = (i: number) => (i % 50 < special.length ? special[i % 50] : Math.sin(i) * 100);
    for (let i = 0; i < 1000; i++) store.write([g('m', {}, value(i), t0 + i * 1000)], 'custom');
    const s = store.get('m')!;
    const pts = s.points();
    // 1000 s written, 600 s kept: whole chunks of 120 points older than the window are gone.
    assert.equal(pts.at(-1)![0], t0 + 999_000);
    assert.ok(pts[0][0] <= t0 + 399_000 && pts[0][0] > t0 + 399_000 - 120_000, `oldest ${pts[0][0] - t0}`);
    assert.ok(store.historyTrims.window > 0);
    for (const [t, v] of pts) {
      const i = (t - t0) / 1000;
      assert.ok(Object.is(v, value(i)), `point ${i}: ${v} vs ${value(i)}`);
    }
    limits.historySeconds = 0; // history off: the next write keeps the latest point only
    store.write([g('m', {}, 5, t0 + 1_000_000)], 'custom');
    assert.deepEqual(s.points(), [[t0 + 1_000_000, 5]]);
    assert.equal(store.historyBytes, 0, 'its chunks were released');
  });

  it('trims history oldest-first before evicting any series, and counts it', () => {
    const { store, limits } = makeStore({ maxStoreBytes: 64 * 1024 * 1024 });
    const t0 = 1_700_000_000_000;
    for (let k = 0; k < 600; k++) {
      const batch: Sample[] = [];
      for (let i = 0; i < 100; i++) batch.push(g('m', { i: String(i) }, Math.round(Math.sin(k + i) * 1000), t0 + k * 1000));
      store.write(batch, 'custom');
    }
    assert.ok(store.historyBytes > 0);
    const before = store.bytes;
    limits.maxStoreBytes = before - store.historyBytes / 2;
    store.write([g('m', { i: '0' }, 1, t0 + 600_000)], 'custom');
    assert.ok(store.bytes <= limits.maxStoreBytes, `${store.bytes} > ${limits.maxStoreBytes}`);
    assert.equal(store.size, 100, 'no series evicted');
    assert.equal(store.removals.max_bytes, 0);
    assert.ok(store.historyTrims.max_bytes > 0);
    // Oldest first: every series lost its oldest points, none its newest.
    for (const s of store.all()) {
      const pts = s.points();
      assert.ok(pts[0][0] > t0, 'the oldest chunk went');
      assert.ok(pts.at(-1)![0] >= t0 + 599_000);
    }
    // Past what history can give back, series go.
    limits.maxStoreBytes = 20_000;
    store.write([g('m', { i: '1' }, 1, t0 + 601_000)], 'custom');
    assert.equal(store.historyBytes, 0);
    assert.ok(store.removals.max_bytes > 0);
    assert.ok(store.bytes <= 20_000);
  });

  it('expires series by time since their last update, incrementally from the oldest', () => {
    const c = clock();
    const { store, removed } = makeStore({ retentionSeconds: 10 }, c);
    store.write([g('a', {}, 1)], 'custom');
    c.advance(6000);
    store.write([g('b', {}, 1)], 'custom');
    c.advance(5000); // a is 11 s old, b 5 s
    assert.equal(store.expire(), 1);
    assert.equal(store.get('a'), undefined);
    assert.ok(store.get('b'));
    // An update refreshes retention.
    store.write([g('b', {}, 2)], 'custom');
    c.advance(9000);
    assert.equal(store.expire(), 0);
    assert.deepEqual(removed, ['expired']);
  });

  it('evicts the least recently updated series at the series bound and counts it', () => {
    const c = clock();
    const { store, removed } = makeStore({ maxSeries: 3 }, c);
    for (const n of ['a', 'b', 'c']) {
      store.write([g(n, {}, 1)], 'custom');
      c.advance(10);
    }
    store.write([g('a', {}, 2)], 'custom'); // a is now the most recent
    store.write([g('d', {}, 1)], 'custom');
    assert.equal(store.size, 3);
    assert.equal(store.get('b'), undefined);
    assert.ok(store.get('a') && store.get('c') && store.get('d'));
    assert.deepEqual(removed, ['max_series']);
    assert.equal(store.removals.max_series, 1);
  });

  it('never exceeds the bound even when one request brings more new series than it', () => {
    const { store, removed } = makeStore({ maxSeries: 5 });
    const res = store.write(Array.from({ length: 12 }, (_, i) => g('m', { i: String(i) }, i)), 'custom');
    assert.equal(res.stored, 12);
    assert.equal(store.size, 5);
    assert.equal(removed.length, 7);
  });

  it('enforces the byte budget by evicting the least recently updated series', () => {
    const { store } = makeStore({ maxStoreBytes: 20_000 });
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 50; i++) store.write([g('m', { i: String(i) }, i, t0)], 'custom');
    const before = store.bytes;
    assert.ok(before < 20_000, `50 small series fit: ${before}`);
    // Series with long keys push others out.
    for (let k = 1; k <= 200; k++) store.write([g('big', { pad: 'x'.repeat(k) }, k, t0 + k)], 'custom');
    assert.ok(store.bytes <= 20_000, `bytes ${store.bytes}`);
    assert.ok(store.get(`big{pad="${'x'.repeat(200)}"}`), 'the newest stays');
    assert.equal(store.get('m{i="0"}'), undefined, 'the oldest went');
    assert.ok(store.removals.max_bytes > 0);
  });

  it('applies a lowered series bound from the live limits on the next expiry pass', () => {
    const { store, limits } = makeStore({ maxSeries: 10 });
    for (let i = 0; i < 10; i++) store.write([g('m', { i: String(i) }, i)], 'custom');
    limits.maxSeries = 4;
    store.expire();
    assert.equal(store.size, 4);
  });

  it('refuses a sample whose family exists with another type, and reports it', () => {
    const { store } = makeStore();
    store.write([{ name: 'lat_bucket', family: 'lat', labels: { le: '1' }, value: 1, type: 'histogram' }], 'custom');
    const res = store.write([{ name: 'lat', labels: {}, value: 1, type: 'gauge' }], 'custom');
    assert.equal(res.typeConflicts, 1);
    assert.match(res.firstConflict!, /family "lat" is already a histogram/);
    assert.equal(store.get('lat'), undefined);
  });

  it('groups series by family and drops empty families', () => {
    const { store } = makeStore();
    store.write([
      { name: 'lat_bucket', family: 'lat', labels: { le: '1' }, value: 1, type: 'histogram' },
      { name: 'lat_count', family: 'lat', labels: {}, value: 1, type: 'histogram' },
      g('up', {}, 1),
    ], 'custom');
    const fams = [...store.allFamilies()].map((f) => [f.name, [...f.series()].map((s) => s.name)]);
    assert.deepEqual(fams, [['lat', ['lat_bucket', 'lat_count']], ['up', ['up']]]);
    assert.equal(store.deleteWhere((s) => s.family.name === 'lat'), 2);
    assert.deepEqual([...store.allFamilies()].map((f) => f.name), ['up']);
  });

  it('keeps its byte estimate equal to the sum over its series and the chunk arena, down to zero', () => {
    const { store, limits } = makeStore({ historySeconds: 200 });
    const t0 = 1_700_000_000_000;
    for (let k = 0; k < 500; k++) store.write([g('a', { x: '1' }, k, t0 + k * 1000), g('b', {}, k, t0 + k * 1000)], 'system');
    const sum = () => [...store.all()].reduce((n, s) => n + s.bytes, 0) + store.historyBytes;
    assert.ok(store.historyTrims.window > 0);
    assert.equal(store.bytes, sum());
    limits.historySeconds = 0; // dropping history must be accounted too
    store.write([g('a', { x: '1' }, 99, t0 + 600_000)], 'system');
    assert.equal(store.bytes, sum());
    store.clear();
    assert.equal(store.bytes, 0);
  });

  it('gives labels back from the key', () => {
    const { store } = makeStore();
    store.write([g('m', { b: 'x "q"', a: 'line\nbreak' }, 1)], 'custom');
    assert.deepEqual(store.get('m{a="line\\nbreak",b="x \\"q\\""}')?.labels, { a: 'line\nbreak', b: 'x "q"' });
  });

  it('keeps retention right across the internal clock rebase (weeks of uptime)', () => {
    const c = clock();
    const { store } = makeStore({ retentionSeconds: 100 }, c);
    store.write([g('old', {}, 1)], 'custom');
    c.advance(2 ** 30 - 50_000); // ~12 days: the next writes cross the rebase point
    store.write([g('a', {}, 1)], 'custom');
    assert.equal(store.get('old'), undefined, 'expired long ago');
    c.advance(60_000);
    store.write([g('b', {}, 1)], 'custom');
    c.advance(50_000); // a is 110 s old, b 50 s
    store.expire();
    assert.equal(store.get('a'), undefined);
    assert.ok(store.get('b'));
    c.advance(49_000);
    store.expire();
    assert.ok(store.get('b'), 'b is 99 s old');
    c.advance(2_000);
    store.expire();
    assert.equal(store.get('b'), undefined);
  });

  it('bounds custom and system series apart: neither evicts the other', () => {
    const c = clock();
    const { store, removed } = makeStore({ maxSeries: 3, maxSystemSeries: 2 }, c);
    for (let i = 0; i < 3; i++) store.write([g('pushed', { i: String(i) }, i)], 'custom');
    c.advance(10);
    // Many more system series than fit: they evict older system series only.
    for (let i = 0; i < 10; i++) {
      store.write([g('cpu', { core: String(i) }, i)], 'system');
      c.advance(10);
    }
    assert.equal(store.sizeOf('custom'), 3);
    assert.equal(store.sizeOf('system'), 2);
    assert.deepEqual([...store.all()].filter((s) => s.origin === 'system').map((s) => s.labels.core).sort(), ['8', '9']);
    // And pushes evict older pushes only.
    for (let i = 3; i < 6; i++) store.write([g('pushed', { i: String(i) }, i)], 'custom');
    assert.equal(store.sizeOf('system'), 2);
    assert.deepEqual(store.names('custom'), ['pushed']);
    assert.deepEqual(store.names('system'), ['cpu']);
    assert.equal(removed.length, 8 + 3);
    assert.equal(store.size, 5);
  });

  it('evicts for bytes only within the writing origin', () => {
    const c = clock();
    const { store, limits } = makeStore({}, c);
    for (let i = 0; i < 20; i++) store.write([g('cpu', { core: String(i) }, i)], 'system');
    limits.maxStoreBytes = store.bytes + 2000;
    for (let i = 0; i < 200; i++) store.write([g('pushed', { i: String(i) }, i)], 'custom');
    assert.equal(store.sizeOf('system'), 20, 'pushes never evict system series');
    assert.ok(store.sizeOf('custom') < 200 && store.sizeOf('custom') > 0);
    assert.ok(store.removals.max_bytes > 0);
    assert.ok(store.bytes <= limits.maxStoreBytes);
  });

  it('clears one origin and lists series written since a time across both', () => {
    const c = clock();
    const { store } = makeStore({}, c);
    store.write([g('a', {}, 1)], 'custom');
    c.advance(10);
    store.write([g('s', {}, 1)], 'system');
    c.advance(10);
    const since = c.now();
    store.write([g('b', {}, 1)], 'custom');
    c.advance(10);
    store.write([g('t', {}, 1)], 'system');
    c.advance(10);
    store.write([g('a', {}, 2)], 'custom');
    assert.deepEqual([...store.updatedSince(since)].map((s) => s.name), ['a', 't', 'b']);
    assert.equal(store.clearOrigin('custom'), 2);
    assert.deepEqual([...store.all()].map((s) => s.name), ['s', 't']);
  });

  it('fills a missing timestamp with the current time', () => {
    const c = clock();
    const { store } = makeStore({}, c);
    store.write([g('m', {}, 1)], 'custom');
    assert.equal(store.get('m')!.timestampMs, c.now());
  });

  describe('slots (Sample.slot)', () => {
    const slotted = (slot: SeriesSlot, value: number, timestampMs: number, labels: Record<string, string> = { a: '1' }): Sample => ({ ...g('m', labels, value, timestampMs), key: slot.key, slot });
    const newSlot = (key = 'm{a="1"}'): SeriesSlot => ({ key, series: null, epoch: 0 });
    const t0 = 1_700_000_000_000;

    it('remembers the series of a slot and writes through it', () => {
      const { store } = makeStore();
      const slot = newSlot();
      store.write([slotted(slot, 1, t0)], 'custom');
      const series = store.get('m{a="1"}')!;
      assert.equal(slot.series, series);
      store.write([slotted(slot, 2, t0 + 1000), slotted(slot, 3, t0 + 2000)], 'custom');
      assert.equal(store.get('m{a="1"}'), series);
      assert.deepEqual(series.points(), [[t0, 1], [t0 + 1000, 2], [t0 + 2000, 3]]);
      assert.equal(store.size, 1);
    });

    it('looks a series up again after any removal: a deleted or evicted series is never written through a slot', () => {
      const { store } = makeStore({ maxSeries: 2 });
      const slot = newSlot();
      store.write([slotted(slot, 1, t0)], 'custom');
      const first = store.get('m{a="1"}')!;
      assert.equal(store.deleteWhere((s) => s.key === 'm{a="1"}'), 1);
      const res = store.write([slotted(slot, 2, t0 + 1000)], 'custom');
      assert.equal(res.stored, 1);
      const second = store.get('m{a="1"}')!;
      assert.notEqual(second, first);
      assert.deepEqual(second.points(), [[t0 + 1000, 2]]);
      assert.equal(slot.series, second);
      // Evicted by two newer series at the bound, then written again through the old slot.
      store.write([g('n', {}, 1, t0 + 2000), g('o', {}, 1, t0 + 2000)], 'custom');
      assert.equal(store.get('m{a="1"}'), undefined);
      store.write([slotted(slot, 4, t0 + 3000)], 'custom');
      assert.deepEqual(store.get('m{a="1"}')!.points(), [[t0 + 3000, 4]]);
      assert.notEqual(store.get('m{a="1"}'), second);
      assert.equal(store.size, 2);
    });

    it('lets go of a removed series: the slot no longer holds it, whatever removed it', () => {
      const { store } = makeStore({ maxSeries: 1, retentionSeconds: 60 });
      const slot = newSlot();
      store.write([slotted(slot, 1, t0)], 'custom');
      assert.notEqual(slot.series, null);
      store.write([g('n', {}, 1)], 'custom'); // evicts m{a="1"} (bound 1)
      assert.equal(store.get('m{a="1"}'), undefined);
      assert.equal(slot.series, null);
      store.write([slotted(slot, 2, t0 + 1000)], 'custom');
      const again = store.get('m{a="1"}')!;
      assert.equal(slot.series, again);
      assert.equal(again.slot, slot);
      store.clear();
      assert.equal(slot.series, null);
      assert.equal(again.slot, null);
    });

    it('keeps one slot per series: a second slot for the same key takes it over', () => {
      const { store } = makeStore();
      const a = newSlot();
      const b = newSlot();
      store.write([slotted(a, 1, t0)], 'custom');
      const series = store.get('m{a="1"}')!;
      store.write([slotted(b, 2, t0 + 1000)], 'custom');
      assert.equal(b.series, series);
      assert.equal(a.series, null);
      assert.equal(series.slot, b);
      // Either slot still finds the series (the released one by key), and both write to it.
      store.write([slotted(a, 3, t0 + 2000)], 'custom');
      assert.equal(a.series, series);
      assert.equal(b.series, null);
      assert.deepEqual(series.points(), [[t0, 1], [t0 + 1000, 2], [t0 + 2000, 3]]);
      assert.equal(store.deleteWhere(() => true), 1);
      assert.equal(a.series, null);
      assert.equal(b.series, null);
    });

    it('ignores a slot another store filled', () => {
      const a = makeStore().store;
      const b = makeStore().store;
      const slot = newSlot();
      a.write([slotted(slot, 1, t0)], 'custom');
      b.write([slotted(slot, 2, t0 + 1000)], 'custom');
      assert.deepEqual(a.get('m{a="1"}')!.points(), [[t0, 1]]);
      assert.deepEqual(b.get('m{a="1"}')!.points(), [[t0 + 1000, 2]]);
      a.write([slotted(slot, 3, t0 + 2000)], 'custom');
      assert.deepEqual(a.get('m{a="1"}')!.points(), [[t0, 1], [t0 + 2000, 3]]);
      assert.equal(b.get('m{a="1"}')!.points().length, 1);
    });

    it('ignores a slot of another key (labels changed after parsing)', () => {
      const { store } = makeStore();
      const slot = newSlot();
      store.write([slotted(slot, 1, t0)], 'custom');
      // The sample's labels were stamped since: its key is built from them, the slot is not used.
      const stamped: Sample = { ...g('m', { a: '1', namespace: 'x' }, 2, t0 + 1000), slot };
      store.write([stamped], 'custom');
      assert.deepEqual(store.get('m{a="1"}')!.points(), [[t0, 1]]);
      assert.deepEqual(store.get('m{a="1",namespace="x"}')!.points(), [[t0 + 1000, 2]]);
      assert.equal(slot.series, store.get('m{a="1"}'));
    });
  });
});
