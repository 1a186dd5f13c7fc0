/**
 * Device health published to Kubernetes: the NodeFeature for Node Feature Discovery and Events on
 * the Node, through the real @kubernetes/client-node against the FAKE API server (which serves the
 * NodeFeature CRD from a trimmed schema fixture and counts requests by verb and resource). The
 * publisher is driven with a controlled health and clock; the last case runs the whole agent over
 * a fixture host whose xe GPU is throttled (dgpu/t1: gt0 reports throttle status 1).
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import { EventLimiter, healthLabels, HealthTracker, LABEL_PREFIX, transitions, type NodeHealth } from '../../src/cluster/node-feature/health';
import { NFD_NODE_LABEL, NodeFeaturePublisher, type NodeFeatureOptions } from '../../src/cluster/node-feature/publisher';
import { createKubeApi } from '../../src/kube/client';
import type { CollectorHealth } from '../../src/collectors/scheduler';
import type { Sample } from '../../src/model/sample';
import {
  addAgentPod, addNode, AGENT_NS, eventually, EVENTS, fakeKubeConfig, NODE_FEATURES, PODS, silentLogger, startClusterAgent, startFakeKube,
  type FakeKubeApiServer,
} from '../helpers/fake-kube';
import { repoRoot } from '../controller/repo';

const NAME = 'metrics-manager-n1';
const P = LABEL_PREFIX;

function health(gpu: { healthy?: boolean; throttled?: boolean } | null, npu: { healthy?: boolean } | null = null): NodeHealth {
  return {
    known: true,
    gpu: gpu ? { present: true, healthy: gpu.healthy ?? true, devices: [{ id: '0000:03:00.0', throttled: gpu.throttled ?? false }] } : { present: false, healthy: false, devices: [] },
    npu: npu ? { present: true, healthy: npu.healthy ?? true } : { present: false, healthy: false },
  };
}

function collector(name: string, present: boolean | null, consecutiveFailures = 0): CollectorHealth {
  return { name, intervalMs: 1000, present, runs: 1, failures: consecutiveFailures, consecutiveFailures, lastError: null, lastDurationMs: 1, lastSuccessMs: 1, samples: 1 };
}

function throttle(slot: string, gt: string, v: number): Sample {
  return { name: 'gpu_throttle_active', labels: { pci_slot: slot, gt }, value: v, type: 'gauge' };
}

describe('node feature: health model (pure)', () => {
  it('throttled when any GT of a card is throttled; present/healthy from the collectors', () => {
    const t = new HealthTracker();
    t.observe([throttle('0000:03:00.0', '0', 1), throttle('0000:03:00.0', '1', 0), throttle('0000:00:02.0', '0', 0)]);
    t.observe([{ name: 'cpu_usage_idle', labels: {}, value: 50, type: 'gauge' }]); // another collector's batch changes nothing
    const h = t.snapshot([collector('intel_gpu', true), collector('intel_npu', true, 2)]);
    assert.deepEqual(h.gpu, { present: true, healthy: true, devices: [{ id: '0000:00:02.0', throttled: false }, { id: '0000:03:00.0', throttled: true }] });
    assert.deepEqual(h.npu, { present: true, healthy: false });
    assert.deepEqual(healthLabels(h), {
      [`${P}gpu.present`]: 'true', [`${P}gpu.healthy`]: 'true', [`${P}gpu.throttled`]: 'true', [`${P}npu.present`]: 'true', [`${P}npu.healthy`]: 'false',
    });
    // The next GPU cycle replaces the last one.
    t.observe([throttle('0000:03:00.0', '0', 0)]);
    assert.equal(healthLabels(t.snapshot([collector('intel_gpu', true)]))[`${P}gpu.throttled`], 'false');
    assert.equal(t.snapshot([collector('intel_gpu', null)]).known, false, 'not run yet: unknown');
    // Absent devices publish no keys at all.
    assert.deepEqual(healthLabels(t.snapshot([collector('intel_gpu', false), collector('intel_npu', null)])), {});
  });

  it('an NPU in runtime power-management error is unhealthy, with its own Event message; suspended is healthy', () => {
    const t = new HealthTracker();
    const rt = (active: number, error: number): Sample[] => [
      { name: 'npu_runtime_active', labels: {}, value: active, type: 'gauge' },
      { name: 'npu_runtime_error', labels: {}, value: error, type: 'gauge' },
    ];
    const collectors = [collector('intel_npu', true)];
    t.observe(rt(0, 0)); // suspended
    const ok = t.snapshot(collectors);
    assert.deepEqual(ok.npu, { present: true, healthy: true });
    t.observe(rt(0, 1));
    const bad = t.snapshot(collectors);
    assert.deepEqual(bad.npu, { present: true, healthy: false, runtimeError: true });
    assert.equal(healthLabels(bad)[`${P}npu.healthy`], 'false');
    const [ev] = transitions(ok, bad);
    assert.equal(ev.reason, 'NpuUnhealthy');
    assert.match(ev.message, /runtime power-management error/);
    // A batch without the metric (another collector) changes nothing; the next NPU cycle does.
    t.observe([{ name: 'cpu_usage_idle', labels: {}, value: 50, type: 'gauge' }]);
    assert.equal(t.snapshot(collectors).npu.healthy, false);
    t.observe(rt(1, 0));
    const back = t.snapshot(collectors);
    assert.deepEqual(back.npu, { present: true, healthy: true });
    assert.deepEqual(transitions(bad, back).map((e) => e.reason), ['NpuHealthy']);
    // Failing reads still make it unhealthy, with the reading message.
    const failing = t.snapshot([collector('intel_npu', true, 3)]);
    assert.match(transitions(back, failing)[0].message, /not readable/);
  });

  it('label keys and values are valid Kubernetes labels outside kubernetes.io', () => {
    const labels = healthLabels(health({ throttled: true }, {}));
    for (const [k, v] of Object.entries(labels)) {
      const [prefix, name] = k.split('/') as [string, string];
      assert.match(prefix, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
      assert.ok(!prefix.endsWith('kubernetes.io'), 'NFD refuses *.kubernetes.io except its own');
      assert.match(name, /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/);
      assert.match(v, /^(true|false)$/);
    }
  });

  it('transitions: initial bad state reported, healthy start silent, disappearance silent', () => {
    assert.deepEqual(transitions(undefined, health({})), []);
    assert.deepEqual(transitions(undefined, health({ throttled: true }, { healthy: false })).map((t) => t.reason), ['GpuThrottled', 'NpuUnhealthy']);
    assert.deepEqual(transitions(health({ throttled: true }), health({})).map((t) => [t.reason, t.type, t.device]), [['GpuThrottleCleared', 'Normal', '0000:03:00.0']]);
    assert.deepEqual(transitions(health({ healthy: false }), health({})).map((t) => t.reason), ['GpuHealthy']);
    assert.deepEqual(transitions(health({ throttled: true }, { healthy: false }), health(null, null)), []);
  });

  it('event limiter: one per reason and device per window', () => {
    const l = new EventLimiter(60_000);
    assert.equal(l.allow('GpuThrottled', 'a', 0), true);
    assert.equal(l.allow('GpuThrottled', 'a', 59_999), false);
    assert.equal(l.allow('GpuThrottled', 'b', 1), true);
    assert.equal(l.allow('GpuThrottleCleared', 'a', 2), true);
    assert.equal(l.allow('GpuThrottled', 'a', 60_000), true);
  });
});

describe('node feature: publisher against the fake API server', () => {
  let fake: FakeKubeApiServer;
  let pub: NodeFeaturePublisher | undefined;
  let now: number;
  let current: NodeHealth;
  let writes: string[];
  let events: string[];

  function publisher(extra: Partial<NodeFeatureOptions> = {}): NodeFeaturePublisher {
    pub = new NodeFeaturePublisher({
      api: createKubeApi(fakeKubeConfig(fake)),
      nodeName: 'n1',
      namespace: AGENT_NS,
      podName: 'metrics-manager-n1',
      podUid: fake.get(PODS, AGENT_NS, 'metrics-manager-n1')!.metadata.uid,
      health: () => current,
      logger: silentLogger(),
      now: () => now,
      eventWindowMs: 10 * 60_000,
      observer: { write: (r) => writes.push(r), event: (reason, outcome) => events.push(`${reason} ${outcome}`) },
      ...extra,
    });
    return pub;
  }
  const nfRequests = (since: number) => [...fake.requestCounts(since)].filter(([k]) => k.endsWith(' nodefeatures'));
  const nodeEvents = () => fake.list(EVENTS, AGENT_NS).map((e) => `${String(e.reason)} ${String((e.involvedObject as { kind: string; name: string }).kind)}/${String((e.involvedObject as { name: string }).name)}`);

  beforeEach(async () => {
    fake = await startFakeKube();
    addNode(fake, 'n1');
    addAgentPod(fake, 'n1');
    now = 1_000_000;
    current = health({ throttled: true });
    writes = [];
    events = [];
  });
  afterEach(async () => {
    await pub?.stop();
    pub = undefined;
    await fake.stop();
  });

  it('API absent: one discovery, no NodeFeature request ever; looked for again only after the discovery interval', async () => {
    const p = publisher({ discoveryIntervalMs: 300_000 });
    const mark = fake.requests.length;
    for (let i = 0; i < 5; i++) {
      await p.syncOnce();
      now += 10_000;
    }
    assert.deepEqual(nfRequests(mark), []);
    assert.equal(fake.requests.slice(mark).filter((r) => r.path === '/apis/nfd.k8s-sigs.io/v1alpha1').length, 1);
    assert.deepEqual(fake.list(NODE_FEATURES), []);
    // NFD installed later: found at the next discovery, not before.
    fake.addResource(NODE_FEATURES);
    await p.syncOnce();
    assert.deepEqual(fake.list(NODE_FEATURES), []);
    now += 300_000;
    await p.syncOnce();
    assert.equal(fake.list(NODE_FEATURES).length, 1);
  });

  it('creates the object with the node label, owner and health labels; 0 writes when nothing changes; patches changes', async () => {
    fake.addResource(NODE_FEATURES);
    const p = publisher();
    await p.syncOnce();
    const nf = fake.get(NODE_FEATURES, AGENT_NS, NAME)!;
    assert.equal(nf.metadata.labels?.[NFD_NODE_LABEL], 'n1');
    assert.deepEqual(nf.metadata.ownerReferences?.map((o) => [o.kind, o.name]), [['Pod', 'metrics-manager-n1']]);
    assert.deepEqual((nf.spec as { labels: Record<string, string> }).labels, { [`${P}gpu.present`]: 'true', [`${P}gpu.healthy`]: 'true', [`${P}gpu.throttled`]: 'true' });
    assert.deepEqual(writes, ['created']);

    const mark = fake.requests.length;
    for (let i = 0; i < 5; i++) await p.syncOnce();
    assert.equal(fake.requests.length, mark, 'nothing changed: no request at all');

    current = health({ throttled: false }, { healthy: true });
    await p.syncOnce();
    assert.deepEqual(Object.fromEntries(fake.requestCounts(mark)), { 'patch nodefeatures': 1, 'create events': 1 });
    assert.deepEqual((fake.get(NODE_FEATURES, AGENT_NS, NAME)!.spec as { labels: Record<string, string> }).labels, {
      [`${P}gpu.present`]: 'true', [`${P}gpu.healthy`]: 'true', [`${P}gpu.throttled`]: 'false', [`${P}npu.present`]: 'true', [`${P}npu.healthy`]: 'true',
    });
    // A device that goes away takes its keys with it.
    current = health({ throttled: false });
    await p.syncOnce();
    assert.deepEqual(Object.keys((fake.get(NODE_FEATURES, AGENT_NS, NAME)!.spec as { labels: Record<string, string> }).labels).sort(), [`${P}gpu.healthy`, `${P}gpu.present`, `${P}gpu.throttled`]);
    assert.deepEqual(writes, ['created', 'patched', 'patched']);
  });

  it('a restarted agent adopts its object: no write when the labels already match', async () => {
    fake.addResource(NODE_FEATURES);
    await publisher().syncOnce();
    await pub!.stop();
    writes = [];
    const mark = fake.requests.length;
    await publisher().syncOnce();
    assert.deepEqual(nfRequests(mark), [['get nodefeatures', 1]]);
    assert.deepEqual(writes, []);
  });

  it('the object goes with the agent Pod (garbage collection by owner)', async () => {
    fake.addResource(NODE_FEATURES);
    await publisher().syncOnce();
    assert.ok(fake.get(NODE_FEATURES, AGENT_NS, NAME));
    fake.delete(PODS, AGENT_NS, 'metrics-manager-n1');
    await eventually(() => !fake.get(NODE_FEATURES, AGENT_NS, NAME), 2000, 'NodeFeature collected');
  });

  it('without a Pod UID the agent deletes its object on shutdown', async () => {
    fake.addResource(NODE_FEATURES);
    const p = publisher({ podUid: undefined });
    await p.syncOnce();
    assert.equal(fake.get(NODE_FEATURES, AGENT_NS, NAME)!.metadata.ownerReferences, undefined);
    await p.stop();
    assert.equal(fake.get(NODE_FEATURES, AGENT_NS, NAME), undefined);
    assert.deepEqual(writes, ['created', 'deleted']);
  });

  it('errors back off exponentially; collection-side health keeps being read', async () => {
    fake.addResource(NODE_FEATURES);
    const p = publisher({ backoffInitialMs: 1000, backoffMaxMs: 8000 });
    const stopFailing = fake.failRequests((r) => r.path.includes('/nodefeatures'), 500);
    await p.syncOnce(); // get fails
    const mark = fake.requests.length;
    now += 500;
    await p.syncOnce(); // within 1 s: no request
    assert.equal(fake.requests.length, mark);
    now += 600;
    await p.syncOnce(); // fails again: next wait 2 s
    now += 1500;
    await p.syncOnce();
    assert.equal(fake.requests.slice(mark).filter((r) => r.path.includes('/nodefeatures')).length, 1);
    stopFailing();
    now += 600;
    await p.syncOnce();
    assert.ok(fake.get(NODE_FEATURES, AGENT_NS, NAME));
    assert.deepEqual(writes, ['failed', 'failed', 'created']);
  });

  it('events on transitions regarding the Node; flapping is suppressed and counted', async () => {
    const p = publisher({ eventWindowMs: 600_000 });
    await p.syncOnce(); // throttled at start: reported
    current = health({ throttled: false });
    now += 1000;
    await p.syncOnce();
    for (let i = 0; i < 4; i++) {
      current = health({ throttled: i % 2 === 0 });
      now += 1000;
      await p.syncOnce();
    }
    assert.deepEqual(events, ['GpuThrottled sent', 'GpuThrottleCleared sent', 'GpuThrottled suppressed', 'GpuThrottleCleared suppressed', 'GpuThrottled suppressed', 'GpuThrottleCleared suppressed']);
    assert.deepEqual(nodeEvents().sort(), ['GpuThrottleCleared Node/n1', 'GpuThrottled Node/n1']);
    const e = fake.list(EVENTS, AGENT_NS).find((x) => x.reason === 'GpuThrottled')!;
    assert.equal(e.type, 'Warning');
    assert.match(String(e.message), /0000:03:00\.0/);
    // After the window the next transition is reported again.
    now += 600_000;
    current = health({ throttled: true });
    await p.syncOnce();
    assert.equal(events.at(-1), 'GpuThrottled sent');
    assert.equal(fake.list(EVENTS, AGENT_NS).length, 3);
  });
});

describe('node feature: the agent on a fixture host with a throttled GPU', function () {
  this.timeout(30_000);
  let fake: FakeKubeApiServer;

  beforeEach(async () => {
    fake = await startFakeKube();
    addNode(fake, 'n1');
    addAgentPod(fake, 'n1');
  });
  afterEach(async () => {
    await fake.stop();
  });

  const hostEnv = (on: string) => {
    const d = path.join(repoRoot(), 'test', 'fixtures', 'hosts', 'dgpu', 't1');
    return {
      NODE_FEATURE_ENABLED: on, SYSTEM_METRICS_SOURCE: 'builtin', HOST_PROC: path.join(d, 'proc'), HOST_SYS: path.join(d, 'sys'),
      COLLECTOR_SCRIPTS_ENABLED: 'false', COLLECTOR_NVIDIA_ENABLED: 'false', COLLECTOR_POD_RESOURCES_ENABLED: 'false',
    };
  };

  it('publishes gpu.throttled=true, sends GpuThrottled on the Node and counts both in /metrics/self', async () => {
    fake.addResource(NODE_FEATURES);
    const podUid = fake.get(PODS, AGENT_NS, 'metrics-manager-n1')!.metadata.uid;
    const a = await startClusterAgent(fake, 'n1', hostEnv('true'), { podUid, nodeFeature: { syncIntervalMs: 100 } });
    try {
      const nf = await eventually(() => fake.get(NODE_FEATURES, AGENT_NS, NAME), 10_000, 'NodeFeature created');
      assert.deepEqual((nf.spec as { labels: Record<string, string> }).labels, { [`${P}gpu.present`]: 'true', [`${P}gpu.healthy`]: 'true', [`${P}gpu.throttled`]: 'true' });
      assert.equal(nf.metadata.ownerReferences?.[0]?.uid, podUid);
      await eventually(() => fake.list(EVENTS, AGENT_NS).some((e) => e.reason === 'GpuThrottled'), 5000, 'GpuThrottled event');
      // The fixture does not change: after several more syncs still one write.
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(fake.requestCounts().get('create nodefeatures'), 1);
      assert.equal(fake.requestCounts().get('patch nodefeatures') ?? 0, 0);
      const text = await (await fetch(`${a.url}/metrics/self`)).text();
      assert.match(text, /metrics_manager_node_feature_writes_total\{result="created"\} 1/);
      assert.match(text, /metrics_manager_node_health_events_total\{reason="GpuThrottled",outcome="sent"\} 1/);
    } finally {
      await a.stop();
    }
  });

  it('NODE_FEATURE_ENABLED=false (the standalone default): no NodeFeature or Event request', async () => {
    fake.addResource(NODE_FEATURES);
    const a = await startClusterAgent(fake, 'n1', hostEnv('false'), { nodeFeature: { syncIntervalMs: 50 } });
    try {
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(a.agent.nodeFeature, undefined);
      const keys = [...fake.requestCounts().keys()];
      assert.deepEqual(keys.filter((k) => k.includes('nodefeatures') || k.includes('events')), []);
    } finally {
      await a.stop();
    }
  });
});
