/**
 * The Telegraf source: one shared poller that scrapes Telegraf's prometheus_client output
 * (`PROMETHEUS_TELEGRAF_ENDPOINT` + `/metrics`) and feeds what it reads into the hub as system
 * samples. However many clients read the agent (stream, query, /metrics), Telegraf sees one scrape
 * per `PROMETHEUS_POLLER_INTERVAL_MS`. See README.md beside this file.
 */

import { performance } from 'node:perf_hooks';
import { parsePrometheusText } from '../../formats/prometheus/parse';
import type { HubProducer } from '../../hub/hub';
import type { Sample } from '../../model/sample';
import type { WriteResult } from '../../store/series-store';
import { familiesToSamples } from './convert';

export { familiesToSamples, ORIGIN_TAG, CUSTOM_ORIGIN, TELEGRAF_GENERIC_HELP } from './convert';

/** What the source needs of the hub: its producer port (write, and delete its own series). */
export type SampleSink = HubProducer;

/** The logger subset used (the agent's Logger fits). Lifecycle lines only: down, back up. */
export interface SourceLogger {
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
}

export type FetchLike = (url: string, init: { signal: AbortSignal; headers: Record<string, string> }) => Promise<Response>;

/** Timer functions (injected so tests can see that stop() leaves none behind). Handles are opaque. */
export interface SourceTimers {
  /** Calls fn once after ms; the default unref()s the timer so it never keeps the process alive. */
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const NODE_TIMERS: SourceTimers = {
  set(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clear(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

export type TelegrafStatus = 'starting' | 'up' | 'down';

/** A snapshot; the caller owns it. Counters only grow; `*LastScrape` describe the last successful scrape. */
export interface TelegrafSourceState {
  /** `starting` until the first scrape settles; `down` from the first failed scrape until one succeeds. */
  status: TelegrafStatus;
  url: string;
  /** Why the last failed scrape failed (kept after recovery, for health pages). */
  lastError: string | null;
  lastErrorMs: number | null;
  /** Wall-clock ms of the last successful scrape. */
  lastSuccessMs: number | null;
  /** Wall-clock ms of the failure that took it down; null while up. */
  downSinceMs: number | null;
  consecutiveFailures: number;
  scrapesTotal: number;
  scrapesFailed: number;
  /** Failed scrapes whose body passed `maxBodyBytes` (also counted in scrapesFailed). */
  scrapesOversize: number;
  /** Samples read in the last successful scrape (after dropping custom-origin ones). */
  samplesLastScrape: number;
  /** Of those, how many were new or changed and went to the hub (the rest repeated the previous scrape). */
  samplesWrittenLastScrape: number;
  samplesWrittenTotal: number;
  /** Lines of the last successful scrape the parser could not read (skipped; the rest are kept). */
  parseErrorsLastScrape: number;
  parseErrorsTotal: number;
  /** Samples dropped because they carried mm_origin="custom" (our own custom metrics, re-exported). */
  customDroppedTotal: number;
  /** Samples the store refused because their family exists with another type. */
  typeConflictsTotal: number;
  /** Series removed from the store because Telegraf stopped exporting them. */
  staleRemovedTotal: number;
  /** Series this source currently tracks (exported by Telegraf in the last successful scrape). */
  seriesTracked: number;
  lastDurationMs: number | null;
  /** Delay before the next attempt as last scheduled (grows while down). */
  nextDelayMs: number | null;
}

export interface TelegrafSourceOptions {
  /** Telegraf's prometheus_client base URL (PROMETHEUS_TELEGRAF_ENDPOINT); `/metrics` is appended unless present. */
  endpoint: string;
  /** The poll interval in ms, read before every scrape so a live config change applies at once. */
  intervalMs: () => number;
  hub: SampleSink;
  logger: SourceLogger;
  /** HTTP client; default the global fetch. */
  fetch?: FetchLike;
  /** Wall clock (ms since the epoch) for the times in state(). Default Date.now. */
  now?: () => number;
  /** Monotonic ms for scheduling and durations. Default performance.now. */
  monotonic?: () => number;
  /** Timers for the schedule and the per-scrape timeout. Default Node's, unref()'d. */
  timers?: SourceTimers;
  /** [0, 1) for backoff jitter. Default Math.random. */
  random?: () => number;
  /** Per-scrape timeout (connect + headers + body). Default 5000 ms. */
  timeoutMs?: number;
  /** Largest body accepted; a bigger one fails the scrape. Default 64 MiB. */
  maxBodyBytes?: number;
  /** Backoff cap while Telegraf is unreachable. Default 30 s (never below the interval). */
  maxBackoffMs?: number;
  /** Called with a fresh snapshot whenever `status` changes (starting → up/down, up ↔ down). Must not throw. */
  onStateChange?: (state: TelegrafSourceState) => void;
}

const DEFAULT_TIMEOUT_MS = 5000;
/** PROMETHEUS_POLLER_INTERVAL_MS's default, used only if the interval getter returns nonsense. */
const DEFAULT_INTERVAL_MS = 500;
const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_BACKOFF_MS = 30_000;
/** Jitter spreads each backoff delay over [0.85, 1.15] of its nominal value (never below the interval). */
const JITTER = 0.3;

/** A scrape failure already described for humans (status, size); other errors are described by `describe`. */
class ScrapeError extends Error {
  constructor(message: string, readonly oversize = false) {
    super(message);
  }
}

/** The abort reason stop() uses, so a scrape cut short by it is not counted as a failure. */
const STOPPED = new ScrapeError('source stopped');

/** Per-series memory of what was last written, to skip repeats and to know which series are ours. */
interface Tracked {
  t: number | undefined;
  v: number;
  /** True when this source's write created the series (nobody else, pushed or collected, had it). */
  owned: boolean;
}

/**
 * Scrapes Telegraf on a timer that never overlaps itself: the next scrape is scheduled when the
 * previous one settled, `intervalMs()` after the previous one started (at once if it took longer),
 * or after an exponential backoff with jitter while Telegraf fails.
 *
 * Ownership: samples handed to the hub are new objects the hub/store may keep.
 * Errors: a scrape never throws; failures are state (`state()`, `onStateChange`) and one log line
 * per transition (down, back up), never one per attempt.
 */
export class TelegrafSource {
  readonly url: string;
  private readonly fetchFn: FetchLike;
  private readonly now: () => number;
  private readonly monotonic: () => number;
  private readonly random: () => number;
  private readonly timers: SourceTimers;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly maxBackoffMs: number;

  private st: TelegrafSourceState;
  private readonly tracked = new Map<string, Tracked>();
  private running = false;
  private timer: unknown;
  private inflight: Promise<void> | undefined;
  private controller: AbortController | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: TelegrafSourceOptions) {
    this.url = metricsUrl(opts.endpoint);
    this.fetchFn = opts.fetch ?? ((url, init) => fetch(url, init));
    this.now = opts.now ?? Date.now;
    this.monotonic = opts.monotonic ?? (() => performance.now());
    this.random = opts.random ?? Math.random;
    this.timers = opts.timers ?? NODE_TIMERS;
    this.timeoutMs = positive('timeoutMs', opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.maxBodyBytes = positive('maxBodyBytes', opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
    this.maxBackoffMs = positive('maxBackoffMs', opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS);
    this.st = {
      status: 'starting', url: this.url, lastError: null, lastErrorMs: null, lastSuccessMs: null, downSinceMs: null,
      consecutiveFailures: 0, scrapesTotal: 0, scrapesFailed: 0, scrapesOversize: 0, samplesLastScrape: 0,
      samplesWrittenLastScrape: 0, samplesWrittenTotal: 0, parseErrorsLastScrape: 0, parseErrorsTotal: 0,
      customDroppedTotal: 0, typeConflictsTotal: 0, staleRemovedTotal: 0, seriesTracked: 0, lastDurationMs: null,
      nextDelayMs: null,
    };
  }

  /** A copy of the current state. */
  state(): TelegrafSourceState {
    return { ...this.st };
  }

  /** Starts polling (the first scrape runs at once). Calling it while running does nothing. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = undefined;
    // After a stop() that is still settling, the in-flight scrape's end schedules the next one.
    if (this.inflight === undefined) this.schedule(0);
  }

  /**
   * Stops polling: clears the timer, aborts a scrape in flight and resolves once it has settled.
   * Idempotent. Series already stored stay (retention removes them in time).
   */
  stop(): Promise<void> {
    if (!this.running && this.stopping) return this.stopping;
    this.running = false;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    this.controller?.abort(STOPPED);
    this.stopping = this.inflight ?? Promise.resolve();
    return this.stopping;
  }

  private schedule(delayMs: number): void {
    this.st.nextDelayMs = delayMs;
    this.timer = this.timers.set(() => {
      this.timer = undefined;
      this.inflight = this.cycle().finally(() => {
        this.inflight = undefined;
      });
    }, delayMs);
  }

  /** One scrape and the scheduling of the next. Never rejects. */
  private async cycle(): Promise<void> {
    const started = this.monotonic();
    const outcome = await this.scrape();
    if (!this.running) return;
    const interval = intervalOrDefault(this.opts.intervalMs());
    if (outcome === 'ok') this.schedule(Math.max(0, interval - (this.monotonic() - started)));
    else if (outcome === 'failed') this.schedule(this.backoffMs(interval));
    else this.schedule(0); // cut short by a stop() that a start() has already undone
  }

  /** Nominal delay interval·2^(failures−1), capped, with jitter; never below the interval. */
  private backoffMs(interval: number): number {
    const cap = Math.max(this.maxBackoffMs, interval);
    const exp = Math.min(this.st.consecutiveFailures - 1, 30);
    const nominal = Math.min(cap, interval * 2 ** exp);
    const jittered = nominal * (1 - JITTER / 2 + JITTER * this.random());
    return Math.round(Math.max(interval, jittered));
  }

  /** One scrape. A scrape cut short by stop() is `stopped`: neither a success nor a failure. */
  private async scrape(): Promise<'ok' | 'failed' | 'stopped'> {
    const controller = new AbortController();
    this.controller = controller;
    const timer = this.timers.set(() => controller.abort(new ScrapeError(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
    const started = this.monotonic();
    let text: string;
    try {
      const res = await this.fetchFn(this.url, {
        signal: controller.signal,
        // Ask for the classic text format: it is what Telegraf serves, and OpenMetrics would change timestamp units.
        headers: { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1' },
      });
      if (!res.ok) {
        await res.body?.cancel().catch(() => {});
        throw new ScrapeError(`HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}`);
      }
      text = await readBounded(res, this.maxBodyBytes);
    } catch (err) {
      this.timers.clear(timer);
      if (this.controller === controller) this.controller = undefined;
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : err;
      if (reason === STOPPED) return 'stopped'; // not a Telegraf failure
      this.failed(reason instanceof ScrapeError ? reason : describe(err), started);
      return 'failed';
    }
    this.timers.clear(timer);
    if (this.controller === controller) this.controller = undefined;
    if (controller.signal.reason === STOPPED) return 'stopped';
    try {
      this.ingest(text, started);
    } catch (err) {
      // A bug downstream (hub, store), not Telegraf's fault; still state, never an unhandled rejection.
      this.failed(new ScrapeError(`could not store the scrape: ${err instanceof Error ? err.message : String(err)}`), started);
      return 'failed';
    }
    return 'ok';
  }

  private ingest(text: string, started: number): void {
    const parsed = parsePrometheusText(text);
    const { samples, customDropped } = familiesToSamples(parsed.families);

    const seen = new Set<string>();
    const fresh: Sample[] = [];
    for (const s of samples) {
      const key = s.key as string;
      seen.add(key);
      const prev = this.tracked.get(key);
      if (prev === undefined) {
        this.tracked.set(key, { t: s.timestampMs, v: s.value, owned: false });
      } else if (s.timestampMs !== undefined && prev.t === s.timestampMs && Object.is(prev.v, s.value)) {
        continue; // Telegraf has not gathered again since the last scrape: nothing new to store
      } else {
        prev.t = s.timestampMs;
        prev.v = s.value;
      }
      fresh.push(s);
    }

    let typeConflicts = 0;
    if (fresh.length > 0) {
      const created: string[] = [];
      const res = this.opts.hub.accept({ samples: fresh, origin: 'system', format: 'telegraf', created });
      typeConflicts = res.typeConflicts;
      for (const key of created) {
        const t = this.tracked.get(key);
        if (t) t.owned = true;
      }
    }

    // Series Telegraf no longer exports (expired there, or deleted) leave the store now, not at
    // retention: through the hub, system series only, and only those this source created (a
    // series someone else had first with the same name and labels is not ours to delete).
    const stale = new Set<string>();
    for (const [key, t] of this.tracked) {
      if (seen.has(key)) continue;
      this.tracked.delete(key);
      if (t.owned) stale.add(key);
    }
    let removed = 0;
    if (stale.size > 0) removed = this.opts.hub.deleteSeries('system', (s) => stale.has(s.key));

    const st = this.st;
    st.scrapesTotal++;
    st.consecutiveFailures = 0;
    st.lastSuccessMs = this.now();
    st.lastDurationMs = this.monotonic() - started;
    st.samplesLastScrape = samples.length;
    st.samplesWrittenLastScrape = fresh.length;
    st.samplesWrittenTotal += fresh.length;
    st.parseErrorsLastScrape = parsed.errors.length;
    st.parseErrorsTotal += parsed.errors.length;
    st.customDroppedTotal += customDropped;
    st.typeConflictsTotal += typeConflicts;
    st.staleRemovedTotal += removed;
    st.seriesTracked = this.tracked.size;

    if (st.status !== 'up') {
      const wasDown = st.status === 'down';
      const downSince = st.downSinceMs;
      st.status = 'up';
      st.downSinceMs = null;
      if (wasDown) {
        this.opts.logger.info('telegraf is reachable again', {
          url: this.url, down_seconds: downSince === null ? undefined : (st.lastSuccessMs - downSince) / 1000,
        });
      } else {
        this.opts.logger.info('telegraf source up', { url: this.url, samples: samples.length });
      }
      this.notify();
    }
  }

  private failed(err: ScrapeError, started: number): void {
    const st = this.st;
    const now = this.now();
    st.scrapesTotal++;
    st.scrapesFailed++;
    if (err.oversize) st.scrapesOversize++;
    st.consecutiveFailures++;
    st.lastError = err.message;
    st.lastErrorMs = now;
    st.lastDurationMs = this.monotonic() - started;
    if (st.status !== 'down') {
      st.status = 'down';
      st.downSinceMs = now;
      this.opts.logger.warn('telegraf is unreachable; retrying with backoff', { url: this.url, error: err.message });
      this.notify();
    }
  }

  private notify(): void {
    try {
      this.opts.onStateChange?.(this.state());
    } catch {
      // A listener's bug must not stop the poller.
    }
  }
}

/** `<endpoint>/metrics`; an endpoint that already ends in /metrics is used as is. */
export function metricsUrl(endpoint: string): string {
  const base = endpoint.trim().replace(/\/+$/, '');
  return base.endsWith('/metrics') ? base : base + '/metrics';
}

/** Reads the body as UTF-8, failing as soon as it passes `maxBytes` (declared or actual). */
async function readBounded(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw new ScrapeError(`response of ${declared} bytes exceeds the limit of ${maxBytes} bytes`, true);
  }
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new ScrapeError(`response exceeds the limit of ${maxBytes} bytes`, true);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

/** A one-line reason for a fetch failure: `fetch failed` alone hides the cause (ECONNREFUSED, …). */
function describe(err: unknown): ScrapeError {
  if (err instanceof ScrapeError) return err;
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const detail = cause instanceof Error ? cause.message || (cause as NodeJS.ErrnoException).code : undefined;
    return new ScrapeError(detail !== undefined && detail !== err.message ? `${err.message}: ${detail}` : err.message);
  }
  return new ScrapeError(String(err));
}

/** The config validates the interval (100–5000 ms); a getter returning garbage must still not spin. */
function intervalOrDefault(v: number): number {
  return Number.isFinite(v) && v >= 1 ? v : DEFAULT_INTERVAL_MS;
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`TelegrafSource: ${name} must be a positive number, got ${v}`);
  return v;
}
