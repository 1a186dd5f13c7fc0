/** Service info, health and statistics. */

import type { AppContext } from '../context';
import { onlyValue, sendJson, type RouteHandlers } from '../respond';

/** Names listed in /api/health are capped: the endpoint must stay small on a busy node. */
const MAX_NAMES_IN_HEALTH = 1000;

function memoryHealth(ctx: AppContext, collect: boolean): Record<string, unknown> {
  const p = ctx.memoryPlan;
  const g = ctx.memoryGuard;
  // Asked with ?gc=1 of an agent started with --expose-gc (the store-accounting bench), the figures
  // are taken after a full collection, so heap in use is live memory that can be set against the
  // store's own accounting. Only when asked: this is a probe route, exempt from rate limiting.
  const gc = collect ? (globalThis as { gc?: () => void }).gc : undefined;
  if (typeof gc === 'function') gc();
  const mem = process.memoryUsage();
  return {
    limit_bytes: p?.limitBytes ?? null,
    limit_source: p?.limitSource ?? null,
    rss_bytes: mem.rss,
    heap_used_bytes: mem.heapUsed,
    heap_total_bytes: mem.heapTotal,
    external_bytes: mem.external,
    after_gc: typeof gc === 'function',
    max_store_bytes_source: p?.storeSource ?? null,
    shed_above_rss_bytes: p?.shedAboveRssBytes ?? null,
    shedding: g?.active ?? false,
    shed_requests: g?.shed ?? 0,
    parser_cache_bytes: ctx.lineProtocol.cachedBytes,
    parser_cache_max_bytes: p?.parserCacheBytes ?? null,
  };
}

export function healthRoutes(ctx: AppContext): RouteHandlers {
  const uptime = () => (ctx.now() - ctx.startedAtMs) / 1000;
  const basic = () => ({ status: 'healthy', version: ctx.version, uptime_seconds: uptime(), checks: { store: true } });

  const root = () => ({
    service: 'Metrics Manager',
    version: ctx.version,
    description: 'Per-node metrics hub: push custom metrics, scrape them as Prometheus text, stream them live',
    endpoints: {
      sse: { stream: 'GET /metrics/stream' },
      metrics_api: {
        push_batch: 'POST /api/v1/metrics',
        push_simple: 'POST /api/v1/metrics/simple',
        push_influx: 'POST /api/v1/metrics/influx',
        push_otlp: 'POST /api/v1/metrics/otlp',
        get_metrics: 'GET /api/v1/metrics',
        get_latest: 'GET /api/v1/metrics/latest',
        get_names: 'GET /api/v1/metrics/names',
        query_range: 'GET /api/v1/query_range',
        clear: 'DELETE /api/v1/metrics',
      },
      component_api: { report: 'POST /api/metrics/report', query: 'GET /api/metrics/query', prometheus: 'GET /api/metrics/prometheus' },
      prometheus: { metrics: 'GET /metrics', write: 'POST /write', write_v2: 'POST /api/v2/write', otlp: 'POST /v1/metrics', service_metrics: 'GET /metrics/self' },
      health: { basic: 'GET /health', detailed: 'GET /api/health', stats: 'GET /api/v1/stats', capabilities: 'GET /api/v1/capabilities' },
    },
  });

  const health = (query: URLSearchParams) => {
    const cfg = ctx.config.get();
    ctx.store.expire();
    // As in the reference, whose store holds only pushed metrics: these mean custom series.
    const names = ctx.store.names('custom');
    return {
      ...basic(),
      metrics_store: {
        total_metrics: ctx.store.sizeOf('custom'),
        metric_names: names.slice(0, MAX_NAMES_IN_HEALTH),
        metric_names_truncated: names.length > MAX_NAMES_IN_HEALTH,
        retention_seconds: cfg.retentionSeconds,
        max_metrics: cfg.maxSeries,
        system_metrics: ctx.store.sizeOf('system'),
        max_system_metrics: cfg.maxSystemSeries,
        bytes: ctx.store.bytes,
        max_bytes: cfg.maxStoreBytes,
        removed: ctx.store.removals,
        history_seconds: cfg.historySeconds,
        history_bytes: ctx.store.historyBytes,
        history_chunks_trimmed: ctx.store.historyTrims,
        telegraf_endpoint: cfg.telegrafHttpEndpoint,
      },
      memory: memoryHealth(ctx, onlyValue(query, 'gc') === '1'),
      sse_subscribers: ctx.streamSubscribers?.() ?? 0,
      ...(ctx.pipelineHealth?.() ?? {}),
    };
  };

  const stats = () => {
    const s = ctx.metrics.stats;
    const lat = ctx.metrics.latencySummary();
    const errorsTotal = s.parseErrors + s.storageErrors;
    return {
      // The flat fields the reference documents …
      requests_total: s.requests,
      errors_total: errorsTotal,
      metrics_received_total: s.samplesReceived,
      sse_events_sent: s.sseEventsSent,
      uptime_seconds: uptime(),
      // … and the nested shape its code returns.
      requests: {
        total: s.requests,
        successful: s.requests - s.failed,
        failed: s.failed,
        rate_limited: s.rateLimited,
        error_rate_percent: s.requests ? (100 * s.failed) / s.requests : 0,
      },
      latency_ms: lat,
      metrics_ingestion: { total: s.samplesReceived, by_source: { ...s.byFormat } },
      sse: { events_sent: s.sseEventsSent },
      errors: { parse: s.parseErrors, storage: s.storageErrors, sse: 0 },
      store: { series: ctx.store.size, custom_series: ctx.store.sizeOf('custom'), system_series: ctx.store.sizeOf('system'), bytes: ctx.store.bytes, removed: ctx.store.removals },
    };
  };

  return [
    ['GET /', (_req, res) => sendJson(res, 200, root())],
    ['GET /health', (_req, res) => sendJson(res, 200, basic())],
    ['GET /api/health', (_req, res, query) => sendJson(res, 200, health(query))],
    ['GET /api/v1/stats', (_req, res) => sendJson(res, 200, stats())],
  ];
}
