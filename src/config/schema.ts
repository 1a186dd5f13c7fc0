/**
 * Every setting of the agent in one zod schema. Env names and defaults follow the reference's table
 * (see docs/configuration.md); the same schema will validate MetricsManagerConfig specs, so a value
 * is checked the same way whichever way it arrives.
 */

import { z } from 'zod/v3';
import { COLLECTOR_SETTINGS } from '../collectors/registry';
import { bool, int } from './env-types';
import { parseQuotaPolicy } from '../quota/quotas';

const MiB = 1024 * 1024;

const url = z.string().trim().url();

/** CORS_ORIGINS: `*`, a comma-separated list, or a JSON array (as the reference accepts). */
const origins = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim();
  if (s === '' || s === '*') return ['*'];
  if (s.startsWith('[')) {
    try { return JSON.parse(s); } catch { /* fall through to the comma split, like the reference */ }
  }
  return s.split(',').map((o) => o.trim()).filter((o) => o !== '');
}, z.array(z.string().min(1)).min(1));

/** A comma-separated list from env, or an array (a spec); blanks dropped. */
const commaList = <T extends z.ZodTypeAny>(item: T) =>
  z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((x) => x.trim()).filter((x) => x !== '') : v), z.array(item));

/** Telegraf's http_listener_v2 in the same pod, used when TELEGRAF_HTTP_ENDPOINT is not set. */
export const DEFAULT_TELEGRAF_HTTP_ENDPOINT = 'http://localhost:8186/write';

/** setting key → [env var name, schema with default]. Order is the order of docs/configuration.md. */
export const SETTINGS = {
  serviceName: ['SERVICE_NAME', z.string().min(1).default('metrics-manager')],
  environment: ['ENVIRONMENT', z.enum(['development', 'staging', 'production']).default('production')],
  host: ['HOST', z.string().min(1).default('0.0.0.0')],
  port: ['METRICS_PORT', int(0, 65535).default(9090)],
  otlpHttpPort: ['OTLP_HTTP_PORT', int(0, 65535).default(0)],
  hostname: ['METRICS_MANAGER_HOSTNAME', z.string().default('')],
  logLevel: ['LOG_LEVEL', z.preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), z.enum(['debug', 'info', 'warning', 'warn', 'error', 'critical'])).default('info')],
  logFormat: ['LOG_FORMAT', z.enum(['json', 'text']).default('json')],

  retentionSeconds: ['METRICS_RETENTION_SECONDS', int(10, 86_400).default(300)],
  maxSeries: ['MAX_METRICS_IN_MEMORY', int(1, 10_000_000).default(100_000)],
  // System series (collectors, Telegraf) have their own bound. A 256-core node with 8 GPUs makes
  // about 4,000 (a dozen per core, a few hundred per GPU with its per-process attribution).
  maxSystemSeries: ['MAX_SYSTEM_METRICS_IN_MEMORY', int(1, 10_000_000).default(20_000)],
  // 0 (the default): derived at start from the container's memory limit (src/memory/memory-guard.ts).
  maxStoreBytes: ['MAX_STORE_BYTES', int(0, 64 * 1024 * MiB).refine((v) => v === 0 || v >= MiB, 'must be 0 (derive from the memory limit) or at least 1 MiB').default(0)],
  // 0: read from the cgroup (v2 memory.max, v1 memory.limit_in_bytes); set it where that is not visible.
  memoryLimitBytes: ['MEMORY_LIMIT_BYTES', int(0, 1024 * 1024 * MiB).refine((v) => v === 0 || v >= 64 * MiB, 'must be 0 (read the cgroup) or at least 64 MiB').default(0)],
  // History per series by time, in compressed chunks (src/store/chunk.ts); 0 keeps the latest point only.
  historySeconds: ['HISTORY_SECONDS', int(0, 86_400).default(3600)],
  maxBatchSize: ['MAX_METRICS_BATCH_SIZE', int(1, 10_000).default(1000)],
  maxBodyBytes: ['MAX_BODY_BYTES', int(1024, 256 * MiB).default(10 * MiB)],
  otlpMaxBodyBytes: ['OTLP_MAX_BODY_BYTES', int(1024, 256 * MiB).default(20 * MiB)],
  maxSamplesPerRequest: ['MAX_SAMPLES_PER_REQUEST', int(1, 100_000_000).default(500_000)],
  ingestMemoryBudgetBytes: ['INGEST_MEMORY_BUDGET_BYTES', int(0, 64 * 1024 * MiB).default(96 * MiB)],

  rateLimitEnabled: ['RATE_LIMIT_ENABLED', bool.default(true)],
  rateLimitPerMinute: ['RATE_LIMIT_REQUESTS_PER_MINUTE', int(1, 100_000_000).default(1000)],
  rateLimitBurst: ['RATE_LIMIT_BURST', int(1, 100_000_000).default(100)],
  trustForwardedHeaders: ['TRUST_FORWARDED_HEADERS', bool.default(false)],
  rateLimitMaxClients: ['RATE_LIMIT_MAX_CLIENTS', int(100, 10_000_000).default(100_000)],
  corsOrigins: ['CORS_ORIGINS', origins.default(['*'])],
  corsAllowCredentials: ['CORS_ALLOW_CREDENTIALS', bool.default(false)],
  gzip: ['ENABLE_GZIP_COMPRESSION', bool.default(true)],

  // Authentication (docs/security.md): which credentials are checked, and for which scopes.
  authMode: ['AUTH_MODE', z.enum(['none', 'token', 'kubernetes']).default('none')],
  authRequire: ['AUTH_REQUIRE', commaList(z.enum(['read', 'write', 'delete'])).default(['write', 'delete'])],
  authTokensFile: ['AUTH_TOKENS_FILE', z.string().trim().default('')],
  // AUTH_MODE=kubernetes: the audiences a ServiceAccount token must carry (empty: the API server's own),
  // and how long and how many TokenReview / SubjectAccessReview answers are kept.
  authTokenAudiences: ['AUTH_TOKEN_AUDIENCES', commaList(z.string().min(1)).default([])],
  authCacheTtlSeconds: ['AUTH_CACHE_TTL_SECONDS', int(0, 3600).default(10)],
  authCacheMaxEntries: ['AUTH_CACHE_MAX_ENTRIES', int(0, 1_000_000).default(10_000)],
  // Whether a pusher's own `namespace` / `service_account` labels give way to its credential's identity.
  authIdentityLabels: ['AUTH_IDENTITY_LABELS', z.enum(['overwrite', 'keep']).default('overwrite')],
  // JSON text from env; the custom resource's spec.ingest.quotas arrives as an object and is kept as its JSON.
  quotas: ['QUOTAS', z.preprocess((v) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : v), z.string()).default('')],

  // Setting it without TELEGRAF_FORWARD turns forwarding on (see loadConfig).
  telegrafHttpEndpoint: ['TELEGRAF_HTTP_ENDPOINT', url.default(DEFAULT_TELEGRAF_HTTP_ENDPOINT)],
  telegrafPrometheusEndpoint: ['PROMETHEUS_TELEGRAF_ENDPOINT', url.default('http://localhost:9273')],
  pollerIntervalMs: ['PROMETHEUS_POLLER_INTERVAL_MS', int(100, 5000).default(500)],
  // The live stream (GET /metrics/stream, see src/stream/README.md).
  sseHeartbeatIntervalMs: ['SSE_HEARTBEAT_INTERVAL_MS', int(100, 300_000).default(15_000)],
  sseClientBufferBytes: ['SSE_CLIENT_BUFFER_BYTES', int(64 * 1024, 1024 * MiB).default(4 * MiB)],
  sseMaxClients: ['SSE_MAX_CLIENTS', int(1, 1_000_000).default(10_000)],
  // Open connections per listening port (stream clients included); past it new ones are closed at
  // once, counted in metrics_manager_connections_dropped_total. Read at start.
  maxConnections: ['MAX_CONNECTIONS', int(1, 1_000_000).default(2048)],
  // The same per remote address, so one client cannot hold them all (src/http/connection-limit.ts).
  maxConnectionsPerAddress: ['MAX_CONNECTIONS_PER_ADDRESS', int(1, 1_000_000).default(512)],
  persistDebounceMs: ['FILE_PERSIST_DEBOUNCE_MS', int(0, 5000).default(100)],
  shutdownTimeoutMs: ['SHUTDOWN_TIMEOUT_MS', int(100, 60_000).default(10_000)],

  // Node pipeline: where system metrics come from, and the built-in collectors.
  systemMetricsSource: ['SYSTEM_METRICS_SOURCE', z.enum(['builtin', 'telegraf', 'none']).default('builtin')],
  hostProc: ['HOST_PROC', z.string().min(1).default('/proc')],
  hostSys: ['HOST_SYS', z.string().min(1).default('/sys')],
  // Each collector's own settings (COLLECTOR_<NAME>_ENABLED, _INTERVAL_MS, …) come from its folder.
  ...COLLECTOR_SETTINGS,
  // The node's pod cache (in a cluster only, src/cluster/pod-cache.ts).
  podCacheMaxPods: ['POD_CACHE_MAX_PODS', int(1, 100_000).default(1000)],
  // Device health for Kubernetes (src/cluster/node-feature): a NodeFeature for NFD and Events; only
  // in a cluster. Off by default standalone; the chart turns it on.
  nodeFeatureEnabled: ['NODE_FEATURE_ENABLED', bool.default(false)],
  nodeHealthEventWindowSeconds: ['NODE_HEALTH_EVENT_WINDOW_SECONDS', int(10, 86_400).default(600)],
  // Pushes labelled with the pod behind their source address (src/hub/push-labels.ts); needs the pod cache.
  pushPodLabels: ['PUSH_POD_LABELS', bool.default(false)],
  pushLabelsPrecedence: ['PUSH_LABELS_PRECEDENCE', z.enum(['agent', 'pusher']).default('agent')],

  // Forwarding (sinks).
  telegrafForward: ['TELEGRAF_FORWARD', z.enum(['auto', 'true', 'false']).default('auto')],
  forwardInfluxUrl: ['FORWARD_INFLUX_URL', z.string().trim().url().or(z.literal('')).default('')],
  forwardInfluxV2Url: ['FORWARD_INFLUX_V2_URL', z.string().trim().url().or(z.literal('')).default('')],
  forwardInfluxV2Token: ['FORWARD_INFLUX_V2_TOKEN', z.string().default('')],
  forwardInfluxV2Org: ['FORWARD_INFLUX_V2_ORG', z.string().default('')],
  forwardInfluxV2Bucket: ['FORWARD_INFLUX_V2_BUCKET', z.string().default('')],
  forwardRemoteWriteUrl: ['FORWARD_REMOTE_WRITE_URL', z.string().trim().url().or(z.literal('')).default('')],
  forwardSystemMetrics: ['FORWARD_SYSTEM_METRICS', bool.default(false)],
  forwardQueueMaxBytes: ['FORWARD_QUEUE_MAX_BYTES', int(64 * 1024, 4096 * MiB).default(16 * MiB)],
  forwardBatchMaxBytes: ['FORWARD_BATCH_MAX_BYTES', int(1024, 64 * MiB).default(1 * MiB)],
  forwardTimeoutMs: ['FORWARD_TIMEOUT_MS', int(100, 120_000).default(5000)],
  forwardSpoolDir: ['FORWARD_SPOOL_DIR', z.string().default('')],
  forwardSpoolMaxBytes: ['FORWARD_SPOOL_MAX_BYTES', int(1 * MiB, 1024 * 1024 * MiB).default(256 * MiB)],
  forwardStateFile: ['FORWARD_STATE_FILE', z.string().default('')],
} as const;

type Settings = typeof SETTINGS;
export type SettingKey = keyof Settings;

const shape = Object.fromEntries(Object.entries(SETTINGS).map(([k, [, s]]) => [k, s])) as {
  [K in SettingKey]: Settings[K][1];
};

export const configSchema = z.object(shape).strict().superRefine((c, ctx) => {
  if (c.corsAllowCredentials && c.corsOrigins.includes('*')) {
    ctx.addIssue({ code: 'custom', path: ['corsOrigins'], message: 'CORS_ALLOW_CREDENTIALS=true needs explicit CORS_ORIGINS; browsers refuse credentials with "*"' });
  }
  try {
    parseQuotaPolicy(c.quotas);
  } catch (e) {
    ctx.addIssue({ code: 'custom', path: ['quotas'], message: (e as Error).message });
  }
  if (c.authMode === 'token' && c.authTokensFile === '') {
    ctx.addIssue({ code: 'custom', path: ['authTokensFile'], message: 'AUTH_MODE=token needs AUTH_TOKENS_FILE (a file of "<token> <scope>[,<scope>...] [name]" lines)' });
  }
});

export type Config = z.infer<typeof configSchema>;

/** Settings that may change while the agent runs (DESIGN.md §5); the rest need a restart. */
export const LIVE_SETTINGS: readonly SettingKey[] = [
  'retentionSeconds', 'maxSeries', 'maxSystemSeries', 'maxStoreBytes', 'historySeconds', 'maxBatchSize', 'maxSamplesPerRequest', 'ingestMemoryBudgetBytes',
  'rateLimitEnabled', 'rateLimitPerMinute', 'rateLimitBurst', 'rateLimitMaxClients', 'trustForwardedHeaders', 'corsOrigins', 'corsAllowCredentials',
  'pollerIntervalMs', 'persistDebounceMs', 'quotas',
  'sseHeartbeatIntervalMs', 'sseClientBufferBytes', 'sseMaxClients',
];

/** The env var that sets a config key (for error messages). */
export function envName(key: string): string {
  return (SETTINGS as Record<string, readonly [string, unknown]>)[key]?.[0] ?? key;
}
