/**
 * The agent's side of MetricsManagerConfig: on a Kubernetes node (NODE_NAME from the downward API
 * plus credentials), watch the configs and this node's labels, pick the config that governs this
 * node by the controller's rule (src/kube/selection.ts), and apply its node-level settings to
 * the live config at once. Then report it: the agent sets the annotation
 * `metricsmanager.dev/applied-generation: <namespace>/<name>/<generation>` on its own Pod
 * (POD_NAME/POD_NAMESPACE from the downward API), which the controller counts into
 * status.nodes.applied. No config in force → the node's own settings (env and defaults) return and
 * the annotation is removed.
 *
 * An invalid winning spec changes nothing: the last applied settings and report stay.
 */

import { ConfigError, type LiveConfig } from '../config/load';
import type { Config } from '../config/schema';
import { createKubeApi, errorText, NODES, type KubeApi, type KubeConfig } from '../kube/client';
import { settleWithin, watchResource, type ListWatch, type ListWatchTimings } from '../kube/list-watch';
import { APPLIED_ANNOTATION, appliedValue, configClass, configRef, CONFIGS, DEFAULT_CLASS, decodeConfig, decodeNode, type MetricsManagerConfig, type NodeInfo } from '../kube/resources';
import { configForNode } from '../kube/selection';
import { livePatch, validateSpec } from '../kube/spec';
import type { Logger } from '../log/logger';

export interface ClusterOptions {
  kubeConfig: KubeConfig;
  /** This node's name (downward API spec.nodeName). */
  nodeName: string;
  /** This agent's Pod (downward API metadata.name / metadata.namespace); without them nothing is reported. */
  podName?: string;
  podNamespace?: string;
  /** This agent Pod's UID (downward API metadata.uid): owner of the objects it writes. */
  podUid?: string;
  /** Only configs in this namespace; '' or undefined = all namespaces. */
  watchNamespace?: string;
  /** Only configs of this class (spec.className; default DEFAULT_CLASS), like the controller of this installation. */
  className?: string;
  listWatch?: Partial<ListWatchTimings>;
  /** Timings of the NodeFeature publisher (tests shorten them). */
  nodeFeature?: { syncIntervalMs?: number; discoveryIntervalMs?: number; backoffInitialMs?: number; backoffMaxMs?: number };
  /** Retry period for a failed applied-generation report. */
  reportRetryMs?: number;
}

export interface AppliedConfig {
  namespace: string;
  name: string;
  generation: number;
}

export interface ClusterWatcherDeps {
  live: LiveConfig;
  /** The node's own settings (env and defaults): what a spec's missing fields fall back to. */
  base: Config;
  logger: Logger;
}

export class ClusterConfigWatcher {
  private readonly api: KubeApi;
  private readonly configs: ListWatch<MetricsManagerConfig>;
  private readonly node: ListWatch<NodeInfo>;
  private current: AppliedConfig | null = null;
  /** The annotation value last written (undefined: not written yet by this process). */
  private reported: string | null | undefined;
  private reporting: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Invalid specs already logged (uid/generation), so each is logged once. */
  private readonly rejected = new Set<string>();
  private scheduled = false;
  private stopped = false;

  constructor(private readonly opts: ClusterOptions, private readonly deps: ClusterWatcherDeps) {
    this.api = createKubeApi(opts.kubeConfig);
    const ns = opts.watchNamespace || undefined;
    const schedule = () => this.schedule();
    const common = { api: this.api, timings: opts.listWatch, logger: deps.logger, onChange: schedule, onSynced: schedule };
    this.configs = watchResource({ ...common, name: 'metricsmanagerconfigs', resource: CONFIGS, namespace: ns, decode: decodeConfig });
    // Only its own node, and only its labels: the kubelet's status heartbeats are not our business.
    this.node = watchResource({ ...common, name: 'own node', resource: NODES, fieldSelector: `metadata.name=${opts.nodeName}`, metadataOnly: true, decode: decodeNode });
  }

  /** Starts the watches and returns at once: the agent serves with its own settings until a config arrives. */
  start(): void {
    this.configs.start();
    this.node.start();
    this.deps.logger.info('watching MetricsManagerConfig', { node: this.opts.nodeName, namespace: this.opts.watchNamespace || '(all)' });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await Promise.all([this.configs.stop(), this.node.stop()]);
    await settleWithin(this.reporting, 1000);
  }

  /** The config in force on this node, or null. */
  applied(): AppliedConfig | null {
    return this.current;
  }

  get nodeName(): string {
    return this.opts.nodeName;
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.apply();
    });
  }

  private apply(): void {
    // Decide only on complete information: both lists done at least once.
    if (this.stopped || this.configs.lastResourceVersion === '' || this.node.lastResourceVersion === '') return;
    const labels = this.node.get(this.opts.nodeName)?.labels ?? {};
    const className = this.opts.className || DEFAULT_CLASS;
    const winner = configForNode(labels, this.configs.items().filter((c) => configClass(c) === className));
    if (!winner) {
      if (this.current) {
        this.deps.live.update(livePatch(this.deps.base, {}));
        this.deps.logger.info('no MetricsManagerConfig governs this node any more; node settings restored', { node: this.opts.nodeName, was: `${this.current.namespace}/${this.current.name}` });
        this.current = null;
      }
      this.report();
      return;
    }
    const m = winner.metadata;
    const generation = m.generation ?? 0;
    if (this.current && this.current.namespace === m.namespace && this.current.name === m.name && this.current.generation === generation) {
      this.report();
      return;
    }
    const v = validateSpec(winner.spec);
    if (!v.ok) {
      this.logRejected(winner, v.message);
      return;
    }
    try {
      const before = this.deps.live.get();
      const patch = livePatch(this.deps.base, v.settings);
      const changed = Object.entries(patch).some(([k, val]) => JSON.stringify(before[k as keyof Config]) !== JSON.stringify(val));
      if (changed) this.deps.live.update(patch);
    } catch (err) {
      // Valid on its own but not with this node's other settings (e.g. CORS credentials vs env origins).
      this.logRejected(winner, err instanceof ConfigError ? err.message : String(err));
      return;
    }
    this.current = { namespace: m.namespace ?? '', name: m.name ?? '', generation };
    this.deps.logger.info('applied MetricsManagerConfig', { node: this.opts.nodeName, config: configRef(winner), generation });
    this.report();
  }

  private logRejected(c: MetricsManagerConfig, message: string): void {
    const key = `${c.metadata.uid}/${c.metadata.generation}`;
    if (this.rejected.has(key)) return;
    this.rejected.add(key);
    this.deps.logger.warn('MetricsManagerConfig not applied: invalid', { node: this.opts.nodeName, config: configRef(c), generation: c.metadata.generation, error: message });
  }

  /** Writes the applied-generation annotation on our Pod when it differs from the last one written. */
  private report(): void {
    const { podName, podNamespace } = this.opts;
    if (!podName || !podNamespace || this.stopped || this.reporting) return;
    const want = this.current ? appliedValue({ metadata: { namespace: this.current.namespace, name: this.current.name, generation: this.current.generation } }) : null;
    if (want === this.reported) return;
    this.reporting = this.api.patchPod(podNamespace, podName, { metadata: { annotations: { [APPLIED_ANNOTATION]: want } } }).then(
      () => {
        this.reported = want;
      },
      (err: unknown) => {
        this.deps.logger.warn('reporting the applied config on the pod failed; retrying', { pod: `${podNamespace}/${podName}`, error: errorText(err) });
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.report(), this.opts.reportRetryMs ?? 5000);
        this.retryTimer.unref();
      },
    ).finally(() => {
      this.reporting = undefined;
      // The wanted value may have moved on while we were writing.
      if (!this.stopped && this.reported === want) this.report();
    });
  }
}
