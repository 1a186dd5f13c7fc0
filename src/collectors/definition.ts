/**
 * How a collector folder describes itself to the agent: its name, its settings (a fragment of the
 * one config schema), its default interval and a factory. `registry.ts` lists the definitions; the
 * config schema and the scheduler are built from that list, so adding a collector touches its own
 * folder and one line of the registry, nothing else.
 */

import type { z } from 'zod/v3';
import { bool, int } from '../config/env-types';
import type { LineProtocolParser } from '../formats/influx/parse';
import type { Collector, CollectorEnv } from './collector';
import type { PodDirectory } from './pod-directory';
import type { DeviceHolders } from './pod-resources/holders';

/** `[ENV_VAR_NAME, zod schema with its default]`, as in src/config/schema.ts. */
export type SettingSpec = readonly [string, z.ZodTypeAny];
export type SettingsFragment = Readonly<Record<string, SettingSpec>>;
/** The parsed values of a fragment. */
export type SettingsOf<F extends SettingsFragment> = { [K in keyof F]: z.output<F[K][1]> };

export type SystemMetricsSource = 'builtin' | 'telegraf' | 'none';

/** What every factory may use besides its own settings. Shared objects: the factory does not own them. */
export interface CollectorContext {
  env: CollectorEnv;
  /** The agent's line protocol parser (user scripts print line protocol). */
  parser: LineProtocolParser;
  /** The node's pod cache, in a cluster (names for pod UIDs and container ids). */
  pods?: PodDirectory;
  /** Device holders from the kubelet (filled by pod_resources, read when series are labelled). */
  devices?: DeviceHolders;
}

export interface CollectorDefinition<F extends SettingsFragment = SettingsFragment> {
  /** The collector's `name` (metrics, health). */
  readonly name: string;
  readonly defaultIntervalMs: number;
  /** Its settings; merged into the config schema. Keys are global, so they carry the collector's name. */
  readonly settings: F;
  /** The boolean setting that turns it on, and the interval setting. Both in `settings`. */
  readonly enabledKey: keyof F & string;
  readonly intervalKey: keyof F & string;
  /**
   * SYSTEM_METRICS_SOURCE values it runs with: node collectors only with `builtin` (Telegraf reads
   * the node otherwise), accelerators with `builtin` and `telegraf`, user scripts always.
   */
  readonly sources: readonly SystemMetricsSource[];
  /** Builds the collector from the validated config (its own keys are all it may read). */
  create(settings: SettingsOf<F>, ctx: CollectorContext): Collector;
}

/** Identity, for inference: `defineCollector({...})` types `create`'s settings from `settings`. */
export function defineCollector<F extends SettingsFragment>(def: CollectorDefinition<F>): CollectorDefinition<F> {
  return def;
}

export const INTERVAL_MAX_MS = 3_600_000;

/** The on/off switch every collector has. */
export function enabledSetting(envName: string) {
  return [envName, bool.default(true)] as const;
}

/** A collection interval in ms, `min` up to an hour. */
export function intervalSetting(envName: string, defaultMs: number, minMs = 100) {
  return [envName, int(minMs, INTERVAL_MAX_MS).default(defaultMs)] as const;
}
