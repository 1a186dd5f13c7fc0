/**
 * Reads the figures of a self-report (src/formats/component-report/self-report.ts) from the
 * running process and its node. The node's CPU usage is a difference of the kernel's CPU times
 * between two reads, so the reader keeps the previous totals.
 */

import os from 'node:os';
import type { SelfSnapshot } from '../formats/component-report/self-report';

/** The parts of `os` and `process` read; injected so tests can hand in fixed values. */
export interface SelfSources {
  cpus: () => Array<{ times: { user: number; nice: number; sys: number; idle: number; irq: number } }>;
  totalmem: () => number;
  freemem: () => number;
  loadavg: () => number[];
  memoryUsage: () => { rss: number; heapUsed: number; heapTotal: number; external: number };
  cpuUsage: () => { user: number; system: number };
  uptimeSeconds: () => number;
}

export const PROCESS_SOURCES: SelfSources = {
  cpus: () => os.cpus(),
  totalmem: () => os.totalmem(),
  freemem: () => os.freemem(),
  loadavg: () => os.loadavg(),
  memoryUsage: () => process.memoryUsage(),
  cpuUsage: () => process.cpuUsage(),
  uptimeSeconds: () => process.uptime(),
};

export class SelfSnapshotReader {
  private lastBusyMs = 0;
  private lastTotalMs = 0;

  constructor(private readonly now: () => number, private readonly src: SelfSources = PROCESS_SOURCES) {}

  read(): SelfSnapshot {
    const nowMs = this.now();
    let busy = 0;
    let total = 0;
    const cpus = this.src.cpus();
    for (const c of cpus) {
      const t = c.times;
      busy += t.user + t.nice + t.sys + t.irq;
      total += t.user + t.nice + t.sys + t.irq + t.idle;
    }
    const dTotal = total - this.lastTotalMs;
    const usage = dTotal > 0 ? Math.min(100, Math.max(0, (100 * (busy - this.lastBusyMs)) / dTotal)) : 0;
    this.lastBusyMs = busy;
    this.lastTotalMs = total;
    const mem = this.src.memoryUsage();
    const cpu = this.src.cpuUsage();
    const [load1 = 0, load5 = 0, load15 = 0] = this.src.loadavg();
    const uptime = this.src.uptimeSeconds();
    return {
      timestampMs: nowMs,
      residentBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      heapTotalBytes: mem.heapTotal,
      externalBytes: mem.external,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      startTimeSeconds: Math.round(nowMs / 1000 - uptime),
      nodeMemoryTotalBytes: this.src.totalmem(),
      nodeMemoryAvailableBytes: this.src.freemem(),
      nodeCpus: cpus.length,
      load1,
      load5,
      load15,
      nodeCpuUsagePercent: usage,
    };
  }
}
