/**
 * `helm package`: the archive users install holds what the chart needs (and not the test value
 * sets), renders exactly like the chart directory, and its README has no link that points outside
 * the archive.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { CHART_DIR, helm, rm, ROOT } from './chart';

/** Relative targets of Markdown links and images (inline and reference style), anchors dropped. */
export function relativeLinks(markdown: string): string[] {
  const noCode = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  const targets = [
    ...[...noCode.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!),
    ...[...noCode.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((m) => m[1]!),
    ...[...noCode.matchAll(/<a\s[^>]*href="([^"]+)"/gi)].map((m) => m[1]!),
  ];
  return targets.filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t) && !t.startsWith('#')).map((t) => decodeURI(t.split('#')[0]!));
}

function files(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p, base) : [path.relative(base, p)];
  });
}

describe('chart: helm package', function () {
  let tmp: string;
  let tgz: string;
  let unpacked: string;

  before(function () {
    const h = helm(this);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'mm-package-'));
    tgz = rm.packageChart(tmp, h);
    const r = spawnSync('tar', ['-xzf', tgz, '-C', tmp], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    unpacked = path.join(tmp, 'metrics-manager');
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('is named after the chart version and holds the chart, its CRD, files, schema and README', function () {
    const chart = YAML.parse(readFileSync(path.join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { name: string; version: string };
    assert.equal(path.basename(tgz), `${chart.name}-${chart.version}.tgz`);
    const inside = files(unpacked).sort();
    for (const f of ['Chart.yaml', 'values.yaml', 'values.schema.json', 'README.md', 'crds/metricsmanagerconfig.yaml', 'files/telegraf.conf', 'templates/daemonset.yaml', 'templates/NOTES.txt']) {
      assert.ok(inside.includes(f), `${f} is packaged`);
    }
    assert.ok(!inside.some((f) => f.startsWith('ci/')), 'ci/ value sets stay out of the package (.helmignore)');
    const source = files(CHART_DIR).filter((f) => !f.startsWith('ci/')).sort();
    assert.deepEqual(inside, source, 'everything else in the chart directory is packaged');
  });

  it('renders exactly like the chart directory', function () {
    const h = helm(this);
    for (const o of [{}, { includeCrds: true, set: ['monitoring.serviceMonitor.enabled=true', 'monitoring.grafanaDashboard.enabled=true'] }]) {
      assert.equal(rm.render({ ...o, chartDir: tgz }, h), rm.render(o, h));
    }
  });

  it('passes helm lint --strict as an archive', function () {
    assert.match(rm.lint({ chartDir: tgz }, helm(this)), /0 chart\(s\) failed/);
  });

  it('has a README whose relative links all resolve inside the package', function () {
    const readme = readFileSync(path.join(unpacked, 'README.md'), 'utf8');
    for (const link of relativeLinks(readme)) {
      const target = path.resolve(unpacked, link);
      assert.ok(target.startsWith(unpacked + path.sep) && existsSync(target), `README.md links to ${link}, which is not in the packaged chart`);
    }
  });

  it('has the parameter table `npm run chart-readme` generates from values.yaml (@bitnami/readme-generator-for-helm)', function () {
    const readme = path.join(tmp, 'README.check.md');
    copyFileSync(path.join(CHART_DIR, 'README.md'), readme);
    const bin = path.join(ROOT, 'node_modules', '@bitnami', 'readme-generator-for-helm', 'bin', 'index.js');
    const r = spawnSync(process.execPath, [bin, '--values', path.join(CHART_DIR, 'values.yaml'), '--readme', readme], { encoding: 'utf8', timeout: 60_000 });
    // It also fails when a value has no `## @param` line or a `## @param` names no value.
    assert.equal(r.status, 0, `${r.stdout.split('\n').filter((l) => !l.startsWith('Skipping')).join('\n')}\n${r.stderr}`);
    assert.equal(readFileSync(readme, 'utf8'), readFileSync(path.join(CHART_DIR, 'README.md'), 'utf8'), 'charts/metrics-manager/README.md is stale: run `npm run chart-readme`');
    const table = readFileSync(readme, 'utf8').split('\n## Parameters\n')[1] ?? '';
    for (const key of ['global.imageRegistry', 'namespaceOverride', 'agent.hostNetwork', 'networkPolicy.enabled', 'monitoring.monitorLabels', 'monitoring.podMonitor.enabled', 'telegraf.extraEnv']) {
      assert.ok(table.includes(`| \`${key}\``), `the table lists ${key}`);
    }
  });

  it('warns that helm upgrade leaves the CRD as it is, and says how to update it', function () {
    const readme = readFileSync(path.join(unpacked, 'README.md'), 'utf8');
    assert.match(readme, /`helm upgrade` does \*\*not\*\* update the CRD/);
    assert.match(readme, /kubectl apply --server-side -f \.\/metrics-manager\/crds\/metricsmanagerconfig\.yaml/);
  });

  it('finds relative links the way a Markdown renderer does (so the check above can fail)', function () {
    const md = '[a](../../docs/x.md) ![i](img/p.png "t") [ok](https://example.com) [top](#values)\n[ref]: ./values.yaml\n`[no](code.md)`\n<a href="docs/y.md">y</a>';
    assert.deepEqual(relativeLinks(md).sort(), ['../../docs/x.md', './values.yaml', 'docs/y.md', 'img/p.png']);
  });
});
