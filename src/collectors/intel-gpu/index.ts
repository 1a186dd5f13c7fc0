export { IntelGpuCollector, type IntelGpuCollectorOptions } from './intel-gpu-collector';
export { INTEL_GPU_METRICS } from './metrics';
export { ownerOfCgroupPath, parseProcCgroup, type CgroupOwner } from './cgroup';
export { parseDrmFdinfo, parseDrmSize, type DrmFdinfo } from './fdinfo';
import { bool, int } from '../../config/env-types';
import { defineCollector, enabledSetting, intervalSetting } from '../definition';
import { IntelGpuCollector } from './intel-gpu-collector';

/** Registry entry (src/collectors/registry.ts). */
export const intelGpuCollector = defineCollector({
  name: 'intel_gpu',
  defaultIntervalMs: 1000,
  settings: {
    collectorIntelGpuEnabled: enabledSetting('COLLECTOR_INTEL_GPU_ENABLED'),
    collectorIntelGpuIntervalMs: intervalSetting('COLLECTOR_INTEL_GPU_INTERVAL_MS', 1000),
    intelGpuScanProcesses: ['COLLECTOR_INTEL_GPU_SCAN_PROCESSES', bool.default(true)],
    intelGpuProcessRescanMs: ['COLLECTOR_INTEL_GPU_PROCESS_RESCAN_MS', int(0, 3_600_000).default(10_000)],
    intelGpuProcessIdleRescanMs: ['COLLECTOR_INTEL_GPU_PROCESS_IDLE_RESCAN_MS', int(0, 3_600_000).default(60_000)],
    intelGpuPerPod: ['COLLECTOR_INTEL_GPU_PER_POD', bool.default(true)],
  },
  enabledKey: 'collectorIntelGpuEnabled',
  intervalKey: 'collectorIntelGpuIntervalMs',
  // Telegraf has no Intel GPU input: the agent reads it in both modes.
  sources: ['builtin', 'telegraf'],
  create: (s, { env, pods }) => new IntelGpuCollector(env, {
    scanProcesses: s.intelGpuScanProcesses, processRescanMs: s.intelGpuProcessRescanMs, processIdleRescanMs: s.intelGpuProcessIdleRescanMs, perPod: s.intelGpuPerPod,
    podLabels: pods ? (o) => pods.ownerLabels(o.podUid, o.containerId) : undefined,
  }),
});
