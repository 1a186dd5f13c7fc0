/**
 * Pure helpers for the cpufreq collector. No I/O.
 */

/** `cpu0`, `cpu1`, … from a listing of /sys/devices/system/cpu, in numeric order. */
export function cpuDirs(entries: readonly string[]): string[] {
  const ids: number[] = [];
  for (const e of entries) {
    const m = /^cpu(\d+)$/.exec(e);
    if (m !== null) ids.push(Number(m[1]));
  }
  return ids.sort((a, b) => a - b).map((n) => `cpu${n}`);
}

/** A `scaling_cur_freq` value (kHz, e.g. `3600000\n`); undefined unless a non-negative integer. */
export function parseKhz(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const s = text.trim();
  return /^\d+$/.test(s) ? Number(s) : undefined;
}

/**
 * Average of per-core frequencies in kHz, truncated to an integer as the reference's
 * read_cpu_freq.sh does (`sum / count` in shell arithmetic); undefined for no cores.
 */
export function averageKhz(khz: readonly number[]): number | undefined {
  if (khz.length === 0) return undefined;
  let sum = 0;
  for (const k of khz) sum += k;
  return Math.floor(sum / khz.length);
}
