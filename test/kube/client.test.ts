/**
 * The FAKE Kubernetes API server, driven through the real @kubernetes/client-node: the behaviours
 * the controller and agent tests rely on.
 */

import assert from 'node:assert/strict';
import { createKubeApi, httpStatus, kube, kubeConfigFor, METADATA_LIST_ACCEPT, METADATA_WATCH_ACCEPT, NODES as NODES_REF, type KubeApi } from '../../src/kube/client';
import {
  addNode, eventually, fakeKubeConfig, LEASES, MMC, NODES, SERVICE_MONITORS, startFakeKube, type FakeKubeApiServer,
} from '../helpers/fake-kube';

const G = 'metricsmanager.dev';
const V = 'v1alpha1';
const P = 'metricsmanagerconfigs';

describe('fake Kubernetes API server (through @kubernetes/client-node)', () => {
  let fake: FakeKubeApiServer;
  let api: KubeApi;

  beforeEach(async () => {
    fake = await startFakeKube();
    api = createKubeApi(fakeKubeConfig(fake));
  });
  afterEach(() => fake.stop());

  it('client-node loads from this CommonJS build (require of an ESM package)', () => {
    assert.equal(typeof kube().KubeConfig, 'function');
    assert.equal(typeof kube().Watch, 'function');
  });

  it('authenticates with the bearer token from the kubeconfig', async () => {
    const anonymous = createKubeApi(kubeConfigFor(fake.url));
    await assert.rejects(anonymous.listNodes(), (e: unknown) => httpStatus(e) === 401);
    assert.deepEqual((await api.listNodes()).items, []);
  });

  it('discovery: served groups, missing groups (404), groups added at runtime', async () => {
    const k = kube();
    const apis = await fakeKubeConfig(fake).makeApiClient(k.ApisApi).getAPIVersions();
    const names = apis.groups.map((g) => g.name);
    assert.ok(names.includes(G) && names.includes('coordination.k8s.io'));
    assert.ok(!names.includes('monitoring.coreos.com'));
    assert.deepEqual(await api.apiResources(G, V), [P, `${P}/status`]);
    assert.equal(await api.apiResources('monitoring.coreos.com', 'v1'), undefined);
    fake.addResource(SERVICE_MONITORS);
    assert.deepEqual(await api.apiResources('monitoring.coreos.com', 'v1'), ['servicemonitors']);
    const core = await fakeKubeConfig(fake).makeApiClient(k.CoreApi).getAPIVersions();
    assert.deepEqual(core.versions, ['v1']);
  });

  it('create, get, list with resourceVersion, 404 and 409 AlreadyExists', async () => {
    const created = await api.createCustom(G, V, P, 'ns1', { apiVersion: `${G}/${V}`, kind: 'MetricsManagerConfig', metadata: { name: 'a' }, spec: {}, status: { observedGeneration: 9 } });
    const meta = created.metadata as Record<string, unknown>;
    assert.equal(meta.generation, 1);
    assert.match(String(meta.uid), /^[0-9a-f-]{36}$/);
    assert.match(String(meta.creationTimestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(created.status, undefined, 'status is not taken on create when the type has a status subresource');
    await assert.rejects(api.createCustom(G, V, P, 'ns1', { metadata: { name: 'a' }, spec: {} }), (e: unknown) => httpStatus(e) === 409);
    await assert.rejects(api.getCustom(G, V, P, 'ns1', 'nope'), (e: unknown) => httpStatus(e) === 404);
    const list = await api.listCustom(G, V, P);
    assert.equal(list.items.length, 1);
    assert.equal(list.resourceVersion, fake.resourceVersion);
    assert.equal((await api.listCustom(G, V, P, 'other')).items.length, 0);
  });

  it('replace: 409 Conflict on a stale resourceVersion; spec changes bump generation, status is kept', async () => {
    const c = await api.createCustom(G, V, P, 'ns1', { metadata: { name: 'a' }, spec: { retention: { seconds: 60 } } });
    await api.patchCustomStatus(G, V, P, 'ns1', 'a', { status: { observedGeneration: 1 } });
    await assert.rejects(api.replaceCustom(G, V, P, 'ns1', 'a', { ...c, spec: {} }), (e: unknown) => httpStatus(e) === 409);
    const fresh = await api.getCustom(G, V, P, 'ns1', 'a');
    const replaced = await api.replaceCustom(G, V, P, 'ns1', 'a', { ...fresh, spec: { retention: { seconds: 120 } }, status: { observedGeneration: 77 } });
    assert.equal((replaced.metadata as { generation: number }).generation, 2);
    assert.deepEqual(replaced.status, { observedGeneration: 1 });
  });

  it('status subresource: merge patch changes only status, never the generation', async () => {
    await api.createCustom(G, V, P, 'ns1', { metadata: { name: 'a' }, spec: { stream: { intervalMs: 500 } } });
    const after = await api.patchCustomStatus(G, V, P, 'ns1', 'a', { status: { observedGeneration: 1, nodes: { matched: 2, applied: 1 } }, spec: { stream: { intervalMs: 100 } } });
    assert.deepEqual(after.status, { observedGeneration: 1, nodes: { matched: 2, applied: 1 } });
    assert.deepEqual((after.spec as { stream: unknown }).stream, { intervalMs: 500 });
    assert.equal((after.metadata as { generation: number }).generation, 1);
    const again = await api.patchCustomStatus(G, V, P, 'ns1', 'a', { status: { nodes: { applied: 2 } } });
    assert.deepEqual(again.status, { observedGeneration: 1, nodes: { matched: 2, applied: 2 } });
  });

  it('patch: merge (null removes), JSON patch, strategic merge for maps; unsupported types are refused', async () => {
    addNode(fake, 'n1', { a: '1' });
    const k = kube();
    const core = fakeKubeConfig(fake).makeApiClient(k.CoreV1Api);
    const withType = (t: string) => k.setHeaderOptions('Content-Type', t);
    await core.patchNode({ name: 'n1', body: { metadata: { labels: { b: '2', a: null } } } }, withType(k.PatchStrategy.MergePatch));
    assert.deepEqual(fake.get(NODES, undefined, 'n1')!.metadata.labels, { 'kubernetes.io/hostname': 'n1', b: '2' });
    await core.patchNode({ name: 'n1', body: [{ op: 'add', path: '/metadata/labels/c', value: '3' }, { op: 'remove', path: '/metadata/labels/b' }] });
    assert.deepEqual(fake.get(NODES, undefined, 'n1')!.metadata.labels, { 'kubernetes.io/hostname': 'n1', c: '3' });
    await core.patchNode({ name: 'n1', body: { metadata: { annotations: { x: 'y' } } } }, withType(k.PatchStrategy.StrategicMergePatch));
    assert.deepEqual(fake.get(NODES, undefined, 'n1')!.metadata.annotations, { x: 'y' });
    await assert.rejects(core.patchNode({ name: 'n1', body: [{ op: 'test', path: '/metadata/labels/c', value: 'nope' }] }), (e: unknown) => httpStatus(e) === 422);
    await assert.rejects(core.patchNode({ name: 'n1', body: 'x' }, withType(k.PatchStrategy.ServerSideApply)), (e: unknown) => httpStatus(e) === 415);
  });

  it('delete: 404 when missing; dependents whose owners are all gone are garbage-collected', async () => {
    fake.addResource(SERVICE_MONITORS);
    const owner = await api.createCustom(G, V, P, 'ns1', { metadata: { name: 'owner' }, spec: {} });
    const uid = (owner.metadata as { uid: string }).uid;
    await api.createCustom('monitoring.coreos.com', 'v1', 'servicemonitors', 'ns1', {
      metadata: { name: 'sm', ownerReferences: [{ apiVersion: `${G}/${V}`, kind: 'MetricsManagerConfig', name: 'owner', uid }] }, spec: { selector: {}, endpoints: [] },
    });
    await api.createCustom('monitoring.coreos.com', 'v1', 'servicemonitors', 'ns1', { metadata: { name: 'unowned' }, spec: { selector: {}, endpoints: [] } });
    await api.deleteCustom(G, V, P, 'ns1', 'owner');
    await assert.rejects(api.deleteCustom(G, V, P, 'ns1', 'owner'), (e: unknown) => httpStatus(e) === 404);
    await eventually(() => fake.get(SERVICE_MONITORS, 'ns1', 'sm') === undefined, 2000, 'garbage collection');
    assert.ok(fake.get(SERVICE_MONITORS, 'ns1', 'unowned'));
  });

  it('Leases: create, read, replace with MicroTime fields; a stale replace is a 409', async () => {
    const now = Date.now();
    await api.createLease('ns1', { metadata: { name: 'l' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: new Date(now).toISOString(), leaseTransitions: 0 } });
    const raw = fake.get(LEASES, 'ns1', 'l')!;
    assert.match(String((raw.spec as { renewTime: string }).renewTime), /\.\d{6}Z$/, 'client-node writes MicroTime with microseconds');
    const lease = await api.getLease('ns1', 'l');
    await api.replaceLease('ns1', 'l', { ...lease, spec: { ...(lease.spec as object), holderIdentity: 'b' } });
    await assert.rejects(api.replaceLease('ns1', 'l', { ...lease, spec: { ...(lease.spec as object), holderIdentity: 'c' } }), (e: unknown) => httpStatus(e) === 409);
    assert.equal((fake.get(LEASES, 'ns1', 'l')!.spec as { holderIdentity: string }).holderIdentity, 'b');
  });

  it('watch: replays from a resourceVersion, sends bookmarks, and 410 Gone after compaction', async () => {
    await api.createCustom(G, V, P, 'ns1', { metadata: { name: 'a' }, spec: {} });
    const from = fake.resourceVersion;
    fake.patch(MMC, 'ns1', 'a', { spec: { stream: { intervalMs: 200 } } });
    fake.create(MMC, { metadata: { name: 'b', namespace: 'ns1' }, spec: {} });
    const seen: string[] = [];
    const watch = new (kube().Watch)(fakeKubeConfig(fake));
    const ac = await watch.watch(`/apis/${G}/${V}/${P}`, { resourceVersion: from, allowWatchBookmarks: true }, (type, obj: { metadata: { name: string } }) => {
      seen.push(type === 'BOOKMARK' ? type : `${type} ${obj.metadata.name}`);
    }, () => undefined);
    await eventually(() => seen.includes('BOOKMARK'), 3000, 'a bookmark');
    ac.abort();
    assert.deepEqual(seen.filter((s) => s !== 'BOOKMARK'), ['MODIFIED a', 'ADDED b']);

    fake.compact();
    let gone: unknown;
    let ended = false;
    await watch.watch(`/apis/${G}/${V}/${P}`, { resourceVersion: from }, (type, obj) => {
      if (type === 'ERROR') gone = obj;
    }, () => (ended = true));
    await eventually(() => ended, 2000, 'the watch to end');
    assert.equal((gone as { code: number }).code, 410);
  });

  it('watch with selectors: objects entering or leaving the selection arrive as ADDED / DELETED', async () => {
    addNode(fake, 'n1', { pool: 'gpu' });
    const seen: string[] = [];
    const watch = new (kube().Watch)(fakeKubeConfig(fake));
    const ac = await watch.watch('/api/v1/nodes', { labelSelector: 'pool=gpu', resourceVersion: fake.resourceVersion }, (type, obj: { metadata: { name: string } }) => {
      seen.push(`${type} ${obj.metadata.name}`);
    }, () => undefined);
    fake.patch(NODES, undefined, 'n1', { metadata: { labels: { pool: 'cpu' } } });
    fake.patch(NODES, undefined, 'n1', { metadata: { labels: { pool: 'gpu' } } });
    addNode(fake, 'n2', { pool: 'cpu' });
    await eventually(() => seen.length >= 2, 2000, 'events');
    ac.abort();
    assert.deepEqual(seen, ['DELETED n1', 'ADDED n1']);
  });

  it('paged lists: limit/continue give one consistent snapshot; an expired token is 410 and listAll starts over', async () => {
    for (let i = 0; i < 7; i++) addNode(fake, `n${i}`);
    const first = await api.listPage(NODES_REF, { limit: 3 });
    assert.deepEqual(first.items.map((n) => (n.metadata as { name: string }).name), ['n0', 'n1', 'n2']);
    assert.ok(first.continueToken);
    addNode(fake, 'n7'); // after the snapshot: not in this list
    const second = await api.listPage(NODES_REF, { limit: 3, continueToken: first.continueToken });
    const third = await api.listPage(NODES_REF, { limit: 3, continueToken: second.continueToken });
    assert.deepEqual([...second.items, ...third.items].map((n) => (n.metadata as { name: string }).name), ['n3', 'n4', 'n5', 'n6']);
    assert.equal(third.continueToken, '');
    assert.equal(second.resourceVersion, first.resourceVersion, 'later pages are served at the first page\'s resourceVersion');

    const all = await api.listAll(NODES_REF, { pageSize: 2 });
    assert.equal(all.items.length, 8);
    assert.equal(fake.requests.filter((r) => r.verb === 'list' && r.query.get('limit') === '2').length, 4);

    const page = await api.listPage(NODES_REF, { limit: 2 });
    fake.compact();
    await assert.rejects(api.listPage(NODES_REF, { limit: 2, continueToken: page.continueToken }), (e: unknown) => httpStatus(e) === 410);
  });

  it('metadata only: PartialObjectMetadata lists and watch events carry metadata and nothing else', async () => {
    fake.create(NODES, { metadata: { name: 'm1', labels: { zone: 'a' } }, spec: { podCIDR: '10.0.0.0/24' }, status: { capacity: { cpu: '8' } } });
    const list = await api.listAll(NODES_REF, { metadataOnly: true });
    assert.deepEqual((list.items[0]!.metadata as { labels: Record<string, string> }).labels, { zone: 'a' });
    assert.equal(list.items[0]!.status, undefined);
    assert.equal(list.items[0]!.spec, undefined);
    const req = fake.requests.find((r) => r.verb === 'list' && r.resource === 'nodes')!;
    assert.equal(req.accept, METADATA_LIST_ACCEPT);

    const events: Record<string, unknown>[] = [];
    const ctl = await api.metadataWatch.watch('/api/v1/nodes', { resourceVersion: list.resourceVersion }, (_t, o) => events.push(o as Record<string, unknown>), () => undefined);
    try {
      fake.patch(NODES, undefined, 'm1', { status: { conditions: [{ type: 'Ready', status: 'True' }] } });
      await eventually(() => events.length === 1, 3000, 'a metadata watch event');
      assert.equal(events[0]!.kind, 'PartialObjectMetadata');
      assert.equal(events[0]!.status, undefined);
      assert.equal(fake.requests.find((r) => r.verb === 'watch' && r.resource === 'nodes')!.accept, METADATA_WATCH_ACCEPT);
    } finally {
      ctl.abort();
    }
  });

  it('counts every request by verb and resource', async () => {
    addNode(fake, 'c1');
    await api.listAll(NODES_REF, {});
    await api.createCustom(G, V, P, 'ns1', { metadata: { name: 'a' }, spec: {} });
    await api.patchCustomStatus(G, V, P, 'ns1', 'a', { status: { observedGeneration: 1 } });
    await api.apiResources(G, V);
    const counts = Object.fromEntries(fake.requestCounts());
    assert.deepEqual(counts, { 'list nodes': 1, 'create metricsmanagerconfigs': 1, 'patch metricsmanagerconfigs/status': 1, discovery: 1 });
  });

  it('admission as on a real server: CRD defaults applied, unknown fields pruned, schema and metadata violations are 422', async () => {
    fake.addResource(SERVICE_MONITORS);
    const sm = await api.createCustom('monitoring.coreos.com', 'v1', 'servicemonitors', 'ns1', {
      metadata: { name: 'sm', labels: { release: 'prom' } },
      spec: { selector: {}, endpoints: [{ port: 'http', relabelings: [{ sourceLabels: ['a'], targetLabel: 'b' }], madeUp: 1 }] },
    });
    const ep = (sm.spec as { endpoints: Record<string, unknown>[] }).endpoints[0]!;
    assert.deepEqual(ep.relabelings, [{ sourceLabels: ['a'], targetLabel: 'b', action: 'replace' }], 'the CRD default');
    assert.equal(ep.madeUp, undefined, 'unknown fields pruned');
    const mmc = await api.createCustom(G, V, P, 'ns1', { metadata: { name: 'd' } });
    assert.deepEqual((mmc.spec as { monitoring: { serviceMonitor: unknown } }).monitoring.serviceMonitor, { mode: 'Auto', interval: '15s' });

    const invalid = async (p: Promise<unknown>, re: RegExp) => assert.rejects(p, (e: unknown) => httpStatus(e) === 422 && re.test(String((e as { body?: unknown }).body)));
    await invalid(api.createCustom('monitoring.coreos.com', 'v1', 'servicemonitors', 'ns1', { metadata: { name: 'x' }, spec: { selector: {}, endpoints: [{ interval: 'soon' }] } }), /spec\.endpoints\[0\]\.interval/);
    await invalid(api.createCustom(G, V, P, 'ns1', { metadata: { name: 'n'.repeat(254) } }), /metadata\.name: .*no more than 253/);
    await invalid(api.createCustom(G, V, P, 'ns1', { metadata: { name: 'Upper' } }), /metadata\.name: .*RFC 1123/);
    await invalid(api.createCustom(G, V, P, 'ns1', { metadata: { name: 'l', labels: { a: 'v'.repeat(64) } } }), /metadata\.labels: .*no more than 63/);
    await invalid(api.createCustom(G, V, P, 'ns1', { metadata: { name: 'l', labels: { a: 'has space' } } }), /metadata\.labels/);
    await invalid(api.createCustom(G, V, P, 'ns1', { metadata: { name: 'r' }, spec: { retention: { seconds: -1 } } }), /spec\.retention\.seconds/);
  });

  it('strategic merge patch: 415 on custom resources, accepted on built-in types', async () => {
    await api.createCustom(G, V, P, 'ns1', { metadata: { name: 'a' } });
    const k = kube();
    const custom = fakeKubeConfig(fake).makeApiClient(k.CustomObjectsApi);
    const smp = k.setHeaderOptions('Content-Type', k.PatchStrategy.StrategicMergePatch);
    await assert.rejects(custom.patchNamespacedCustomObject({ group: G, version: V, plural: P, namespace: 'ns1', name: 'a', body: { metadata: { labels: { x: 'y' } } } }, smp), (e: unknown) => httpStatus(e) === 415);
    addNode(fake, 'n1');
    const core = fakeKubeConfig(fake).makeApiClient(k.CoreV1Api);
    await core.patchNode({ name: 'n1', body: { metadata: { labels: { x: 'y' } } } }, smp);
    assert.equal(fake.get(NODES, undefined, 'n1')!.metadata.labels!.x, 'y');
  });
});
