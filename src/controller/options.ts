/**
 * The controller's settings, from the environment (main.ts passes process.env in). The chart sets
 * these; every one has a default that matches the chart's.
 */

import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { z } from 'zod/v3';
import { ConfigError } from '../config/load';
import { SETTINGS } from '../config/schema';

const seconds = (def: number, min: number, max: number) =>
  z.preprocess((v) => (typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v), z.number().min(min).max(max)).default(def);

/** `a=b,c=d` → {a: 'b', c: 'd'}. */
export function parseLabels(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`"${part}" is not key=value`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

const labels = z.string().transform((s, ctx) => {
  try {
    return parseLabels(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

const AGENT_LABELS = 'app.kubernetes.io/name=metrics-manager,app.kubernetes.io/component=agent';

const ENV = {
  podName: ['POD_NAME', z.string().default('')],
  podNamespace: ['POD_NAMESPACE', z.string().default('default')],
  watchNamespace: ['WATCH_NAMESPACE', z.string().default('')],
  className: ['METRICS_MANAGER_CLASS', z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS label (lower-case alphanumerics and "-", at most 63)').default('metrics-manager')],
  instance: ['METRICS_MANAGER_INSTANCE', z.string().min(1).default('metrics-manager')],
  leaseName: ['LEADER_ELECTION_LEASE_NAME', z.string().min(1).default('metrics-manager-controller')],
  leaseDurationSeconds: ['LEADER_ELECTION_LEASE_DURATION_SECONDS', seconds(15, 2, 600)],
  renewDeadlineSeconds: ['LEADER_ELECTION_RENEW_DEADLINE_SECONDS', seconds(10, 1, 599)],
  retryPeriodSeconds: ['LEADER_ELECTION_RETRY_PERIOD_SECONDS', seconds(2, 0.1, 300)],
  agentNamespace: ['AGENT_NAMESPACE', z.string().default('')],
  agentPodSelector: ['AGENT_POD_SELECTOR', z.string().min(1).default(AGENT_LABELS)],
  agentServiceLabels: ['AGENT_SERVICE_LABELS', labels.default(AGENT_LABELS)],
  agentMetricsPortName: ['AGENT_METRICS_PORT_NAME', z.string().min(1).default('http')],
  defaultMonitorLabels: ['DEFAULT_MONITOR_LABELS', labels.default('')],
  // `namespace/name` of the PodMonitor the chart rendered: MonitorsSelected checks it too.
  chartPodMonitor: ['CHART_POD_MONITOR', z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, 'must be <namespace>/<name>').optional()],
  discoveryIntervalSeconds: ['DISCOVERY_INTERVAL_SECONDS', seconds(60, 1, 86_400)],
  resyncSeconds: ['RESYNC_SECONDS', seconds(300, 10, 86_400)],
  logLevel: ['LOG_LEVEL', SETTINGS.logLevel[1]],
  logFormat: ['LOG_FORMAT', SETTINGS.logFormat[1]],
} as const;

type EnvKey = keyof typeof ENV;
const envSchema = z.object(Object.fromEntries(Object.entries(ENV).map(([k, [, s]]) => [k, s])) as { [K in EnvKey]: (typeof ENV)[K][1] });
export type ControllerEnv = z.infer<typeof envSchema>;

export interface ControllerSettings extends ControllerEnv {
  /** Leader-election identity: pod name plus a random suffix (a restarted pod is a new candidate). */
  identity: string;
}

/** Throws ConfigError naming every invalid variable. */
export function loadControllerSettings(env: Record<string, string | undefined>): ControllerSettings {
  const raw: Record<string, unknown> = {};
  for (const [key, [name]] of Object.entries(ENV)) if (env[name] !== undefined && env[name] !== '') raw[key] = env[name];
  const res = envSchema.safeParse(raw);
  if (!res.success) {
    throw new ConfigError(`invalid controller configuration: ${res.error.issues.map((i) => `${ENV[String(i.path[0]) as EnvKey]?.[0] ?? String(i.path[0])}: ${i.message}`).join('; ')}`);
  }
  const s = res.data;
  if (!(s.renewDeadlineSeconds < s.leaseDurationSeconds && s.retryPeriodSeconds < s.renewDeadlineSeconds)) {
    throw new ConfigError('invalid controller configuration: need LEADER_ELECTION_RETRY_PERIOD_SECONDS < LEADER_ELECTION_RENEW_DEADLINE_SECONDS < LEADER_ELECTION_LEASE_DURATION_SECONDS');
  }
  return { ...s, identity: `${s.podName || os.hostname()}_${randomUUID().slice(0, 8)}` };
}
