/**
 * The pod_resources collector against a real gRPC server on a unix socket serving a recorded
 * kubelet answer (test/helpers/fake-kubelet.ts), the decoder on hand-made bytes, and the series
 * checked exactly and by promtool.
 */

import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import path from 'node:path';
import { allocationSamples, decodeAllocatableResponse, decodeListResponse, deviceJoinLabel, PodResourcesCollector } from '../../../src/collectors/pod-resources';
import { PodResourcesClient } from '../../../src/collectors/pod-resources/client';
import { encodeText } from '../../../src/formats/prometheus/encode';
import type { Sample } from '../../../src/model/sample';
import { encodeAllocatable, encodeList, FakeKubeletPodResources, loadRecorded } from '../../helpers/fake-kubelet';
import { parseConfig } from '../../../src/config/load';
import { Hub } from '../../../src/hub/hub';
import { expositionFamilies } from '../../../src/query/series-query';
import { SeriesStore } from '../../../src/store/series-store';
import { SelfMetrics } from '../../../src/telemetry/self-metrics';
import { requireTool, run as runTool } from '../../helpers/tools';
import { repoRoot } from '../cpu/fixture-host';

const RECORDED = path.join(repoRoot(), 'test', 'fixtures', 'pod-resources', 'edge-node.json');

function line(s: Sample): string {
  return `${s.name}{${Object.keys(s.labels).sort().map((k) => `${k}=${s.labels[k]}`).join(',')}}`;
}

describe('pod_resources: kubelet PodResources API', () => {
  it('decodes hand-made bytes, skipping fields it does not know', () => {
    // pod_resources { name "p" namespace "n" containers { name "c" devices { resource_name "r" device_ids "d" } cpu_ids [1] } x: 99 }
    const dev = [0x0a, 1, 0x72, 0x12, 1, 0x64]; // resource_name "r", device_ids "d"
    const ctr = [0x0a, 1, 0x63, 0x12, dev.length, ...dev, 0x1a, 1, 1]; // name "c", devices, packed cpu_ids
    const pod = [0x0a, 1, 0x70, 0x12, 1, 0x6e, 0x1a, ctr.length, ...ctr, 0x20, 99]; // …, unknown varint field 4
    const bytes = Uint8Array.from([0x0a, pod.length, ...pod]);
    assert.deepEqual(decodeListResponse(bytes), [{ name: 'p', namespace: 'n', containers: [{ name: 'c', devices: [{ resourceName: 'r', deviceIds: ['d'] }] }] }]);
    assert.deepEqual(decodeAllocatableResponse(Uint8Array.from([0x0a, dev.length, ...dev, 0x12, 1, 5])), [{ resourceName: 'r', deviceIds: ['d'] }]);
    assert.deepEqual(decodeListResponse(new Uint8Array(0)), []);
    assert.throws(() => decodeListResponse(Uint8Array.from([0x0a, 50, 1])), /runs past the end/);
  });

  it('maps device ids to the device collectors\' join labels', () => {
    assert.deepEqual(deviceJoinLabel('gpu.intel.com/i915', 'card0-1'), { card: 'card0' });
    assert.deepEqual(deviceJoinLabel('gpu.intel.com/xe', 'card1'), { card: 'card1' });
    assert.deepEqual(deviceJoinLabel('gpu.intel.com/i915_monitoring', 'i915_monitoring'), {});
    assert.deepEqual(deviceJoinLabel('npu.intel.com/accel', 'accel0-0'), { accel: 'accel0' });
    assert.deepEqual(deviceJoinLabel('nvidia.com/gpu', 'GPU-8f3c9a2e-1b2d-4c5e-9f00-112233445566'), { uuid: 'GPU-8f3c9a2e-1b2d-4c5e-9f00-112233445566' });
    assert.deepEqual(deviceJoinLabel('nvidia.com/mig-1g.5gb', 'MIG-0c1d'), {});
  });

  describe('over a unix socket (kubelet test double)', () => {
    let kubelet: FakeKubeletPodResources;
    beforeEach(async () => {
      kubelet = new FakeKubeletPodResources(loadRecorded(RECORDED));
      await kubelet.start();
    });
    afterEach(() => kubelet.stop());

    it('List and GetAllocatableResources through grpc-js', async () => {
      const client = new PodResourcesClient({ socketPath: kubelet.socketPath });
      try {
        const pods = await client.list();
        assert.deepEqual(pods.map((p) => `${p.namespace}/${p.name}`), ['vision/detector-0', 'media/transcoder-7f9c', 'ai/llm-0', 'ai/trainer', 'net/sriov-app', 'default/web']);
        assert.deepEqual(pods[2].containers[0].devices, [
          { resourceName: 'gpu.intel.com/xe', deviceIds: ['card1-0'] },
          { resourceName: 'npu.intel.com/accel', deviceIds: ['accel0-0'] },
        ]);
        const alloc = await client.allocatable();
        assert.equal(alloc.length, 5);
        assert.deepEqual(kubelet.calls, { List: 1, GetAllocatableResources: 1 });
      } finally {
        client.close();
      }
    });

    it('the collector emits one series per held device and per allocatable accelerator, exactly', async () => {
      const c = new PodResourcesCollector({ socketPath: kubelet.socketPath });
      try {
        const { samples, present } = await c.collect();
        assert.equal(present, true);
        assert.deepEqual(samples.map(line), [
          'accelerator_device_allocated{card=card0,container=infer,device_id=card0-0,namespace=vision,pod=detector-0,resource=gpu.intel.com/i915}',
          'accelerator_device_allocated{card=card0,container=ffmpeg,device_id=card0-1,namespace=media,pod=transcoder-7f9c,resource=gpu.intel.com/i915}',
          'accelerator_device_allocated{card=card1,container=server,device_id=card1-0,namespace=ai,pod=llm-0,resource=gpu.intel.com/xe}',
          'accelerator_device_allocated{accel=accel0,container=server,device_id=accel0-0,namespace=ai,pod=llm-0,resource=npu.intel.com/accel}',
          'accelerator_device_allocated{container=main,device_id=GPU-8f3c9a2e-1b2d-4c5e-9f00-112233445566,namespace=ai,pod=trainer,resource=nvidia.com/gpu,uuid=GPU-8f3c9a2e-1b2d-4c5e-9f00-112233445566}',
          'accelerator_device_allocatable{card=card0,device_id=card0-0,resource=gpu.intel.com/i915}',
          'accelerator_device_allocatable{card=card0,device_id=card0-1,resource=gpu.intel.com/i915}',
          'accelerator_device_allocatable{card=card1,device_id=card1-0,resource=gpu.intel.com/xe}',
          'accelerator_device_allocatable{accel=accel0,device_id=accel0-0,resource=npu.intel.com/accel}',
          'accelerator_device_allocatable{device_id=GPU-8f3c9a2e-1b2d-4c5e-9f00-112233445566,resource=nvidia.com/gpu,uuid=GPU-8f3c9a2e-1b2d-4c5e-9f00-112233445566}',
        ]);
        assert.ok(samples.every((s) => s.value === 1));
      } finally {
        await c.stop();
      }
    });

    it('follows a changed answer on the next cycle', async () => {
      const c = new PodResourcesCollector({ socketPath: kubelet.socketPath });
      try {
        await c.collect();
        kubelet.answer = { ...kubelet.answer, list: { pod_resources: kubelet.answer.list.pod_resources.filter((p) => p.name !== 'transcoder-7f9c') } };
        const { samples } = await c.collect();
        assert.equal(samples.filter((s) => s.name === 'accelerator_device_allocated').length, 4);
        assert.equal(samples.filter((s) => s.labels.pod === 'transcoder-7f9c').length, 0);
      } finally {
        await c.stop();
      }
    });

    it('a failing kubelet is a collector failure (counted by the scheduler), not a crash', async () => {
      kubelet.failWith = status.UNAVAILABLE;
      const c = new PodResourcesCollector({ socketPath: kubelet.socketPath });
      try {
        await assert.rejects(c.collect(), /UNAVAILABLE|injected failure/);
      } finally {
        await c.stop();
      }
    });
  });

  it('without the socket (not a Kubernetes node) the source is absent, without an error', async () => {
    const c = new PodResourcesCollector({ socketPath: '/nonexistent/pod-resources/kubelet.sock' });
    assert.deepEqual(await c.collect(), { samples: [], present: false });
  });

  it('its /metrics output is clean under promtool', async function () {
    if (!requireTool(this, '/usr/bin/promtool', 'prometheus')) return;
    const rec = loadRecorded(RECORDED);
    const samples = allocationSamples(decodeListResponse(encodeList(rec.list)), decodeAllocatableResponse(encodeAllocatable(rec.allocatable)));
    const config = parseConfig({});
    const store = new SeriesStore(() => config, () => 1_767_225_600_000);
    const hub = new Hub(store, new SelfMetrics({ series: () => store.size, bytes: () => store.bytes }));
    hub.accept({ samples: samples.map((s) => ({ ...s, labels: { ...s.labels, host: 'node-1' } })), origin: 'system', format: 'system' });
    const text = encodeText(expositionFamilies(store));
    assert.match(text, /accelerator_device_allocated\{/);
    const r = runTool('/usr/bin/promtool', ['check', 'metrics'], text);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
});
