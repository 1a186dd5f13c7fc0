/**
 * The controller's composition root: watches MetricsManagerConfigs, Nodes (metadata only) and
 * agent Pods (every replica, so a new leader starts with warm caches), and while it holds the
 * leader Lease:
 * - validates each spec with the agent's config schema → condition Accepted;
 * - decides which config governs which node (src/kube/selection.ts) and counts the nodes
 *   whose agent reported the config's current generation (Pod annotation
 *   metricsmanager.dev/applied-generation) → status.nodes and condition Applied;
 * - registers ServiceMonitor / VMServiceScrape for the agents' Service when discovery shows those
 *   APIs (re-checked every discovery interval) → condition MonitorsRegistered;
 * - writes status through the status subresource, only when it changed, and Events on changes
 *   worth a human's attention (invalid spec, overlapping selectors, monitor registered).
 *
 * Event-driven: a work queue keyed by config (`namespace/name`, plus one key for the monitors)
 * de-duplicates work and retries failures per key with exponential backoff. A Node or Pod event
 * enqueues only the configs whose node selector matched the old or the new labels, and only when
 * something we read changed (labels; a Pod's node, liveness or applied annotation), so kubelet
 * heartbeats cost nothing. Node and Pod changes are coalesced for `statusCoalesceMs` so a rollout
 * of many agents writes a status a few times, not once per node. Monitors are read from a watch
 * of our own objects (label-selected), never listed per pass, and written only when a field we set
 * differs (subset check, so server defaults never cause a write).
 *
 * Two installations in one cluster stay apart: each handles only configs of its class
 * (spec.className, METRICS_MANAGER_CLASS) and only monitors labelled with its instance.
 */

import type { Logger } from '../log/logger';
import { k8sTime, jsonEqual, mergeConditions, type DesiredCondition } from './conditions';
import { createKubeApi, errorText, httpStatus, NAMESPACES, NODES, PODS, type KubeApi, type KubeConfig } from '../kube/client';
import { LeaderElector, type LeaderElectionTimings } from '../kube/leader-election';
import { watchResource, type ChangeType, type ListWatch, type ListWatchTimings } from '../kube/list-watch';
import { objectName } from '../kube/names';
import { sameLabels } from '../model/sample';
import { WorkQueue } from '../kube/work-queue';
import { scraperOf, selects, type MonitorKindName, type RegisteredMonitor, type Scraper } from './selected';
import { desiredMonitor, MONITOR_KINDS, monitorName, monitorResource, monitorUpToDate, ownershipSelector, type AgentService, type MonitorKind } from './monitors';
import {
  API_VERSION, APPLIED_ANNOTATION, appliedValue, configClass, configRef, CONFIGS, decodeConfig, decodeNode, decodePod, DEFAULT_CLASS, GROUP, KIND,
  PLURAL, VERSION, type Condition, type ObjectMeta, type MetricsManagerConfig, type MetricsManagerConfigStatus, type NodeInfo, type PodInfo,
} from '../kube/resources';
import { comparePrecedence, selectorMatches } from '../kube/selection';
import { validateSpec, type AcceptedSpec, type RejectedSpec } from '../kube/spec';

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  identity: string;
  /** Namespace and name of the leader Lease. */
  leaseNamespace: string;
  leaseName: string;
  /** Only configs in this namespace; '' or undefined = all namespaces. */
  watchNamespace?: string;
  /** The class of configs this installation handles (default DEFAULT_CLASS). */
  className?: string;
  /** This installation's name (Helm release), carried by the monitors it owns (default DEFAULT_CLASS). */
  instance?: string;
  agents: AgentService & { /** Label selector (string form) of the agent Pods. */ podSelector: string };
  /**
   * The PodMonitor the chart rendered (monitoring.podMonitor), if any: MonitorsSelected also says
   * whether a Prometheus selects it. The controller only reads it.
   */
  chartPodMonitor?: { namespace: string; name: string };
  discoveryIntervalMs: number;
  /** How long Node/Pod-driven status updates are gathered before one write (default 1000 ms). */
  statusCoalesceMs?: number;
  /** Page size of the lists (default 500). */
  pageSize?: number;
  leaderElection?: Partial<LeaderElectionTimings>;
  listWatch?: Partial<ListWatchTimings>;
  logger: Logger;
  now?: () => number;
}

type MonitorOutcome =
  | { kind: 'disabled' }
  | { kind: 'converted' }
  | { kind: 'api-missing'; mode: 'Auto' | 'Enabled' }
  | { kind: 'api-unknown' }
  | { kind: 'registered'; name: string; /** The labels we gave it (MonitorsSelected reads them). */ labels?: Record<string, string> }
  | { kind: 'by-other'; owner: string }
  | { kind: 'owner-invalid' }
  | { kind: 'failed'; error: string };

/** Per monitor kind: what the monitors key last achieved (the configs' status reads it). */
type KindState =
  | { served: undefined | false }
  | { served: true; owner: string | undefined; outcome: MonitorOutcome | undefined };

const EVENT_COMPONENT = 'metrics-manager-controller';
const MAX_NAMES_IN_MESSAGE = 5;
/** The work-queue key of the monitors (config keys always contain a '/'). */
const MONITORS_KEY = '~monitors';

/** A Prometheus / VMAgent object as it selects each monitor kind it reads. */
type ScraperObject = Partial<Record<MonitorKindName, Scraper>>;

/** Which monitor kinds the selecting object of each kind reads (a Prometheus: ServiceMonitors and PodMonitors). */
const SELECTED_KINDS: Record<MonitorKind['field'], MonitorKindName[]> = { serviceMonitor: ['ServiceMonitor', 'PodMonitor'], vmServiceScrape: ['VMServiceScrape'] };

/** The chart's PodMonitor, as the controller reads it. */
interface ChartMonitor { namespace: string; name: string; labels: Record<string, string> }

function listNames(names: string[]): string {
  const shown = names.slice(0, MAX_NAMES_IN_MESSAGE).join(', ');
  return names.length > MAX_NAMES_IN_MESSAGE ? `${shown} and ${names.length - MAX_NAMES_IN_MESSAGE} more` : shown;
}

export interface ControllerStats {
  /** Config reconciles run, status writes made (patches), monitor writes (create/update/delete). */
  reconciles: number;
  statusWrites: number;
  monitorWrites: number;
  /** Node events ignored because no label changed (heartbeats) or the node runs no agent. */
  nodeEventsIgnored: number;
}

export class Controller {
  readonly api: KubeApi;
  readonly configs: ListWatch<MetricsManagerConfig>;
  readonly nodes: ListWatch<NodeInfo>;
  readonly pods: ListWatch<PodInfo>;
  readonly elector: LeaderElector;
  readonly queue: WorkQueue;
  readonly stats: ControllerStats = { reconciles: 0, statusWrites: 0, monitorWrites: 0, nodeEventsIgnored: 0 };
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly className: string;
  private readonly instance: string;
  private readonly coalesceMs: number;
  /** Per monitor kind: the watch of our own monitors while the API is served. */
  private readonly monitorCaches = new Map<MonitorKind['field'], ListWatch<Record<string, unknown>>>();
  private readonly kindState = new Map<MonitorKind['field'], KindState>();
  /** Per monitor kind: the watch of the objects that select such monitors (Prometheus, VMAgent) while served. */
  private readonly scraperCaches = new Map<MonitorKind['field'], ListWatch<ScraperObject>>();
  /** The chart's PodMonitor (a watch of that one object) while the PodMonitor API is served. */
  private podMonitor: ListWatch<ChartMonitor> | undefined;
  private podMonitorServed: boolean | undefined;
  /** Namespace labels (namespace selectors of the scrapers), watched while any scraper API is served. */
  private namespaces: ListWatch<NodeInfo> | undefined;
  /** Nodes running at least one live agent Pod (their labels matter; other nodes' do not). */
  private agentNodes = new Set<string>();
  private leading = false;
  private stopped = false;
  private discoveryTimer: NodeJS.Timeout | undefined;
  private discovering: Promise<void> | undefined;

  constructor(private readonly opts: ControllerOptions) {
    this.now = opts.now ?? Date.now;
    this.log = opts.logger;
    this.className = opts.className || DEFAULT_CLASS;
    this.instance = opts.instance || DEFAULT_CLASS;
    this.coalesceMs = opts.statusCoalesceMs ?? 1000;
    this.api = createKubeApi(opts.kubeConfig);
    this.queue = new WorkQueue({ baseDelayMs: 250, maxDelayMs: 30_000 });
    const ns = opts.watchNamespace || undefined;
    // The first list of each cache queues everything; later relists report real changes through
    // onChange (the loop diffs against its cache), so a periodic resync costs no reconcile.
    const synced = new Set<string>();
    const onSynced = (name: string) => () => {
      if (synced.has(name)) return;
      synced.add(name);
      this.enqueueAll();
    };
    const common = { api: this.api, timings: opts.listWatch, logger: opts.logger, pageSize: opts.pageSize };
    this.configs = watchResource({ ...common, onSynced: onSynced('configs'), name: 'metricsmanagerconfigs', resource: CONFIGS, namespace: ns, decode: decodeConfig, onChange: (t, c, old) => this.onConfig(t, c, old) });
    // Nodes as metadata only: labels are all we need, and status heartbeats then cost little.
    this.nodes = watchResource({ ...common, onSynced: onSynced('nodes'), name: 'nodes', resource: NODES, metadataOnly: true, decode: decodeNode, onChange: (t, n, old) => this.onNode(t, n, old) });
    this.pods = watchResource({
      ...common, onSynced: onSynced('pods'), name: 'agent pods', resource: PODS, namespace: opts.agents.namespace, labelSelector: opts.agents.podSelector, decode: decodePod,
      onChange: (t, p, old) => this.onPod(t, p, old),
    });
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
    this.queue.start((key) => (key === MONITORS_KEY ? this.reconcileMonitors() : this.reconcileConfig(key)));
    this.elector.start();
    this.log.info('controller started', { identity: this.opts.identity, watch_namespace: this.opts.watchNamespace || '(all)', class: this.className, instance: this.instance });
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Completed config reconciles (tests wait on it). */
  get passes(): number {
    return this.stats.reconciles;
  }

  /** Releases leadership (so another replica takes over at once), then stops the watches. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.queue.shutDown();
    await this.elector.stop();
    this.stopLeading();
    await Promise.all([
      this.configs.stop(), this.nodes.stop(), this.pods.stop(), this.namespaces?.stop(), this.podMonitor?.stop(),
      ...[...this.monitorCaches.values(), ...this.scraperCaches.values()].map((c) => c.stop()),
    ]);
    this.log.info('controller stopped', { identity: this.opts.identity });
  }

  // ---- events → keys -------------------------------------------------------------------------

  private ours(c: MetricsManagerConfig | undefined): boolean {
    return !!c && configClass(c) === this.className;
  }

  /** Our configs, oldest first, without those being deleted. */
  private liveConfigs(): MetricsManagerConfig[] {
    return this.configs.items().filter((c) => this.ours(c) && !c.metadata.deletionTimestamp).sort(comparePrecedence);
  }

  private enqueueAll(): void {
    if (!this.leading) return;
    // Monitors first: the configs' status then reports what was just registered.
    this.queue.add(MONITORS_KEY);
    for (const c of this.configs.items()) if (this.ours(c)) this.queue.add(configRef(c));
  }

  private onConfig(type: ChangeType, c: MetricsManagerConfig, old: MetricsManagerConfig | undefined): void {
    if (!this.ours(c) && !this.ours(old)) return;
    // Our own status writes come back as MODIFIED with the same generation: nothing to do.
    if (type === 'MODIFIED' && old && old.metadata.generation === c.metadata.generation && old.metadata.deletionTimestamp === c.metadata.deletionTimestamp && configClass(old) === configClass(c)) return;
    // A config's arrival, departure or edit can change precedence, overlaps and monitor ownership
    // for the others: they are few, and a reconcile that changes nothing writes nothing.
    this.enqueueAll();
  }

  /** Queues, after the coalescing delay, every config whose selector matches one of the label sets. */
  private enqueueMatching(labelSets: (Record<string, string> | undefined)[]): void {
    if (!this.leading) return;
    for (const c of this.liveConfigs()) {
      if (labelSets.some((l) => l && selectorMatches(c.spec?.nodeSelector, l))) this.queue.addAfter(configRef(c), this.coalesceMs);
    }
  }

  private onNode(type: ChangeType, n: NodeInfo, old: NodeInfo | undefined): void {
    if ((type === 'MODIFIED' && sameLabels(n.labels ?? {}, old?.labels ?? {})) || !this.agentNodes.has(n.name)) {
      this.stats.nodeEventsIgnored++;
      return;
    }
    this.enqueueMatching([n.labels, old?.labels]);
  }

  private onPod(type: ChangeType, p: PodInfo, old: PodInfo | undefined): void {
    this.agentNodes = new Set(this.pods.items().filter((x) => x.live && x.nodeName).map((x) => x.nodeName));
    if (type === 'MODIFIED' && old && old.nodeName === p.nodeName && old.live === p.live && old.annotations[APPLIED_ANNOTATION] === p.annotations[APPLIED_ANNOTATION]) return;
    const nodes = new Set([p.nodeName, old?.nodeName].filter((x): x is string => !!x));
    this.enqueueMatching([...nodes].map((name) => this.nodes.get(name)?.labels));
  }

  // ---- leadership and discovery ---------------------------------------------------------------

  private startLeading(): void {
    this.leading = true;
    this.discoverLoop();
    this.enqueueAll();
  }

  private stopLeading(): void {
    this.leading = false;
    clearTimeout(this.discoveryTimer);
    this.discoveryTimer = undefined;
  }

  /** Checks which monitoring APIs are served; a change re-checks the monitors. Re-arms itself while leading. */
  private discoverLoop(): void {
    if (!this.leading || this.stopped || this.discovering) return;
    this.discovering = (async () => {
      for (const kind of MONITOR_KINDS) {
        try {
          const resources = await this.api.apiResources(kind.group, kind.version);
          this.setServed(kind, resources?.includes(kind.plural) ?? false);
          this.setScraperServed(kind, resources?.includes(kind.scraper.plural) ?? false);
          if (kind.field === 'serviceMonitor') this.setPodMonitorServed(resources?.includes('podmonitors') ?? false);
        } catch (err) {
          this.log.warn('API discovery failed', { api: `${kind.group}/${kind.version}`, error: errorText(err) });
        }
      }
    })().finally(() => {
      this.discovering = undefined;
      if (this.leading && !this.stopped) {
        this.discoveryTimer = setTimeout(() => this.discoverLoop(), this.opts.discoveryIntervalMs);
        this.discoveryTimer.unref();
      }
    });
  }

  /** Starts or stops the watch of our monitors of `kind` as its API appears or goes. */
  private setServed(kind: MonitorKind, served: boolean): void {
    const was = this.kindState.get(kind.field)?.served;
    if (was === served) return;
    this.log.info(served ? 'monitoring API found' : 'monitoring API not served', { api: `${kind.group}/${kind.version}`, kind: kind.kind });
    this.kindState.set(kind.field, served ? { served: true, owner: undefined, outcome: undefined } : { served: false });
    const cache = this.monitorCaches.get(kind.field);
    if (served && !cache) {
      const lw = watchResource<Record<string, unknown>>({
        api: this.api, name: kind.plural, resource: monitorResource(kind), namespace: this.opts.watchNamespace || undefined,
        labelSelector: ownershipSelector(this.instance), timings: this.opts.listWatch, logger: this.log, pageSize: this.opts.pageSize,
        decode: (raw) => raw, onChange: () => this.queue.add(MONITORS_KEY), onSynced: () => this.queue.add(MONITORS_KEY),
      });
      this.monitorCaches.set(kind.field, lw);
      lw.start();
    } else if (!served && cache) {
      this.monitorCaches.delete(kind.field);
      void cache.stop();
    }
    this.enqueueAll();
  }

  /** Starts or stops the watch of the Prometheus / VMAgent objects (and of namespace labels). */
  private setScraperServed(kind: MonitorKind, served: boolean): void {
    const cache = this.scraperCaches.get(kind.field);
    if (served === !!cache) return;
    if (served) {
      const lw = watchResource<ScraperObject>({
        api: this.api, name: kind.scraper.plural, resource: { group: kind.group, version: kind.version, plural: kind.scraper.plural, namespaced: true },
        timings: this.opts.listWatch, logger: this.log, pageSize: this.opts.pageSize,
        decode: (raw) => Object.fromEntries(SELECTED_KINDS[kind.field].map((k) => [k, scraperOf(k, raw)])), onChange: () => this.enqueueAll(), onSynced: () => this.enqueueAll(),
      });
      this.scraperCaches.set(kind.field, lw);
      lw.start();
      if (!this.namespaces) {
        this.namespaces = watchResource<NodeInfo>({
          api: this.api, name: 'namespaces', resource: NAMESPACES, metadataOnly: true, timings: this.opts.listWatch, logger: this.log, pageSize: this.opts.pageSize,
          decode: decodeNode, onChange: (t, n, old) => {
            if (t !== 'MODIFIED' || !sameLabels(n.labels ?? {}, old?.labels ?? {})) this.enqueueAll();
          },
        });
        this.namespaces.start();
      }
    } else {
      this.scraperCaches.delete(kind.field);
      void cache!.stop();
    }
    this.enqueueAll();
  }

  /** Starts or stops the watch of the chart's PodMonitor as the PodMonitor API appears or goes. */
  private setPodMonitorServed(served: boolean): void {
    const pm = this.opts.chartPodMonitor;
    if (!pm || this.podMonitorServed === served) return;
    this.podMonitorServed = served;
    if (served) {
      this.podMonitor = watchResource<ChartMonitor>({
        api: this.api, name: 'podmonitors', resource: { group: 'monitoring.coreos.com', version: 'v1', plural: 'podmonitors', namespaced: true },
        namespace: pm.namespace, fieldSelector: `metadata.name=${pm.name}`, timings: this.opts.listWatch, logger: this.log, pageSize: this.opts.pageSize,
        decode: (raw) => {
          const m = (raw.metadata ?? {}) as ObjectMeta;
          return { namespace: m.namespace ?? pm.namespace, name: m.name ?? pm.name, labels: m.labels ?? {} };
        },
        onChange: () => this.enqueueAll(), onSynced: () => this.enqueueAll(),
      });
      this.podMonitor.start();
    } else {
      void this.podMonitor?.stop();
      this.podMonitor = undefined;
    }
    this.enqueueAll();
  }

  /**
   * The MonitorsSelected condition: for every monitor this installation registered, does any
   * Prometheus / VMAgent select it? If not, which selector misses and what to add.
   */
  private selectedCondition(generation: number, c: MetricsManagerConfig, v: AcceptedSpec | RejectedSpec): DesiredCondition {
    const base = { type: 'MonitorsSelected', observedGeneration: generation };
    const ok: string[] = [];
    const problems: string[] = [];
    for (const kind of MONITOR_KINDS) {
      const o = this.monitorOutcome(kind, c, v);
      const state = this.kindState.get(kind.field);
      if ((o.kind !== 'registered' && o.kind !== 'by-other') || !state?.served || state.outcome?.kind !== 'registered') continue;
      const name = state.outcome.name;
      const [ns, n] = name.split('/') as [string, string];
      const monitor: RegisteredMonitor = {
        kind: kind.kind as RegisteredMonitor['kind'], namespace: ns, name: n, labels: state.outcome.labels ?? {},
        labelsField: `spec.monitoring.${kind.field}.labels of ${state.owner}`,
      };
      const okHere: string[] = [];
      const problemsHere: string[] = [];
      this.checkSelected(kind, monitor, okHere, problemsHere);
      // A ServiceMonitor the VictoriaMetrics operator converts is also read by VMAgents, as a
      // VMServiceScrape of the same name carrying its labels: either reader selecting it is enough.
      const vm = MONITOR_KINDS.find((k) => k.field === 'vmServiceScrape')!;
      if (kind.field === 'serviceMonitor' && this.modeOf(vm, c, v) === 'Converted' && this.scraperCaches.has(vm.field)) {
        this.checkSelected(vm, { ...monitor, kind: 'VMServiceScrape' }, okHere, problemsHere);
      }
      if (okHere.length) ok.push(...okHere);
      else problems.push(...problemsHere);
    }
    const pm = this.opts.chartPodMonitor;
    const smKind = MONITOR_KINDS.find((k) => k.field === 'serviceMonitor')!;
    if (pm && v.ok && this.podMonitorServed !== undefined) {
      const name = `${pm.namespace}/${pm.name}`;
      const found = this.podMonitor?.get(name);
      if (!this.podMonitorServed) problems.push(`PodMonitor ${name} (chart value monitoring.podMonitor): monitoring.coreos.com/v1 podmonitors is not served`);
      else if (!this.podMonitor?.lastResourceVersion) problems.push(`PodMonitor ${name}: not read yet`);
      else if (!found) problems.push(`PodMonitor ${name} (chart value monitoring.podMonitor) does not exist`);
      else {
        this.checkSelected(smKind, {
          kind: 'PodMonitor', namespace: found.namespace, name: found.name, labels: found.labels, labelsField: 'the chart values monitoring.podMonitor.labels or monitoring.monitorLabels',
        }, ok, problems);
      }
    }
    if (!ok.length && !problems.length) return { ...base, status: 'Unknown', reason: 'NoMonitors', message: 'no monitor is registered for this installation' };
    const message = [...problems, ...ok].join('; ');
    return problems.length ? { ...base, status: 'False', reason: 'NotSelected', message } : { ...base, status: 'True', reason: 'Selected', message };
  }

  /** Adds to `ok` or `problems` whether any object of `kind`'s selecting kind selects `monitor`. */
  private checkSelected(kind: MonitorKind, monitor: RegisteredMonitor, ok: string[], problems: string[]): void {
    const what = `${monitor.kind} ${monitor.namespace}/${monitor.name}`;
    const scrapers = this.scraperCaches.get(kind.field);
    if (!scrapers) {
      problems.push(`${what}: no ${kind.scraper.kind} API (${kind.scraper.plural}.${kind.group}) is served, so nothing in this cluster reads ${monitor.kind}s`);
      return;
    }
    if (!scrapers.lastResourceVersion) {
      problems.push(`${what}: ${kind.scraper.kind} objects not read yet`);
      return;
    }
    const all = scrapers.items().map((o) => o[monitor.kind]).filter((s): s is Scraper => !!s);
    if (all.length === 0) {
      problems.push(`${what}: no ${kind.scraper.kind} object exists`);
      return;
    }
    const results = all.map((s) => ({ s, r: selects(s, monitor, (x) => this.namespaces?.get(x)?.labels) }));
    const hit = results.filter((x) => x.r.selected).map((x) => `${x.s.namespace}/${x.s.name}`);
    if (hit.length) ok.push(`${what} is selected by ${kind.scraper.kind} ${listNames(hit)}`);
    else problems.push(`${what} is selected by no ${kind.scraper.kind}: ${results.slice(0, 3).map((x) => (x.r.selected ? '' : x.r.why)).join('; ')}`);
  }

  // ---- monitors ---------------------------------------------------------------------------------

  /**
   * The mode of `kind` for `c`, where 'Converted' means: a VMServiceScrape in Auto mode is not
   * registered because the ServiceMonitor API is served and the config registers a ServiceMonitor,
   * which the VictoriaMetrics operator converts into a VMServiceScrape of the same name by default.
   * Registering ours as well would collide with that copy or scrape every agent twice.
   */
  private modeOf(kind: MonitorKind, c: MetricsManagerConfig, v: AcceptedSpec | RejectedSpec): 'Auto' | 'Enabled' | 'Disabled' | 'Converted' {
    const raw = (k: MonitorKind['field']) => {
      if (v.ok) return v.monitoring[k].mode;
      const m = c.spec?.monitoring?.[k]?.mode;
      return m === 'Disabled' || m === 'Enabled' ? m : 'Auto';
    };
    const mode = raw(kind.field);
    if (kind.field === 'vmServiceScrape' && mode === 'Auto' && this.kindState.get('vmServiceScrape')?.served && this.kindState.get('serviceMonitor')?.served && raw('serviceMonitor') !== 'Disabled') {
      return 'Converted';
    }
    return mode;
  }

  /** The monitors key: makes our monitors of every served kind what the owning config asks for. */
  private async reconcileMonitors(): Promise<void> {
    if (!this.leading || this.stopped || !this.configs.lastResourceVersion) return;
    const configs = this.liveConfigs();
    let failed: unknown;
    for (const kind of MONITOR_KINDS) {
      const state = this.kindState.get(kind.field);
      if (!state?.served) continue;
      const cache = this.monitorCaches.get(kind.field);
      if (!cache || !cache.lastResourceVersion) continue; // its onSynced queues us again
      const owner = configs.find((c) => {
        const m = this.modeOf(kind, c, validateSpec(c.spec));
        return m !== 'Disabled' && m !== 'Converted';
      });
      let outcome: MonitorOutcome | undefined;
      try {
        outcome = await this.syncMonitor(kind, owner, cache);
      } catch (err) {
        failed = err;
        outcome = { kind: 'failed', error: errorText(err) };
        this.log.warn('registering monitor failed', { kind: kind.kind, error: errorText(err) });
      }
      const ownerRef = owner ? configRef(owner) : undefined;
      if (state.owner !== ownerRef || !jsonEqual(state.outcome, outcome)) {
        this.kindState.set(kind.field, { served: true, owner: ownerRef, outcome });
        this.enqueueAll();
      }
    }
    if (failed) throw failed; // retried with backoff
  }

  /** Creates, updates or deletes our monitors of one kind; the owner's outcome. */
  private async syncMonitor(kind: MonitorKind, owner: MetricsManagerConfig | undefined, cache: ListWatch<Record<string, unknown>>): Promise<MonitorOutcome | undefined> {
    const { group, version, plural } = kind;
    const v = owner ? validateSpec(owner.spec) : undefined;
    if (owner && v && !v.ok) return { kind: 'owner-invalid' }; // nothing applied: leave the monitors as they are
    const desired = owner && v?.ok ? desiredMonitor(kind, owner, v.monitoring[kind.field], this.opts.agents, this.instance) : undefined;
    const dm = desired?.metadata as { name: string; namespace: string } | undefined;
    for (const e of cache.items()) {
      const m = e.metadata as { name: string; namespace: string };
      if (dm && m.name === dm.name && m.namespace === dm.namespace) continue;
      try {
        this.stats.monitorWrites++;
        await this.api.deleteCustom(group, version, plural, m.namespace, m.name);
        this.log.info('deleted monitor no longer wanted', { kind: kind.kind, name: `${m.namespace}/${m.name}` });
      } catch (err) {
        if (httpStatus(err) !== 404) throw err;
      }
    }
    if (!desired || !dm || !owner) return undefined;
    const name = `${dm.namespace}/${dm.name}`;
    let current = cache.get(name);
    if (!current) {
      try {
        this.stats.monitorWrites++;
        await this.api.createCustom(group, version, plural, dm.namespace, desired);
        this.log.info('registered monitor', { kind: kind.kind, name });
        await this.event(owner, 'Normal', 'MonitorRegistered', `created ${kind.kind} ${name} for the agents' Service`);
        return { kind: 'registered', name, labels: (desired.metadata as ObjectMeta).labels };
      } catch (err) {
        if (httpStatus(err) !== 409) throw err;
        // An object of that name without our labels (or not yet in our cache): take it over below.
        current = await this.api.getCustom(group, version, plural, dm.namespace, dm.name);
      }
    }
    if (!monitorUpToDate(current, desired)) {
      const rv = (current.metadata as { resourceVersion?: string }).resourceVersion;
      this.stats.monitorWrites++;
      await this.api.replaceCustom(group, version, plural, dm.namespace, dm.name, { ...desired, metadata: { ...(desired.metadata as object), resourceVersion: rv } });
    }
    return { kind: 'registered', name, labels: (desired.metadata as ObjectMeta).labels };
  }

  private monitorOutcome(kind: MonitorKind, c: MetricsManagerConfig, v: AcceptedSpec | RejectedSpec): MonitorOutcome {
    const mode = this.modeOf(kind, c, v);
    if (mode === 'Disabled') return { kind: 'disabled' };
    if (mode === 'Converted') return { kind: 'converted' };
    const state = this.kindState.get(kind.field);
    if (!state || state.served === undefined) return { kind: 'api-unknown' };
    if (!state.served) return { kind: 'api-missing', mode };
    if (state.owner === undefined || state.outcome === undefined) return { kind: 'api-unknown' };
    if (state.owner === configRef(c)) return state.outcome;
    return { kind: 'by-other', owner: state.owner };
  }

  // ---- one config -------------------------------------------------------------------------------

  private async reconcileConfig(key: string): Promise<void> {
    if (!this.leading || this.stopped) return;
    // Decide only on complete information: a half-filled cache would report wrong counts.
    if (![this.configs, this.nodes, this.pods].every((w) => w.lastResourceVersion !== '')) return;
    const c = this.configs.get(key);
    if (!c || !this.ours(c) || c.metadata.deletionTimestamp) return;
    this.stats.reconciles++;
    const v = validateSpec(c.spec);
    const ordered = this.liveConfigs();

    // Nodes running an agent that this config's selector matches: governed, or shadowed by an older one.
    const podsByNode = new Map<string, PodInfo[]>();
    for (const p of this.pods.items()) {
      if (!p.live || !p.nodeName) continue;
      podsByNode.set(p.nodeName, [...(podsByNode.get(p.nodeName) ?? []), p]);
    }
    const governs: string[] = [];
    const shadowed: { node: string; by: MetricsManagerConfig }[] = [];
    for (const nodeName of podsByNode.keys()) {
      const labels = this.nodes.get(nodeName)?.labels;
      if (!labels || !selectorMatches(c.spec?.nodeSelector, labels)) continue;
      const winner = ordered.find((x) => selectorMatches(x.spec?.nodeSelector, labels));
      if (winner === c || (winner && configRef(winner) === key)) governs.push(nodeName);
      else if (winner) shadowed.push({ node: nodeName, by: winner });
    }
    governs.sort();
    const want = appliedValue(c);
    const appliedNodes = governs.filter((n) => podsByNode.get(n)!.every((p) => p.annotations[APPLIED_ANNOTATION] === want));
    const shadowedBy = [...new Set(shadowed.map((s) => configRef(s.by)))].sort();
    const monitors = new Map<MonitorKind['field'], MonitorOutcome>(MONITOR_KINDS.map((k) => [k.field, this.monitorOutcome(k, c, v)]));
    if (!(await this.writeStatus(c, v, governs, appliedNodes, shadowed.map((s) => s.node).sort(), shadowedBy, monitors))) {
      throw new Error(`status of ${key} not written`); // retried with backoff
    }
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
        case 'converted': parts.push(`${kind.kind}: not registered (Auto): the VictoriaMetrics operator converts the ServiceMonitor into one; set mode Enabled only if its converter is off`); break;
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
    const allDisabled = MONITOR_KINDS.every((k) => outcomes.get(k.field)?.kind === 'disabled' || outcomes.get(k.field)?.kind === 'converted');
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
    const conditions = mergeConditions(current.conditions, [accepted, this.monitorsCondition(generation, v, monitors), this.selectedCondition(generation, c, v), applied], k8sTime(this.now()));
    const desired: MetricsManagerConfigStatus = {
      observedGeneration: generation,
      conditions,
      nodes: { matched: governs.length, applied: appliedNodes.length, shadowed: shadowedNodes.length, ...(shadowedBy.length ? { shadowedBy } : {}) },
    };
    if (jsonEqual(desired, { observedGeneration: current.observedGeneration, conditions: current.conditions, nodes: current.nodes })) return true;

    const prevAccepted = current.conditions?.find((x: Condition) => x.type === 'Accepted');
    const prevShadowedBy = current.nodes?.shadowedBy ?? [];
    try {
      this.stats.statusWrites++;
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
        // The server appends 5 characters to generateName; the whole must stay a valid name.
        metadata: { generateName: `${objectName(c.metadata.name ?? 'config', '', 240)}.`, namespace: ns },
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
