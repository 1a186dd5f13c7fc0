/**
 * MetricsManagerConfig spec ↔ agent settings. The node-level fields of a spec are mapped onto the
 * agent's config keys and validated with the agent's own zod schema (src/config/schema.ts), so a
 * value is judged the same whether it arrives as an env var or in a custom resource. The spec's
 * own structure (node selector, monitoring) has a small schema here.
 *
 * Pure: no I/O. Shared by the controller (to accept or reject a spec) and by the agent (to apply it).
 */

import { z } from 'zod/v3';
import { configSchema, envName, LIVE_SETTINGS, type Config, type SettingKey } from '../config/schema';
import type { LabelSelector, MonitorMode } from './resources';

/** spec field path → config key. Every key here is a live setting (a test checks). */
export const SPEC_SETTINGS: readonly { path: readonly [string, string]; key: SettingKey }[] = [
  { path: ['retention', 'seconds'], key: 'retentionSeconds' },
  { path: ['retention', 'maxSeries'], key: 'maxSeries' },
  { path: ['retention', 'maxStoreBytes'], key: 'maxStoreBytes' },
  { path: ['retention', 'maxSystemSeries'], key: 'maxSystemSeries' },
  { path: ['retention', 'historySeconds'], key: 'historySeconds' },
  { path: ['ingest', 'maxBatchSize'], key: 'maxBatchSize' },
  { path: ['ingest', 'quotas'], key: 'quotas' },
  { path: ['rateLimit', 'enabled'], key: 'rateLimitEnabled' },
  { path: ['rateLimit', 'requestsPerMinute'], key: 'rateLimitPerMinute' },
  { path: ['rateLimit', 'burst'], key: 'rateLimitBurst' },
  { path: ['rateLimit', 'trustForwardedHeaders'], key: 'trustForwardedHeaders' },
  { path: ['cors', 'origins'], key: 'corsOrigins' },
  { path: ['cors', 'allowCredentials'], key: 'corsAllowCredentials' },
  { path: ['stream', 'intervalMs'], key: 'pollerIntervalMs' },
  { path: ['forwarding', 'debounceMs'], key: 'persistDebounceMs' },
];

const SPEC_PATH_OF_KEY = new Map<string, string>(SPEC_SETTINGS.map((f) => [f.key, `spec.${f.path.join('.')}`]));

/** The spec field that sets a config key, e.g. `rateLimitBurst` → `spec.rateLimit.burst`. */
export function specPathOf(key: string): string | undefined {
  return SPEC_PATH_OF_KEY.get(key);
}

// Kubernetes label syntax: an optional DNS-subdomain prefix and a name of at most 63 characters.
const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
function isLabelKey(k: string): boolean {
  const slash = k.lastIndexOf('/');
  const prefix = slash >= 0 ? k.slice(0, slash) : undefined;
  const name = slash >= 0 ? k.slice(slash + 1) : k;
  return LABEL_NAME.test(name) && (prefix === undefined || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix)));
}
const LABEL_KEY_RULE = 'must be a label key: an optional DNS-subdomain prefix and "/", then up to 63 alphanumerics, "-", "_" or "."';
const labelKey = z.string().refine(isLabelKey, LABEL_KEY_RULE);
const labelValue = z.string().refine((v) => v === '' || LABEL_NAME.test(v), 'must be a label value: up to 63 alphanumerics, "-", "_" or ".", starting and ending alphanumeric');
/** A label map; a bad key is reported at its own path with our message (zod's record keys say only "Invalid key"). */
const labelMap = z.record(z.string(), labelValue).superRefine((m, ctx) => {
  for (const k of Object.keys(m)) if (!isLabelKey(k)) ctx.addIssue({ code: 'custom', path: [k], message: `key ${JSON.stringify(k)} ${LABEL_KEY_RULE}` });
});

/** Prometheus durations as the monitoring CRDs take them: 30s, 1m30s, 500ms. */
export const DURATION_PATTERN = '^([0-9]+(ms|s|m|h))+$';

const requirement = z.object({
  key: labelKey,
  operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
  values: z.array(labelValue).optional(),
}).strict().superRefine((r, ctx) => {
  const n = r.values?.length ?? 0;
  if ((r.operator === 'In' || r.operator === 'NotIn') && n === 0) ctx.addIssue({ code: 'custom', path: ['values'], message: `must not be empty with operator ${r.operator}` });
  if ((r.operator === 'Exists' || r.operator === 'DoesNotExist') && n > 0) ctx.addIssue({ code: 'custom', path: ['values'], message: `must be empty with operator ${r.operator}` });
});

const nodeSelectorSchema = z.object({
  matchLabels: labelMap.optional(),
  matchExpressions: z.array(requirement).optional(),
}).strict();

const monitorSchema = z.object({
  mode: z.enum(['Auto', 'Enabled', 'Disabled']).default('Auto'),
  interval: z.string().regex(new RegExp(DURATION_PATTERN), 'must be a duration such as 15s, 1m or 500ms').default('15s'),
  labels: labelMap.default({}),
}).strict();

/** Node-level sections: their values are checked by the config schema, their shape here. */
function section(fields: string[]) {
  return z.object(Object.fromEntries(fields.map((f) => [f, z.unknown().optional()]))).strict().optional();
}

const sections = new Map<string, string[]>();
for (const { path: [s, f] } of SPEC_SETTINGS) sections.set(s, [...(sections.get(s) ?? []), f]);

const specSchema = z.object({
  className: z.string().min(1).max(63).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS label: lower-case alphanumerics and "-", at most 63 characters').optional(),
  nodeSelector: nodeSelectorSchema.optional(),
  ...Object.fromEntries([...sections].map(([s, fields]) => [s, section(fields)])),
  monitoring: z.object({ serviceMonitor: monitorSchema.default({ mode: 'Auto', interval: '15s', labels: {} }), vmServiceScrape: monitorSchema.default({ mode: 'Auto', interval: '15s', labels: {} }) })
    .strict().default({ serviceMonitor: { mode: 'Auto', interval: '15s', labels: {} }, vmServiceScrape: { mode: 'Auto', interval: '15s', labels: {} } }),
}).strict();

export interface ResolvedMonitor {
  mode: MonitorMode;
  interval: string;
  labels: Record<string, string>;
}

export interface AcceptedSpec {
  ok: true;
  /** Config keys set by the spec (only those present in it), values as given. */
  settings: Partial<Record<SettingKey, unknown>>;
  nodeSelector: LabelSelector;
  monitoring: { serviceMonitor: ResolvedMonitor; vmServiceScrape: ResolvedMonitor };
}

export interface SpecProblem {
  /** Field path in the custom resource, e.g. `spec.rateLimit.requestsPerMinute`. */
  field: string;
  message: string;
}

export interface RejectedSpec {
  ok: false;
  problems: SpecProblem[];
  /** All problems in one line, each starting with its field path. */
  message: string;
}

function fieldPath(path: readonly PropertyKey[]): string {
  let out = 'spec';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `.${String(p)}`;
  return out;
}

/** Config messages speak of env vars; in a custom resource the spec field is the better name. */
function inSpecTerms(message: string): string {
  let m = message;
  for (const { key } of SPEC_SETTINGS) m = m.split(envName(key)).join(SPEC_PATH_OF_KEY.get(key) ?? key);
  return m;
}

function rejected(problems: SpecProblem[]): RejectedSpec {
  return { ok: false, problems, message: problems.map((p) => `${p.field}: ${p.message}`).join('; ') };
}

/** Validates a spec; on success returns the settings it sets. Never throws. */
export function validateSpec(spec: unknown): AcceptedSpec | RejectedSpec {
  const shape = specSchema.safeParse(spec ?? {});
  if (!shape.success) return rejected(shape.error.issues.map((i) => ({ field: fieldPath(i.path), message: i.message })));
  const s = shape.data as unknown as Record<string, Record<string, unknown> | undefined>;

  const settings: Partial<Record<SettingKey, unknown>> = {};
  for (const { path: [sec, field], key } of SPEC_SETTINGS) {
    const v = s[sec]?.[field];
    if (v !== undefined && v !== null) settings[key] = v;
  }
  const checked = configSchema.safeParse(settings);
  if (!checked.success) {
    return rejected(checked.error.issues.map((i) => {
      const key = String(i.path[0] ?? '');
      const given = key in settings ? ` (got ${JSON.stringify(settings[key as SettingKey])})` : '';
      return { field: specPathOf(key) ?? `spec (${key})`, message: inSpecTerms(i.message) + given };
    }));
  }
  const monitoring = shape.data.monitoring as AcceptedSpec['monitoring'];
  return { ok: true, settings, nodeSelector: (shape.data.nodeSelector ?? {}) as LabelSelector, monitoring };
}

/**
 * The patch that makes a live config follow a spec: every mapped key takes the spec's value, or
 * the node's own value (`base`: env and defaults) when the spec leaves it out. So removing a field
 * from the spec, or deleting the config, restores the node's setting.
 */
export function livePatch(base: Config, settings: Partial<Record<SettingKey, unknown>>): Partial<Record<SettingKey, unknown>> {
  const patch: Partial<Record<SettingKey, unknown>> = {};
  for (const { key } of SPEC_SETTINGS) patch[key] = key in settings ? settings[key] : base[key];
  return patch;
}

/** Whether every mapped key is a live setting (the agent can apply all of a spec without restart). */
export function specSettingsAreLive(): boolean {
  return SPEC_SETTINGS.every(({ key }) => LIVE_SETTINGS.includes(key));
}
