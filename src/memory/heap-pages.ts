/**
 * Returns to the OS the V8 heap pages the garbage collector has freed but kept.
 *
 * Since V8 12 (Node 22 and 24) pages the collector empties go to a page pool for reuse and stay
 * resident until V8 hears of memory pressure, which nothing in Node reports: after an hour of
 * history was pushed into an agent on Node 24, V8's heap was 41 MiB and the process's anonymous
 * memory 172 MiB, 90 s later still. A heap that grew in a burst also keeps its committed pages,
 * half empty, until a collection compacts it (Node 20 too). Only a "last resort" collection (what
 * V8 does under memory pressure) compacts and empties the pool. This module runs one when the
 * process's anonymous memory exceeds what the heap holds and external memory by 16 MiB more than
 * the floor (what a release leaves unexplained, lowered whenever memory falls below it), at most
 * once a minute: a pause of 0.1–0.2 s (a 40–80 MiB heap)
 * for tens of MiB given back. An idle agent on Node 24 goes from 45 to 27 MiB of anonymous memory.
 */

import v8 from 'node:v8';
import vm from 'node:vm';
import { residentUnreclaimableBytes } from './memory-guard';

const MiB = 1024 * 1024;

type GcFunction = (options?: { type?: 'major' | 'minor'; flavor?: 'regular' | 'last-resort'; execution?: 'sync' | 'async' }) => void;

let gcFunction: GcFunction | null | undefined;

/**
 * V8's gc function, taken from a fresh context so the agent's own global stays without `gc`
 * (`/api/health?gc=1` keys on that). undefined when this Node refuses the flag.
 */
function lastResortGc(): GcFunction | undefined {
  if (gcFunction === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      const fn = vm.runInNewContext('gc') as unknown;
      gcFunction = typeof fn === 'function' ? (fn as GcFunction) : null;
    } catch {
      gcFunction = null;
    }
  }
  return gcFunction ?? undefined;
}

export interface PageReadings {
  /** Anonymous resident memory (memory-guard's residentUnreclaimableBytes). */
  anon(): number;
  /**
   * What the heap holds (used_heap_size: live objects and garbage not yet collected) plus external
   * memory. Not the heap's committed pages: a heap that grew in a burst keeps them, half empty,
   * until a collection compacts it, and those go back too.
   */
  accounted(): number;
}

const processReadings: PageReadings = {
  anon: residentUnreclaimableBytes,
  accounted: () => v8.getHeapStatistics().used_heap_size + process.memoryUsage().external,
};

export interface ReleaseOptions {
  /** Unexplained anonymous memory above the floor that triggers a release. */
  thresholdBytes: number;
  minIntervalMs: number;
}

export const DEFAULT_RELEASE: ReleaseOptions = { thresholdBytes: 16 * MiB, minIntervalMs: 60_000 };

/**
 * Decides and runs releases. `check()` is cheap (a /proc read and heap statistics); the agent
 * calls it on a timer.
 */
export class HeapPageReleaser {
  /**
   * What a release cannot return (malloc's retained memory, thread stacks, code): the unexplained
   * memory right after the last release, or less when a later check saw less. The threshold counts from here.
   */
  private floor = 0;
  private lastAt = -Infinity;
  releases = 0;
  releasedBytes = 0;

  constructor(
    private readonly opts: ReleaseOptions = DEFAULT_RELEASE,
    private readonly readings: PageReadings = processReadings,
    private readonly mono: () => number = () => performance.now(),
    private readonly gc: () => GcFunction | undefined = lastResortGc,
  ) {}

  /** Runs a release if it is due; returns the anonymous bytes it gave back (0: none ran). */
  check(): number {
    const now = this.mono();
    const anon = this.readings.anon();
    const unexplained = anon - this.readings.accounted();
    // The floor follows memory down: one taken in a burst (request buffers, compiler zones) must
    // not hold back the release after it.
    this.floor = Math.min(this.floor, Math.max(0, unexplained));
    if (now - this.lastAt < this.opts.minIntervalMs) return 0;
    if (unexplained - this.floor < this.opts.thresholdBytes) return 0;
    const gc = this.gc();
    if (!gc) return 0;
    gc({ type: 'major', flavor: 'last-resort' });
    this.lastAt = now;
    const after = this.readings.anon();
    this.floor = Math.max(0, after - this.readings.accounted());
    const freed = Math.max(0, anon - after);
    this.releases++;
    this.releasedBytes += freed;
    return freed;
  }
}
