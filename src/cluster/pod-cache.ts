/**
 * The pods of this agent's own node, kept by a list+watch with `fieldSelector=spec.nodeName=<node>`
 * (src/kube/list-watch.ts: resume, relist on 410, periodic resync). It answers two questions:
 *
 *   - which pod and container a pod UID and container id (from a process's cgroup) are
 *     (`ownerLabels`, for per-pod accelerator series);
 *   - who sent a push, by source address (`sourceOf`): a pod (namespace, name), the node itself
 *     (a host-network pod, or one of the node's own addresses), or unknown.
 *
 * Only what those need is kept per pod (UID, namespace, name, pod IPs, hostNetwork, host IPs,
 * container id → name); the cache holds at most `maxPods` pods (newcomers past it are dropped and
 * counted; a relist tries again). Outside a cluster there is no cache and callers fall back.
 */

import type { PodDirectory } from '../collectors/pod-directory';
import { createKubeApi, PODS, type KubeApi, type KubeConfig } from '../kube/client';
import { watchResource, type ListWatch, type ListWatchTimings } from '../kube/list-watch';
import type { Logger } from '../log/logger';
import type { Labels } from '../model/sample';

/** One pod of the node, as much as the agent needs. */
export interface NodePod {
  uid: string;
  namespace: string;
  name: string;
  /** status.podIPs (or status.podIP), normalised. */
  ips: string[];
  hostNetwork: boolean;
  /** status.hostIPs (or status.hostIP): the node's addresses as the kubelet reports them. */
  hostIps: string[];
  /** Container id (without the `containerd://` prefix) → container name: init, regular and ephemeral. */
  containers: Map<string, string>;
}

/** Who pushed, by source address. */
export type PushSource = { kind: 'pod'; namespace: string; pod: string } | { kind: 'node' };

/** Kubelets run 110 pods by default and rarely more than 250; 1000 leaves room without being unbounded. */
export const DEFAULT_MAX_PODS = 1000;
/** Per pod: more addresses or containers than this are not kept (the API allows two IPs, one per family). */
const MAX_IPS_PER_POD = 8;
const MAX_CONTAINERS_PER_POD = 256;

/** `containerd://<id>`, `cri-o://<id>`, `docker://<id>` → `<id>` (lower case); undefined when empty. */
export function containerIdOf(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw === '') return undefined;
  const i = raw.indexOf('://');
  const id = (i >= 0 ? raw.slice(i + 3) : raw).trim().toLowerCase();
  return id === '' ? undefined : id;
}

/** IPv4-mapped IPv6 (`::ffff:10.0.0.5`, what a dual-stack socket reports) → `10.0.0.5`; IPv6 lower-cased. */
export function normaliseIp(ip: string): string {
  const lower = ip.trim().toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}

function ipsOf(list: unknown, single: unknown): string[] {
  const out = new Set<string>();
  if (Array.isArray(list)) {
    for (const e of list) {
      const ip = (e as { ip?: unknown } | null)?.ip;
      if (typeof ip === 'string' && ip !== '') out.add(normaliseIp(ip));
    }
  }
  if (typeof single === 'string' && single !== '') out.add(normaliseIp(single));
  return [...out].slice(0, MAX_IPS_PER_POD);
}

/** Decodes a Pod (list item or watch object) into what the cache keeps. Pure. */
export function decodeNodePod(raw: Record<string, unknown>): NodePod {
  const meta = (raw.metadata ?? {}) as { uid?: unknown; namespace?: unknown; name?: unknown };
  const spec = (raw.spec ?? {}) as { hostNetwork?: unknown };
  const status = (raw.status ?? {}) as Record<string, unknown>;
  const containers = new Map<string, string>();
  for (const field of ['initContainerStatuses', 'containerStatuses', 'ephemeralContainerStatuses']) {
    const list = status[field];
    if (!Array.isArray(list)) continue;
    for (const c of list as { name?: unknown; containerID?: unknown; lastState?: { terminated?: { containerID?: unknown } } }[]) {
      if (containers.size >= MAX_CONTAINERS_PER_POD) break;
      if (typeof c?.name !== 'string') continue;
      const id = containerIdOf(c.containerID);
      if (id) containers.set(id, c.name);
      // The previous instance of a restarted container may still hold a device for a moment.
      const last = containerIdOf(c.lastState?.terminated?.containerID);
      if (last && !containers.has(last)) containers.set(last, c.name);
    }
  }
  return {
    uid: typeof meta.uid === 'string' ? meta.uid.toLowerCase() : '',
    namespace: typeof meta.namespace === 'string' ? meta.namespace : '',
    name: typeof meta.name === 'string' ? meta.name : '',
    ips: ipsOf(status.podIPs, status.podIP),
    hostNetwork: spec.hostNetwork === true,
    hostIps: ipsOf(status.hostIPs, status.hostIP),
    containers,
  };
}

export interface PodCacheOptions {
  kubeConfig: KubeConfig;
  nodeName: string;
  maxPods?: number;
  listWatch?: Partial<ListWatchTimings>;
  logger: Logger;
  /** Injected for tests; default a client on `kubeConfig`. */
  api?: KubeApi;
}

/** Counters for self-metrics. */
export interface PodCacheStats {
  readonly pods: number;
  readonly relists: number;
  readonly dropped: number;
  readonly synced: boolean;
}

export class NodePodCache implements PodDirectory {
  private readonly watch: ListWatch<NodePod>;
  private readonly byUid = new Map<string, NodePod>();
  /** Pod IP → pod, for pods on the pod network only. */
  private readonly byIp = new Map<string, NodePod>();
  /** Labels objects handed out, per `uid|containerId`: the same object each time (cheap for the store). */
  private readonly labels = new Map<string, Labels>();
  /** The node's addresses: every pod's host IPs and host-network pods' IPs, with how many pods say so. */
  private readonly nodeIps = new Map<string, number>();
  private isSynced = false;

  constructor(private readonly opts: PodCacheOptions) {
    this.watch = watchResource({
      api: opts.api ?? createKubeApi(opts.kubeConfig),
      name: 'pods of this node',
      resource: PODS,
      fieldSelector: `spec.nodeName=${opts.nodeName}`,
      decode: decodeNodePod,
      maxItems: opts.maxPods ?? DEFAULT_MAX_PODS,
      timings: opts.listWatch,
      logger: opts.logger,
      onChange: (type, pod, old) => {
        if (old) this.unindex(old);
        if (type !== 'DELETED') this.index(pod);
      },
      onSynced: () => {
        this.isSynced = true;
      },
    });
  }

  start(): void {
    this.watch.start();
  }

  stop(): Promise<void> {
    return this.watch.stop();
  }

  /** Resolves after the first complete list. */
  synced(): Promise<void> {
    return this.watch.synced();
  }

  get nodeName(): string {
    return this.opts.nodeName;
  }

  get stats(): PodCacheStats {
    return { pods: this.byUid.size, relists: this.watch.stats.lists, dropped: this.watch.stats.dropped, synced: this.isSynced };
  }

  ownerLabels(podUid: string, containerId?: string): Labels | undefined {
    const pod = this.byUid.get(podUid.toLowerCase());
    if (!pod) return undefined;
    const container = containerId !== undefined ? pod.containers.get(containerId.toLowerCase()) : undefined;
    const key = `${pod.uid}|${container ?? ''}`;
    let l = this.labels.get(key);
    if (!l) {
      l = container !== undefined ? { namespace: pod.namespace, pod: pod.name, container } : { namespace: pod.namespace, pod: pod.name };
      this.labels.set(key, l);
    }
    return l;
  }

  /** Who has this source address: a pod on the pod network, the node, or nobody we know. */
  sourceOf(address: string): PushSource | undefined {
    const ip = normaliseIp(address);
    const pod = this.byIp.get(ip);
    if (pod) return { kind: 'pod', namespace: pod.namespace, pod: pod.name };
    if (this.nodeIps.has(ip)) return { kind: 'node' };
    return undefined;
  }

  private index(pod: NodePod): void {
    if (pod.uid) this.byUid.set(pod.uid, pod);
    for (const ip of pod.hostIps) this.nodeIps.set(ip, (this.nodeIps.get(ip) ?? 0) + 1);
    for (const ip of pod.ips) {
      if (pod.hostNetwork) this.nodeIps.set(ip, (this.nodeIps.get(ip) ?? 0) + 1);
      else this.byIp.set(ip, pod);
    }
  }

  private unindex(pod: NodePod): void {
    if (this.byUid.get(pod.uid) === pod) this.byUid.delete(pod.uid);
    for (const k of this.labels.keys()) if (k.startsWith(`${pod.uid}|`)) this.labels.delete(k);
    const drop = (ip: string) => {
      const n = (this.nodeIps.get(ip) ?? 0) - 1;
      if (n > 0) this.nodeIps.set(ip, n);
      else this.nodeIps.delete(ip);
    };
    for (const ip of pod.hostIps) drop(ip);
    for (const ip of pod.ips) {
      if (pod.hostNetwork) drop(ip);
      // A pod IP is reused only after its pod is gone; never unmap a newer pod's address.
      else if (this.byIp.get(ip) === pod) this.byIp.delete(ip);
    }
  }
}
