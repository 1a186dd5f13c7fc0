export { NvidiaCollector, NVIDIA_METRICS, type NvidiaCollectorOptions } from './nvidia-collector';
export { parseNvidiaSmiCsv, NVIDIA_SMI_ARGS, NVIDIA_SMI_FIELDS, type NvidiaGpuReading } from './nvidia-smi-csv';
import { z } from 'zod/v3';
import { defineCollector, enabledSetting, intervalSetting } from '../definition';
import { NvidiaCollector } from './nvidia-collector';

/** Registry entry (src/collectors/registry.ts). */
export const nvidiaCollector = defineCollector({
  name: 'nvidia',
  defaultIntervalMs: 1000,
  settings: {
    collectorNvidiaEnabled: enabledSetting('COLLECTOR_NVIDIA_ENABLED'),
    collectorNvidiaIntervalMs: intervalSetting('COLLECTOR_NVIDIA_INTERVAL_MS', 1000),
    nvidiaSmiPath: ['NVIDIA_SMI_PATH', z.string().min(1).default('nvidia-smi')],
  },
  enabledKey: 'collectorNvidiaEnabled',
  intervalKey: 'collectorNvidiaIntervalMs',
  sources: ['builtin', 'telegraf'],
  create: (s, { env }) => new NvidiaCollector(env, { smiPath: s.nvidiaSmiPath }),
});
