/**
 * Per-pod GPU attribution: DRM client → process → cgroup → pod UID and container id. The cgroup
 * parser is checked on every layout the kubelet and the CRI runtimes produce; the collector on the
 * k8s-igpu (i915, cgroup v1, cgroupfs) and k8s-dgpu (xe, cgroup v2, systemd) fixture hosts
 * (written by test/fixtures/tools/make-pod-gpu-hosts.ts), with values worked out by hand below.
 */

import assert from 'node:assert/strict';
import { IntelGpuCollector, ownerOfCgroupPath, parseProcCgroup } from '../../../src/collectors/intel-gpu';
import { advanceU64 } from '../../../src/collectors/intel-gpu/engine-usage';
import { throttleCategory } from '../../../src/collectors/intel-gpu/intel-gpu-collector';
import type { Sample } from '../../../src/model/sample';
import { close, find, hostFs, testEnv, value } from './fixture-host';

const UID = '1f3c2a7e-5b4d-4e8f-9a01-23456789abcd';
const UID_ = UID.replace(/-/g, '_');
const CID = '0123456789abcdef'.repeat(4);

describe('intel-gpu: pod of a process from its cgroup', () => {
  const cases: [string, string, ReturnType<typeof ownerOfCgroupPath>][] = [
    ['v2 systemd containerd', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${CID}.scope`, { podUid: UID, containerId: CID, runtime: 'containerd' }],
    ['v2 systemd CRI-O besteffort', `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${CID}.scope`, { podUid: UID, containerId: CID, runtime: 'cri-o' }],
    ['v2 systemd guaranteed', `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${CID}.scope`, { podUid: UID, containerId: CID, runtime: 'containerd' }],
    ['v2 systemd docker (cri-dockerd)', `/kubepods.slice/kubepods-pod${UID_}.slice/docker-${CID}.scope`, { podUid: UID, containerId: CID, runtime: 'docker' }],
    ['v2 systemd CRI-O conmon: the pod, no container', `/kubepods.slice/kubepods-pod${UID_}.slice/crio-conmon-${CID}.scope`, { podUid: UID }],
    ['v2 cgroupfs containerd', `/kubepods/burstable/pod${UID}/${CID}`, { podUid: UID, containerId: CID, runtime: 'containerd' }],
    ['v2 cgroupfs CRI-O guaranteed', `/kubepods/pod${UID}/crio-${CID}`, { podUid: UID, containerId: CID, runtime: 'cri-o' }],
    ['pod cgroup itself', `/kubepods/besteffort/pod${UID}`, { podUid: UID }],
    ['seen from inside a cgroup namespace', `/../../kubepods-burstable-pod${UID_}.slice/cri-containerd-${CID}.scope`, { podUid: UID, containerId: CID, runtime: 'containerd' }],
    ['kind node (nested kubelet slice)', `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${UID_}.slice/cri-containerd-${CID}.scope`, { podUid: UID, containerId: CID, runtime: 'containerd' }],
    ['static pod (32-hex UID)', `/kubepods/burstable/pod0123456789abcdef0123456789abcdef/${CID}`, { podUid: '0123456789abcdef0123456789abcdef', containerId: CID, runtime: 'containerd' }],
    ['upper-case hex is normalised', `/kubepods/pod${UID.toUpperCase()}/${CID.toUpperCase()}`, { podUid: UID, containerId: CID, runtime: 'containerd' }],
    ['host service', '/system.slice/containerd.service', undefined],
    ['user session', '/user.slice/user-1000.slice/session-3.scope', undefined],
    ['a pod-like name outside kubepods', `/system.slice/pod${UID}/${CID}`, undefined],
    ['root', '/', undefined],
  ];
  for (const [what, p, want] of cases) it(what, () => assert.deepEqual(ownerOfCgroupPath(p), want));

  it('reads v1 files (any hierarchy), v2 files, and prefers a pod placement on hybrid hosts', () => {
    const v1 = `12:pids:/kubepods/burstable/pod${UID}/${CID}\n11:memory:/kubepods/burstable/pod${UID}/${CID}\n1:name=systemd:/kubepods/burstable/pod${UID}/${CID}\n`;
    assert.deepEqual(parseProcCgroup(v1), { podUid: UID, containerId: CID, runtime: 'containerd' });
    // Hybrid with the cgroupfs driver: the unified line stays at the runtime's service.
    assert.deepEqual(parseProcCgroup(`${v1}0::/system.slice/containerd.service\n`), { podUid: UID, containerId: CID, runtime: 'containerd' });
    const v2 = `0::/kubepods.slice/kubepods-pod${UID_}.slice/crio-${CID}.scope\n`;
    assert.deepEqual(parseProcCgroup(v2), { podUid: UID, containerId: CID, runtime: 'cri-o' });
    assert.equal(parseProcCgroup('0::/system.slice/sshd.service\n'), undefined);
    assert.equal(parseProcCgroup(''), undefined);
    assert.equal(parseProcCgroup('garbage\nno colons here\n'), undefined);
  });
});

describe('intel-gpu: u64 counters', () => {
  it('advances, keeps the larger value over a dip, unwraps a wrap', () => {
    assert.deepEqual(advanceU64(10n, 15n), { delta: 5n, keep: 15n });
    assert.deepEqual(advanceU64(15n, 10n), { delta: 0n, keep: 15n });
    assert.deepEqual(advanceU64((1n << 64n) - 100n, 50n), { delta: 150n, keep: 50n });
  });
});

async function twoSnapshots(caseName: string, opts: ConstructorParameters<typeof IntelGpuCollector>[1] = {}) {
  const env = testEnv(hostFs(caseName, 't0'));
  const c = new IntelGpuCollector(env, opts);
  const first = await c.collect();
  env.clock.ms += 1000;
  env.fs = hostFs(caseName, 't1');
  const second = await c.collect();
  return { first: first.samples, second: second.samples };
}

const POD_A = { pod_uid: '1f3c2a7e-5b4d-4e8f-9a01-23456789abcd', container_id: 'aaaaaaaa' + '0123456789abcdef'.repeat(3) + 'aaaaaaaa' };
const POD_B = { pod_uid: '7d9e0c1b-2a3f-4b5c-8d6e-0f1a2b3c4d5e', container_id: 'bbbbbbbb' + 'fedcba9876543210'.repeat(3) + 'bbbbbbbb' };
const POD_C = { pod_uid: '0a1b2c3d-4e5f-4061-8273-8495a6b7c8d9', container_id: 'c'.repeat(64) };
const MiB = 1024 * 1024;

/** The per-owner series without pod labels: processes outside any pod. */
function host(samples: Sample[], name: string, extra: Record<string, string> = {}): Sample[] {
  return find(samples, name, extra).filter((s) => s.labels.pod_uid === undefined);
}

describe('intel-gpu: per-pod use on k8s-igpu (i915, cgroup v1, cgroupfs driver)', () => {
  it('first collect: clients and memory per pod and for the host, no busy ratio yet', async () => {
    const { first } = await twoSnapshots('k8s-igpu');
    assert.equal(value(first, 'gpu_pod_drm_clients', POD_A), 1);
    assert.equal(value(first, 'gpu_pod_drm_clients', POD_B), 1);
    assert.equal(value(first, 'gpu_pod_drm_clients', POD_C), 1);
    assert.equal(host(first, 'gpu_pod_drm_clients').length, 1);
    assert.equal(host(first, 'gpu_pod_drm_clients')[0].value, 1);
    assert.equal(value(first, 'gpu_pod_memory_resident_bytes', { ...POD_A, memory: 'system' }), 256 * MiB);
    assert.equal(value(first, 'gpu_pod_memory_total_bytes', { ...POD_B, memory: 'system' }), 16 * MiB);
    assert.equal(find(first, 'gpu_pod_memory_resident_bytes', { memory: 'local' }).length, 0, 'an iGPU client has no VRAM region');
    assert.equal(find(first, 'gpu_pod_engine_busy_ratio').length, 0);
  });

  it('second collect: exact busy ratios with a new client, a gone pod and a wrapped counter', async () => {
    const { second } = await twoSnapshots('k8s-igpu');
    // Card: render 0.1 (host) + 0.3 (A) + 0.2 (A's new client 25) = 60 %; video 0.8 s of 2 engines = 40 %;
    // copy: pod C's counter wrapped from 2^64 - 0.1 s to 0.4 s = 0.5 s = 50 %; video-enhance: pod B is gone.
    close(value(second, 'gpu_engine_usage_usage', { engine: 'render' }), 60);
    close(value(second, 'gpu_engine_usage_usage', { engine: 'video' }), 40);
    close(value(second, 'gpu_engine_usage_usage', { engine: 'copy' }), 50);
    close(value(second, 'gpu_engine_usage_usage', { engine: 'video-enhance' }), 0);
    assert.equal(value(second, 'gpu_drm_clients'), 4);

    assert.equal(value(second, 'gpu_pod_drm_clients', POD_A), 2, 'clients 21 and 25');
    close(value(second, 'gpu_pod_engine_busy_ratio', { ...POD_A, engine: 'render' }), 0.5);
    close(value(second, 'gpu_pod_engine_busy_ratio', { ...POD_A, engine: 'video' }), 0.4);
    close(value(second, 'gpu_pod_engine_busy_ratio', { ...POD_A, engine: 'copy' }), 0);
    assert.equal(value(second, 'gpu_pod_memory_resident_bytes', { ...POD_A, memory: 'system' }), 384 * MiB);

    close(value(second, 'gpu_pod_engine_busy_ratio', { ...POD_C, engine: 'copy' }), 0.5);
    close(value(second, 'gpu_pod_engine_busy_ratio', { ...POD_C, engine: 'render' }), 0);

    const hostRender = host(second, 'gpu_pod_engine_busy_ratio', { engine: 'render' });
    assert.equal(hostRender.length, 1);
    close(hostRender[0].value, 0.1);
    assert.equal(host(second, 'gpu_pod_memory_resident_bytes', { memory: 'system' })[0].value, 64 * MiB);

    assert.equal(find(second, 'gpu_pod_drm_clients', { pod_uid: POD_B.pod_uid }).length, 0, 'pod B exited');
    // Every engine class once per owner (host, A, C): 4 classes × 3.
    assert.equal(find(second, 'gpu_pod_engine_busy_ratio').length, 12);
  });

  it('per-pod series can be switched off, and need the process scan', async () => {
    for (const opts of [{ perPod: false }, { scanProcesses: false }]) {
      const { second } = await twoSnapshots('k8s-igpu', opts);
      assert.equal(second.filter((s) => s.name.startsWith('gpu_pod_')).length, 0, JSON.stringify(opts));
    }
  });

  it('uses the pod cache labels when it knows the pod', async () => {
    const { second } = await twoSnapshots('k8s-igpu', {
      podLabels: (o) => (o.podUid === POD_A.pod_uid ? { namespace: 'vision', pod: 'detector-0', container: 'infer' } : undefined),
    });
    close(value(second, 'gpu_pod_engine_busy_ratio', { ...POD_A, namespace: 'vision', pod: 'detector-0', container: 'infer', engine: 'render' }), 0.5);
    const a = find(second, 'gpu_pod_drm_clients', { pod_uid: POD_A.pod_uid });
    assert.equal(a.length, 1);
    assert.deepEqual(a[0].labels, { ...a[0].labels, ...POD_A, namespace: 'vision', pod: 'detector-0', container: 'infer' }, 'cache names added, cgroup ids kept');
    assert.equal(find(second, 'gpu_pod_drm_clients', { pod_uid: POD_C.pod_uid, namespace: 'vision' }).length, 0);
    assert.equal(find(second, 'gpu_pod_drm_clients', { pod_uid: POD_C.pod_uid }).length, 1, 'an unknown pod keeps its cgroup ids');
  });

  it('hands out the same label objects each collection, and new ones once the pod cache learns the pod', async () => {
    let known: Record<string, string> | undefined;
    const env = testEnv(hostFs('k8s-igpu', 't0'));
    const c = new IntelGpuCollector(env, { podLabels: (o) => (o.podUid === POD_A.pod_uid ? known : undefined) });
    const collect = async (snap: 't0' | 't1') => {
      env.clock.ms += 1000;
      env.fs = hostFs('k8s-igpu', snap);
      return (await c.collect()).samples;
    };
    const one = await collect('t0');
    const two = await collect('t1');
    const three = await collect('t1');
    const labelsOf = (samples: Sample[], name: string, match: Record<string, string>) => {
      const found = find(samples, name, match);
      assert.equal(found.length, 1, `${name} ${JSON.stringify(match)}`);
      return found[0].labels;
    };
    for (const [name, match] of [
      ['gpu_pod_drm_clients', POD_A],
      ['gpu_pod_memory_resident_bytes', { ...POD_A, memory: 'system' }],
      ['gpu_pod_memory_total_bytes', { ...POD_C, memory: 'system' }],
    ] as const) {
      assert.equal(labelsOf(two, name, match), labelsOf(one, name, match), `${name}: the same object`);
    }
    assert.equal(labelsOf(three, 'gpu_pod_engine_busy_ratio', { ...POD_A, engine: 'render' }), labelsOf(two, 'gpu_pod_engine_busy_ratio', { ...POD_A, engine: 'render' }));
    const before = labelsOf(three, 'gpu_pod_drm_clients', POD_A);
    assert.equal(before.pod, undefined);

    known = { namespace: 'vision', pod: 'detector-0', container: 'infer' };
    const four = await collect('t1');
    const after = labelsOf(four, 'gpu_pod_drm_clients', POD_A);
    assert.notEqual(after, before);
    assert.equal(after.pod, 'detector-0', 'the names the cache learned');
    assert.equal(labelsOf(four, 'gpu_pod_engine_busy_ratio', { ...POD_A, engine: 'render' }).pod, 'detector-0');
    assert.equal(labelsOf(four, 'gpu_pod_drm_clients', POD_C), labelsOf(three, 'gpu_pod_drm_clients', POD_C), 'other owners keep theirs');
  });
});

const POD_D = { pod_uid: 'd4e5f607-1829-4a3b-9c4d-5e6f708192a3', container_id: 'd'.repeat(8) + '00112233445566778899aabbccddeeff' + 'd'.repeat(24) };
const POD_E = { pod_uid: 'e1e2e3e4-f5f6-4789-8abc-def012345678', container_id: 'e'.repeat(64) };
const POD_F = { pod_uid: 'f0f1f2f3-a4a5-4b6b-8c7c-d8d9e0e1f2f3', container_id: 'f'.repeat(16) + '0'.repeat(48) };

describe('intel-gpu: per-pod use on k8s-dgpu (xe, cgroup v2, systemd driver)', () => {
  it('second collect: exact ratios from GPU cycles, a new client measured against an older one, a wrap', async () => {
    const { first, second } = await twoSnapshots('k8s-dgpu');
    assert.equal(value(first, 'gpu_pod_drm_clients', POD_E), 2, 'clients 42 and 43 at t0');
    // The interval is 1e9 GPU ticks (drm-total-cycles). Card: render 0.5 + 0.2 = 70 %, compute 80 %,
    // video 0.6 of 2 engines = 30 %, copy wrapped 2^64 - 2e8 → 1e8 = 3e8 ticks = 30 %.
    close(value(second, 'gpu_engine_usage_usage', { engine: 'render' }), 70);
    close(value(second, 'gpu_engine_usage_usage', { engine: 'compute' }), 80);
    close(value(second, 'gpu_engine_usage_usage', { engine: 'video' }), 30);
    close(value(second, 'gpu_engine_usage_usage', { engine: 'copy' }), 30);
    close(value(second, 'gpu_engine_usage_usage', { engine: 'video-enhance' }), 0, 1e-9, 'client 43 left with its process');

    close(value(second, 'gpu_pod_engine_busy_ratio', { ...POD_D, engine: 'compute' }), 0.8);
    close(value(second, 'gpu_pod_engine_busy_ratio', { ...POD_D, engine: 'render' }), 0.2, 1e-9, 'new client 46');
    assert.equal(value(second, 'gpu_pod_drm_clients', POD_D), 2);
    assert.equal(value(second, 'gpu_pod_memory_resident_bytes', { ...POD_D, memory: 'local' }), 2560 * MiB);
    assert.equal(value(second, 'gpu_pod_memory_total_bytes', { ...POD_D, memory: 'local' }), 3584 * MiB);
    assert.equal(value(second, 'gpu_pod_memory_resident_bytes', { ...POD_D, memory: 'system' }), 8 * MiB, 'gtt 4 MiB per client');
    close(value(second, 'gpu_pod_engine_busy_ratio', { ...POD_E, engine: 'video' }), 0.3);
    assert.equal(value(second, 'gpu_pod_drm_clients', POD_E), 1);
    close(value(second, 'gpu_pod_engine_busy_ratio', { ...POD_F, engine: 'copy' }), 0.3);
    close(host(second, 'gpu_pod_engine_busy_ratio', { engine: 'render' })[0].value, 0.5);
    assert.equal(value(second, 'gpu_memory_used_bytes'), (1024 + 2048 + 64 + 16 + 512) * MiB);
  });
});

describe('intel-gpu: throttle reasons per GT', () => {
  it('i915 throttle_reason_* and xe freq0/throttle/reason_*, one series per reason with its category', async () => {
    const igpu = (await twoSnapshots('desktop')).second;
    assert.deepEqual(
      find(igpu, 'gpu_throttle_reason_active').map((s) => `${s.labels.reason}:${s.labels.category}=${s.value}`).sort(),
      ['pl1:power=0', 'thermal:thermal=0'],
    );
    const dgpu = (await twoSnapshots('dgpu')).second;
    // gt0 (render) is held at its sustained power limit in t1; the media GT is not throttled.
    assert.equal(value(dgpu, 'gpu_throttle_reason_active', { gt: '0', reason: 'pl1', category: 'power' }), 1);
    assert.equal(value(dgpu, 'gpu_throttle_reason_active', { gt: '0', reason: 'pl2' }), 0);
    assert.equal(value(dgpu, 'gpu_throttle_reason_active', { gt: '1', reason: 'pl1' }), 0);
    assert.equal(value(dgpu, 'gpu_throttle_active', { gt: '0' }), 1);
    assert.equal(find(dgpu, 'gpu_throttle_reason_active', { reason: 'status' }).length, 0, 'the summary file is not a reason');
  });

  it('categorises the reasons the drivers know', () => {
    assert.deepEqual(['pl1', 'pl2', 'pl4', 'vr_tdc', 'thermal', 'prochot', 'ratl', 'vr_thermalert', 'p0_freq'].map(throttleCategory), ['power', 'power', 'current', 'current', 'thermal', 'thermal', 'thermal', 'thermal', 'other']);
  });
});
