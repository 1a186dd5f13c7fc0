/**
 * ServiceMonitor (Prometheus Operator) and VMServiceScrape (VictoriaMetrics operator) objects for
 * the agents' Service. Pure: builds the desired objects; the controller writes them.
 *
 * One set of monitors per installation: the agents sit behind one Service, so a monitor per config
 * would scrape every agent once per config. Per kind, the owner is the oldest accepted config
 * (same precedence as node selection) whose mode for that kind is not Disabled. The monitor lives
 * in the owner's namespace with an ownerReference to it, so deleting the config deletes it.
 */

import type { ResourceRef } from '../kube/client';
import { labelValue, objectName } from '../kube/names';
import { API_VERSION, CONFIG_LABEL, INSTANCE_LABEL, KIND, MANAGED_BY_LABEL, MANAGED_BY_VALUE, type ObjectMeta } from '../kube/resources';
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
  /** The operator's object that selects monitors of this kind (same group and version). */
  scraper: { kind: 'Prometheus' | 'VMAgent'; plural: string };
}

export const MONITOR_KINDS: readonly MonitorKind[] = [
  { field: 'serviceMonitor', group: 'monitoring.coreos.com', version: 'v1', kind: 'ServiceMonitor', plural: 'servicemonitors', relabelField: 'relabelings', scraper: { kind: 'Prometheus', plural: 'prometheuses' } },
  {
    field: 'vmServiceScrape', group: 'operator.victoriametrics.com', version: 'v1beta1', kind: 'VMServiceScrape', plural: 'vmservicescrapes', relabelField: 'relabelConfigs',
    scraper: { kind: 'VMAgent', plural: 'vmagents' },
  },
];

/** Where the agents are: the Service the monitors select. */
export interface AgentService {
  namespace: string;
  /** Labels of the agents' Service (the monitors' selector). */
  labels: Record<string, string>;
  /** Name of the Service port that serves /metrics. */
  portName: string;
  /** Labels every registered monitor carries (e.g. kube-prometheus-stack's `release`); spec labels win. */
  monitorLabels?: Record<string, string>;
}

/** A monitor kind as a resource reference (for list and watch). */
export function monitorResource(kind: MonitorKind): ResourceRef {
  return { group: kind.group, version: kind.version, plural: kind.plural, namespaced: true };
}

/** The monitor's name: `<config>-metrics-manager`, cut with a hash suffix when the config name is long. */
export function monitorName(configName: string): string {
  return objectName(configName, '-metrics-manager');
}

/** The labels that mark a monitor as ours: managed by the controller of this installation. */
export function ownershipLabels(instance: string): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [INSTANCE_LABEL]: labelValue(instance) };
}

/** The same as a label selector string (list/watch of our own monitors). */
export function ownershipSelector(instance: string): string {
  return Object.entries(ownershipLabels(instance)).map(([k, v]) => `${k}=${v}`).join(',');
}

/** The monitor object `owner` should have for `kind`. */
export function desiredMonitor(kind: MonitorKind, owner: { metadata: ObjectMeta }, spec: ResolvedMonitor, agents: AgentService, instance: string): Record<string, unknown> {
  const m = owner.metadata;
  return {
    apiVersion: `${kind.group}/${kind.version}`,
    kind: kind.kind,
    metadata: {
      name: monitorName(m.name ?? ''),
      namespace: m.namespace,
      // kube-prometheus-stack selects monitors by `release: <name>`: users put that in spec labels.
      labels: { ...agents.monitorLabels, ...spec.labels, ...ownershipLabels(instance), [CONFIG_LABEL]: labelValue(m.name ?? '') },
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

/**
 * Whether an existing monitor already has what `desired` asks for: every field we set carries our
 * value (objects compared key by key, lists element by element at equal length). Fields the API
 * server defaulted (e.g. `relabelings[].action: replace`) or others added (extra labels) are not
 * differences, so a monitor the server stored is never rewritten just because it came back richer.
 */
export function monitorUpToDate(existing: Record<string, unknown>, desired: Record<string, unknown>): boolean {
  const em = (existing.metadata ?? {}) as ObjectMeta;
  const dm = desired.metadata as ObjectMeta;
  return isSubset(dm.labels ?? {}, em.labels ?? {}) && isSubset(dm.ownerReferences ?? [], em.ownerReferences ?? []) && isSubset(desired.spec ?? {}, existing.spec ?? {});
}

/** `want` ⊆ `have` in the sense above. */
export function isSubset(want: unknown, have: unknown): boolean {
  if (Array.isArray(want)) return Array.isArray(have) && want.length === have.length && want.every((w, i) => isSubset(w, have[i]));
  if (want && typeof want === 'object') {
    if (!have || typeof have !== 'object' || Array.isArray(have)) return false;
    return Object.entries(want).every(([k, v]) => v === undefined || isSubset(v, (have as Record<string, unknown>)[k]));
  }
  return want === have;
}
