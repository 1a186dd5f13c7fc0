/**
 * A FAKE Kubernetes API server for tests. No real API server can run here, so this one implements,
 * over plain HTTP on loopback, just what metrics-manager's controller and agent use, with the real
 * server's semantics where they matter to them:
 *
 * - discovery: /api, /api/v1, /apis, /apis/<group>/<version> (404 for groups not served); resource
 *   types can be added and removed at runtime (an operator's CRDs being installed later);
 * - list with resourceVersion in the list metadata, labelSelector and fieldSelector;
 * - watch (?watch=true): from a resourceVersion (replaying what happened after it), or from "now"
 *   with synthetic ADDED events; BOOKMARK events when allowWatchBookmarks=true; timeoutSeconds;
 *   410 Gone (an ERROR event with a Status, as the real server sends it) when the resourceVersion
 *   is older than the last compaction; objects moving in or out of a selector show up as
 *   ADDED/DELETED;
 * - get, create (generateName, 409 AlreadyExists), replace (409 Conflict on a stale
 *   resourceVersion), patch (merge, JSON, strategic approximated — see patch.ts), delete (404 when
 *   missing); metadata.uid/generation/creationTimestamp/resourceVersion maintained;
 * - the status subresource for types that declare it (status ignored on the main resource, only
 *   status taken from /status);
 * - garbage collection of objects whose every ownerReference points at a deleted object;
 * - bearer-token authentication (401 without it);
 * - admission of custom resources: pruning, defaulting and validation by the CRD's schema (ours;
 *   the prometheus-operator's real generated schemas — see crds.ts), and ObjectMeta name and label
 *   checks for every kind, with a 422 naming every problem;
 * - TokenReview and SubjectAccessReview (create) for ServiceAccount tokens the fake issued and RBAC
 *   objects it stores (see reviews.ts), recorded and counted like every other request.
 *
 * Fault injection for tests: drop or stall open watches, compact history, fail matching requests.
 * Every request is recorded (method, path, query) so tests can assert how clients behaved.
 */

import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { crdSchema, loadOperatorSchemas, operatorSchema, type SchemaCheck } from './crds';
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from './patch';
import { subjectAccessReview, TokenIssuer } from './reviews';
import { parseFieldSelector, parseLabelSelector, POD_SELECTABLE_FIELDS, SelectorError, type Predicate } from './selectors';

export interface FakeResource {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  statusSubresource?: boolean;
  shortNames?: string[];
  /** Served by a CustomResourceDefinition (strategic merge patch is then 415, as on a real server). */
  custom?: boolean;
  /**
   * Admission by the CRD's schema: prunes unknown fields, applies defaults and lists what is
   * invalid (see crds.ts); objects with problems are refused with 422 like the real server does.
   */
  schema?: SchemaCheck;
}

export type Obj = Record<string, unknown> & { metadata: Meta };

interface Meta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { uid: string; name: string; kind: string; apiVersion: string }[];
  [k: string]: unknown;
}

export const NODES: FakeResource = { group: '', version: 'v1', kind: 'Node', plural: 'nodes', namespaced: false };
export const PODS: FakeResource = { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true };
export const EVENTS: FakeResource = { group: '', version: 'v1', kind: 'Event', plural: 'events', namespaced: true };
export const SERVICES: FakeResource = { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true };
export const NAMESPACES: FakeResource = { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false };
export const LEASES: FakeResource = { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true };
export const MMC: FakeResource = {
  group: 'metricsmanager.dev', version: 'v1alpha1', kind: 'MetricsManagerConfig', plural: 'metricsmanagerconfigs', namespaced: true, statusSubresource: true, shortNames: ['mmc'],
  custom: true, schema: crdSchema('crds/metricsmanagerconfig.yaml', 'v1alpha1'),
};
// The prometheus-operator's kinds: the real (generated) schemas, defaults from the fixtures (crds.ts).
export const SERVICE_MONITORS: FakeResource = {
  group: 'monitoring.coreos.com', version: 'v1', kind: 'ServiceMonitor', plural: 'servicemonitors', namespaced: true, custom: true, shortNames: ['smon'],
  schema: operatorSchema('ServiceMonitor', 'test/fixtures/crds/servicemonitors.monitoring.coreos.com.yaml'),
};
export const POD_MONITORS: FakeResource = {
  group: 'monitoring.coreos.com', version: 'v1', kind: 'PodMonitor', plural: 'podmonitors', namespaced: true, custom: true, shortNames: ['pmon'],
  schema: operatorSchema('PodMonitor', 'test/fixtures/crds/podmonitors.monitoring.coreos.com.yaml'),
};
export const PROMETHEUSES: FakeResource = {
  group: 'monitoring.coreos.com', version: 'v1', kind: 'Prometheus', plural: 'prometheuses', namespaced: true, custom: true, shortNames: ['prom'],
  schema: operatorSchema('Prometheus', 'test/fixtures/crds/prometheuses.monitoring.coreos.com.yaml'),
};
// The VictoriaMetrics operator's kinds: hand-trimmed schemas (no package ships them; see the fixtures' headers).
export const VM_SERVICE_SCRAPES: FakeResource = {
  group: 'operator.victoriametrics.com', version: 'v1beta1', kind: 'VMServiceScrape', plural: 'vmservicescrapes', namespaced: true, custom: true, statusSubresource: true,
  schema: crdSchema('test/fixtures/crds/vmservicescrapes.operator.victoriametrics.com.yaml', 'v1beta1'),
};
export const VM_AGENTS: FakeResource = {
  group: 'operator.victoriametrics.com', version: 'v1beta1', kind: 'VMAgent', plural: 'vmagents', namespaced: true, custom: true, statusSubresource: true,
  schema: crdSchema('test/fixtures/crds/vmagents.operator.victoriametrics.com.yaml', 'v1beta1'),
};
// Node Feature Discovery's NodeFeature: a hand-trimmed schema (see the fixture's header). Not served by default.
export const NODE_FEATURES: FakeResource = {
  group: 'nfd.k8s-sigs.io', version: 'v1alpha1', kind: 'NodeFeature', plural: 'nodefeatures', namespaced: true, custom: true,
  schema: crdSchema('test/fixtures/crds/nodefeatures.nfd.k8s-sigs.io.yaml', 'v1alpha1'),
};

/** What a fresh fake serves: core types, Leases and the MetricsManagerConfig CRD (no monitoring APIs). */
export const DEFAULT_RESOURCES: readonly FakeResource[] = [NODES, NAMESPACES, PODS, EVENTS, SERVICES, LEASES, MMC];

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string;
  /** The bearer token the client sent (tells clients apart). */
  token: string | undefined;
  /** The Accept header (PartialObjectMetadata requests say so here). */
  accept: string;
  atMs: number;
  /** Kubernetes verb (get, list, watch, create, update, patch, delete) or 'discovery'; set once routed. */
  verb?: string;
  /** Resource plural, with `/status` for the subresource; set once routed. */
  resource?: string;
}

/** Continue tokens kept at once (oldest forgotten: its next page answers 410, as after compaction). */
const MAX_LIST_SNAPSHOTS = 64;
const METADATA_GV = 'meta.k8s.io/v1';

class FakeError extends Error {
  constructor(readonly code: number, readonly reason: string, message: string) {
    super(message);
  }
}

interface Watcher {
  typeKey: string;
  namespace: string | undefined;
  matches: Predicate;
  res: http.ServerResponse;
  bookmarks: boolean;
  stalled: boolean;
  timers: NodeJS.Timeout[];
  /** Events carry PartialObjectMetadata (the client asked for metadata only). */
  metadataOnly: boolean;
}

interface LogEntry {
  rv: number;
  typeKey: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
  previous?: Obj;
}

interface Fault {
  match: (r: RecordedRequest) => boolean;
  status: number;
  remaining: number;
}

export interface FakeKubeOptions {
  /** Bearer token clients must send; undefined = no authentication. */
  token?: string;
  /** How often watches with allowWatchBookmarks get a BOOKMARK. */
  bookmarkIntervalMs?: number;
  resources?: readonly FakeResource[];
}

function typeKeyOf(r: Pick<FakeResource, 'group' | 'version' | 'plural'>): string {
  return `${r.group}/${r.version}/${r.plural}`;
}

function apiVersionOf(r: FakeResource): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function objKey(ns: string | undefined, name: string): string {
  return ns ? `${ns}/${name}` : name;
}

/** Kubernetes timestamps have one-second resolution. */
function k8sTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Everything but metadata and status: a change here bumps metadata.generation. */
function specPart(o: Obj): string {
  const { metadata: _m, status: _s, ...rest } = o;
  return JSON.stringify(rest);
}

/** The `as=` kind an Accept header asks for (`application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`), if any. */
function acceptedAs(accept: string): string | undefined {
  for (const part of accept.split(',')) {
    const params = part.split(';').map((p) => p.trim());
    if (params[0] !== 'application/json') continue;
    const as = params.find((p) => p.startsWith('as='))?.slice(3);
    if (!as) return undefined; // plain JSON is acceptable: serve the full objects
    const g = params.find((p) => p.startsWith('g='))?.slice(2);
    const v = params.find((p) => p.startsWith('v='))?.slice(2);
    if (g === 'meta.k8s.io' && v === 'v1') return as;
    return `${as};g=${g};v=${v}`;
  }
  return undefined;
}

function notAcceptable(accept: string): FakeError {
  return new FakeError(406, 'NotAcceptable', `only the following media types are accepted: application/json, application/json;as=PartialObjectMetadata(List);g=meta.k8s.io;v=v1 (got ${JSON.stringify(accept)})`);
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** The API server's ObjectMeta checks that clients trip over: name, label keys and values. */
function metadataProblems(m: Meta): string[] {
  const out: string[] = [];
  const name = m.name ?? '';
  if (name.length > 253) out.push(`metadata.name: Invalid value: "${name.slice(0, 20)}…": must be no more than 253 characters`);
  else if (!DNS_SUBDOMAIN.test(name)) out.push(`metadata.name: Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`);
  for (const [k, v] of Object.entries(m.labels ?? {})) {
    const slash = k.lastIndexOf('/');
    const prefix = slash >= 0 ? k.slice(0, slash) : '';
    const key = slash >= 0 ? k.slice(slash + 1) : k;
    if (key.length > 63 || !LABEL_NAME.test(key) || (slash >= 0 && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)))) out.push(`metadata.labels: Invalid value: ${JSON.stringify(k)}: name part must be 63 characters or less, consist of alphanumeric characters, '-', '_' or '.', and start and end alphanumeric (prefix a DNS subdomain)`);
    if (typeof v !== 'string') out.push(`metadata.labels: Invalid value: ${JSON.stringify(v)}: must be a string`);
    else if (v.length > 63) out.push(`metadata.labels: Invalid value: "${v.slice(0, 20)}…": must be no more than 63 characters`);
    else if (v !== '' && !LABEL_NAME.test(v)) out.push(`metadata.labels: Invalid value: ${JSON.stringify(v)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
  }
  return out;
}

/** What the server sends for an object when metadata only was asked for. */
function partialMetadata(o: Obj): Obj {
  return { kind: 'PartialObjectMetadata', apiVersion: METADATA_GV, metadata: clone(o.metadata) };
}

export class FakeKubeApiServer {
  private server: http.Server | undefined;
  private rv = 100;
  private compactedBelow = 0;
  private clockOffsetMs = 0;
  private readonly types = new Map<string, FakeResource>();
  private readonly store = new Map<string, Map<string, Obj>>();
  private readonly history: LogEntry[] = [];
  private readonly watchers = new Set<Watcher>();
  private faults: Fault[] = [];
  readonly requests: RecordedRequest[] = [];
  readonly token: string | undefined;
  /** Further accepted bearer tokens (one per simulated client, see RecordedRequest.token). */
  readonly tokens = new Set<string>();
  private readonly bookmarkIntervalMs: number;
  /** Paged lists in progress: token id → the snapshot's items and resourceVersion. */
  private readonly snapshots = new Map<string, { items: Obj[]; rv: string }>();
  private snapshotSeq = 0;
  url = '';
  /** ServiceAccount tokens this fake issues and TokenReview accepts (`serviceAccounts.issue(ns, sa, {audiences})`). */
  readonly serviceAccounts = new TokenIssuer(() => this.now());
  /** Bodies of the TokenReviews and SubjectAccessReviews received, in order. */
  readonly reviewBodies: Array<{ resource: string; body: Record<string, unknown> }> = [];

  constructor(opts: FakeKubeOptions = {}) {
    this.token = opts.token;
    this.bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 1000;
    for (const r of opts.resources ?? DEFAULT_RESOURCES) this.addResource(r);
  }

  async start(): Promise<string> {
    await loadOperatorSchemas();
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.sendError(res, new FakeError(500, 'InternalError', String(err)));
        else res.destroy();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) this.closeWatcher(w, true);
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  // ---- time -------------------------------------------------------------------------------

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** Moves the fake's clock (creationTimestamp of later objects) forward. */
  advanceClock(ms: number): void {
    this.clockOffsetMs += ms;
  }

  // ---- resource types (discovery) ---------------------------------------------------------

  /** Serves a new resource type (like installing a CRD); its group appears in discovery. */
  addResource(r: FakeResource): void {
    const key = typeKeyOf(r);
    this.types.set(key, r);
    if (!this.store.has(key)) this.store.set(key, new Map());
  }

  /** Stops serving a type (like deleting a CRD): its objects go too, open watches end. */
  removeResource(r: Pick<FakeResource, 'group' | 'version' | 'plural'>): void {
    const key = typeKeyOf(r);
    this.types.delete(key);
    this.store.delete(key);
    for (const w of this.watchers) if (w.typeKey === key) this.closeWatcher(w, false);
  }

  // ---- direct object access (tests set up the world without HTTP) -------------------------

  list(r: FakeResource, namespace?: string): Obj[] {
    return [...(this.store.get(typeKeyOf(r))?.values() ?? [])].filter((o) => !namespace || o.metadata.namespace === namespace).map(clone);
  }

  get(r: FakeResource, namespace: string | undefined, name: string): Obj | undefined {
    const o = this.store.get(typeKeyOf(r))?.get(objKey(r.namespaced ? namespace : undefined, name));
    return o ? clone(o) : undefined;
  }

  create(r: FakeResource, body: Record<string, unknown>): Obj {
    const ns = r.namespaced ? ((body.metadata as Meta | undefined)?.namespace ?? 'default') : undefined;
    return clone(this.doCreate(r, ns, body));
  }

  /** Applies a merge patch (as a client would with application/merge-patch+json). */
  patch(r: FakeResource, namespace: string | undefined, name: string, patch: Record<string, unknown>, subresource?: 'status'): Obj {
    return clone(this.doPatch(r, r.namespaced ? namespace : undefined, name, 'application/merge-patch+json', patch, subresource));
  }

  delete(r: FakeResource, namespace: string | undefined, name: string): void {
    this.doDelete(r, r.namespaced ? namespace : undefined, name);
  }

  /** The current resourceVersion of the whole store. */
  get resourceVersion(): string {
    return String(this.rv);
  }

  // ---- fault injection --------------------------------------------------------------------

  /** Ends every open watch abruptly (connection reset). Returns how many were dropped. */
  dropWatches(filter?: (typeKey: string) => boolean): number {
    let n = 0;
    for (const w of [...this.watchers]) {
      if (filter && !filter(w.typeKey)) continue;
      this.closeWatcher(w, true);
      n++;
    }
    return n;
  }

  /** Keeps every open watch connected but silent from now on (no events, no bookmarks, no end). */
  stallWatches(filter?: (typeKey: string) => boolean): number {
    let n = 0;
    for (const w of this.watchers) {
      if (filter && !filter(w.typeKey)) continue;
      w.stalled = true;
      n++;
    }
    return n;
  }

  /** Forgets history: watching from any resourceVersion older than the current one yields 410 Gone. */
  compact(): void {
    this.compactedBelow = this.rv;
    this.history.length = 0;
    this.snapshots.clear();
  }

  /** Answers the next `times` requests matching `match` with `status` (a Status body). */
  failRequests(match: (r: RecordedRequest) => boolean, status: number, times = Number.POSITIVE_INFINITY): () => void {
    const f: Fault = { match, status, remaining: times };
    this.faults.push(f);
    return () => {
      this.faults = this.faults.filter((x) => x !== f);
    };
  }

  /** Open watch connections (optionally of one resource plural). */
  watchCount(plural?: string): number {
    return [...this.watchers].filter((w) => !plural || w.typeKey.endsWith(`/${plural}`)).length;
  }

  /** Recorded requests that were watches of `plural`. */
  watchRequests(plural: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'GET' && r.query.get('watch') === 'true' && r.path.endsWith(`/${plural}`));
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const auth = String(req.headers.authorization ?? '');
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : undefined;
    const rec: RecordedRequest = {
      method, path: url.pathname, query: url.searchParams, contentType: String(req.headers['content-type'] ?? ''), token, accept: String(req.headers.accept ?? ''), atMs: Date.now(),
    };
    this.requests.push(rec);
    const body = await new Promise<string>((resolve, reject) => {
      let data = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (data += c));
      req.on('end', () => resolve(data));
      req.on('error', reject);
    });

    if (this.token !== undefined && token !== this.token && !(token !== undefined && this.tokens.has(token))) {
      return this.sendError(res, new FakeError(401, 'Unauthorized', 'Unauthorized'));
    }
    for (const f of this.faults) {
      if (f.remaining > 0 && f.match(rec)) {
        f.remaining--;
        return this.sendError(res, new FakeError(f.status, f.status === 409 ? 'Conflict' : 'InternalError', `injected failure (${f.status})`));
      }
    }
    try {
      this.route(rec, url, body, res);
    } catch (err) {
      if (err instanceof FakeError) return this.sendError(res, err);
      if (err instanceof PatchError) return this.sendError(res, new FakeError(422, 'Invalid', err.message));
      if (err instanceof SelectorError) return this.sendError(res, new FakeError(400, 'BadRequest', err.message));
      if (err instanceof SyntaxError) return this.sendError(res, new FakeError(400, 'BadRequest', `invalid JSON: ${err.message}`));
      throw err;
    }
  }

  private route(rec: RecordedRequest, url: URL, body: string, res: http.ServerResponse): void {
    const { method, contentType } = rec;
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    // Discovery.
    rec.verb = 'discovery';
    if (method === 'GET') {
      if (parts.length === 1 && parts[0] === 'api') return this.send(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: this.url.replace('http://', '') }] });
      if (parts.length === 2 && parts[0] === 'api' && parts[1] === 'v1') return this.send(res, 200, this.resourceList('', 'v1'));
      if (parts.length === 1 && parts[0] === 'apis') return this.send(res, 200, this.groupList());
      if (parts.length === 2 && parts[0] === 'apis') {
        const versions = this.groupVersions(parts[1]!);
        if (!versions.length) throw new FakeError(404, 'NotFound', 'the server could not find the requested resource');
        return this.send(res, 200, { kind: 'APIGroup', apiVersion: 'v1', name: parts[1], versions: versions.map((v) => ({ groupVersion: `${parts[1]}/${v}`, version: v })), preferredVersion: { groupVersion: `${parts[1]}/${versions[0]}`, version: versions[0] } });
      }
      if (parts.length === 3 && parts[0] === 'apis') {
        if (!this.groupVersions(parts[1]!).includes(parts[2]!)) throw new FakeError(404, 'NotFound', 'the server could not find the requested resource');
        return this.send(res, 200, this.resourceList(parts[1]!, parts[2]!));
      }
    }

    // Reviews: create-only, never stored (authentication.k8s.io and authorization.k8s.io).
    if (parts.length === 4 && parts[0] === 'apis' && parts[2] === 'v1' && (
      (parts[1] === 'authentication.k8s.io' && parts[3] === 'tokenreviews') || (parts[1] === 'authorization.k8s.io' && parts[3] === 'subjectaccessreviews'))) {
      rec.resource = parts[3];
      rec.verb = method === 'POST' ? 'create' : method.toLowerCase();
      if (method !== 'POST') throw new FakeError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
      const req = JSON.parse(body || '{}') as Record<string, unknown>;
      this.reviewBodies.push({ resource: parts[3]!, body: req });
      const out = parts[3] === 'tokenreviews' ? this.serviceAccounts.review(req) : subjectAccessReview(req, (r) => this.list(r));
      if ('code' in out && typeof out.code === 'number') throw new FakeError(out.code, String(out.reason), String(out.message));
      return this.send(res, 201, out);
    }

    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api' && parts[1] === 'v1') {
      group = '';
      version = 'v1';
      rest = parts.slice(2);
    } else if (parts[0] === 'apis' && parts.length >= 4) {
      group = parts[1]!;
      version = parts[2]!;
      rest = parts.slice(3);
    } else {
      throw new FakeError(404, 'NotFound', 'the server could not find the requested resource');
    }
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [plural, name, sub] = rest;
    const type = this.types.get(typeKeyOf({ group, version, plural: plural ?? '' }));
    if (!type || rest.length > 3 || (sub !== undefined && sub !== 'status')) throw new FakeError(404, 'NotFound', 'the server could not find the requested resource');
    if (sub === 'status' && !type.statusSubresource) throw new FakeError(404, 'NotFound', 'the server could not find the requested resource');
    if (type.namespaced && name !== undefined && namespace === undefined) throw new FakeError(404, 'NotFound', 'the server could not find the requested resource');
    if (!type.namespaced) namespace = undefined;

    const parse = () => JSON.parse(body || '{}') as Record<string, unknown>;
    if (name === undefined) {
      rec.resource = type.plural;
      if (method === 'GET') {
        const watch = url.searchParams.get('watch');
        const as = acceptedAs(rec.accept);
        if (watch === 'true' || watch === '1') {
          rec.verb = 'watch';
          if (as !== undefined && as !== 'PartialObjectMetadata' && as !== 'PartialObjectMetadataList') throw notAcceptable(rec.accept);
          return this.watch(type, namespace, url.searchParams, res, as !== undefined);
        }
        rec.verb = 'list';
        if (as !== undefined && as !== 'PartialObjectMetadataList') throw notAcceptable(rec.accept);
        return this.send(res, 200, this.listResponse(type, namespace, url.searchParams, as !== undefined));
      }
      if (method === 'POST') {
        rec.verb = 'create';
        if (type.namespaced && namespace === undefined) throw new FakeError(405, 'MethodNotAllowed', 'create needs a namespace');
        return this.send(res, 201, this.doCreate(type, namespace, parse()));
      }
      throw new FakeError(405, 'MethodNotAllowed', `${method} is not supported on a collection by the fake`);
    }
    const subresource = sub === 'status' ? 'status' : undefined;
    rec.resource = subresource ? `${type.plural}/status` : type.plural;
    rec.verb = ({ GET: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[method] ?? method.toLowerCase();
    switch (method) {
      case 'GET':
        return this.send(res, 200, this.mustGet(type, namespace, name));
      case 'PUT':
        return this.send(res, 200, this.doReplace(type, namespace, name, parse(), subresource));
      case 'PATCH':
        return this.send(res, 200, this.doPatch(type, namespace, name, contentType.split(';')[0]!.trim(), JSON.parse(body || 'null'), subresource));
      case 'DELETE':
        if (subresource) throw new FakeError(405, 'MethodNotAllowed', 'cannot delete a subresource');
        return this.send(res, 200, this.doDelete(type, namespace, name));
      default:
        throw new FakeError(405, 'MethodNotAllowed', `${method} is not supported`);
    }
  }

  private groupVersions(group: string): string[] {
    return [...new Set([...this.types.values()].filter((t) => t.group === group).map((t) => t.version))];
  }

  private groupList(): Record<string, unknown> {
    const groups = [...new Set([...this.types.values()].map((t) => t.group).filter((g) => g !== ''))];
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: groups.map((name) => {
        const versions = this.groupVersions(name);
        return { name, versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })), preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] } };
      }),
    };
  }

  private resourceList(group: string, version: string): Record<string, unknown> {
    const resources: Record<string, unknown>[] = [];
    for (const t of this.types.values()) {
      if (t.group !== group || t.version !== version) continue;
      resources.push({
        name: t.plural, singularName: t.kind.toLowerCase(), namespaced: t.namespaced, kind: t.kind,
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], ...(t.shortNames ? { shortNames: t.shortNames } : {}),
      });
      if (t.statusSubresource) resources.push({ name: `${t.plural}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] });
    }
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
  }

  /**
   * A list, paged when `limit` is given: the first page takes a snapshot (items in key order, as
   * etcd returns them) and later pages are served from it at the same resourceVersion, as the real
   * server does. A continue token whose snapshot is gone (compaction) answers 410 Expired.
   */
  private listResponse(type: FakeResource, namespace: string | undefined, q: URLSearchParams, metadataOnly: boolean): Record<string, unknown> {
    const limit = Number(q.get('limit') ?? '0');
    const token = q.get('continue');
    if (!Number.isInteger(limit) || limit < 0) throw new FakeError(400, 'BadRequest', `limit must be a non-negative integer, got ${q.get('limit')}`);
    let items: Obj[];
    let rv: string;
    let offset = 0;
    let id: string;
    if (token) {
      const [tid, off] = Buffer.from(token, 'base64url').toString('utf8').split(':');
      const snap = this.snapshots.get(tid ?? '');
      if (!snap || !Number.isInteger(Number(off))) {
        throw new FakeError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
      }
      ({ items, rv } = snap);
      offset = Number(off);
      id = tid!;
    } else {
      const matches = this.predicate(q, type);
      items = [...this.store.get(typeKeyOf(type))!.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o)
        .filter((o) => (!namespace || o.metadata.namespace === namespace) && matches(o));
      rv = String(this.rv);
      id = String(++this.snapshotSeq);
    }
    let page = items;
    let next = '';
    if (limit > 0 && offset + limit < items.length) {
      page = items.slice(offset, offset + limit);
      next = Buffer.from(`${id}:${offset + limit}`).toString('base64url');
      if (!this.snapshots.has(id)) {
        this.snapshots.set(id, { items, rv });
        if (this.snapshots.size > MAX_LIST_SNAPSHOTS) this.snapshots.delete(this.snapshots.keys().next().value as string);
      }
    } else {
      page = items.slice(offset);
      this.snapshots.delete(id);
    }
    const metadata = { resourceVersion: rv, ...(next ? { continue: next, remainingItemCount: items.length - offset - page.length } : {}) };
    if (metadataOnly) return { kind: 'PartialObjectMetadataList', apiVersion: METADATA_GV, metadata, items: page.map(partialMetadata) };
    return { kind: `${type.kind}List`, apiVersion: apiVersionOf(type), metadata, items: page };
  }

  /** Requests served so far by verb and resource, e.g. `list nodes` → 3 (discovery counted as `discovery`). */
  requestCounts(since = 0): Map<string, number> {
    const out = new Map<string, number>();
    for (let i = since; i < this.requests.length; i++) {
      const r = this.requests[i]!;
      const key = r.verb === 'discovery' ? 'discovery' : `${r.verb ?? r.method} ${r.resource ?? r.path}`;
      out.set(key, (out.get(key) ?? 0) + 1);
    }
    return out;
  }

  private predicate(q: URLSearchParams, type?: FakeResource): Predicate {
    const labels = parseLabelSelector(q.get('labelSelector'));
    const fields = parseFieldSelector(q.get('fieldSelector'), type && typeKeyOf(type) === typeKeyOf(PODS) ? POD_SELECTABLE_FIELDS : undefined);
    return (o) => labels(o) && fields(o);
  }

  private send(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private statusBody(e: FakeError): Record<string, unknown> {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.message, reason: e.reason, code: e.code };
  }

  private sendError(res: http.ServerResponse, e: FakeError): void {
    this.send(res, e.code, this.statusBody(e));
  }

  // ---- watch --------------------------------------------------------------------------------

  private watch(type: FakeResource, namespace: string | undefined, q: URLSearchParams, res: http.ServerResponse, metadataOnly: boolean): void {
    const typeKey = typeKeyOf(type);
    const w: Watcher = { typeKey, namespace, matches: this.predicate(q, type), res, bookmarks: q.get('allowWatchBookmarks') === 'true', stalled: false, timers: [], metadataOnly };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    const rvParam = q.get('resourceVersion');
    if (rvParam && rvParam !== '0') {
      const from = Number(rvParam);
      if (!Number.isFinite(from) || from < this.compactedBelow) {
        this.write(w, 'ERROR', this.statusBody(new FakeError(410, 'Expired', `too old resource version: ${rvParam} (${this.compactedBelow})`)));
        res.end();
        return;
      }
      for (const e of this.history) if (e.rv > from && e.typeKey === typeKey) this.deliver(w, e);
    } else {
      for (const o of this.store.get(typeKey)!.values()) {
        if ((!namespace || o.metadata.namespace === namespace) && w.matches(o)) this.write(w, 'ADDED', o);
      }
    }
    this.watchers.add(w);
    if (w.bookmarks) {
      const t = setInterval(() => {
        if (!w.stalled) this.write(w, 'BOOKMARK', { kind: type.kind, apiVersion: apiVersionOf(type), metadata: { resourceVersion: String(this.rv) } });
      }, this.bookmarkIntervalMs);
      w.timers.push(t);
    }
    const timeout = Number(q.get('timeoutSeconds') ?? '0');
    if (timeout > 0) w.timers.push(setTimeout(() => this.closeWatcher(w, false), timeout * 1000));
    res.on('close', () => {
      for (const t of w.timers) clearTimeout(t);
      this.watchers.delete(w);
    });
  }

  private write(w: Watcher, type: string, object: unknown): void {
    if (w.stalled || w.res.writableEnded || w.res.destroyed) return;
    const o = w.metadataOnly && type !== 'ERROR' ? partialMetadata(object as Obj) : object;
    w.res.write(`${JSON.stringify({ type, object: o })}\n`);
  }

  private deliver(w: Watcher, e: LogEntry): void {
    if (w.typeKey !== e.typeKey) return;
    const inNs = (o: Obj | undefined) => !!o && (!w.namespace || o.metadata.namespace === w.namespace);
    const now = inNs(e.object) && w.matches(e.object);
    const before = inNs(e.previous) && w.matches(e.previous!);
    if (e.type === 'ADDED') {
      if (now) this.write(w, 'ADDED', e.object);
    } else if (e.type === 'DELETED') {
      if (now) this.write(w, 'DELETED', e.object);
    } else if (now && before) {
      this.write(w, 'MODIFIED', e.object);
    } else if (now) {
      this.write(w, 'ADDED', e.object);
    } else if (before) {
      this.write(w, 'DELETED', e.object);
    }
  }

  private closeWatcher(w: Watcher, abrupt: boolean): void {
    for (const t of w.timers) clearTimeout(t);
    this.watchers.delete(w);
    if (abrupt) w.res.destroy();
    else w.res.end();
  }

  /** Defaulting, pruning and validation as on the real server: 422 naming every problem. */
  private admit(type: FakeResource, obj: Obj): void {
    const problems = metadataProblems(obj.metadata);
    if (type.schema) problems.push(...type.schema(obj));
    if (problems.length) {
      throw new FakeError(422, 'Invalid', `${type.kind}${type.group ? `.${type.group}` : ''} ${JSON.stringify(obj.metadata.name ?? '')} is invalid: ${problems.join(', ')}`);
    }
  }

  private commit(type: FakeResource, kind: LogEntry['type'], obj: Obj, previous?: Obj): Obj {
    const typeKey = typeKeyOf(type);
    if (kind !== 'DELETED') this.admit(type, obj);
    obj.metadata.resourceVersion = String(++this.rv);
    const key = objKey(obj.metadata.namespace, obj.metadata.name!);
    if (kind === 'DELETED') this.store.get(typeKey)!.delete(key);
    else this.store.get(typeKey)!.set(key, obj);
    const entry: LogEntry = { rv: this.rv, typeKey, type: kind, object: clone(obj), ...(previous ? { previous: clone(previous) } : {}) };
    this.history.push(entry);
    for (const w of this.watchers) this.deliver(w, entry);
    return clone(obj);
  }

  // ---- verbs ------------------------------------------------------------------------------

  private mustGet(type: FakeResource, namespace: string | undefined, name: string): Obj {
    const o = this.store.get(typeKeyOf(type))?.get(objKey(namespace, name));
    if (!o) throw new FakeError(404, 'NotFound', `${type.plural}${type.group ? `.${type.group}` : ''} "${name}" not found`);
    return o;
  }

  private doCreate(type: FakeResource, namespace: string | undefined, body: Record<string, unknown>): Obj {
    const obj = clone(body) as Obj;
    obj.metadata = { ...(obj.metadata ?? {}) };
    const m = obj.metadata;
    if (type.namespaced) {
      if (m.namespace && m.namespace !== namespace) throw new FakeError(400, 'BadRequest', 'the namespace of the object does not match the namespace on the request');
      m.namespace = namespace;
    } else {
      delete m.namespace;
    }
    if (!m.name && m.generateName) m.name = `${m.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
    if (!m.name) throw new FakeError(422, 'Invalid', 'metadata.name: Required value');
    if (this.store.get(typeKeyOf(type))!.has(objKey(m.namespace, m.name))) {
      throw new FakeError(409, 'AlreadyExists', `${type.plural}${type.group ? `.${type.group}` : ''} "${m.name}" already exists`);
    }
    obj.apiVersion = apiVersionOf(type);
    obj.kind = type.kind;
    m.uid = randomUUID();
    m.generation = 1;
    m.creationTimestamp = k8sTime(this.now());
    if (type.statusSubresource) delete obj.status;
    return this.commit(type, 'ADDED', obj);
  }

  private checkVersion(current: Obj, given: string | undefined): void {
    if (given && given !== current.metadata.resourceVersion) {
      throw new FakeError(409, 'Conflict', `Operation cannot be fulfilled on "${current.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
  }

  /** The stored result of writing `next` over `current` through the main resource or /status. */
  private update(type: FakeResource, current: Obj, next: Obj, subresource: 'status' | undefined): Obj {
    let result: Obj;
    if (subresource === 'status') {
      result = { ...clone(current), status: next.status };
      if (next.status === undefined) delete result.status;
    } else {
      result = clone(next);
      const keep = current.metadata;
      result.metadata = { ...result.metadata, name: keep.name, namespace: keep.namespace, uid: keep.uid, creationTimestamp: keep.creationTimestamp, generation: keep.generation };
      if (!type.namespaced) delete result.metadata.namespace;
      result.apiVersion = apiVersionOf(type);
      result.kind = type.kind;
      if (type.statusSubresource) {
        if (current.status === undefined) delete result.status;
        else result.status = clone(current.status);
      }
      if (specPart(result) !== specPart(current)) result.metadata.generation = (keep.generation ?? 1) + 1;
    }
    return this.commit(type, 'MODIFIED', result, current);
  }

  private doReplace(type: FakeResource, namespace: string | undefined, name: string, body: Record<string, unknown>, subresource: 'status' | undefined): Obj {
    const current = this.mustGet(type, namespace, name);
    const next = clone(body) as Obj;
    next.metadata ??= {};
    if (next.metadata.name && next.metadata.name !== name) throw new FakeError(400, 'BadRequest', 'the name of the object does not match the name on the URL');
    this.checkVersion(current, next.metadata.resourceVersion);
    return this.update(type, current, next, subresource);
  }

  private doPatch(type: FakeResource, namespace: string | undefined, name: string, contentType: string, patch: unknown, subresource: 'status' | undefined): Obj {
    const current = this.mustGet(type, namespace, name);
    let next: Obj;
    switch (contentType) {
      case 'application/merge-patch+json':
        next = mergePatch(current, patch) as Obj;
        break;
      case 'application/strategic-merge-patch+json':
        if (type.custom) throw new FakeError(415, 'UnsupportedMediaType', 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml');
        next = strategicMergePatch(current, patch) as Obj;
        break;
      case 'application/json-patch+json':
        next = jsonPatch(current, patch) as Obj;
        break;
      default:
        throw new FakeError(415, 'UnsupportedMediaType', `the fake API server does not support patches of type ${JSON.stringify(contentType)}`);
    }
    const given = (patch as { metadata?: { resourceVersion?: string } } | null)?.metadata?.resourceVersion;
    if (contentType !== 'application/json-patch+json') this.checkVersion(current, given);
    next.metadata ??= {};
    return this.update(type, current, next, subresource);
  }

  private doDelete(type: FakeResource, namespace: string | undefined, name: string): Obj {
    const current = this.mustGet(type, namespace, name);
    const gone = this.commit(type, 'DELETED', clone(current));
    // The garbage collector runs asynchronously, as the real one does.
    setImmediate(() => this.collectGarbage());
    return gone;
  }

  /** Deletes objects whose every owner is gone (repeats until nothing more goes). */
  private collectGarbage(): void {
    const uids = new Set<string>();
    for (const objs of this.store.values()) for (const o of objs.values()) if (o.metadata.uid) uids.add(o.metadata.uid);
    for (const [typeKey, objs] of this.store) {
      const type = this.types.get(typeKey);
      if (!type) continue;
      for (const o of [...objs.values()]) {
        const owners = o.metadata.ownerReferences ?? [];
        if (owners.length && owners.every((r) => !uids.has(r.uid))) {
          this.doDelete(type, o.metadata.namespace, o.metadata.name!);
        }
      }
    }
  }
}
