/**
 * The chart's auth values: the agent's settings and token volume, the RBAC the agent needs for
 * TokenReview / SubjectAccessReview, and the ClusterRoles a namespace binds, which must grant
 * exactly what the agent asks about (checked by evaluating them on the fake API server).
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import { AUTHZ_GROUP, AUTHZ_RESOURCE, VERB_OF_SCOPE } from '../../src/auth/kubernetes';
import { loadConfig } from '../../src/config/load';
import { CLUSTER_ROLES, RBAC_RESOURCES, ROLE_BINDINGS, startFakeKube, type FakeKubeApiServer } from '../helpers/fake-kube';
import { subjectAccessReview } from '../helpers/fake-kube/reviews';
import { CI_DIR, container, env, find, helm, one, podSpec, renderObjects, rm, type K8sObject } from './chart';

const KUBE = { valuesFiles: [path.join(CI_DIR, 'auth-kubernetes.yaml')] };
const TOKEN = { valuesFiles: [path.join(CI_DIR, 'auth-token.yaml')] };

function agentEnv(objs: ReturnType<typeof renderObjects>): Record<string, string> {
  const ds = one(objs, 'DaemonSet');
  const out: Record<string, string> = {};
  for (const [k, v] of env(container(ds, 'agent'))) if (v.value !== undefined) out[k] = v.value;
  return out;
}

interface Rule { apiGroups: string[]; resources: string[]; verbs: string[] }

describe('chart: authentication values', function () {
  it('default values: no auth settings, no auth RBAC', function () {
    const objs = renderObjects(this, {});
    const e = agentEnv(objs);
    assert.equal(e.AUTH_MODE, undefined);
    assert.deepEqual(find(objs, 'ClusterRole').filter((r) => /-(agent-auth|pusher|reader|deleter)$/.test(r.metadata.name)), []);
  });

  it('kubernetes mode: settings the agent accepts, review RBAC bound to the agent\'s ServiceAccount', function () {
    const objs = renderObjects(this, KUBE);
    const e = agentEnv(objs);
    assert.deepEqual(
      { mode: e.AUTH_MODE, require: e.AUTH_REQUIRE, audiences: e.AUTH_TOKEN_AUDIENCES, ttl: e.AUTH_CACHE_TTL_SECONDS, labels: e.AUTH_IDENTITY_LABELS },
      { mode: 'kubernetes', require: 'read,write,delete', audiences: 'metrics-manager,https://metrics-manager.example', ttl: '30', labels: 'overwrite' },
    );
    const c = loadConfig(e);
    assert.deepEqual([c.authMode, c.authRequire, c.authTokenAudiences, c.authCacheTtlSeconds], ['kubernetes', ['read', 'write', 'delete'], ['metrics-manager', 'https://metrics-manager.example'], 30]);

    const role = one(objs, 'ClusterRole', 'metrics-manager-agent-auth') as K8sObject & { rules: Rule[] };
    assert.deepEqual(role.rules, [
      { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
      { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
    ]);
    const binding = one(objs, 'ClusterRoleBinding', 'metrics-manager-agent-auth') as K8sObject & { subjects: { name: string }[] };
    assert.equal(binding.subjects[0]!.name, podSpec(one(objs, 'DaemonSet')).serviceAccountName);
  });

  it('the pusher, reader and deleter ClusterRoles grant exactly the scope the agent asks about', async function () {
    const objs = renderObjects(this, KUBE);
    const fake: FakeKubeApiServer = await startFakeKube();
    try {
      for (const r of RBAC_RESOURCES) fake.addResource(r);
      for (const name of ['pusher', 'reader', 'deleter']) {
        const role = one(objs, 'ClusterRole', `metrics-manager-${name}`);
        fake.create(CLUSTER_ROLES, { metadata: { name: role.metadata.name }, rules: role.rules });
        fake.create(ROLE_BINDINGS, {
          metadata: { name: `app-${name}`, namespace: 'team-a' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name },
          subjects: [{ kind: 'ServiceAccount', name: `app-${name}`, namespace: 'team-a' }],
        });
      }
      const allowed = (sa: string, ns: string, scope: 'read' | 'write' | 'delete') => {
        const out = subjectAccessReview({ spec: { user: `system:serviceaccount:${ns}:${sa}`, groups: ['system:serviceaccounts'], resourceAttributes: { namespace: ns, verb: VERB_OF_SCOPE[scope], group: AUTHZ_GROUP, resource: AUTHZ_RESOURCE } } }, (r) => fake.list(r));
        return (out as { status: { allowed: boolean } }).status.allowed;
      };
      const grid = ['pusher', 'reader', 'deleter'].map((n) => (['write', 'read', 'delete'] as const).map((s) => allowed(`app-${n}`, 'team-a', s)));
      assert.deepEqual(grid, [[true, false, false], [false, true, false], [false, false, true]]);
      // The binding is the namespace's own: the same ServiceAccount name elsewhere gets nothing.
      assert.equal(allowed('app-pusher', 'team-b', 'write'), false);
    } finally {
      await fake.stop();
    }
  });

  it('token mode: the Secret mounted as a directory (rotation reaches the agent), the file path in the settings', function () {
    const objs = renderObjects(this, TOKEN);
    const e = agentEnv(objs);
    assert.equal(e.AUTH_MODE, 'token');
    assert.equal(e.AUTH_TOKENS_FILE, '/etc/metrics-manager/auth/tokens.txt');
    assert.equal(e.AUTH_IDENTITY_LABELS, 'keep');
    const ds = one(objs, 'DaemonSet');
    const pod = podSpec(ds) as unknown as { volumes: { name: string; secret?: { secretName: string } }[] };
    assert.deepEqual(pod.volumes.find((v) => v.name === 'auth-tokens')?.secret?.secretName, 'metrics-manager-tokens');
    const mount = (container(ds, 'agent') as unknown as { volumeMounts: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[] }).volumeMounts.find((m) => m.name === 'auth-tokens');
    assert.deepEqual(mount, { name: 'auth-tokens', mountPath: '/etc/metrics-manager/auth', readOnly: true });
    assert.deepEqual(find(objs, 'ClusterRole', 'metrics-manager-agent-auth'), []);
  });

  it('refuses token mode without a Secret, and values outside the schema', function () {
    const h = helm(this);
    assert.throws(() => rm.render({ set: ['auth.mode=token'] }, h), /auth.tokensSecret: auth.mode=token needs the name of a Secret/);
    assert.throws(() => rm.render({ set: ['auth.mode=oauth'] }, h), /auth\.mode|mode/);
    assert.throws(() => rm.render({ setJson: ['auth.require=["push"]'] }, h), /require/);
  });
});
