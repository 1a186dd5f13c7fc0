/**
 * The patch formats the fake API server accepts: JSON merge patch (RFC 7386), JSON patch
 * (RFC 6902), and strategic merge patch approximated as a merge patch (true for the maps we patch:
 * labels, annotations, status; list merge keys and $patch directives are not simulated and are
 * refused, so a test relying on them fails loudly instead of passing by accident).
 */

export class PatchError extends Error {}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  const check = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(check);
    else if (isObject(v)) {
      for (const k of Object.keys(v)) {
        if (k.startsWith('$')) throw new PatchError(`strategic merge directive ${k} is not simulated by the fake API server`);
        check(v[k]);
      }
    }
  };
  check(patch);
  return mergePatch(target, patch);
}

function unescape(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

function parsePointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) throw new PatchError(`invalid JSON pointer ${JSON.stringify(p)}`);
  return p.slice(1).split('/').map(unescape);
}

function get(doc: unknown, path: string[]): unknown {
  let cur = doc;
  for (const t of path) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else return undefined;
  }
  return cur;
}

function parentOf(doc: unknown, path: string[], op: string): { parent: Record<string, unknown> | unknown[]; key: string } {
  if (path.length === 0) throw new PatchError(`${op} on the document root is not supported`);
  const parent = get(doc, path.slice(0, -1));
  if (!Array.isArray(parent) && !isObject(parent)) throw new PatchError(`${op}: path /${path.join('/')} has no parent`);
  return { parent, key: path[path.length - 1]! };
}

function add(doc: unknown, path: string[], value: unknown): void {
  const { parent, key } = parentOf(doc, path, 'add');
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(i) || i < 0 || i > parent.length) throw new PatchError(`add: index ${key} out of range`);
    parent.splice(i, 0, clone(value));
  } else {
    parent[key] = clone(value);
  }
}

function remove(doc: unknown, path: string[]): unknown {
  const { parent, key } = parentOf(doc, path, 'remove');
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!Number.isInteger(i) || i < 0 || i >= parent.length) throw new PatchError(`remove: index ${key} out of range`);
    return parent.splice(i, 1)[0];
  }
  if (!(key in parent)) throw new PatchError(`remove: /${path.join('/')} does not exist`);
  const v = parent[key];
  delete parent[key];
  return v;
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch is an array of operations');
  const doc = clone(target);
  for (const raw of ops) {
    const o = raw as { op?: string; path?: string; from?: string; value?: unknown };
    const path = parsePointer(o.path ?? '');
    switch (o.op) {
      case 'add': add(doc, path, o.value); break;
      case 'remove': remove(doc, path); break;
      case 'replace': remove(doc, path); add(doc, path, o.value); break;
      case 'move': add(doc, path, remove(doc, parsePointer(o.from ?? ''))); break;
      case 'copy': add(doc, path, get(doc, parsePointer(o.from ?? ''))); break;
      case 'test':
        if (JSON.stringify(get(doc, path)) !== JSON.stringify(o.value)) throw new PatchError(`test failed at ${o.path}`);
        break;
      default: throw new PatchError(`unknown JSON patch op ${JSON.stringify(o.op)}`);
    }
  }
  return doc;
}
