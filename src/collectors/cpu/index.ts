/**
 * cpu: CPU usage percentages from /proc/stat, named as Telegraf's inputs.cpu shows them on
 * prometheus_client v1 (`cpu_usage_user{cpu="cpu-total"}` …). See README.md.
 */

import type { Sample } from '../../model/sample';
import type { Collection, Collector, CollectorEnv } from '../collector';
import { parseProcStat, type CpuTimes } from './proc-stat';
import { CPU_USAGE_FIELDS, cpuUsage, type CpuUsageField } from './usage';
import { LabelCache } from '../labels';

export { parseProcStat, type CpuTimes } from './proc-stat';
export { CPU_USAGE_FIELDS, cpuUsage, type CpuUsage, type CpuUsageField } from './usage';
import { defineCollector, enabledSetting, intervalSetting } from '../definition';
import { bool } from '../../config/env-types';

export interface CpuCollectorOptions {
  /** Per-core series (`cpu="cpu0"` …). Default true. */
  perCpu?: boolean;
  /** The aggregate series (`cpu="cpu-total"`). Default true. */
  totalCpu?: boolean;
}

/** Series names built once: the scheduler keys its per-series state by name, and a flat string hashes once. */
const NAMES = Object.fromEntries(CPU_USAGE_FIELDS.map((f) => [f, `cpu_usage_${f}`])) as Record<CpuUsageField, string>;

const HELP: Record<CpuUsageField, string> = {
  user: 'Percent of CPU time in user mode, guest time excluded (Telegraf cpu usage_user)',
  system: 'Percent of CPU time in kernel mode (Telegraf cpu usage_system)',
  idle: 'Percent of CPU time idle (Telegraf cpu usage_idle)',
  nice: 'Percent of CPU time in niced user mode, guest_nice excluded (Telegraf cpu usage_nice)',
  iowait: 'Percent of CPU time idle with I/O outstanding (Telegraf cpu usage_iowait)',
  irq: 'Percent of CPU time servicing hardware interrupts (Telegraf cpu usage_irq)',
  softirq: 'Percent of CPU time servicing softirqs (Telegraf cpu usage_softirq)',
  steal: 'Percent of CPU time stolen by the hypervisor (Telegraf cpu usage_steal)',
  guest: 'Percent of CPU time running guest vCPUs (Telegraf cpu usage_guest)',
  guest_nice: 'Percent of CPU time running niced guest vCPUs (Telegraf cpu usage_guest_nice)',
};

export class CpuCollector implements Collector {
  readonly name = 'cpu';
  readonly defaultIntervalMs = 1000;
  private readonly perCpu: boolean;
  private readonly totalCpu: boolean;
  /** Previous snapshot per CPU name; CPUs that disappear are dropped. */
  private prev = new Map<string, CpuTimes>();
  /** One labels object per CPU, reused across cycles (the scheduler caches by identity). */
  private readonly labels = new LabelCache('cpu');

  /** `env.fs` is read at every collect, so it may be replaced between calls (tests do). */
  constructor(
    private readonly env: CollectorEnv,
    opts: CpuCollectorOptions = {},
  ) {
    this.perCpu = opts.perCpu ?? true;
    this.totalCpu = opts.totalCpu ?? true;
  }

  async collect(): Promise<Collection> {
    const text = await this.env.fs.readText('proc', 'stat');
    const times = text === undefined ? [] : parseProcStat(text);
    const next = new Map<string, CpuTimes>();
    const samples: Sample[] = [];
    for (const cur of times) {
      const isTotal = cur.cpu === 'cpu-total';
      if (isTotal ? !this.totalCpu : !this.perCpu) continue;
      if (next.has(cur.cpu)) continue; // a duplicated line: keep the first
      next.set(cur.cpu, cur);
      const prev = this.prev.get(cur.cpu);
      const usage = prev === undefined ? undefined : cpuUsage(prev, cur);
      if (usage === undefined) continue;
      const labels = this.labels.get(cur.cpu);
      for (const f of CPU_USAGE_FIELDS) {
        samples.push({ name: NAMES[f], labels, value: usage[f], type: 'gauge', help: HELP[f] });
      }
    }
    this.prev = next;
    this.labels.retain(next);
    return { samples, present: times.length > 0 };
  }
}

/** Registry entry (src/collectors/registry.ts). Per-core and total series follow Telegraf's `percpu`/`totalcpu`. */
export const cpuCollector = defineCollector({
  name: 'cpu',
  defaultIntervalMs: 1000,
  settings: {
    collectorCpuEnabled: enabledSetting('COLLECTOR_CPU_ENABLED'),
    collectorCpuIntervalMs: intervalSetting('COLLECTOR_CPU_INTERVAL_MS', 1000),
    collectorCpuPerCpu: ['COLLECTOR_CPU_PERCPU', bool.default(true)],
    collectorCpuTotalCpu: ['COLLECTOR_CPU_TOTALCPU', bool.default(true)],
  },
  enabledKey: 'collectorCpuEnabled',
  intervalKey: 'collectorCpuIntervalMs',
  sources: ['builtin'],
  create: (s, { env }) => new CpuCollector(env, { perCpu: s.collectorCpuPerCpu, totalCpu: s.collectorCpuTotalCpu }),
});
