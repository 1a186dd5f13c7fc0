/**
 * The node's pod cache through the real @kubernetes/client-node against the FAKE API server
 * (test/helpers/fake-kube): only this node's pods (fieldSelector spec.nodeName on list and watch),
 * pods appearing, changing and going, host-network pods and the node's addresses, the bound and
 * its drop counter, counted relists. Then a real in-process agent on a fake node reading the
 * k8s-igpu fixture host: per-pod GPU series get namespace/pod/container from the cache (pods
 * appearing and disappearing between two collections), and device series get the holding pod from
 * the kubelet's PodResources answer (a real grpc-js server on a unix socket).
 */

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { containerIdOf, decodeNodePod, NodePodCache, normaliseIp } from '../../src/cluster/pod-cache';
import { createKubeApi, httpStatus, PODS as POD_REF } from '../../src/kube/client';
import type { Batch } from '../../src/hub/hub';
import type { Sample } from '../../src/model/sample';
import { startAgent } from '../helpers/agent';
import { FakeKubeletPodResources } from '../helpers/fake-kubelet';
import {
  addAgentPod, addNode, eventually, FAST_LIST_WATCH, fakeKubeConfig, PODS, silentLogger, startClusterAgent, startFakeKube,
  type ClusterAgent, type FakeKubeApiServer, type Obj,
} from '../helpers/fake-kube';

const CID_A = 'aaaaaaaa' + '0123456789abcdef'.repeat(3) + 'aaaaaaaa';
const CID_C = 'c'.repeat(64);

interface PodSpec {
  ns: string;
  name: string;
  node: string;
  ip?: string;
  hostIp?: string;
  hostNetwork?: boolean;
  containers?: [string, string][];
}

function podBody(p: PodSpec): Record<string, unknown> {
  return {
    metadata: { name: p.name, namespace: p.ns },
    spec: { nodeName: p.node, hostNetwork: p.hostNetwork ?? false, containers: (p.containers ?? [['main', '']]).map(([name]) => ({ name, image: 'img' })) },
    status: {
      phase: 'Running',
      ...(p.ip ? { podIP: p.ip, podIPs: [{ ip: p.ip }] } : {}),
      ...(p.hostIp ? { hostIP: p.hostIp, hostIPs: [{ ip: p.hostIp }] } : {}),
      containerStatuses: (p.containers ?? []).filter(([, id]) => id !== '').map(([name, id]) => ({ name, containerID: `containerd://${id}`, ready: true, restartCount: 0 })),
    },
  };
}

function addPod(fake: FakeKubeApiServer, p: PodSpec): Obj {
  return fake.create(PODS, podBody(p));
}

describe('pod cache: decoding', () => {
  it('keeps uid, names, IPs, hostNetwork and every kind of container id', () => {
    const pod = decodeNodePod({
      metadata: { uid: 'ABCD-1', namespace: 'vision', name: 'detector-0' },
      spec: { hostNetwork: false },
      status: {
        podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }, { ip: 'FD00::5' }], hostIP: '192.168.1.10', hostIPs: [{ ip: '192.168.1.10' }],
        initContainerStatuses: [{ name: 'init', containerID: 'containerd://1111' }],
        containerStatuses: [
          { name: 'infer', containerID: 'cri-o://ABCD', lastState: { terminated: { containerID: 'cri-o://0ld' } } },
          { name: 'waiting' },
        ],
        ephemeralContainerStatuses: [{ name: 'debug', containerID: 'docker://eeee' }],
      },
    });
    assert.equal(pod.uid, 'abcd-1');
    assert.deepEqual(pod.ips, ['10.244.1.5', 'fd00::5']);
    assert.deepEqual(pod.hostIps, ['192.168.1.10']);
    assert.equal(pod.hostNetwork, false);
    assert.deepEqual([...pod.containers], [['1111', 'init'], ['abcd', 'infer'], ['0ld', 'infer'], ['eeee', 'debug']]);
    assert.equal(containerIdOf(''), undefined);
    assert.equal(containerIdOf('containerd://'), undefined);
    assert.equal(normaliseIp('::ffff:10.0.0.7'), '10.0.0.7');
  });

  it('survives objects without spec or status (a pod just scheduled)', () => {
    const pod = decodeNodePod({ metadata: { uid: 'u', namespace: 'a', name: 'b' } });
    assert.deepEqual(pod.ips, []);
    assert.equal(pod.containers.size, 0);
    assert.equal(pod.hostNetwork, false);
  });
});

describe('pod cache: the pods of this node (fake API server, real client-node)', () => {
  let fake: FakeKubeApiServer;
  let cache: NodePodCache | undefined;

  beforeEach(async () => {
    fake = await startFakeKube();
    addNode(fake, 'n1');
    addNode(fake, 'n2');
  });
  afterEach(async () => {
    await cache?.stop();
    cache = undefined;
    await fake.stop();
  });

  const start = async (maxPods?: number) => {
    cache = new NodePodCache({ kubeConfig: fakeKubeConfig(fake), nodeName: 'n1', maxPods, listWatch: FAST_LIST_WATCH, logger: silentLogger() });
    cache.start();
    await cache.synced();
    return cache;
  };

  it('lists and watches with fieldSelector spec.nodeName and keeps only this node\'s pods', async () => {
    const a = addPod(fake, { ns: 'vision', name: 'detector-0', node: 'n1', ip: '10.244.1.5', hostIp: '192.168.1.10', containers: [['infer', CID_A]] });
    addPod(fake, { ns: 'vision', name: 'detector-1', node: 'n2', ip: '10.244.2.5', hostIp: '192.168.1.11', containers: [['infer', CID_C]] });
    const c = await start();
    assert.equal(c.stats.pods, 1);
    assert.deepEqual(c.ownerLabels(a.metadata.uid!, CID_A), { namespace: 'vision', pod: 'detector-0', container: 'infer' });
    assert.deepEqual(c.ownerLabels(a.metadata.uid!.toUpperCase(), 'f'.repeat(64)), { namespace: 'vision', pod: 'detector-0' }, 'unknown container: the pod only');
    assert.equal(c.sourceOf('10.244.2.5'), undefined, 'a pod of another node is not ours');
    assert.deepEqual(c.sourceOf('::ffff:10.244.1.5'), { kind: 'pod', namespace: 'vision', pod: 'detector-0' });
    assert.deepEqual(c.sourceOf('192.168.1.10'), { kind: 'node' }, 'the node\'s own address');
    await eventually(() => fake.watchRequests('pods').length > 0, 5000, 'a watch of pods');
    const watches = fake.watchRequests('pods');
    const lists = fake.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/pods') && r.query.get('watch') !== 'true');
    assert.ok(lists.length >= 1);
    for (const r of [...lists, ...watches]) assert.equal(r.query.get('fieldSelector'), 'spec.nodeName=n1');
  });

  it('follows pods appearing, getting their IP, becoming host-network and going', async () => {
    const c = await start();
    assert.equal(c.stats.pods, 0);
    const p = addPod(fake, { ns: 'media', name: 'transcoder', node: 'n1', containers: [['ffmpeg', CID_C]] });
    await eventually(() => c.ownerLabels(p.metadata.uid!, CID_C), 5000, 'the new pod');
    assert.equal(c.sourceOf('10.244.1.9'), undefined);
    fake.patch(PODS, 'media', 'transcoder', { status: { podIP: '10.244.1.9', podIPs: [{ ip: '10.244.1.9' }] } });
    await eventually(() => c.sourceOf('10.244.1.9')?.kind === 'pod', 5000, 'the pod IP');
    const h = addPod(fake, { ns: 'kube-system', name: 'node-agent', node: 'n1', ip: '192.168.1.10', hostIp: '192.168.1.10', hostNetwork: true });
    await eventually(() => c.ownerLabels(h.metadata.uid!), 5000, 'the host-network pod');
    assert.deepEqual(c.sourceOf('192.168.1.10'), { kind: 'node' }, 'a host-network pod is the node');
    fake.delete(PODS, 'media', 'transcoder');
    await eventually(() => c.ownerLabels(p.metadata.uid!) === undefined, 5000, 'the pod gone');
    assert.equal(c.sourceOf('10.244.1.9'), undefined);
    fake.delete(PODS, 'kube-system', 'node-agent');
    await eventually(() => c.sourceOf('192.168.1.10') === undefined, 5000, 'the node address forgotten with the last pod that said so');
    assert.equal(c.stats.pods, 0);
  });

  it('is bounded: pods past maxPods are dropped and counted, and taken in when room frees', async () => {
    for (let i = 0; i < 3; i++) addPod(fake, { ns: 'x', name: `p${i}`, node: 'n1', ip: `10.244.1.${20 + i}` });
    const c = await start(2);
    assert.equal(c.stats.pods, 2);
    assert.equal(c.stats.dropped, 1);
    addPod(fake, { ns: 'x', name: 'p3', node: 'n1' });
    await eventually(() => c.stats.dropped === 2, 5000, 'the watched newcomer dropped too');
    assert.equal(c.stats.pods, 2);
    // Two pods go while the watch is deaf; the relist after 410 Gone takes the others in.
    fake.stallWatches();
    fake.delete(PODS, 'x', 'p0');
    fake.delete(PODS, 'x', 'p1');
    fake.compact();
    fake.dropWatches();
    await eventually(() => c.stats.pods === 2 && c.sourceOf('10.244.1.22')?.kind === 'pod', 5000, () => JSON.stringify(c.stats));
  });

  it('counts relists: the first list, then one per 410 Gone', async () => {
    addPod(fake, { ns: 'x', name: 'a', node: 'n1', ip: '10.244.1.30' });
    const c = await start();
    assert.equal(c.stats.relists, 1);
    assert.equal(c.stats.synced, true);
    // The watch misses a change and its resume point is compacted away: 410 Gone, a relist.
    fake.stallWatches();
    addPod(fake, { ns: 'x', name: 'b', node: 'n1', ip: '10.244.1.31' });
    fake.compact();
    fake.dropWatches();
    await eventually(() => c.stats.relists === 2, 5000, () => `relists: ${c.stats.relists}`);
    assert.deepEqual(c.sourceOf('10.244.1.30'), { kind: 'pod', namespace: 'x', pod: 'a' }, 'nothing lost over the relist');
    assert.deepEqual(c.sourceOf('10.244.1.31'), { kind: 'pod', namespace: 'x', pod: 'b' }, 'the missed pod found by the relist');
  });

  it('the fake refuses a pod field selector a real server refuses (400 through client-node)', async () => {
    const api = createKubeApi(fakeKubeConfig(fake));
    await assert.rejects(api.listPage(POD_REF, { fieldSelector: 'spec.containers.name=x' }), (e: unknown) => {
      assert.equal(httpStatus(e), 400);
      assert.match(String((e as { body?: unknown }).body), /field label not supported: spec.containers.name/);
      return true;
    });
    const ok = await api.listPage(POD_REF, { fieldSelector: 'spec.nodeName=n1,status.phase=Running' });
    assert.deepEqual(ok.items, []);
  });
});

/** Copies the k8s-igpu fixture host (t0) and rewrites its cgroup pod UIDs to the fake's: UIDs are the API server's to give. */
function fixtureHostWithUids(uids: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-pod-host-'));
  const src = path.join(__dirname, '../../../test/fixtures/hosts/k8s-igpu/t0');
  fs.cpSync(src, dir, { recursive: true, verbatimSymlinks: true });
  for (const pid of fs.readdirSync(path.join(dir, 'proc'))) {
    const f = path.join(dir, 'proc', pid, 'cgroup');
    if (!fs.existsSync(f)) continue;
    let text = fs.readFileSync(f, 'utf8');
    for (const [from, to] of Object.entries(uids)) text = text.split(from).join(to);
    fs.writeFileSync(f, text);
  }
  return dir;
}

const FIXTURE_UID_A = '1f3c2a7e-5b4d-4e8f-9a01-23456789abcd';
const FIXTURE_UID_C = '0a1b2c3d-4e5f-4061-8273-8495a6b7c8d9';

describe('pod cache: an agent on a node labels per-pod GPU series and device series', () => {
  let fake: FakeKubeApiServer;
  let kubelet: FakeKubeletPodResources;
  let agent: ClusterAgent | undefined;
  let host: string;

  beforeEach(async () => {
    fake = await startFakeKube();
    addNode(fake, 'n1');
    addAgentPod(fake, 'n1');
    kubelet = new FakeKubeletPodResources({
      list: { pod_resources: [{ name: 'detector-0', namespace: 'vision', containers: [{ name: 'infer', devices: [{ resource_name: 'gpu.intel.com/i915', device_ids: ['card0-0'] }] }] }] },
      allocatable: { devices: [{ resource_name: 'gpu.intel.com/i915', device_ids: ['card0-0', 'card0-1'] }] },
    });
    await kubelet.start();
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await kubelet.stop();
    await fake.stop();
    if (host) fs.rmSync(host, { recursive: true, force: true });
  });

  it('pods appearing and disappearing between collections; the holder of card0 on its series', async () => {
    const a = addPod(fake, { ns: 'vision', name: 'detector-0', node: 'n1', ip: '10.244.1.5', containers: [['infer', CID_A]] });
    // Pod C exists but is not scheduled yet (no spec.nodeName): not a pod of n1 for the cache.
    const c = addPod(fake, { ns: 'media', name: 'transcoder', node: '', ip: '10.244.1.9', containers: [['ffmpeg', CID_C]] });
    host = fixtureHostWithUids({ [FIXTURE_UID_A]: a.metadata.uid!, [FIXTURE_UID_C]: c.metadata.uid! });
    const off = Object.fromEntries(['CPU', 'MEM', 'TEMP', 'CPUFREQ', 'INTEL_NPU', 'NVIDIA', 'SCRIPTS'].map((n) => [`COLLECTOR_${n}_ENABLED`, 'false']));
    agent = await startClusterAgent(fake, 'n1', {
      ...off, SYSTEM_METRICS_SOURCE: 'builtin', HOST_PROC: path.join(host, 'proc'), HOST_SYS: path.join(host, 'sys'),
      COLLECTOR_INTEL_GPU_INTERVAL_MS: '3600000', COLLECTOR_POD_RESOURCES_INTERVAL_MS: '3600000', POD_RESOURCES_SOCKET: kubelet.socketPath,
    });
    const pods = agent.agent.pods!;
    await pods.synced();
    // The scheduler's own first cycle (at start) is out of the way; the test drives the rest.
    await eventually(() => agent!.agent.collectors.health().every((h) => h.runs >= 1), 5000, 'the first scheduled cycle');
    const batches: Sample[][] = [];
    agent.agent.hub.subscribe((b: Batch) => {
      batches.push([...b.samples]);
    });
    const collect = async () => {
      batches.length = 0;
      await agent!.agent.collectors.runOnce();
      return batches.flat();
    };
    const clients = (samples: Sample[]) => samples.filter((s) => s.name === 'gpu_pod_drm_clients').map((s) => ({ ...s.labels, value: s.value }) as Record<string, string | number | undefined>);

    let samples = await collect();
    const podA = clients(samples).find((l) => l.pod_uid === a.metadata.uid);
    assert.ok(podA, JSON.stringify(clients(samples)));
    assert.deepEqual([podA.namespace, podA.pod, podA.container, podA.container_id, podA.value], ['vision', 'detector-0', 'infer', CID_A, 1]);
    const podC = clients(samples).find((l) => l.pod_uid === c.metadata.uid)!;
    assert.equal(podC.container_id, CID_C);
    assert.equal(podC.namespace, undefined, 'not a pod of this node yet: cgroup ids only');
    // The device joined with its sole holder, as dcgm-exporter labels its GPU series.
    const freq = samples.filter((s) => s.name === 'gpu_frequency');
    assert.ok(freq.length > 0);
    for (const s of freq) assert.deepEqual([s.labels.card, s.labels.namespace, s.labels.pod, s.labels.container], ['card0', 'vision', 'detector-0', 'infer']);
    // Per-pod series keep their own pod; the allocation series are not re-labelled.
    assert.equal(clients(samples).filter((l) => l.pod === 'detector-0').length, 1, JSON.stringify(clients(samples)));
    const alloc = samples.filter((s) => s.name === 'accelerator_device_allocatable');
    assert.equal(alloc.length, 2);
    for (const s of alloc) assert.equal(s.labels.pod, undefined);

    // Between two collections: pod C is bound to n1 (appears), pod A is deleted (disappears).
    fake.patch(PODS, 'media', 'transcoder', { spec: { nodeName: 'n1' } });
    fake.delete(PODS, 'vision', 'detector-0');
    await eventually(() => pods.ownerLabels(c.metadata.uid!) && !pods.ownerLabels(a.metadata.uid!), 5000, 'the cache to follow');
    samples = await collect();
    const a2 = clients(samples).find((l) => l.pod_uid === a.metadata.uid)!;
    assert.deepEqual([a2.namespace, a2.pod, a2.container, a2.container_id], [undefined, undefined, undefined, CID_A], 'a pod gone from the cache: ids only');
    const c2 = clients(samples).find((l) => l.pod_uid === c.metadata.uid)!;
    assert.deepEqual([c2.namespace, c2.pod, c2.container, c2.container_id], ['media', 'transcoder', 'ffmpeg', CID_C]);
  });

  it('outside a cluster there is no pod cache and per-pod series carry the cgroup ids', async () => {
    host = fixtureHostWithUids({});
    const off = Object.fromEntries(['CPU', 'MEM', 'TEMP', 'CPUFREQ', 'INTEL_NPU', 'NVIDIA', 'SCRIPTS', 'POD_RESOURCES'].map((n) => [`COLLECTOR_${n}_ENABLED`, 'false']));
    const solo = await startAgent({ ...off, SYSTEM_METRICS_SOURCE: 'builtin', HOST_PROC: path.join(host, 'proc'), HOST_SYS: path.join(host, 'sys'), COLLECTOR_INTEL_GPU_INTERVAL_MS: '3600000' });
    try {
      assert.equal(solo.agent.pods, undefined);
      const batches: Sample[] = [];
      solo.agent.hub.subscribe((b: Batch) => {
        batches.push(...b.samples);
      });
      await solo.agent.collectors.runOnce();
      const a = batches.find((s) => s.name === 'gpu_pod_drm_clients' && s.labels.pod_uid === FIXTURE_UID_A)!;
      assert.equal(a.labels.container_id, CID_A);
      assert.equal(a.labels.namespace, undefined);
      const self = await (await fetch(`${solo.url}/metrics/self`)).text();
      assert.doesNotMatch(self, /pod_cache_pods/);
    } finally {
      await solo.stop();
    }
  });

  it('self-metrics show the cache size and relists', async () => {
    addPod(fake, { ns: 'x', name: 'a', node: 'n1', ip: '10.244.1.30' });
    agent = await startClusterAgent(fake, 'n1');
    await agent.agent.pods!.synced();
    const self = await (await fetch(`${agent.url}/metrics/self`)).text();
    // The agent's own pod and pod a.
    assert.match(self, /^metrics_manager_pod_cache_pods 2$/m);
    assert.match(self, /^metrics_manager_pod_cache_synced 1$/m);
    assert.match(self, /^metrics_manager_pod_cache_relists_total 1$/m);
    assert.match(self, /^metrics_manager_pod_cache_dropped_total 0$/m);
  });
});
