/**
 * Rates and ratios from cumulative counters. The first sample of a counter gives no rate (not a
 * fake 0); a counter that goes backwards is a reset (no rate for that interval) unless it fits a
 * wrap of the declared width, which is then unwrapped.
 */

export interface CounterOptions {
  /** Width of a hardware counter that wraps (e.g. 32 for a u32 energy register). */
  wrapBits?: number;
}

interface Prev {
  value: number;
  atMs: number;
}

export class CounterTracker {
  private readonly prev = new Map<string, Prev>();

  /**
   * Per-second rate of `value` since the last call with the same key, or undefined on the first
   * sample, after a reset, or when no time has passed.
   */
  rate(key: string, value: number, atMs: number, opts: CounterOptions = {}): number | undefined {
    const d = this.delta(key, value, atMs, opts);
    return d === undefined || d.elapsedMs <= 0 ? undefined : (d.delta * 1000) / d.elapsedMs;
  }

  /** The increase since the last call and the time it took, with the same rules as rate(). */
  delta(key: string, value: number, atMs: number, opts: CounterOptions = {}): { delta: number; elapsedMs: number } | undefined {
    const p = this.prev.get(key);
    this.prev.set(key, { value, atMs });
    if (p === undefined) return undefined;
    let delta = value - p.value;
    if (delta < 0) {
      if (!opts.wrapBits) return undefined;
      const span = 2 ** opts.wrapBits;
      delta += span;
      // A "wrap" bigger than half the range is more likely a reset.
      if (delta < 0 || delta > span / 2) return undefined;
    }
    return { delta, elapsedMs: atMs - p.atMs };
  }

  /** Forgets keys not seen since `keep` was built (devices that went away). */
  retain(keep: Set<string>): void {
    for (const k of this.prev.keys()) if (!keep.has(k)) this.prev.delete(k);
  }
}
