/**
 * The agent's composition root: builds the parts from the config, starts downstream first
 * (store, hub) and the HTTP servers last; stops in the reverse order.
 */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { buildCapabilities } from './capabilities/capabilities';
import { collectorEnv, createCollectors } from './collectors';
import type { CommandRunner } from './collectors/collector';
import { CollectorScheduler } from './collectors/scheduler';
import { configRoutes } from './cluster/config-route';
import { ClusterConfigWatcher, type ClusterOptions } from './cluster/config-watcher';
import { NodePodCache } from './cluster/pod-cache';
import { DeviceHolders, deviceJoinLabel } from './collectors/pod-resources';
import { HealthTracker } from './cluster/node-feature/health';
import { NodeFeaturePublisher } from './cluster/node-feature/publisher';
import { LiveConfig } from './config/load';
import type { Config } from './config/schema';
import { LineProtocolParser } from './formats/influx/parse';
import type { Admission } from './http/admission';
import { readContainerMemoryLimit } from './memory/container-limit';
import { heapLimitBytes, MemoryGuard, memoryPlan, type MemoryPlan } from './memory/memory-guard';
import { createAuthenticator } from './auth/create';
import { NamespaceStats } from './auth/stamp';
import { createKubeApi, defaultKubeConfig, type KubeConfig } from './kube/client';
import { buildApp } from './http/app';
import { graceful, type GracefulServer } from './http/graceful-close';
import { PerAddressLimit } from './http/connection-limit';
import type { AppContext } from './http/context';
import { Hub } from './hub/hub';
import { createLogger, type Logger } from './log/logger';
import { createSinks, telegrafForwardEnabled, telegrafForwardReason } from './sinks';
import { ForwardLedger, type PreviousRun } from './sinks/ledger/ledger';
import { QuotaGate } from './quota/quotas';
import { TelegrafSource } from './sources/telegraf';
import { SeriesStore } from './store/series-store';
import { StreamHub, streamRoutes } from './stream';
import { dashboardRoutes } from './stream/dashboard/router';
import { SelfMetrics } from './telemetry/self-metrics';
import { HeapPageReleaser } from './memory/heap-pages';
import { MALLOC_DEFAULTS } from './memory/malloc-env';
import { VERSION } from './version';

export interface AgentOptions {
  config: Config;
  logger?: Logger;
  now?: () => number;
  /** Command runner for collectors that shell out (nvidia-smi); tests inject recordings. */
  run?: CommandRunner;
  /** Set when running on a Kubernetes node: follow the MetricsManagerConfig that governs it. */
  cluster?: ClusterOptions;
  /**
   * The API server AUTH_MODE=kubernetes asks (TokenReview, SubjectAccessReview). Default: the
   * cluster's when `cluster` is set, else in-cluster credentials or KUBECONFIG.
   */
  authKubeConfig?: KubeConfig;
  /** How V8's heap was sized (src/memory/heap-size.ts `heapSizing`), for the start log and /api/v1/config. */
  heapSizing?: string;
  /** V8 flags set at start (src/memory/v8-flags.ts), for the start log and /api/v1/config. */
  v8Flags?: readonly string[];
}

/** Something the agent starts after the store and stops before it: sources and sinks. */
interface Component {
  start(): void | Promise<void>;
  stop(): Promise<void>;
}

export class Agent {
  readonly config: LiveConfig;
  readonly logger: Logger;
  readonly store: SeriesStore;
  readonly metrics: SelfMetrics;
  readonly hub: Hub;
  readonly collectors: CollectorScheduler;
  /** The live stream (GET /metrics/stream): one hub for every client. */
  readonly stream: StreamHub;
  /** The `host` label of system metrics. */
  readonly hostname: string;
  /** The pods of this node, in a cluster; undefined outside one. */
  readonly pods: NodePodCache | undefined;
  /** Follows MetricsManagerConfig in a cluster; undefined outside one. */
  readonly cluster: ClusterConfigWatcher | undefined;
  /** Publishes device health (NodeFeature, Events) in a cluster with NODE_FEATURE_ENABLED; else undefined. */
  readonly nodeFeature: NodeFeaturePublisher | undefined;
  private readonly ctx: AppContext;
  private readonly authKubeConfig: () => KubeConfig;
  /** Sinks first, then sources: started in this order, stopped in reverse. */
  private readonly components: Component[] = [];
  private servers: http.Server[] = [];
  private closers: GracefulServer[] = [];
  private sweepTimer: NodeJS.Timeout | undefined;
  private pagesTimer: NodeJS.Timeout | undefined;
  /** Gives V8's pooled free pages back to the OS (Node 22+; see src/memory/heap-pages.ts). */
  readonly heapPages = new HeapPageReleaser();
  private stopping: Promise<void> | undefined;
  /**
   * Admission of push work (src/http/admission.ts), set by start(). A memory guard plugs in with
   * `agent.admission?.setPressureCheck(...)`.
   */
  admission: Admission | undefined;
  /** Marks responses `Connection: close` once draining starts (see BuiltApp.drain). */
  private drainResponses: (() => void) | undefined;
  private rateLimitShutdown: (() => void) | undefined;

  /** The store's byte budget and the memory guard's marks, from the container's limit. */
  readonly memoryPlan: MemoryPlan;
  readonly memoryGuard: MemoryGuard;
  private readonly heapSizing: string;
  private readonly v8Flags: readonly string[];

  constructor(opts: AgentOptions) {
    const now = opts.now ?? Date.now;
    this.heapSizing = opts.heapSizing ?? 'not reported';
    this.v8Flags = opts.v8Flags ?? [];
    const given = opts.config;
    this.authKubeConfig = () => opts.authKubeConfig ?? opts.cluster?.kubeConfig ?? defaultKubeConfig();
    const limit = given.memoryLimitBytes > 0 ? { bytes: given.memoryLimitBytes, source: 'MEMORY_LIMIT_BYTES' } : readContainerMemoryLimit();
    this.memoryPlan = memoryPlan({
      limitBytes: limit.bytes,
      limitSource: limit.source,
      heapLimitBytes: heapLimitBytes(),
      configuredStoreBytes: given.maxStoreBytes,
      forwardQueueBytes: given.forwardQueueMaxBytes,
    });
    // The derived budget becomes the base value: a MetricsManagerConfig may still override it live.
    const c: Config = { ...given, maxStoreBytes: this.memoryPlan.storeBytes };
    this.config = new LiveConfig(c);
    this.logger = opts.logger ?? createLogger({ level: c.logLevel, format: c.logFormat, service: c.serviceName, version: VERSION });
    this.store = new SeriesStore(() => this.config.get(), now, (reason, n, origin) => this.metrics.seriesRemoved(reason, n, origin), (reason, n) => this.metrics.historyChunksTrimmed(reason, n));
    // The parser's series cache is bounded on its own (memoryPlan.parserCacheBytes; its use is
    // reported as metrics_manager_events_parser_cache_bytes and in /api/health). Series pushed
    // once never enter it.
    const lineProtocol = new LineProtocolParser({ maxCachedBytes: this.memoryPlan.parserCacheBytes });
    this.metrics = new SelfMetrics({ series: () => this.store.size, bytes: () => this.store.bytes }, lineProtocol);
    this.hub = new Hub(this.store, this.metrics, (err) => this.logger.error('subscriber failed', { error: String(err) }));
    this.hostname = c.hostname || os.hostname();

    // The stream first: started before the HTTP servers, stopped (last) after they closed.
    this.stream = new StreamHub({
      store: this.store,
      hub: this.hub,
      settings: () => this.config.get(),
      now,
      observer: {
        connected: () => this.metrics.sseConnected(),
        disconnected: (seconds, reason) => this.metrics.sseDisconnected(seconds, reason),
        sent: (events, bytes) => this.metrics.sseSent(events, bytes),
        serialized: (kind) => this.metrics.sseSerialized(kind),
      },
      onError: (err) => this.logger.error('stream flush failed', { error: String(err) }),
    });
    const stream = this.stream;
    this.components.push({ start: () => stream.start(), stop: () => stream.stop() });

    // Sinks next: they must be subscribed before any source produces data.
    const sinks = createSinks(() => this.config.get(), { hub: this.hub, logger: this.logger, now });
    const forwarding = telegrafForwardEnabled(c);
    this.logger.info(forwarding ? 'forwarding custom metrics to Telegraf' : 'not forwarding to Telegraf', {
      endpoint: c.telegrafHttpEndpoint, reason: telegrafForwardReason(c),
    });
    this.metrics.watchSinks(() => sinks);
    this.metrics.watchHeapPages(this.heapPages);
    const sinkBudgetMs = () => this.config.get().shutdownTimeoutMs / 2;
    // The ledger is pushed before the sinks, so it starts first and stops after they have flushed.
    const ledger = c.forwardStateFile && sinks.length > 0 ? new ForwardLedger({ file: c.forwardStateFile, sinks: () => sinks.map((s) => s.stats()), logger: this.logger, now }) : undefined;
    if (ledger) {
      this.metrics.watchPreviousRun(() => ledger.previous());
      this.components.push({ start: () => ledger.start(), stop: () => ledger.stop() });
    }
    for (const sink of sinks) this.components.push({ start: () => sink.start(), stop: () => sink.stop(sinkBudgetMs()) });

    // In a cluster: the pods of this node (names for per-pod series, push sources), started before the collectors.
    const pods = opts.cluster
      ? new NodePodCache({ kubeConfig: opts.cluster.kubeConfig, nodeName: opts.cluster.nodeName, maxPods: c.podCacheMaxPods, listWatch: opts.cluster.listWatch, logger: this.logger })
      : undefined;
    if (pods) {
      this.metrics.watchPodCache(() => pods.stats);
      this.components.push({ start: () => pods.start(), stop: () => pods.stop() });
    }
    this.pods = pods;
    if (c.pushPodLabels && !pods) this.logger.warn('PUSH_POD_LABELS is on but the agent is not in a cluster (no pod cache): pushes are not labelled with their pod');
    const devices = new DeviceHolders(deviceJoinLabel);
    const scheduled = createCollectors(c, collectorEnv(c, opts.run), lineProtocol, { pods, devices });
    this.collectors = new CollectorScheduler(scheduled, this.hub, this.hostname, this.logger, now, {
      cycle: (name, seconds, ok) => this.metrics.collectorCycle(name, seconds, ok),
      present: (name, present) => this.metrics.collectorPresence(name, present),
      join: (collector, name, labels) => devices.join(collector, name, labels),
    });
    let telegraf: TelegrafSource | undefined;
    if (c.systemMetricsSource === 'telegraf') {
      telegraf = new TelegrafSource({
        endpoint: c.telegrafPrometheusEndpoint,
        intervalMs: () => this.config.get().pollerIntervalMs,
        hub: this.hub,
        logger: this.logger,
        onStateChange: (st) => this.metrics.healthStatus.set({ dependency: 'telegraf' }, st.status === 'up' ? 1 : 0),
      });
      const source = telegraf;
      this.components.push({ start: () => source.start(), stop: () => source.stop() });
    }
    this.components.push({ start: () => this.collectors.start(), stop: () => this.collectors.stop() });

    // In a cluster: started after everything else, stopped first.
    const cluster = opts.cluster ? new ClusterConfigWatcher(opts.cluster, { live: this.config, base: c, logger: this.logger }) : undefined;
    if (cluster) this.components.push({ start: () => cluster.start(), stop: () => cluster.stop() });
    this.cluster = cluster;
    this.nodeFeature = opts.cluster && c.nodeFeatureEnabled ? this.nodeFeaturePublisher(opts.cluster, c) : undefined;

    this.memoryGuard = new MemoryGuard(() => this.memoryPlan);
    const namespaces = new NamespaceStats(MAX_NAMESPACE_LABELS);
    const store = this.store;
    this.metrics.watchNamespaces(namespaces, function* customSeries() {
      for (const series of store.all()) if (series.origin === 'custom') yield series;
    });
    const quotas = new QuotaGate(() => this.config.get().quotas, now);
    this.metrics.watchQuotas(quotas);
    this.ctx = {
      namespaces,
      quotas,
      memoryGuard: this.memoryGuard,
      memoryPlan: this.memoryPlan,
      config: this.config, store: this.store, hub: this.hub, lineProtocol, metrics: this.metrics, logger: this.logger,
      version: VERSION, startedAtMs: now(), now,
      streamSubscribers: () => this.stream.clientCount,
      pipelineHealth: () => ({
        system_metrics_source: this.config.get().systemMetricsSource,
        collectors: this.collectors.health(),
        ...(telegraf ? { telegraf: telegraf.state() } : {}),
        sinks: sinks.map((sink) => sink.stats()),
        ...(c.forwardSpoolDir && sinks.length > 0 ? { forward_spool: spoolHealth(sinks.map((sink) => sink.stats())) } : {}),
        ...(ledger?.previous() ? { forward_previous_run: previousRunHealth(ledger.previous()!) } : {}),
        // Collector details (e.g. `scripts`: per-script state) under each collector's name.
        ...this.collectors.details(),
      }),
      pushSources: pods ? { sourceOf: (address) => pods.sourceOf(address), nodeName: pods.nodeName } : undefined,
      capabilities: (profile) => {
        const health = new Map(this.collectors.health().map((h) => [h.name, h]));
        return buildCapabilities({
          config: this.config.get(),
          nowMs: now(),
          profile,
          hostname: this.hostname,
          collectors: scheduled.flatMap(({ collector }) => {
            const h = health.get(collector.name);
            return h ? [{ health: h, findings: collector.describe?.() }] : [];
          }),
          telegraf: telegraf?.state(),
          sinks: sinks.map((sink) => sink.stats()),
        });
      },
    };
  }

  /** Listens on METRICS_PORT (and OTLP_HTTP_PORT when set). Resolves once every socket is bound. */
  /** Health comes from the collectors' batches (in memory); the publisher writes on its own timer. */
  private nodeFeaturePublisher(cluster: ClusterOptions, c: Config): NodeFeaturePublisher | undefined {
    if (!cluster.podNamespace) {
      this.logger.warn('NODE_FEATURE_ENABLED needs POD_NAMESPACE (downward API): device health not published');
      return undefined;
    }
    const tracker = new HealthTracker();
    const publisher = new NodeFeaturePublisher({
      api: createKubeApi(cluster.kubeConfig),
      nodeName: cluster.nodeName,
      namespace: cluster.podNamespace,
      podName: cluster.podName,
      podUid: cluster.podUid,
      health: () => tracker.snapshot(this.collectors.health()),
      logger: this.logger,
      eventWindowMs: c.nodeHealthEventWindowSeconds * 1000,
      ...cluster.nodeFeature,
      observer: {
        write: (result) => this.metrics.nodeFeatureWrites.inc({ result }),
        event: (reason, outcome) => this.metrics.nodeHealthEvents.inc({ reason, outcome }),
      },
    });
    // Subscribed now, before the collectors start, so their first cycle counts.
    const unsubscribe = this.hub.subscribe((b) => {
      if (b.origin === 'system') tracker.observe(b.samples);
    });
    this.components.push({
      start: () => publisher.start(),
      stop: async () => {
        unsubscribe();
        await publisher.stop();
      },
    });
    return publisher;
  }

  async start(): Promise<void> {
    // Before anything starts: a token file that cannot be used stops the agent here.
    const auth = createAuthenticator(this.config.get(), { report: this.logger, now: this.ctx.now, kubeApi: () => createKubeApi(this.authKubeConfig()) });
    this.ctx.auth = auth.authenticator;
    if (auth.tokenStats) this.metrics.watchTokens(auth.tokenStats);
    if (auth.kubeStats) this.metrics.watchKubeAuth(auth.kubeStats);
    for (const c of this.components) await c.start();
    // The stream handler passes browser (HTML) requests for /metrics/stream to the dashboard's page (src/stream/negotiate.ts).
    const dashboard = dashboardRoutes();
    const { listener, rateLimitStore, drain, admission } = buildApp(this.ctx, [
      ...streamRoutes(this.stream, dashboard.pageAtStream),
      ...configRoutes({ config: this.config, applied: () => this.cluster?.applied() ?? null, nodeName: this.cluster?.nodeName, memory: memoryView(this.memoryPlan, this.heapSizing, this.v8Flags) }),
      ...dashboard.routes,
    ]);
    this.rateLimitShutdown = () => rateLimitStore.shutdown();
    this.drainResponses = drain;
    this.admission = admission;
    // Near the memory limit new pushes are refused (503 + Retry-After, counted by admission as
    // `pressure`) before their body is read; the guard caches its readings for 100 ms.
    const guard = this.memoryGuard;
    admission.setPressureCheck(() => {
      if (!guard.shouldShed()) return false;
      guard.shed++;
      return 1;
    });
    // Expire idle series even when nobody reads or writes.
    this.sweepTimer = setInterval(() => this.store.expire(), 1000);
    this.sweepTimer.unref();
    this.pagesTimer = setInterval(() => {
      const freed = this.heapPages.check();
      if (freed > 0) this.logger.debug('returned pooled heap pages', { freed_bytes: freed, releases: this.heapPages.releases });
    }, 10_000);
    this.pagesTimer.unref();
    const c = this.config.get();
    const ports = [c.port, ...(c.otlpHttpPort ? [c.otlpHttpPort] : [])];
    for (const port of ports) {
      const server = http.createServer({ keepAliveTimeout: 65_000, headersTimeout: 66_000 }, listener);
      // Each open connection costs memory and a descriptor whatever it sends (or does not: a slow
      // client may take 66 s to finish its headers), so their number is bounded; Node closes the
      // ones past it on accept.
      server.maxConnections = c.maxConnections;
      server.on('drop', () => this.metrics.connectionsDropped.inc({ reason: 'port' }));
      const perAddress = new PerAddressLimit(c.maxConnectionsPerAddress, () => this.metrics.connectionsDropped.inc({ reason: 'address' }));
      server.on('connection', (sock) => {
        if (!perAddress.admit(sock)) return;
        this.metrics.connectionsActive.inc({ type: 'http' });
        this.metrics.connectionsTotal.inc({ type: 'http' });
        sock.once('close', () => this.metrics.connectionsActive.dec({ type: 'http' }));
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, c.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.servers.push(server);
      this.closers.push(graceful(server));
    }
    const mp = this.memoryPlan;
    this.logger.info('memory plan', {
      memory_limit_bytes: mp.limitBytes ?? null, memory_limit_source: mp.limitSource, heap_limit_bytes: heapLimitBytes(), heap_sizing: this.heapSizing, v8_flags: this.v8Flags,
      max_store_bytes: c.maxStoreBytes, max_store_bytes_source: mp.storeSource, parser_cache_max_bytes: mp.parserCacheBytes,
      shed_above_rss_bytes: mp.shedAboveRssBytes ?? null, malloc: mallocSettings(),
    });
    this.logger.info('agent started', { port: this.port, otlp_port: c.otlpHttpPort || undefined, version: VERSION });
  }

  /** The bound API port (useful when METRICS_PORT=0). */
  get port(): number {
    return (this.servers[0]?.address() as AddressInfo | null)?.port ?? 0;
  }

  /**
   * Stops accepting connections, lets in-flight requests finish (up to SHUTDOWN_TIMEOUT_MS), then
   * closes what is left. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    clearInterval(this.sweepTimer);
    clearInterval(this.pagesTimer);
    this.rateLimitShutdown?.();
    this.drainResponses?.();
    const deadline = this.config.get().shutdownTimeoutMs;
    const closing = this.closers.map((s) => s.close(deadline));
    // Open streams never finish on their own: end them now, or they hold the shutdown until its deadline.
    this.stream.closeClients();
    await Promise.all(closing);
    for (const c of [...this.components].reverse()) await c.stop();
    this.logger.info('agent stopped', { uptime_seconds: (this.ctx.now() - this.ctx.startedAtMs) / 1000 });
  }
}

function memoryView(p: MemoryPlan, heapSizing: string, v8Flags: readonly string[]): Record<string, unknown> {
  return {
    limit_bytes: p.limitBytes ?? null, limit_source: p.limitSource, max_store_bytes: p.storeBytes,
    max_store_bytes_source: p.storeSource, parser_cache_max_bytes: p.parserCacheBytes, shed_above_rss_bytes: p.shedAboveRssBytes ?? null,
    heap_limit_bytes: heapLimitBytes(), heap_sizing: heapSizing, v8_flags: v8Flags, malloc: mallocSettings(),
  };
}

/** The glibc malloc settings this process started with (the entry script's defaults or the operator's). */
function mallocSettings(): Record<string, string | null> {
  return Object.fromEntries(Object.keys(MALLOC_DEFAULTS).map((k) => [k, process.env[k] ?? null]));
}

/**
 * The spool's entry in /api/health: `ok`, or `memory_only` with the reason per sink, so a spool
 * directory that cannot be used is visible without reading logs (ingestion goes on regardless).
 */
function spoolHealth(stats: ReadonlyArray<{ name: string; spoolState: string; spoolError: string }>): Record<string, unknown> {
  const failed = stats.filter((s) => s.spoolState === 'failed');
  if (failed.length === 0) return { status: 'ok' };
  return { status: 'memory_only', failed: Object.fromEntries(failed.map((s) => [s.name, s.spoolError])) };
}

/** The previous run's ending in /api/health, from the forward ledger. */
function previousRunHealth(p: PreviousRun): Record<string, unknown> {
  const unsent = Object.values(p.unsent).reduce((a, b) => a + b, 0);
  return { clean: p.clean, pid: p.pid, as_of: new Date(p.asOf).toISOString(), unsent_samples: p.unsent, lost_samples: p.clean ? 0 : unsent };
}


/** Namespaces with a label value of their own in the per-namespace self-metrics; the rest count as `other`. */
const MAX_NAMESPACE_LABELS = 200;
