/**
 * cpufreq: current CPU frequencies from cpufreq's scaling_cur_freq — the reference's
 * `cpu_frequency_avg_frequency` (kHz) and a per-core `cpu_frequency_hertz{cpu}` (Hz). See README.md.
 */

import type { Labels, Sample } from '../../model/sample';
import type { Collection, Collector, CollectorEnv } from '../collector';
import { averageKhz, cpuDirs, parseKhz } from './frequency';
import { LabelCache } from '../labels';

export { averageKhz, cpuDirs, parseKhz } from './frequency';
import { defineCollector, enabledSetting, intervalSetting } from '../definition';

/** Errors that mean "this core has no reading now" (inactive policy, driver hiccup). */
const CORE_READ_ERRORS = new Set(['EBUSY', 'EIO', 'EAGAIN', 'EINVAL', 'ENOSYS', 'EOPNOTSUPP']);

const NO_LABELS = Object.freeze({}) as Labels;
const AVG_HELP = 'Average current frequency of all CPUs in kHz, truncated to an integer (reference read_cpu_freq.sh)';
const CORE_HELP = 'Current frequency of the CPU in hertz (cpufreq scaling_cur_freq)';

export class CpuFreqCollector implements Collector {
  readonly name = 'cpufreq';
  readonly defaultIntervalMs = 1000;
  private readonly labels = new LabelCache('cpu');

  /** `env.fs` is read at every collect, so it may be replaced between calls. */
  constructor(private readonly env: CollectorEnv) {}

  async collect(): Promise<Collection> {
    const fs = this.env.fs;
    const samples: Sample[] = [];
    const khz: number[] = [];
    for (const cpu of cpuDirs(await fs.list('sys', 'devices/system/cpu'))) {
      // Absent on hosts without a cpufreq driver (most VMs); EBUSY for an offline CPU's policy.
      const v = parseKhz(await tolerant(fs.readText('sys', `devices/system/cpu/${cpu}/cpufreq/scaling_cur_freq`)));
      if (v === undefined) continue;
      khz.push(v);
      samples.push({ name: 'cpu_frequency_hertz', labels: this.labels.get(cpu), value: v * 1000, type: 'gauge', help: CORE_HELP, unit: 'hertz' });
    }
    const avg = averageKhz(khz);
    if (avg === undefined) return { samples: [], present: false };
    samples.unshift({ name: 'cpu_frequency_avg_frequency', labels: NO_LABELS, value: avg, type: 'gauge', help: AVG_HELP });
    return { samples, present: true };
  }
}

async function tolerant(p: Promise<string | undefined>): Promise<string | undefined> {
  try {
    return await p;
  } catch (e) {
    if (CORE_READ_ERRORS.has((e as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw e;
  }
}

/** Registry entry (src/collectors/registry.ts). */
export const cpufreqCollector = defineCollector({
  name: 'cpufreq',
  defaultIntervalMs: 1000,
  settings: {
    collectorCpufreqEnabled: enabledSetting('COLLECTOR_CPUFREQ_ENABLED'),
    collectorCpufreqIntervalMs: intervalSetting('COLLECTOR_CPUFREQ_INTERVAL_MS', 1000),
  },
  enabledKey: 'collectorCpufreqEnabled',
  intervalKey: 'collectorCpufreqIntervalMs',
  sources: ['builtin'],
  create: (_s, { env }) => new CpuFreqCollector(env),
});
