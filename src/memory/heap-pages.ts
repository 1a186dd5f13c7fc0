/**
 * Returns to the OS the V8 heap pages the garbage collector has freed but kept.
 *
 * Since V8 12 (Node 22 and 24, not Node 20) pages the collector empties go to a page pool for
 * reuse and stay resident until V8 hears of memory pressure, which nothing in Node reports: after
 * an hour of history was pushed into an agent on Node 24, V8's heap was 41 MiB and the process's
 * anonymous memory 172 MiB, 90 s later still. Only a "last resort" collection (what V8 does under
 * memory pressure) empties the pool. This module runs one when the process's anonymous memory
 * has grown well beyond what the heap, external memory and the level seen after the previous
 * release explain, at most once every two minutes: a pause of ~0.1 s (a 40 MiB live heap) for
 * tens of MiB given back. On Node 20 the pool does not exist and the condition is not met.
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
  /** V8 heap pages in use (heap statistics' total_physical_size) plus external memory. */
  accounted(): number;
}

const processReadings: PageReadings = {
  anon: residentUnreclaimableBytes,
  accounted: () => v8.getHeapStatistics().total_physical_size + process.memoryUsage().external,
};

export interface ReleaseOptions {
  /** Unexplained anonymous memory above the level after the previous release that triggers one. */
  thresholdBytes: number;
  minIntervalMs: number;
}

export const DEFAULT_RELEASE: ReleaseOptions = { thresholdBytes: 32 * MiB, minIntervalMs: 120_000 };

/**
 * Decides and runs releases. `check()` is cheap (a /proc read and heap statistics); the agent
 * calls it on a timer.
 */
export class HeapPageReleaser {
  /** Unexplained anonymous memory right after the last release (malloc's retained memory, thread stacks, code): the floor the threshold is counted from. */
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
    if (now - this.lastAt < this.opts.minIntervalMs) return 0;
    const anon = this.readings.anon();
    const unexplained = anon - this.readings.accounted();
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
