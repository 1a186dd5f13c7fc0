/**
 * Per-client rate limiting: express-rate-limit drives the request side (429, Retry-After,
 * RateLimit and X-RateLimit headers, skip rules) and this file supplies the reference's algorithm,
 * a token bucket (capacity RATE_LIMIT_BURST, refill RATE_LIMIT_REQUESTS_PER_MINUTE/60 per second),
 * as an express-rate-limit Store. Both numbers are read live from the config on every request.
 */

import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type IncrementResponse, type Options, type Store } from 'express-rate-limit';
import type { Config } from '../config/schema';
import { pathOf, sendJson } from './respond';

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/** Clients tracked at once; past it the least recently seen bucket is forgotten (and counted). */
const MAX_BUCKETS = 100_000;

export class TokenBucketStore implements Store {
  readonly localKeys = true;
  private readonly buckets = new Map<string, Bucket>();
  private timer: NodeJS.Timeout | undefined;
  /** Buckets forgotten because MAX_BUCKETS was reached. */
  dropped = 0;

  constructor(
    private readonly config: () => Config,
    private readonly now: () => number = Date.now,
  ) {}

  init(_options: Options): void {
    // Idle buckets refill to full; a full bucket is the same as no bucket, so forget it.
    this.timer = setInterval(() => this.sweep(), 60_000);
    this.timer.unref();
  }

  private rate(): { capacity: number; perMs: number } {
    const c = this.config();
    return { capacity: c.rateLimitBurst, perMs: c.rateLimitPerMinute / 60_000 };
  }

  private refill(b: Bucket, now: number, capacity: number, perMs: number): void {
    b.tokens = Math.min(capacity, b.tokens + (now - b.updatedMs) * perMs);
    b.updatedMs = now;
  }

  increment(key: string): IncrementResponse {
    const now = this.now();
    const { capacity, perMs } = this.rate();
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= MAX_BUCKETS) {
        const oldest = this.buckets.keys().next().value as string;
        this.buckets.delete(oldest);
        this.dropped++;
      }
      b = { tokens: capacity, updatedMs: now };
    } else {
      this.buckets.delete(key); // re-insert below: Map order doubles as least-recently-seen order
      this.refill(b, now, capacity, perMs);
    }
    this.buckets.set(key, b);
    // express-rate-limit blocks when totalHits > limit (= capacity); map tokens onto hits.
    if (b.tokens >= 1) {
      b.tokens -= 1;
      const msToNext = b.tokens >= 1 ? 0 : (1 - b.tokens) / perMs;
      return { totalHits: capacity - Math.floor(b.tokens), resetTime: new Date(now + msToNext) };
    }
    return { totalHits: capacity + 1, resetTime: new Date(now + (1 - b.tokens) / perMs) };
  }

  decrement(key: string): void {
    const b = this.buckets.get(key);
    if (b) b.tokens = Math.min(this.rate().capacity, b.tokens + 1);
  }

  resetKey(key: string): void {
    this.buckets.delete(key);
  }

  resetAll(): void {
    this.buckets.clear();
  }

  shutdown(): void {
    clearInterval(this.timer);
  }

  get size(): number {
    return this.buckets.size;
  }

  sweep(): void {
    const now = this.now();
    const { capacity, perMs } = this.rate();
    for (const [key, b] of this.buckets) {
      this.refill(b, now, capacity, perMs);
      if (b.tokens >= capacity) this.buckets.delete(key);
    }
  }
}

/**
 * Paths never limited: health probes, stats and scrapes must work when a client floods us. The
 * stream is exempt as the reference documents (its code limited it): one request holds one long
 * connection, and SSE_MAX_CLIENTS bounds how many there can be.
 */
const EXEMPT = new Set(['/', '/health', '/api/health', '/api/v1/stats', '/metrics', '/metrics/self', '/metrics/stream']);

/** The client key: the socket peer, or the first X-Forwarded-For / X-Real-IP entry when trusted. */
export function clientAddress(req: Request, trustForwarded: boolean): string {
  if (trustForwarded) {
    const xff = req.headers['x-forwarded-for'];
    const first = (Array.isArray(xff) ? xff[0] : xff)?.split(',')[0]?.trim();
    if (first) return first;
    const real = req.headers['x-real-ip'];
    if (typeof real === 'string' && real.trim()) return real.trim();
  }
  return req.socket.remoteAddress ?? 'unknown';
}

/** The request path for both express and plain node requests. */
function requestPath(req: Request): string {
  return req.path ?? pathOf(req.url);
}

/**
 * The limiter middleware. It also runs on plain node:http objects (the ingestion path), so it
 * touches only node's own request/response API.
 */
export function rateLimiter(config: () => Config, store: TokenBucketStore, onLimited: (path: string) => void): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: () => config().rateLimitBurst,
    standardHeaders: 'draft-7',
    legacyHeaders: true,
    store,
    skip: (req) => !config().rateLimitEnabled || req.method === 'OPTIONS' || EXEMPT.has(requestPath(req)),
    keyGenerator: (req) => ipKeyGenerator(clientAddress(req, config().trustForwardedHeaders)),
    // We compute the client address ourselves (trust proxy is not used), so the proxy checks do not apply.
    validate: { trustProxy: false, xForwardedForHeader: false, ip: false, singleCount: false },
    handler: (req, res) => {
      onLimited(requestPath(req));
      sendJson(res, 429, { error: 'rate_limited', message: 'Rate limit exceeded; retry after the number of seconds in Retry-After' });
    },
  });
}
