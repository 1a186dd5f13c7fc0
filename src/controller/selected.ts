/**
 * Whether anything would scrape the monitors we register: the Prometheus Operator's Prometheus
 * objects select ServiceMonitors by `serviceMonitorSelector` and `serviceMonitorNamespaceSelector`
 * and PodMonitors by `podMonitorSelector` and `podMonitorNamespaceSelector`; the VictoriaMetrics
 * operator's VMAgents select VMServiceScrapes by `serviceScrapeSelector`,
 * `serviceScrapeNamespaceSelector` and `selectAllByDefault`. Pure: the controller feeds it its
 * caches and turns the answer into the MonitorsSelected condition.
 *
 * Selector semantics, as the operators document them:
 * - Prometheus: a missing monitor selector selects no monitor of that kind (`{}` selects all); a
 *   missing namespace selector means the Prometheus object's own namespace only (`{}` means every
 *   namespace). ServiceMonitors and PodMonitors are selected independently.
 * - VMAgent: with both selectors missing it selects everything when selectAllByDefault is true and
 *   nothing otherwise; a missing namespace selector with a set object selector means its own
 *   namespace; a set namespace selector with a missing object selector means every object in the
 *   matching namespaces.
 */

import type { LabelSelector } from '../kube/resources';
import { selectorMatches } from '../kube/selection';

export interface Scraper {
  kind: 'Prometheus' | 'VMAgent';
  namespace: string;
  name: string;
  /** Object selector for one monitor kind (see FIELDS); null when the field is absent. */
  selector: LabelSelector | null;
  namespaceSelector: LabelSelector | null;
  /** VMAgent only. */
  selectAllByDefault?: boolean;
}

export type MonitorKindName = 'ServiceMonitor' | 'PodMonitor' | 'VMServiceScrape';

export interface RegisteredMonitor {
  kind: MonitorKindName;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** Where its labels come from, for the advice (e.g. `spec.monitoring.serviceMonitor.labels`, or chart values). */
  labelsField: string;
}

export type Selection = { selected: true } | { selected: false; why: string };

function selectorText(s: LabelSelector): string {
  const parts = Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of s.matchExpressions ?? []) parts.push(`${e.key} ${e.operator}${e.values?.length ? ` (${e.values.join(', ')})` : ''}`);
  return parts.length ? parts.join(', ') : '{} (everything)';
}

/** What `labels` lacks to satisfy `s`: the labels to add, and requirements that adding cannot meet. */
function missing(s: LabelSelector, labels: Record<string, string>): string {
  const add = Object.entries(s.matchLabels ?? {}).filter(([k, v]) => labels[k] !== v).map(([k, v]) => `${k}=${v}`);
  const other: string[] = [];
  for (const e of s.matchExpressions ?? []) {
    if (selectorMatches({ matchExpressions: [e] }, labels)) continue;
    if (e.operator === 'In') add.push(`${e.key}=${e.values?.[0] ?? ''}`);
    else if (e.operator === 'Exists') add.push(`${e.key}=<any value>`);
    else other.push(`${e.key} ${e.operator}${e.values?.length ? ` (${e.values.join(', ')})` : ''}`);
  }
  return [add.length ? `add the label(s) ${add.join(', ')}` : '', other.length ? `meet ${other.join('; ')}` : ''].filter(Boolean).join(' and ');
}

/** Per monitor kind: the object that selects it and its two selector fields. */
export const FIELDS = {
  ServiceMonitor: { scraper: 'Prometheus', selector: 'serviceMonitorSelector', namespaceSelector: 'serviceMonitorNamespaceSelector' },
  PodMonitor: { scraper: 'Prometheus', selector: 'podMonitorSelector', namespaceSelector: 'podMonitorNamespaceSelector' },
  VMServiceScrape: { scraper: 'VMAgent', selector: 'serviceScrapeSelector', namespaceSelector: 'serviceScrapeNamespaceSelector' },
} as const;

/** Whether `s` (decoded for `m`'s kind) selects `m`; if not, which selector misses and what to do about it. */
export function selects(s: Scraper, m: RegisteredMonitor, namespaceLabels: (ns: string) => Record<string, string> | undefined): Selection {
  const f = FIELDS[m.kind];
  const who = `${s.kind} ${s.namespace}/${s.name}`;
  let sel = s.selector;
  let nsSel = s.namespaceSelector;
  if (s.kind === 'VMAgent') {
    if (!sel && !nsSel) {
      if (s.selectAllByDefault) return { selected: true };
      return { selected: false, why: `${who} has neither ${f.selector} nor ${f.namespaceSelector} and selectAllByDefault is false, so it selects nothing` };
    }
    if (nsSel && !sel) sel = {};
  } else if (!sel) {
    return { selected: false, why: `${who} has no ${f.selector}, so it selects no ${m.kind}` };
  }
  if (!nsSel) {
    if (m.namespace !== s.namespace) return { selected: false, why: `${who} has no ${f.namespaceSelector}, so it only looks in namespace ${s.namespace}; the ${m.kind} is in ${m.namespace}` };
  } else {
    const nsl = namespaceLabels(m.namespace) ?? {};
    if (!selectorMatches(nsSel, nsl)) {
      return { selected: false, why: `${who}: ${f.namespaceSelector} ${selectorText(nsSel)} does not match namespace ${m.namespace} (${missing(nsSel, nsl)} on the namespace)` };
    }
  }
  if (!selectorMatches(sel!, m.labels)) {
    return { selected: false, why: `${who}: ${f.selector} ${selectorText(sel!)} misses ${m.kind} ${m.namespace}/${m.name} (${missing(sel!, m.labels)} under ${m.labelsField})` };
  }
  return { selected: true };
}

/** A scraper from a raw Prometheus or VMAgent object, as it selects monitors of `monitorKind`. */
export function scraperOf(monitorKind: MonitorKindName, raw: Record<string, unknown>): Scraper {
  const m = (raw.metadata ?? {}) as { name?: string; namespace?: string };
  const spec = (raw.spec ?? {}) as Record<string, unknown>;
  const f = FIELDS[monitorKind];
  const kind = f.scraper;
  const asSelector = (v: unknown): LabelSelector | null => (v && typeof v === 'object' ? (v as LabelSelector) : null);
  return {
    kind, namespace: m.namespace ?? '', name: m.name ?? '',
    selector: asSelector(spec[f.selector]), namespaceSelector: asSelector(spec[f.namespaceSelector]),
    ...(kind === 'VMAgent' ? { selectAllByDefault: spec.selectAllByDefault === true } : {}),
  };
}
