/**
 * Memory plan and guard: how many bytes the store may hold, derived from the container's limit
 * when MAX_STORE_BYTES is not set (as VictoriaMetrics' -memory.allowedPercent does), and a guard
 * that sheds ingestion (503 + Retry-After) while the process is close to its limit, so the kernel
 * never has to OOM-kill it. The guard recovers on its own once memory is back under the low mark.
 */

import fs from 'node:fs';
import v8 from 'node:v8';

const MiB = 1024 * 1024;

/** What the process needs besides the store: V8 and Node themselves, code, HTTP and parse buffers. */
const BASE_HEADROOM_BYTES = 64 * MiB;
/** Of what is left, the share the store's estimate may claim: the rest is GC headroom (V8 needs room to copy live data), SSE buffers and the parser cache. */
const STORE_SHARE = 0.4;
/** The store's share of V8's heap limit: the heap must hold the store and still collect garbage. */
const HEAP_SHARE = 0.4;
/** Without a known limit. */
const DEFAULT_STORE_BYTES = 256 * MiB;
const MIN_STORE_BYTES = 8 * MiB;
/**
 * The line-protocol parser's series cache, as a share of the store's budget, within bounds. A
 * cached series text costs about 290 bytes per series it feeds (3 fields a line; measured with
 * the parser's own estimate), a quarter to a third of what the store spends on that series once
 * it has some history, so a quarter of the budget holds entries for the series the store can
 * hold. Smaller, the lines of the series it cannot hold are parsed from scratch, and the fresh
 * objects made for them keep the collector busy. A sixteenth of the budget (when a full cache was
 * still dropped whole) cut line-protocol ingest to a sixth (1.5 → 0.25 M samples/s, 30,000
 * series) in a 512 MiB container.
 */
const PARSER_CACHE_SHARE = 0.25;
const MIN_PARSER_CACHE_BYTES = 4 * MiB;
const MAX_PARSER_CACHE_BYTES = 32 * MiB;

export interface MemoryPlan {
  /** The container's limit (or MEMORY_LIMIT_BYTES), undefined when unknown. */
  limitBytes?: number;
  limitSource: string;
  /** The store's byte budget. */
  storeBytes: number;
  /** How storeBytes was chosen, for the start log. */
  storeSource: string;
  /** Bound of the line-protocol parser's series cache (estimated bytes), from storeBytes. */
  parserCacheBytes: number;
  /** Ingestion is shed above this resident memory, file-backed pages left out (undefined: no guard on it). */
  shedAboveRssBytes?: number;
  /** … and admitted again below this. */
  resumeBelowRssBytes?: number;
}

export interface PlanInput {
  limitBytes?: number;
  limitSource: string;
  /** V8's heap_size_limit. */
  heapLimitBytes: number;
  /** MAX_STORE_BYTES when set explicitly (0 = derive). */
  configuredStoreBytes: number;
  /** Bytes the forwarding queues may hold in memory (all sinks). */
  forwardQueueBytes: number;
}

export function memoryPlan(i: PlanInput): MemoryPlan {
  const heapCap = Math.floor(i.heapLimitBytes * HEAP_SHARE);
  let storeBytes: number;
  let storeSource: string;
  if (i.configuredStoreBytes > 0) {
    storeBytes = i.configuredStoreBytes;
    storeSource = 'MAX_STORE_BYTES';
  } else if (i.limitBytes !== undefined) {
    const fromLimit = Math.floor((i.limitBytes - BASE_HEADROOM_BYTES - i.forwardQueueBytes) * STORE_SHARE);
    storeBytes = Math.max(MIN_STORE_BYTES, Math.min(fromLimit, heapCap));
    storeSource = fromLimit <= heapCap
      ? `${STORE_SHARE * 100}% of the memory limit after ${BASE_HEADROOM_BYTES / MiB} MiB for the runtime and ${Math.round(i.forwardQueueBytes / MiB)} MiB for forwarding queues`
      : `${HEAP_SHARE * 100}% of V8's heap limit (${Math.round(i.heapLimitBytes / MiB)} MiB)`;
  } else {
    storeBytes = Math.max(MIN_STORE_BYTES, Math.min(DEFAULT_STORE_BYTES, heapCap));
    storeSource = storeBytes === DEFAULT_STORE_BYTES ? 'default (no memory limit found)' : `${HEAP_SHARE * 100}% of V8's heap limit (no memory limit found)`;
  }
  const parserCacheBytes = Math.min(MAX_PARSER_CACHE_BYTES, Math.max(MIN_PARSER_CACHE_BYTES, Math.floor(storeBytes * PARSER_CACHE_SHARE)));
  const plan: MemoryPlan = { limitBytes: i.limitBytes, limitSource: i.limitSource, storeBytes, storeSource, parserCacheBytes };
  if (i.limitBytes !== undefined) {
    plan.shedAboveRssBytes = Math.floor(i.limitBytes * 0.9);
    plan.resumeBelowRssBytes = Math.floor(i.limitBytes * 0.85);
  }
  return plan;
}

export interface MemoryReadings {
  /** Resident memory the guard compares with the limit (residentUnreclaimableBytes). */
  rss(): number;
  heapUsed(): number;
  heapLimit(): number;
}

/** A `<field>:  <n> kB` line of /proc/<pid>/status text, in bytes; undefined when missing. */
export function statusBytes(status: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

/**
 * Anonymous plus shared-memory resident bytes from /proc/self/status text (RssAnon + RssShmem),
 * undefined when the fields are missing (not Linux, or a kernel before 4.5).
 */
export function parseUnreclaimableRss(status: string): number | undefined {
  const anon = statusBytes(status, 'RssAnon');
  return anon === undefined ? undefined : anon + (statusBytes(status, 'RssShmem') ?? 0);
}

/**
 * The resident memory a memory limit can kill the process for: VmRSS without its file-backed
 * pages. Those are mostly the `node` binary's code and data (about 40 MiB on Node 20, 50 MiB on
 * Node 24), clean pages the kernel reclaims before it OOM-kills anyone; counted, they made the
 * guard shed an agent on Node 24 taking in an hour of history in 256 MiB. Falls back to VmRSS
 * where /proc/self/status has no split.
 */
export function residentUnreclaimableBytes(): number {
  let status: string;
  try {
    status = fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    return process.memoryUsage.rss();
  }
  return parseUnreclaimableRss(status) ?? process.memoryUsage.rss();
}

export const processMemory: MemoryReadings = {
  rss: residentUnreclaimableBytes,
  heapUsed: () => process.memoryUsage().heapUsed,
  heapLimit: () => heapLimitBytes(),
};

export function heapLimitBytes(): number {
  return v8.getHeapStatistics().heap_size_limit;
}

/**
 * Decides whether ingestion should be shed now. Readings are taken at most every `checkEveryMs`
 * (reading RSS is a syscall; heap statistics are cheap but not free), with hysteresis so the
 * answer does not flap: shed above the high mark, admit again below the low mark. The heap is
 * guarded as well as RSS: V8 aborts the process at its heap limit whatever the container allows.
 */
export class MemoryGuard {
  private shedding = false;
  private checkedAt = -Infinity;
  /** Requests answered 503 so far (also counted in self-metrics by the caller). */
  shed = 0;
  reason: 'rss' | 'heap' | '' = '';

  constructor(
    private readonly plan: () => MemoryPlan,
    private readonly readings: MemoryReadings = processMemory,
    private readonly mono: () => number = () => performance.now(),
    private readonly checkEveryMs = 100,
  ) {}

  /** True when this request should be shed. */
  shouldShed(): boolean {
    const now = this.mono();
    if (now - this.checkedAt >= this.checkEveryMs) {
      this.checkedAt = now;
      this.update();
    }
    return this.shedding;
  }

  get active(): boolean {
    return this.shedding;
  }

  private update(): void {
    const p = this.plan();
    const rss = p.shedAboveRssBytes !== undefined ? this.readings.rss() : 0;
    const heapRatio = this.readings.heapUsed() / this.readings.heapLimit();
    if (!this.shedding) {
      if (p.shedAboveRssBytes !== undefined && rss > p.shedAboveRssBytes) this.start('rss');
      else if (heapRatio > 0.9) this.start('heap');
    } else {
      const rssOk = p.resumeBelowRssBytes === undefined || rss < p.resumeBelowRssBytes;
      if (rssOk && heapRatio < 0.85) {
        this.shedding = false;
        this.reason = '';
      }
    }
  }

  private start(reason: 'rss' | 'heap'): void {
    this.shedding = true;
    this.reason = reason;
  }
}
