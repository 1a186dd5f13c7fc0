import { configSchema, envName, SETTINGS, type Config, type SettingKey } from './schema';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Builds the config from environment variables (names are matched case-insensitively, as the
 * reference's pydantic settings do). Throws ConfigError naming every invalid variable.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const upper = new Map<string, string>();
  for (const [k, v] of Object.entries(env)) if (v !== undefined) upper.set(k.toUpperCase(), v);
  const raw: Record<string, unknown> = {};
  for (const [key, [name]] of Object.entries(SETTINGS)) {
    const v = upper.get(name);
    if (v !== undefined) raw[key] = v;
  }
  // An endpoint set on purpose is meant to be used: TELEGRAF_HTTP_ENDPOINT without TELEGRAF_FORWARD
  // turns forwarding on (src/sinks/telegraf/README.md); an explicit TELEGRAF_FORWARD still wins.
  if (raw.telegrafHttpEndpoint !== undefined && raw.telegrafForward === undefined) raw.telegrafForward = 'true';
  return parseConfig(raw, true);
}

/** Validates a full or partial settings object keyed by config key; fills defaults. */
export function parseConfig(raw: Record<string, unknown>, fromEnv = false): Config {
  const res = configSchema.safeParse(raw);
  if (res.success) return res.data;
  const problems = res.error.issues.map((i) => {
    const key = String(i.path[0] ?? '');
    const where = fromEnv ? envName(key) : key;
    const given = key in raw ? ` (got ${JSON.stringify(raw[key])})` : '';
    return `${where}: ${i.message}${given}`;
  });
  throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
}

type Listener = (next: Config, prev: Config) => void;

/**
 * The one live config object. Readers call `get()` at use time (never cache a field), so a change
 * applied by `update()` takes effect on the next request, the next expiry pass, the next flush.
 */
export class LiveConfig {
  private current: Config;
  private readonly listeners = new Set<Listener>();

  constructor(initial: Config) {
    this.current = Object.freeze({ ...initial });
  }

  get(): Config {
    return this.current;
  }

  /** Validates `patch` merged over the current config; throws ConfigError and changes nothing when invalid. */
  update(patch: Partial<Record<SettingKey, unknown>>): Config {
    const prev = this.current;
    const next = Object.freeze(parseConfig({ ...prev, ...patch }));
    this.current = next;
    for (const l of this.listeners) l(next, prev);
    return next;
  }

  onChange(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
