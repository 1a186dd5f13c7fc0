/**
 * The self-report API (POST /api/metrics/self-report?component_name=X): the agent reports its own
 * process and node figures as if a component named X had sent them through the component report
 * API. Pure: the figures come in as a snapshot (see src/telemetry/self-snapshot.ts, which reads
 * them), the samples go out labelled like a report, so GET /api/metrics/query finds them.
 */

import { checkLabels, ValidationError } from '../../model/names';
import type { Sample } from '../../model/sample';
import { COMPONENT_NAME_LABEL, COMPONENT_TYPE_LABEL } from './parse';

/** What the agent knows about itself and its node at one instant. */
export interface SelfSnapshot {
  timestampMs: number;
  /** Process: resident set, V8 heap in use and reserved, memory outside the heap (Buffers). */
  residentBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  /** Process CPU time, user + system, since it started. */
  cpuSeconds: number;
  startTimeSeconds: number;
  /** Node: memory as the kernel reports it, CPU count and load averages. */
  nodeMemoryTotalBytes: number;
  nodeMemoryAvailableBytes: number;
  nodeCpus: number;
  load1: number;
  load5: number;
  load15: number;
  /** Busy share of all CPUs since the previous snapshot (since boot for the first one), 0–100. */
  nodeCpuUsagePercent: number;
}

interface Figure {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  unit?: string;
  value: (s: SelfSnapshot) => number;
}

/** Names in the Prometheus client conventions (process_*), node figures under system_*. */
const FIGURES: readonly Figure[] = [
  { name: 'process_resident_memory_bytes', type: 'gauge', unit: 'bytes', help: 'Resident memory of the metrics-manager agent process.', value: (s) => s.residentBytes },
  { name: 'process_heap_used_bytes', type: 'gauge', unit: 'bytes', help: 'V8 heap in use by the agent process.', value: (s) => s.heapUsedBytes },
  { name: 'process_heap_total_bytes', type: 'gauge', unit: 'bytes', help: 'V8 heap reserved by the agent process.', value: (s) => s.heapTotalBytes },
  { name: 'process_external_memory_bytes', type: 'gauge', unit: 'bytes', help: 'Memory of the agent process held outside the V8 heap (buffers).', value: (s) => s.externalBytes },
  { name: 'process_cpu_seconds_total', type: 'counter', unit: 'seconds', help: 'CPU time (user and system) used by the agent process.', value: (s) => s.cpuSeconds },
  { name: 'process_start_time_seconds', type: 'gauge', unit: 'seconds', help: 'When the agent process started, seconds since the epoch.', value: (s) => s.startTimeSeconds },
  { name: 'system_memory_total_bytes', type: 'gauge', unit: 'bytes', help: 'Memory of the node.', value: (s) => s.nodeMemoryTotalBytes },
  { name: 'system_memory_available_bytes', type: 'gauge', unit: 'bytes', help: 'Memory of the node available without swapping.', value: (s) => s.nodeMemoryAvailableBytes },
  {
    name: 'system_memory_usage_percent', type: 'gauge', help: 'Memory of the node in use, percent of the total.',
    value: (s) => (s.nodeMemoryTotalBytes > 0 ? (100 * (s.nodeMemoryTotalBytes - s.nodeMemoryAvailableBytes)) / s.nodeMemoryTotalBytes : 0),
  },
  { name: 'system_cpu_usage_percent', type: 'gauge', help: 'Busy share of all CPUs of the node since the previous self-report, percent.', value: (s) => s.nodeCpuUsagePercent },
  { name: 'system_cpus', type: 'gauge', help: 'CPUs of the node.', value: (s) => s.nodeCpus },
  { name: 'system_load1', type: 'gauge', help: 'Load average of the node over 1 minute.', value: (s) => s.load1 },
  { name: 'system_load5', type: 'gauge', help: 'Load average of the node over 5 minutes.', value: (s) => s.load5 },
  { name: 'system_load15', type: 'gauge', help: 'Load average of the node over 15 minutes.', value: (s) => s.load15 },
];

/** The names a self-report writes, for docs and tests. */
export const SELF_REPORT_METRICS: readonly string[] = FIGURES.map((f) => f.name);

/**
 * One sample per figure, labelled `component_name` (and `component_type` when given).
 * A missing or invalid component name is a ValidationError naming the parameter.
 */
export function selfReportSamples(snapshot: SelfSnapshot, componentName: string | undefined, componentType?: string): Sample[] {
  if (componentName === undefined || componentName === '') {
    throw new ValidationError('component_name is required (POST /api/metrics/self-report?component_name=<name>)');
  }
  if (componentName.length > 256) throw new ValidationError('component_name is longer than 256 characters');
  if (componentType !== undefined && componentType.length > 256) throw new ValidationError('component_type is longer than 256 characters');
  const labels = checkLabels({ [COMPONENT_NAME_LABEL]: componentName, ...(componentType ? { [COMPONENT_TYPE_LABEL]: componentType } : {}) });
  return FIGURES.map((f) => ({
    name: f.name,
    labels,
    value: f.value(snapshot),
    timestampMs: snapshot.timestampMs,
    type: f.type,
    help: f.help,
    unit: f.unit,
  }));
}
