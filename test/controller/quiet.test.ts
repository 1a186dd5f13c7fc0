/**
 * The controller stays quiet: kubelet heartbeats and unchanged objects cause no reads or writes;
 * a label change touches only the configs whose selector matched; server-side defaults never make
 * it rewrite a monitor; two installations leave each other alone; long names never earn a 422.
 * All against the FAKE API server through client-node, with its request counts.
 */

import assert from 'node:assert/strict';
import type { Controller } from '../../src/controller/controller';
import {
  addAgentPod, addNode, AGENT_NS, applyConfig, condition, eventually, EVENTS, MMC, mmcStatus, NODES, PODS, SERVICE_MONITORS, startFakeController, startFakeKube,
  type FakeKubeApiServer,
} from '../helpers/fake-kube';

const NS = 'team-a';
const GPU = 'intel.feature.node.kubernetes.io/gpu';
const WRITES = new Set(['create', 'update', 'patch', 'delete']);

describe('controller: quiet and event-driven', () => {
  let fake: FakeKubeApiServer;
  let controllers: Controller[];

  const start = (identity: string, extra: Parameters<typeof startFakeController>[2] = {}) => {
    const c = startFakeController(fake, identity, extra);
    controllers.push(c);
    return c;
  };
  /** Requests after index `from` by clients other than the test itself (the direct helpers make none). */
  const requestsSince = (from: number) => fake.requests.slice(from);
  /** Writes other than the leader Lease's renewals (those are the election's heartbeat, by design). */
  const writesSince = (from: number) => requestsSince(from).filter((r) => r.verb && WRITES.has(r.verb) && r.resource !== 'leases').map((r) => `${r.verb} ${r.resource} ${r.path}`);
  const heartbeat = (i: number) => {
    for (const n of fake.list(NODES)) fake.patch(NODES, undefined, n.metadata.name!, { status: { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: new Date(Date.now() + i * 1000).toISOString() }] } });
  };

  beforeEach(async () => {
    fake = await startFakeKube();
    fake.addResource(SERVICE_MONITORS);
    controllers = [];
    for (let i = 0; i < 30; i++) addNode(fake, `w${i}`, i % 2 ? { [GPU]: 'true' } : {});
    for (const n of ['w0', 'w1', 'w2', 'w3']) addAgentPod(fake, n);
  });
  afterEach(async () => {
    await Promise.all(controllers.map((c) => c.stop()));
    await fake.stop();
  });

  it('heartbeats and unchanged pods: no reconcile, no list, no write; a label change queues only the configs it concerns', async () => {
    // Production lease timings: a loaded machine must not make leadership flap (a new leader reconciles everything).
    const c = start('quiet', { leaderElection: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } });
    applyConfig(fake, NS, 'all', {});
    fake.advanceClock(2000);
    applyConfig(fake, NS, 'gpu', { nodeSelector: { matchLabels: { [GPU]: 'true' } } });
    applyConfig(fake, NS, 'npu', { nodeSelector: { matchLabels: { npu: 'true' } } });
    await eventually(() => ['all', 'gpu', 'npu'].every((n) => mmcStatus(fake, NS, n)?.observedGeneration === 1) && fake.get(SERVICE_MONITORS, NS, 'all-metrics-manager'), 5000, 'steady state');
    await eventually(() => c.queue.pending === 0, 3000, 'an idle queue');
    await new Promise((r) => setTimeout(r, 300));

    const mark = fake.requests.length;
    const reconciles = c.stats.reconciles;
    const adds = c.queue.stats.adds;
    for (let i = 0; i < 3; i++) heartbeat(i);
    for (const n of ['w0', 'w1', 'w2', 'w3']) fake.patch(PODS, AGENT_NS, `metrics-manager-${n}`, { status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    await eventually(() => c.stats.nodeEventsIgnored >= 90, 3000, 'the heartbeats to arrive');
    await new Promise((r) => setTimeout(r, 300)); // well past the 50 ms coalescing window
    assert.equal(c.stats.reconciles, reconciles, 'no reconcile');
    assert.equal(c.queue.stats.adds, adds, 'nothing queued');
    assert.deepEqual(writesSince(mark), []);
    assert.deepEqual(requestsSince(mark).filter((r) => r.verb === 'list'), [], 'no list (no relist, no monitor list)');

    // A label change on an agent node: the configs matching its old or new labels, not "npu".
    const queued: string[] = [];
    const addAfter = c.queue.addAfter.bind(c.queue);
    c.queue.addAfter = (key: string, ms: number) => {
      queued.push(key);
      addAfter(key, ms);
    };
    fake.patch(NODES, undefined, 'w0', { metadata: { labels: { [GPU]: 'true' } } });
    // "all" is older and governs every node; "gpu" reports the nodes it loses to it.
    await eventually(() => (mmcStatus(fake, NS, 'gpu')?.nodes?.shadowed ?? 0) === 3, 3000, 'gpu to see w0');
    assert.deepEqual([...new Set(queued)].sort(), [`${NS}/all`, `${NS}/gpu`]);
    // A label change on a node without an agent concerns nobody.
    queued.length = 0;
    fake.patch(NODES, undefined, 'w20', { metadata: { labels: { npu: 'true' } } });
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(queued, []);
  });

  it('monitors: server defaults and labels added by others cause no write; our own fields changed by hand are restored', async () => {
    const c = start('monitors');
    applyConfig(fake, NS, 'cfg', { monitoring: { serviceMonitor: { labels: { release: 'prom' } } } });
    const sm = await eventually(() => fake.get(SERVICE_MONITORS, NS, 'cfg-metrics-manager'), 5000, 'the ServiceMonitor');
    assert.equal((sm.spec as { endpoints: { relabelings: { action?: string }[] }[] }).endpoints[0]!.relabelings[0]!.action, 'replace', 'defaulted by the server');
    await eventually(() => condition(fake, NS, 'cfg', 'MonitorsRegistered')?.status === 'True', 3000, 'registered');
    await eventually(() => c.queue.pending === 0, 3000, 'an idle queue');

    const mark = fake.requests.length;
    fake.patch(SERVICE_MONITORS, NS, 'cfg-metrics-manager', { metadata: { labels: { 'argocd.argoproj.io/instance': 'x' } } });
    fake.patch(MMC, NS, 'cfg', { spec: { retention: { seconds: 120 } } }); // a new generation: every config and the monitors are reconciled
    await eventually(() => mmcStatus(fake, NS, 'cfg')?.observedGeneration === 2, 3000, 'generation 2');
    await new Promise((r) => setTimeout(r, 300));
    const writes = writesSince(mark);
    assert.deepEqual(writes.filter((w) => w.includes('servicemonitors')), [], 'no monitor write');
    assert.ok(writes.length <= 3, `at most 3 writes for a config change, got ${writes.join('; ')}`);
    assert.equal(requestsSince(mark).filter((r) => r.verb === 'list').length, 0, 'monitors come from the watch cache');

    fake.patch(SERVICE_MONITORS, NS, 'cfg-metrics-manager', { spec: { endpoints: [] } });
    await eventually(() => ((fake.get(SERVICE_MONITORS, NS, 'cfg-metrics-manager')!.spec as { endpoints: unknown[] }).endpoints.length === 2), 3000, 'restored');
  });

  it('two installations: each handles its own class of configs and only its own monitors', async () => {
    const a = start('release-a', { instance: 'release-a' });
    const b = start('release-b', { instance: 'release-b', className: 'team-b', leaseName: 'release-b-controller' });
    await eventually(() => a.isLeader() && b.isLeader(), 3000, 'both lead (separate leases)');
    applyConfig(fake, NS, 'default-class', {});
    applyConfig(fake, 'team-b', 'b-config', { className: 'team-b' });
    const smA = await eventually(() => fake.get(SERVICE_MONITORS, NS, 'default-class-metrics-manager'), 5000, 'release-a monitor');
    const smB = await eventually(() => fake.get(SERVICE_MONITORS, 'team-b', 'b-config-metrics-manager'), 5000, 'release-b monitor');
    assert.equal(smA.metadata.labels!['app.kubernetes.io/instance'], 'release-a');
    assert.equal(smB.metadata.labels!['app.kubernetes.io/instance'], 'release-b');
    await eventually(() => mmcStatus(fake, 'team-b', 'b-config')?.observedGeneration === 1 && mmcStatus(fake, NS, 'default-class')?.observedGeneration === 1, 3000, 'both statuses');
    await new Promise((r) => setTimeout(r, 400));
    // Each status was written by its own controller only, and both monitors survive the other's passes.
    const writers = (path: string) => [...new Set(fake.requests.filter((r) => r.path === path).map((r) => r.token))];
    assert.deepEqual(writers(`/apis/metricsmanager.dev/v1alpha1/namespaces/${NS}/metricsmanagerconfigs/default-class/status`), ['token-release-a']);
    assert.deepEqual(writers('/apis/metricsmanager.dev/v1alpha1/namespaces/team-b/metricsmanagerconfigs/b-config/status'), ['token-release-b']);
    assert.ok(fake.get(SERVICE_MONITORS, NS, 'default-class-metrics-manager') && fake.get(SERVICE_MONITORS, 'team-b', 'b-config-metrics-manager'));
    assert.equal(fake.requests.filter((r) => r.verb === 'delete').length, 0, 'nobody deletes the other\'s monitor');
  });

  it('a config name of 253 characters: monitor name and label values within the limits, no 422', async () => {
    const c = start('long');
    const name = `cfg-${'x'.repeat(249)}`;
    applyConfig(fake, NS, name, {});
    await eventually(() => fake.list(SERVICE_MONITORS, NS).length === 1, 5000, 'the ServiceMonitor');
    const sm = fake.list(SERVICE_MONITORS, NS)[0]!;
    assert.ok(sm.metadata.name!.length <= 253 && sm.metadata.name!.endsWith('-metrics-manager'), sm.metadata.name);
    for (const v of Object.values(sm.metadata.labels!)) assert.ok(v.length <= 63, v);
    await eventually(() => mmcStatus(fake, NS, name)?.observedGeneration === 1, 3000, 'status');
    assert.equal(c.stats.monitorWrites, 1, 'created once, no retries after a 422');
    // The Event's generated name fits as well (the fake refuses bad names as the real server does).
    await eventually(() => fake.list(EVENTS, NS).some((e) => (e.involvedObject as { name: string }).name === name), 3000, 'the MonitorRegistered event');
    assert.ok(fake.get(MMC, NS, name)!.status);
  });
});
