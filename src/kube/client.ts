/**
 * The one door to @kubernetes/client-node. The package is ESM-only; this CommonJS build loads it
 * with require(), which Node ≥ 20.19 supports for ESM modules without top-level await (checked by
 * the tests). Types come through a type-only import, so nothing else in the project needs to know.
 *
 * Everything here hands out plain JSON objects: typed client classes (Date fields and all) stay
 * inside this file, so watch events and list results look the same to callers.
 */

import type * as K8s from '@kubernetes/client-node' with { 'resolution-mode': 'import' };

export type KubeConfig = K8s.KubeConfig;
export type KubeModule = typeof import('@kubernetes/client-node', { with: { 'resolution-mode': 'import' } });

let loaded: KubeModule | undefined;

/** The client module, loaded on first use (the agent outside a cluster never pays for it). */
export function kube(): KubeModule {
  loaded ??= require('@kubernetes/client-node') as KubeModule;
  return loaded;
}

/**
 * Loads credentials the usual way: in-cluster service account when KUBERNETES_SERVICE_HOST is set,
 * else $KUBECONFIG or ~/.kube/config (client-node reads those itself).
 */
export function defaultKubeConfig(): KubeConfig {
  const kc = new (kube().KubeConfig)();
  kc.loadFromDefault();
  return kc;
}

/** A kubeconfig for one server URL and bearer token (tests, local development). */
export function kubeConfigFor(server: string, token?: string): KubeConfig {
  const kc = new (kube().KubeConfig)();
  kc.loadFromOptions({
    clusters: [{ name: 'cluster', server, skipTLSVerify: true }],
    users: [{ name: 'user', ...(token ? { token } : {}) }],
    contexts: [{ name: 'context', cluster: 'cluster', user: 'user' }],
    currentContext: 'context',
  });
  return kc;
}

/** The HTTP status of a failed client call (ApiException.code, Watch errors' statusCode), if any. */
export function httpStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.code === 'number') return e.code;
  if (typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}

/** A short, single-line description of a client error (ApiException messages embed whole headers). */
export function errorText(err: unknown): string {
  const status = httpStatus(err);
  if (status !== undefined) {
    const body = (err as { body?: unknown }).body;
    let message = '';
    try {
      const parsed: unknown = typeof body === 'string' ? JSON.parse(body) : body;
      if (parsed && typeof parsed === 'object' && typeof (parsed as { message?: unknown }).message === 'string') message = (parsed as { message: string }).message;
    } catch { /* not JSON */ }
    return `HTTP ${status}${message ? `: ${message}` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Plain JSON from whatever the generated client returned (class instances, Dates → ISO strings). */
export function plain<T = Record<string, unknown>>(obj: unknown): T {
  return JSON.parse(JSON.stringify(obj ?? null)) as T;
}

/** A resource type as the API paths name it. `group` '' is the core group (/api/v1). */
export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

export const NODES: ResourceRef = { group: '', version: 'v1', plural: 'nodes', namespaced: false };
export const PODS: ResourceRef = { group: '', version: 'v1', plural: 'pods', namespaced: true };
export const NAMESPACES: ResourceRef = { group: '', version: 'v1', plural: 'namespaces', namespaced: false };

/**
 * Accept headers that ask the server for metadata only (PartialObjectMetadata): a Node then costs
 * a few hundred bytes instead of several kilobytes of status, and the same for every watch event.
 */
export const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
export const METADATA_WATCH_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/** The collection path of a resource (all namespaces when `namespace` is empty). */
export function collectionPath(r: ResourceRef, namespace?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  return r.namespaced && namespace ? `${base}/namespaces/${namespace}/${r.plural}` : `${base}/${r.plural}`;
}

export interface ListOptions {
  /** Namespaced resources only; empty = all namespaces. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Ask for PartialObjectMetadata (no spec, no status). */
  metadataOnly?: boolean;
}

export interface ListPage extends ListResult {
  /** The token for the next page; '' on the last page. */
  continueToken: string;
}

/** The subset of the API the controller and agent use, as plain-JSON calls. */
export interface KubeApi {
  readonly config: KubeConfig;
  /** One page of any supported resource (core nodes, namespaces and pods, any custom resource). */
  listPage(r: ResourceRef, opts: ListOptions & { limit?: number; continueToken?: string }): Promise<ListPage>;
  /**
   * The whole collection, read in pages of `pageSize` (limit/continue) so neither side holds a
   * giant response. The pages together are one consistent snapshot (the server serves later
   * pages at the first page's resourceVersion); an expired continue token (410) restarts.
   */
  listAll(r: ResourceRef, opts: ListOptions & { pageSize?: number }): Promise<ListResult>;
  /** A client-node Watch whose events are PartialObjectMetadata (see METADATA_WATCH_ACCEPT). */
  readonly metadataWatch: K8s.Watch;
  /** authentication.k8s.io/v1 TokenReview (create); the answer's status as plain JSON. */
  createTokenReview(body: object): Promise<Record<string, unknown>>;
  /** authorization.k8s.io/v1 SubjectAccessReview (create); the answer as plain JSON. */
  createSubjectAccessReview(body: object): Promise<Record<string, unknown>>;
  /** `/apis/<group>/<version>` resource names, or undefined when the group/version is not served (404). */
  apiResources(group: string, version: string): Promise<string[] | undefined>;
  listCustom(group: string, version: string, plural: string, namespace?: string, labelSelector?: string): Promise<ListResult>;
  getCustom(group: string, version: string, plural: string, namespace: string, name: string): Promise<Record<string, unknown>>;
  createCustom(group: string, version: string, plural: string, namespace: string, body: object): Promise<Record<string, unknown>>;
  replaceCustom(group: string, version: string, plural: string, namespace: string, name: string, body: object): Promise<Record<string, unknown>>;
  deleteCustom(group: string, version: string, plural: string, namespace: string, name: string): Promise<void>;
  /** RFC 7386 merge patch of a namespaced custom object (null deletes a key). */
  patchCustom(group: string, version: string, plural: string, namespace: string, name: string, patch: object): Promise<Record<string, unknown>>;
  /** RFC 7386 merge patch of the status subresource. */
  patchCustomStatus(group: string, version: string, plural: string, namespace: string, name: string, patch: object): Promise<Record<string, unknown>>;
  listNodes(fieldSelector?: string): Promise<ListResult>;
  listPods(namespace: string, labelSelector?: string): Promise<ListResult>;
  /** RFC 7386 merge patch of a Pod (used for the agent's applied-generation annotation). */
  patchPod(namespace: string, name: string, patch: object): Promise<void>;
  createEvent(namespace: string, body: object): Promise<void>;
  getLease(namespace: string, name: string): Promise<Record<string, unknown>>;
  createLease(namespace: string, body: object): Promise<Record<string, unknown>>;
  replaceLease(namespace: string, name: string, body: object): Promise<Record<string, unknown>>;
  /** A client-node Watch bound to this config. */
  readonly watch: K8s.Watch;
}

export interface ListResult {
  items: Record<string, unknown>[];
  resourceVersion: string;
}

function listResult(list: unknown): ListPage {
  // Typed lists (V1NodeList…) keep the token as `_continue`; custom-object lists are raw JSON.
  const l = plain<{ items?: Record<string, unknown>[]; metadata?: { resourceVersion?: string; continue?: string; _continue?: string } }>(list);
  return { items: l.items ?? [], resourceVersion: l.metadata?.resourceVersion ?? '', continueToken: l.metadata?._continue ?? l.metadata?.continue ?? '' };
}

/** Default page size for listAll (what client-go's pager uses). */
export const DEFAULT_PAGE_SIZE = 500;
/** Restarts of a paged list after expired continue tokens before giving up. */
const MAX_LIST_RESTARTS = 3;

/**
 * client-node's Watch reads only the cluster and fetch options from its config; this view of a
 * KubeConfig adds an Accept header to every watch it opens.
 */
function withAccept(kc: KubeConfig, accept: string): KubeConfig {
  const view = Object.create(kc) as KubeConfig;
  view.applyToFetchOptions = (opts) => kc.applyToFetchOptions({ ...opts, headers: { ...opts.headers, Accept: accept } });
  return view;
}

/** Lease times are MicroTime: client-node serialises its V1MicroTime class with six fraction digits. */
function leaseBody(body: object): K8s.V1Lease {
  const k = kube();
  const lease = plain<K8s.V1Lease & { spec?: Record<string, unknown> }>(body);
  const spec = lease.spec as Record<string, unknown> | undefined;
  if (spec) {
    for (const f of ['acquireTime', 'renewTime']) {
      const v = spec[f];
      if (typeof v === 'string' || typeof v === 'number') spec[f] = new k.V1MicroTime(v);
    }
  }
  return lease;
}

export function createKubeApi(kc: KubeConfig): KubeApi {
  const k = kube();
  const custom = kc.makeApiClient(k.CustomObjectsApi);
  const core = kc.makeApiClient(k.CoreV1Api);
  const coordination = kc.makeApiClient(k.CoordinationV1Api);
  const authn = kc.makeApiClient(k.AuthenticationV1Api);
  const authz = kc.makeApiClient(k.AuthorizationV1Api);
  const merge = k.setHeaderOptions('Content-Type', k.PatchStrategy.MergePatch);
  const metadataList = k.setHeaderOptions('Accept', METADATA_LIST_ACCEPT);

  async function listPage(r: ResourceRef, o: ListOptions & { limit?: number; continueToken?: string }): Promise<ListPage> {
    const q = { labelSelector: o.labelSelector, fieldSelector: o.fieldSelector, limit: o.limit, _continue: o.continueToken || undefined };
    const opt = o.metadataOnly ? metadataList : undefined;
    const ns = r.namespaced ? o.namespace || undefined : undefined;
    if (r.group === '' && r.plural === 'nodes') return listResult(await core.listNode(q, opt));
    if (r.group === '' && r.plural === 'namespaces') return listResult(await core.listNamespace(q, opt));
    if (r.group === '' && r.plural === 'pods') {
      return listResult(ns ? await core.listNamespacedPod({ ...q, namespace: ns }, opt) : await core.listPodForAllNamespaces(q, opt));
    }
    if (r.group === '') throw new Error(`listing core resource ${r.plural} is not supported`);
    const base = { group: r.group, version: r.version, plural: r.plural, ...q };
    return listResult(ns ? await custom.listNamespacedCustomObject({ ...base, namespace: ns }, opt) : await custom.listClusterCustomObject(base, opt));
  }

  return {
    config: kc,
    watch: new k.Watch(kc),
    metadataWatch: new k.Watch(withAccept(kc, METADATA_WATCH_ACCEPT)),
    listPage,
    async listAll(r, o) {
      const limit = o.pageSize ?? DEFAULT_PAGE_SIZE;
      for (let attempt = 0; ; attempt++) {
        const items: Record<string, unknown>[] = [];
        let page = await listPage(r, { ...o, limit });
        const resourceVersion = page.resourceVersion;
        items.push(...page.items);
        try {
          while (page.continueToken) {
            page = await listPage(r, { ...o, limit, continueToken: page.continueToken });
            items.push(...page.items);
          }
        } catch (e) {
          // The snapshot behind the token was compacted away: start over (bounded).
          if (httpStatus(e) === 410 && attempt < MAX_LIST_RESTARTS) continue;
          throw e;
        }
        return { items, resourceVersion };
      }
    },
    async createTokenReview(body) {
      return plain(await authn.createTokenReview({ body: body as K8s.V1TokenReview }));
    },
    async createSubjectAccessReview(body) {
      return plain(await authz.createSubjectAccessReview({ body: body as K8s.V1SubjectAccessReview }));
    },
    async apiResources(group, version) {
      try {
        const list = plain<{ resources?: { name: string }[] }>(await custom.getAPIResources({ group, version }));
        return (list.resources ?? []).map((r) => r.name);
      } catch (e) {
        if (httpStatus(e) === 404) return undefined;
        throw e;
      }
    },
    async listCustom(group, version, plural, namespace, labelSelector) {
      const list = namespace
        ? await custom.listNamespacedCustomObject({ group, version, plural, namespace, labelSelector })
        : await custom.listClusterCustomObject({ group, version, plural, labelSelector });
      return listResult(list);
    },
    async getCustom(group, version, plural, namespace, name) {
      return plain(await custom.getNamespacedCustomObject({ group, version, plural, namespace, name }));
    },
    async createCustom(group, version, plural, namespace, body) {
      return plain(await custom.createNamespacedCustomObject({ group, version, plural, namespace, body }));
    },
    async replaceCustom(group, version, plural, namespace, name, body) {
      return plain(await custom.replaceNamespacedCustomObject({ group, version, plural, namespace, name, body }));
    },
    async deleteCustom(group, version, plural, namespace, name) {
      await custom.deleteNamespacedCustomObject({ group, version, plural, namespace, name });
    },
    async patchCustom(group, version, plural, namespace, name, patch) {
      return plain(await custom.patchNamespacedCustomObject({ group, version, plural, namespace, name, body: patch }, merge));
    },
    async patchCustomStatus(group, version, plural, namespace, name, patch) {
      return plain(await custom.patchNamespacedCustomObjectStatus({ group, version, plural, namespace, name, body: patch }, merge));
    },
    async listNodes(fieldSelector) {
      return listResult(await core.listNode({ fieldSelector }));
    },
    async listPods(namespace, labelSelector) {
      return listResult(await core.listNamespacedPod({ namespace, labelSelector }));
    },
    async patchPod(namespace, name, patch) {
      await core.patchNamespacedPod({ namespace, name, body: patch }, merge);
    },
    async createEvent(namespace, body) {
      await core.createNamespacedEvent({ namespace, body: body as K8s.CoreV1Event });
    },
    async getLease(namespace, name) {
      return plain(await coordination.readNamespacedLease({ namespace, name }));
    },
    async createLease(namespace, body) {
      return plain(await coordination.createNamespacedLease({ namespace, body: leaseBody(body) }));
    },
    async replaceLease(namespace, name, body) {
      return plain(await coordination.replaceNamespacedLease({ namespace, name, body: leaseBody(body) }));
    },
  };
}
