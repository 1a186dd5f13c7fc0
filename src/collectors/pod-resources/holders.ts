/**
 * Which pod container holds each accelerator, from the last PodResources answer, and the join of
 * that onto the device collectors' series (what dcgm-exporter does with its GPU series): a series
 * of a device held by exactly one container gets that container's `namespace`, `pod` and
 * `container` labels.
 *
 * The device is named by its join label (`card` for gpu.intel.com/*, `uuid` for nvidia.com/*,
 * `accel` for npu.intel.com/*, see deviceJoinLabel). The NPU collector's series carry no device
 * label (a node has one NPU): they join when the node has exactly one NPU device.
 *
 * A device shared by several containers (the Intel GPU plugin's `-shared-dev-num`, NVIDIA
 * time-slicing) is not labelled: one device series cannot belong to several pods, and copying it
 * per holder would count it several times in every sum. Per-pod use of a shared Intel GPU comes from
 * the intel_gpu collector's fdinfo attribution (`gpu_pod_*`) instead.
 *
 * A series that is already about a pod or the host's share of a device (gpu_pod_*), or that names
 * a pod itself (`namespace` or `pod` set), is left alone.
 */

import type { Labels } from '../../model/sample';
import type { ContainerDevices, PodResources } from './proto';

/** Series split per pod or the host's share of a device (gpu_pod_*): about their own owner, never joined. */
const PER_OWNER_PREFIX = 'gpu_pod_';
/** Collectors whose series describe a whole device (and so may carry its holder). */
const DEVICE_COLLECTORS = new Set(['intel_gpu', 'intel_npu', 'nvidia']);

export class DeviceHolders {
  /** `card=card1` → the sole holder's labels; null when several containers hold it. */
  private holders = new Map<string, Labels | null>();
  /** The holder of the node's only NPU, when there is exactly one NPU device. */
  private npuHolder: Labels | undefined;
  /** Joined label sets, per input labels object (collectors hand out the same objects each cycle). */
  private joined = new WeakMap<Labels, Labels>();

  constructor(private readonly joinLabel: (resource: string, deviceId: string) => Labels) {}

  /** Takes a new List / GetAllocatableResources answer (pure bookkeeping, no I/O). */
  update(pods: readonly PodResources[], allocatable: readonly ContainerDevices[]): void {
    const holders = new Map<string, Map<string, Labels>>();
    for (const pod of pods) {
      for (const c of pod.containers) {
        for (const d of c.devices) {
          for (const id of d.deviceIds) {
            const join = Object.entries(this.joinLabel(d.resourceName, id));
            if (join.length !== 1) continue;
            const key = `${join[0][0]}=${join[0][1]}`;
            let m = holders.get(key);
            if (!m) holders.set(key, (m = new Map()));
            m.set(`${pod.namespace}/${pod.name}/${c.name}`, { namespace: pod.namespace, pod: pod.name, container: c.name });
          }
        }
      }
    }
    const next = new Map<string, Labels | null>();
    for (const [key, m] of holders) next.set(key, m.size === 1 ? [...m.values()][0] : null);
    const npus = new Set<string>();
    for (const d of allocatable) for (const id of d.deviceIds) if (d.resourceName.startsWith('npu.intel.com/')) npus.add(this.joinLabel(d.resourceName, id).accel ?? id);
    for (const key of next.keys()) if (key.startsWith('accel=')) npus.add(key.slice(6));
    const npu = npus.size === 1 ? next.get(`accel=${[...npus][0]}`) : undefined;
    this.joined = new WeakMap();
    this.holders = next;
    this.npuHolder = npu ?? undefined;
  }

  /** How many devices have a sole holder (health, tests). */
  get labelled(): number {
    let n = 0;
    for (const v of this.holders.values()) if (v) n++;
    return n;
  }

  /** `labels` with the device's holder added when the rules above say so; `labels` itself otherwise. */
  join(collector: string, name: string, labels: Labels): Labels {
    if (!DEVICE_COLLECTORS.has(collector) || name.startsWith(PER_OWNER_PREFIX) || 'namespace' in labels || 'pod' in labels) return labels;
    const cached = this.joined.get(labels);
    if (cached) return cached;
    let holder: Labels | null | undefined;
    if (labels.card !== undefined) holder = this.holders.get(`card=${labels.card}`);
    else if (labels.uuid !== undefined) holder = this.holders.get(`uuid=${labels.uuid}`);
    else if (labels.accel !== undefined) holder = this.holders.get(`accel=${labels.accel}`);
    else if (collector === 'intel_npu') holder = this.npuHolder;
    const out = holder ? { ...labels, ...holder } : labels;
    this.joined.set(labels, out);
    return out;
  }
}
