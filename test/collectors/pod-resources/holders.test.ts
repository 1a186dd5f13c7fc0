/**
 * The join of device holders onto device series (pure): sole holders label their device's series,
 * shared devices do not, per-owner series and the allocation series themselves are left alone.
 * Input: the recorded edge-node answer decoded by the agent's own decoder.
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import { decodeAllocatableResponse, decodeListResponse, DeviceHolders, deviceJoinLabel } from '../../../src/collectors/pod-resources';
import { encodeAllocatable, encodeList, loadRecorded } from '../../helpers/fake-kubelet';
import { repoRoot } from '../cpu/fixture-host';

const RECORDED = path.join(repoRoot(), 'test/fixtures/pod-resources/edge-node.json');

function edgeNode(): DeviceHolders {
  const rec = loadRecorded(RECORDED);
  const h = new DeviceHolders(deviceJoinLabel);
  h.update(decodeListResponse(encodeList(rec.list)), decodeAllocatableResponse(encodeAllocatable(rec.allocatable)));
  return h;
}

describe('pod_resources: device holders joined onto device series', () => {
  it('labels a device held by one container with that container', () => {
    const h = edgeNode();
    const dgpu = { gpu_id: '1', card: 'card1', driver: 'xe' };
    assert.deepEqual(h.join('intel_gpu', 'gpu_frequency', dgpu), { ...dgpu, namespace: 'ai', pod: 'llm-0', container: 'server' });
    const nv = { gpu: '0', uuid: 'GPU-8f3c9a2e-1b2d-4c5e-9f00-112233445566' };
    assert.deepEqual(h.join('nvidia', 'nvidia_smi_utilization_gpu', nv), { ...nv, namespace: 'ai', pod: 'trainer', container: 'main' });
    assert.deepEqual(h.join('intel_npu', 'npu_busy_ratio', {}), { namespace: 'ai', pod: 'llm-0', container: 'server' }, 'the node\'s only NPU');
    assert.equal(h.labelled, 3);
  });

  it('leaves shared devices, per-owner series, pod-named series and other collectors alone', () => {
    const h = edgeNode();
    const igpu = { card: 'card0' };
    assert.equal(h.join('intel_gpu', 'gpu_frequency', igpu), igpu, 'card0 is shared by two pods');
    const dgpu = { card: 'card1' };
    assert.equal(h.join('intel_gpu', 'gpu_pod_drm_clients', dgpu), dgpu, 'the host share of the device');
    const named = { card: 'card1', namespace: 'x', pod: 'y' };
    assert.equal(h.join('intel_gpu', 'gpu_frequency', named), named);
    assert.equal(h.join('pod_resources', 'accelerator_device_allocatable', dgpu), dgpu);
    assert.equal(h.join('cpu', 'cpu_usage_user', dgpu), dgpu);
  });

  it('forgets holders when the answer changes, and two NPUs are not guessed', () => {
    const h = edgeNode();
    h.update([], []);
    const dgpu = { card: 'card1' };
    assert.equal(h.join('intel_gpu', 'gpu_frequency', dgpu), dgpu);
    const npu = (id: string, pod: string) => ({ name: pod, namespace: 'n', containers: [{ name: 'c', devices: [{ resourceName: 'npu.intel.com/accel', deviceIds: [id] }] }] });
    h.update([npu('accel0-0', 'a'), npu('accel1-0', 'b')], [{ resourceName: 'npu.intel.com/accel', deviceIds: ['accel0-0', 'accel1-0'] }]);
    const none = {};
    assert.equal(h.join('intel_npu', 'npu_busy_ratio', none), none);
    assert.deepEqual(h.join('intel_npu', 'npu_busy_ratio', { accel: 'accel1' }), { accel: 'accel1', namespace: 'n', pod: 'b', container: 'c' });
  });
});
