/**
 * A list+watch loop that keeps a local cache of one kind of object, written on top of client-node's
 * Watch class instead of its informer (which is known to stop silently after connection resets and
 * to storm the API server with watch requests after reconnects).
 *
 * - List once, then watch from the list's resourceVersion; every event (and every BOOKMARK) moves
 *   the resume point, so a dropped connection resumes where it stopped without missing updates.
 * - 410 Gone (as a watch ERROR event or an HTTP status) means the resume point was compacted away:
 *   list again and diff against the cache, so consumers see only real changes.
 * - A watch that ends with an error, or ends quickly without delivering anything, counts as a
 *   failure: the next attempt waits an exponential, jittered backoff (no reconnect storms).
 * - A watch that delivers nothing (not even a bookmark) for `idleTimeoutMs` is presumed dead and
 *   restarted; the server also ends each watch after `timeoutSeconds`.
 * - Every `resyncMs` the loop lists again regardless (a safety net against anything missed).
 *
 * One loop per instance, never overlapping itself; `stop()` is idempotent.
 */

import type { Logger } from '../log/logger';
import { collectionPath, errorText, httpStatus, type KubeApi, type ListOptions, type ListResult, type ResourceRef } from './client';
import { Sleeper } from './sleeper';

/** What the loop needs from client-node's Watch (tests may pass the real one or a stub). */
export interface WatchLike {
  watch(path: string, query: Record<string, string | number | boolean | undefined>, callback: (phase: string, obj: unknown) => void, done: (err: unknown) => void): Promise<AbortController>;
}

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ListWatchTimings {
  /** Full relist period. */
  resyncMs: number;
  /** Server-side watch timeout asked for (randomised by up to 20 % so clients do not align). */
  watchTimeoutSeconds: number;
  /** No data for this long on an open watch → presume it dead and reconnect. */
  idleTimeoutMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** A watch that closes sooner than this without any event counts as a failure (storm guard). */
  minWatchMs: number;
}

export const DEFAULT_LIST_WATCH_TIMINGS: ListWatchTimings = {
  resyncMs: 5 * 60_000,
  watchTimeoutSeconds: 5 * 60,
  idleTimeoutMs: 6 * 60_000,
  backoffInitialMs: 500,
  backoffMaxMs: 30_000,
  minWatchMs: 1000,
};

export interface ListWatchOptions<T> {
  /** For logs: what is watched. */
  name: string;
  /** Collection path of the watch, e.g. `/api/v1/nodes`. */
  path: string;
  /** labelSelector / fieldSelector, applied to the watch (the list function must apply the same). */
  query?: Record<string, string | undefined>;
  list: () => Promise<ListResult>;
  watch: WatchLike;
  /** Turns a raw object (list item or watch object) into what the cache holds. */
  decode: (raw: Record<string, unknown>) => T;
  onChange?: (type: ChangeType, obj: T, old: T | undefined) => void;
  /** After every successful (re)list, once the cache reflects it. */
  onSynced?: () => void;
  /**
   * Most objects cached; an object that would go past it is not cached and not reported
   * (`stats.dropped` counts each refusal; a relist tries again). Default: no bound.
   */
  maxItems?: number;
  timings?: Partial<ListWatchTimings>;
  logger?: Logger;
  random?: () => number;
}

interface Meta {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

function keyOf(raw: Meta): string {
  const m = raw.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name ?? ''}` : (m.name ?? '');
}

/** Waits for `p` (its outcome ignored), at most `ms`. */
export async function settleWithin(p: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!p) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.then(() => undefined, () => undefined), new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  })]);
  clearTimeout(timer);
}

type WatchEnd = { kind: 'closed'; events: number; ms: number } | { kind: 'gone' } | { kind: 'error'; err: unknown } | { kind: 'idle' } | { kind: 'resync' } | { kind: 'stopped' };

export class ListWatch<T> {
  private readonly cache = new Map<string, { obj: T; rv: string }>();
  private readonly t: ListWatchTimings;
  private readonly random: () => number;
  private resourceVersion = '';
  private lastListMs = 0;
  private stopped = false;
  private running: Promise<void> | undefined;
  private readonly sleeper = new Sleeper();
  private endWatch: ((end: WatchEnd) => void) | undefined;
  private syncedOnce!: Promise<void>;
  private resolveSynced!: () => void;
  /** Counters for tests and self-metrics. */
  readonly stats = { lists: 0, watches: 0, failures: 0, gone: 0, events: 0, bookmarks: 0, dropped: 0 };

  constructor(private readonly opts: ListWatchOptions<T>) {
    this.t = { ...DEFAULT_LIST_WATCH_TIMINGS, ...opts.timings };
    this.random = opts.random ?? Math.random;
    this.syncedOnce = new Promise((r) => (this.resolveSynced = r));
  }

  /** Starts the loop (idempotent). Never rejects: failures are retried with backoff and logged. */
  start(): void {
    this.running ??= this.loop();
  }

  /** Resolves after the first successful list. */
  synced(): Promise<void> {
    return this.syncedOnce;
  }

  /** The cached objects. Owned by the cache: callers must not mutate them. */
  items(): T[] {
    return [...this.cache.values()].map((e) => e.obj);
  }

  get(key: string): T | undefined {
    return this.cache.get(key)?.obj;
  }

  /** The last resourceVersion seen (list, event or bookmark). */
  get lastResourceVersion(): string {
    return this.resourceVersion;
  }

  /** Stops the loop. Does not wait more than a second for a list call still in flight (it is abandoned). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.sleeper.stop();
    this.endWatch?.({ kind: 'stopped' });
    await settleWithin(this.running, 1000);
  }

  private async loop(): Promise<void> {
    let failures = 0;
    let needList = true;
    while (!this.stopped) {
      if (needList) {
        try {
          await this.relist();
          needList = false;
        } catch (err) {
          failures++;
          this.stats.failures++;
          this.opts.logger?.warn('kubernetes list failed; retrying', { watch: this.opts.name, error: errorText(err), attempt: failures });
          await this.sleeper.sleep(this.backoff(failures));
          continue;
        }
      }
      const end = await this.watchOnce();
      switch (end.kind) {
        case 'stopped':
          return;
        case 'resync':
          needList = true;
          break;
        case 'gone':
          // The resume point is gone: relist. Repeated 410s back off like failures.
          this.stats.gone++;
          needList = true;
          if (++failures > 1) await this.sleeper.sleep(this.backoff(failures - 1));
          break;
        case 'idle':
        case 'error':
          failures++;
          this.stats.failures++;
          if (failures === 1 || failures % 10 === 0) {
            this.opts.logger?.warn('kubernetes watch interrupted; resuming', { watch: this.opts.name, reason: end.kind === 'idle' ? 'no data' : errorText(end.err), resource_version: this.resourceVersion, attempt: failures });
          }
          await this.sleeper.sleep(this.backoff(failures));
          break;
        case 'closed':
          if (end.events === 0 && end.ms < this.t.minWatchMs) {
            failures++;
            this.stats.failures++;
            await this.sleeper.sleep(this.backoff(failures));
          } else {
            failures = 0;
          }
          break;
      }
    }
  }

  private backoff(failures: number): number {
    const ms = Math.min(this.t.backoffMaxMs, this.t.backoffInitialMs * 2 ** Math.max(0, failures - 1));
    return ms / 2 + (ms / 2) * this.random();
  }

  private async relist(): Promise<void> {
    const list = await this.opts.list();
    this.stats.lists++;
    this.lastListMs = Date.now();
    const changes: [ChangeType, T, T | undefined][] = [];
    const keys = new Set(list.items.map((raw) => keyOf(raw as Meta)));
    // Objects gone from the list make room first, so a full cache takes newcomers in.
    for (const [key, old] of [...this.cache]) {
      if (keys.has(key)) continue;
      this.cache.delete(key);
      changes.push(['DELETED', old.obj, old.obj]);
    }
    for (const raw of list.items) {
      const key = keyOf(raw as Meta);
      const rv = (raw as Meta).metadata?.resourceVersion ?? '';
      const old = this.cache.get(key);
      if (old && old.rv === rv) continue; // unchanged: no spurious update
      if (!old && this.full()) continue;
      const obj = this.opts.decode(raw);
      this.cache.set(key, { obj, rv });
      changes.push([old ? 'MODIFIED' : 'ADDED', obj, old?.obj]);
    }
    this.resourceVersion = list.resourceVersion;
    for (const [type, obj, old] of changes) this.emit(type, obj, old);
    this.resolveSynced();
    this.opts.onSynced?.();
  }

  /** At the bound: the newcomer is refused and counted. */
  private full(): boolean {
    if (this.opts.maxItems === undefined || this.cache.size < this.opts.maxItems) return false;
    this.stats.dropped++;
    return true;
  }

  private emit(type: ChangeType, obj: T, old: T | undefined): void {
    try {
      this.opts.onChange?.(type, obj, old);
    } catch (err) {
      this.opts.logger?.error('watch handler failed', { watch: this.opts.name, error: String(err) });
    }
  }

  private watchOnce(): Promise<WatchEnd> {
    if (this.stopped) return Promise.resolve({ kind: 'stopped' });
    this.stats.watches++;
    const started = Date.now();
    let events = 0;
    let finished = false;
    let abort: AbortController | undefined;
    let idleTimer: NodeJS.Timeout | undefined;
    let resyncTimer: NodeJS.Timeout | undefined;

    return new Promise<WatchEnd>((resolve) => {
      const finish = (end: WatchEnd) => {
        if (finished) return;
        finished = true;
        this.endWatch = undefined;
        clearTimeout(idleTimer);
        clearTimeout(resyncTimer);
        abort?.abort();
        resolve(end.kind === 'closed' ? { kind: 'closed', events, ms: Date.now() - started } : end);
      };
      this.endWatch = finish;
      const armIdle = () => {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => finish({ kind: 'idle' }), this.t.idleTimeoutMs);
        idleTimer.unref();
      };
      armIdle();
      resyncTimer = setTimeout(() => finish({ kind: 'resync' }), Math.max(0, this.lastListMs + this.t.resyncMs - Date.now()));
      resyncTimer.unref();

      const timeoutSeconds = Math.max(1, Math.round(this.t.watchTimeoutSeconds * (0.8 + 0.2 * this.random())));
      const query = { ...this.opts.query, resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds };
      const onEvent = (phase: string, raw: unknown) => {
        if (finished) return;
        armIdle();
        const obj = (raw ?? {}) as Record<string, unknown> & Meta;
        if (phase === 'ERROR') {
          const code = (obj as { code?: unknown }).code;
          finish(code === 410 ? { kind: 'gone' } : { kind: 'error', err: Object.assign(new Error(String((obj as { message?: unknown }).message ?? 'watch error')), { statusCode: code }) });
          return;
        }
        const rv = obj.metadata?.resourceVersion;
        if (phase === 'BOOKMARK') {
          this.stats.bookmarks++;
          if (rv) this.resourceVersion = rv;
          return;
        }
        if (phase !== 'ADDED' && phase !== 'MODIFIED' && phase !== 'DELETED') return;
        events++;
        this.stats.events++;
        if (rv) this.resourceVersion = rv;
        const key = keyOf(obj);
        const old = this.cache.get(key);
        if (phase === 'DELETED') {
          if (!old) return;
          this.cache.delete(key);
          this.emit('DELETED', old.obj, old.obj);
          return;
        }
        if (old && old.rv === rv) return;
        if (!old && this.full()) return;
        const decoded = this.opts.decode(obj);
        this.cache.set(key, { obj: decoded, rv: rv ?? '' });
        this.emit(old ? 'MODIFIED' : 'ADDED', decoded, old?.obj);
      };
      const onDone = (err: unknown) => {
        if (err === null || err === undefined) finish({ kind: 'closed', events, ms: 0 });
        else if (httpStatus(err) === 410) finish({ kind: 'gone' });
        else if ((err as { name?: string }).name === 'AbortError') finish({ kind: 'closed', events, ms: 0 });
        else finish({ kind: 'error', err });
      };
      this.opts.watch.watch(this.opts.path, query, onEvent, onDone).then(
        (controller) => {
          abort = controller;
          if (finished) controller.abort();
        },
        (err: unknown) => finish({ kind: 'error', err }),
      );
    });
  }
}

export interface ResourceWatchOptions<T> extends Omit<ListWatchOptions<T>, 'path' | 'list' | 'watch' | 'query'>, ListOptions {
  api: Pick<KubeApi, 'listAll' | 'watch' | 'metadataWatch'>;
  resource: ResourceRef;
  /** Page size of every (re)list; see KubeApi.listAll. */
  pageSize?: number;
}

/**
 * A ListWatch of one resource type with the same selectors on list and watch: e.g. the Nodes as
 * metadata only, the Pods of one node (`fieldSelector: spec.nodeName=<node>`, all namespaces), or
 * our own monitors (`labelSelector`). Lists are paged.
 */
export function watchResource<T>(o: ResourceWatchOptions<T>): ListWatch<T> {
  const { api, resource, namespace, labelSelector, fieldSelector, metadataOnly, pageSize, ...rest } = o;
  const ns = resource.namespaced ? namespace || undefined : undefined;
  return new ListWatch<T>({
    ...rest,
    path: collectionPath(resource, ns),
    query: { labelSelector, fieldSelector },
    list: () => api.listAll(resource, { namespace: ns, labelSelector, fieldSelector, metadataOnly, pageSize }),
    watch: metadataOnly ? api.metadataWatch : api.watch,
  });
}
