/**
 * Device health as Kubernetes should see it, derived only from what the collectors already read:
 * the scheduler's per-collector health and the samples of each intel_gpu / intel_npu cycle. Pure
 * apart from the tracker's memory of the last GPU cycle; no file is read here.
 *
 * Definitions (docs/kubernetes.md):
 * - present: the collector found its device (its last cycle said present);
 * - healthy: present and the collector's last cycle succeeded (the device's files were readable);
 *   for the NPU also not in runtime power-management error (npu_runtime_error 1: a suspend or
 *   resume failed, the device is unusable until reset). A suspended NPU is normal and healthy;
 * - throttled (GPU): some GT of the card reports its frequency limited now (gpu_throttle_active 1,
 *   i.e. any throttle reason active).
 */

import type { Sample } from '../../model/sample';
import type { CollectorHealth } from '../../collectors/scheduler';

/** The label prefix of everything we publish; not under kubernetes.io, so NFD accepts it by default. */
export const LABEL_PREFIX = 'metrics-manager.intel.com/';

export interface GpuDeviceHealth {
  /** pci_slot of the card. */
  id: string;
  throttled: boolean;
}

export interface NodeHealth {
  /** False until every accelerator collector that runs has finished a cycle: nothing is published before. */
  known: boolean;
  gpu: { present: boolean; healthy: boolean; devices: GpuDeviceHealth[] };
  /** `runtimeError` only when set: the NPU's power/runtime_status read `error` in its last cycle. */
  npu: { present: boolean; healthy: boolean; runtimeError?: true };
}

const GPU_COLLECTOR = 'intel_gpu';
const NPU_COLLECTOR = 'intel_npu';

/**
 * Keeps what the last intel_gpu cycle said about throttling, per card. Feed it every system batch
 * (`observe`); batches without throttle flags change nothing.
 */
export class HealthTracker {
  private gpuThrottle = new Map<string, boolean>();
  /** What the last intel_npu cycle that read power/runtime_status said (npu_runtime_error). */
  private npuRuntimeError = false;

  observe(samples: readonly Sample[]): void {
    let gpuCycle: Map<string, boolean> | undefined;
    let npuError: boolean | undefined;
    for (const s of samples) {
      if (s.name === 'npu_runtime_error') npuError = (npuError ?? false) || s.value !== 0;
      if (s.name === 'gpu_throttle_active') {
        gpuCycle ??= new Map();
        const id = s.labels.pci_slot ?? s.labels.card ?? '';
        gpuCycle.set(id, (gpuCycle.get(id) ?? false) || s.value !== 0);
      }
    }
    // One batch is one collector's cycle: a cycle with throttle flags replaces the last one, so a
    // card that went away stops counting.
    if (gpuCycle) this.gpuThrottle = gpuCycle;
    if (npuError !== undefined) this.npuRuntimeError = npuError;
  }

  snapshot(collectors: readonly CollectorHealth[]): NodeHealth {
    const gpu = collectors.find((c) => c.name === GPU_COLLECTOR);
    const npu = collectors.find((c) => c.name === NPU_COLLECTOR);
    const gpuPresent = gpu?.present === true;
    const npuPresent = npu?.present === true;
    return {
      known: gpu?.present !== null && npu?.present !== null,
      gpu: {
        present: gpuPresent,
        healthy: gpuPresent && gpu.consecutiveFailures === 0,
        devices: gpuPresent ? [...this.gpuThrottle].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([id, throttled]) => ({ id, throttled })) : [],
      },
      npu: npuPresent && this.npuRuntimeError
        ? { present: true, healthy: false, runtimeError: true }
        : { present: npuPresent, healthy: npuPresent && npu.consecutiveFailures === 0 },
    };
  }
}

/**
 * The NodeFeature's spec.labels for `h`: keys only for devices that are present (as NFD's own
 * labels exist only for features found), values "true"/"false" (valid label values).
 */
export function healthLabels(h: NodeHealth): Record<string, string> {
  const out: Record<string, string> = {};
  const b = (v: boolean) => (v ? 'true' : 'false');
  if (h.gpu.present) {
    out[`${LABEL_PREFIX}gpu.present`] = 'true';
    out[`${LABEL_PREFIX}gpu.healthy`] = b(h.gpu.healthy);
    out[`${LABEL_PREFIX}gpu.throttled`] = b(h.gpu.devices.some((d) => d.throttled));
  }
  if (h.npu.present) {
    out[`${LABEL_PREFIX}npu.present`] = 'true';
    out[`${LABEL_PREFIX}npu.healthy`] = b(h.npu.healthy);
  }
  return out;
}

export interface HealthTransition {
  type: 'Normal' | 'Warning';
  reason: string;
  /** The device it concerns: a GPU's pci_slot, `gpu` for the collector as a whole, `npu`. */
  device: string;
  message: string;
}

/**
 * What changed from `prev` to `next`. Before the first observation everything counts as healthy
 * and unthrottled, so a device that is already throttled or unhealthy when the agent starts is
 * reported once; a device that merely disappears is not a health transition.
 */
export function transitions(prev: NodeHealth | undefined, next: NodeHealth): HealthTransition[] {
  const out: HealthTransition[] = [];
  const wasGpuHealthy = prev ? !prev.gpu.present || prev.gpu.healthy : true;
  if (next.gpu.present && wasGpuHealthy !== next.gpu.healthy) {
    out.push(next.gpu.healthy
      ? { type: 'Normal', reason: 'GpuHealthy', device: 'gpu', message: 'Intel GPU readable again' }
      : { type: 'Warning', reason: 'GpuUnhealthy', device: 'gpu', message: 'Intel GPU collection failing: device files not readable' });
  }
  const before = new Map((prev?.gpu.devices ?? []).map((d) => [d.id, d.throttled]));
  for (const d of next.gpu.devices) {
    const was = before.get(d.id) ?? false;
    if (was === d.throttled) continue;
    out.push(d.throttled
      ? { type: 'Warning', reason: 'GpuThrottled', device: d.id, message: `GPU ${d.id}: frequency limited by a throttle reason (power, current or thermal)` }
      : { type: 'Normal', reason: 'GpuThrottleCleared', device: d.id, message: `GPU ${d.id}: no throttle reason active any more` });
  }
  const wasNpuHealthy = prev ? !prev.npu.present || prev.npu.healthy : true;
  if (next.npu.present && wasNpuHealthy !== next.npu.healthy) {
    out.push(next.npu.healthy
      ? { type: 'Normal', reason: 'NpuHealthy', device: 'npu', message: 'Intel NPU readable again' }
      : next.npu.runtimeError
        ? { type: 'Warning', reason: 'NpuUnhealthy', device: 'npu', message: 'Intel NPU in runtime power-management error (power/runtime_status: error): unusable until reset' }
        : { type: 'Warning', reason: 'NpuUnhealthy', device: 'npu', message: 'Intel NPU collection failing: device files not readable' });
  }
  return out;
}

/**
 * At most one Event per reason and device within `windowMs`: a flapping throttle produces one
 * GpuThrottled and one GpuThrottleCleared per window, the rest are suppressed (and counted by the
 * caller). Keys are bounded: past `maxKeys` the oldest is forgotten (it can then send again).
 */
export class EventLimiter {
  private readonly last = new Map<string, number>();

  constructor(private readonly windowMs: number, private readonly maxKeys = 256) {}

  allow(reason: string, device: string, nowMs: number): boolean {
    const key = `${reason}|${device}`;
    const at = this.last.get(key);
    if (at !== undefined && nowMs - at < this.windowMs) return false;
    this.last.delete(key);
    this.last.set(key, nowMs);
    if (this.last.size > this.maxKeys) this.last.delete(this.last.keys().next().value as string);
    return true;
  }
}
