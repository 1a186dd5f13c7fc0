/**
 * Every series the Intel GPU collector emits, with its type, unit and help text, in one place so
 * the README, the code and the tests agree. Names the reference already showed on Telegraf's
 * :9273 (`gpu_frequency`, `gpu_power`, `gpu_engine_usage_usage`) keep their name, label names and
 * unit; everything new follows Prometheus conventions (base units, `_total` counters).
 */

import type { Labels, MetricType, Sample } from '../../model/sample';

interface MetricDef {
  type: MetricType;
  unit?: string;
  help: string;
}

export const INTEL_GPU_METRICS = {
  gpu_frequency: {
    type: 'gauge',
    unit: 'megahertz',
    help: 'GPU frequency in MHz by type: cur_freq (requested), act_freq (achieved, 0 while idle), min_freq and max_freq (limits).',
  },
  gpu_busy_ratio: {
    type: 'gauge',
    unit: 'ratio',
    help: 'Share of the last interval the GT was not in its idle state (1 - idle residency delta / elapsed time).',
  },
  gpu_idle_residency_seconds_total: {
    type: 'counter',
    unit: 'seconds',
    help: 'Cumulative time the GT spent in its idle state (i915 RC6, xe GT-C6), from sysfs.',
  },
  gpu_throttle_active: {
    type: 'gauge',
    help: '1 when the GT frequency is currently limited by a throttle reason (power, thermal, current), else 0.',
  },
  gpu_throttle_reason_active: {
    type: 'gauge',
    help: '1 while the GT frequency is limited for this reason (i915 throttle_reason_*, xe freq0/throttle/reason_*), else 0; category groups reasons into power, current, thermal.',
  },
  gpu_power: {
    type: 'gauge',
    unit: 'watts',
    help: 'Average power in W over the last interval from the hwmon energy counter: type gpu_cur_power (card) or pkg_cur_power (package).',
  },
  gpu_energy_joules_total: {
    type: 'counter',
    unit: 'joules',
    help: 'Cumulative energy consumed, from the hwmon energy counter, by sensor (card, pkg).',
  },
  gpu_power_limit_watts: {
    type: 'gauge',
    unit: 'watts',
    help: 'Sustained (PL1) power limit by sensor; not reported when the limit is disabled (0).',
  },
  gpu_temperature_celsius: {
    type: 'gauge',
    unit: 'celsius',
    help: 'GPU temperature by hwmon sensor (pkg, vram, ...).',
  },
  gpu_fan_speed_rpm: {
    type: 'gauge',
    help: 'Fan speed in revolutions per minute, by fan.',
  },
  gpu_memory_total_bytes: {
    type: 'gauge',
    unit: 'bytes',
    help: 'Device-local memory (VRAM) size, where the driver exposes it in sysfs.',
  },
  gpu_memory_used_bytes: {
    type: 'gauge',
    unit: 'bytes',
    help: 'Device-local memory (VRAM) in use: from sysfs where exposed, else the sum of resident VRAM of the DRM clients visible in /proc.',
  },
  gpu_engine_usage_usage: {
    type: 'gauge',
    unit: 'percent',
    help: 'Engine class utilisation in percent over the last interval, summed over all DRM clients and divided by the number of engines of the class.',
  },
  gpu_drm_clients: {
    type: 'gauge',
    help: 'DRM clients (open GPU file descriptions, deduplicated by drm-client-id) visible in /proc for this GPU.',
  },
  gpu_pod_engine_busy_ratio: {
    type: 'gauge',
    unit: 'ratio',
    help: 'Share of the engine class (all its engines) used by the DRM clients of a pod container over the last interval; series without pod labels are processes outside any pod.',
  },
  gpu_pod_memory_resident_bytes: {
    type: 'gauge',
    unit: 'bytes',
    help: 'GPU buffer memory resident for the DRM clients of a pod container, by memory (local = VRAM, system); without pod labels: processes outside any pod.',
  },
  gpu_pod_memory_total_bytes: {
    type: 'gauge',
    unit: 'bytes',
    help: 'GPU buffer memory allocated (resident or not) by the DRM clients of a pod container, by memory (local = VRAM, system); without pod labels: processes outside any pod.',
  },
  gpu_pod_drm_clients: {
    type: 'gauge',
    help: 'DRM clients (deduplicated by drm-client-id) held by the processes of a pod container; without pod labels: processes outside any pod.',
  },
} as const satisfies Record<string, MetricDef>;

export type IntelGpuMetric = keyof typeof INTEL_GPU_METRICS;

export function intelGpuSample(name: IntelGpuMetric, labels: Labels, value: number): Sample {
  const def: MetricDef = INTEL_GPU_METRICS[name];
  return { name, labels, value, type: def.type, help: def.help, unit: def.unit };
}
