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
 * Rendering uses `helm` when it is on PATH, else the Go renderer in test/chart/renderer (helm's
 * template engine: text/template + sprig), built offline from Debian's Go packages and cached under
 * .tmp/chart-renderer/ by source hash. The chart tests use this module too (one renderer, one
 * way to call it).
 */
'use strict';

const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const CHART_DIR = path.join(ROOT, 'charts', 'metrics-manager');
const MANIFESTS_DIR = path.join(ROOT, 'manifests');
const RENDERER_SRC = path.join(ROOT, 'test', 'chart', 'renderer');
const CACHE_DIR = path.join(ROOT, '.tmp', 'chart-renderer');
const GOCODE = '/usr/share/gocode';
/** Debian packages the Go renderer is built from: GOPATH folder → package. */
const GO_PACKAGES = {
  'src/github.com/Masterminds/sprig': 'golang-github-masterminds-sprig-dev',
  'src/github.com/Masterminds/semver': 'golang-github-masterminds-semver-dev',
  'src/github.com/ghodss/yaml': 'golang-github-ghodss-yaml-dev',
  'src/gopkg.in/yaml.v2': 'golang-gopkg-yaml.v2-dev',
};

const RELEASE = 'metrics-manager';
const NAMESPACE = 'metrics-manager';

/** Files of the chart that are copies of repository files. */
const COPIES = [
  { from: 'telegraf/telegraf.conf', to: 'charts/metrics-manager/files/telegraf.conf' },
  { from: 'crds/metricsmanagerconfig.yaml', to: 'charts/metrics-manager/crds/metricsmanagerconfig.yaml' },
];

/** A tool the renderer needs is not installed. */
class ToolMissingError extends Error {
  /** @param {string} message @param {string} pkg Debian package @param {string} path what is missing */
  constructor(message, pkg, path) {
    super(message);
    this.name = 'ToolMissingError';
    this.pkg = pkg;
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

function findGo() {
  return onPath('go') || ['/usr/bin/go', '/usr/lib/go/bin/go'].find((p) => fs.existsSync(p));
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 300_000, ...opts });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/**
 * Builds the Go renderer (GOPATH mode, offline) unless a binary for the same sources and Go
 * version is cached. Returns its path. Throws ToolMissingError when Go or a Debian package is missing.
 */
function buildGoRenderer({ log = () => {} } = {}) {
  const go = findGo();
  if (!go) throw new ToolMissingError('go is missing (Debian package golang-go); run scripts/setup-test-deps.sh as root', 'golang-go', '/usr/bin/go');
  for (const [dir, pkg] of Object.entries(GO_PACKAGES)) {
    if (!fs.existsSync(path.join(GOCODE, dir))) {
      throw new ToolMissingError(`${path.join(GOCODE, dir)} is missing (Debian package ${pkg}); run scripts/setup-test-deps.sh as root`, pkg, path.join(GOCODE, dir));
    }
  }
  const goVersion = run(go, ['version']).stdout.trim();
  const sources = fs.readdirSync(RENDERER_SRC).filter((f) => f.endsWith('.go') || f === 'go.mod').sort();
  const hash = crypto.createHash('sha256');
  hash.update(goVersion);
  for (const f of sources) hash.update(`\0${f}\0`).update(fs.readFileSync(path.join(RENDERER_SRC, f)));
  const key = hash.digest('hex').slice(0, 16);
  const bin = path.join(CACHE_DIR, key, 'renderer');
  if (fs.existsSync(bin)) return bin;

  log(`building the chart renderer (${goVersion}) …`);
  const gopath = path.join(CACHE_DIR, key, 'gopath');
  const pkgDir = path.join(gopath, 'src', 'metrics-manager.local', 'chart-renderer');
  fs.rmSync(gopath, { recursive: true, force: true });
  fs.mkdirSync(pkgDir, { recursive: true });
  for (const f of sources) fs.copyFileSync(path.join(RENDERER_SRC, f), path.join(pkgDir, f));
  const tmpBin = `${bin}.${process.pid}.tmp`;
  const env = {
    ...process.env,
    GO111MODULE: 'off',
    GOPATH: `${gopath}${path.delimiter}${GOCODE}`,
    GOCACHE: path.join(CACHE_DIR, 'gocache'),
    GOFLAGS: '',
    GOENV: 'off',
    GOPROXY: 'off',
    CGO_ENABLED: '0',
  };
  const r = run(go, ['build', '-o', tmpBin, '.'], { cwd: pkgDir, env });
  if (r.code !== 0) throw new Error(`building the chart renderer failed:\n${r.stderr}${r.stdout}`);
  fs.renameSync(tmpBin, bin);
  fs.rmSync(gopath, { recursive: true, force: true });
  // Binaries of older sources are of no further use.
  for (const d of fs.readdirSync(CACHE_DIR)) {
    if (/^[0-9a-f]{16}$/.test(d) && d !== key) fs.rmSync(path.join(CACHE_DIR, d), { recursive: true, force: true });
  }
  return bin;
}

/**
 * The renderer to use: { kind: 'helm', bin } when helm is on PATH, else { kind: 'go', bin }.
 * METRICS_MANAGER_CHART_RENDERER=go forces the Go renderer.
 */
function findRenderer(opts = {}) {
  const helm = process.env.METRICS_MANAGER_CHART_RENDERER === 'go' ? undefined : onPath('helm');
  if (helm) return { kind: 'helm', bin: helm };
  return { kind: 'go', bin: buildGoRenderer(opts) };
}

/**
 * Options shared by render(), renderNotes() and dumpValues():
 *   valuesFiles: string[]  -f files (absolute or relative to the repository root)
 *   set / setString / setJson: string[]  'key=value' as helm takes them
 *   releaseName, namespace, apiVersions: string[], kubeVersion, includeCrds, skipTests
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

/** `helm template`: the rendered stream ("---\n# Source: …\n<doc>\n" per object). Throws on a render error. */
function render(o = {}, renderer = findRenderer()) {
  const name = o.releaseName || RELEASE;
  const ns = o.namespace || NAMESPACE;
  const chart = o.chartDir || CHART_DIR;
  let r;
  if (renderer.kind === 'helm') {
    const args = ['template', name, chart, '--namespace', ns, ...commonArgs(o)];
    if (o.includeCrds) args.push('--include-crds');
    if (o.skipTests) args.push('--skip-tests');
    r = run(renderer.bin, args);
  } else {
    const args = ['--chart', chart, '--name', name, '--namespace', ns, ...commonArgs(o)];
    if (o.includeCrds) args.push('--include-crds');
    if (o.skipTests) args.push('--skip-tests');
    r = run(renderer.bin, args);
  }
  if (r.code !== 0) throw failure('rendering the chart', r);
  return r.stdout;
}

/** The rendered NOTES.txt. */
function renderNotes(o = {}, renderer = findRenderer()) {
  const name = o.releaseName || RELEASE;
  const ns = o.namespace || NAMESPACE;
  const chart = o.chartDir || CHART_DIR;
  if (renderer.kind === 'helm') {
    const r = run(renderer.bin, ['install', name, chart, '--namespace', ns, '--dry-run=client', ...commonArgs(o)]);
    if (r.code !== 0) throw failure('helm install --dry-run', r);
    const i = r.stdout.indexOf('\nNOTES:\n');
    return i < 0 ? '' : r.stdout.slice(i + '\nNOTES:\n'.length);
  }
  const r = run(renderer.bin, ['--chart', chart, '--name', name, '--namespace', ns, '--notes', ...commonArgs(o)]);
  if (r.code !== 0) throw failure('rendering NOTES.txt', r);
  return r.stdout;
}

/** The coalesced values (what templates see as .Values), or undefined with helm (helm validates them itself). */
function dumpValues(o = {}, renderer = findRenderer()) {
  if (renderer.kind === 'helm') return undefined;
  const chart = o.chartDir || CHART_DIR;
  const r = run(renderer.bin, ['--chart', chart, '--dump-values', ...commonArgs(o)]);
  if (r.code !== 0) throw failure('coalescing values', r);
  return JSON.parse(r.stdout);
}

/** `helm lint --strict` output, or undefined without helm. */
function lint(o = {}, renderer = findRenderer()) {
  if (renderer.kind !== 'helm') return undefined;
  const r = run(renderer.bin, ['lint', o.chartDir || CHART_DIR, '--strict', ...commonArgs(o)]);
  if (r.code !== 0) throw failure('helm lint', r);
  return r.stdout;
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
function renderManifests(renderer = findRenderer()) {
  const YAML = require('yaml');
  const stream = render({ includeCrds: true, skipTests: true }, renderer);
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
  let renderer;
  try {
    renderer = findRenderer({ log });
  } catch (e) {
    log(e.message);
    return 1;
  }
  const files = renderManifests(renderer);
  if (check) {
    const problems = diffManifests(files);
    for (const p of problems) log(`manifests/${p.file}: ${p.state}`);
    if (problems.length > 0 || stale) {
      log('stale: run `npm run render-manifests`');
      return 1;
    }
    log(`up to date (rendered with ${renderer.kind})`);
    return 0;
  }
  writeManifests(files);
  log(`wrote ${[...files.keys()].map((f) => `manifests/${f}`).join(', ')} (rendered with ${renderer.kind})`);
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
  findGo,
  buildGoRenderer,
  findRenderer,
  render,
  renderNotes,
  dumpValues,
  lint,
  splitStream,
  renderManifests,
  diffManifests,
  writeManifests,
};

if (require.main === module) process.exitCode = main(process.argv.slice(2));
