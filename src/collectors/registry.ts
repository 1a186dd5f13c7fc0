/**
 * Every built-in collector, in the order its settings appear in the config and its series in
 * health. The config schema merges their settings fragments (COLLECTOR_SETTINGS) and
 * `createCollectors` builds the enabled ones from this list; a new collector adds one line here.
 */

import { cpuCollector } from './cpu';
import { cpufreqCollector } from './cpufreq';
import type { CollectorDefinition, SettingsFragment } from './definition';
import { intelGpuCollector } from './intel-gpu';
import { intelNpuCollector } from './intel-npu';
import { memCollector } from './mem';
import { nvidiaCollector } from './nvidia';
import { podResourcesCollector } from './pod-resources';
import { scriptsCollector } from './scripts';
import { tempCollector } from './temp';

export const COLLECTORS = [
  cpuCollector,
  memCollector,
  tempCollector,
  cpufreqCollector,
  intelGpuCollector,
  intelNpuCollector,
  nvidiaCollector,
  podResourcesCollector,
  scriptsCollector,
] as const;

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/** The settings of every collector, as one fragment of the config schema. */
export type CollectorSettings = UnionToIntersection<(typeof COLLECTORS)[number]['settings']>;

function mergeSettings(defs: readonly CollectorDefinition<SettingsFragment>[]): Record<string, SettingsFragment[string]> {
  const out: Record<string, SettingsFragment[string]> = {};
  for (const d of defs) {
    for (const [key, spec] of Object.entries(d.settings)) {
      // Two collectors declaring one key (or env var) would silently share it: refuse at load.
      if (key in out) throw new Error(`collector setting ${key} declared twice (${d.name})`);
      out[key] = spec;
    }
  }
  return out;
}

export const COLLECTOR_SETTINGS = mergeSettings(COLLECTORS as unknown as CollectorDefinition<SettingsFragment>[]) as unknown as CollectorSettings;
