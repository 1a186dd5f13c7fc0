/**
 * Per-namespace quotas on pushes (QUOTAS): how many custom series a namespace may hold, and how
 * many samples and requests per second it may push. The namespace is the authenticated identity's
 * (src/auth), never a label the pusher chose, so quotas apply only with AUTH_MODE set.
 *
 * Rates are token buckets (a second's worth of burst) kept per namespace, at most MAX_BUCKETS of
 * them (least recently used forgotten first, counted). The series cap is enforced by the store,
 * which counts series per namespace (SeriesStore `tenant`), so a namespace at its cap has its NEW
 * series refused while its existing ones still update, and never evicts another namespace's.
 */

import { z } from 'zod/v3';
import { HttpError } from '../http/errors';

export interface Quota {
  /** Custom series the namespace may hold; 0 = no cap. */
  maxSeries: number;
  /** Samples per second (burst: one second's worth); 0 = no limit. */
  samplesPerSecond: number;
  /** Push requests per second (burst: one second's worth, at least 1); 0 = no limit. */
  requestsPerSecond: number;
}

export interface QuotaPolicy {
  default: Quota;
  namespaces: Record<string, Quota>;
}

const quotaSchema = z.object({
  maxSeries: z.number().int().min(0).default(0),
  samplesPerSecond: z.number().finite().min(0).default(0),
  requestsPerSecond: z.number().finite().min(0).default(0),
}).strict();

const policySchema = z.object({
  default: quotaSchema.default({ maxSeries: 0, samplesPerSecond: 0, requestsPerSecond: 0 }),
  namespaces: z.record(z.string().min(1).max(253), quotaSchema).default({}),
}).strict();

export const NO_QUOTA: Quota = { maxSeries: 0, samplesPerSecond: 0, requestsPerSecond: 0 };

/** Parses QUOTAS (JSON); '' means no quotas. Throws an Error naming the problem. */
export function parseQuotaPolicy(text: string): QuotaPolicy | undefined {
  if (text.trim() === '') return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`QUOTAS is not JSON: ${(e as Error).message}`);
  }
  const r = policySchema.safeParse(raw);
  if (!r.success) throw new Error(`QUOTAS: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

export function quotaOf(policy: QuotaPolicy | undefined, namespace: string): Quota {
  if (!policy) return NO_QUOTA;
  return policy.namespaces[namespace] ?? policy.default;
}

export type QuotaReason = 'max_series' | 'samples_per_second' | 'requests_per_second';

class Bucket {
  constructor(public tokens: number, public atMs: number) {}
  /**
   * Refills at `rate`/s up to `rate` (one second of burst). Takes `n` when at least min(n, rate)
   * tokens are there: a request larger than a second's quota passes once the bucket is full and
   * leaves it in debt, so the average rate holds and no request size is refused forever.
   * Returns 0 when taken, else the seconds until it would be.
   */
  take(n: number, rate: number, nowMs: number): number {
    this.tokens = Math.min(rate, this.tokens + ((nowMs - this.atMs) / 1000) * rate);
    this.atMs = nowMs;
    const need = Math.min(n, rate);
    if (this.tokens < need) return (need - this.tokens) / rate;
    this.tokens -= n;
    return 0;
  }
}

const MAX_BUCKETS = 10_000;

/**
 * The live policy (QUOTAS, re-parsed when the setting's text changes), the rate half of the
 * quotas (decided per push request, before anything is stored) and the refusals by namespace
 * label and reason for self-metrics.
 */
export class QuotaGate {
  private readonly buckets = new Map<string, { samples: Bucket; requests: Bucket }>();
  /** Buckets forgotten past MAX_BUCKETS (their namespaces start over with a full bucket). */
  evictedBuckets = 0;
  private readonly refused = new Map<string, number>();
  private policyText = '';
  private parsed: QuotaPolicy | undefined;

  constructor(private readonly text: () => string, private readonly now: () => number, private readonly maxBuckets = MAX_BUCKETS) {}

  /** The policy in force; undefined when QUOTAS is empty. The config loader has validated the text. */
  policy(): QuotaPolicy | undefined {
    const t = this.text();
    if (t !== this.policyText) {
      this.parsed = parseQuotaPolicy(t);
      this.policyText = t;
    }
    return this.parsed;
  }

  /** Counts refused samples under a namespace label value the caller has bounded. */
  count(namespaceLabel: string, reason: QuotaReason, samples: number): void {
    const k = `${namespaceLabel}\u0000${reason}`;
    this.refused.set(k, (this.refused.get(k) ?? 0) + samples);
  }

  refusedSamples(): Array<{ namespace: string; reason: QuotaReason; samples: number }> {
    return [...this.refused].map(([k, samples]) => {
      const [namespace, reason] = k.split('\u0000') as [string, QuotaReason];
      return { namespace, reason, samples };
    });
  }

  /**
   * Takes one request and `samples` samples from the namespace's buckets, or throws a 429
   * (QuotaExceeded) with Retry-After, naming the quota.
   */
  admit(namespace: string, quota: Quota, samples: number): void {
    if (quota.samplesPerSecond <= 0 && quota.requestsPerSecond <= 0) return;
    const now = this.now();
    let b = this.buckets.get(namespace);
    if (b === undefined) {
      if (this.buckets.size >= this.maxBuckets) {
        const oldest = this.buckets.keys().next().value as string;
        this.buckets.delete(oldest);
        this.evictedBuckets++;
      }
      b = { samples: new Bucket(quota.samplesPerSecond, now), requests: new Bucket(quota.requestsPerSecond, now) };
    } else this.buckets.delete(namespace); // re-inserted below: the map's order is least recently used first
    this.buckets.set(namespace, b);
    if (quota.requestsPerSecond > 0) {
      const wait = b.requests.take(1, quota.requestsPerSecond, now);
      if (wait > 0) throw new QuotaExceeded('requests_per_second', `namespace ${JSON.stringify(namespace)} is over its quota of ${quota.requestsPerSecond} push requests per second`, wait);
    }
    if (quota.samplesPerSecond > 0) {
      const wait = b.samples.take(samples, quota.samplesPerSecond, now);
      if (wait > 0) throw new QuotaExceeded('samples_per_second', `namespace ${JSON.stringify(namespace)} is over its quota of ${quota.samplesPerSecond} samples per second (this request has ${samples})`, wait);
    }
  }
}

/** A 429 whose `reason` the push routes count per namespace; Retry-After in whole seconds, at least 1. */
export class QuotaExceeded extends HttpError {
  constructor(readonly reason: QuotaReason, message: string, waitSeconds: number) {
    super(429, 'quota_exceeded', message, undefined, Math.max(1, Math.ceil(waitSeconds)));
  }
}
