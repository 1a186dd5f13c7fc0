/**
 * Pure parser for the CPU lines of /proc/stat (see proc(5)). No I/O.
 *
 * Each `cpu` line holds cumulative times in USER_HZ ticks (1/100 s on every mainstream
 * architecture). We keep ticks: the collector only ever divides ticks by ticks.
 */

export interface CpuTimes {
  /** `cpu-total` for the aggregate `cpu` line (gopsutil/Telegraf naming), else `cpu<N>`. */
  cpu: string;
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  /** Linux ≥ 2.6.11; 0 when the column is absent. */
  steal: number;
  /** Already counted in `user` by the kernel. Linux ≥ 2.6.24; 0 when absent. */
  guest: number;
  /** Already counted in `nice` by the kernel. Linux ≥ 2.6.33; 0 when absent. */
  guestNice: number;
}

const CPU_LINE = /^cpu(\d*)$/;
const UINT = /^\d+$/;

/**
 * The CPU lines of /proc/stat in file order (aggregate first on real kernels). A line with fewer
 * than the seven columns every kernel since 2.6 writes (user … softirq), or with a column that is
 * not an unsigned integer, is skipped; missing newer columns read as 0.
 */
export function parseProcStat(text: string): CpuTimes[] {
  const out: CpuTimes[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('cpu')) continue;
    const f = line.trim().split(/\s+/);
    const m = CPU_LINE.exec(f[0]);
    if (m === null || f.length < 8) continue;
    const cols = f.slice(1, 11);
    if (!cols.every((c) => UINT.test(c))) continue;
    const n = cols.map(Number);
    out.push({
      cpu: m[1] === '' ? 'cpu-total' : `cpu${m[1]}`,
      user: n[0],
      nice: n[1],
      system: n[2],
      idle: n[3],
      iowait: n[4],
      irq: n[5],
      softirq: n[6],
      steal: n[7] ?? 0,
      guest: n[8] ?? 0,
      guestNice: n[9] ?? 0,
    });
  }
  return out;
}
