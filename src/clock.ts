/** A monotonic clock in milliseconds, for durations and rates (immune to wall-clock steps). */
export function monotonicMs(): number {
  return performance.now();
}
