/**
 * Builds the enabled built-in collectors from the config. Each collector lives in its own folder
 * (src/collectors/<name>/ with a README); this file only knows which settings turn each one on.
 */

import { execFile } from 'node:child_process';
import { monotonicMs } from '../clock';
import type { Config } from '../config/schema';
import type { LineProtocolParser } from '../formats/influx/parse';
import type { Collector, CollectorEnv, CommandRunner } from './collector';
import { CpuCollector } from './cpu';
import { CpuFreqCollector } from './cpufreq';
import { HostFs } from './host-fs';
import { IntelGpuCollector } from './intel-gpu';
import { IntelNpuCollector } from './intel-npu';
import { MemCollector } from './mem';
import { NvidiaCollector } from './nvidia';
import type { ScheduledCollector } from './scheduler';
import { ScriptsCollector } from './scripts';
import { TempCollector } from './temp';

/** Runs a command without a shell, with a timeout; never rejects for a non-zero exit. */
export const runCommand: CommandRunner = (cmd, args, timeoutMs) =>
  new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      if (e && typeof e.code === 'string') return reject(e); // spawn failure, e.g. ENOENT
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr });
    });
  });

export function collectorEnv(config: Config, run: CommandRunner = runCommand): CollectorEnv {
  return { fs: new HostFs(config.hostProc, config.hostSys), now: Date.now, monotonic: monotonicMs, run };
}

export interface BuiltCollectors {
  scheduled: ScheduledCollector[];
  scripts?: ScriptsCollector;
}

/**
 * The collectors the config enables. System collectors run only with SYSTEM_METRICS_SOURCE=builtin
 * (with `telegraf`, Telegraf reads the node); user scripts run in every mode, since their output
 * is custom metrics.
 */
export function createCollectors(config: Config, env: CollectorEnv, parser: LineProtocolParser): BuiltCollectors {
  const scheduled: ScheduledCollector[] = [];
  const add = (enabled: boolean, intervalMs: number, make: () => Collector) => {
    if (enabled) scheduled.push({ collector: make(), intervalMs });
  };
  if (config.systemMetricsSource === 'builtin') {
    add(config.collectorCpuEnabled, config.collectorCpuIntervalMs, () => new CpuCollector(env));
    add(config.collectorMemEnabled, config.collectorMemIntervalMs, () => new MemCollector(env));
    add(config.collectorTempEnabled, config.collectorTempIntervalMs, () => new TempCollector(env, { sensorFilter: new RegExp(config.tempSensorFilter) }));
    add(config.collectorCpufreqEnabled, config.collectorCpufreqIntervalMs, () => new CpuFreqCollector(env));
  }
  // Accelerators are read by the agent in both modes: Telegraf has no Intel GPU/NPU input of its own.
  if (config.systemMetricsSource !== 'none') {
    add(config.collectorIntelGpuEnabled, config.collectorIntelGpuIntervalMs, () => new IntelGpuCollector(env));
    add(config.collectorIntelNpuEnabled, config.collectorIntelNpuIntervalMs, () => new IntelNpuCollector(env));
    add(config.collectorNvidiaEnabled, config.collectorNvidiaIntervalMs, () => new NvidiaCollector(env, { smiPath: config.nvidiaSmiPath }));
  }
  let scripts: ScriptsCollector | undefined;
  if (config.collectorScriptsEnabled) {
    scripts = new ScriptsCollector({ dir: config.customMetricsDir, timeoutMs: config.scriptTimeoutMs, parser });
    scheduled.push({ collector: scripts, intervalMs: config.collectorScriptsIntervalMs });
  }
  return { scheduled, scripts };
}
