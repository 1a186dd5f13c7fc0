/**
 * Pure: CPU usage percentages from two /proc/stat snapshots of one CPU, with the semantics of
 * Telegraf's inputs.cpu (plugins/inputs/cpu/cpu.go) and safe against counter resets.
 *
 * Telegraf's rules, kept exactly:
 * - the denominator is the increase of user+nice+system+idle+iowait+irq+softirq+steal; guest and
 *   guest_nice are left out because the kernel already counts them in user and nice;
 * - usage_user = Δ(user − guest), usage_nice = Δ(nice − guest_nice), every other field Δfield,
 *   each × 100 / denominator;
 * - no change at all in the interval gives no values.
 *
 * Where we differ (Telegraf would emit negative or > 100 values, or abort the whole gather):
 * - if the summed counters went backwards (CPU hot-unplug/replug, a different host), the interval
 *   is a reset: no values; the caller keeps the new snapshot as its baseline;
 * - a single column that dips while the sum grows (the NO_HZ idle/iowait accounting quirk) counts
 *   as 0 for that interval and the denominator is the sum of the clamped increases, so every value
 *   stays within [0, 100] and the eight base fields add up to 100;
 * - Δguest is clamped to [0, Δuser] and Δguest_nice to [0, Δnice].
 */

import type { CpuTimes } from './proc-stat';

export const CPU_USAGE_FIELDS = [
  'user',
  'system',
  'idle',
  'nice',
  'iowait',
  'irq',
  'softirq',
  'steal',
  'guest',
  'guest_nice',
] as const;

export type CpuUsageField = (typeof CPU_USAGE_FIELDS)[number];

/** Percent of the interval's CPU time per state, 0–100. */
export type CpuUsage = Record<CpuUsageField, number>;

type BaseField = 'user' | 'nice' | 'system' | 'idle' | 'iowait' | 'irq' | 'softirq' | 'steal';
const BASE: readonly BaseField[] = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'];

function sum(t: CpuTimes): number {
  let s = 0;
  for (const f of BASE) s += t[f];
  return s;
}

/** Usage over the interval prev → cur, or undefined for a reset or an interval with no ticks. */
export function cpuUsage(prev: CpuTimes, cur: CpuTimes): CpuUsage | undefined {
  if (sum(cur) - sum(prev) < 0) return undefined;
  const d = {} as Record<BaseField, number>;
  let total = 0;
  for (const f of BASE) {
    d[f] = Math.max(0, cur[f] - prev[f]);
    total += d[f];
  }
  if (total <= 0) return undefined;
  const guest = Math.min(Math.max(0, cur.guest - prev.guest), d.user);
  const guestNice = Math.min(Math.max(0, cur.guestNice - prev.guestNice), d.nice);
  const pct = (ticks: number): number => (100 * ticks) / total;
  return {
    user: pct(d.user - guest),
    system: pct(d.system),
    idle: pct(d.idle),
    nice: pct(d.nice - guestNice),
    iowait: pct(d.iowait),
    irq: pct(d.irq),
    softirq: pct(d.softirq),
    steal: pct(d.steal),
    guest: pct(guest),
    guest_nice: pct(guestNice),
  };
}
