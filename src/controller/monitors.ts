/**
 * ServiceMonitor (Prometheus Operator) and VMServiceScrape (VictoriaMetrics operator) objects for
 * the agents' Service. Pure: builds the desired objects; the controller writes them.
 *
 * One set of monitors per installation: the agents sit behind one Service, so a monitor per config
 * would scrape every agent once per config. Per kind, the owner is the oldest accepted config
 * (same precedence as node selection) whose mode for that kind is not Disabled. The monitor lives
 * in the owner's namespace with an ownerReference to it, so deleting the config deletes it.
 */

import { API_VERSION, CONFIG_LABEL, KIND, MANAGED_BY_LABEL, MANAGED_BY_VALUE, type ObjectMeta } from '../kube/resources';
import type { ResolvedMonitor } from '../kube/spec';

export interface MonitorKind {
  /** The spec.monitoring field. */
  field: 'serviceMonitor' | 'vmServiceScrape';
  group: string;
  version: string;
  kind: string;
  plural: string;
  /** Where the endpoint's relabelling rules go in this kind. */
  relabelField: 'relabelings' | 'relabelConfigs';
}

export const MONITOR_KINDS: readonly MonitorKind[] = [
  { field: 'serviceMonitor', group: 'monitoring.coreos.com', version: 'v1', kind: 'ServiceMonitor', plural: 'servicemonitors', relabelField: 'relabelings' },
  { field: 'vmServiceScrape', group: 'operator.victoriametrics.com', version: 'v1beta1', kind: 'VMServiceScrape', plural: 'vmservicescrapes', relabelField: 'relabelConfigs' },
];

/** Where the agents are: the Service the monitors select. */
export interface AgentService {
  namespace: string;
  /** Labels of the agents' Service (the monitors' selector). */
  labels: Record<string, string>;
  /** Name of the Service port that serves /metrics. */
  portName: string;
}

export function monitorName(configName: string): string {
  return `${configName}-metrics-manager`.slice(0, 253);
}

/** The monitor object `owner` should have for `kind`. */
export function desiredMonitor(kind: MonitorKind, owner: { metadata: ObjectMeta }, spec: ResolvedMonitor, agents: AgentService): Record<string, unknown> {
  const m = owner.metadata;
  return {
    apiVersion: `${kind.group}/${kind.version}`,
    kind: kind.kind,
    metadata: {
      name: monitorName(m.name ?? ''),
      namespace: m.namespace,
      // kube-prometheus-stack selects monitors by `release: <name>`: users put that in spec labels.
      labels: { ...spec.labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [CONFIG_LABEL]: m.name ?? '' },
      // blockOwnerDeletion would need permission to set finalizers on the config; not worth asking for.
      ownerReferences: [{ apiVersion: API_VERSION, kind: KIND, name: m.name ?? '', uid: m.uid ?? '', controller: true }],
    },
    spec: {
      selector: { matchLabels: { ...agents.labels } },
      namespaceSelector: { matchNames: [agents.namespace] },
      // /metrics carries pushed metrics whose own labels (job, instance) must win: honorLabels, as
      // for a Pushgateway. /metrics/self is the agent's own health (alerts read it).
      endpoints: ['/metrics', '/metrics/self'].map((path) => ({
        port: agents.portName,
        path,
        interval: spec.interval,
        ...(path === '/metrics' ? { honorLabels: true } : {}),
        // The agent already sets `host` on system metrics; `node` names the Kubernetes node of the target.
        [kind.relabelField]: [{ sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node' }],
      })),
    },
  };
}

/** Whether an existing monitor already has what `desired` asks for (labels, owner, spec). */
export function monitorUpToDate(existing: Record<string, unknown>, desired: Record<string, unknown>): boolean {
  const em = (existing.metadata ?? {}) as ObjectMeta;
  const dm = desired.metadata as ObjectMeta;
  return JSON.stringify(sortKeys(em.labels ?? {})) === JSON.stringify(sortKeys(dm.labels ?? {}))
    && JSON.stringify(sortKeys(em.ownerReferences ?? [])) === JSON.stringify(sortKeys(dm.ownerReferences ?? []))
    && JSON.stringify(sortKeys(existing.spec ?? {})) === JSON.stringify(sortKeys(desired.spec ?? {}));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}
