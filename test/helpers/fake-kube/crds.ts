/**
 * Admission for custom resources in the FAKE API server: what a real server does on every write of
 * a CRD-served object — prune unknown fields, apply the schema's defaults, validate — turned into
 * a list of problems (empty = admitted; the server answers 422 otherwise).
 *
 * Two sources of schemas:
 * - our own CRD (crds/metricsmanagerconfig.yaml): its structural schema through ajv, which
 *   defaults, prunes and validates in one pass (test/controller/crd-schema.ts);
 * - the prometheus-operator's kinds (ServiceMonitor, PodMonitor, Prometheus): the validators that
 *   @kubernetes-models/prometheus-operator generates from the operator's API types, i.e. the full
 *   field set with its types, enums, patterns and required fields. Those validators carry no
 *   `default`s, so the defaults come from small fixtures (test/fixtures/crds/) that copy only the
 *   defaulted paths of the real CRDs (e.g. `relabelings[].action: replace`). Pruning follows the
 *   validators too: run once over a recording proxy, they read exactly the property names their
 *   schema declares, so an object whose declared names were read keeps only those (an object the
 *   validator enumerated is a map and keeps all keys; one it never looked into is free-form).
 *   Metadata is left to the ObjectMeta checks in server.ts, as the real server handles it apart.
 *
 * The package is ESM-only: its validators are loaded with import() by `loadOperatorSchemas()`,
 * which FakeKubeApiServer.start() awaits.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { crdValidator, errorField } from '../../controller/crd-schema';
import { repoRoot } from '../../controller/repo';

/** Prunes and defaults `obj` in place and returns what is wrong with it (empty = valid). */
export type SchemaCheck = (obj: Record<string, unknown>) => string[];

interface SchemaError { instancePath: string; params: Record<string, unknown>; keyword: string; message?: string }

function problemsOf(errors: readonly SchemaError[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${errorField(e) || '<root>'}: Invalid value: ${e.message ?? e.keyword}`);
}

type Schema = Record<string, unknown>;

function readCrdSchema(file: string, version: string): { crd: Schema; schema: Schema } {
  const crd = parse(readFileSync(path.join(repoRoot(), file), 'utf8')) as Schema;
  const v = ((crd.spec as Schema).versions as Schema[]).find((x) => x.name === version);
  if (!v) throw new Error(`${file} has no version ${version}`);
  return { crd, schema: (v.schema as Schema).openAPIV3Schema as Schema };
}

/** A defaulting, pruning check from the structural schema of the CRD in `file` (relative to the repository). */
export function crdSchema(file: string, version: string): SchemaCheck {
  const { crd } = readCrdSchema(file, version);
  const validate = crdValidator(crd, version, { useDefaults: true, prune: true });
  return (obj) => (validate(obj) ? [] : problemsOf(validate.errors));
}

/** Applies the `default`s of structural schema `s` to `v` in place (properties, items, additionalProperties). */
export function applyDefaults(s: Schema, v: unknown): void {
  if (Array.isArray(v)) {
    if (s.items) for (const x of v) applyDefaults(s.items as Schema, x);
    return;
  }
  if (!v || typeof v !== 'object') return;
  const o = v as Record<string, unknown>;
  for (const [k, ps] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) {
    if (o[k] === undefined && ps.default !== undefined) o[k] = JSON.parse(JSON.stringify(ps.default));
    if (o[k] !== undefined) applyDefaults(ps, o[k]);
  }
  if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    const known = new Set(Object.keys((s.properties ?? {}) as object));
    for (const [k, x] of Object.entries(o)) if (!known.has(k)) applyDefaults(s.additionalProperties as Schema, x);
  }
}

// ---- prometheus-operator kinds ------------------------------------------------------------------

export type OperatorKind = 'ServiceMonitor' | 'PodMonitor' | 'Prometheus';
const OPERATOR_KINDS: readonly OperatorKind[] = ['ServiceMonitor', 'PodMonitor', 'Prometheus'];

/** A generated validator: true when valid, else the ajv errors in `.errors`. */
type Validator = ((data: unknown) => boolean) & { errors?: SchemaError[] | null };

interface Loaded { validators: Map<OperatorKind, Validator> }

// Loaded once per process: the validators are immutable code, and import() is cached by Node anyway.
let loading: Promise<Loaded> | undefined;
let loaded: Loaded | undefined;

/**
 * The generated validators. The package exposes them only through its model classes
 * (`Model.prototype.validate`, which runs the validator on `this` and throws a ValidationError
 * carrying the ajv errors), so each becomes a plain function through that method.
 */
export function loadOperatorSchemas(): Promise<void> {
  loading ??= (async () => {
    const validators = new Map<OperatorKind, Validator>();
    for (const kind of OPERATOR_KINDS) {
      const mod = (await import(`@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${kind}`)) as Record<string, { prototype: { validate(this: unknown): void } }>;
      const validate = mod[kind]!.prototype.validate;
      const fn: Validator = (data) => {
        try {
          validate.call(data);
          fn.errors = null;
          return true;
        } catch (e) {
          const errors = (e as { errors?: SchemaError[] }).errors;
          if (!Array.isArray(errors)) throw e;
          fn.errors = errors;
          return false;
        }
      };
      validators.set(kind, fn);
    }
    loaded = { validators };
    return loaded;
  })();
  return loading.then(() => undefined);
}

interface Seen { read: Set<string>; enumerated: boolean }

/** Runs `validate` over a proxy of `obj` that records, per object, which property names it read. */
function recordReads(validate: Validator, obj: unknown): WeakMap<object, Seen> {
  const seen = new WeakMap<object, Seen>();
  const proxies = new WeakMap<object, object>();
  const wrap = (v: unknown): unknown => {
    if (!v || typeof v !== 'object') return v;
    const hit = proxies.get(v);
    if (hit) return hit;
    const rec: Seen = { read: new Set(), enumerated: false };
    seen.set(v, rec);
    const p = new Proxy(v, {
      get(t, k, r) {
        if (typeof k === 'string') rec.read.add(k);
        return wrap(Reflect.get(t, k, r));
      },
      has(t, k) {
        if (typeof k === 'string') rec.read.add(k);
        return Reflect.has(t, k);
      },
      ownKeys(t) {
        rec.enumerated = true;
        return Reflect.ownKeys(t);
      },
    });
    proxies.set(v, p);
    return p;
  };
  validate(wrap(obj));
  return seen;
}

/** Deletes the keys the validator did not read (see the header), depth first. */
function prune(v: unknown, seen: WeakMap<object, Seen>): void {
  if (!v || typeof v !== 'object') return;
  if (Array.isArray(v)) {
    for (const x of v) prune(x, seen);
    return;
  }
  const rec = seen.get(v);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (rec && !rec.enumerated && rec.read.size > 0 && !rec.read.has(k)) delete o[k];
    else prune(o[k], seen);
  }
}

/**
 * The admission of a prometheus-operator kind: prune by the generated validator, default from
 * `defaultsFile` (a fixture with the real CRD's defaulted paths), validate with the generated
 * validator.
 */
export function operatorSchema(kind: OperatorKind, defaultsFile: string): SchemaCheck {
  const defaults = readCrdSchema(defaultsFile, 'v1').schema;
  return (obj) => {
    if (!loaded) throw new Error('operator schemas not loaded: await loadOperatorSchemas() (FakeKubeApiServer.start() does)');
    const validate = loaded.validators.get(kind)!;
    const body: Record<string, unknown> = { ...obj };
    delete body.metadata;
    prune(body, recordReads(validate, body));
    for (const k of Object.keys(obj)) if (k !== 'metadata' && !(k in body)) delete obj[k];
    applyDefaults(defaults, obj);
    // The whole object, metadata included, against the generated schema (ObjectMeta types too).
    return validate(obj) ? [] : problemsOf(validate.errors);
  };
}
