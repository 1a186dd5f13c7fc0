/**
 * TokenReview and SubjectAccessReview for the FAKE API server (server.ts): ServiceAccount tokens it
 * issued itself (with audiences and an expiry, like projected tokens) and RBAC evaluated from the
 * Role, ClusterRole, RoleBinding and ClusterRoleBinding objects it stores, with the real server's
 * answers: `status.authenticated`, `status.user.username` `system:serviceaccount:<ns>:<sa>`, the
 * service account groups, `status.audiences`; `status.allowed` with a reason naming the binding.
 */

import { randomBytes, randomUUID } from 'node:crypto';
import type { FakeResource, Obj } from './server';

export const ROLES: FakeResource = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', namespaced: true };
export const CLUSTER_ROLES: FakeResource = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false };
export const ROLE_BINDINGS: FakeResource = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true };
export const CLUSTER_ROLE_BINDINGS: FakeResource = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false };
export const RBAC_RESOURCES: readonly FakeResource[] = [ROLES, CLUSTER_ROLES, ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS];

/** The audience a token is for when none is asked for (the API server's own, --api-audiences). */
export const API_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';

export interface IssuedToken {
  namespace: string;
  serviceAccount: string;
  uid: string;
  audiences: string[];
  expiresAtMs: number;
  podName?: string;
}

export interface ReviewError {
  code: number;
  reason: string;
  message: string;
}

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

/** ServiceAccount tokens the fake issued, by token. */
export class TokenIssuer {
  private readonly tokens = new Map<string, IssuedToken>();

  constructor(private readonly now: () => number) {}

  /** A token of `namespace`/`serviceAccount` for `audiences` (default: the API server's), valid for `ttlMs`. */
  issue(namespace: string, serviceAccount: string, opts: { audiences?: string[]; ttlMs?: number; podName?: string } = {}): string {
    const token = `eyJ.fake-sa.${randomBytes(24).toString('base64url')}`;
    this.tokens.set(token, { namespace, serviceAccount, uid: randomUUID(), audiences: opts.audiences ?? [API_AUDIENCE], expiresAtMs: this.now() + (opts.ttlMs ?? 3_600_000), podName: opts.podName });
    return token;
  }

  /** Makes a token invalid (its ServiceAccount or Pod was deleted). */
  revoke(token: string): void {
    this.tokens.delete(token);
  }

  /** The TokenReview answer for a request body. */
  review(body: Record<string, unknown>): Record<string, unknown> | ReviewError {
    const spec = (body.spec ?? {}) as { token?: unknown; audiences?: unknown };
    if (typeof spec.token !== 'string' || spec.token === '') return { code: 422, reason: 'Invalid', message: 'TokenReview.authentication.k8s.io "" is invalid: spec.token: Required value' };
    const wanted = Array.isArray(spec.audiences) && spec.audiences.length > 0 ? (spec.audiences as string[]) : [API_AUDIENCE];
    const t = this.tokens.get(spec.token);
    const answer = (status: Record<string, unknown>) => ({ kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, spec, status });
    if (t === undefined) return answer({ user: {}, error: '[invalid bearer token, service account token has been invalidated]' });
    if (t.expiresAtMs <= this.now()) return answer({ user: {}, error: '[invalid bearer token, service account token has expired]' });
    const audiences = t.audiences.filter((a) => wanted.includes(a));
    if (audiences.length === 0) return answer({ user: {}, error: '[invalid bearer token, token audiences ["' + t.audiences.join('","') + '"] is invalid for the target audiences ["' + wanted.join('","') + '"]]' });
    return answer({
      authenticated: true,
      user: {
        username: `system:serviceaccount:${t.namespace}:${t.serviceAccount}`,
        uid: t.uid,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${t.namespace}`, 'system:authenticated'],
        ...(t.podName ? { extra: { 'authentication.kubernetes.io/pod-name': [t.podName] } } : {}),
      },
      audiences,
    });
  }
}

function subjectMatches(s: Subject, user: string, groups: string[], bindingNs: string | undefined): boolean {
  if (s.kind === 'User') return s.name === user;
  if (s.kind === 'Group') return groups.includes(s.name);
  if (s.kind === 'ServiceAccount') return user === `system:serviceaccount:${s.namespace ?? bindingNs}:${s.name}`;
  return false;
}

function ruleAllows(r: Rule, attrs: { verb: string; group: string; resource: string; subresource: string; name: string }): boolean {
  const has = (list: string[] | undefined, v: string) => (list ?? []).includes('*') || (list ?? []).includes(v);
  if (!has(r.verbs, attrs.verb) || !has(r.apiGroups, attrs.group)) return false;
  const res = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const resources = r.resources ?? [];
  const resOk = resources.includes('*') || resources.includes(res) || (attrs.subresource !== '' && resources.includes(`*/${attrs.subresource}`));
  if (!resOk) return false;
  return (r.resourceNames ?? []).length === 0 || (r.resourceNames ?? []).includes(attrs.name);
}

/**
 * The SubjectAccessReview answer for a request body, from RBAC objects `lookup` returns
 * (ClusterRoleBindings grant everywhere; RoleBindings in their namespace only).
 */
export function subjectAccessReview(body: Record<string, unknown>, lookup: (r: FakeResource) => Obj[]): Record<string, unknown> | ReviewError {
  const spec = (body.spec ?? {}) as { user?: string; groups?: string[]; resourceAttributes?: Record<string, string>; nonResourceAttributes?: Record<string, string> };
  const user = spec.user ?? '';
  const groups = spec.groups ?? [];
  if (user === '' && groups.length === 0) return { code: 422, reason: 'Invalid', message: 'SubjectAccessReview.authorization.k8s.io "" is invalid: spec.user: Invalid value: "": at least one of user or group must be specified' };
  if ((spec.resourceAttributes === undefined) === (spec.nonResourceAttributes === undefined)) {
    return { code: 422, reason: 'Invalid', message: 'SubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified' };
  }
  const answer = (status: Record<string, unknown>) => ({ kind: 'SubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: { creationTimestamp: null }, spec, status });
  const ra = spec.resourceAttributes;
  if (ra === undefined) return answer({ allowed: false });
  const attrs = { verb: ra.verb ?? '', group: ra.group ?? '', resource: ra.resource ?? '', subresource: ra.subresource ?? '', name: ra.name ?? '' };
  const namespace = ra.namespace ?? '';
  const rulesOf = (ref: { kind: string; name: string }, bindingNs: string | undefined): Rule[] => {
    const role = ref.kind === 'ClusterRole'
      ? lookup(CLUSTER_ROLES).find((o) => o.metadata.name === ref.name)
      : lookup(ROLES).find((o) => o.metadata.name === ref.name && o.metadata.namespace === bindingNs);
    return ((role?.rules as Rule[] | undefined) ?? []);
  };
  const bindings: Array<{ b: Obj; ns: string | undefined }> = [
    ...lookup(CLUSTER_ROLE_BINDINGS).map((b) => ({ b, ns: undefined })),
    ...lookup(ROLE_BINDINGS).filter((b) => namespace !== '' && b.metadata.namespace === namespace).map((b) => ({ b, ns: b.metadata.namespace })),
  ];
  for (const { b, ns } of bindings) {
    const subjects = (b.subjects as Subject[] | undefined) ?? [];
    const ref = b.roleRef as { kind: string; name: string };
    const who = subjects.find((s) => subjectMatches(s, user, groups, ns));
    if (who === undefined) continue;
    if (rulesOf(ref, ns).some((r) => ruleAllows(r, attrs))) {
      const kind = ns === undefined ? 'ClusterRoleBinding' : 'RoleBinding';
      const where = ns === undefined ? `"${b.metadata.name}"` : `"${b.metadata.name}/${ns}"`;
      return answer({ allowed: true, reason: `RBAC: allowed by ${kind} ${where} of ${ref.kind} "${ref.name}" to ${who.kind} "${who.name}${who.kind === 'ServiceAccount' ? `/${who.namespace ?? ns}` : ''}"` });
    }
  }
  return answer({ allowed: false });
}
