/**
 * The renderer behaves like `helm template` on the features the chart relies on. Runs against a
 * small fixture chart (test/chart/fixtures/engine); with helm on PATH it checks helm itself, so the
 * expectations here are helm's behaviour, not the renderer's.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDoc, renderer, rm, ROOT, type RenderOptions } from './chart';

const FIXTURE = path.join(ROOT, 'test', 'chart', 'fixtures', 'engine');

describe('chart renderer (helm engine semantics)', function () {
  let tmp: string;
  before(function () {
    renderer(this);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'mm-engine-'));
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  function render(ctx: Mocha.Context, o: RenderOptions = {}): string {
    return rm.render({ releaseName: 'rel', namespace: 'ns', ...o, chartDir: FIXTURE } as RenderOptions, renderer(ctx));
  }
  function configMap(ctx: Mocha.Context, o: RenderOptions = {}): Record<string, string> {
    const doc = rm.splitStream(render(ctx, o)).find((d) => d.source.endsWith('configmap.yaml'));
    assert.ok(doc, 'configmap.yaml rendered');
    return (parseDoc(doc.text) as unknown as { data: Record<string, string> }).data;
  }

  it('provides .Release, .Chart, .Template, .Capabilities and .Files as helm does', function () {
    const d = configMap(this);
    assert.equal(d.release, 'rel');
    assert.equal(d.service, 'Helm');
    assert.equal(d.isInstall, 'true');
    assert.equal(d.revision, '1');
    assert.equal(d.chart, 'engine-1.2.3-4.5.6');
    assert.equal(d.template, 'engine/templates/configmap.yaml');
    assert.equal(d.basePath, 'engine/templates');
    assert.equal(d.hasApps, 'true');
    assert.equal(d.hasMonitoring, 'false');
    assert.equal(d.semver, 'true');
    assert.equal(d.file, 'line one\nline two\n');
    assert.equal(d.lines, '2');
    assert.equal(d.glob, 'files/other.conf;');
    assert.equal(d.missingFile, '');
    assert.equal(d.files, 'config.txt: |\n  line one\n  line two\n');
  });

  it('has include, tpl, toYaml, fromYaml, toJson, sprig, and lookup finds nothing', function () {
    const d = configMap(this);
    assert.equal(d.tpl, 'rel-engine');
    assert.equal(d.toYaml, 'a:\n- 1\n- two\nz: 1');
    assert.equal(d.fromYaml, '3');
    assert.equal(d.fromYamlError, 'true');
    assert.equal(d.nested, JSON.stringify({ drop: 'dropped', inner: { a: 1, b: 2 }, keep: 'kept' }));
    assert.equal(d.sprig, 'HELLOHELLO');
    assert.equal(d.lookup, '0');
    assert.equal(d.missing, '', 'a missing value renders as nothing, not "<no value>"');
  });

  it('reads values as helm does: YAML 1.1 and numbers as float64', function () {
    const d = configMap(this);
    assert.equal(d.list, 'x,true', 'a bare y is a boolean in YAML 1.1');
    assert.equal(d.big, '1e+06', "helm's float64 gotcha: large numbers print in exponent form unless piped through int");
    assert.equal(d.bigInt, '1000000');
    assert.equal(d.port, '9090');
  });

  it('coalesces values: -f files, --set (typed), --set-string, --set-json; null deletes a default', function () {
    const file = path.join(tmp, 'over.yaml');
    writeFileSync(file, 'nested:\n  drop: null\n  inner:\n    b: 20\n  added: yes\nport: 8080\n');
    const d = configMap(this, { valuesFiles: [file], set: ['enabled=false,nested.inner.c=3'], setString: ['nested.keep=007'], setJson: ['list=["a","b"]'] });
    assert.equal(d.port, '8080');
    assert.equal(d.enabled, 'false');
    assert.equal(d.list, 'a,b');
    assert.deepEqual(JSON.parse(d.nested!), { added: true, inner: { a: 1, b: 20, c: 3 }, keep: '007' });
  });

  it('sorts objects by kind like helm, prints CRDs first and hooks last, renders no partials', function () {
    const docs = rm.splitStream(render(this, { includeCrds: true }));
    assert.deepEqual(docs.map((d) => parseDoc(d.text)?.kind ?? '(comment)'), ['CustomResourceDefinition', 'ServiceAccount', 'ConfigMap', 'Deployment', '(comment)', 'Pod']);
    assert.equal(docs[0]!.source, 'engine/crds/thing.yaml');
    assert.ok(docs.every((d) => !d.text.includes('never rendered')));
    const skipped = rm.splitStream(render(this, { skipTests: true }));
    assert.ok(!skipped.some((d) => d.text.includes('test-hook')), '--skip-tests leaves out test hooks');
    assert.ok(!skipped.some((d) => d.source.includes('crds/')), 'CRDs only with --include-crds');
  });

  it('fails on required and fail, naming the template', function () {
    assert.throws(() => render(this, { set: ['name=fail'] }), /name must not be fail/);
    const ok = render(this, { set: ['required=given'] });
    assert.match(ok, /kind: Secret\nmetadata:\n {2}name: given/);
  });

  it('renders NOTES.txt', function () {
    assert.equal(rm.renderNotes({ releaseName: 'rel', namespace: 'ns', chartDir: FIXTURE } as RenderOptions, renderer(this)).trim(), 'Release rel in ns (port 9090).');
  });

  it('honours .Capabilities overrides (--api-versions, --kube-version) and the chart kubeVersion', function () {
    const d = configMap(this, { apiVersions: ['monitoring.coreos.com/v1'], kubeVersion: 'v1.29.3' });
    assert.equal(d.hasMonitoring, 'true');
    assert.equal(d.kube, '1.29 v1.29.3');
    assert.throws(() => render(this, { kubeVersion: 'v1.19.0' }), /kubeVersion/);
  });

  it('is built from the sources in test/chart/renderer (the cache key follows them)', function () {
    const r = renderer(this);
    if (r.kind === 'helm') this.skip();
    assert.ok(r.bin.startsWith(path.join(ROOT, '.tmp', 'chart-renderer')), r.bin);
  });
});
