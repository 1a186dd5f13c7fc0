/**
 * GET /api/v1/config: the agent's effective configuration (secrets redacted), which settings can
 * change live, and the MetricsManagerConfig in force on this node (null outside a cluster or when
 * none applies).
 */

import type { LiveConfig } from '../config/load';
import { LIVE_SETTINGS, type Config } from '../config/schema';
import { sendJson, type RouteHandlers } from '../http/respond';
import type { AppliedConfig } from './config-watcher';

export interface ConfigRouteSource {
  config: LiveConfig;
  /** The config in force, or null. */
  applied: () => AppliedConfig | null;
  /** This node's name when running in a cluster. */
  nodeName?: string;
  /** How the memory budget was chosen (limit, its source, the store's share). */
  memory?: Record<string, unknown>;
}

const SECRET_KEY = /token|password|secret|credential/i;
/** Query parameters that carry credentials in sink URLs (InfluxDB v1 takes `u` and `p`). */
const SECRET_PARAMS = new Set(['p', 'password', 'token', 'access_token', 'apikey', 'api_key']);
export const REDACTED = '<redacted>';

/** A URL with its password and credential query parameters masked; other strings unchanged. */
export function redactUrl(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return value;
  }
  let changed = false;
  if (u.password) {
    u.password = REDACTED;
    changed = true;
  }
  for (const k of [...u.searchParams.keys()]) {
    if (SECRET_PARAMS.has(k.toLowerCase())) {
      u.searchParams.set(k, REDACTED);
      changed = true;
    }
  }
  return changed ? u.toString() : value;
}

/** The config as shown to anyone who can reach the API port: no secrets. */
export function redactConfig(c: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) {
    // A setting naming a file (AUTH_TOKENS_FILE) holds a path, not the secret itself.
    if (SECRET_KEY.test(k) && !k.endsWith('File') && typeof v === 'string' && v !== '') out[k] = REDACTED;
    else if (typeof v === 'string') out[k] = redactUrl(v);
    else out[k] = v;
  }
  return out;
}

export function configRoutes(src: ConfigRouteSource): RouteHandlers {
  return [['GET /api/v1/config', (_req, res) => {
    sendJson(res, 200, {
      config: redactConfig(src.config.get()),
      live_settings: LIVE_SETTINGS,
      applied: src.applied(),
      node: src.nodeName ?? null,
      memory: src.memory ?? null,
    });
  }]];
}
