/**
 * Chart rendering for the tests: the same module `npm run render-manifests` runs
 * (scripts/render-manifests.js), so the tests and the manifests use one renderer — `helm` when it
 * is on PATH, else the Go renderer in test/chart/renderer (helm's engine: text/template + sprig).
 */

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { requireTool } from '../helpers/tools';

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
}

export interface Renderer {
  kind: 'helm' | 'go';
  bin: string;
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
  ToolMissingError: new (message: string, pkg: string, path: string) => Error & { pkg: string; path: string };
  syncChartCopies(o?: { check?: boolean }): { from: string; to: string; state: string }[];
  findRenderer(o?: { log?: (m: string) => void }): Renderer;
  render(o: RenderOptions, r?: Renderer): string;
  renderNotes(o: RenderOptions, r?: Renderer): string;
  dumpValues(o: RenderOptions, r?: Renderer): Record<string, unknown> | undefined;
  lint(o: RenderOptions, r?: Renderer): string | undefined;
  splitStream(stream: string): StreamDoc[];
  renderManifests(r?: Renderer): Map<string, string>;
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

let cached: Renderer | undefined;

/**
 * The renderer, built once per process. Without helm and Go (or Debian's sprig): a failure under
 * CI=true, else the suite is skipped loudly.
 */
export function renderer(ctx: Mocha.Context): Renderer {
  if (cached) return cached;
  // The first call may compile the Go renderer (seconds here, up to a minute on a cold CI machine).
  if (ctx.timeout() < 300_000) ctx.timeout(300_000);
  try {
    cached = rm.findRenderer({ log: (m) => console.log(`      (${m})`) });
    return cached;
  } catch (e) {
    const err = e as Error & { pkg?: string; path?: string };
    if (err.name !== 'ToolMissingError') throw e;
    requireTool(ctx, err.path ?? '/usr/bin/go', err.pkg ?? 'golang-go');
    throw e;
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
  const r = renderer(ctx);
  const docs = rm.splitStream(rm.render(o, r)).map((d) => ({ source: d.source, obj: parseDoc(d.text) })).filter((d) => d.obj);
  renderCache.set(key, docs);
  return docs;
}

/** The value sets the tests render: defaults and every ci/*.yaml. */
export const VALUE_SETS: { name: string; opts: RenderOptions }[] = [
  { name: 'default values', opts: {} },
  ...['minimal', 'telegraf-off', 'gpu-npu-nodes', 'monitors-rendered'].map((n) => ({ name: `ci/${n}.yaml`, opts: { valuesFiles: [path.join(CI_DIR, `${n}.yaml`)] } })),
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
