/**
 * Pure parsing of /proc/meminfo and /proc/zoneinfo, and the memory figures Telegraf's inputs.mem
 * reports on Linux (through gopsutil's VirtualMemory). No I/O.
 */

/**
 * `Key: value [kB]` lines → key → value. Values with a `kB` unit are converted to bytes (× 1024,
 * the kernel's "kB" is KiB); unitless lines (HugePages_Total …) keep their count. Lines that do not
 * parse are skipped.
 */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([^:\s][^:]*):\s*(\d+)(?:\s+(kB))?\s*$/.exec(line);
    if (m === null) continue;
    const n = Number(m[2]);
    out.set(m[1], m[3] === 'kB' ? n * 1024 : n);
  }
  return out;
}

/**
 * Sum of the `low` watermarks of every zone in /proc/zoneinfo, in pages (the lines read
 * `        low      1234`). 0 when there are none.
 */
export function parseZoneinfoLowPages(text: string): number {
  let pages = 0;
  for (const line of text.split('\n')) {
    const m = /^\s+low\s+(\d+)\s*$/.exec(line);
    if (m !== null) pages += Number(m[1]);
  }
  return pages;
}

/** Page size assumed when converting zoneinfo pages to bytes (x86-64, the nodes we run on). */
export const ASSUMED_PAGE_SIZE_BYTES = 4096;

export interface MemoryStats {
  /** Bytes. */
  total: number;
  /** Bytes: MemAvailable, or the estimate described at memoryStats(). */
  available: number;
  /** Bytes: total − available. */
  used: number;
  /** 100 × used / total. */
  usedPercent: number;
  /** 100 × available / total. */
  availablePercent: number;
  /** True when MemAvailable was missing and `available` was estimated. */
  availableEstimated: boolean;
}

/**
 * Memory figures with the semantics of gopsutil ≥ v4.25.8 (Telegraf ≥ 1.37 uses v4.26.x):
 * - available = MemAvailable (kernel ≥ 3.14);
 * - used = total − available (gopsutil before v4.25.8, i.e. Telegraf ≤ 1.36, used
 *   total − free − buffers − cached − sreclaimable instead);
 * - without MemAvailable, available is estimated as gopsutil does: when Active(file),
 *   Inactive(file) and SReclaimable exist and the zoneinfo low watermark is known,
 *   free − low + (pagecache − min(pagecache/2, low)) + (sreclaimable − min(sreclaimable/2, low))
 *   with pagecache = Active(file) + Inactive(file) (the kernel's si_mem_available, floored at 0);
 *   otherwise free + cached + sreclaimable.
 *
 * `lowWatermarkBytes` is only needed when MemAvailable is missing. Returns undefined when
 * MemTotal is missing or 0 (the percentages would be meaningless).
 */
export function memoryStats(info: ReadonlyMap<string, number>, lowWatermarkBytes?: number): MemoryStats | undefined {
  const total = info.get('MemTotal');
  if (total === undefined || total <= 0) return undefined;
  let available = info.get('MemAvailable');
  const availableEstimated = available === undefined;
  if (available === undefined) {
    const free = info.get('MemFree') ?? 0;
    const sreclaimable = info.get('SReclaimable');
    const activeFile = info.get('Active(file)');
    const inactiveFile = info.get('Inactive(file)');
    if (sreclaimable !== undefined && activeFile !== undefined && inactiveFile !== undefined && lowWatermarkBytes !== undefined) {
      const low = lowWatermarkBytes;
      const pagecache = activeFile + inactiveFile;
      available =
        free - low + (pagecache - Math.min(Math.floor(pagecache / 2), low)) + (sreclaimable - Math.min(Math.floor(sreclaimable / 2), low));
    } else {
      available = free + (info.get('Cached') ?? 0) + (sreclaimable ?? 0);
    }
  }
  available = Math.min(Math.max(0, available), total);
  const used = total - available;
  return {
    total,
    available,
    used,
    usedPercent: (100 * used) / total,
    availablePercent: (100 * available) / total,
    availableEstimated,
  };
}
