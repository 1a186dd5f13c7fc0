/**
 * Test helpers around the FAKE Kubernetes API server: a client-node KubeConfig pointing at it,
 * world-building shortcuts (nodes, agent pods), polling, and in-process agents that run "on a
 * node" of the fake cluster.
 */

import { Agent } from '../../../src/agent';
import type { ClusterOptions } from '../../../src/cluster/config-watcher';
import { loadConfig } from '../../../src/config/load';
import { Controller, type ControllerOptions } from '../../../src/controller/controller';
import { kubeConfigFor, type KubeConfig } from '../../../src/kube/client';
import { createLogger, type Logger } from '../../../src/log/logger';
import { FakeKubeApiServer, MMC, NODES, PODS, type FakeKubeOptions, type Obj } from './server';

export * from './server';
export * from './reviews';

export const TOKEN = 'fake-token';
export const AGENT_NS = 'metrics-manager';
export const AGENT_LABELS = { 'app.kubernetes.io/name': 'metrics-manager', 'app.kubernetes.io/component': 'agent' };
export const AGENT_SELECTOR = Object.entries(AGENT_LABELS).map(([k, v]) => `${k}=${v}`).join(',');

export async function startFakeKube(opts: FakeKubeOptions = {}): Promise<FakeKubeApiServer> {
  const fake = new FakeKubeApiServer({ token: TOKEN, bookmarkIntervalMs: 300, ...opts });
  await fake.start();
  return fake;
}

/** A client-node KubeConfig for the fake (server URL + bearer token), as a real kubeconfig would give. */
export function fakeKubeConfig(fake: FakeKubeApiServer, clientToken?: string): KubeConfig {
  if (clientToken) fake.tokens.add(clientToken);
  return kubeConfigFor(fake.url, clientToken ?? fake.token);
}

export function silentLogger(): Logger {
  return createLogger({ level: 'error', format: 'json', service: 'test', version: 'test', silent: true });
}

/** A Node with labels. */
export function addNode(fake: FakeKubeApiServer, name: string, labels: Record<string, string> = {}): Obj {
  return fake.create(NODES, { metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } } });
}

/** The agent Pod of a node (what the DaemonSet would create). */
export function addAgentPod(fake: FakeKubeApiServer, node: string): Obj {
  return fake.create(PODS, {
    metadata: { name: `metrics-manager-${node}`, namespace: AGENT_NS, labels: { ...AGENT_LABELS } },
    spec: { nodeName: node, containers: [{ name: 'agent', image: 'metrics-manager:test' }] },
    status: { phase: 'Running' },
  });
}

/** Polls `fn` until it returns a truthy value (returned) or `timeoutMs` passes (throws with the last value). */
export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 5000, what: string | (() => string) = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await fn();
      if (last) return last as NonNullable<T>;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}; last: ${lastErr ? String(lastErr) : JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Fast list+watch timings for tests. */
export const FAST_LIST_WATCH = { resyncMs: 60_000, watchTimeoutSeconds: 30, idleTimeoutMs: 2000, backoffInitialMs: 20, backoffMaxMs: 200, minWatchMs: 50 };

export interface ClusterAgent {
  agent: Agent;
  url: string;
  node: string;
  stop(): Promise<void>;
}

/**
 * A real in-process agent "on" node `node` of the fake cluster: what main.ts builds from NODE_NAME,
 * POD_NAME, POD_NAMESPACE and the service-account credentials, with the kubeconfig pointed at the
 * fake. `env` works as in test/helpers/agent.ts (agent env vars).
 */
export async function startClusterAgent(fake: FakeKubeApiServer, node: string, env: Record<string, string> = {}, cluster: Partial<ClusterOptions> = {}): Promise<ClusterAgent> {
  const config = loadConfig({ METRICS_PORT: '0', HOST: '127.0.0.1', SYSTEM_METRICS_SOURCE: 'none', TELEGRAF_FORWARD: 'false', ...env });
  const agent = new Agent({
    config,
    logger: silentLogger(),
    cluster: { kubeConfig: fakeKubeConfig(fake), nodeName: node, podName: `metrics-manager-${node}`, podNamespace: AGENT_NS, listWatch: FAST_LIST_WATCH, reportRetryMs: 100, ...cluster },
  });
  await agent.start();
  return { agent, node, url: `http://127.0.0.1:${agent.port}`, stop: () => agent.stop() };
}

/** Leader-election timings for tests (real defaults are 15 s / 10 s / 2 s). */
export const FAST_LEADER_ELECTION = { leaseDurationMs: 1000, renewDeadlineMs: 700, retryPeriodMs: 100 };

/**
 * A controller (what `metrics-manager controller` builds) against the fake, with short intervals.
 * Each gets its own bearer token `token-<identity>`, so tests can tell its requests apart.
 */
export function startFakeController(fake: FakeKubeApiServer, identity = 'controller-1', extra: Partial<ControllerOptions> = {}): Controller {
  const c = new Controller({
    kubeConfig: fakeKubeConfig(fake, `token-${identity}`),
    identity,
    leaseNamespace: AGENT_NS,
    leaseName: 'metrics-manager-controller',
    agents: { namespace: AGENT_NS, podSelector: AGENT_SELECTOR, labels: { ...AGENT_LABELS }, portName: 'http' },
    discoveryIntervalMs: 200,
    statusCoalesceMs: 50,
    leaderElection: FAST_LEADER_ELECTION,
    listWatch: FAST_LIST_WATCH,
    logger: silentLogger(),
    ...extra,
  });
  c.start();
  return c;
}

export interface MmcStatus {
  observedGeneration?: number;
  conditions?: { type: string; status: string; reason: string; message: string; lastTransitionTime: string; observedGeneration?: number }[];
  nodes?: { matched: number; applied: number; shadowed?: number; shadowedBy?: string[] };
}

export function mmcStatus(fake: FakeKubeApiServer, namespace: string, name: string): MmcStatus | undefined {
  return fake.get(MMC, namespace, name)?.status as MmcStatus | undefined;
}

export function condition(fake: FakeKubeApiServer, namespace: string, name: string, type: string) {
  return mmcStatus(fake, namespace, name)?.conditions?.find((c) => c.type === type);
}

/** Creates a MetricsManagerConfig (as kubectl apply would). */
export function applyConfig(fake: FakeKubeApiServer, namespace: string, name: string, spec: Record<string, unknown>): Obj {
  return fake.create(MMC, { apiVersion: 'metricsmanager.dev/v1alpha1', kind: 'MetricsManagerConfig', metadata: { name, namespace }, spec });
}
