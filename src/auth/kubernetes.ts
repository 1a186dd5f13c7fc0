/**
 * AUTH_MODE=kubernetes: the caller sends its ServiceAccount token (a projected token with our
 * audience); the API server says who it is (TokenReview, authentication.k8s.io/v1) and whether
 * that ServiceAccount may use the route's scope (SubjectAccessReview, authorization.k8s.io/v1),
 * the way kube-rbac-proxy checks requests in front of node-exporter.
 *
 * What is authorised, per request: the resource `metrics` of API group `metricsmanager.dev` (a
 * virtual resource: nothing is stored, RBAC only needs a name), in the caller's own namespace,
 * with the verb of the route's scope: write → `create`, read → `get`, delete → `delete`. A
 * namespace lets its ServiceAccounts push by binding the chart's ClusterRole with a RoleBinding.
 *
 * Both answers are cached (AUTH_CACHE_TTL_SECONDS, AUTH_CACHE_MAX_ENTRIES) and concurrent identical
 * lookups share one request. Fail closed: a token the API server rejects is a 401, a missing
 * permission a 403; when the API server cannot answer, the request gets 503 with Retry-After
 * (counted), never a pass and never a 500. Tokens are cached by SHA-256 digest, never kept or logged.
 */

import { createHash } from 'node:crypto';
import { errorText } from '../kube/client';
import { bearerToken, type AccessDecision } from './access';
import { AuthUnavailableError, type Authenticator } from './authenticator';
import { ReviewCache, type ReviewCacheStats } from './review-cache';
import type { Identity, Scope } from './tokens';

/** The API group and resource SubjectAccessReviews ask about. */
export const AUTHZ_GROUP = 'metricsmanager.dev';
export const AUTHZ_RESOURCE = 'metrics';
export const VERB_OF_SCOPE: Readonly<Record<Scope, string>> = { write: 'create', read: 'get', delete: 'delete' };

/** Seconds a client is told to wait when the API server did not answer. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

const SA_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;

/** The two calls used, as src/kube's KubeApi makes them (plain JSON in and out). */
export interface ReviewApi {
  createTokenReview(body: object): Promise<Record<string, unknown>>;
  createSubjectAccessReview(body: object): Promise<Record<string, unknown>>;
}

export interface KubernetesAuthOptions {
  api: ReviewApi;
  require: ReadonlySet<Scope>;
  /** Audiences the token must be for; empty = the API server's own. */
  audiences: readonly string[];
  cacheTtlMs: number;
  cacheMaxEntries: number;
  now: () => number;
  /** Lifecycle warnings (an API server that stopped answering), at most once a minute. */
  warn?: (message: string, fields: Record<string, unknown>) => void;
}

interface TokenAnswer {
  authenticated: boolean;
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** Review counts by kind and result, for self-metrics. */
export interface KubeAuthStats {
  readonly reviews: Readonly<Record<string, number>>;
  readonly tokenCache: ReviewCacheStats;
  readonly accessCache: ReviewCacheStats;
}

export class KubernetesAuthenticator implements Authenticator, KubeAuthStats {
  readonly mode = 'kubernetes';
  readonly require: ReadonlySet<Scope>;
  /** `token_authenticated`, `token_rejected`, `token_error`, `access_allowed`, `access_denied`, `access_error`. */
  readonly reviews: Record<string, number> = {};
  readonly tokenCache: ReviewCache<TokenAnswer>;
  readonly accessCache: ReviewCache<boolean>;
  private lastWarnMs = -Infinity;

  constructor(private readonly opts: KubernetesAuthOptions) {
    this.require = opts.require;
    const cache = { ttlMs: opts.cacheTtlMs, maxEntries: opts.cacheMaxEntries, now: opts.now };
    this.tokenCache = new ReviewCache(cache);
    this.accessCache = new ReviewCache(cache);
  }

  check(authorization: string | undefined, scope: Scope): AccessDecision | Promise<AccessDecision> {
    if (!this.require.has(scope)) return { ok: true };
    const b = bearerToken(authorization, scope);
    if (!('token' in b)) return b;
    return this.decide(b.token, scope);
  }

  private async decide(token: string, scope: Scope): Promise<AccessDecision> {
    const digest = createHash('sha256').update(token, 'utf8').digest('base64');
    const who = await this.tokenCache.get(digest, () => this.tokenReview(token));
    if (!who.authenticated) return { ok: false, status: 401, reason: 'invalid_token', message: 'the Kubernetes API server did not accept the bearer token (expired, revoked, or not for this audience)' };
    const m = SA_USER.exec(who.username ?? '');
    if (m === null) return { ok: false, status: 401, reason: 'invalid_token', message: 'only ServiceAccount tokens are accepted' };
    const [, namespace, serviceAccount] = m;
    const verb = VERB_OF_SCOPE[scope];
    const allowed = await this.accessCache.get(`${who.username}\u0000${verb}`, () => this.accessReview(who, namespace, verb));
    if (!allowed) {
      return {
        ok: false, status: 403, reason: 'missing_scope',
        message: `ServiceAccount ${namespace}/${serviceAccount} may not ${verb} ${AUTHZ_RESOURCE}.${AUTHZ_GROUP} in namespace ${namespace}, which the "${scope}" scope of this endpoint needs`,
      };
    }
    const identity: Identity = { name: `${namespace}/${serviceAccount}`, namespace, serviceAccount };
    return { ok: true, identity };
  }

  private count(what: string): void {
    this.reviews[what] = (this.reviews[what] ?? 0) + 1;
  }

  private unavailable(review: string, err: unknown): AuthUnavailableError {
    this.count(`${review}_error`);
    const t = this.opts.now();
    if (t - this.lastWarnMs >= 60_000) {
      this.lastWarnMs = t;
      this.opts.warn?.('the Kubernetes API server did not answer a review; requests needing a credential get 503', { review, error: errorText(err) });
    }
    return new AuthUnavailableError(`the Kubernetes API server could not check the credential (${review} review); retry later`, UNAVAILABLE_RETRY_AFTER_SECONDS);
  }

  private async tokenReview(token: string): Promise<TokenAnswer> {
    let answer: Record<string, unknown>;
    try {
      answer = await this.opts.api.createTokenReview({
        apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview',
        spec: { token, ...(this.opts.audiences.length > 0 ? { audiences: [...this.opts.audiences] } : {}) },
      });
    } catch (err) {
      throw this.unavailable('token', err);
    }
    const status = (answer.status ?? {}) as { authenticated?: boolean; user?: Omit<TokenAnswer, 'authenticated'>; audiences?: string[] };
    // The server checks the audiences; check its answer names one of ours too (an older server may ignore spec.audiences).
    const audienceOk = this.opts.audiences.length === 0 || (status.audiences ?? []).some((a) => this.opts.audiences.includes(a));
    if (status.authenticated !== true || !audienceOk) {
      this.count('token_rejected');
      return { authenticated: false };
    }
    this.count('token_authenticated');
    const u: Omit<TokenAnswer, 'authenticated'> = status.user ?? {};
    return { authenticated: true, username: u.username, uid: u.uid, groups: u.groups, extra: u.extra };
  }

  private async accessReview(who: TokenAnswer, namespace: string, verb: string): Promise<boolean> {
    let answer: Record<string, unknown>;
    try {
      answer = await this.opts.api.createSubjectAccessReview({
        apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
        spec: {
          user: who.username, uid: who.uid, groups: who.groups, extra: who.extra,
          resourceAttributes: { namespace, verb, group: AUTHZ_GROUP, resource: AUTHZ_RESOURCE },
        },
      });
    } catch (err) {
      throw this.unavailable('access', err);
    }
    const allowed = (answer.status as { allowed?: boolean } | undefined)?.allowed === true;
    this.count(allowed ? 'access_allowed' : 'access_denied');
    return allowed;
  }
}
