/**
 * crds/metricsmanagerconfig.yaml: a valid, structural apiextensions.k8s.io/v1 CRD with the columns,
 * subresource and short name we promise; ranges equal to the agent's config schema; every field
 * described (for kubectl explain). Example CRs in examples/ are checked against its schema.
 */

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { DURATION_PATTERN, SPEC_SETTINGS, validateSpec } from '../../src/kube/spec';
import { crdValidator, errorField, structuralToJsonSchema } from './crd-schema';
import { repoRoot } from './repo';

type Schema = Record<string, unknown>;

const ROOT = repoRoot(__dirname);
const CRD_PATH = path.join(ROOT, 'crds', 'metricsmanagerconfig.yaml');
const crd = parse(readFileSync(CRD_PATH, 'utf8')) as Schema;
const crdSpec = crd.spec as Schema;
const version = (crdSpec.versions as Schema[])[0]!;
const root = (version.schema as Schema).openAPIV3Schema as Schema;
const specSchema = (root.properties as Record<string, Schema>).spec!;

function at(schema: Schema, fields: readonly string[]): Schema | undefined {
  let cur: Schema | undefined = schema;
  for (const f of fields) cur = (cur?.properties as Record<string, Schema> | undefined)?.[f];
  return cur;
}

function examples(dir: string): { file: string; doc: Schema; text: string }[] {
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => {
    const text = readFileSync(path.join(dir, f), 'utf8');
    return { file: f, text, doc: parse(text) as Schema };
  });
}

describe('MetricsManagerConfig CRD', () => {
  it('is a valid apiextensions.k8s.io/v1 CustomResourceDefinition (kubernetes-models)', async () => {
    const { CustomResourceDefinition } = await import('kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition');
    new CustomResourceDefinition(crd as never).validate();
    assert.equal((crd.metadata as Schema).name, 'metricsmanagerconfigs.metricsmanager.dev');
  });

  it('names, scope, short name, status subresource and printer columns', () => {
    assert.equal(crdSpec.group, 'metricsmanager.dev');
    assert.equal(crdSpec.scope, 'Namespaced');
    assert.deepEqual((crdSpec.names as Schema).shortNames, ['mmc']);
    assert.equal((crdSpec.names as Schema).kind, 'MetricsManagerConfig');
    assert.equal((crdSpec.versions as Schema[]).length, 1);
    assert.equal(version.name, 'v1alpha1');
    assert.equal(version.served, true);
    assert.equal(version.storage, true);
    assert.deepEqual(version.subresources, { status: {} });
    const cols = (version.additionalPrinterColumns as Schema[]).map((c) => [c.name, c.jsonPath]);
    assert.deepEqual(cols, [
      ['Accepted', '.status.conditions[?(@.type=="Accepted")].status'],
      ['Nodes', '.status.nodes.matched'],
      ['Applied', '.status.nodes.applied'],
      ['Age', '.metadata.creationTimestamp'],
    ]);
  });

  it('is structural: every property has a type and a description (kubectl explain)', () => {
    const problems: string[] = [];
    // The API server refuses anything but `type: object` on the root metadata (structural schema rules).
    assert.deepEqual((root.properties as Record<string, Schema>).metadata, { type: 'object' });
    const walk = (s: Schema, where: string) => {
      for (const [name, p] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) {
        const w = `${where}.${name}`;
        if (w === '.metadata') continue;
        if (!p.type && !p['x-kubernetes-int-or-string'] && !p['x-kubernetes-preserve-unknown-fields']) problems.push(`${w}: no type`);
        if (typeof p.description !== 'string' || p.description.trim() === '') problems.push(`${w}: no description`);
        walk(p, w);
        if (p.items) walk(p.items as Schema, `${w}[]`);
      }
    };
    walk(root, '');
    assert.deepEqual(problems, []);
    assert.doesNotThrow(() => structuralToJsonSchema(root));
  });

  it('covers every node-level spec field the controller maps, with the config schema\'s ranges', () => {
    for (const { path: fields } of SPEC_SETTINGS) {
      const field = at(specSchema, fields);
      assert.ok(field, `spec.${fields.join('.')} is in the CRD`);
      const min = field.minimum as number | undefined;
      const max = field.maximum as number | undefined;
      if (field.type !== 'integer') continue;
      assert.ok(min !== undefined && max !== undefined, `spec.${fields.join('.')} has a range`);
      const spec = (v: number) => ({ [fields[0]]: { [fields[1]]: v } });
      const name = `spec.${fields.join('.')}`;
      assert.equal(validateSpec(spec(min)).ok, true, `${name} = minimum ${min} is valid for the config schema`);
      assert.equal(validateSpec(spec(max)).ok, true, `${name} = maximum ${max} is valid for the config schema`);
      assert.equal(validateSpec(spec(min - 1)).ok, false, `${name} = ${min - 1} is invalid for the config schema too`);
      assert.equal(validateSpec(spec(max + 1)).ok, false, `${name} = ${max + 1} is invalid for the config schema too`);
    }
    for (const kind of ['serviceMonitor', 'vmServiceScrape']) {
      const m = at(specSchema, ['monitoring', kind])!;
      assert.equal(at(m, ['interval'])!.pattern, DURATION_PATTERN, `${kind}.interval uses the controller's duration rule`);
      assert.deepEqual(at(m, ['mode'])!.enum, ['Auto', 'Enabled', 'Disabled']);
    }
    // …and nothing node-level in the CRD that the controller would ignore.
    const mapped = new Set(SPEC_SETTINGS.map((f) => f.path.join('.')));
    for (const [sec, s] of Object.entries(specSchema.properties as Record<string, Schema>)) {
      if (sec === 'nodeSelector' || sec === 'monitoring' || sec === 'className') continue;
      for (const f of Object.keys(s.properties as Schema)) assert.ok(mapped.has(`${sec}.${f}`), `spec.${sec}.${f} is mapped onto a config key`);
    }
  });

  it('defaults fill the monitoring section (as the API server would on create)', () => {
    const validate = crdValidator(crd, 'v1alpha1', { useDefaults: true });
    const obj: Schema = { apiVersion: 'metricsmanager.dev/v1alpha1', kind: 'MetricsManagerConfig', metadata: { name: 'x' } };
    assert.equal(validate(obj), true, JSON.stringify(validate.errors));
    assert.deepEqual(obj.spec, {
      nodeSelector: {},
      monitoring: { serviceMonitor: { mode: 'Auto', interval: '15s' }, vmServiceScrape: { mode: 'Auto', interval: '15s' } },
    });
    assert.equal(validateSpec(obj.spec).ok, true);
  });

  describe('examples/', () => {
    const validate = crdValidator(crd, 'v1alpha1');

    for (const ex of examples(path.join(ROOT, 'examples'))) {
      it(`${ex.file} is valid for the CRD and for the controller`, () => {
        assert.equal(ex.doc.apiVersion, 'metricsmanager.dev/v1alpha1');
        assert.equal(ex.doc.kind, 'MetricsManagerConfig');
        assert.equal(validate(ex.doc), true, JSON.stringify(validate.errors, null, 1));
        const v = validateSpec(ex.doc.spec);
        assert.equal(v.ok, true, v.ok ? '' : v.message);
      });
    }

    for (const ex of examples(path.join(ROOT, 'examples', 'invalid'))) {
      const m = /^# expect-invalid: (schema|controller) (\S+)$/m.exec(ex.text);
      it(`invalid/${ex.file} is refused, naming ${m?.[2] ?? '?'}`, () => {
        assert.ok(m, 'the file says what must fail: # expect-invalid: schema|controller <field>');
        const [, by, field] = m;
        const schemaOk = validate(ex.doc);
        if (by === 'schema') {
          assert.equal(schemaOk, false, 'the CRD schema refuses it');
          assert.ok(validate.errors!.some((e) => errorField(e) === field), `errors name ${field}: ${JSON.stringify(validate.errors!.map(errorField))}`);
        } else {
          assert.equal(schemaOk, true, `the API server accepts it: ${JSON.stringify(validate.errors)}`);
          const v = validateSpec(ex.doc.spec);
          assert.equal(v.ok, false, 'the controller refuses it');
          if (!v.ok) assert.ok(v.problems.some((p) => p.field === field), `problems name ${field}: ${v.message}`);
        }
      });
    }
  });
});
