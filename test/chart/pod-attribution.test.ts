/**
 * The chart's values for attributing accelerators to pods, rendered by the real helm:
 * what each switches on in the DaemonSet (env, mounts, host namespaces) and that the agent's own
 * config schema accepts what the chart sets.
 */

import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load';
import { container, env, one, podSpec, renderObjects } from './chart';

function agentEnv(objs: ReturnType<typeof renderObjects>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, e] of env(container(one(objs, 'DaemonSet'), 'agent'))) if (e.value !== undefined) out[name] = e.value;
  return out;
}

describe('chart: pod attribution values', function () {
  it('pushPodLabels is off by default and sets PUSH_POD_LABELS and the precedence when on', function () {
    const off = agentEnv(renderObjects(this));
    assert.equal(off.PUSH_POD_LABELS, undefined);
    assert.equal(loadConfig(off).pushPodLabels, false);
    const on = agentEnv(renderObjects(this, { set: ['agent.pushPodLabels=true', 'agent.pushLabelsPrecedence=pusher'] }));
    assert.equal(on.PUSH_POD_LABELS, 'true');
    assert.equal(on.PUSH_LABELS_PRECEDENCE, 'pusher');
    const c = loadConfig(on);
    assert.equal(c.pushPodLabels, true);
    assert.equal(c.pushLabelsPrecedence, 'pusher');
  });

  it('refuses an unknown precedence at render time (values schema)', function () {
    assert.throws(() => renderObjects(this, { set: ['agent.pushLabelsPrecedence=whoever'] }), /pushLabelsPrecedence/);
  });
  it('per-process attribution off (default): no host PID namespace, no scan of other processes', function () {
    const objs = renderObjects(this);
    assert.equal(podSpec(one(objs, 'DaemonSet')).hostPID, false);
    const e = agentEnv(objs);
    assert.equal(e.COLLECTOR_INTEL_GPU_SCAN_PROCESSES, 'false');
    assert.equal(loadConfig(e).intelGpuScanProcesses, false);
  });

  it('agent.gpu.perProcess turns on hostPID and the scan, reading /proc of the host PID namespace', function () {
    const objs = renderObjects(this, { set: ['agent.gpu.perProcess=true', 'agent.rootAccess=true', 'telegraf.enabled=false'] });
    assert.equal(podSpec(one(objs, 'DaemonSet')).hostPID, true);
    const e = agentEnv(objs);
    assert.equal(e.COLLECTOR_INTEL_GPU_SCAN_PROCESSES, undefined);
    assert.equal(e.HOST_PROC, '/proc');
    const c = loadConfig(e);
    assert.equal(c.intelGpuScanProcesses, true);
    assert.equal(c.intelGpuPerPod, true);
    assert.deepEqual(container(one(objs, 'DaemonSet'), 'agent').securityContext?.capabilities?.add, ['DAC_READ_SEARCH', 'SYS_PTRACE']);
  });

  it('agent.podResources mounts the kubelet\'s socket directory read-only and points POD_RESOURCES_SOCKET into it', function () {
    const off = renderObjects(this);
    assert.equal(podSpec(one(off, 'DaemonSet')).volumes?.find((v) => v.name === 'pod-resources'), undefined);
    assert.equal(agentEnv(off).POD_RESOURCES_SOCKET, undefined);
    const objs = renderObjects(this, { set: ['agent.podResources.enabled=true', 'agent.podResources.hostPath=/var/lib/k0s/kubelet/pod-resources'] });
    const vol = podSpec(one(objs, 'DaemonSet')).volumes?.find((v) => v.name === 'pod-resources');
    assert.deepEqual(vol?.hostPath, { path: '/var/lib/k0s/kubelet/pod-resources', type: 'Directory' });
    const mount = container(one(objs, 'DaemonSet'), 'agent').volumeMounts?.find((m) => m.name === 'pod-resources');
    assert.deepEqual(mount, { name: 'pod-resources', mountPath: '/var/lib/kubelet/pod-resources', readOnly: true });
    const e = agentEnv(objs);
    assert.equal(e.POD_RESOURCES_SOCKET, '/var/lib/kubelet/pod-resources/kubelet.sock');
    assert.equal(loadConfig(e).podResourcesSocket, `${mount!.mountPath}/kubelet.sock`);
    assert.equal(podSpec(one(objs, 'DaemonSet')).hostPID, false, 'the socket needs no host PID namespace');
  });

  it('refuses a relative pod-resources path', function () {
    assert.throws(() => renderObjects(this, { set: ['agent.podResources.enabled=true', 'agent.podResources.hostPath=kubelet'] }), /hostPath/);
  });
});
