/**
 * Pushes that carry their pod (PUSH_POD_LABELS): a real in-process agent on a node of the FAKE
 * cluster (pod cache through the real client-node), pushed to over real HTTP from chosen source
 * addresses: the client socket is bound to 127.0.0.x, which the fake's pods hold as their pod IPs.
 * Every push format, the node's own addresses, unknown addresses, which labels win, the
 * authenticated identity over the address, the per-namespace counter; the pure rules underneath.
 */

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Batch } from '../../src/hub/hub';
import { NamespaceCounter, pushStamp, stampSamples } from '../../src/hub/push-labels';
import type { Sample } from '../../src/model/sample';
import { startAgent } from '../helpers/agent';
import { addAgentPod, addNode, PODS, startClusterAgent, startFakeKube, type ClusterAgent, type FakeKubeApiServer } from '../helpers/fake-kube';
import { repeatedRequest } from '../helpers/otlp-body';

interface Reply {
  status: number;
  body: string;
}

/** One HTTP request whose socket is bound to `from` (a 127.0.0.x address standing for a pod IP). */
function send(url: string, from: string, method: string, p: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path: p, localAddress: from, agent: false, headers: { 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = (o: unknown) => JSON.stringify(o);
const JSON_TYPE = { 'content-type': 'application/json' };

/** Captures what enters the hub as custom samples. */
function capture(a: { agent: { hub: { subscribe(s: (b: Batch) => void): () => void } } }): Sample[] {
  const got: Sample[] = [];
  a.agent.hub.subscribe((b) => {
    if (b.origin === 'custom') got.push(...b.samples);
  });
  return got;
}

function labelsOf(samples: Sample[], name: string): Record<string, string>[] {
  return samples.filter((s) => s.name === name).map((s) => s.labels);
}

describe('push labels: the rules (pure)', () => {
  const sources = {
    byAddress: true,
    nodeName: 'n1',
    sourceOf: (a: string) => (a === '10.0.0.5' ? { kind: 'pod' as const, namespace: 'vision', pod: 'cam-0' } : a === '192.168.1.10' ? { kind: 'node' as const } : undefined),
  };

  it('pod, node, unknown address; off means nothing', () => {
    assert.deepEqual(pushStamp({ address: '10.0.0.5' }, sources), { labels: { namespace: 'vision', pod: 'cam-0' }, namespace: 'vision' });
    assert.deepEqual(pushStamp({ address: '192.168.1.10' }, sources), { labels: { node: 'n1' } });
    assert.deepEqual(pushStamp({ address: '10.9.9.9' }, sources), { labels: {} });
    assert.deepEqual(pushStamp({ address: '10.0.0.5' }, { ...sources, byAddress: false }), { labels: {} });
  });

  it('the authenticated namespace wins; the pod only when it is in that namespace', () => {
    assert.deepEqual(pushStamp({ address: '10.0.0.5', authenticatedNamespace: 'vision' }, sources), { labels: { namespace: 'vision', pod: 'cam-0' }, namespace: 'vision' });
    assert.deepEqual(pushStamp({ address: '10.0.0.5', authenticatedNamespace: 'billing' }, sources), { labels: { namespace: 'billing' }, namespace: 'billing' });
    assert.deepEqual(pushStamp({ address: '192.168.1.10', authenticatedNamespace: 'billing' }, sources), { labels: { namespace: 'billing' }, namespace: 'billing' });
    assert.deepEqual(pushStamp({ address: '10.0.0.5', authenticatedNamespace: 'billing' }, { ...sources, byAddress: false }), { labels: {}, namespace: 'billing' }, 'counted, stamped by auth itself');
  });

  it('stamps new label objects (inputs untouched), drops precomputed keys, and honours who wins', () => {
    const shared = { namespace: 'forged', job: 'x' };
    const samples: Sample[] = [
      { name: 'a', labels: shared, value: 1, type: 'gauge', key: 'a{…}' },
      { name: 'b', labels: shared, value: 2, type: 'gauge' },
    ];
    const agentWins = stampSamples(samples, { namespace: 'vision', pod: 'cam-0' }, false);
    assert.deepEqual(agentWins[0].labels, { namespace: 'vision', job: 'x', pod: 'cam-0' });
    assert.equal(agentWins[0].labels, agentWins[1].labels, 'one object per input labels object');
    assert.equal(agentWins[0].key, undefined);
    assert.deepEqual(shared, { namespace: 'forged', job: 'x' });
    const pusherWins = stampSamples(samples, { namespace: 'vision', pod: 'cam-0' }, true);
    assert.deepEqual(pusherWins[0].labels, { namespace: 'forged', job: 'x', pod: 'cam-0' });
    assert.equal(stampSamples(samples, {}, false), samples);
  });

  it('counts namespaces over a bounded set: overflow under other, unknown under none', () => {
    const c = new NamespaceCounter(2);
    for (const ns of ['a', 'b', 'c', 'a', undefined, 'd', '']) c.add(ns);
    assert.deepEqual(Object.fromEntries(c.snapshot()), { a: 2, b: 1, other: 2, none: 2 });
  });
});

describe('push labels: pushes from pod addresses to an agent in a (fake) cluster', function () {
  let fake: FakeKubeApiServer;
  let agent: ClusterAgent | undefined;
  let dir: string;

  before(async () => {
    fake = await startFakeKube();
    addNode(fake, 'n1');
    addAgentPod(fake, 'n1');
    const pod = (ns: string, name: string, ip: string, extra: { hostNetwork?: boolean; hostIp?: string; node?: string } = {}) => fake.create(PODS, {
      metadata: { namespace: ns, name },
      spec: { nodeName: extra.node ?? 'n1', hostNetwork: extra.hostNetwork ?? false, containers: [{ name: 'c', image: 'i' }] },
      status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], hostIP: extra.hostIp ?? '127.0.0.5', hostIPs: [{ ip: extra.hostIp ?? '127.0.0.5' }] },
    });
    pod('vision', 'cam-0', '127.0.0.2');
    pod('billing', 'invoicer', '127.0.0.3');
    pod('kube-system', 'node-exporter', '127.0.0.4', { hostNetwork: true });
    pod('vision', 'elsewhere', '127.0.0.6', { node: 'n2', hostIp: '127.0.0.7' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-push-pod-'));
    fs.writeFileSync(path.join(dir, 'tokens'), 'billing-token-0123456789abcdef write billing/app\n');
  });
  after(async () => {
    await fake.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
  });

  const start = async (env: Record<string, string> = {}) => {
    agent = await startClusterAgent(fake, 'n1', { PUSH_POD_LABELS: 'true', RATE_LIMIT_ENABLED: 'false', ...env });
    await agent.agent.pods!.synced();
    return agent;
  };

  it('every push format from a pod address gets the pod\'s namespace and name', async () => {
    const a = await start();
    const got = capture(a);
    const from = '127.0.0.2';
    assert.equal((await send(a.url, from, 'POST', '/api/v1/metrics/simple', json({ name: 'simple_fps', value: 30 }), JSON_TYPE)).status, 202);
    const batch = await send(a.url, from, 'POST', '/api/v1/metrics', json({ metrics: [{ name: 'batch', fields: { fps: 1 } }] }), JSON_TYPE);
    assert.equal(batch.status, 202, batch.body);
    assert.equal((await send(a.url, from, 'POST', '/api/v1/metrics/influx', 'lp_fps value=2\n', { 'content-type': 'text/plain' })).status, 202);
    assert.equal((await send(a.url, from, 'POST', '/write', 'write_fps value=3\n')).status, 204);
    assert.equal((await send(a.url, from, 'POST', '/api/v2/write', 'v2_fps value=4\n')).status, 204);
    assert.equal((await send(a.url, from, 'POST', '/v1/metrics', repeatedRequest(1).raw, { 'content-type': 'application/x-protobuf' })).status, 200);
    const report = await send(a.url, from, 'POST', '/api/metrics/report', json({ component_name: 'decoder', metrics: [{ metric_name: 'frames_total', metric_type: 'counter', metric_value: 5 }] }), JSON_TYPE);
    assert.equal(report.status, 202, report.body);
    const names = [...new Set(got.map((s) => s.name))];
    assert.ok(names.length >= 8, names.join(','));
    for (const s of got) assert.deepEqual([s.labels.namespace, s.labels.pod], ['vision', 'cam-0'], `${s.name} ${JSON.stringify(s.labels)}`);
    const self = await (await fetch(`${a.url}/metrics/self`)).text();
    assert.match(self, /^metrics_manager_pushes_by_namespace_total\{namespace="vision"\} 7$/m);
  });

  it('another pod, the node itself, a host-network pod, a pod of another node, an unknown address', async () => {
    const a = await start();
    const got = capture(a);
    const push = (from: string, name: string) => send(a.url, from, 'POST', '/api/v1/metrics/simple', json({ name, value: 1 }), JSON_TYPE);
    for (const [from, name] of [['127.0.0.3', 'm_billing'], ['127.0.0.5', 'm_node'], ['127.0.0.4', 'm_hostnet'], ['127.0.0.6', 'm_other_node'], ['127.0.0.9', 'm_unknown']]) {
      assert.equal((await push(from, name)).status, 202);
    }
    assert.deepEqual(labelsOf(got, 'm_billing'), [{ namespace: 'billing', pod: 'invoicer' }]);
    assert.deepEqual(labelsOf(got, 'm_node'), [{ node: 'n1' }], 'the node\'s own address');
    assert.deepEqual(labelsOf(got, 'm_hostnet'), [{ node: 'n1' }], 'a host-network pod is the node');
    assert.deepEqual(labelsOf(got, 'm_other_node'), [{}], 'only this node\'s pods are known');
    assert.deepEqual(labelsOf(got, 'm_unknown'), [{}]);
    const self = await (await fetch(`${a.url}/metrics/self`)).text();
    assert.match(self, /^metrics_manager_pushes_by_namespace_total\{namespace="billing"\} 1$/m);
    assert.match(self, /^metrics_manager_pushes_by_namespace_total\{namespace="none"\} 4$/m);
  });

  it('the agent\'s labels win by default; PUSH_LABELS_PRECEDENCE=pusher keeps the pusher\'s', async () => {
    let a = await start();
    let got = capture(a);
    const forged = json({ name: 'claims', value: 1, tags: { namespace: 'billing', pod: 'invoicer', team: 't' } });
    await send(a.url, '127.0.0.2', 'POST', '/api/v1/metrics/simple', forged, JSON_TYPE);
    assert.deepEqual(labelsOf(got, 'claims'), [{ namespace: 'vision', pod: 'cam-0', team: 't' }]);
    await a.stop();
    a = await start({ PUSH_LABELS_PRECEDENCE: 'pusher' });
    got = capture(a);
    await send(a.url, '127.0.0.2', 'POST', '/api/v1/metrics/simple', json({ name: 'claims', value: 1, tags: { namespace: 'billing', team: 't' } }), JSON_TYPE);
    assert.deepEqual(labelsOf(got, 'claims'), [{ namespace: 'billing', pod: 'cam-0', team: 't' }], 'own namespace kept, missing pod stamped');
  });

  it('an authenticated identity wins over the address', async () => {
    const a = await start({ AUTH_MODE: 'token', AUTH_TOKENS_FILE: path.join(dir, 'tokens') });
    const got = capture(a);
    const auth = { ...JSON_TYPE, authorization: 'Bearer billing-token-0123456789abcdef' };
    assert.equal((await send(a.url, '127.0.0.2', 'POST', '/api/v1/metrics/simple', json({ name: 'from_vision_pod', value: 1 }), auth)).status, 202);
    assert.equal((await send(a.url, '127.0.0.3', 'POST', '/api/v1/metrics/simple', json({ name: 'from_billing_pod', value: 1 }), auth)).status, 202);
    assert.deepEqual(labelsOf(got, 'from_vision_pod'), [{ namespace: 'billing', service_account: 'app' }], 'a billing token used from a vision pod: billing, no pod');
    assert.deepEqual(labelsOf(got, 'from_billing_pod'), [{ namespace: 'billing', service_account: 'app', pod: 'invoicer' }]);
    // A pusher's own namespace is the identity's to decide (AUTH_IDENTITY_LABELS=overwrite by default), not the address's.
    assert.equal((await send(a.url, '127.0.0.3', 'POST', '/api/v1/metrics/simple', json({ name: 'claims_ns', value: 1, tags: { namespace: 'vision' } }), auth)).status, 202);
    assert.deepEqual(labelsOf(got, 'claims_ns'), [{ namespace: 'billing', service_account: 'app', pod: 'invoicer' }]);
    const self = await (await fetch(`${a.url}/metrics/self`)).text();
    assert.match(self, /^metrics_manager_pushes_by_namespace_total\{namespace="billing"\} 3$/m);
  });

  it('off by default: nothing stamped, pushes counted under none', async () => {
    agent = await startClusterAgent(fake, 'n1', { RATE_LIMIT_ENABLED: 'false' });
    await agent.agent.pods!.synced();
    const got = capture(agent);
    await send(agent.url, '127.0.0.2', 'POST', '/api/v1/metrics/simple', json({ name: 'plain', value: 1 }), JSON_TYPE);
    assert.deepEqual(labelsOf(got, 'plain'), [{}]);
  });

  it('outside a cluster the setting changes nothing (no pod cache)', async () => {
    const a = await startAgent({ PUSH_POD_LABELS: 'true' });
    try {
      const got = capture(a);
      assert.equal((await send(a.url, '127.0.0.2', 'POST', '/api/v1/metrics/simple', json({ name: 'solo', value: 1 }), JSON_TYPE)).status, 202);
      assert.deepEqual(labelsOf(got, 'solo'), [{}]);
    } finally {
      await a.stop();
    }
  });
});
