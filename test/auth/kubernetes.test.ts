import assert from 'node:assert/strict';
import { Agent } from '../../src/agent';
import { AUTHZ_GROUP, AUTHZ_RESOURCE } from '../../src/auth/kubernetes';
import { ReviewCache } from '../../src/auth/review-cache';
import { loadConfig } from '../../src/config/load';
import { postJson, postText } from '../helpers/agent';
import {
  CLUSTER_ROLES, fakeKubeConfig, RBAC_RESOURCES, ROLE_BINDINGS, silentLogger, startFakeKube, type FakeKubeApiServer,
} from '../helpers/fake-kube';

const AUDIENCE = 'metrics-manager';
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

/** The ClusterRoles the chart ships (checked against the rendered chart in test/chart). */
function installRoles(fake: FakeKubeApiServer): void {
  for (const r of RBAC_RESOURCES) fake.addResource(r);
  fake.create(CLUSTER_ROLES, { metadata: { name: 'metrics-manager-pusher' }, rules: [{ apiGroups: [AUTHZ_GROUP], resources: [AUTHZ_RESOURCE], verbs: ['create'] }] });
  fake.create(CLUSTER_ROLES, { metadata: { name: 'metrics-manager-reader' }, rules: [{ apiGroups: [AUTHZ_GROUP], resources: [AUTHZ_RESOURCE], verbs: ['get'] }] });
}

/** What a namespace does to let its ServiceAccount use a role: a RoleBinding in its own namespace. */
function bind(fake: FakeKubeApiServer, namespace: string, sa: string, role: string): void {
  fake.create(ROLE_BINDINGS, {
    metadata: { name: `${sa}-${role}`, namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ kind: 'ServiceAccount', name: sa, namespace }],
  });
}

interface Running {
  agent: Agent;
  url: string;
  stop(): Promise<void>;
}

async function startKubeAgent(fake: FakeKubeApiServer, env: Record<string, string> = {}): Promise<Running> {
  const config = loadConfig({
    METRICS_PORT: '0', HOST: '127.0.0.1', SYSTEM_METRICS_SOURCE: 'none', TELEGRAF_FORWARD: 'false', RATE_LIMIT_ENABLED: 'false',
    AUTH_MODE: 'kubernetes', AUTH_TOKEN_AUDIENCES: AUDIENCE, ...env,
  });
  const agent = new Agent({ config, logger: silentLogger(), authKubeConfig: fakeKubeConfig(fake, 'agent-sa-token') });
  await agent.start();
  return { agent, url: `http://127.0.0.1:${agent.port}`, stop: () => agent.stop() };
}

function reviews(fake: FakeKubeApiServer, since: number): { token: number; access: number } {
  const c = fake.requestCounts(since);
  return { token: c.get('create tokenreviews') ?? 0, access: c.get('create subjectaccessreviews') ?? 0 };
}

async function selfMetric(url: string, prefix: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics/self`)).text();
  const l = text.split('\n').find((x) => x.startsWith(prefix));
  return l === undefined ? undefined : Number(l.slice(l.lastIndexOf(' ') + 1));
}

describe('auth: AUTH_MODE=kubernetes (TokenReview + SubjectAccessReview on the fake API server)', function () {
  this.timeout(30_000);
  let fake: FakeKubeApiServer;
  let a: Running;
  let pusher: string;

  before(async () => {
    fake = await startFakeKube();
    installRoles(fake);
    bind(fake, 'team-a', 'pusher', 'metrics-manager-pusher');
    pusher = fake.serviceAccounts.issue('team-a', 'pusher', { audiences: [AUDIENCE] });
    a = await startKubeAgent(fake);
  });
  after(async () => {
    await a?.stop();
    await fake?.stop();
  });

  it('a bound ServiceAccount pushes; its namespace and service account are stamped on the samples', async () => {
    const res = await postText(`${a.url}/write`, 'k8s_push,namespace=kube-system value=1\n', bearer(pusher));
    assert.equal(res.status, 204);
    const m = ((await (await fetch(`${a.url}/api/v1/metrics?name=k8s_push`)).json()) as { metrics: Array<{ tags: Record<string, string> }> }).metrics;
    assert.deepEqual(m.map((x) => x.tags), [{ namespace: 'team-a', service_account: 'pusher' }]);
  });

  it('asks the API server what a real client would: our audience, the SA user, verb create on metrics.metricsmanager.dev in its namespace', async () => {
    bind(fake, 'team-d', 'app', 'metrics-manager-pusher');
    const fresh = fake.serviceAccounts.issue('team-d', 'app', { audiences: [AUDIENCE] });
    const since = fake.requests.length;
    const bodies = fake.reviewBodies.length;
    assert.equal((await postText(`${a.url}/write`, 'k8s_ask value=1\n', bearer(fresh))).status, 204);
    const tr = fake.requests.slice(since).find((r) => r.path === '/apis/authentication.k8s.io/v1/tokenreviews');
    assert.ok(tr, 'a TokenReview was created');
    assert.equal(tr.method, 'POST');
    assert.equal(tr.token, 'agent-sa-token', 'with the agent\'s own credentials');
    assert.deepEqual(reviews(fake, since), { token: 1, access: 1 });
    const [t, s] = fake.reviewBodies.slice(bodies);
    assert.equal(t!.resource, 'tokenreviews');
    assert.deepEqual(t!.body.spec, { token: fresh, audiences: [AUDIENCE] });
    assert.equal(s!.resource, 'subjectaccessreviews');
    const spec = s!.body.spec as { user: string; groups: string[]; resourceAttributes: Record<string, string> };
    assert.equal(spec.user, 'system:serviceaccount:team-d:app');
    assert.ok(spec.groups.includes('system:serviceaccounts:team-d'));
    assert.deepEqual(spec.resourceAttributes, { namespace: 'team-d', verb: 'create', group: AUTHZ_GROUP, resource: AUTHZ_RESOURCE });
  });

  it('denials: no token, garbage, another audience, an unbound ServiceAccount, a missing verb', async () => {
    const none = await postText(`${a.url}/write`, 'x value=1\n');
    assert.equal(none.status, 401);
    assert.match(String(none.headers.get('www-authenticate')), /^Bearer realm="metrics-manager"/);

    const garbage = await postText(`${a.url}/write`, 'x value=1\n', bearer('not-a-service-account-token'));
    assert.equal(garbage.status, 401);
    assert.equal(((await garbage.json()) as { error: string }).error, 'invalid_token');

    const apiAudience = fake.serviceAccounts.issue('team-a', 'pusher');
    assert.equal((await postText(`${a.url}/write`, 'x value=1\n', bearer(apiAudience))).status, 401);

    const stranger = fake.serviceAccounts.issue('team-b', 'app', { audiences: [AUDIENCE] });
    const s = await postText(`${a.url}/write`, 'x value=1\n', bearer(stranger));
    assert.equal(s.status, 403);
    const body = (await s.json()) as { error: string; message: string };
    assert.equal(body.error, 'missing_scope');
    assert.match(body.message, /ServiceAccount team-b\/app may not create metrics\.metricsmanager\.dev in namespace team-b/);

    // A pusher may not delete (AUTH_REQUIRE default: write,delete).
    const del = await fetch(`${a.url}/api/v1/metrics`, { method: 'DELETE', headers: bearer(pusher) });
    assert.equal(del.status, 403);
    assert.match(String(del.headers.get('www-authenticate')), /error="insufficient_scope", .*scope="delete"/);
    assert.equal(await selfMetric(a.url, 'metrics_manager_auth_denied_total{route="/api/v1/metrics",reason="missing_scope"}'), 1);
  });

  it('answers are cached: repeated requests with one token make one review of each kind', async () => {
    const t = fake.serviceAccounts.issue('team-a', 'pusher', { audiences: [AUDIENCE] });
    const since = fake.requests.length;
    for (let i = 0; i < 5; i++) assert.equal((await postText(`${a.url}/write`, `k8s_cached value=${i}\n`, bearer(t))).status, 204);
    // The access answer is per ServiceAccount and verb: cached from the earlier tests already.
    assert.deepEqual(reviews(fake, since), { token: 1, access: 0 });
  });

  it('concurrent identical lookups share one request', async () => {
    const t = fake.serviceAccounts.issue('team-a', 'pusher', { audiences: [AUDIENCE] });
    const since = fake.requests.length;
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => postJson(`${a.url}/api/v1/metrics/simple`, { name: 'k8s_concurrent', value: i }, bearer(t))));
    assert.deepEqual(all.map((r) => r.status), Array(20).fill(202));
    assert.equal(reviews(fake, since).token, 1);
    assert.ok((await selfMetric(a.url, 'metrics_manager_auth_cache_lookups_total{cache="token",result="shared"}'))! >= 1);
  });

  it('an API server error fails closed with 503 + Retry-After, counted, and is not cached', async () => {
    const t = fake.serviceAccounts.issue('team-a', 'pusher', { audiences: [AUDIENCE] });
    const heal = fake.failRequests((r) => r.path.endsWith('/tokenreviews'), 500);
    try {
      for (const res of [await postText(`${a.url}/write`, 'x value=1\n', bearer(t)), await fetch(`${a.url}/api/v1/metrics`, { method: 'DELETE', headers: bearer(t) })]) {
        assert.equal(res.status, 503);
        assert.equal(res.headers.get('retry-after'), '5');
        assert.equal(((await res.json()) as { error: string }).error, 'auth_unavailable');
      }
    } finally {
      heal();
    }
    assert.equal(await selfMetric(a.url, 'metrics_manager_auth_reviews_total{review="token",result="error"}'), 2);
    assert.equal((await postText(`${a.url}/write`, 'x value=1\n', bearer(t))).status, 204);
  });

  it('a SubjectAccessReview the server refuses (403: the agent lacks RBAC) is a 503 too, never a pass', async () => {
    const sa = fake.serviceAccounts.issue('team-c', 'app', { audiences: [AUDIENCE] });
    bind(fake, 'team-c', 'app', 'metrics-manager-pusher');
    const heal = fake.failRequests((r) => r.path.endsWith('/subjectaccessreviews'), 403);
    try {
      assert.equal((await postText(`${a.url}/write`, 'x value=1\n', bearer(sa))).status, 503);
    } finally {
      heal();
    }
    assert.equal((await postText(`${a.url}/write`, 'x value=1\n', bearer(sa))).status, 204);
  });

  it('with AUTH_REQUIRE including read, a reader role opens the stream and the dashboard', async () => {
    const b = await startKubeAgent(fake, { AUTH_REQUIRE: 'read,write,delete' });
    try {
      bind(fake, 'grafana', 'viewer', 'metrics-manager-reader');
      const viewer = fake.serviceAccounts.issue('grafana', 'viewer', { audiences: [AUDIENCE] });
      const status = async (res: Promise<Response>) => {
        const r = await res;
        await r.arrayBuffer(); // read to the end, so the connection is free when the agent stops
        return r.status;
      };
      assert.equal(await status(fetch(`${b.url}/metrics/stream`)), 401);
      assert.equal(await status(fetch(`${b.url}/metrics/stream`, { headers: { ...bearer(pusher), accept: 'text/event-stream' } })), 403);
      const ac = new AbortController();
      const stream = await fetch(`${b.url}/metrics/stream`, { headers: bearer(viewer), signal: ac.signal });
      assert.equal(stream.status, 200);
      ac.abort();
      assert.equal(await status(fetch(`${b.url}/dashboard`)), 200, 'the page is static code; its data is what needs read');
      assert.equal((await postText(`${b.url}/write`, 'x value=1\n', bearer(viewer))).status, 403);
    } finally {
      await b.stop();
    }
  });

  it('TTL: a revoked token works until its cached answer expires, then gets 401', async () => {
    const b = await startKubeAgent(fake, { AUTH_CACHE_TTL_SECONDS: '1' });
    try {
      const t = fake.serviceAccounts.issue('team-a', 'pusher', { audiences: [AUDIENCE] });
      assert.equal((await postText(`${b.url}/write`, 'x value=1\n', bearer(t))).status, 204);
      fake.serviceAccounts.revoke(t);
      assert.equal((await postText(`${b.url}/write`, 'x value=1\n', bearer(t))).status, 204);
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await postText(`${b.url}/write`, 'x value=1\n', bearer(t))).status, 401);
    } finally {
      await b.stop();
    }
  });

  it('the caches are bounded and count their evictions', async () => {
    const b = await startKubeAgent(fake, { AUTH_CACHE_MAX_ENTRIES: '2' });
    try {
      for (let i = 0; i < 4; i++) {
        const t = fake.serviceAccounts.issue('team-a', 'pusher', { audiences: [AUDIENCE] });
        assert.equal((await postText(`${b.url}/write`, 'x value=1\n', bearer(t))).status, 204);
      }
      assert.equal(await selfMetric(b.url, 'metrics_manager_auth_cache_entries{cache="token"}'), 2);
      assert.equal(await selfMetric(b.url, 'metrics_manager_auth_cache_evictions_total{cache="token"}'), 2);
    } finally {
      await b.stop();
    }
  });
});

describe('auth: ReviewCache', () => {
  it('keeps answers for the TTL, evicts the least recently used past the bound, shares in-flight loads, never caches a failure', async () => {
    let now = 0;
    const c = new ReviewCache<number>({ ttlMs: 1000, maxEntries: 2, now: () => now });
    let loads = 0;
    const load = (v: number) => () => {
      loads++;
      return Promise.resolve(v);
    };
    assert.equal(await c.get('a', load(1)), 1);
    assert.equal(await c.get('a', load(9)), 1);
    assert.equal(loads, 1);
    await c.get('b', load(2));
    await c.get('a', load(9)); // a is now the most recently used
    await c.get('c', load(3)); // evicts b
    assert.equal(c.evictions, 1);
    assert.equal(await c.get('a', load(9)), 1);
    assert.equal(await c.get('b', load(22)), 22);
    now = 1500;
    assert.equal(await c.get('b', load(222)), 222);

    let release!: (v: number) => void;
    const slow = () => new Promise<number>((r) => (release = r));
    const p1 = c.get('d', slow);
    const p2 = c.get('d', load(0));
    release(4);
    assert.deepEqual(await Promise.all([p1, p2]), [4, 4]);
    assert.equal(c.shared, 1);

    await assert.rejects(c.get('e', () => Promise.reject(new Error('down'))), /down/);
    assert.equal(await c.get('e', load(5)), 5);
  });
});
