/**
 * Names and shapes of the Kubernetes objects we read and write. crds/metricsmanagerconfig.yaml is
 * the source of truth for MetricsManagerConfig; these types follow it.
 */

import type { ResourceRef } from './client';

export const GROUP = 'metricsmanager.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'MetricsManagerConfig';
export const PLURAL = 'metricsmanagerconfigs';
/** The MetricsManagerConfig resource, for KubeApi.listAll and watchResource. */
export const CONFIGS: ResourceRef = { group: GROUP, version: VERSION, plural: PLURAL, namespaced: true };

/**
 * How an agent reports what it applied: it sets this annotation on its own Pod to
 * `<namespace>/<name>/<generation>` of the MetricsManagerConfig in force (removed when none is).
 */
export const APPLIED_ANNOTATION = 'metricsmanager.dev/applied-generation';

/** Labels on the monitor objects the controller owns (and finds again to clean up). */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'metrics-manager-controller';
export const CONFIG_LABEL = 'metricsmanager.dev/config';

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export type MonitorMode = 'Auto' | 'Enabled' | 'Disabled';

export interface MonitorSpec {
  mode?: MonitorMode;
  interval?: string;
  labels?: Record<string, string>;
}

export interface MetricsManagerConfigSpec {
  /** Which installation handles this config (see DEFAULT_CLASS); missing = the default class. */
  className?: string;
  nodeSelector?: LabelSelector;
  retention?: { seconds?: number; maxSeries?: number; maxStoreBytes?: number; maxSystemSeries?: number; historySeconds?: number };
  ingest?: { maxBatchSize?: number };
  rateLimit?: { enabled?: boolean; requestsPerMinute?: number; burst?: number; trustForwardedHeaders?: boolean };
  cors?: { origins?: string[]; allowCredentials?: boolean };
  stream?: { intervalMs?: number };
  forwarding?: { debounceMs?: number };
  monitoring?: { serviceMonitor?: MonitorSpec; vmServiceScrape?: MonitorSpec };
}

export type ConditionType = 'Accepted' | 'MonitorsRegistered' | 'Applied';

export interface Condition {
  type: ConditionType | string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface MetricsManagerConfigStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  nodes?: { matched: number; applied: number; shadowed?: number; shadowedBy?: string[] };
}

export interface MetricsManagerConfig {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: MetricsManagerConfigSpec;
  status?: MetricsManagerConfigStatus;
}

/**
 * The class a config belongs to when its spec names none. Each installation (controller and its
 * agents) handles the configs of one class (METRICS_MANAGER_CLASS), so two releases in a cluster
 * never act on each other's configs; with one installation nobody needs to set it.
 */
export const DEFAULT_CLASS = 'metrics-manager';

/** The class of a config (its spec.className, else DEFAULT_CLASS). */
export function configClass(c: { spec?: { className?: unknown } }): string {
  const v = c.spec?.className;
  return typeof v === 'string' && v !== '' ? v : DEFAULT_CLASS;
}

/** Label carrying the installation (Helm release) on the objects a controller owns. */
export const INSTANCE_LABEL = 'app.kubernetes.io/instance';

/** `namespace/name`: how configs are named in logs, status messages and annotations. */
export function configRef(c: { metadata: ObjectMeta }): string {
  return `${c.metadata.namespace ?? ''}/${c.metadata.name ?? ''}`;
}

/** The annotation value an agent sets once it applied `c` at its current generation. */
export function appliedValue(c: { metadata: ObjectMeta }): string {
  return `${configRef(c)}/${c.metadata.generation ?? 0}`;
}

export interface NodeInfo {
  name: string;
  labels: Record<string, string>;
}

export interface PodInfo {
  name: string;
  nodeName: string;
  annotations: Record<string, string>;
  live: boolean;
}

export function decodeConfig(raw: Record<string, unknown>): MetricsManagerConfig {
  return raw as unknown as MetricsManagerConfig;
}

export function decodeNode(raw: Record<string, unknown>): NodeInfo {
  const m = (raw.metadata ?? {}) as { name?: string; labels?: Record<string, string> };
  return { name: m.name ?? '', labels: m.labels ?? {} };
}

export function decodePod(raw: Record<string, unknown>): PodInfo {
  const m = (raw.metadata ?? {}) as { name?: string; annotations?: Record<string, string>; deletionTimestamp?: string };
  const spec = (raw.spec ?? {}) as { nodeName?: string };
  const phase = ((raw.status ?? {}) as { phase?: string }).phase;
  return { name: m.name ?? '', nodeName: spec.nodeName ?? '', annotations: m.annotations ?? {}, live: !m.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed' };
}

/** Collection path of MetricsManagerConfigs (all namespaces or one). */
export function configsPath(namespace?: string): string {
  return namespace ? `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}` : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
}
