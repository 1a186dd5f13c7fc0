/**
 * Per-client rate limiting with the reference's algorithm, a token bucket per client (capacity
 * RATE_LIMIT_BURST, refill RATE_LIMIT_REQUESTS_PER_MINUTE/60 per second), both read live from the
 * config on every request. Every counted request carries the limit in headers, in the IETF
 * draft-7 form (`RateLimit`, `RateLimit-Policy`) and the older `X-RateLimit-*` one; a refused
 * request gets a 429 with Retry-After.
 */

import { isIP } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config/schema';
import { sendJson } from './respond';
import { isExempt, routeLabel, type RouteMatch } from './routes-table';

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

/** One request counted against a bucket. */
export interface Take {
  allowed: boolean;
  /** Whole tokens left after this request. */
  remaining: number;
  /** When the next token is there (the store's clock, ms); now when one is left. */
  nextTokenAtMs: number;
}

/**
 * Buckets keyed by client address. At most RATE_LIMIT_MAX_CLIENTS (live setting) are kept; past
 * it the least recently seen is forgotten and counted (that client starts again with a full
 * bucket, which only ever favours it).
 */
export class TokenBucketStore implements RateLimiterStats {
  private readonly buckets = new Map<string, Bucket>();
  private timer: NodeJS.Timeout | undefined;
  dropped = 0;

  constructor(
    private readonly config: () => Config,
    readonly now: () => number = Date.now,
  ) {}

  /** Starts forgetting idle buckets: they refill to full, and a full bucket is the same as no bucket. */
  start(): void {
    if (this.timer !== undefined) return;
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

  /** Takes a token from `key`'s bucket if it has one. */
  take(key: string): Take {
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
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { allowed: true, remaining: Math.floor(b.tokens), nextTokenAtMs: b.tokens >= 1 ? now : now + (1 - b.tokens) / perMs };
    }
    return { allowed: false, remaining: 0, nextTokenAtMs: now + (1 - b.tokens) / perMs };
  }

  shutdown(): void {
    clearInterval(this.timer);
    this.timer = undefined;
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
export function clientAddress(req: Pick<IncomingMessage, 'headers' | 'socket'>, trustForwarded: boolean): string {
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

/**
 * The bucket key of an address: IPv4 as is; IPv6 by its /56 prefix, the block one subscriber
 * usually gets, so that walking through the addresses of one's own block buys no tokens; the
 * deprecated IPv4-compatible form (`::1.2.3.4`) as the IPv4 address it writes.
 */
export function rateLimitKey(address: string): string {
  if (!address.includes(':')) return address;
  const groups = ipv6Groups(address);
  if (groups === undefined) return address;
  if (address.includes('.') && groups.slice(0, 6).every((g) => g === 0)) {
    return `${groups[6] >> 8}.${groups[6] & 255}.${groups[7] >> 8}.${groups[7] & 255}`;
  }
  return `${groups.slice(0, 3).map((g) => g.toString(16)).join(':')}:${(groups[3] & 0xff00).toString(16)}::/56`;
}

/** The eight 16-bit groups of a valid IPv6 address (a zone is ignored), or undefined. */
function ipv6Groups(address: string): number[] | undefined {
  const zone = address.indexOf('%');
  let a = zone < 0 ? address : address.slice(0, zone);
  if (a.includes('.')) {
    // A trailing dotted quad is the last two groups.
    const colon = a.lastIndexOf(':');
    const v4 = a.slice(colon + 1).split('.').map(Number);
    if (v4.length !== 4 || v4.some((n) => !(Number.isInteger(n) && n >= 0 && n <= 255))) return undefined;
    a = `${a.slice(0, colon + 1)}${((v4[0] << 8) | v4[1]).toString(16)}:${((v4[2] << 8) | v4[3]).toString(16)}`;
  }
  const halves = a.split('::');
  if (halves.length > 2) return undefined;
  const parse = (h: string) => (h === '' ? [] : h.split(':').map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? Number.parseInt(g, 16) : NaN)));
  const left = parse(halves[0]);
  const right = halves.length === 2 ? parse(halves[1]) : [];
  const fill = halves.length === 2 ? 8 - left.length - right.length : 0;
  if (fill < 0) return undefined;
  const groups = [...left, ...new Array<number>(fill).fill(0), ...right];
  return groups.length === 8 && groups.every((g) => g >= 0) ? groups : undefined;
}

/**
 * The limiter step: `limit(req, res, found)` counts the request against its client's bucket, sets
 * the RateLimit headers, and answers 429 itself when the bucket is empty (then it returns true).
 * `found` is the request's match in the route table (the dispatcher's, so the limiter and the
 * route agree on what is served). Requests of exempt routes, and all requests while
 * RATE_LIMIT_ENABLED is off, pass untouched.
 */
export function rateLimiter(config: () => Config, store: TokenBucketStore, onLimited: (route: string) => void) {
  store.start();
  return (req: IncomingMessage, res: ServerResponse, found: RouteMatch | undefined): boolean => {
    const c = config();
    if (!c.rateLimitEnabled || isExempt(found?.route, req.headers.accept)) return false;
    const t = store.take(rateLimitKey(clientAddress(req, c.trustForwardedHeaders)));
    const limit = c.rateLimitBurst;
    const resetSeconds = Math.max(0, Math.ceil((t.nextTokenAtMs - store.now()) / 1000));
    res.setHeader('X-RateLimit-Limit', String(limit));
    res.setHeader('X-RateLimit-Remaining', String(t.remaining));
    res.setHeader('X-RateLimit-Reset', String(Math.ceil(t.nextTokenAtMs / 1000)));
    res.setHeader('RateLimit-Policy', `${limit};w=60`);
    res.setHeader('RateLimit', `limit=${limit}, remaining=${t.remaining}, reset=${resetSeconds}`);
    if (t.allowed) return false;
    res.setHeader('Retry-After', String(resetSeconds));
    onLimited(routeLabel(found));
    req.resume(); // drain an unread body so the connection can carry the answer
    sendJson(res, 429, { error: 'rate_limited', message: 'Rate limit exceeded; retry after the number of seconds in Retry-After' });
    return true;
  };
}
