/**
 * A CRD's structural openAPIV3Schema → a JSON Schema ajv can check objects against, so example CRs
 * are validated the way the API server would validate them (minus CEL, which this CRD does not use).
 *
 * Conversion rules:
 * - `nullable: true` → the type also admits null;
 * - objects with `properties` reject unknown fields (`additionalProperties: false`): the API server
 *   prunes them, and kubectl's default strict field validation turns that into an error;
 * - `x-kubernetes-preserve-unknown-fields: true` keeps unknown fields; `x-kubernetes-int-or-string`
 *   admits integers and strings; `x-kubernetes-embedded-resource` admits apiVersion/kind/metadata;
 * - `x-kubernetes-list-type: set` → uniqueItems; `map` → items unique by `x-kubernetes-list-map-keys`
 *   (checked by the `k8sListMapKeys` keyword); `atomic` and `x-kubernetes-map-type` only affect
 *   server-side apply merging and are dropped;
 * - formats: int32/int64 become integer ranges, date-time a pattern (ajv has no formats built in);
 * - any other `x-kubernetes-*` extension (e.g. `x-kubernetes-validations`) throws, so a CRD change
 *   that this converter cannot honour fails the test instead of being silently skipped.
 */

import Ajv, { type ValidateFunction } from 'ajv';

type Schema = Record<string, unknown>;

const COPIED = new Set([
  'type', 'description', 'enum', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength', 'maxLength', 'pattern',
  'minItems', 'maxItems', 'uniqueItems', 'required', 'minProperties', 'maxProperties', 'default', 'title', 'example',
]);
const DROPPED_EXTENSIONS = new Set(['x-kubernetes-map-type', 'x-kubernetes-list-map-keys']);
const RFC3339 = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$';

export function structuralToJsonSchema(s: Schema, path = '#'): Schema {
  const out: Schema = {};
  let preserveUnknown = false;
  for (const [k, v] of Object.entries(s)) {
    if (COPIED.has(k)) out[k] = v;
    else if (k === 'properties') out.properties = Object.fromEntries(Object.entries(v as Record<string, Schema>).map(([p, ps]) => [p, structuralToJsonSchema(ps, `${path}.${p}`)]));
    else if (k === 'items') out.items = structuralToJsonSchema(v as Schema, `${path}[]`);
    else if (k === 'additionalProperties') out.additionalProperties = typeof v === 'boolean' ? v : structuralToJsonSchema(v as Schema, `${path}.*`);
    else if (k === 'allOf' || k === 'anyOf' || k === 'oneOf') out[k] = (v as Schema[]).map((x, i) => structuralToJsonSchema(x, `${path}/${k}${i}`));
    else if (k === 'not') out.not = structuralToJsonSchema(v as Schema, `${path}/not`);
    else if (k === 'nullable') { /* applied below */ }
    else if (k === 'format') {
      if (v === 'int32') Object.assign(out, { minimum: out.minimum ?? -(2 ** 31), maximum: out.maximum ?? 2 ** 31 - 1 });
      else if (v === 'date-time') out.pattern = RFC3339;
      else if (v !== 'int64') throw new Error(`${path}: format ${String(v)} is not handled by the converter`);
    } else if (k === 'x-kubernetes-preserve-unknown-fields') preserveUnknown = v === true;
    else if (k === 'x-kubernetes-int-or-string') { if (v === true) out.anyOf = [{ type: 'integer' }, { type: 'string' }]; }
    else if (k === 'x-kubernetes-embedded-resource') { if (v === true) preserveUnknown = true; }
    else if (k === 'x-kubernetes-list-type') {
      if (v === 'set') out.uniqueItems = true;
      else if (v === 'map') out.k8sListMapKeys = s['x-kubernetes-list-map-keys'];
      else if (v !== 'atomic') throw new Error(`${path}: x-kubernetes-list-type ${String(v)} is unknown`);
    } else if (DROPPED_EXTENSIONS.has(k)) { /* merge strategy only */ }
    else throw new Error(`${path}: ${k} is not handled by the converter`);
  }
  if (out.properties && out.additionalProperties === undefined && !preserveUnknown) out.additionalProperties = false;
  if (s.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  return out;
}

/** A validator for whole custom resources of one CRD version. */
export function crdValidator(crd: Schema, version: string, opts: { useDefaults?: boolean; prune?: boolean } = {}): ValidateFunction {
  const versions = ((crd.spec as Schema).versions as Schema[]);
  const v = versions.find((x) => x.name === version);
  if (!v) throw new Error(`CRD has no version ${version}`);
  const schema = structuralToJsonSchema(((v.schema as Schema).openAPIV3Schema) as Schema);
  // prune: drop unknown fields as the API server does (removeAdditional acts where the converter set additionalProperties: false).
  const ajv = new Ajv({ allErrors: !opts.prune, strict: true, useDefaults: opts.useDefaults ?? false, removeAdditional: opts.prune ? true : false });
  ajv.addKeyword({
    keyword: 'k8sListMapKeys',
    type: 'array',
    schemaType: 'array',
    validate: (keys: string[], data: unknown[]) => {
      const seen = new Set(data.map((item) => JSON.stringify(keys.map((k) => (item as Record<string, unknown>)[k]))));
      return seen.size === data.length;
    },
  });
  return ajv.compile(schema);
}

/** ajv error → the field path style kubectl and our conditions use: `spec.a.b[0].c`. */
export function errorField(e: { instancePath: string; params: Record<string, unknown>; keyword: string }): string {
  const segs = e.instancePath.split('/').filter(Boolean);
  if (e.keyword === 'additionalProperties') segs.push(String(e.params.additionalProperty));
  if (e.keyword === 'required') segs.push(String(e.params.missingProperty));
  return segs.map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : `${i ? '.' : ''}${s}`)).join('');
}
