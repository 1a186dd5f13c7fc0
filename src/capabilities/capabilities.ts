/**
 * GET /api/v1/capabilities: what this agent reads, from where, and where it forwards — and for
 * everything it does not do, why. Built from what the parts already know (the scheduler's health,
 * each collector's last findings, the Telegraf source's state, the sinks' stats); nothing here
 * touches the host. The dashboard uses it to explain a missing section instead of leaving a hole.
 *
 * Pure: `buildCapabilities` takes plain data and returns a fresh object the caller owns.
 */

import type { CollectorFindings, DeviceInfo } from '../collectors/collector';
import type { CollectorHealth } from '../collectors/scheduler';
import type { Config } from '../config/schema';
import { telegrafForwardReason } from '../sinks';
import type { TelegrafSourceState } from '../sources/telegraf';

/**
 * Why something is not active. `disabled`: turned off by configuration (the detail names the
 * variable); the others come from what the collector found on the node; `failing`: it runs but
 * errors (detail: the last error); `pending`: it has not finished a first cycle yet.
 */
export type InactiveReason = 'disabled' | 'no_device' | 'no_driver' | 'not_installed' | 'no_permission' | 'failing' | 'pending';

export interface CollectorCapability {
  name: string;
  /** What it covers: node-wide system metrics, an accelerator family, or custom metrics (scripts). */
  covers: 'system' | 'accelerator' | 'custom';
  /** Running and reading something. */
  active: boolean;
  reason?: InactiveReason;
  detail?: string;
  interval_ms?: number;
  devices?: number;
}

export interface SourceCapability {
  name: string;
  active: boolean;
  reason?: InactiveReason;
  detail?: string;
  url?: string;
  status?: string;
}

export interface SinkCapability {
  name: string;
  active: boolean;
  reason?: InactiveReason;
  detail?: string;
  url?: string;
  up?: boolean;
}

/** A found device as listed: the reference's `category` and `present`, then our details. */
export type ListedDevice = DeviceInfo & { category: 'igpu' | 'dgpu' | 'npu'; present: true };

export type CapabilityProfile = 'minimal' | 'expanded';

export interface Capabilities {
  /** The reference's envelope: when, which profile, and a platform summary. */
  generated_at: string;
  profile: CapabilityProfile;
  platform: { hostname: string; interface_channel: 'rest'; device_summary: { igpu: number; dgpu: number; npu: number } };
  node: string;
  system_metrics_source: Config['systemMetricsSource'];
  collectors: CollectorCapability[];
  sources: SourceCapability[];
  devices: ListedDevice[];
  /** One entry per accelerator family: whether the dashboard has anything to show, and if not why. */
  accelerators: Record<'intel_gpu' | 'intel_npu' | 'nvidia_gpu', { available: boolean; collector: string; reason?: InactiveReason; detail?: string }>;
  sinks: SinkCapability[];
}

/** Every built-in collector, the variable that turns it on and whether it needs SYSTEM_METRICS_SOURCE=builtin. */
const CATALOG: Array<{ name: string; covers: CollectorCapability['covers']; env: string; enabled: (c: Config) => boolean; builtinOnly: boolean }> = [
  { name: 'cpu', covers: 'system', env: 'COLLECTOR_CPU_ENABLED', enabled: (c) => c.collectorCpuEnabled, builtinOnly: true },
  { name: 'mem', covers: 'system', env: 'COLLECTOR_MEM_ENABLED', enabled: (c) => c.collectorMemEnabled, builtinOnly: true },
  { name: 'temp', covers: 'system', env: 'COLLECTOR_TEMP_ENABLED', enabled: (c) => c.collectorTempEnabled, builtinOnly: true },
  { name: 'cpufreq', covers: 'system', env: 'COLLECTOR_CPUFREQ_ENABLED', enabled: (c) => c.collectorCpufreqEnabled, builtinOnly: true },
  { name: 'intel_gpu', covers: 'accelerator', env: 'COLLECTOR_INTEL_GPU_ENABLED', enabled: (c) => c.collectorIntelGpuEnabled, builtinOnly: false },
  { name: 'intel_npu', covers: 'accelerator', env: 'COLLECTOR_INTEL_NPU_ENABLED', enabled: (c) => c.collectorIntelNpuEnabled, builtinOnly: false },
  { name: 'nvidia', covers: 'accelerator', env: 'COLLECTOR_NVIDIA_ENABLED', enabled: (c) => c.collectorNvidiaEnabled, builtinOnly: false },
  { name: 'scripts', covers: 'custom', env: 'COLLECTOR_SCRIPTS_ENABLED', enabled: (c) => c.collectorScriptsEnabled, builtinOnly: false },
];

const ACCELERATORS = [
  ['intel_gpu', 'intel_gpu'],
  ['intel_npu', 'intel_npu'],
  ['nvidia_gpu', 'nvidia'],
] as const;

/** Errors that say the agent may not read the host (an unprivileged container, a 0400 file). */
const PERMISSION_ERROR = /\b(EACCES|EPERM)\b|permission denied/i;

export interface CapabilityInputs {
  config: Config;
  /** Wall clock, ms since the epoch (generated_at). */
  nowMs: number;
  profile?: CapabilityProfile;
  hostname: string;
  /** The scheduled collectors: their health and (when they have it) their last findings. */
  collectors: Array<{ health: CollectorHealth; findings?: CollectorFindings }>;
  telegraf?: TelegrafSourceState;
  sinks: Array<{ name: string; url: string; up: number }>;
}

export function buildCapabilities(input: CapabilityInputs): Capabilities {
  const c = input.config;
  const scheduled = new Map(input.collectors.map((x) => [x.health.name, x]));
  const devices: DeviceInfo[] = [];
  const collectors: CollectorCapability[] = [];

  for (const entry of CATALOG) {
    const run = scheduled.get(entry.name);
    if (!run) {
      collectors.push({ name: entry.name, covers: entry.covers, active: false, reason: 'disabled', detail: disabledWhy(c, entry) });
      continue;
    }
    const { health, findings } = run;
    const out: CollectorCapability = { name: entry.name, covers: entry.covers, active: false, interval_ms: health.intervalMs };
    if (findings) {
      out.devices = findings.devices.length;
      for (const d of findings.devices) devices.push({ ...d });
    }
    if (health.lastError !== null && health.consecutiveFailures > 0) {
      out.reason = PERMISSION_ERROR.test(health.lastError) ? 'no_permission' : 'failing';
      out.detail = health.lastError;
    } else if (health.present === null) {
      out.reason = 'pending';
      out.detail = 'no cycle finished yet';
    } else if (!health.present) {
      out.reason = findings?.absentReason ?? 'no_device';
      if (findings?.detail) out.detail = findings.detail;
    } else {
      out.active = true;
      // Present, but something is partly missing (NPU telemetry unreadable without privileges).
      if (findings?.detail) out.detail = findings.detail;
    }
    collectors.push(out);
  }

  const accelerators = {} as Capabilities['accelerators'];
  for (const [kind, collector] of ACCELERATORS) {
    const col = collectors.find((x) => x.name === collector)!;
    const available = devices.some((d) => d.kind === kind);
    accelerators[kind] = available
      ? { available, collector }
      : { available, collector, reason: col.reason ?? 'no_device', ...(col.detail !== undefined ? { detail: col.detail } : {}) };
  }

  const sources: SourceCapability[] = [];
  if (c.systemMetricsSource === 'telegraf') {
    const t = input.telegraf;
    const src: SourceCapability = { name: 'telegraf', active: t?.status === 'up', url: c.telegrafPrometheusEndpoint, status: t?.status ?? 'starting' };
    if (t?.status === 'down') {
      src.reason = 'failing';
      if (t.lastError) src.detail = t.lastError;
    } else if (t?.status !== 'up') src.reason = 'pending';
    sources.push(src);
  } else {
    sources.push({ name: 'telegraf', active: false, reason: 'disabled', detail: `SYSTEM_METRICS_SOURCE=${c.systemMetricsSource}` });
  }
  sources.push({ name: 'push', active: true, detail: 'simple JSON, JSON batch, line protocol, OTLP, component report' });
  sources.push(c.otlpHttpPort
    ? { name: 'otlp_port', active: true, detail: `OTLP/HTTP also on port ${c.otlpHttpPort}` }
    : { name: 'otlp_port', active: false, reason: 'disabled', detail: 'OTLP_HTTP_PORT is not set (OTLP is still accepted on the main port)' });

  const sinks: SinkCapability[] = [];
  const running = new Map(input.sinks.map((s) => [s.name, s]));
  const sinkWhy: Record<string, string> = {
    telegraf: telegrafForwardReason(c), // the start log's words, so both say the same
    'influx-v1': 'FORWARD_INFLUX_URL is not set',
    'influx-v2': 'FORWARD_INFLUX_V2_URL is not set',
    'remote-write': 'FORWARD_REMOTE_WRITE_URL is not set',
  };
  for (const name of Object.keys(sinkWhy)) {
    const s = running.get(name);
    if (s) sinks.push({ name, active: true, url: s.url, up: s.up === 1 });
    else sinks.push({ name, active: false, reason: 'disabled', detail: sinkWhy[name] });
  }
  // A sink not in the list above (added later) still shows up.
  for (const s of input.sinks) if (!(s.name in sinkWhy)) sinks.push({ name: s.name, active: true, url: s.url, up: s.up === 1 });

  const listed = devices.map((d): ListedDevice => ({ category: categoryOf(d), present: true, ...d }));
  const count = (cat: ListedDevice['category']) => listed.filter((d) => d.category === cat).length;
  return {
    generated_at: new Date(input.nowMs).toISOString(),
    profile: input.profile ?? 'minimal',
    platform: { hostname: input.hostname, interface_channel: 'rest', device_summary: { igpu: count('igpu'), dgpu: count('dgpu'), npu: count('npu') } },
    node: input.hostname, system_metrics_source: c.systemMetricsSource, collectors, sources, devices: listed, accelerators, sinks };
}

/** Intel integrated GPUs sit at PCI 00:02.0 on every platform; any other Intel card and every NVIDIA GPU is discrete. */
function categoryOf(d: DeviceInfo): ListedDevice['category'] {
  if (d.kind === 'intel_npu') return 'npu';
  if (d.kind === 'intel_gpu' && typeof d.pci_slot === 'string' && /^[0-9a-f]{4}:00:02\.0$/.test(d.pci_slot)) return 'igpu';
  return 'dgpu';
}

function disabledWhy(c: Config, entry: (typeof CATALOG)[number]): string {
  if (!entry.enabled(c)) return `${entry.env}=false`;
  if (c.systemMetricsSource === 'none') return 'SYSTEM_METRICS_SOURCE=none';
  if (entry.builtinOnly && c.systemMetricsSource !== 'builtin') return `SYSTEM_METRICS_SOURCE=${c.systemMetricsSource}: Telegraf reads the node`;
  return 'not scheduled';
}
