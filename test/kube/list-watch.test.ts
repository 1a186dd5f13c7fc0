/**
 * The list+watch loop against the fake API server through client-node's Watch: resuming after a
 * dropped or silently stalled connection without missing an update, relisting on 410 Gone,
 * bookmarks moving the resume point, no reconnect storm, periodic resync.
 */

import assert from 'node:assert/strict';
import { createKubeApi, PODS as PODS_REF } from '../../src/kube/client';
import { ListWatch, watchResource, type ChangeType, type ListWatchTimings } from '../../src/kube/list-watch';
import { decodeConfig, type MetricsManagerConfig } from '../../src/kube/resources';
import { eventually, fakeKubeConfig, FAST_LIST_WATCH, MMC, PODS, startFakeKube, type FakeKubeApiServer } from '../helpers/fake-kube';

const PATH = '/apis/metricsmanager.dev/v1alpha1/metricsmanagerconfigs';

function mmc(name: string, seconds: number) {
  return { metadata: { name, namespace: 'ns1' }, spec: { retention: { seconds } } };
}

describe('list+watch loop', () => {
  let fake: FakeKubeApiServer;
  let lw: ListWatch<MetricsManagerConfig>;
  let changes: string[];

  async function start(timings: Partial<ListWatchTimings> = {}) {
    const api = createKubeApi(fakeKubeConfig(fake));
    changes = [];
    lw = new ListWatch({
      name: 'test', path: PATH, watch: api.watch, list: () => api.listCustom('metricsmanager.dev', 'v1alpha1', 'metricsmanagerconfigs'),
      decode: decodeConfig, timings: { ...FAST_LIST_WATCH, ...timings },
      onChange: (type: ChangeType, obj) => changes.push(`${type} ${obj.metadata.name} ${obj.spec?.retention?.seconds ?? ''}`.trim()),
    });
    lw.start();
    await lw.synced();
    await eventually(() => fake.watchCount('metricsmanagerconfigs') === 1, 2000, 'the watch to open');
  }

  const seconds = (name: string) => lw.get(`ns1/${name}`)?.spec?.retention?.seconds;

  beforeEach(async () => {
    fake = await startFakeKube({ bookmarkIntervalMs: 100 });
  });
  afterEach(async () => {
    await lw?.stop();
    await fake.stop();
  });

  it('lists, then follows events', async () => {
    fake.create(MMC, mmc('a', 60));
    await start();
    fake.patch(MMC, 'ns1', 'a', { spec: { retention: { seconds: 70 } } });
    fake.create(MMC, mmc('b', 80));
    fake.delete(MMC, 'ns1', 'b');
    await eventually(() => changes.length === 4, 2000, 'four changes');
    assert.deepEqual(changes, ['ADDED a 60', 'MODIFIED a 70', 'ADDED b 80', 'DELETED b 80']);
  });

  it('a dropped watch resumes from the last resourceVersion without missing the update made meanwhile', async () => {
    fake.create(MMC, mmc('a', 60));
    await start();
    const rv = lw.lastResourceVersion;
    // Refuse new watches for a moment so the update lands while the client is disconnected.
    const allow = fake.failRequests((r) => r.query.get('watch') === 'true', 503);
    assert.equal(fake.dropWatches(), 1);
    fake.patch(MMC, 'ns1', 'a', { spec: { retention: { seconds: 90 } } });
    await new Promise((r) => setTimeout(r, 100));
    allow();
    await eventually(() => seconds('a') === 90, 3000, 'the missed update');
    const resumed = fake.watchRequests('metricsmanagerconfigs').filter((r) => r.query.get('resourceVersion') === rv);
    assert.ok(resumed.length >= 2, 'the watch was re-opened from the same resourceVersion');
    assert.equal(lw.stats.lists, 1, 'resumed without relisting');
    assert.deepEqual(changes, ['ADDED a 60', 'MODIFIED a 90']);
  });

  it('a stalled watch (open but silent) is detected by the idle timeout and resumed', async () => {
    fake.create(MMC, mmc('a', 60));
    await start({ idleTimeoutMs: 400 });
    fake.stallWatches();
    fake.patch(MMC, 'ns1', 'a', { spec: { retention: { seconds: 120 } } });
    await eventually(() => seconds('a') === 120, 3000, 'the update after the stall');
    assert.equal(lw.stats.lists, 1);
  });

  it('bookmarks move the resume point; 410 Gone leads to a relist that reports only real changes', async () => {
    fake.create(MMC, mmc('a', 60));
    fake.create(MMC, mmc('b', 60));
    await start();
    const before = lw.lastResourceVersion;
    fake.create(MMC, { metadata: { name: 'other', namespace: 'ns2' }, spec: {} }); // moves the store's resourceVersion
    await eventually(() => lw.stats.bookmarks > 0 && lw.lastResourceVersion !== before, 2000, 'a bookmark');
    changes.length = 0;

    // While disconnected: b changes, then history is compacted → the resume point is gone.
    const allow = fake.failRequests((r) => r.query.get('watch') === 'true', 503);
    fake.dropWatches();
    fake.patch(MMC, 'ns1', 'b', { spec: { retention: { seconds: 30 } } });
    fake.compact();
    allow();
    await eventually(() => lw.stats.gone >= 1 && lw.stats.lists >= 2, 3000, 'a relist after 410');
    await eventually(() => seconds('b') === 30, 2000, 'the update');
    assert.deepEqual(changes, ['MODIFIED b 30'], 'no spurious updates for unchanged objects');
  });

  it('a server that ends every watch at once does not cause a reconnect storm', async () => {
    await start({ backoffInitialMs: 50, backoffMaxMs: 400, minWatchMs: 200 });
    const fail = fake.failRequests((r) => r.query.get('watch') === 'true', 500);
    fake.dropWatches();
    const t0 = fake.watchRequests('metricsmanagerconfigs').length;
    await new Promise((r) => setTimeout(r, 1000));
    fail();
    const attempts = fake.watchRequests('metricsmanagerconfigs').length - t0;
    // With backoff 50 → 400 ms (jittered, ≥ half) about 5–8 attempts fit in 1 s; a storm would be hundreds.
    assert.ok(attempts >= 3 && attempts <= 12, `${attempts} watch attempts in 1 s`);
    await eventually(() => fake.watchCount('metricsmanagerconfigs') === 1, 3000, 'the watch to come back');
  });

  it('periodic resync relists and repairs a cache that missed an event', async () => {
    fake.create(MMC, mmc('a', 60));
    await start({ resyncMs: 600 });
    // The watch stays open but silent (so nothing is replayed); only the resync can bring the change.
    fake.stallWatches();
    fake.patch(MMC, 'ns1', 'a', { spec: { retention: { seconds: 45 } } });
    await eventually(() => seconds('a') === 45, 3000, 'the resync');
    assert.ok(lw.stats.lists >= 2);
  });

  it('watchResource: the Pods of one node across namespaces (fieldSelector), paged', async () => {
    const api = createKubeApi(fakeKubeConfig(fake));
    const pod = (ns: string, name: string, node: string) => fake.create(PODS, { metadata: { name, namespace: ns }, spec: { nodeName: node, containers: [] } });
    pod('a', 'p1', 'n1');
    pod('b', 'p2', 'n1');
    pod('b', 'p3', 'n2');
    const seen: string[] = [];
    const pods = watchResource<string>({
      api, name: 'node pods', resource: PODS_REF, fieldSelector: 'spec.nodeName=n1', pageSize: 1, timings: FAST_LIST_WATCH,
      decode: (raw) => `${(raw.metadata as { namespace: string }).namespace}/${(raw.metadata as { name: string }).name}`,
      onChange: (type, key) => seen.push(`${type} ${key}`),
    });
    pods.start();
    try {
      await pods.synced();
      assert.deepEqual(pods.items().sort(), ['a/p1', 'b/p2']);
      assert.equal(fake.requests.filter((r) => r.verb === 'list' && r.resource === 'pods').length, 2, 'two pages of one');
      await eventually(() => fake.watchCount('pods') === 1, 2000, 'the watch');
      pod('c', 'p4', 'n1');
      pod('c', 'p5', 'n2');
      await eventually(() => seen.includes('ADDED c/p4'), 3000, 'the new pod');
      assert.ok(!seen.some((s) => s.includes('p5') || s.includes('p3')));
      const w = fake.requests.find((r) => r.verb === 'watch' && r.resource === 'pods')!;
      assert.equal(w.path, '/api/v1/pods');
      assert.equal(w.query.get('fieldSelector'), 'spec.nodeName=n1');
    } finally {
      await pods.stop();
    }
  });
});
