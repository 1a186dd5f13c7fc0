/**
 * Builds the enabled built-in collectors from the config. Each collector lives in its own folder
 * (src/collectors/<name>/ with a README) and describes itself (definition.ts); which ones exist is
 * the list in registry.ts. Nothing here knows any collector by name.
 */

import { execFile } from 'node:child_process';
import { monotonicMs } from '../clock';
import type { Config } from '../config/schema';
import type { LineProtocolParser } from '../formats/influx/parse';
import type { CollectorEnv, CommandRunner } from './collector';
import type { CollectorContext, CollectorDefinition, SettingsFragment, SettingsOf } from './definition';
import { HostFs } from './host-fs';
import { COLLECTORS } from './registry';
import type { ScheduledCollector } from './scheduler';

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

/**
 * The collectors the config enables, in registry order. Each runs only with the
 * SYSTEM_METRICS_SOURCE values its definition names (node collectors with `builtin`, accelerators
 * with `builtin` and `telegraf`, user scripts always).
 */
export function createCollectors(
  config: Config,
  env: CollectorEnv,
  parser: LineProtocolParser,
  extra: Omit<CollectorContext, 'env' | 'parser'> = {},
  defs: readonly CollectorDefinition<SettingsFragment>[] = COLLECTORS as unknown as CollectorDefinition<SettingsFragment>[],
): ScheduledCollector[] {
  const values = config as unknown as Record<string, unknown>;
  const scheduled: ScheduledCollector[] = [];
  for (const def of defs) {
    if (!def.sources.includes(config.systemMetricsSource)) continue;
    if (values[def.enabledKey] !== true) continue;
    const collector = def.create(config as unknown as SettingsOf<SettingsFragment>, { env, parser, ...extra });
    scheduled.push({ collector, intervalMs: values[def.intervalKey] as number });
  }
  return scheduled;
}
