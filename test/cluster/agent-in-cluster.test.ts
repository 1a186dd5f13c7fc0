/**
 * Real in-process agents "on the nodes" of a FAKE cluster (the fake API server, reached through
 * client-node with a kubeconfig) next to a real controller: a MetricsManagerConfig changes their
 * rate limit, retention and bounds live; invalid specs change nothing; node selection, label
 * changes, deletion and dropped watches behave. Outside a cluster GET /api/v1/config still works.
 */

import assert from 'node:assert/strict';
import type { Controller } from '../../src/controller/controller';
import { APPLIED_ANNOTATION } from '../../src/kube/resources';
import { postJson, startAgent } from '../helpers/agent';
import {
  addAgentPod, addNode, AGENT_NS, applyConfig, condition, eventually, MMC, mmcStatus, NODES, PODS, startClusterAgent, startFakeController,
  startFakeKube, type ClusterAgent, type FakeKubeApiServer,
} from '../helpers/fake-kube';

const NS = 'platform';
const GPU = 'intel.feature.node.kubernetes.io/gpu';

interface ConfigView {
  config: Record<string, unknown>;
  live_settings: string[];
  applied: { namespace: string; name: string; generation: number } | null;
  node: string | null;
}

async function configOf(a: { url: string }): Promise<ConfigView> {
  const r = await fetch(`${a.url}/api/v1/config`);
  assert.equal(r.status, 200);
  return (await r.json()) as ConfigView;
}

async function health(a: { url: string }): Promise<{ retention_seconds: number; max_metrics: number; total_metrics: number }> {
  const r = await fetch(`${a.url}/api/health`);
  return ((await r.json()) as { metrics_store: { retention_seconds: number; max_metrics: number; total_metrics: number } }).metrics_store;
}

describe('agents in a (fake) cluster', () => {
  let fake: FakeKubeApiServer;
  let controller: Controller;
  let agents: ClusterAgent[];
  let n1: ClusterAgent;
  let n2: ClusterAgent;

  const generationOn = (a: ClusterAgent) => a.agent.cluster!.applied()?.generation;
  const annotation = (node: string) => fake.get(PODS, AGENT_NS, `metrics-manager-${node}`)!.metadata.annotations?.[APPLIED_ANNOTATION];

  beforeEach(async () => {
    fake = await startFakeKube();
    addNode(fake, 'n1', { [GPU]: 'true' });
    addNode(fake, 'n2');
    addAgentPod(fake, 'n1');
    addAgentPod(fake, 'n2');
    controller = startFakeController(fake);
    n1 = await startClusterAgent(fake, 'n1');
    n2 = await startClusterAgent(fake, 'n2', { METRICS_RETENTION_SECONDS: '900' });
    agents = [n1, n2];
  });
  afterEach(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await controller.stop();
    await fake.stop();
  });

  it('a config reaches every agent within 5 s: rate limit (real 429s), retention and bounds change; status says Applied', async () => {
    const before = await configOf(n1);
    assert.equal(before.applied, null);
    assert.equal(before.node, 'n1');
    assert.equal(before.config.rateLimitBurst, 100);

    const t0 = Date.now();
    applyConfig(fake, NS, 'limits', { rateLimit: { requestsPerMinute: 60, burst: 3 }, retention: { seconds: 120, maxSeries: 5 } });
    await eventually(() => agents.every((a) => generationOn(a) === 1), 5000, 'both agents to apply generation 1');
    assert.ok(Date.now() - t0 < 5000);

    // Bounds and retention (health endpoints are exempt from the rate limit).
    const h = await health(n1);
    assert.deepEqual([h.retention_seconds, h.max_metrics], [120, 5]);
    const push = await postJson(`${n1.url}/api/v1/metrics`, { metrics: Array.from({ length: 8 }, (_, i) => ({ name: `m${i}`, fields: { value: i } })) });
    assert.equal(push.status, 202);
    assert.ok((await health(n1)).total_metrics <= 5, 'maxSeries evicts down to 5');

    const view = await configOf(n1);
    assert.deepEqual(view.applied, { namespace: NS, name: 'limits', generation: 1 });
    assert.equal(view.config.rateLimitBurst, 3);
    assert.equal(view.config.rateLimitPerMinute, 60);

    // The rate limit is the new one: a burst of 3, then 429 with Retry-After.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`${n2.url}/api/v1/metrics/names`);
      statuses.push(r.status);
      if (r.status === 429) assert.ok(Number(r.headers.get('retry-after')) >= 1);
      await r.arrayBuffer();
    }
    assert.deepEqual(statuses, [200, 200, 200, 429]);

    // Each agent reported on its Pod; the controller counted them.
    assert.equal(annotation('n1'), `${NS}/limits/1`);
    await eventually(() => condition(fake, NS, 'limits', 'Applied')?.status === 'True', 3000, 'Applied=True');
    assert.deepEqual(mmcStatus(fake, NS, 'limits')!.nodes, { matched: 2, applied: 2, shadowed: 0 });
  });

  it('updates apply live; an invalid update applies nothing and keeps the last good settings', async () => {
    applyConfig(fake, NS, 'cfg', { rateLimit: { burst: 10 } });
    await eventually(() => agents.every((a) => generationOn(a) === 1), 5000, 'generation 1');
    fake.patch(MMC, NS, 'cfg', { spec: { rateLimit: { burst: 50 }, stream: { intervalMs: 200 }, forwarding: { debounceMs: 0 } } });
    await eventually(() => agents.every((a) => generationOn(a) === 2), 5000, 'generation 2');
    const c = n1.agent.config.get();
    assert.deepEqual([c.rateLimitBurst, c.pollerIntervalMs, c.persistDebounceMs], [50, 200, 0]);

    fake.patch(MMC, NS, 'cfg', { spec: { cors: { allowCredentials: true } } });
    await eventually(() => condition(fake, NS, 'cfg', 'Accepted')?.status === 'False', 3000, 'Accepted=False');
    assert.match(condition(fake, NS, 'cfg', 'Accepted')!.message, /spec\.cors\.origins/);
    assert.equal(condition(fake, NS, 'cfg', 'Applied')!.reason, 'SpecInvalid');
    await new Promise((r) => setTimeout(r, 300));
    for (const a of agents) {
      assert.equal(generationOn(a), 2, 'still generation 2');
      assert.equal(a.agent.config.get().rateLimitBurst, 50);
      assert.equal(a.agent.config.get().rateLimitPerMinute, 1000);
    }
    assert.equal(annotation('n2'), `${NS}/cfg/2`);
  });

  it('node selection, overlap, label changes and deletion: each node follows the config that governs it', async () => {
    applyConfig(fake, NS, 'gpu', { nodeSelector: { matchLabels: { [GPU]: 'true' } }, retention: { seconds: 600 } });
    await eventually(() => generationOn(n1) === 1, 5000, 'n1 to apply');
    assert.equal((await health(n1)).retention_seconds, 600);
    assert.equal(n2.agent.cluster!.applied(), null);
    assert.equal((await health(n2)).retention_seconds, 900, 'n2 keeps its own METRICS_RETENTION_SECONDS');

    // A newer config for all nodes: n2 takes it, n1 stays with the older gpu config.
    fake.advanceClock(2000);
    applyConfig(fake, NS, 'everyone', { retention: { seconds: 60 } });
    await eventually(() => n2.agent.cluster!.applied()?.name === 'everyone', 5000, 'n2 to apply everyone');
    assert.equal(n1.agent.cluster!.applied()?.name, 'gpu');
    await eventually(() => mmcStatus(fake, NS, 'everyone')?.nodes?.shadowed === 1, 3000, 'overlap reported');

    // n2 gets the GPU label: the older gpu config now governs it too.
    fake.patch(NODES, undefined, 'n2', { metadata: { labels: { [GPU]: 'true' } } });
    await eventually(() => n2.agent.cluster!.applied()?.name === 'gpu', 5000, 'n2 to switch to gpu');
    assert.equal((await health(n2)).retention_seconds, 600);

    // Deleting both: every node's own settings come back, the reports are cleared.
    fake.delete(MMC, NS, 'gpu');
    fake.delete(MMC, NS, 'everyone');
    await eventually(() => agents.every((a) => a.agent.cluster!.applied() === null), 5000, 'nothing applied');
    assert.equal((await health(n1)).retention_seconds, 300);
    assert.equal((await health(n2)).retention_seconds, 900);
    await eventually(() => annotation('n1') === undefined && annotation('n2') === undefined, 3000, 'annotations removed');
  });

  it('a dropped watch: agents resume and pick up the change made while they were disconnected', async () => {
    applyConfig(fake, NS, 'cfg', { rateLimit: { burst: 10 } });
    await eventually(() => agents.every((a) => generationOn(a) === 1), 5000, 'generation 1');
    // Every watch open (controller: configs, nodes, pods; each agent: configs, its node, its node's pods), then cut them all.
    await eventually(() => fake.watchCount() === 9, 3000, 'all watches open');
    const allow = fake.failRequests((r) => r.query.get('watch') === 'true', 503);
    assert.equal(fake.dropWatches(), 9);
    fake.patch(MMC, NS, 'cfg', { spec: { rateLimit: { burst: 20 } } });
    await new Promise((r) => setTimeout(r, 150));
    allow();
    await eventually(() => agents.every((a) => generationOn(a) === 2 && a.agent.config.get().rateLimitBurst === 20), 5000, 'generation 2 after reconnect');
  });
});

describe('agent outside a cluster', () => {
  it('serves GET /api/v1/config with secrets redacted and no applied config', async () => {
    const a = await startAgent({
      FORWARD_INFLUX_V2_TOKEN: 'super-secret',
      FORWARD_INFLUX_URL: 'http://writer:hunter2@influx.example:8086/write?db=metrics&p=hunter2',
    });
    try {
      assert.equal(a.agent.cluster, undefined);
      const view = await configOf(a);
      assert.equal(view.applied, null);
      assert.equal(view.node, null);
      assert.equal(view.config.forwardInfluxV2Token, '<redacted>');
      assert.equal(view.config.forwardInfluxUrl, 'http://writer:%3Credacted%3E@influx.example:8086/write?db=metrics&p=%3Credacted%3E');
      assert.ok(!JSON.stringify(view).includes('hunter2') && !JSON.stringify(view).includes('super-secret'));
      assert.equal(view.config.retentionSeconds, 300);
      assert.ok(view.live_settings.includes('rateLimitBurst'));
    } finally {
      await a.stop();
    }
  });
});

describe('agent in a cluster whose API server is unreachable', () => {
  it('serves with its own settings and still stops promptly', async () => {
    const fake = await startFakeKube();
    await fake.stop(); // nothing listens at fake.url any more
    const a = await startClusterAgent(fake, 'n1', { RATE_LIMIT_BURST: '42' });
    try {
      assert.equal((await fetch(`${a.url}/health`)).status, 200);
      const view = await configOf(a);
      assert.equal(view.applied, null);
      assert.equal(view.node, 'n1');
      assert.equal(view.config.rateLimitBurst, 42);
    } finally {
      const t0 = Date.now();
      await a.stop();
      assert.ok(Date.now() - t0 < 2000, `stopped in ${Date.now() - t0} ms`);
    }
  });
});
