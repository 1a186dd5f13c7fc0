/**
 * Per-client rate limiting: express-rate-limit drives the request side (429, Retry-After,
 * RateLimit and X-RateLimit headers, skip rules) and this file supplies the reference's algorithm,
 * a token bucket (capacity RATE_LIMIT_BURST, refill RATE_LIMIT_REQUESTS_PER_MINUTE/60 per second),
 * as an express-rate-limit Store. Both numbers are read live from the config on every request.
 */

import { isIP } from 'node:net';
import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type IncrementResponse, type Options, type Store } from 'express-rate-limit';
import type { Config } from '../config/schema';
import { pathOf, sendJson } from './respond';
import type { RouteTable } from './routes-table';

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/** What self-metrics read of the limiter. */
export interface RateLimiterStats {
  /** Buckets (clients) tracked now. */
  readonly size: number;
  /** Buckets forgotten because RATE_LIMIT_MAX_CLIENTS was reached. */
  readonly dropped: number;
}

/**
 * Buckets keyed by client address. At most RATE_LIMIT_MAX_CLIENTS (live setting) are kept; past
 * it the least recently seen is forgotten and counted (that client starts again with a full
 * bucket, which only ever favours it).
 */
export class TokenBucketStore implements Store, RateLimiterStats {
  readonly localKeys = true;
  private readonly buckets = new Map<string, Bucket>();
  private timer: NodeJS.Timeout | undefined;
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
      const max = this.config().rateLimitMaxClients;
      while (this.buckets.size >= max) {
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

/** Longest X-Forwarded-For entry looked at (an IPv6 address with a zone fits), and entries scanned. */
const MAX_ADDRESS_LENGTH = 64;
const MAX_FORWARDED_ENTRIES = 32;

/** `addr` if it is an IP address (IPv4-mapped IPv6 unwrapped), else undefined. Never returns client text that is not an address. */
export function parseAddress(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const a = raw.trim();
  if (a.length === 0 || a.length > MAX_ADDRESS_LENGTH) return undefined;
  const v = isIP(a);
  if (v === 4) return a;
  if (v === 6) {
    const lower = a.toLowerCase();
    return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower;
  }
  return undefined;
}

/**
 * The client key: the socket peer, or, when TRUST_FORWARDED_HEADERS is on, the first valid IP
 * address in X-Forwarded-For, else a valid X-Real-IP. Header text that is not an address is
 * ignored: a key is always an address, so its size is bounded and it cannot be invented freely.
 */
export function clientAddress(req: Pick<Request, 'headers' | 'socket'>, trustForwarded: boolean): string {
  if (trustForwarded) {
    const xff = req.headers['x-forwarded-for'];
    const list = Array.isArray(xff) ? xff.join(',') : xff;
    if (list) {
      let from = 0;
      for (let n = 0; n < MAX_FORWARDED_ENTRIES && from <= list.length; n++) {
        const comma = list.indexOf(',', from);
        const end = comma < 0 ? list.length : comma;
        const a = end - from <= MAX_ADDRESS_LENGTH + 8 ? parseAddress(list.slice(from, end)) : undefined;
        if (a) return a;
        if (comma < 0) break;
        from = comma + 1;
      }
    }
    const real = req.headers['x-real-ip'];
    const a = parseAddress(typeof real === 'string' ? real : undefined);
    if (a) return a;
  }
  return parseAddress(req.socket.remoteAddress) ?? 'unknown';
}

/** The request path for both express and plain node requests. */
function requestPath(req: Request): string {
  return req.path ?? pathOf(req.url);
}

/**
 * The limiter middleware. It also runs on plain node:http objects (the ingestion path), so it
 * touches only node's own request/response API.
 */
export function rateLimiter(config: () => Config, store: TokenBucketStore, table: RouteTable, onLimited: (route: string) => void): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: () => config().rateLimitBurst,
    standardHeaders: 'draft-7',
    legacyHeaders: true,
    store,
    skip: (req) => !config().rateLimitEnabled || table.exempt(req.method, requestPath(req), req.headers.accept),
    keyGenerator: (req) => ipKeyGenerator(clientAddress(req, config().trustForwardedHeaders)),
    // We compute the client address ourselves (trust proxy is not used), so the proxy checks do not apply.
    validate: { trustProxy: false, xForwardedForHeader: false, ip: false, singleCount: false },
    handler: (req, res) => {
      onLimited(table.label(requestPath(req)));
      sendJson(res, 429, { error: 'rate_limited', message: 'Rate limit exceeded; retry after the number of seconds in Retry-After' });
    },
  });
}
