/**
 * Publishes this node's accelerator health to Kubernetes the way the ecosystem reads it:
 *
 * - one NodeFeature (nfd.k8s-sigs.io/v1alpha1) named `metrics-manager-<node>` in the agent's own
 *   namespace, labelled `nfd.node.kubernetes.io/node-name: <node>`, whose spec.labels Node Feature
 *   Discovery's master copies onto the Node. Only when that API is served: discovery runs at start
 *   and then every `discoveryIntervalMs` (minutes), never per cycle.
 * - core/v1 Events regarding the Node on health transitions, at most one per reason and device per
 *   `eventWindowMs`.
 *
 * Writes are create (missing object) or RFC 7386 merge patch (labels, owner), and only when the
 * wanted labels differ from what was last written: a quiet node costs no request. Failures back
 * off exponentially; everything runs on its own unref'd timer, so collection never waits for the
 * API server. The object is owned by the agent's Pod (POD_UID from the downward API): when the Pod
 * goes, the garbage collector deletes it and NFD drops the labels. Without a Pod UID the agent
 * deletes the object itself on shutdown.
 */

import { errorText, httpStatus, type KubeApi } from '../../kube/client';
import { objectName } from '../../kube/names';
import { sameLabels } from '../../model/sample';
import type { Logger } from '../../log/logger';
import { EventLimiter, healthLabels, transitions, type NodeHealth } from './health';

export const NFD_GROUP = 'nfd.k8s-sigs.io';
export const NFD_VERSION = 'v1alpha1';
export const NFD_PLURAL = 'nodefeatures';
/** The label by which nfd-master ties a NodeFeature to its node. */
export const NFD_NODE_LABEL = 'nfd.node.kubernetes.io/node-name';
const COMPONENT = 'metrics-manager-agent';

export interface NodeFeatureOptions {
  api: KubeApi;
  nodeName: string;
  /** The agent's namespace: where the NodeFeature and the Events are written. */
  namespace: string;
  podName?: string;
  /** The agent Pod's UID (downward API metadata.uid): the NodeFeature's owner. */
  podUid?: string;
  /** The current health (cheap, in memory). */
  health: () => NodeHealth;
  logger: Logger;
  now?: () => number;
  /** How often health is compared with what was written. */
  syncIntervalMs?: number;
  /** How often the NodeFeature API's presence is checked again. */
  discoveryIntervalMs?: number;
  /** At most one Event per reason and device in this window. */
  eventWindowMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  observer?: { write?(result: 'created' | 'patched' | 'deleted' | 'failed'): void; event?(reason: string, outcome: 'sent' | 'suppressed' | 'failed'): void };
}

export class NodeFeaturePublisher {
  readonly name: string;
  private readonly now: () => number;
  private readonly limiter: EventLimiter;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** undefined: not asked yet. */
  private apiServed: boolean | undefined;
  private discoveredAtMs = 0;
  /** The labels last written or found on the server; undefined: unknown (read before writing). */
  private written: Record<string, string> | undefined;
  private failures = 0;
  private notBeforeMs = 0;
  private lastHealth: NodeHealth | undefined;

  constructor(private readonly opts: NodeFeatureOptions) {
    this.now = opts.now ?? Date.now;
    this.name = objectName(`metrics-manager-${opts.nodeName}`);
    this.limiter = new EventLimiter(opts.eventWindowMs ?? 10 * 60_000);
  }

  /** The first sync waits one interval, so the collectors have run and health is known. */
  start(): void {
    this.schedule(this.opts.syncIntervalMs ?? 10_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    // Without an owner nobody else would remove it: take our labels off the node ourselves.
    if (!this.opts.podUid && this.apiServed && this.written !== undefined) {
      try {
        await this.opts.api.deleteCustom(NFD_GROUP, NFD_VERSION, NFD_PLURAL, this.opts.namespace, this.name);
        this.opts.observer?.write?.('deleted');
      } catch (err) {
        if (httpStatus(err) !== 404) this.opts.logger.warn('deleting the NodeFeature failed', { name: this.name, error: errorText(err) });
      }
    }
  }

  /** One sync now (tests; the timer calls the same). */
  async syncOnce(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.sync().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.syncOnce().finally(() => this.schedule(this.opts.syncIntervalMs ?? 10_000));
    }, ms);
    this.timer.unref();
  }

  private async sync(): Promise<void> {
    const health = this.opts.health();
    // Before the collectors' first cycle "absent" would only mean "not looked yet".
    if (!health.known) return;
    await this.sendEvents(health);
    const now = this.now();
    if (now < this.notBeforeMs) return;
    try {
      if (this.apiServed === undefined || (!this.apiServed && now - this.discoveredAtMs >= (this.opts.discoveryIntervalMs ?? 5 * 60_000))) {
        const names = await this.opts.api.apiResources(NFD_GROUP, NFD_VERSION);
        this.discoveredAtMs = now;
        const served = names?.includes(NFD_PLURAL) ?? false;
        if (served !== this.apiServed) this.opts.logger.info(served ? 'NodeFeature API found: publishing device health labels' : 'NodeFeature API not served: device health labels not published', { node: this.opts.nodeName });
        this.apiServed = served;
      }
      if (this.apiServed) await this.publish(healthLabels(health));
      this.failures = 0;
    } catch (err) {
      this.failures++;
      const delay = Math.min(this.opts.backoffMaxMs ?? 5 * 60_000, (this.opts.backoffInitialMs ?? 1000) * 2 ** (this.failures - 1));
      this.notBeforeMs = this.now() + delay;
      this.opts.observer?.write?.('failed');
      if (httpStatus(err) === 404) {
        // The CRD went away (or the object between read and patch): find out again next time.
        this.apiServed = undefined;
        this.written = undefined;
      }
      this.opts.logger.warn('publishing the NodeFeature failed; backing off', { name: this.name, error: errorText(err), retryInMs: delay });
    }
  }

  private async publish(want: Record<string, string>): Promise<void> {
    const { api, namespace } = this.opts;
    if (this.written === undefined) {
      let current: Record<string, unknown> | undefined;
      try {
        current = await api.getCustom(NFD_GROUP, NFD_VERSION, NFD_PLURAL, namespace, this.name);
      } catch (err) {
        if (httpStatus(err) !== 404) throw err;
      }
      if (!current) {
        await api.createCustom(NFD_GROUP, NFD_VERSION, NFD_PLURAL, namespace, {
          apiVersion: `${NFD_GROUP}/${NFD_VERSION}`,
          kind: 'NodeFeature',
          metadata: { name: this.name, namespace, labels: { [NFD_NODE_LABEL]: this.opts.nodeName }, ...this.owner() },
          spec: { labels: want },
          // Recent NFD releases list status as required (and have no status subresource).
          status: {},
        });
        this.written = { ...want };
        this.opts.observer?.write?.('created');
        return;
      }
      // Left by an earlier run of this agent: adopt it; the diff below decides whether to write.
      this.written = { ...((current.spec as { labels?: Record<string, string> } | undefined)?.labels ?? {}) };
      const owners = (current.metadata as { ownerReferences?: { uid?: string }[] } | undefined)?.ownerReferences ?? [];
      const ownedByUs = this.opts.podUid ? owners.length === 1 && owners[0]!.uid === this.opts.podUid : true;
      if (!ownedByUs) this.written = { ...this.written, '': 'owner' }; // forces one patch that sets the owner
    }
    if (sameLabels(this.written, want)) return;
    const labels: Record<string, string | null> = { ...want };
    for (const k of Object.keys(this.written)) if (k !== '' && !(k in want)) labels[k] = null;
    await api.patchCustom(NFD_GROUP, NFD_VERSION, NFD_PLURAL, namespace, this.name, {
      metadata: { labels: { [NFD_NODE_LABEL]: this.opts.nodeName }, ...this.owner() },
      spec: { labels },
    });
    this.written = { ...want };
    this.opts.observer?.write?.('patched');
  }

  private owner(): { ownerReferences?: object[] } {
    const { podName, podUid } = this.opts;
    if (!podName || !podUid) return {};
    return { ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: podName, uid: podUid }] };
  }

  private async sendEvents(health: NodeHealth): Promise<void> {
    const changes = transitions(this.lastHealth, health);
    this.lastHealth = health;
    for (const t of changes) {
      if (!this.limiter.allow(t.reason, t.device, this.now())) {
        this.opts.observer?.event?.(t.reason, 'suppressed');
        continue;
      }
      const node = this.opts.nodeName;
      const ts = new Date(Math.floor(this.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
      try {
        await this.opts.api.createEvent(this.opts.namespace, {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { generateName: `${objectName(node, '', 240)}.`, namespace: this.opts.namespace },
          // kubelet's convention for Node events: the node's name stands in for its UID.
          involvedObject: { apiVersion: 'v1', kind: 'Node', name: node, uid: node },
          type: t.type,
          reason: t.reason,
          message: t.message,
          source: { component: COMPONENT, host: node },
          reportingComponent: COMPONENT,
          reportingInstance: this.opts.podName ?? node,
          firstTimestamp: ts,
          lastTimestamp: ts,
          count: 1,
        });
        this.opts.observer?.event?.(t.reason, 'sent');
      } catch (err) {
        this.opts.observer?.event?.(t.reason, 'failed');
        this.opts.logger.debug('writing a health event failed', { reason: t.reason, device: t.device, error: errorText(err) });
      }
    }
  }
}

