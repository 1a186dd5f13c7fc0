/**
 * A keyed work queue with the semantics of client-go's rate-limited workqueue, for reconcilers:
 *
 * - De-duplication: a key waiting in the queue is queued once however often it is added.
 * - A key is never handled twice at once: adding a key while its handler runs marks it dirty, and
 *   it is queued again once the handler returns (so the latest state is always seen).
 * - Per-key exponential backoff: a handler that throws re-queues its key after
 *   `baseDelayMs * 2^(failures-1)`, capped at `maxDelayMs`; a success forgets the failures.
 * - Delayed adds (`addAfter`) keep only the earliest pending time per key.
 *
 * Keys are strings (e.g. `namespace/name`). Handlers run one at a time per key and at most
 * `concurrency` at once. Timers are unref'd; `shutDown()` drops what is queued and waits for the
 * handlers in flight.
 */

export interface WorkQueueOptions {
  /** First retry delay after a failure. */
  baseDelayMs?: number;
  /** Longest retry delay. */
  maxDelayMs?: number;
  /** Handlers running at once (different keys). */
  concurrency?: number;
}

export type WorkHandler = (key: string) => Promise<void>;

export interface WorkQueueStats {
  /** add() calls, including those that found the key already queued. */
  adds: number;
  /** add() calls that found the key already queued or dirty (coalesced). */
  coalesced: number;
  /** Handler runs, and those that threw. */
  processed: number;
  failures: number;
  /** Keys re-queued with backoff after a failure. */
  retries: number;
}

export class WorkQueue {
  private readonly queue = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failuresByKey = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly concurrency: number;
  private handler: WorkHandler | undefined;
  private readonly running = new Set<Promise<void>>();
  private idleWaiters: (() => void)[] = [];
  private down = false;
  readonly stats: WorkQueueStats = { adds: 0, coalesced: 0, processed: 0, failures: 0, retries: 0 };

  constructor(opts: WorkQueueOptions = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.concurrency = Math.max(1, opts.concurrency ?? 1);
    if (!(this.baseDelayMs > 0 && this.maxDelayMs >= this.baseDelayMs)) throw new Error('work queue: need 0 < baseDelayMs <= maxDelayMs');
  }

  /** Starts handling keys with `handler`; an error it throws schedules a retry of that key. */
  start(handler: WorkHandler): void {
    if (this.handler) throw new Error('work queue already started');
    this.handler = handler;
    this.pump();
  }

  /** Queues `key` now (no-op if it is already waiting; marks it dirty if it is being handled). */
  add(key: string): void {
    if (this.down) return;
    this.stats.adds++;
    const pending = this.delayed.get(key);
    if (pending) {
      clearTimeout(pending.timer);
      this.delayed.delete(key);
    }
    if (this.processing.has(key)) {
      if (this.dirty.has(key)) this.stats.coalesced++;
      this.dirty.add(key);
      return;
    }
    if (this.queue.has(key)) {
      this.stats.coalesced++;
      return;
    }
    this.queue.add(key);
    this.pump();
  }

  /** Queues `key` after `ms` (an earlier pending time for the same key wins). */
  addAfter(key: string, ms: number): void {
    if (this.down) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.delayed.set(key, { at, timer });
  }

  /** Queues `key` after its backoff delay and counts a failure for it. */
  addRateLimited(key: string): void {
    const n = (this.failuresByKey.get(key) ?? 0) + 1;
    this.failuresByKey.set(key, n);
    this.stats.retries++;
    this.addAfter(key, this.backoffMs(n));
  }

  /** The delay after the n-th consecutive failure. */
  backoffMs(failures: number): number {
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(Math.max(0, failures - 1), 40));
  }

  /** Clears the failure count of `key` (after a success). */
  forget(key: string): void {
    this.failuresByKey.delete(key);
  }

  /** Consecutive failures recorded for `key`. */
  failures(key: string): number {
    return this.failuresByKey.get(key) ?? 0;
  }

  /** Keys waiting now (not counting delayed ones or those being handled). */
  get length(): number {
    return this.queue.size;
  }

  /** Keys waiting, delayed or being handled. */
  get pending(): number {
    return this.queue.size + this.delayed.size + this.processing.size;
  }

  /** Resolves when nothing is queued or being handled (delayed retries do not count). */
  idle(): Promise<void> {
    if (this.queue.size === 0 && this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking keys; drops queued and delayed ones; waits for handlers in flight. Idempotent. */
  async shutDown(): Promise<void> {
    this.down = true;
    this.queue.clear();
    this.dirty.clear();
    for (const d of this.delayed.values()) clearTimeout(d.timer);
    this.delayed.clear();
    await Promise.all([...this.running]);
    this.notifyIdle();
  }

  private pump(): void {
    if (!this.handler || this.down) return;
    while (this.processing.size < this.concurrency && this.queue.size > 0) {
      const key = this.queue.values().next().value as string;
      this.queue.delete(key);
      this.processing.add(key);
      const run = this.runOne(key);
      this.running.add(run);
      void run.finally(() => this.running.delete(run));
    }
  }

  private async runOne(key: string): Promise<void> {
    this.stats.processed++;
    try {
      await this.handler!(key);
      this.forget(key);
    } catch {
      // The handler reports its own errors; the queue only retries.
      this.stats.failures++;
      if (!this.down) this.addRateLimited(key);
    } finally {
      this.processing.delete(key);
      if (this.dirty.delete(key) && !this.down) {
        this.queue.add(key);
      }
      this.pump();
      this.notifyIdle();
    }
  }

  private notifyIdle(): void {
    if (this.queue.size > 0 || this.processing.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
