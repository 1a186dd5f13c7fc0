/**
 * The agent's own metrics, on a registry of their own (src/telemetry/registry.ts; never mixed with
 * custom metrics), served at GET /metrics/self. Names follow the categories of the platform's metrics
 * reference: http, rate_limit, connections, events, health.
 *
 * The few numbers /api/v1/stats reports are kept here too as plain counters, so the JSON view and
 * the Prometheus view cannot disagree.
 */

import { NamespaceCounter } from '../hub/push-labels';
import { regexEngineStats } from '../query/regex';
import { registerProcessMetrics } from './process-metrics';
import { Counter, Gauge, Histogram, Registry } from './registry';

const P = 'metrics_manager_';
/** Namespaces that get their own value in pushes_by_namespace_total; later ones count as `other`. */
const MAX_PUSH_NAMESPACES = 100;

export type IngestFormat = 'simple' | 'json' | 'influx' | 'write' | 'otlp' | 'report' | 'system' | 'script' | 'telegraf';

export interface StoreGauges {
  series(): number;
  bytes(): number;
}

/** The part of a sink's stats() exported as metrics. */
export interface SinkStatsView {
  name: string;
  acceptedSamplesTotal: number;
  sentSamplesTotal: number;
  sentBytesTotal: number;
  failedRequestsTotal: number;
  retriesTotal: number;
  spoolCorruptRecordsTotal: number;
  droppedSamplesTotal: Record<string, number>;
  queueBytes: number;
  spoolBytes: number;
  up: number;
  lastSuccessSeconds: number;
  /** 'off' (no spool), 'ok', or 'failed' (forwarding from memory only). */
  spoolState: string;
  spoolSyncsTotal: number;
}

/** What the line-protocol parser's series cache reports. */
export interface ParserCacheStats {
  readonly cacheResets: number;
  readonly cacheUncachedLines: number;
  readonly cachedEntries: number;
  readonly cachedBytes: number;
}

/** What a review cache reports (src/auth/review-cache.ts). */
interface CacheView {
  readonly size: number;
  readonly hits: number;
  readonly misses: number;
  readonly shared: number;
  readonly evictions: number;
}

export class SelfMetrics {
  readonly registry = new Registry();

  private readonly httpRequests = new Counter({
    name: `${P}http_requests_total`, help: 'HTTP requests served, by route and status code.',
    labelNames: ['method', 'route', 'status'] as const, registry: this.registry,
  });
  private readonly httpDuration = new Histogram({
    name: `${P}http_request_duration_seconds`, help: 'Time to serve an HTTP request (streams excluded).',
    labelNames: ['method', 'route'] as const, registry: this.registry,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  private readonly rateLimited = new Counter({
    name: `${P}rate_limit_rejected_total`, help: 'Requests refused with 429 by the per-client token bucket.',
    labelNames: ['route'] as const, registry: this.registry,
  });
  private readonly authDeniedTotal = new Counter({
    name: `${P}auth_denied_total`, help: 'Requests refused by the authentication check, by route template and reason (missing_credentials, malformed_credentials, invalid_token, missing_scope).',
    labelNames: ['route', 'reason'] as const, registry: this.registry,
  });
  readonly connectionsActive = new Gauge({
    name: `${P}connections_active`, help: 'Open connections, by type.', labelNames: ['type'] as const, registry: this.registry,
  });
  readonly connectionsTotal = new Counter({
    name: `${P}connections_total`, help: 'Connections opened, by type.', labelNames: ['type'] as const, registry: this.registry,
  });
  readonly connectionsDropped = new Counter({
    name: `${P}connections_dropped_total`,
    help: 'Connections closed as soon as they were accepted: reason port, MAX_CONNECTIONS were open on that port; address, MAX_CONNECTIONS_PER_ADDRESS from that address.',
    labelNames: ['reason'] as const, registry: this.registry,
  });
  private readonly received = new Counter({
    name: `${P}events_received_total`, help: 'Samples accepted into the store, by ingestion format.',
    labelNames: ['format'] as const, registry: this.registry,
  });
  private readonly rejected = new Counter({
    name: `${P}events_rejected_total`, help: 'Samples, lines or points refused, by format and reason.',
    labelNames: ['format', 'reason'] as const, registry: this.registry,
  });
  private readonly removed = new Counter({
    name: `${P}events_series_removed_total`, help: 'Series removed from the store, by reason (expired, max_series, max_bytes, deleted) and origin (custom, system).',
    labelNames: ['reason', 'origin'] as const, registry: this.registry,
  });
  private readonly historyTrimmed = new Counter({
    name: `${P}events_history_chunks_trimmed_total`, help: 'Compressed history chunks dropped, by reason (window: older than HISTORY_SECONDS; max_bytes: to stay within MAX_STORE_BYTES).',
    labelNames: ['reason'] as const, registry: this.registry,
  });
  private readonly connectionDuration = new Histogram({
    name: `${P}connections_duration_seconds`, help: 'How long connections stayed open, by type (sse: event streams).',
    labelNames: ['type'] as const, registry: this.registry,
    buckets: [1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600],
  });
  private readonly sseEvents = new Counter({
    name: `${P}sse_events_sent_total`, help: 'Stream events delivered, counted once per client.', registry: this.registry,
  });
  private readonly sseBytes = new Counter({
    name: `${P}sse_bytes_sent_total`, help: 'Bytes written to stream clients: events, heartbeats and retry hints.', registry: this.registry,
  });
  private readonly sseSerializedTotal = new Counter({
    name: `${P}sse_events_serialized_total`, help: 'Stream events serialized, by kind; one serialization is shared by every client with the same filter.',
    labelNames: ['kind'] as const, registry: this.registry,
  });
  private readonly sseSlow = new Counter({
    name: `${P}sse_slow_consumer_disconnects_total`, help: 'Stream clients disconnected because their unsent bytes passed SSE_CLIENT_BUFFER_BYTES.',
    registry: this.registry,
  });
  readonly healthStatus = new Gauge({
    name: `${P}health_dependencies_status`, help: 'Dependency status as seen by the agent (1 = up, 0 = down).',
    labelNames: ['dependency'] as const, registry: this.registry,
  });

  private readonly collectorDuration = new Histogram({
    name: `${P}collector_duration_seconds`, help: 'Time one collection cycle took, by collector.',
    labelNames: ['collector'] as const, registry: this.registry,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
  });
  private readonly collectorFailures = new Counter({
    name: `${P}collector_failures_total`, help: 'Collection cycles that failed, by collector.',
    labelNames: ['collector'] as const, registry: this.registry,
  });
  /** NodeFeature writes by the agent (src/cluster/node-feature): result created, patched, failed. */
  readonly nodeFeatureWrites = new Counter({
    name: `${P}node_feature_writes_total`, help: 'Writes of this node\'s NodeFeature object, by result (created, patched, deleted, failed).',
    labelNames: ['result'] as const, registry: this.registry,
  });
  /** Health-transition Events: sent, suppressed (rate limit per reason and device) or failed. */
  readonly nodeHealthEvents = new Counter({
    name: `${P}node_health_events_total`, help: 'Kubernetes Events on device health transitions, by reason and outcome (sent, suppressed, failed).',
    labelNames: ['reason', 'outcome'] as const, registry: this.registry,
  });
  private readonly collectorPresent = new Gauge({
    name: `${P}collector_present`, help: 'Whether the hardware or source a collector reads exists on this node (1) or not (0).',
    labelNames: ['collector'] as const, registry: this.registry,
  });

  /** Forwarding sinks' own numbers, read at scrape time (see sinks/README.md). */
  /** What the previous run's forward ledger said at this start (FORWARD_STATE_FILE); fixed for the run. */
  watchPreviousRun(previous: () => { clean: boolean; unsent: Record<string, number> } | undefined): void {
    new Gauge({
      name: `${P}forward_previous_run_unsent_samples`,
      help: 'Acknowledged samples the previous run held in memory only when it ended (last ledger write, at most a second before the end); lost unless that run stopped gracefully.',
      labelNames: ['sink', 'clean'] as const, registry: this.registry,
      collect() {
        this.reset();
        const p = previous();
        if (p) for (const [sink, n] of Object.entries(p.unsent)) this.set({ sink, clean: String(p.clean) }, n);
      },
    });
  }

  watchSinks(sinks: () => ReadonlyArray<{ stats(): SinkStatsView }>): void {
    const each = (fn: (s: SinkStatsView) => void) => { for (const sink of sinks()) fn(sink.stats()); };
    const counter = (name: string, help: string, pick: (s: SinkStatsView) => number) =>
      new Counter({
        name: `${P}forward_${name}`, help, labelNames: ['sink'] as const, registry: this.registry,
        collect() { this.reset(); each((s) => this.inc({ sink: s.name }, pick(s))); },
      });
    const gauge = (name: string, help: string, pick: (s: SinkStatsView) => number) =>
      new Gauge({
        name: `${P}forward_${name}`, help, labelNames: ['sink'] as const, registry: this.registry,
        collect() { this.reset(); each((s) => this.set({ sink: s.name }, pick(s))); },
      });
    counter('samples_accepted_total', 'Samples a sink took from the hub.', (s) => s.acceptedSamplesTotal);
    counter('samples_sent_total', 'Samples delivered (2xx).', (s) => s.sentSamplesTotal);
    counter('bytes_sent_total', 'Request bytes delivered (compressed where the format compresses).', (s) => s.sentBytesTotal);
    counter('requests_failed_total', 'Requests that failed: network error, timeout or non-2xx.', (s) => s.failedRequestsTotal);
    counter('retries_total', 'Requests that repeated a failed one.', (s) => s.retriesTotal);
    counter('spool_corrupt_records_total', 'Spool records skipped for a failed length or checksum check.', (s) => s.spoolCorruptRecordsTotal);
    gauge('queue_bytes', 'Encoded bytes waiting in memory.', (s) => s.queueBytes);
    gauge('spool_bytes', 'Bytes waiting in the on-disk spool.', (s) => s.spoolBytes);
    gauge('up', 'Whether the last request to the target succeeded (1) or not (0).', (s) => s.up);
    gauge('last_success_timestamp_seconds', 'When a request last succeeded (0 = never).', (s) => s.lastSuccessSeconds);
    counter('spool_syncs_total', 'fsync calls of the spool (group commit: batches arriving during one fsync share the next).', (s) => s.spoolSyncsTotal);
    gauge('spool_failed', 'Whether the spool could not be opened, written or synced (1): the sink forwards from memory only and a crash loses what it holds.', (s) => (s.spoolState === 'failed' ? 1 : 0));
    new Counter({
      name: `${P}forward_samples_dropped_total`, help: 'Samples a sink gave up on, by reason (queue_full, rejected, shutdown, spool_full, unencodable).',
      labelNames: ['sink', 'reason'] as const, registry: this.registry,
      collect() {
        this.reset();
        each((s) => { for (const [reason, n] of Object.entries(s.droppedSamplesTotal)) this.inc({ sink: s.name, reason }, n); });
      },
    });
  }

  /** The rate limiter's bucket count and drops, read at scrape time. */
  watchRateLimiter(stats: { readonly size: number; readonly dropped: number }): void {
    this.gaugeOf('rate_limit_buckets', 'Client token buckets held by the rate limiter.', () => stats.size);
    this.counterOf('rate_limit_buckets_dropped_total', 'Client buckets forgotten because RATE_LIMIT_MAX_CLIENTS was reached.', () => stats.dropped);
  }

  /** Pushes by the namespace they came from (src/hub/push-labels.ts); bounded label values. */
  private readonly pushNamespaces = new NamespaceCounter(MAX_PUSH_NAMESPACES);

  pushFromNamespace(namespace: string | undefined): void {
    this.pushNamespaces.add(namespace);
  }

  /** The node's pod cache (src/cluster/pod-cache.ts), read at scrape time. */
  watchPodCache(stats: () => { pods: number; relists: number; dropped: number; synced: boolean }): void {
    this.gaugeOf('pod_cache_pods', 'Pods of this node held in the pod cache.', () => stats().pods);
    this.gaugeOf('pod_cache_synced', '1 once the pod cache has listed the pods of this node at least once.', () => stats().synced ? 1 : 0);
    this.counterOf('pod_cache_relists_total', 'Full lists of the pods of this node (the first, 410 Gone, periodic resync).', () => stats().relists);
    this.counterOf('pod_cache_dropped_total', 'Pods not cached because POD_CACHE_MAX_PODS was reached (counted per refusal).', () => stats().dropped);
  }

  /** Admission of push work (src/http/admission.ts), read at scrape time. */
  watchAdmission(stats: { readonly inUseBytes: number; readonly active: number; readonly refused: Readonly<Record<string, number>> }): void {
    this.gaugeOf('ingest_admitted_bytes', 'Estimated decoding memory reserved by push requests in progress.', () => stats.inUseBytes);
    this.gaugeOf('ingest_requests_in_progress', 'Push requests admitted and not finished.', () => stats.active);
    new Counter({
      name: `${P}ingest_refused_total`, help: 'Push requests refused with 503, by reason (budget: INGEST_MEMORY_BUDGET_BYTES spent by concurrent pushes; pressure: the process is short of memory).',
      labelNames: ['reason'] as const, registry: this.registry,
      collect() { this.reset(); for (const [reason, n] of Object.entries(stats.refused)) this.inc({ reason }, n); },
    });
  }

  /** The return of V8's pooled free pages to the OS (src/memory/heap-pages.ts), read at scrape time. */
  watchHeapPages(stats: { readonly releases: number; readonly releasedBytes: number }): void {
    this.counterOf('heap_page_releases_total', 'Last-resort garbage collections run to return pooled free V8 heap pages to the OS (each pauses the agent briefly).', () => stats.releases);
    this.counterOf('heap_page_released_bytes_total', 'Anonymous resident memory given back to the OS by those collections.', () => stats.releasedBytes);
  }

  /** A counter whose total is kept elsewhere and read at scrape time. */
  private counterOf(name: string, help: string, read: () => number): void {
    new Counter({ name: P + name, help, registry: this.registry, collect() { this.reset(); this.inc(read()); } });
  }

  /** A gauge read at scrape time. */
  private gaugeOf(name: string, help: string, read: () => number): void {
    new Gauge({ name: P + name, help, registry: this.registry, collect() { this.set(read()); } });
  }

  /** The lock on large JSON answers (src/http/large-answers.ts), read at scrape time. */
  watchLargeAnswers(gate: { readonly refused: number; readonly waiting: number; readonly maxWaiting: number }, largeItems: number): void {
    this.counterOf('large_answers_refused_total', `Reads of more than ${largeItems} series refused with 503 because ${gate.maxWaiting} others already waited for the one being built.`, () => gate.refused);
    this.gaugeOf('large_answers_waiting', `Reads of more than ${largeItems} series waiting for the one being built.`, () => gate.waiting);
  }

  /** Plain numbers for /api/v1/stats. */
  readonly stats = {
    requests: 0,
    failed: 0,
    rateLimited: 0,
    samplesReceived: 0,
    byFormat: {} as Record<string, number>,
    parseErrors: 0,
    storageErrors: 0,
    sseEventsSent: 0,
  };
  /** The last 1000 request latencies in ms (ring), for the stats percentiles. */
  private readonly latencies = new Float64Array(1000);
  private latencyCount = 0;

  constructor(store: StoreGauges, parser?: ParserCacheStats) {
    const pushes = this.pushNamespaces;
    new Counter({
      name: `${P}pushes_by_namespace_total`,
      help: `Push requests by the namespace they came from (authenticated identity, or the pod cache with PUSH_POD_LABELS); none: not known; other: past the first ${MAX_PUSH_NAMESPACES} namespaces.`,
      labelNames: ['namespace'] as const, registry: this.registry,
      collect() { this.reset(); for (const [namespace, n] of pushes.snapshot()) this.inc({ namespace }, n); },
    });
    if (parser) {
      this.counterOf('events_parser_cache_resets_total', 'Times the full line-protocol series cache was cleared (at most once per 30 s).', () => parser.cacheResets);
      this.counterOf('events_parser_cache_uncached_lines_total', 'Line-protocol lines parsed without the series cache because it was full.', () => parser.cacheUncachedLines);
      this.gaugeOf('events_parser_cache_bytes', 'Estimated bytes held by the line-protocol series cache.', () => parser.cachedBytes);
    }
    this.gaugeOf('events_series', 'Series held in the store.', () => store.series());
    this.gaugeOf('events_store_bytes', 'Estimated bytes held by the store (series, labels and history).', () => store.bytes());
    const regex = regexEngineStats();
    this.counterOf('regex_engine_resets_total', 'Times the RE2 matcher heap ran out (a pattern too large for it) and a fresh matcher was loaded.', () => regex.resets);
    this.gaugeOf('regex_compiled', 'Label-matcher regexes held compiled (bounded LRU cache).', () => regex.cached);
    registerProcessMetrics(this.registry, P);
  }

  /** `seconds` undefined: a stream, counted but not timed (its duration is its connection's). */
  requestDone(method: string, route: string, status: number, seconds: number | undefined): void {
    this.httpRequests.inc({ method, route, status: String(status) });
    this.stats.requests++;
    if (status >= 400) this.stats.failed++;
    if (seconds === undefined) return;
    this.httpDuration.observe({ method, route }, seconds);
    this.latencies[this.latencyCount++ % this.latencies.length] = seconds * 1000;
  }

  /** The stream's hooks (src/stream StreamObserver). */
  sseConnected(): void {
    this.connectionsActive.inc({ type: 'sse' });
    this.connectionsTotal.inc({ type: 'sse' });
  }

  sseDisconnected(seconds: number, reason: 'client' | 'slow' | 'shutdown'): void {
    this.connectionsActive.dec({ type: 'sse' });
    this.connectionDuration.observe({ type: 'sse' }, seconds);
    if (reason === 'slow') this.sseSlow.inc();
  }

  sseSent(events: number, bytes: number): void {
    if (events > 0) {
      this.sseEvents.inc(events);
      this.stats.sseEventsSent += events;
    }
    if (bytes > 0) this.sseBytes.inc(bytes);
  }

  sseSerialized(kind: string): void {
    this.sseSerializedTotal.inc({ kind });
  }

  rateLimitedRequest(route: string): void {
    this.rateLimited.inc({ route });
    this.stats.rateLimited++;
  }

  /** `route` is a route-table template and `reason` one of a fixed set: both bounded. */
  authDenied(route: string, reason: string): void {
    this.authDeniedTotal.inc({ route, reason });
  }

  /** The token file's state (AUTH_MODE=token), read at scrape time. */
  watchTokens(stats: { readonly tokens: number; readonly reloads: number; readonly reloadFailures: number }): void {
    this.gaugeOf('auth_tokens', 'Valid tokens loaded from AUTH_TOKENS_FILE.', () => stats.tokens);
    new Counter({
      name: `${P}auth_token_file_reloads_total`, help: 'Times AUTH_TOKENS_FILE was read, by result (ok; failed: unreadable, the previous tokens kept).',
      labelNames: ['result'] as const, registry: this.registry,
      collect() { this.reset(); this.inc({ result: 'ok' }, stats.reloads); this.inc({ result: 'failed' }, stats.reloadFailures); },
    });
  }

  /**
   * Samples and series per namespace of authenticated pushes (src/auth/stamp.ts NamespaceStats:
   * a bounded set of namespace values, the rest under `other`), read at scrape time. `series`
   * walks the custom series once per scrape.
   */
  watchNamespaces(stats: { samplesByLabel(): Map<string, number>; seriesByLabel(series: Iterable<{ readonly labels: Record<string, string> }>): Map<string, number> }, series: () => Iterable<{ readonly labels: Record<string, string> }>): void {
    new Counter({
      name: `${P}namespace_samples_received_total`, help: 'Samples stored from authenticated pushes, by the namespace of the credential (bounded; later namespaces count as other).',
      labelNames: ['namespace'] as const, registry: this.registry,
      collect() { this.reset(); for (const [namespace, n] of stats.samplesByLabel()) this.inc({ namespace }, n); },
    });
    new Gauge({
      name: `${P}namespace_series`, help: 'Custom series held, by their namespace label (bounded like namespace_samples_received_total; series without the label are not counted).',
      labelNames: ['namespace'] as const, registry: this.registry,
      collect() { this.reset(); for (const [namespace, n] of stats.seriesByLabel(series())) this.set({ namespace }, n); },
    });
  }

  /** AUTH_MODE=kubernetes: reviews by kind and result, and both answer caches, read at scrape time. */
  watchKubeAuth(stats: { readonly reviews: Readonly<Record<string, number>>; readonly tokenCache: CacheView; readonly accessCache: CacheView }): void {
    new Counter({
      name: `${P}auth_reviews_total`, help: 'Requests to the Kubernetes API server, by review (token: TokenReview, access: SubjectAccessReview) and result (authenticated, rejected, allowed, denied, error: no answer, the request got 503).',
      labelNames: ['review', 'result'] as const, registry: this.registry,
      collect() {
        this.reset();
        for (const [k, n] of Object.entries(stats.reviews)) {
          const i = k.indexOf('_');
          this.inc({ review: k.slice(0, i), result: k.slice(i + 1) }, n);
        }
      },
    });
    const caches = () => [['token', stats.tokenCache], ['access', stats.accessCache]] as const;
    new Gauge({
      name: `${P}auth_cache_entries`, help: 'Review answers cached, by cache (token, access).', labelNames: ['cache'] as const, registry: this.registry,
      collect() { this.reset(); for (const [cache, c] of caches()) this.set({ cache }, c.size); },
    });
    new Counter({
      name: `${P}auth_cache_lookups_total`, help: 'Review cache lookups, by cache and result (hit; miss: asked the API server; shared: joined an identical request in flight).',
      labelNames: ['cache', 'result'] as const, registry: this.registry,
      collect() {
        this.reset();
        for (const [cache, c] of caches()) {
          this.inc({ cache, result: 'hit' }, c.hits);
          this.inc({ cache, result: 'miss' }, c.misses);
          this.inc({ cache, result: 'shared' }, c.shared);
        }
      },
    });
    new Counter({
      name: `${P}auth_cache_evictions_total`, help: 'Review answers dropped to stay within AUTH_CACHE_MAX_ENTRIES, by cache.', labelNames: ['cache'] as const, registry: this.registry,
      collect() { this.reset(); for (const [cache, c] of caches()) this.inc({ cache }, c.evictions); },
    });
  }

  /** Samples refused by per-namespace quotas (src/quota), by bounded namespace label and reason. */
  watchQuotas(gate: { refusedSamples(): Array<{ namespace: string; reason: string; samples: number }>; evictedBuckets: number }): void {
    new Counter({
      name: `${P}quota_refused_samples_total`, help: 'Samples of authenticated pushes refused by a per-namespace quota (QUOTAS), by namespace (bounded like namespace_samples_received_total) and reason (max_series, samples_per_second, requests_per_second).',
      labelNames: ['namespace', 'reason'] as const, registry: this.registry,
      collect() { this.reset(); for (const r of gate.refusedSamples()) this.inc({ namespace: r.namespace, reason: r.reason }, r.samples); },
    });
    new Counter({
      name: `${P}quota_buckets_evicted_total`, help: 'Per-namespace rate buckets forgotten past their bound (those namespaces start over with a full bucket).',
      registry: this.registry,
      collect() { this.reset(); this.inc(gate.evictedBuckets); },
    });
  }

  samplesReceived(format: IngestFormat, n: number): void {
    if (n <= 0) return;
    this.received.inc({ format }, n);
    this.stats.samplesReceived += n;
    this.stats.byFormat[format] = (this.stats.byFormat[format] ?? 0) + n;
  }

  samplesRejected(format: IngestFormat, reason: string, n: number): void {
    if (n <= 0) return;
    this.rejected.inc({ format, reason }, n);
    if (reason === 'parse' || reason === 'invalid') this.stats.parseErrors += n;
    else this.stats.storageErrors += n;
  }

  historyChunksTrimmed(reason: string, n: number): void {
    this.historyTrimmed.inc({ reason }, n);
  }

  seriesRemoved(reason: string, n: number, origin: string): void {
    this.removed.inc({ reason, origin }, n);
  }

  collectorCycle(collector: string, seconds: number, ok: boolean): void {
    this.collectorDuration.observe({ collector }, seconds);
    if (!ok) this.collectorFailures.inc({ collector });
  }

  collectorPresence(collector: string, present: boolean): void {
    this.collectorPresent.set({ collector }, present ? 1 : 0);
  }

  latencySummary(): { avg: number; p99: number } {
    const n = Math.min(this.latencyCount, this.latencies.length);
    if (n === 0) return { avg: 0, p99: 0 };
    const xs = Array.from(this.latencies.subarray(0, n)).sort((a, b) => a - b);
    const avg = xs.reduce((a, b) => a + b, 0) / n;
    return { avg, p99: xs[Math.min(n - 1, Math.floor(n * 0.99))] };
  }
}
