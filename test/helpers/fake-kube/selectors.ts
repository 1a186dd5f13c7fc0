/**
 * Label and field selectors in their string (query parameter) form, as the fake API server
 * evaluates them: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x,y)` for labels;
 * `path=value`, `path!=value` on dotted paths (metadata.name, spec.nodeName, …) for fields.
 */

export type Predicate = (obj: Record<string, unknown>) => boolean;

function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter(Boolean);
}

export class SelectorError extends Error {}

export function parseLabelSelector(s: string | null | undefined): Predicate {
  if (!s) return () => true;
  const tests = splitTerms(s).map((term): ((labels: Record<string, string>) => boolean) => {
    let m = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (m) {
      const [, key, op, list] = m;
      const values = list!.split(',').map((v) => v.trim());
      return op === 'in' ? (l) => key! in l && values.includes(l[key!]!) : (l) => !(key! in l) || !values.includes(l[key!]!);
    }
    m = /^!\s*([^\s!=]+)$/.exec(term);
    if (m) return (l) => !(m![1]! in l);
    m = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s]*)$/.exec(term);
    if (m) {
      const [, key, op, value] = m;
      return op === '!=' ? (l) => l[key!] !== value : (l) => l[key!] === value;
    }
    m = /^([^\s!=(),]+)$/.exec(term);
    if (m) return (l) => m![1]! in l;
    throw new SelectorError(`unable to parse requirement: ${term}`);
  });
  return (obj) => {
    const labels = ((obj.metadata as { labels?: Record<string, string> } | undefined)?.labels) ?? {};
    return tests.every((t) => t(labels));
  };
}

function at(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const p of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/**
 * Fields a real API server lets Pods be selected by (pkg/registry/core/pod's field set); any other
 * field is refused with 400 "field label not supported", as there. Other kinds accept any path here.
 */
export const POD_SELECTABLE_FIELDS: ReadonlySet<string> = new Set([
  'metadata.name', 'metadata.namespace', 'spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName',
  'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.podIPs', 'status.nominatedNodeName',
]);

export function parseFieldSelector(s: string | null | undefined, selectable?: ReadonlySet<string>): Predicate {
  if (!s) return () => true;
  const tests = splitTerms(s).map((term): Predicate => {
    const m = /^([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw new SelectorError(`invalid field selector: ${term}`);
    const [, path, op, value] = m;
    if (selectable && !selectable.has(path!)) throw new SelectorError(`field label not supported: ${path}`);
    return op === '!=' ? (o) => String(at(o, path!) ?? '') !== value : (o) => String(at(o, path!) ?? '') === value;
  });
  return (obj) => tests.every((t) => t(obj));
}
