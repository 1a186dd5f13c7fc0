/**
 * manifests/ (plain YAML for `kubectl apply -f manifests/`) is the chart rendered with default
 * values, and the chart's copies of repository files are in sync. Both fail with the command that
 * fixes them: `npm run render-manifests`.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDoc, helm, rm, type K8sObject } from './chart';
import { validateObject } from './validate';

const FIX = 'run `npm run render-manifests`';

describe('manifests/ and the chart\'s copies', function () {
  before(function () {
    helm(this);
  });

  it('the chart\'s telegraf.conf and CRD are byte-identical to telegraf/telegraf.conf and crds/', function () {
    const stale = rm.syncChartCopies({ check: true }).filter((c) => c.state !== 'same');
    assert.deepEqual(stale.map((c) => `${c.to}: ${c.state} (source ${c.from})`), [], FIX);
  });

  it('manifests/ is up to date with the chart (rendered to memory and compared)', function () {
    const files = rm.renderManifests(helm(this));
    const problems = rm.diffManifests(files);
    assert.deepEqual(problems.map((p) => `manifests/${p.file}: ${p.state}`), [], FIX);
  });

  it('`node scripts/render-manifests.js --check` agrees (exit 0, nothing written)', function () {
    const r = spawnSync(process.execPath, [path.join(rm.ROOT, 'scripts', 'render-manifests.js'), '--check'], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /up to date/);
  });

  it('holds what `kubectl apply -f manifests/` needs, valid and in apply order', async function () {
    const dir = rm.MANIFESTS_DIR;
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
    assert.deepEqual(files, ['00-namespace.yaml', '01-crds.yaml', '02-rbac.yaml', '03-agent.yaml', '04-controller.yaml']);
    const objs: K8sObject[] = [];
    for (const f of files) {
      for (const d of rm.splitStream(readFileSync(path.join(dir, f), 'utf8'))) {
        const o = parseDoc(d.text);
        if (o) objs.push(o);
      }
    }
    const kinds = objs.map((o) => o.kind);
    for (const k of ['Namespace', 'CustomResourceDefinition', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ConfigMap', 'DaemonSet', 'Service', 'Deployment']) {
      assert.ok(kinds.includes(k), `manifests/ has a ${k}`);
    }
    assert.ok(!objs.some((o) => o.metadata.annotations?.['helm.sh/hook']), 'no helm hooks');
    const ns = objs.find((o) => o.kind === 'Namespace')!;
    assert.equal(ns.metadata.name, rm.NAMESPACE);
    assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'privileged', 'the agents mount host paths');
    for (const o of objs) {
      assert.deepEqual(await validateObject(o), [], `${o.kind} ${o.metadata.name}`);
      if (o.kind !== 'Namespace' && o.metadata.namespace !== undefined) assert.equal(o.metadata.namespace, rm.NAMESPACE);
      if (o.metadata.labels?.['app.kubernetes.io/managed-by']) assert.equal(o.metadata.labels['app.kubernetes.io/managed-by'], 'kubectl');
    }
    const crd = objs.find((o) => o.kind === 'CustomResourceDefinition')!;
    assert.equal(crd.metadata.name, 'metricsmanagerconfigs.metricsmanager.dev');
  });
});
