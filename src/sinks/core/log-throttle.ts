/**
 * At most one log line per key and interval: for events that can repeat many times a second
 * (queue overflow, rejected batches) but deserve a human's attention once in a while. The counts
 * themselves are metrics; the log only says that it is happening.
 */
export class LogThrottle {
  private readonly last = new Map<string, number>();
  private readonly suppressed = new Map<string, number>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  /**
   * Call once per event. Returns how many events of this key were suppressed since the last
   * logged one when this one may be logged, or -1 when it must not be.
   */
  take(key: string): number {
    const t = this.now();
    const last = this.last.get(key);
    if (last !== undefined && t - last < this.intervalMs) {
      this.suppressed.set(key, (this.suppressed.get(key) ?? 0) + 1);
      return -1;
    }
    this.last.set(key, t);
    const n = this.suppressed.get(key) ?? 0;
    this.suppressed.delete(key);
    return n;
  }
}
