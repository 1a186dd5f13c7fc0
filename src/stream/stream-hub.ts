/**
 * One hub for every client of GET /metrics/stream (see README.md beside this file).
 *
 * The hub never reads a source itself: it subscribes to the agent's Hub, and on every accepted
 * batch it schedules a *flush*. A flush gives every connected client what changed since the
 * previous flush, as one event per distinct filter (clients with equal filters share the same
 * bytes: 1000 unfiltered clients cost one serialization per event). Timing:
 * - pushed (custom) batches: the flush runs at once, but never sooner than `coalesceMs` (50 ms)
 *   after the previous one, so a client gets at most one event per 50 ms however fast apps push;
 * - system batches (collectors, the shared Telegraf poller): at most one flush per
 *   PROMETHEUS_POLLER_INTERVAL_MS (read live) is caused by them;
 * - a new client joins at the next flush and gets its first snapshot there: at once while the
 *   join credit lasts (`joinBurst`, 3, flushes back to back; one comes back per `joinIntervalMs`,
 *   250 ms), then at most one joining flush per interval, so every client that connects within
 *   one interval of a burst shares one snapshot build (a connection burst costs a few builds, not
 *   one per client); a flush that serves more joiners than the credit spends all of it. The
 *   credit is for the few joins that come together in normal use: a page reloaded makes two (its
 *   old stream reconnects as the page goes, then the new page connects), and the second waited
 *   out the interval for its first data.
 *
 * What changed is read from the store itself (SeriesStore.updatedSince walks its recency list), so
 * the Hub subscriber costs nothing per sample: it only looks at the batch's origin.
 *
 * Each client's socket buffer is bounded (SSE_CLIENT_BUFFER_BYTES): a client that still has bytes
 * pending and would go past the bound with the next event is disconnected and counted. Events are
 * shared Buffers, so a slow client holds references, not copies, up to that bound.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Batch, HubSubscription } from '../hub/hub';
import { ValidationError } from '../model/names';
import type { Series } from '../store/series-store';
import { entry, entryHead, EVENT_TAIL, eventBytes, eventHead, HEARTBEAT, retryBytes, type EventKind } from './encode';
import { filterMatches, isUnfiltered, parseStreamQuery, type StreamFilter } from './filter';
import { EventJournal } from './journal';

/** What the stream reads of the store (SeriesStore fits). Series are read, never kept across flushes. */
export interface StreamStore {
  all(): IterableIterator<Series>;
  updatedSince(sinceMs: number): IterableIterator<Series>;
  expire(): number;
  readonly removedTotal: number;
}

/** Where accepted batches come from (the agent's Hub). */
/** What the stream needs from the hub: its subscriber port. */
export type BatchSource = HubSubscription;

/** Settings read at use time (the live config fits). */
export interface StreamSettings {
  readonly pollerIntervalMs: number;
  readonly retentionSeconds: number;
  readonly sseHeartbeatIntervalMs: number;
  readonly sseClientBufferBytes: number;
  readonly sseMaxClients: number;
}

export type DisconnectReason = 'client' | 'slow' | 'shutdown';

/** Self-metrics hooks; every call is cheap and must not throw. */
export interface StreamObserver {
  connected(): void;
  disconnected(seconds: number, reason: DisconnectReason): void;
  /** `events` events (counted once per client) and `bytes` bytes (events, heartbeats, retry hints) written. */
  sent(events: number, bytes: number): void;
  /** One event serialized (shared by every client of its filter). */
  serialized(kind: EventKind): void;
}

export interface StreamHubOptions {
  store: StreamStore;
  hub: BatchSource;
  settings: () => StreamSettings;
  observer?: StreamObserver;
  /** Wall clock, ms since the epoch: event timestamps and ids. Use the store's clock. Default Date.now. */
  now?: () => number;
  /** Monotonic ms for scheduling. Default performance.now. */
  monotonic?: () => number;
  /** The `retry:` hint sent at connection start. Default 1000 ms. */
  retryMs?: number;
  /** Gap between two flushes that serve joining clients (snapshot builds), once the credit is spent. Default 250 ms. */
  joinIntervalMs?: number;
  /** Joining flushes that may come back to back before joinIntervalMs paces them. Default 3. */
  joinBurst?: number;
  /** Smallest gap between two events to one client. Default 50 ms. */
  coalesceMs?: number;
  /** Heartbeat interval; default SSE_HEARTBEAT_INTERVAL_MS from the settings (15 s). */
  heartbeatMs?: number;
  /** Events remembered for Last-Event-ID resume. Default 16384 (≥ 13 min at the fastest pace). */
  journalSize?: number;
  /** Longest stretch of event building or writing before yielding to the event loop, ms. Default 5. */
  sliceMs?: number;
  /** Size of the pieces an event is built in, bytes (about; one entry may pass it). Default 64 KiB. */
  chunkBytes?: number;
  /** Called if a flush fails unexpectedly (a bug): the stream keeps running. */
  onError?: (err: unknown) => void;
}

/** Thrown by `open` for a request that cannot become a stream: the route maps it to its status. */
export class StreamRefused extends Error {
  constructor(readonly status: 400 | 503, readonly code: string, message: string, readonly retryAfterSeconds?: number) {
    super(message);
  }
}

export interface StreamHubStats {
  clients: number;
  /** Distinct filters in use (= events serialized per flush at most, plus first events). */
  groups: number;
  /** Bytes queued in clients' sockets and response buffers right now. */
  bufferedBytes: number;
  eventsSent: number;
  bytesSent: number;
  eventsSerialized: number;
  slowDisconnects: number;
  flushes: number;
  /** Times event building or writing yielded to the event loop (large snapshots, many clients). */
  serializeYields: number;
  lastEventId: number;
}

class Client {
  closed = false;
  eventsSent = 0;
  bytesSent = 0;
  constructor(
    readonly res: ServerResponse,
    readonly group: Group,
    readonly openedAtMono: number,
    /** Last-Event-ID given at connection; cleared once the first event is out. */
    public resumeFrom: number | undefined,
  ) {}
}

class Group {
  /** Clients that got their first event and now follow the flushes. */
  readonly active = new Set<Client>();
  /** Clients waiting for their first event (at the next flush). */
  joining: Client[] = [];
  /** A flush is serving this group (it may be awaiting a snapshot build). */
  flushing = false;
  constructor(readonly filter: StreamFilter) {}
  get size(): number {
    return this.active.size + this.joining.length;
  }
}

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache',
  'X-Accel-Buffering': 'no',
  // A stream ends only when one side goes away; its socket is not reused for other requests.
  Connection: 'close',
};

const LAST_EVENT_ID = /^\s*(\d{1,16})\s*$/;

export class StreamHub {
  private readonly store: StreamStore;
  private readonly settings: () => StreamSettings;
  private readonly observer: StreamObserver | undefined;
  private readonly now: () => number;
  private readonly mono: () => number;
  private readonly coalesceMs: number;
  private readonly retry: Buffer;
  private readonly journal: EventJournal;

  private readonly groups = new Map<string, Group>();
  private readonly clients = new Set<Client>();
  private unsubscribe: (() => void) | undefined;
  private started = false;
  private closing = false;

  private flushTimer: { cancel(): void } | undefined;
  private flushAt = Infinity;
  private lastFlushMono = -Infinity;
  /** Joining flushes allowed at once (at `joinCreditAt`); one more each joinIntervalMs, up to joinBurst. */
  private joinCredit: number;
  private joinCreditAt = 0;
  private readonly joinIntervalMs: number;
  private readonly joinBurst: number;
  private lastSystemFlushMono = -Infinity;
  private systemPending = false;
  /** Wall time of the last flush: changes since then go into the next one. */
  private lastMarkWall: number | undefined;
  private lastRemoved = 0;
  private lastId = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;

  private readonly counters = { eventsSent: 0, bytesSent: 0, eventsSerialized: 0, slowDisconnects: 0, flushes: 0, serializeYields: 0 };
  private readonly sliceMs: number;
  private readonly chunkBytes: number;
  private flushing = false;
  private flushAgain = false;

  constructor(private readonly opts: StreamHubOptions) {
    this.store = opts.store;
    this.settings = opts.settings;
    this.observer = opts.observer;
    this.now = opts.now ?? Date.now;
    this.mono = opts.monotonic ?? (() => performance.now());
    this.coalesceMs = opts.coalesceMs ?? 50;
    if (!(this.coalesceMs >= 0)) throw new RangeError('coalesceMs must be ≥ 0');
    this.joinIntervalMs = opts.joinIntervalMs ?? 250;
    if (!(this.joinIntervalMs >= 0)) throw new RangeError('joinIntervalMs must be ≥ 0');
    this.joinBurst = opts.joinBurst ?? 3;
    if (!(Number.isInteger(this.joinBurst) && this.joinBurst >= 1)) throw new RangeError('joinBurst must be an integer ≥ 1');
    this.joinCredit = this.joinBurst;
    this.retry = retryBytes(opts.retryMs ?? 1000);
    this.journal = new EventJournal(opts.journalSize ?? 16_384);
    this.sliceMs = opts.sliceMs ?? 5;
    this.chunkBytes = opts.chunkBytes ?? 64 * 1024;
    if (!(this.sliceMs >= 0) || !(this.chunkBytes >= 1)) throw new RangeError('sliceMs must be ≥ 0 and chunkBytes ≥ 1');
  }

  /** Subscribes to the hub and starts the heartbeat. Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.closing = false;
    this.unsubscribe = this.opts.hub.subscribe(this.onBatch);
    this.scheduleHeartbeat();
  }

  /**
   * Ends every open stream (clients reconnect after their retry delay, to this agent's successor)
   * and refuses new ones with 503. Call it before closing the HTTP servers: open streams would
   * otherwise hold the shutdown until its deadline.
   */
  closeClients(): void {
    this.closing = true;
    for (const c of [...this.clients]) this.drop(c, 'shutdown');
  }

  /** Unsubscribes, stops the timers and ends every stream. Idempotent. */
  async stop(): Promise<void> {
    this.closeClients();
    this.started = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.cancelFlush();
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  stats(): StreamHubStats {
    let buffered = 0;
    for (const c of this.clients) buffered += c.res.writableLength;
    return { clients: this.clients.size, groups: this.groups.size, bufferedBytes: buffered, ...this.counters, lastEventId: this.lastId };
  }

  /**
   * Turns a request into a stream. Throws StreamRefused (400 for a bad filter, 503 when the client
   * limit is reached or the agent is shutting down) before anything is written. Ownership: the hub
   * owns `res` from here on and ends it; `req` is only read.
   */
  open(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
    let filter: StreamFilter;
    try {
      filter = parseStreamQuery(query);
    } catch (e) {
      if (e instanceof ValidationError) throw new StreamRefused(400, 'bad_request', e.message);
      throw e;
    }
    if (this.closing || !this.started) throw new StreamRefused(503, 'shutting_down', 'the agent is shutting down; reconnect shortly', 1);
    const max = this.settings().sseMaxClients;
    if (this.clients.size >= max) {
      throw new StreamRefused(503, 'too_many_streams', `this agent already serves ${this.clients.size} streams (SSE_MAX_CLIENTS=${max}); retry later`, 5);
    }

    res.writeHead(200, SSE_HEADERS);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.socket?.setNoDelay(true);
    res.write(this.retry);

    const header = req.headers['last-event-id'];
    const m = typeof header === 'string' ? LAST_EVENT_ID.exec(header) : null;
    let group = this.groups.get(filter.key);
    if (group === undefined) {
      group = new Group(filter);
      this.groups.set(filter.key, group);
    }
    const c = new Client(res, group, this.mono(), m ? Number(m[1]) : undefined);
    c.bytesSent += this.retry.length;
    this.counters.bytesSent += this.retry.length;
    this.observer?.sent(0, this.retry.length);
    group.joining.push(c);
    this.clients.add(c);
    this.observer?.connected();
    res.on('close', () => {
      if (!c.closed) this.drop(c, 'client');
    });
    const now = this.mono();
    const credit = this.joinCreditNow(now);
    this.schedule(Math.max(now, this.lastFlushMono + this.coalesceMs, credit >= 1 ? now : now + (1 - credit) * this.joinIntervalMs));
  }

  /** The join credit at `now`: what was left, plus one per joinIntervalMs since, up to joinBurst. */
  private joinCreditNow(now: number): number {
    if (this.joinIntervalMs === 0) return this.joinBurst;
    return Math.min(this.joinBurst, this.joinCredit + (now - this.joinCreditAt) / this.joinIntervalMs);
  }

  // ------------------------------------------------------------------ scheduling

  private readonly onBatch = (batch: Batch): void => {
    if (this.clients.size === 0) return;
    const now = this.mono();
    const earliest = this.lastFlushMono + this.coalesceMs;
    if (batch.origin === 'custom') {
      this.schedule(Math.max(now, earliest));
    } else {
      this.systemPending = true;
      this.schedule(Math.max(now, earliest, this.lastSystemFlushMono + this.settings().pollerIntervalMs));
    }
  };

  /** Makes sure a flush runs at `at` (monotonic ms) or sooner. */
  private schedule(at: number): void {
    if (!this.started) return;
    if (this.flushTimer !== undefined && this.flushAt <= at) return;
    this.cancelFlush();
    this.flushAt = at;
    const delay = at - this.mono();
    if (delay <= 0) {
      // After the current I/O callbacks: batches accepted in the same turn share the flush.
      const h = setImmediate(() => this.flush());
      this.flushTimer = { cancel: () => clearImmediate(h) };
    } else {
      const t = setTimeout(() => this.flush(), Math.ceil(delay));
      t.unref();
      this.flushTimer = { cancel: () => clearTimeout(t) };
    }
  }

  private cancelFlush(): void {
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
    this.flushAt = Infinity;
  }

  private scheduleHeartbeat(): void {
    const ms = this.opts.heartbeatMs ?? this.settings().sseHeartbeatIntervalMs;
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeat();
      if (this.started) this.scheduleHeartbeat();
    }, ms);
    this.heartbeatTimer.unref();
  }

  private heartbeat(): void {
    let bytes = 0;
    for (const c of [...this.clients]) if (this.write(c, HEARTBEAT_EVENT)) bytes += HEARTBEAT.length;
    if (bytes > 0) this.observer?.sent(0, bytes);
  }

  // ------------------------------------------------------------------ flushing

  private nextId(wall: number): number {
    this.lastId = Math.max(this.lastId + 1, Math.floor(wall));
    return this.lastId;
  }

  /** Timer callback: runs a flush, or marks one due when a flush is still running (they never overlap). */
  private flush(): void {
    this.flushTimer = undefined;
    this.flushAt = Infinity;
    if (!this.started) return;
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    this.flushing = true;
    this.runFlush()
      .catch((err: unknown) => this.opts.onError?.(err))
      .finally(() => {
        this.flushing = false;
        if (this.flushAgain && this.started) {
          this.flushAgain = false;
          this.schedule(Math.max(this.mono(), this.lastFlushMono + this.coalesceMs));
        }
      });
  }

  /**
   * One flush. What it reads of the store's recency list is read at once (that walk must not span
   * writes); snapshots are built from `store.all()` in slices of at most `sliceMs`, yielding to the
   * event loop in between, so a 20k-series snapshot never holds /health up. A series written while
   * a snapshot is being built may show its old or its new value there; the next flush's delta (or
   * snapshot) carries every write since this flush began, so no client misses one.
   */
  private async runFlush(): Promise<void> {
    const mono = this.mono();
    this.lastFlushMono = mono;
    if (this.systemPending) {
      this.systemPending = false;
      this.lastSystemFlushMono = mono;
    }
    if (this.clients.size === 0) return;
    this.counters.flushes++;
    let joiners = 0;
    for (const g of this.groups.values()) joiners += g.joining.length;
    if (joiners > 0) {
      // A flush caused by data serves joiners too and spends credit all the same (never below 0).
      // One that serves more joiners than the whole credit is a burst: pace the rest from here.
      this.joinCredit = joiners > this.joinBurst ? 0 : Math.max(0, this.joinCreditNow(mono) - 1);
      this.joinCreditAt = mono;
    }

    const wall = this.now();
    this.store.expire();
    const removed = this.store.removedTotal;
    const removalsChanged = removed !== this.lastRemoved;
    this.lastRemoved = removed;
    const id = this.nextId(wall);
    this.journal.record(id, removed);

    const since = this.lastMarkWall;
    this.lastMarkWall = wall;
    // A clock that stepped back makes the recency walk unreliable: treat everything as changed.
    const changed = since === undefined || wall < since ? [...this.store.all()] : [...this.store.updatedSince(since)];

    for (const g of [...this.groups.values()]) {
      if (!this.started) return;
      await this.flushGroup(g, id, wall, changed, removalsChanged);
    }
  }

  private async flushGroup(g: Group, id: number, wall: number, changed: readonly Series[], removalsChanged: boolean): Promise<void> {
    const f = g.filter;
    const joining = g.joining.filter((c) => !c.closed);
    g.joining = [];
    g.flushing = true;
    let events = 0;
    let bytes = 0;
    const send = (c: Client, ev: StreamEvent): void => {
      if (this.write(c, ev)) {
        c.eventsSent++;
        events++;
        bytes += ev.bytes;
      }
    };
    const replays = new Map<number, StreamEvent | null>();
    const replayFor = (from: number): StreamEvent | null => {
      let r = replays.get(from);
      if (r === undefined) {
        const entries = this.replayEntries(from, f, wall);
        r = entries === null ? null : this.event(id, 'replay', entries);
        replays.set(from, r);
      }
      return r;
    };

    try {
      if (!f.delta) {
        // Full mode: every event is a snapshot of every matching series.
        const relevant = joining.length > 0 || (g.active.size > 0 && (removalsChanged || anyMatch(changed, f)));
        if (relevant) {
          const snap = await this.buildEvent(id, 'snapshot', this.store.all(), f);
          for (const c of joining) {
            if (c.resumeFrom !== undefined) {
              const rep = replayFor(c.resumeFrom);
              if (rep) send(c, rep);
            }
            send(c, snap);
          }
          await this.sendAll(g.active, snap, send);
        }
      } else {
        if (g.active.size > 0) {
          const ev = await this.buildEvent(id, 'delta', changed, f);
          if (ev.entries > 0) await this.sendAll(g.active, ev, send);
        }
        let snap: StreamEvent | undefined;
        for (const c of joining) {
          const rep = c.resumeFrom !== undefined ? replayFor(c.resumeFrom) : null;
          if (rep) {
            send(c, rep);
          } else {
            snap ??= await this.buildEvent(id, 'snapshot', this.store.all(), f);
            send(c, snap);
          }
        }
      }
    } finally {
      g.flushing = false;
      for (const c of joining) {
        c.resumeFrom = undefined;
        if (!c.closed) g.active.add(c);
      }
      // Clients that left while the group was being served may have emptied it.
      if (g.size === 0 && this.groups.get(f.key) === g) this.groups.delete(f.key);
      if (events > 0 || bytes > 0) {
        this.counters.eventsSent += events;
        this.counters.bytesSent += bytes;
        this.observer?.sent(events, bytes);
      }
    }
  }

  /**
   * One event from the series that match `f`, built in bounded steps: entries are gathered into
   * pieces of about `chunkBytes`, and every `sliceMs` of work the build yields to the event loop.
   * Counted once however many clients get it (the serialization shared by a filter's clients).
   */
  private async buildEvent(id: number, kind: EventKind, series: Iterable<Series>, f: StreamFilter): Promise<StreamEvent> {
    this.counters.eventsSerialized++;
    this.observer?.serialized(kind);
    const all = isUnfiltered(f);
    const pieces: Buffer[] = [];
    let parts: string[] = [eventHead(id, id, kind)];
    let chars = parts[0].length;
    let entries = 0;
    let sliceStart = this.mono();
    let n = 0;
    for (const s of series) {
      if ((++n & 255) === 0 && this.mono() - sliceStart >= this.sliceMs) {
        this.counters.serializeYields++;
        await yieldToEventLoop();
        sliceStart = this.mono();
      }
      if (!all && !filterMatches(f, s)) continue;
      const e = (entries > 0 ? ',' : '') + entry(entryHead(s.name, s.labels), s.value, s.timestampMs);
      entries++;
      parts.push(e);
      chars += e.length;
      if (chars >= this.chunkBytes) {
        pieces.push(Buffer.from(parts.join(''), 'utf8'));
        parts = [];
        chars = 0;
      }
    }
    parts.push(EVENT_TAIL);
    pieces.push(Buffer.from(parts.join(''), 'utf8'));
    return makeEvent(pieces, entries);
  }

  /** A small event built in one go (replays: bounded by what one client missed). */
  private event(id: number, kind: EventKind, entries: readonly string[]): StreamEvent {
    this.counters.eventsSerialized++;
    this.observer?.serialized(kind);
    return makeEvent([eventBytes(id, id, kind, entries)], entries.length);
  }

  /** Writes `ev` to every client in `clients`, yielding to the event loop every `sliceMs`. */
  private async sendAll(clients: Iterable<Client>, ev: StreamEvent, send: (c: Client, ev: StreamEvent) => void): Promise<void> {
    let sliceStart = this.mono();
    for (const c of [...clients]) {
      send(c, ev);
      if (this.mono() - sliceStart >= this.sliceMs) {
        this.counters.serializeYields++;
        await yieldToEventLoop();
        sliceStart = this.mono();
      }
    }
  }

  /**
   * What a client that last saw event `from` missed, or null when that cannot be told exactly and
   * it must get a fresh snapshot instead. The rule (README.md "Resume"): `from` must be an event
   * this process sent and still remembers, no series may have been removed from the store since
   * (expiry, eviction, DELETE), it must lie within the retention window, and every series written
   * since must still hold in its history all its points newer than `from`. Then the replay
   * holds, for each matching series written since `from`, its points newer than `from` (oldest
   * first), or its latest point when its sample timestamps are not newer (pushed with old times).
   */
  private replayEntries(from: number, f: StreamFilter, wall: number): string[] | null {
    if (from > wall) return null;
    const removedThen = this.journal.removalsAt(from);
    if (removedThen === undefined || removedThen !== this.store.removedTotal) return null;
    if (wall - from > this.settings().retentionSeconds * 1000) return null;
    const out: string[] = [];
    for (const s of this.store.updatedSince(from)) {
      if (!filterMatches(f, s)) continue;
      const head = entryHead(s.name, s.labels);
      const h = s.history;
      if (h !== null && h.trimmed && h.firstTime > from) return null; // points since `from` were trimmed away
      let any = false;
      h?.forEach(from, (t, v) => {
        if (t > from) {
          out.push(entry(head, v, t));
          any = true;
        }
      });
      if (s.timestampMs > from || !any) out.push(entry(head, s.value, s.timestampMs));
    }
    return out;
  }

  // ------------------------------------------------------------------ clients

  /** Writes within the client's buffer bound; a client past it is disconnected. True when written. */
  private write(c: Client, ev: StreamEvent): boolean {
    if (c.closed) return false;
    const res = c.res;
    const pending = res.writableLength;
    if (pending > 0 && pending + ev.bytes > this.settings().sseClientBufferBytes) {
      this.drop(c, 'slow');
      return false;
    }
    if (ev.pieces.length === 1) {
      res.write(ev.pieces[0]);
    } else {
      res.cork();
      for (const p of ev.pieces) res.write(p);
      res.uncork();
    }
    c.bytesSent += ev.bytes;
    return true;
  }

  private drop(c: Client, reason: DisconnectReason): void {
    if (c.closed) return;
    c.closed = true;
    this.clients.delete(c);
    const g = c.group;
    g.active.delete(c);
    // A joining client is skipped at the next flush (it is closed); an empty group goes now,
    // unless a flush is serving it (that flush removes it when it is done).
    if (!g.flushing && g.active.size === 0 && g.joining.every((j) => j.closed) && this.groups.get(g.filter.key) === g) this.groups.delete(g.filter.key);
    if (reason === 'slow') {
      this.counters.slowDisconnects++;
      // Its buffer cannot drain: let go of it (and of the shared buffers it references) now.
      c.res.destroy();
    } else if (reason === 'shutdown') {
      c.res.end();
    }
    this.observer?.disconnected((this.mono() - c.openedAtMono) / 1000, reason);
  }
}

/** An event ready for the socket: one or more pieces written back to back, shared by every client that gets it. */
interface StreamEvent {
  readonly pieces: readonly Buffer[];
  readonly bytes: number;
  /** Series entries in it. */
  readonly entries: number;
}

function makeEvent(pieces: Buffer[], entries: number): StreamEvent {
  let bytes = 0;
  for (const p of pieces) bytes += p.length;
  return { pieces, bytes, entries };
}

const HEARTBEAT_EVENT = makeEvent([HEARTBEAT], 0);

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function anyMatch(series: readonly Series[], f: StreamFilter): boolean {
  if (isUnfiltered(f)) return series.length > 0;
  for (const s of series) if (filterMatches(f, s)) return true;
  return false;
}
