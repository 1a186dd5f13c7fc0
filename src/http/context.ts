import type { Authenticator } from '../auth/authenticator';
import type { NamespaceStats } from '../auth/stamp';
import type { Capabilities, CapabilityProfile } from '../capabilities/capabilities';
import type { LiveConfig } from '../config/load';
import type { LineProtocolParser } from '../formats/influx/parse';
import type { QuotaGate } from '../quota/quotas';
import type { Hub } from '../hub/hub';
import type { AddressOwner } from '../hub/push-labels';
import type { Logger } from '../log/logger';
import type { SeriesStore } from '../store/series-store';
import type { MemoryGuard, MemoryPlan } from '../memory/memory-guard';
import type { SelfMetrics } from '../telemetry/self-metrics';

/** What the routes need from the agent; built once by agent.ts. */
export interface AppContext {
  config: LiveConfig;
  store: SeriesStore;
  hub: Hub;
  /** One parser for every line-protocol route: its series cache is what makes repeated pushes cheap. */
  lineProtocol: LineProtocolParser;
  metrics: SelfMetrics;
  logger: Logger;
  version: string;
  startedAtMs: number;
  now: () => number;
  /** Sheds ingestion while memory is near the limit (503 + Retry-After). */
  memoryGuard?: MemoryGuard;
  memoryPlan?: MemoryPlan;
  /** Open event streams (GET /metrics/stream), for /api/health. */
  streamSubscribers?: () => number;
  /** State of collectors, the Telegraf source and sinks, for /api/health. */
  pipelineHealth?: () => Record<string, unknown>;
  /** Checks credentials (AUTH_MODE); undefined when every route is open (AUTH_MODE=none). */
  auth?: Authenticator;
  /** Samples per namespace of authenticated pushes, for self-metrics. */
  namespaces?: NamespaceStats;
  /** Per-namespace quotas (QUOTAS) of authenticated pushes. */
  quotas?: QuotaGate;
  /** Who has a source address (the node's pod cache), in a cluster; see src/hub/push-labels.ts. */
  pushSources?: { sourceOf(address: string): AddressOwner | undefined; nodeName: string };
  /** GET /api/v1/capabilities. */
  capabilities?: (profile: CapabilityProfile) => Capabilities;
}
