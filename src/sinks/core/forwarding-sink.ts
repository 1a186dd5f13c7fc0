/**
 * The machinery every sink shares: take batches from the hub, encode them into chunks (debounced
 * into windows), keep them in a byte-bounded queue (or the on-disk spool), and send them one
 * request at a time with retry, backoff and honest counting. A concrete sink only supplies a codec,
 * a URL and headers (see `SinkWire`). README.md beside this file describes the behaviour; the
 * comments here say how.
 *
 * Lifecycle: the constructor validates; `start()` subscribes to the hub and opens the spool (and
 * replays it); `stop()` unsubscribes, flushes within a deadline and spools or counts what is left.
 * `stop()` is idempotent.
 *
 * Accounting: every accepted sample ends up in exactly one of sent, dropped (by reason), or still
 * buffered (`queueSamples` in memory, `spoolSamples` on disk) — see `SinkStats`.
 */

import type { HubSubscription } from '../../hub/hub';
import type { Logger } from '../../log/logger';
import type { Origin, Sample } from '../../model/sample';
import { DEFAULT_BACKOFF, parseRetryAfterMs, retryDelayMs, type BackoffPolicy } from './backoff';
import { ChunkQueue, type Chunk } from './chunk-queue';
import type { ChunkCodec } from './codec';
import { LogThrottle } from './log-throttle';
import { Spool, type SpoolRead } from '../spool/spool';
import { VERSION } from '../../version';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Why samples were dropped. */
export type DropReason = 'queue_full' | 'rejected' | 'shutdown' | 'spool_full' | 'unencodable';
export const DROP_REASONS: readonly DropReason[] = ['queue_full', 'rejected', 'shutdown', 'spool_full', 'unencodable'];

/**
 * What a sink needs from the hub: its subscriber port. The sink's subscriber returns a promise
 * only when it spools: it settles (never rejects) once the batch is on disk, and the hub hands it
 * to the route, which answers after it.
 */
export type HubLike = HubSubscription;

/** Whether the spool is in use: off (no FORWARD_SPOOL_DIR), ok, or failed (memory only since; see spoolError). */
export type SpoolState = 'off' | 'ok' | 'failed';

/** The subset of the WHATWG fetch a sink uses; the global `fetch` fits. */
export type FetchLike = (url: string, init: {
  method: string;
  headers: Record<string, string>;
  body: Uint8Array;
  signal: AbortSignal;
}) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

/** What makes one sink type: its name, target, wire format and which samples it wants. */
export interface SinkWire {
  /** Short name: names the spool folder, log lines and metric labels (`telegraf`, `remote-write`). */
  name: string;
  /** Full request URL. */
  url: string;
  /** Request headers (Content-Type, auth, …); User-Agent is added. */
  headers: Record<string, string>;
  codec: ChunkCodec;
  /** Payload (queued chunks concatenated) → request body, e.g. compression. Default: as is. */
  encodeBody?: (payload: Buffer) => Buffer;
  /** Origins forwarded; samples of other origins are ignored (not counted). */
  origins: readonly Origin[];
}

/** Settings shared by every sink; sizes in bytes, durations in ms. */
export interface SinkOptions {
  hub: HubLike;
  logger: Logger;
  /** Wall clock, ms since the epoch: timestamps for samples without one, lastSuccess. Default Date.now. */
  now?: () => number;
  /** Monotonic clock, ms, for debounce and deadlines. Default performance.now. */
  monotonicNow?: () => number;
  /** HTTP client. Default: the global fetch. */
  fetch?: FetchLike;
  /** Debounce window, read at every use (FILE_PERSIST_DEBOUNCE_MS is live). Default 100. */
  debounceMs?: () => number;
  /** Bound on the in-memory queue of encoded chunks. Default 16 MiB. */
  queueMaxBytes?: number;
  /** Cap on one request's payload (before compression). Default 1 MiB. */
  batchMaxBytes?: number;
  /** Per-request timeout, response body included. Default 5000. */
  timeoutMs?: number;
  /** Spool folder of this sink (`<FORWARD_SPOOL_DIR>/<name>`); '' or absent: no spool. */
  spoolDir?: string;
  /** Bound on this sink's spool files. Default 256 MiB. */
  spoolMaxBytes?: number;
  /** Segment file size of the spool. Default: see Spool. */
  spoolSegmentMaxBytes?: number;
  /** Retry timing. Default DEFAULT_BACKOFF (250 ms doubling to 30 s, Retry-After up to 5 min). */
  backoff?: Partial<BackoffPolicy>;
  /** Random source in [0,1) for the jitter. Default Math.random. */
  random?: () => number;
  /** Default deadline of stop(). Default 5000. */
  stopTimeoutMs?: number;
  /** Interval of the repeated-event log lines (queue overflow, rejections, still down). Default 60 s. */
  logIntervalMs?: number;
}

/** A snapshot of a sink's self-metrics: counters end in Total, the rest are gauges. */
export interface SinkStats {
  name: string;
  /** Target URL with credentials removed. */
  url: string;
  /** Samples taken from the hub (after the origin filter). */
  acceptedSamplesTotal: number;
  /** Samples found in the spool at start (sent later like any other). */
  spoolRecoveredSamplesTotal: number;
  sentSamplesTotal: number;
  /** Request body bytes of successful requests (compressed where the format compresses). */
  sentBytesTotal: number;
  sentRequestsTotal: number;
  /** Requests that failed: network error, timeout, non-2xx (rejected ones included). */
  failedRequestsTotal: number;
  /** Requests that repeated an earlier failed one. */
  retriesTotal: number;
  droppedSamplesTotal: Record<DropReason, number>;
  /** Spool records skipped for a failed length or checksum check (torn writes). */
  spoolCorruptRecordsTotal: number;
  /** Encoded bytes in memory: queue + open chunk + in-flight batch (when it came from memory). */
  queueBytes: number;
  /** Samples in memory: as queueBytes, plus those of a spooled batch in flight that are no longer on disk. */
  queueSamples: number;
  /** Spool file bytes and the samples in it not yet sent (an in-flight spool batch included). */
  spoolBytes: number;
  spoolSamples: number;
  /** Wall-clock time of the last successful request, seconds since the epoch; 0 = never. */
  lastSuccessSeconds: number;
  /** 1 until a request fails, 0 after a failure until a request succeeds or is rejected. */
  up: 0 | 1;
  /** `failed`: the spool could not be created, written or synced; the sink forwards from memory since. */
  spoolState: SpoolState;
  /** Why the spool failed ('' while it works or is off). */
  spoolError: string;
  /** fsync calls of the spool's group commit (a counter). */
  spoolSyncsTotal: number;
}

interface Batch {
  chunks: Chunk[];
  bytes: number;
  samples: number;
  /** Set when the batch was read from the spool. */
  spool?: SpoolRead;
}

type Outcome =
  | { kind: 'ok'; bodyBytes: number }
  | { kind: 'rejected'; status: number; detail: string }
  | { kind: 'retry'; status?: number; retryAfterMs?: number; detail: string };

interface IdleWaiter {
  resolve: (idle: boolean) => void;
  timer: NodeJS.Timeout;
}

export class ForwardingSink {
  readonly name: string;
  readonly url: string;
  protected readonly logger: Logger;
  private readonly wire: SinkWire;
  private readonly hub: HubLike;
  private readonly origins: ReadonlySet<Origin>;
  private readonly now: () => number;
  private readonly mono: () => number;
  private readonly fetchFn: FetchLike;
  private readonly debounceMs: () => number;
  private readonly batchCapBytes: number;
  private readonly timeoutMs: number;
  private readonly backoff: BackoffPolicy;
  private readonly random: () => number;
  private readonly stopTimeoutMs: number;
  private readonly headers: Record<string, string>;
  private readonly throttle: LogThrottle;
  private readonly queue: ChunkQueue;
  private readonly spool: Spool | undefined;
  /** The spool takes new data: write-ahead, every chunk goes to disk before it is acknowledged. */
  private spoolWritable = false;
  private spoolError = '';
  /** Batches accepted in this turn of the event loop wait for one commit (append + fsync). */
  private commitWaiter: { promise: Promise<void>; resolve: () => void } | undefined;
  private commitImmediate: NodeJS.Immediate | undefined;

  // lifecycle
  private started = false;
  private accepting = false;
  private unsubscribe: (() => void) | undefined;
  private stopPromise: Promise<void> | undefined;
  private stopping = false;
  private deadline = Infinity;
  private aborted = false;

  // debounce
  private lastFlushAt = -Infinity;
  private flushTimeout: NodeJS.Timeout | undefined;
  private flushImmediate: NodeJS.Immediate | undefined;

  // sender
  private pumpPromise: Promise<void> | undefined;
  private rekick = false;
  private current: Batch | undefined;
  private attempt = 0;
  private retrying = false;
  private inflight: AbortController | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;
  private sleepResolve: (() => void) | undefined;
  private readonly idleWaiters = new Set<IdleWaiter>();

  // self-metrics
  private isUp = true;
  private accepted = 0;
  private recovered = 0;
  private sentSamples = 0;
  private sentBytes = 0;
  private sentRequests = 0;
  private failedRequests = 0;
  private retries = 0;
  private lastSuccessMs = 0;
  private readonly dropped: Record<DropReason, number> = { queue_full: 0, rejected: 0, shutdown: 0, spool_full: 0, unencodable: 0 };

  constructor(wire: SinkWire, opts: SinkOptions) {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(wire.name)) throw new Error(`sink name ${JSON.stringify(wire.name)} must be lower-case letters, digits, '.', '_' or '-'`);
    const u = new URL(wire.url); // throws for an invalid URL
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`${wire.name} sink: URL must be http or https, got ${u.protocol}`);
    this.name = wire.name;
    this.url = redactUrl(wire.url);
    this.wire = wire;
    this.hub = opts.hub;
    this.origins = new Set(wire.origins);
    this.logger = opts.logger.child({ sink: wire.name });
    this.now = opts.now ?? Date.now;
    this.mono = opts.monotonicNow ?? (() => performance.now());
    this.fetchFn = opts.fetch ?? (globalThis.fetch as unknown as FetchLike);
    this.debounceMs = opts.debounceMs ?? (() => 100);
    const queueMaxBytes = positive('queueMaxBytes', opts.queueMaxBytes ?? 16 * MiB);
    this.batchCapBytes = Math.min(positive('batchMaxBytes', opts.batchMaxBytes ?? 1 * MiB), queueMaxBytes);
    this.timeoutMs = positive('timeoutMs', opts.timeoutMs ?? 5000);
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    positive('backoff.initialMs', this.backoff.initialMs);
    positive('backoff.maxMs', this.backoff.maxMs);
    this.random = opts.random ?? Math.random;
    this.stopTimeoutMs = positive('stopTimeoutMs', opts.stopTimeoutMs ?? 5000);
    this.headers = { 'User-Agent': `metrics-manager/${VERSION}`, ...wire.headers };
    this.throttle = new LogThrottle(opts.logIntervalMs ?? 60_000, this.mono);
    this.queue = new ChunkQueue(queueMaxBytes);
    if (opts.spoolDir) {
      this.spool = new Spool({
        dir: opts.spoolDir,
        maxBytes: positive('spoolMaxBytes', opts.spoolMaxBytes ?? 256 * MiB),
        segmentMaxBytes: opts.spoolSegmentMaxBytes,
      });
    }
  }

  /**
   * Opens and replays the spool (if any), then subscribes to the hub. A spool that cannot be
   * opened (directory not creatable or readable: read-only file system, EACCES, a file in the
   * way) does not stop the sink: it logs a warning, reports `spoolState: 'failed'` and forwards
   * from memory.
   */
  async start(): Promise<void> {
    if (this.started) return;
    if (this.stopPromise) throw new Error(`${this.name} sink: start() after stop()`);
    if (this.spool) {
      try {
        const report = this.spool.open();
        this.spoolWritable = true;
        this.recovered = report.samples;
        if (report.samples > 0 || report.corruptRecords > 0) {
          this.logger.info('forward spool found', {
            dir: this.spool.dir, samples: report.samples, records: report.records, corrupt_records: report.corruptRecords, corrupt_bytes: report.corruptBytes,
          });
        }
      } catch (err) {
        this.spoolFailed(err, 'forward spool cannot be opened; forwarding from memory only (acknowledged data is lost if the agent dies)');
      }
    }
    this.started = true;
    this.accepting = true;
    this.unsubscribe = this.hub.subscribe((batch) => this.accept(batch));
    this.logger.info('sink started', { url: this.url, origins: [...this.origins], spool_dir: this.spool?.dir });
    this.kick();
  }

  /**
   * Stops taking samples, closes the open chunk and sends what is queued until `timeoutMs`
   * (default stopTimeoutMs) has passed; then aborts the request in flight. What is still unsent is
   * written to the spool when there is one, else counted as dropped (reason `shutdown`).
   * Idempotent: later calls return the first call's promise.
   */
  stop(timeoutMs?: number): Promise<void> {
    this.stopPromise ??= this.doStop(timeoutMs ?? this.stopTimeoutMs);
    return this.stopPromise;
  }

  /**
   * Takes one hub batch. Never throws and never blocks: it encodes the samples into the open
   * chunk and schedules a flush. Samples without a timestamp get the time of this call.
   * Public so that benchmarks and tests can drive a sink without a hub.
   *
   * With a working spool it returns a promise that settles (never rejects) once the batch is on
   * disk: the batches of one event-loop turn are appended as one record and share one fsync
   * (group commit, see Spool.sync). Without a spool it returns undefined and costs nothing more.
   */
  accept(batch: { samples: readonly Sample[]; origin: Origin }): Promise<void> | undefined {
    if (!this.accepting || !this.origins.has(batch.origin)) return undefined;
    try {
      const acceptMs = this.now();
      const codec = this.wire.codec;
      const samples = batch.samples;
      for (let i = 0; i < samples.length; i++) {
        const s = samples[i];
        this.accepted++;
        if (!codec.add(s, s.timestampMs ?? acceptMs)) {
          this.dropped.unencodable++;
          continue;
        }
        if (codec.openBytes >= this.batchCapBytes && this.closeChunk()) this.kick();
      }
      this.scheduleFlush();
    } catch (err) {
      this.logThrottled('error', 'accept', 'forwarding: could not encode a batch', { error: errorText(err) });
    }
    return this.spoolWritable ? this.scheduleCommit() : undefined;
  }

  /** Closes the open chunk now (no debounce) and wakes the sender. */
  flush(): void {
    this.cancelFlushTimers();
    this.lastFlushAt = this.mono();
    this.closeChunk();
    this.kick();
  }

  /**
   * Flushes, then resolves true once nothing is buffered (memory, in flight, spool), or false
   * after `timeoutMs`. For tests, benchmarks and orderly shutdown.
   */
  drain(timeoutMs = 30_000): Promise<boolean> {
    this.flush();
    if (this.isIdle()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w: IdleWaiter = {
        resolve,
        timer: setTimeout(() => {
          this.idleWaiters.delete(w);
          resolve(false);
        }, timeoutMs),
      };
      this.idleWaiters.add(w);
    });
  }

  stats(): SinkStats {
    const codec = this.wire.codec;
    const cur = this.current && !this.current.spool ? this.current : undefined;
    // A spooled batch in flight whose segment the spool bound deleted is only in memory now.
    const orphaned = this.spool?.orphanedInflightSamples ?? 0;
    return {
      name: this.name,
      url: this.url,
      acceptedSamplesTotal: this.accepted,
      spoolRecoveredSamplesTotal: this.recovered,
      sentSamplesTotal: this.sentSamples,
      sentBytesTotal: this.sentBytes,
      sentRequestsTotal: this.sentRequests,
      failedRequestsTotal: this.failedRequests,
      retriesTotal: this.retries,
      droppedSamplesTotal: { ...this.dropped },
      spoolCorruptRecordsTotal: this.spool?.corruptRecords ?? 0,
      queueBytes: this.queue.bytes + codec.openBytes + (cur?.bytes ?? 0),
      queueSamples: this.queue.samples + codec.openSamples + (cur?.samples ?? 0) + orphaned,
      spoolBytes: this.spool?.bytes ?? 0,
      spoolSamples: this.spool?.samples ?? 0,
      lastSuccessSeconds: this.lastSuccessMs / 1000,
      up: this.isUp ? 1 : 0,
      spoolState: this.spool === undefined ? 'off' : this.spoolError !== '' ? 'failed' : 'ok',
      spoolError: this.spoolError,
      spoolSyncsTotal: this.spool?.syncs ?? 0,
    };
  }

  // --- debounce ---------------------------------------------------------------------------------

  /**
   * The reference's debounce: when the last flush is at least one window ago the chunk is flushed
   * at once (on the next turn of the event loop, so one request's batches coalesce); otherwise one
   * delayed flush is scheduled a full window later and takes everything that arrives meanwhile.
   * So the first write goes out at once and a burst becomes about one flush per window plus a
   * trailing one. A window of 0 flushes every batch.
   */
  private scheduleFlush(): void {
    if (this.flushTimeout !== undefined || this.flushImmediate !== undefined) return;
    const d = this.debounceMs();
    if (d <= 0 || this.mono() - this.lastFlushAt >= d) {
      this.flushImmediate = setImmediate(() => {
        this.flushImmediate = undefined;
        this.flush();
      });
      this.flushImmediate.unref();
    } else {
      this.flushTimeout = setTimeout(() => {
        this.flushTimeout = undefined;
        this.flush();
      }, d);
      this.flushTimeout.unref();
    }
  }

  private cancelFlushTimers(): void {
    if (this.flushTimeout !== undefined) clearTimeout(this.flushTimeout);
    if (this.flushImmediate !== undefined) clearImmediate(this.flushImmediate);
    this.flushTimeout = undefined;
    this.flushImmediate = undefined;
  }

  // --- durability (write-ahead spool) -----------------------------------------------------------

  /** The promise of the commit that will hold what was accepted in this turn. */
  private scheduleCommit(): Promise<void> {
    if (this.commitWaiter === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.commitWaiter = { promise, resolve };
      // After the current I/O callbacks: the batches of concurrent requests share one record.
      this.commitImmediate = setImmediate(() => this.commit());
    }
    return this.commitWaiter.promise;
  }

  /**
   * Appends what the open chunk holds to the spool and resolves the waiters once it is fsynced.
   * The sender is not woken here: it still follows the debounce window (scheduleFlush), and reads
   * these records from the spool. A failed fsync is a failed spool (memory only from now on); the
   * waiters are released all the same, since ingestion must not stop for it.
   */
  private commit(): void {
    if (this.commitImmediate !== undefined) clearImmediate(this.commitImmediate);
    this.commitImmediate = undefined;
    const w = this.commitWaiter;
    this.commitWaiter = undefined;
    if (w === undefined) return;
    this.closeChunk();
    if (!this.spool || !this.spoolWritable) {
      w.resolve();
      return;
    }
    this.spool.sync().then(w.resolve, (err: unknown) => {
      this.spoolFailed(err, 'forward spool cannot be synced to disk; keeping new data in memory only');
      w.resolve();
    });
  }

  // --- queueing ---------------------------------------------------------------------------------

  /** Closes the open chunk into the spool or the memory queue; true when there was anything in it. */
  private closeChunk(): boolean {
    const codec = this.wire.codec;
    const samples = codec.openSamples;
    const data = codec.finish();
    if (data === null) return false;
    this.enqueue({ data, samples });
    return true;
  }

  /**
   * With a working spool every chunk goes to disk (write-ahead: the sender reads it back from
   * there, so what a 2xx acknowledged survives a crash); without one, or once it failed, to the
   * memory queue.
   */
  private enqueue(chunk: Chunk): void {
    if (this.spool && this.spoolWritable && this.spoolAppend(chunk)) return;
    this.pushMemory(chunk);
  }

  private pushMemory(chunk: Chunk): void {
    const res = this.queue.push(chunk);
    if (res.droppedSamples > 0) {
      this.dropped.queue_full += res.droppedSamples;
      this.logThrottled('warn', 'queue_full', 'forward queue full: dropping the oldest data', {
        queue_max_bytes: this.queue.maxBytes, dropped_samples_total: this.dropped.queue_full,
      });
    }
  }

  /** Appends to the spool; false (and the spool is no longer written) when that fails. */
  private spoolAppend(chunk: Chunk): boolean {
    try {
      const dropped = this.spool!.append(chunk.data, chunk.samples);
      if (dropped > 0) {
        this.dropped.spool_full += dropped;
        this.logThrottled('warn', 'spool_full', 'forward spool full: dropping the oldest segment', {
          spool_max_bytes: this.spool!.maxBytes, dropped_samples_total: this.dropped.spool_full,
        });
      }
      return true;
    } catch (err) {
      this.spoolFailed(err, 'forward spool cannot be written; keeping data in memory only');
      return false;
    }
  }

  /** The spool stops taking data (what it holds is still sent); logged once, reported in stats. */
  private spoolFailed(err: unknown, message: string): void {
    if (this.spoolError !== '') return;
    this.spoolWritable = false;
    this.spoolError = errorText(err);
    this.logger.warn(message, { dir: this.spool?.dir, error: this.spoolError });
  }

  /** Moves the memory batch in flight and the memory queue to the spool (on the first failure). */
  private spill(): void {
    const fromCurrent = this.current && !this.current.spool ? this.current.chunks : [];
    const chunks = [...fromCurrent, ...this.queue.drain()];
    let written = 0;
    while (written < chunks.length && this.spoolAppend(chunks[written])) written++;
    if (written < fromCurrent.length) {
      // The spool failed part-way through the batch in flight: keep the rest of it in memory.
      if (written > 0) this.current = makeBatch(fromCurrent.slice(written));
    } else if (fromCurrent.length > 0) {
      this.current = undefined; // now at the head of the spool; the next attempt reads it there
    }
    for (let i = Math.max(written, fromCurrent.length); i < chunks.length; i++) this.pushMemory(chunks[i]);
  }

  // --- sending ----------------------------------------------------------------------------------

  /**
   * Starts the sender unless it runs. A kick that arrives while it is winding down (it found
   * nothing to send, but has not finished yet) makes it run again right after.
   */
  private kick(): void {
    if (!this.started || this.aborted) return;
    if (this.pumpPromise !== undefined) {
      this.rekick = true;
      return;
    }
    this.rekick = false;
    this.pumpPromise = this.pump()
      .catch((err: unknown) => {
        this.logger.error('forwarding loop failed', { error: errorText(err) });
      })
      .finally(() => {
        this.pumpPromise = undefined;
        if (this.rekick) this.kick();
        else this.notifyIdle();
      });
  }

  /** The one sender of this sink: one request at a time, oldest data first. */
  private async pump(): Promise<void> {
    for (;;) {
      if (this.aborted || (this.stopping && this.mono() >= this.deadline)) return;
      const batch = this.current ?? this.nextBatch();
      if (batch === undefined) return;
      this.current = batch;
      const outcome = await this.send(batch);
      if (outcome.kind === 'ok') {
        this.sentSamples += batch.samples;
        this.sentBytes += outcome.bodyBytes;
        this.sentRequests++;
        this.lastSuccessMs = this.now();
        this.markUp();
        this.finishBatch(batch);
        continue;
      }
      this.failedRequests++;
      if (outcome.kind === 'rejected') {
        this.dropped.rejected += batch.samples;
        this.logThrottled('warn', 'rejected', 'forward target rejected a batch; dropping it', {
          url: this.url, status: outcome.status, detail: outcome.detail, samples: batch.samples,
        });
        this.markUp();
        this.finishBatch(batch);
        continue;
      }
      // Retryable: network error, timeout, 408, 429, 5xx.
      if (this.aborted) return;
      this.markDown(outcome);
      if (this.spool && this.spoolWritable && !batch.spool) this.spill();
      this.retrying = true;
      const delay = retryDelayMs(this.attempt++, outcome.retryAfterMs, this.backoff, this.random);
      if (this.stopping) {
        // Shutting down: data already in the spool waits there; otherwise keep trying until the deadline.
        if (this.spool && this.spoolWritable && (this.current === undefined || this.current.spool !== undefined)) return;
        const left = this.deadline - this.mono();
        if (left <= 0) return;
        await this.sleep(Math.min(delay, left));
      } else {
        await this.sleep(delay);
      }
    }
  }

  private nextBatch(): Batch | undefined {
    if (this.spool && !this.spool.empty) {
      let read: SpoolRead | null = null;
      try {
        read = this.spool.peek(this.batchCapBytes);
      } catch (err) {
        // Stop adding to a spool that cannot be read, so new data at least goes out from memory.
        this.spoolFailed(err, 'forward spool cannot be read; new data stays in memory');
        this.logThrottled('error', 'spool_read', 'forward spool cannot be read', { dir: this.spool.dir, error: errorText(err) });
      }
      if (read) return { chunks: read.chunks, bytes: read.bytes, samples: read.samples, spool: read };
    }
    const first = this.queue.shift();
    if (first === undefined) return undefined;
    const chunks = [first];
    let bytes = first.data.length;
    for (let next = this.queue.peek(); next !== undefined && bytes + next.data.length <= this.batchCapBytes; next = this.queue.peek()) {
      chunks.push(this.queue.shift()!);
      bytes += next.data.length;
    }
    return makeBatch(chunks);
  }

  private finishBatch(batch: Batch): void {
    if (batch.spool) {
      try {
        this.spool!.commit(batch.spool);
      } catch (err) {
        this.logThrottled('error', 'spool_commit', 'forward spool cursor cannot be written', { error: errorText(err) });
      }
    }
    this.current = undefined;
    this.retrying = false;
    this.attempt = 0;
    this.notifyIdle();
  }

  private async send(batch: Batch): Promise<Outcome> {
    const payload = batch.chunks.length === 1 ? batch.chunks[0].data : Buffer.concat(batch.chunks.map((c) => c.data), batch.bytes);
    const body = this.wire.encodeBody ? this.wire.encodeBody(payload) : payload;
    if (this.retrying) this.retries++;
    const ac = new AbortController();
    this.inflight = ac;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, this.timeoutMs);
    try {
      const res = await this.fetchFn(this.wire.url, { method: 'POST', headers: this.headers, body, signal: ac.signal });
      let text = '';
      try {
        text = await res.text();
      } catch {
        // The status is the answer; a body cut short does not change it.
      }
      const status = res.status;
      if (status >= 200 && status < 300) return { kind: 'ok', bodyBytes: body.length };
      const detail = text.slice(0, 300);
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) return { kind: 'rejected', status, detail };
      return { kind: 'retry', status, retryAfterMs: parseRetryAfterMs(res.headers.get('retry-after'), this.now()), detail };
    } catch (err) {
      const detail = timedOut ? `no answer within ${this.timeoutMs} ms` : this.aborted ? 'aborted at shutdown' : errorText(err);
      return { kind: 'retry', detail };
    } finally {
      clearTimeout(timer);
      this.inflight = undefined;
    }
  }

  private markUp(): void {
    if (this.isUp) return;
    this.isUp = true;
    this.logger.info('forward target reachable again', { url: this.url, failed_requests_total: this.failedRequests });
  }

  private markDown(outcome: Extract<Outcome, { kind: 'retry' }>): void {
    const fields = { url: this.url, status: outcome.status, detail: outcome.detail };
    if (this.isUp) {
      this.isUp = false;
      this.throttle.take('down'); // the next "still failing" line comes one interval later
      this.logger.warn('forward target failing; retrying with backoff', fields);
    } else {
      this.logThrottled('warn', 'down', 'forward target still failing', { ...fields, failed_requests_total: this.failedRequests });
    }
  }

  /** Backoff sleep; `wake()` ends it early (stop). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.sleepResolve = resolve;
      this.sleepTimer = setTimeout(() => this.wake(), ms);
      this.sleepTimer.unref();
    });
  }

  private wake(): void {
    if (this.sleepTimer !== undefined) clearTimeout(this.sleepTimer);
    this.sleepTimer = undefined;
    const r = this.sleepResolve;
    this.sleepResolve = undefined;
    r?.();
  }

  // --- shutdown ---------------------------------------------------------------------------------

  private async doStop(timeoutMs: number): Promise<void> {
    this.accepting = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.cancelFlushTimers();
    if (!this.started) return;
    // Requests waiting for their batch to reach the disk are answered now, not after the drain.
    this.commit();
    this.stopping = true;
    this.deadline = this.mono() + timeoutMs;
    this.closeChunk();
    this.wake(); // a sink in backoff tries once more now
    this.kick();
    const hard = setTimeout(() => {
      this.aborted = true;
      this.inflight?.abort();
      this.wake();
    }, timeoutMs);
    try {
      while (this.pumpPromise !== undefined) await this.pumpPromise;
    } finally {
      clearTimeout(hard);
    }
    this.aborted = true;
    this.keepLeftovers();
    try {
      this.spool?.close();
    } catch (err) {
      this.logger.error('forward spool close failed', { error: errorText(err) });
    }
    this.notifyIdle();
    const s = this.stats();
    this.logger.info('sink stopped', {
      sent_samples_total: s.sentSamplesTotal, dropped_samples_total: s.droppedSamplesTotal, spool_samples: s.spoolSamples,
    });
  }

  /** After the last attempt: unsent memory data goes to the spool, or is counted as dropped. */
  private keepLeftovers(): void {
    const cur = this.current;
    this.current = undefined;
    const chunks: Chunk[] = [];
    if (cur?.spool) {
      // Still on disk unless the spool bound removed its segment meanwhile.
      this.dropped.spool_full += this.spool!.lostInflight(cur.spool);
      this.spool!.release();
    } else if (cur) {
      chunks.push(...cur.chunks);
    }
    chunks.push(...this.queue.drain());
    for (const c of chunks) {
      if (this.spool && this.spoolWritable && this.spoolAppend(c)) continue;
      this.dropped.shutdown += c.samples;
    }
  }

  // --- helpers ----------------------------------------------------------------------------------

  private isIdle(): boolean {
    return this.wire.codec.openSamples === 0 && this.current === undefined && this.queue.length === 0 && (this.spool === undefined || this.spool.empty);
  }

  private notifyIdle(): void {
    if (this.idleWaiters.size === 0 || !(this.isIdle() || this.aborted)) return;
    const idle = this.isIdle();
    for (const w of this.idleWaiters) {
      clearTimeout(w.timer);
      w.resolve(idle);
    }
    this.idleWaiters.clear();
  }

  private logThrottled(level: 'warn' | 'error', key: string, message: string, fields: Record<string, unknown>): void {
    const suppressed = this.throttle.take(key);
    if (suppressed < 0) return;
    this.logger.log(level, message, suppressed > 0 ? { ...fields, similar_events_suppressed: suppressed } : fields);
  }
}

function makeBatch(chunks: Chunk[]): Batch {
  let bytes = 0;
  let samples = 0;
  for (const c of chunks) {
    bytes += c.data.length;
    samples += c.samples;
  }
  return { chunks, bytes, samples };
}

function positive(name: string, v: number): number {
  if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw new RangeError(`${name} must be a positive number, got ${v}`);
  return v;
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}

/** The URL without user info and without password/token query parameters. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    u.username = '';
    u.password = '';
    for (const k of [...u.searchParams.keys()]) {
      if (/^(p|password|token|u)$/i.test(k)) u.searchParams.set(k, 'REDACTED');
    }
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}
