/**
 * The controller's composition root: watches MetricsManagerConfigs, Nodes and agent Pods (every
 * replica, so a new leader starts with warm caches), and while it holds the leader Lease:
 * - validates each spec with the agent's config schema → condition Accepted;
 * - decides which config governs which node (src/kube/selection.ts) and counts the nodes
 *   whose agent reported the config's current generation (Pod annotation
 *   metricsmanager.dev/applied-generation) → status.nodes and condition Applied;
 * - registers ServiceMonitor / VMServiceScrape for the agents' Service when discovery shows those
 *   APIs (re-checked every discovery interval) → condition MonitorsRegistered;
 * - writes status through the status subresource, only when it changed, and Events on changes
 *   worth a human's attention (invalid spec, overlapping selectors, monitor registered).
 *
 * Reconciliation is level-based: every change schedules one pass over all configs (their number
 * is small); passes never overlap, and a failed write schedules a retry with backoff.
 */

import type { Logger } from '../log/logger';
import { k8sTime, jsonEqual, mergeConditions, type DesiredCondition } from './conditions';
import { createKubeApi, errorText, httpStatus, NODES, PODS, type KubeApi, type KubeConfig } from '../kube/client';
import { LeaderElector, type LeaderElectionTimings } from '../kube/leader-election';
import { watchResource, type ListWatch, type ListWatchTimings } from '../kube/list-watch';
import { desiredMonitor, MONITOR_KINDS, monitorName, monitorUpToDate, type AgentService, type MonitorKind } from './monitors';
import {
  API_VERSION, APPLIED_ANNOTATION, appliedValue, configRef, CONFIGS, decodeConfig, decodeNode, decodePod, GROUP, KIND, MANAGED_BY_LABEL,
  MANAGED_BY_VALUE, PLURAL, VERSION, type Condition, type MetricsManagerConfig, type MetricsManagerConfigStatus, type NodeInfo, type PodInfo,
} from '../kube/resources';
import { assignNodes, comparePrecedence } from '../kube/selection';
import { validateSpec, type AcceptedSpec, type RejectedSpec } from '../kube/spec';

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  identity: string;
  /** Namespace and name of the leader Lease. */
  leaseNamespace: string;
  leaseName: string;
  /** Only configs in this namespace; '' or undefined = all namespaces. */
  watchNamespace?: string;
  agents: AgentService & { /** Label selector (string form) of the agent Pods. */ podSelector: string };
  discoveryIntervalMs: number;
  leaderElection?: Partial<LeaderElectionTimings>;
  listWatch?: Partial<ListWatchTimings>;
  logger: Logger;
  now?: () => number;
}

type MonitorOutcome =
  | { kind: 'disabled' }
  | { kind: 'api-missing'; mode: 'Auto' | 'Enabled' }
  | { kind: 'api-unknown' }
  | { kind: 'registered'; name: string }
  | { kind: 'by-other'; owner: string }
  | { kind: 'owner-invalid' }
  | { kind: 'failed'; error: string };

const EVENT_COMPONENT = 'metrics-manager-controller';
const MAX_NAMES_IN_MESSAGE = 5;

function listNames(names: string[]): string {
  const shown = names.slice(0, MAX_NAMES_IN_MESSAGE).join(', ');
  return names.length > MAX_NAMES_IN_MESSAGE ? `${shown} and ${names.length - MAX_NAMES_IN_MESSAGE} more` : shown;
}

export class Controller {
  readonly api: KubeApi;
  readonly configs: ListWatch<MetricsManagerConfig>;
  readonly nodes: ListWatch<NodeInfo>;
  readonly pods: ListWatch<PodInfo>;
  readonly elector: LeaderElector;
  private readonly now: () => number;
  private readonly log: Logger;
  /** Per monitor kind: served by the API server? undefined until the first successful check. */
  private readonly discovered = new Map<MonitorKind['field'], boolean>();
  private leading = false;
  private stopped = false;
  private discoveryTimer: NodeJS.Timeout | undefined;
  private discovering: Promise<void> | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private reconciling: Promise<void> | undefined;
  private dirty = false;
  private failures = 0;
  /** Completed reconcile passes (tests wait on it). */
  passes = 0;

  constructor(private readonly opts: ControllerOptions) {
    this.now = opts.now ?? Date.now;
    this.log = opts.logger;
    this.api = createKubeApi(opts.kubeConfig);
    const ns = opts.watchNamespace || undefined;
    const kick = () => this.kick();
    const common = { api: this.api, timings: opts.listWatch, logger: opts.logger, onChange: kick, onSynced: kick };
    this.configs = watchResource({ ...common, name: 'metricsmanagerconfigs', resource: CONFIGS, namespace: ns, decode: decodeConfig });
    // Nodes as metadata only: labels are all we need, and status heartbeats then cost little.
    this.nodes = watchResource({ ...common, name: 'nodes', resource: NODES, metadataOnly: true, decode: decodeNode });
    this.pods = watchResource({ ...common, name: 'agent pods', resource: PODS, namespace: opts.agents.namespace, labelSelector: opts.agents.podSelector, decode: decodePod });
    this.elector = new LeaderElector({
      api: this.api, namespace: opts.leaseNamespace, name: opts.leaseName, identity: opts.identity, timings: opts.leaderElection,
      logger: opts.logger, now: this.now,
      onStartedLeading: () => this.startLeading(),
      onStoppedLeading: () => this.stopLeading(),
    });
  }

  /** Starts watching and campaigning; returns at once (the API server may not be reachable yet). */
  start(): void {
    this.configs.start();
    this.nodes.start();
    this.pods.start();
    this.elector.start();
    this.log.info('controller started', { identity: this.opts.identity, watch_namespace: this.opts.watchNamespace || '(all)' });
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Releases leadership (so another replica takes over at once), then stops the watches. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.reconcileTimer);
    await this.reconciling;
    await this.elector.stop();
    this.stopLeading();
    await Promise.all([this.configs.stop(), this.nodes.stop(), this.pods.stop()]);
    this.log.info('controller stopped', { identity: this.opts.identity });
  }

  private startLeading(): void {
    this.leading = true;
    this.discoverLoop();
  }

  private stopLeading(): void {
    this.leading = false;
    clearTimeout(this.discoveryTimer);
    this.discoveryTimer = undefined;
  }

  /** Checks which monitoring APIs are served; a change triggers a reconcile. Re-arms itself while leading. */
  private discoverLoop(): void {
    if (!this.leading || this.stopped || this.discovering) return;
    this.discovering = (async () => {
      let changed = false;
      for (const kind of MONITOR_KINDS) {
        try {
          const resources = await this.api.apiResources(kind.group, kind.version);
          const served = resources?.includes(kind.plural) ?? false;
          if (this.discovered.get(kind.field) !== served) {
            changed = true;
            this.log.info(served ? 'monitoring API found' : 'monitoring API not served', { api: `${kind.group}/${kind.version}`, kind: kind.kind });
          }
          this.discovered.set(kind.field, served);
        } catch (err) {
          this.log.warn('API discovery failed', { api: `${kind.group}/${kind.version}`, error: errorText(err) });
        }
      }
      if (changed) this.kick();
    })().finally(() => {
      this.discovering = undefined;
      if (this.leading && !this.stopped) {
        this.discoveryTimer = setTimeout(() => this.discoverLoop(), this.opts.discoveryIntervalMs);
        this.discoveryTimer.unref();
      }
    });
    this.kick();
  }

  /** Schedules a reconcile pass soon (coalescing bursts of events). */
  kick(delayMs = 20): void {
    if (this.stopped) return;
    if (this.reconciling) {
      this.dirty = true;
      return;
    }
    if (this.reconcileTimer) return;
    this.reconcileTimer = setTimeout(() => {
      this.reconcileTimer = undefined;
      this.reconciling = this.reconcile().finally(() => {
        this.reconciling = undefined;
        if (this.dirty) {
          this.dirty = false;
          this.kick();
        }
      });
    }, delayMs);
    this.reconcileTimer.unref();
  }

  private async reconcile(): Promise<void> {
    if (!this.leading || this.stopped) return;
    // Wait until every cache reflects a list: a half-filled cache would report wrong counts.
    if (![this.configs, this.nodes, this.pods].every((w) => w.lastResourceVersion !== '')) return;
    let ok = true;
    try {
      ok = await this.reconcileAll();
    } catch (err) {
      ok = false;
      this.log.error('reconcile failed', { error: String(err) });
    }
    this.passes++;
    if (ok) {
      this.failures = 0;
    } else {
      this.failures++;
      const delay = Math.min(30_000, 250 * 2 ** Math.min(this.failures, 8));
      clearTimeout(this.reconcileTimer);
      this.reconcileTimer = setTimeout(() => {
        this.reconcileTimer = undefined;
        this.kick(0);
      }, delay);
      this.reconcileTimer.unref();
    }
  }

  private async reconcileAll(): Promise<boolean> {
    const configs = this.configs.items().filter((c) => !c.metadata.deletionTimestamp).sort(comparePrecedence);
    const validation = new Map<MetricsManagerConfig, AcceptedSpec | RejectedSpec>(configs.map((c) => [c, validateSpec(c.spec)]));

    // Nodes that run an agent; a node counts as applied when all its live agent pods report the generation.
    const podsByNode = new Map<string, PodInfo[]>();
    for (const p of this.pods.items()) {
      if (!p.live || !p.nodeName) continue;
      podsByNode.set(p.nodeName, [...(podsByNode.get(p.nodeName) ?? []), p]);
    }
    const agentNodes = this.nodes.items().filter((n) => podsByNode.has(n.name));
    const assignment = assignNodes(agentNodes, configs);

    let ok = true;
    const monitors = new Map<MetricsManagerConfig, Map<MonitorKind['field'], MonitorOutcome>>(configs.map((c) => [c, new Map()]));
    for (const kind of MONITOR_KINDS) {
      if (!(await this.reconcileMonitors(kind, configs, validation, monitors))) ok = false;
    }

    for (const c of configs) {
      if (!this.leading || this.stopped) return ok;
      const v = validation.get(c)!;
      const a = assignment.get(c) ?? { governs: [], shadowed: [] };
      const want = appliedValue(c);
      const appliedNodes = a.governs.filter((n) => (podsByNode.get(n) ?? []).every((p) => p.annotations[APPLIED_ANNOTATION] === want));
      const shadowedBy = [...new Set(a.shadowed.map((s) => configRef(s.by)))].sort();
      if (!(await this.writeStatus(c, v, a.governs, appliedNodes, a.shadowed.map((s) => s.node), shadowedBy, monitors.get(c)!))) ok = false;
    }
    return ok;
  }

  /** Ensures the monitors of one kind; records the outcome per config. False when a write failed. */
  private async reconcileMonitors(
    kind: MonitorKind,
    configs: MetricsManagerConfig[],
    validation: Map<MetricsManagerConfig, AcceptedSpec | RejectedSpec>,
    out: Map<MetricsManagerConfig, Map<MonitorKind['field'], MonitorOutcome>>,
  ): Promise<boolean> {
    const modeOf = (c: MetricsManagerConfig) => {
      const v = validation.get(c)!;
      if (v.ok) return v.monitoring[kind.field].mode;
      const raw = c.spec?.monitoring?.[kind.field]?.mode;
      return raw === 'Disabled' || raw === 'Enabled' ? raw : 'Auto';
    };
    const owner = configs.find((c) => modeOf(c) !== 'Disabled');
    const served = this.discovered.get(kind.field);
    const set = (c: MetricsManagerConfig, o: MonitorOutcome) => out.get(c)!.set(kind.field, o);

    let ownerOutcome: MonitorOutcome | undefined;
    let ok = true;
    if (served === true) {
      const ownerSpec = owner ? validation.get(owner)! : undefined;
      if (owner && ownerSpec && !ownerSpec.ok) {
        ownerOutcome = { kind: 'owner-invalid' }; // nothing applied: leave the monitors as they are
      } else {
        try {
          const desired = owner && ownerSpec?.ok ? desiredMonitor(kind, owner, ownerSpec.monitoring[kind.field], this.opts.agents) : undefined;
          const created = await this.ensureMonitor(kind, desired);
          if (owner) {
            ownerOutcome = { kind: 'registered', name: `${owner.metadata.namespace}/${monitorName(owner.metadata.name ?? '')}` };
            if (created) await this.event(owner, 'Normal', 'MonitorRegistered', `created ${kind.kind} ${ownerOutcome.name} for the agents' Service`);
          }
        } catch (err) {
          ok = false;
          ownerOutcome = { kind: 'failed', error: errorText(err) };
          this.log.warn('registering monitor failed', { kind: kind.kind, error: errorText(err) });
        }
      }
    }

    for (const c of configs) {
      const mode = modeOf(c);
      if (mode === 'Disabled') set(c, { kind: 'disabled' });
      else if (served === undefined) set(c, { kind: 'api-unknown' });
      else if (served === false) set(c, { kind: 'api-missing', mode });
      else if (c === owner) set(c, ownerOutcome!);
      else set(c, { kind: 'by-other', owner: configRef(owner!) });
    }
    return ok;
  }

  /**
   * Makes the managed monitors of `kind` equal to `desired` (one object or none): creates or
   * replaces it, deletes any other object of that kind carrying our managed-by label.
   * Returns true when it created the object.
   */
  private async ensureMonitor(kind: MonitorKind, desired: Record<string, unknown> | undefined): Promise<boolean> {
    const { group, version, plural } = kind;
    const ns = this.opts.watchNamespace || undefined;
    const existing = await this.api.listCustom(group, version, plural, ns, `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`);
    const dm = desired?.metadata as { name: string; namespace: string } | undefined;
    let current: Record<string, unknown> | undefined;
    for (const e of existing.items) {
      const m = e.metadata as { name: string; namespace: string };
      if (dm && m.name === dm.name && m.namespace === dm.namespace) {
        current = e;
        continue;
      }
      try {
        await this.api.deleteCustom(group, version, plural, m.namespace, m.name);
        this.log.info('deleted monitor no longer wanted', { kind: kind.kind, name: `${m.namespace}/${m.name}` });
      } catch (err) {
        if (httpStatus(err) !== 404) throw err;
      }
    }
    if (!desired || !dm) return false;
    if (!current) {
      try {
        await this.api.createCustom(group, version, plural, dm.namespace, desired);
        this.log.info('registered monitor', { kind: kind.kind, name: `${dm.namespace}/${dm.name}` });
        return true;
      } catch (err) {
        if (httpStatus(err) !== 409) throw err;
        // An object of that name that we do not manage (or a race): take it over below.
        current = await this.api.getCustom(group, version, plural, dm.namespace, dm.name);
      }
    }
    if (!monitorUpToDate(current, desired)) {
      const rv = (current.metadata as { resourceVersion?: string }).resourceVersion;
      await this.api.replaceCustom(group, version, plural, dm.namespace, dm.name, { ...desired, metadata: { ...(desired.metadata as object), resourceVersion: rv } });
    }
    return false;
  }

  private monitorsCondition(generation: number, v: AcceptedSpec | RejectedSpec, outcomes: Map<MonitorKind['field'], MonitorOutcome>): DesiredCondition {
    const base = { type: 'MonitorsRegistered', observedGeneration: generation };
    if (!v.ok) return { ...base, status: 'False', reason: 'SpecInvalid', message: 'the spec is invalid; monitors were left as they were' };
    const parts: string[] = [];
    let failed = false;
    let missingEnabled = false;
    let registered = false;
    let byOther = false;
    let unknown = false;
    for (const kind of MONITOR_KINDS) {
      const o = outcomes.get(kind.field) ?? { kind: 'api-unknown' };
      const api = `${kind.group}/${kind.version}`;
      switch (o.kind) {
        case 'disabled': parts.push(`${kind.kind}: disabled`); break;
        case 'api-unknown': unknown = true; parts.push(`${kind.kind}: API discovery has not succeeded yet`); break;
        case 'api-missing':
          if (o.mode === 'Enabled') missingEnabled = true;
          parts.push(`${kind.kind}: ${api} is not served by the API server${o.mode === 'Auto' ? ' (Auto: registered once it appears)' : ''}`);
          break;
        case 'registered': registered = true; parts.push(`${kind.kind} ${o.name} registered`); break;
        case 'by-other': byOther = true; parts.push(`${kind.kind}: registered by the older config ${o.owner}`); break;
        case 'owner-invalid': parts.push(`${kind.kind}: left unchanged (spec invalid)`); break;
        case 'failed': failed = true; parts.push(`${kind.kind}: ${o.error}`); break;
      }
    }
    const message = parts.join('; ');
    if (failed) return { ...base, status: 'False', reason: 'RegistrationFailed', message };
    if (missingEnabled) return { ...base, status: 'False', reason: 'APINotFound', message };
    if (registered) return { ...base, status: 'True', reason: 'Registered', message };
    if (byOther) return { ...base, status: 'True', reason: 'RegisteredByOtherConfig', message };
    if (unknown) return { ...base, status: 'Unknown', reason: 'DiscoveryPending', message };
    const allDisabled = MONITOR_KINDS.every((k) => outcomes.get(k.field)?.kind === 'disabled');
    return { ...base, status: 'False', reason: allDisabled ? 'Disabled' : 'NoMonitoringAPI', message };
  }

  private async writeStatus(
    c: MetricsManagerConfig,
    v: AcceptedSpec | RejectedSpec,
    governs: string[],
    appliedNodes: string[],
    shadowedNodes: string[],
    shadowedBy: string[],
    monitors: Map<MonitorKind['field'], MonitorOutcome>,
  ): Promise<boolean> {
    const generation = c.metadata.generation ?? 0;
    const current = c.status ?? {};
    const overlap = shadowedNodes.length
      ? ` ${shadowedNodes.length} more node(s) match the nodeSelector but follow the older ${listNames(shadowedBy)} (the oldest config wins).`
      : '';

    const accepted: DesiredCondition = v.ok
      ? { type: 'Accepted', status: 'True', reason: 'Valid', message: 'the spec is valid', observedGeneration: generation }
      : { type: 'Accepted', status: 'False', reason: 'InvalidSpec', message: v.message, observedGeneration: generation };
    let applied: DesiredCondition;
    if (!v.ok) {
      applied = { type: 'Applied', status: 'False', reason: 'SpecInvalid', message: `nothing applied: the spec is invalid.${overlap}`, observedGeneration: generation };
    } else if (governs.length === 0) {
      applied = { type: 'Applied', status: 'False', reason: 'NoMatchingNodes', message: `no node running an agent is governed by this config.${overlap}`, observedGeneration: generation };
    } else if (appliedNodes.length === governs.length) {
      applied = { type: 'Applied', status: 'True', reason: 'Applied', message: `generation ${generation} applied on ${governs.length} node(s).${overlap}`, observedGeneration: generation };
    } else {
      const waiting = governs.filter((n) => !appliedNodes.includes(n));
      applied = { type: 'Applied', status: 'False', reason: 'Progressing', message: `generation ${generation} applied on ${appliedNodes.length} of ${governs.length} node(s); waiting for ${listNames(waiting)}.${overlap}`, observedGeneration: generation };
    }
    const conditions = mergeConditions(current.conditions, [accepted, this.monitorsCondition(generation, v, monitors), applied], k8sTime(this.now()));
    const desired: MetricsManagerConfigStatus = {
      observedGeneration: generation,
      conditions,
      nodes: { matched: governs.length, applied: appliedNodes.length, shadowed: shadowedNodes.length, ...(shadowedBy.length ? { shadowedBy } : {}) },
    };
    if (jsonEqual(desired, { observedGeneration: current.observedGeneration, conditions: current.conditions, nodes: current.nodes })) return true;

    const prevAccepted = current.conditions?.find((x: Condition) => x.type === 'Accepted');
    const prevShadowedBy = current.nodes?.shadowedBy ?? [];
    try {
      await this.api.patchCustomStatus(GROUP, VERSION, PLURAL, c.metadata.namespace ?? '', c.metadata.name ?? '', {
        status: { ...desired, nodes: { ...desired.nodes, shadowedBy: shadowedBy.length ? shadowedBy : null } },
      });
    } catch (err) {
      if (httpStatus(err) === 404) return true; // deleted meanwhile
      this.log.warn('writing status failed', { config: configRef(c), error: errorText(err) });
      return false;
    }
    if (!v.ok && (prevAccepted?.status !== 'False' || prevAccepted.message !== v.message)) {
      await this.event(c, 'Warning', 'InvalidSpec', v.message);
    }
    if (shadowedBy.length && !jsonEqual(shadowedBy, prevShadowedBy)) {
      await this.event(c, 'Warning', 'Overlap', `nodeSelector also matches ${shadowedNodes.length} node(s) governed by the older ${listNames(shadowedBy)}: ${listNames(shadowedNodes)}; those nodes keep the older config (oldest creationTimestamp wins, ties by namespace/name)`);
    }
    return true;
  }

  /** Best effort: an Event that cannot be written is only logged. */
  private async event(c: MetricsManagerConfig, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const ns = c.metadata.namespace ?? 'default';
    const ts = k8sTime(this.now());
    try {
      await this.api.createEvent(ns, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${c.metadata.name}.`, namespace: ns },
        involvedObject: { apiVersion: API_VERSION, kind: KIND, name: c.metadata.name, namespace: ns, uid: c.metadata.uid, resourceVersion: c.metadata.resourceVersion },
        type,
        reason,
        message: message.slice(0, 1024),
        source: { component: EVENT_COMPONENT },
        reportingComponent: EVENT_COMPONENT,
        reportingInstance: this.opts.identity,
        firstTimestamp: ts,
        lastTimestamp: ts,
        count: 1,
      });
    } catch (err) {
      this.log.debug('writing an event failed', { config: configRef(c), reason, error: errorText(err) });
    }
  }
}
