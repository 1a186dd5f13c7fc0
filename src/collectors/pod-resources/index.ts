/**
 * pod_resources: which pod and container hold which accelerator, from the kubelet's PodResources
 * API (v1 List and GetAllocatableResources over POD_RESOURCES_SOCKET). Emits one series per
 * allocated device and container and one per allocatable device, labelled so they join with the
 * device collectors' series (`card` for gpu.intel.com/*, `accel` for npu.intel.com/*, `uuid` for
 * nvidia.com/*). See README.md.
 */

import { promises as fsp } from 'node:fs';
import { z } from 'zod/v3';
import type { Labels, Sample } from '../../model/sample';
import type { Collection, Collector } from '../collector';
import { defineCollector, enabledSetting, intervalSetting } from '../definition';
import type { DeviceHolders } from './holders';
import type { ContainerDevices, PodResources } from './proto';

export type { PodResourcesClientOptions } from './client';
export { DeviceHolders } from './holders';
export { ALLOCATABLE_METHOD, decodeAllocatableResponse, decodeListResponse, LIST_METHOD, type ContainerDevices, type ContainerResources, type PodResources } from './proto';

/** Resource name prefixes whose devices are reported: Intel GPU and NPU plugins, NVIDIA (GPUs, MIG). */
export const ACCELERATOR_RESOURCE_PREFIXES = ['gpu.intel.com/', 'npu.intel.com/', 'nvidia.com/'] as const;

/** What the collector needs from the kubelet; the real client or a test's. */
export interface PodResourcesSource {
  list(): Promise<PodResources[]>;
  allocatable(): Promise<ContainerDevices[]>;
  close?(): void;
}

export interface PodResourcesCollectorOptions {
  socketPath: string;
  /** Injected for tests; default a PodResourcesClient on `socketPath`. */
  source?: PodResourcesSource;
  /** Told every answer, so device series can carry their holder (holders.ts). */
  holders?: DeviceHolders;
}

const ALLOCATED_HELP = 'An accelerator device held by a pod container, from the kubelet PodResources API (always 1).';
const ALLOCATABLE_HELP = 'An accelerator device the kubelet can hand out, allocated or not, from the kubelet PodResources API (always 1).';

/**
 * The device collectors' label for a device id: Intel's plugins name devices after the DRM or
 * accel node plus a share index (`card1-0`, `accel0-1`); NVIDIA's are GPU UUIDs (MIG devices
 * are `MIG-…` UUIDs and get no join label).
 */
export function deviceJoinLabel(resource: string, deviceId: string): Labels {
  if (resource.startsWith('gpu.intel.com/')) {
    const m = /^(card\d+)(?:-\d+)?$/.exec(deviceId);
    return m ? { card: m[1] } : {};
  }
  if (resource.startsWith('npu.intel.com/')) {
    const m = /^(accel\d+)(?:-\d+)?$/.exec(deviceId);
    return m ? { accel: m[1] } : {};
  }
  if (resource.startsWith('nvidia.com/') && /^GPU-[0-9a-fA-F-]+$/.test(deviceId)) return { uuid: deviceId };
  return {};
}

function isAccelerator(resource: string): boolean {
  return ACCELERATOR_RESOURCE_PREFIXES.some((p) => resource.startsWith(p));
}

/** The series for one List and one GetAllocatableResources answer. Pure. */
export function allocationSamples(pods: PodResources[], allocatable: ContainerDevices[]): Sample[] {
  const out: Sample[] = [];
  const seen = new Set<string>();
  for (const pod of pods) {
    for (const c of pod.containers) {
      for (const d of c.devices) {
        if (!isAccelerator(d.resourceName)) continue;
        for (const id of d.deviceIds) {
          const key = `${pod.namespace}/${pod.name}/${c.name}/${d.resourceName}/${id}`;
          if (seen.has(key)) continue;
          seen.add(key);
          const labels: Labels = { resource: d.resourceName, device_id: id, ...deviceJoinLabel(d.resourceName, id), namespace: pod.namespace, pod: pod.name, container: c.name };
          out.push({ name: 'accelerator_device_allocated', labels, value: 1, type: 'gauge', help: ALLOCATED_HELP });
        }
      }
    }
  }
  const devices = new Set<string>();
  for (const d of allocatable) {
    if (!isAccelerator(d.resourceName)) continue;
    for (const id of d.deviceIds) {
      const key = `${d.resourceName}/${id}`;
      if (devices.has(key)) continue;
      devices.add(key);
      out.push({ name: 'accelerator_device_allocatable', labels: { resource: d.resourceName, device_id: id, ...deviceJoinLabel(d.resourceName, id) }, value: 1, type: 'gauge', help: ALLOCATABLE_HELP });
    }
  }
  return out;
}

export class PodResourcesCollector implements Collector {
  readonly name = 'pod_resources';
  readonly defaultIntervalMs = 10_000;
  private source: PodResourcesSource | undefined;

  constructor(private readonly opts: PodResourcesCollectorOptions) {
    if (!opts.socketPath) throw new TypeError('socketPath must be a non-empty path');
    this.source = opts.source;
  }

  async collect(): Promise<Collection> {
    // No socket: not on a Kubernetes node (or not mounted). Absent, not an error.
    try {
      const st = await fsp.stat(this.opts.socketPath);
      if (!st.isSocket()) return this.absent();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return this.absent();
      throw e;
    }
    // grpc-js is loaded only here, on a node that has the socket: the agent starts faster elsewhere.
    if (!this.source) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { PodResourcesClient } = require('./client') as typeof import('./client');
      this.source = new PodResourcesClient({ socketPath: this.opts.socketPath });
    }
    const source = this.source;
    const [pods, allocatable] = await Promise.all([source.list(), source.allocatable()]);
    this.opts.holders?.update(pods, allocatable);
    return { samples: allocationSamples(pods, allocatable), present: true };
  }

  private absent(): Collection {
    this.opts.holders?.update([], []);
    return { samples: [], present: false };
  }

  stop(): void {
    this.source?.close?.();
  }
}

/** Registry entry (src/collectors/registry.ts). */
export const podResourcesCollector = defineCollector({
  name: 'pod_resources',
  defaultIntervalMs: 10_000,
  settings: {
    collectorPodResourcesEnabled: enabledSetting('COLLECTOR_POD_RESOURCES_ENABLED'),
    collectorPodResourcesIntervalMs: intervalSetting('COLLECTOR_POD_RESOURCES_INTERVAL_MS', 10_000, 1000),
    podResourcesSocket: ['POD_RESOURCES_SOCKET', z.string().min(1).default('/var/lib/kubelet/pod-resources/kubelet.sock')],
  },
  enabledKey: 'collectorPodResourcesEnabled',
  intervalKey: 'collectorPodResourcesIntervalMs',
  sources: ['builtin', 'telegraf'],
  create: (s, { devices }) => new PodResourcesCollector({ socketPath: s.podResourcesSocket, holders: devices }),
});
