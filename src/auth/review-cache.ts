/**
 * A small cache for the API server's answers (TokenReview, SubjectAccessReview): entries live
 * `ttlMs`, at most `maxEntries` are kept (the least recently used goes first, counted), and
 * concurrent lookups of one key share a single request. A failed load is not cached: the next
 * request asks again.
 */

export interface ReviewCacheStats {
  readonly size: number;
  readonly hits: number;
  readonly misses: number;
  /** Lookups that joined a request already in flight for the same key. */
  readonly shared: number;
  /** Entries dropped to stay within maxEntries. */
  readonly evictions: number;
}

export class ReviewCache<V> implements ReviewCacheStats {
  private readonly entries = new Map<string, { value: V; expiresAtMs: number }>();
  private readonly inflight = new Map<string, Promise<V>>();
  hits = 0;
  misses = 0;
  shared = 0;
  evictions = 0;

  constructor(private readonly opts: { ttlMs: number; maxEntries: number; now: () => number }) {}

  get size(): number {
    return this.entries.size;
  }

  /** The cached value of `key`, else `load()`'s (cached when it resolves). */
  get(key: string, load: () => Promise<V>): Promise<V> {
    const now = this.opts.now();
    const e = this.entries.get(key);
    if (e !== undefined) {
      this.entries.delete(key);
      if (e.expiresAtMs > now) {
        this.entries.set(key, e); // most recently used last
        this.hits++;
        return Promise.resolve(e.value);
      }
    }
    const pending = this.inflight.get(key);
    if (pending !== undefined) {
      this.shared++;
      return pending;
    }
    this.misses++;
    const p = load().then(
      (value) => {
        this.inflight.delete(key);
        this.put(key, value);
        return value;
      },
      (err: unknown) => {
        this.inflight.delete(key);
        throw err;
      },
    );
    this.inflight.set(key, p);
    return p;
  }

  private put(key: string, value: V): void {
    if (this.opts.ttlMs <= 0 || this.opts.maxEntries <= 0) return;
    this.entries.delete(key);
    while (this.entries.size >= this.opts.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      this.evictions++;
    }
    this.entries.set(key, { value, expiresAtMs: this.opts.now() + this.opts.ttlMs });
  }
}
