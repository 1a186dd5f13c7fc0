/**
 * mem: memory totals from /proc/meminfo, named as Telegraf's inputs.mem shows them on
 * prometheus_client v1 (`mem_total`, `mem_used_percent` …). See README.md.
 */

import type { Sample } from '../../model/sample';
import type { Collection, Collector, CollectorEnv } from '../collector';
import { ASSUMED_PAGE_SIZE_BYTES, memoryStats, parseMeminfo, parseZoneinfoLowPages } from './meminfo';

export { ASSUMED_PAGE_SIZE_BYTES, memoryStats, parseMeminfo, parseZoneinfoLowPages, type MemoryStats } from './meminfo';
import { defineCollector, enabledSetting, intervalSetting } from '../definition';

const NO_LABELS = Object.freeze({}) as Record<string, string>;

export class MemCollector implements Collector {
  readonly name = 'mem';
  readonly defaultIntervalMs = 1000;

  /** `env.fs` is read at every collect, so it may be replaced between calls. */
  constructor(private readonly env: CollectorEnv) {}

  async collect(): Promise<Collection> {
    const text = await this.env.fs.readText('proc', 'meminfo');
    if (text === undefined) return { samples: [], present: false };
    const info = parseMeminfo(text);
    let lowBytes: number | undefined;
    if (!info.has('MemAvailable')) {
      // Kernels before 3.14 only; the estimate needs the zones' low watermarks.
      const zoneinfo = await this.env.fs.readText('proc', 'zoneinfo');
      if (zoneinfo !== undefined) lowBytes = parseZoneinfoLowPages(zoneinfo) * ASSUMED_PAGE_SIZE_BYTES;
    }
    const m = memoryStats(info, lowBytes);
    if (m === undefined) return { samples: [], present: false };
    const s = (name: string, value: number, help: string): Sample => ({ name, labels: NO_LABELS, value, type: 'gauge', help });
    return {
      present: true,
      samples: [
        s('mem_total', m.total, 'Total usable memory in bytes (MemTotal; Telegraf mem total)'),
        s('mem_available', m.available, 'Memory available for new work without swapping, bytes (MemAvailable; Telegraf mem available)'),
        s('mem_used', m.used, 'Memory in use, bytes: total - available (Telegraf mem used)'),
        s('mem_used_percent', m.usedPercent, 'Memory in use as a percent of total (Telegraf mem used_percent)'),
        s('mem_available_percent', m.availablePercent, 'Available memory as a percent of total (Telegraf mem available_percent)'),
      ],
    };
  }
}

/** Registry entry (src/collectors/registry.ts). */
export const memCollector = defineCollector({
  name: 'mem',
  defaultIntervalMs: 1000,
  settings: {
    collectorMemEnabled: enabledSetting('COLLECTOR_MEM_ENABLED'),
    collectorMemIntervalMs: intervalSetting('COLLECTOR_MEM_INTERVAL_MS', 1000),
  },
  enabledKey: 'collectorMemEnabled',
  intervalKey: 'collectorMemIntervalMs',
  sources: ['builtin'],
  create: (_s, { env }) => new MemCollector(env),
});
