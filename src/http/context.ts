import type { LiveConfig } from '../config/load';
import type { Hub } from '../hub/hub';
import type { Logger } from '../log/logger';
import type { SeriesStore } from '../store/series-store';
import type { SelfMetrics } from '../telemetry/self-metrics';

/** What the routes need from the agent; built once by agent.ts. */
export interface AppContext {
  config: LiveConfig;
  store: SeriesStore;
  hub: Hub;
  metrics: SelfMetrics;
  logger: Logger;
  version: string;
  startedAtMs: number;
  now: () => number;
}
