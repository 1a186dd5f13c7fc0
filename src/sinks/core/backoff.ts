/**
 * Retry timing for sinks: exponential backoff with full jitter, and the `Retry-After` header.
 * Pure: the random source and the clock come from the caller.
 */

export interface BackoffPolicy {
  /** Ceiling of the first retry's delay, ms. */
  initialMs: number;
  /** Largest ceiling, ms: the exponential growth stops here. */
  maxMs: number;
  /** Longest `Retry-After` honoured, ms; longer values are cut to this. */
  retryAfterMaxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 30_000, retryAfterMaxMs: 300_000 };

/**
 * Delay before retry number `attempt` (0 for the first retry): uniform in [0, ceiling) where the
 * ceiling is `initialMs · 2^attempt` capped at `maxMs` ("full jitter": senders that failed
 * together do not retry together).
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(Math.max(attempt, 0), 40));
  const r = random();
  const u = r >= 0 && r < 1 ? r : 0.5;
  return Math.floor(u * ceiling);
}

/**
 * A `Retry-After` value as a delay in ms: delta-seconds (`120`) or an HTTP date. undefined when
 * absent or unreadable; a date in the past gives 0.
 */
export function parseRetryAfterMs(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (/^\d+\.\d+$/.test(v)) return Math.round(Number(v) * 1000); // not in RFC 9110, but harmless
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * The delay before the next attempt: the server's `Retry-After` when it sent one (capped at
 * `retryAfterMaxMs`), else the jittered backoff for this attempt.
 */
export function retryDelayMs(attempt: number, retryAfterMs: number | undefined, policy: BackoffPolicy, random: () => number): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.retryAfterMaxMs);
  return backoffDelayMs(attempt, policy, random);
}
