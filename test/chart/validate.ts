/**
 * Validation of rendered objects against the Kubernetes OpenAPI schemas, without an API server:
 * - built-in kinds: kubernetes-models (the OpenAPI schema per kind: types, required fields,
 *   enums, formats) plus a strict unknown-field pass driven by @kubernetes/client-node's generated
 *   models (what `kubectl apply --validate=strict` would refuse: a misspelt field is silently
 *   dropped by a non-strict decoder);
 * - monitoring.coreos.com/v1: @kubernetes-models/prometheus-operator;
 * - operator.victoriametrics.com/v1beta1: structural checks of the fields we use (no schema package).
 */

import type { K8sObject } from './chart';

type Validator = (obj: K8sObject) => Promise<string[]>;

// kubernetes-models is ESM-only: loaded with import() from this CommonJS build.
async function modelClass(apiVersion: string, kind: string): Promise<(new (o: unknown) => { validate(): void }) | undefined> {
  let spec: string;
  if (apiVersion === 'monitoring.coreos.com/v1') spec = `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${kind}`;
  else if (apiVersion.includes('/')) spec = `kubernetes-models/${apiVersion}/${kind}`;
  else spec = `kubernetes-models/${apiVersion}/${kind}`;
  try {
    const mod = (await import(spec)) as Record<string, new (o: unknown) => { validate(): void }>;
    return mod[kind];
  } catch {
    return undefined;
  }
}

interface AttributeType {
  baseName: string;
  type: string;
}
type ModelClass = { getAttributeTypeMap(): AttributeType[] };

let clientNode: Record<string, unknown> | undefined;
function models(): Record<string, unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  clientNode ??= require('@kubernetes/client-node') as Record<string, unknown>;
  return clientNode;
}

/** Fields a strictly-decoding API server would reject, by path. */
export function unknownFields(obj: unknown, typeName: string, at = ''): string[] {
  const out: string[] = [];
  const walk = (v: unknown, type: string, p: string) => {
    if (v === null || v === undefined) return;
    const arr = /^Array<(.+)>$/.exec(type);
    if (arr) {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, arr[1]!, `${p}[${i}]`));
      return;
    }
    const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
    if (map) {
      if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, map[1]!, `${p}.${k}`);
      return;
    }
    const cls = models()[type] as ModelClass | undefined;
    if (!cls || typeof cls.getAttributeTypeMap !== 'function' || typeof v !== 'object' || Array.isArray(v)) return;
    const attrs = new Map(cls.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const t = attrs.get(k);
      if (t === undefined) out.push(`${p ? `${p}.` : ''}${k}`);
      else walk(x, t, `${p ? `${p}.` : ''}${k}`);
    }
  };
  walk(obj, typeName, at);
  return out;
}

const DURATION = /^([0-9]+(ms|s|m|h))+$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkLabels(where: string, labels: unknown, problems: string[]): void {
  if (labels === undefined) return;
  if (!labels || typeof labels !== 'object') {
    problems.push(`${where} must be a map`);
    return;
  }
  for (const [k, v] of Object.entries(labels)) {
    if (typeof v !== 'string') problems.push(`${where}.${k} must be a string, got ${JSON.stringify(v)}`);
    else if (v.length > 63 || !LABEL_VALUE.test(v)) problems.push(`${where}.${k}: invalid label value ${JSON.stringify(v)}`);
  }
}

/** VMServiceScrape (operator.victoriametrics.com/v1beta1): the fields this chart and the controller use. */
function checkVMServiceScrape(o: K8sObject): string[] {
  const p: string[] = [];
  const spec = o.spec as Record<string, unknown> | undefined;
  if (!spec) return ['spec is required'];
  const allowed = new Set(['selector', 'namespaceSelector', 'endpoints', 'jobLabel', 'targetLabels', 'podTargetLabels', 'discoveryRole', 'sampleLimit', 'attach_metadata']);
  for (const k of Object.keys(spec)) if (!allowed.has(k)) p.push(`spec.${k} is not a VMServiceScrape field`);
  const sel = spec.selector as { matchLabels?: unknown } | undefined;
  if (!sel || typeof sel !== 'object') p.push('spec.selector is required');
  else checkLabels('spec.selector.matchLabels', sel.matchLabels, p);
  const ns = spec.namespaceSelector as { matchNames?: unknown; any?: unknown } | undefined;
  if (ns && !(Array.isArray(ns.matchNames) && ns.matchNames.every((n) => typeof n === 'string')) && typeof ns.any !== 'boolean') p.push('spec.namespaceSelector needs matchNames[] or any');
  const eps = spec.endpoints;
  if (!Array.isArray(eps) || eps.length === 0) p.push('spec.endpoints must be a non-empty list');
  else {
    const epFields = new Set(['port', 'targetPort', 'path', 'scheme', 'params', 'interval', 'scrape_interval', 'scrapeTimeout', 'honorLabels', 'honorTimestamps', 'relabelConfigs', 'metricRelabelConfigs', 'bearerTokenSecret', 'basicAuth', 'tlsConfig', 'follow_redirects', 'vm_scrape_params', 'sampleLimit', 'seriesLimit']);
    eps.forEach((ep: Record<string, unknown>, i: number) => {
      for (const k of Object.keys(ep)) if (!epFields.has(k)) p.push(`spec.endpoints[${i}].${k} is not a VMServiceScrape endpoint field`);
      if (typeof ep.port !== 'string' || ep.port === '') p.push(`spec.endpoints[${i}].port must be a port name`);
      if (ep.path !== undefined && (typeof ep.path !== 'string' || !ep.path.startsWith('/'))) p.push(`spec.endpoints[${i}].path must start with /`);
      for (const d of ['interval', 'scrapeTimeout']) if (ep[d] !== undefined && !(typeof ep[d] === 'string' && DURATION.test(ep[d] as string))) p.push(`spec.endpoints[${i}].${d} must be a duration`);
      if (ep.honorLabels !== undefined && typeof ep.honorLabels !== 'boolean') p.push(`spec.endpoints[${i}].honorLabels must be a boolean`);
      const rc = ep.relabelConfigs;
      if (rc !== undefined) {
        if (!Array.isArray(rc)) p.push(`spec.endpoints[${i}].relabelConfigs must be a list`);
        else rc.forEach((r: Record<string, unknown>, j: number) => {
          const rf = new Set(['sourceLabels', 'source_labels', 'separator', 'targetLabel', 'target_label', 'regex', 'modulus', 'replacement', 'action', 'if', 'match', 'labels']);
          for (const k of Object.keys(r)) if (!rf.has(k)) p.push(`spec.endpoints[${i}].relabelConfigs[${j}].${k} is not a relabel field`);
        });
      }
    });
  }
  return p;
}

/** VMRule: groups[].rules[] with alert|record, expr, for, labels, annotations. */
function checkVMRule(o: K8sObject): string[] {
  const p: string[] = [];
  const groups = (o.spec as { groups?: unknown } | undefined)?.groups;
  if (!Array.isArray(groups) || groups.length === 0) return ['spec.groups must be a non-empty list'];
  const names = new Set<string>();
  groups.forEach((g: Record<string, unknown>, i: number) => {
    if (typeof g.name !== 'string' || g.name === '') p.push(`spec.groups[${i}].name is required`);
    else if (names.has(g.name)) p.push(`spec.groups[${i}].name ${g.name} is not unique`);
    else names.add(g.name);
    const rules = g.rules;
    if (!Array.isArray(rules) || rules.length === 0) {
      p.push(`spec.groups[${i}].rules must be a non-empty list`);
      return;
    }
    rules.forEach((r: Record<string, unknown>, j: number) => {
      const at = `spec.groups[${i}].rules[${j}]`;
      const allowed = new Set(['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations', 'debug', 'update_entries_limit']);
      for (const k of Object.keys(r)) if (!allowed.has(k)) p.push(`${at}.${k} is not a VMRule rule field`);
      if ((typeof r.alert === 'string') === (typeof r.record === 'string')) p.push(`${at} needs exactly one of alert and record`);
      if (typeof r.expr !== 'string' || r.expr.trim() === '') p.push(`${at}.expr is required`);
      if (r.for !== undefined && !(typeof r.for === 'string' && DURATION.test(r.for))) p.push(`${at}.for must be a duration`);
      checkLabels(`${at}.labels`, r.labels, p);
      if (r.annotations !== undefined && (typeof r.annotations !== 'object' || Object.values(r.annotations as object).some((v) => typeof v !== 'string'))) p.push(`${at}.annotations must map to strings`);
    });
  });
  return p;
}

const CUSTOM: Record<string, Validator> = {
  'operator.victoriametrics.com/v1beta1/VMServiceScrape': async (o) => checkVMServiceScrape(o),
  'operator.victoriametrics.com/v1beta1/VMRule': async (o) => checkVMRule(o),
};

/** Problems with one object (empty when valid). */
export async function validateObject(o: K8sObject): Promise<string[]> {
  if (!o || typeof o !== 'object') return ['not an object'];
  if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') return ['apiVersion and kind are required'];
  const problems: string[] = [];
  const meta = o.metadata;
  if (!meta || typeof meta.name !== 'string' || meta.name === '') problems.push('metadata.name is required');
  else if (meta.name.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(meta.name)) problems.push(`metadata.name ${meta.name} is not a DNS subdomain`);
  checkLabels('metadata.labels', meta?.labels, problems);
  const custom = CUSTOM[`${o.apiVersion}/${o.kind}`];
  if (custom) return [...problems, ...(await custom(o))];
  const Model = await modelClass(o.apiVersion, o.kind);
  if (!Model) return [...problems, `no schema for ${o.apiVersion} ${o.kind}`];
  try {
    new Model(o).validate();
  } catch (e) {
    problems.push((e as Error).message);
  }
  if (!o.apiVersion.includes('.') || o.apiVersion.includes('k8s.io/')) {
    // Built-in API group: the client's generated model lists every field.
    const cls = `V1${o.kind}`;
    if (models()[cls]) problems.push(...unknownFields(o, cls).map((f) => `unknown field ${f}`));
  }
  return problems;
}
