import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NamespaceStats, stampIdentity } from '../../src/auth/stamp';
import { checkStampedLabelCount } from '../../src/hub/push-labels';
import { ValidationError } from '../../src/model/names';
import type { Sample } from '../../src/model/sample';
import { seriesKey } from '../../src/model/series-key';
import { postJson, postText, startAgent, type RunningAgent } from '../helpers/agent';
import { repeatedRequest } from '../helpers/otlp-body';

const POD = 'pod-token-0123456789abcdef00';
const OPS = 'ops-token-0123456789abcdef00';
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

/** One push per format, each making a series named `<prefix>_<format>` with the pusher's own namespace label. */
const PUSHES: Array<[string, string, (url: string, h: Record<string, string>, name: string) => Promise<Response>]> = [
  ['simple JSON', 'simple', (url, h, n) => postJson(`${url}/api/v1/metrics/simple`, { name: n, value: 1, tags: { namespace: 'kube-system', service_account: 'admin', app: 'x' } }, h)],
  ['JSON batch', 'batch', (url, h, n) => postJson(`${url}/api/v1/metrics`, { metrics: [{ name: n, fields: { value: 1, other: 2 }, tags: { namespace: 'kube-system', app: 'x' } }] }, h)],
  ['line protocol', 'influx', (url, h, n) => postText(`${url}/api/v1/metrics/influx`, `${n},namespace=kube-system,app=x value=1\n`, h)],
  ['InfluxDB 1.x /write', 'write', (url, h, n) => postText(`${url}/write`, `${n},namespace=kube-system,app=x value=1\n`, h)],
  ['InfluxDB 2.x /api/v2/write', 'v2', (url, h, n) => postText(`${url}/api/v2/write?org=o&bucket=b`, `${n},namespace=kube-system,app=x value=1\n`, h)],
  ['OTLP JSON', 'otlp', (url, h, n) => postJson(`${url}/v1/metrics`, {
    resourceMetrics: [{
      resource: { attributes: [{ key: 'namespace', value: { stringValue: 'kube-system' } }] },
      scopeMetrics: [{ metrics: [{ name: n, gauge: { dataPoints: [{ asDouble: 1, attributes: [{ key: 'app', value: { stringValue: 'x' } }] }] } }] }],
    }],
  }, h)],
  ['component report', 'report', (url, h, n) => postJson(`${url}/api/metrics/report`, { component_name: 'c', metrics: [{ metric_name: n, metric_type: 'gauge', metric_value: 1, labels: { namespace: 'kube-system', app: 'x' } }] }, h)],
];

async function tagsOf(url: string, name: string): Promise<Array<Record<string, string>>> {
  const r = await fetch(`${url}/api/v1/metrics?name=${name}`);
  return ((await r.json()) as { metrics: Array<{ tags: Record<string, string> }> }).metrics.map((m) => m.tags);
}

async function selfMetrics(url: string): Promise<string> {
  return (await fetch(`${url}/metrics/self`)).text();
}

function metricValue(text: string, prefix: string): number | undefined {
  const l = text.split('\n').find((x) => x.startsWith(prefix));
  return l === undefined ? undefined : Number(l.slice(l.lastIndexOf(' ') + 1));
}

describe('auth: identity stamped on pushes', function () {
  this.timeout(30_000);
  let dir: string;
  let file: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-identity-'));
    file = path.join(dir, 'tokens');
    fs.writeFileSync(file, `${POD} write team-a/pusher\n${OPS} write ops\n`);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('AUTH_IDENTITY_LABELS=overwrite (the default)', () => {
    let a: RunningAgent;
    before(async () => {
      a = await startAgent({ AUTH_MODE: 'token', AUTH_TOKENS_FILE: file, RATE_LIMIT_ENABLED: 'false' });
    });
    after(() => a.stop());

    for (const [what, suffix, push] of PUSHES) {
      it(`${what}: namespace and service_account come from the token, the pusher's own are replaced`, async () => {
        const name = `stamp_${suffix}`;
        const res = await push(a.url, bearer(POD), name);
        assert.ok(res.status >= 200 && res.status < 300, `${what}: ${res.status} ${await res.text()}`);
        const tags = await tagsOf(a.url, name);
        assert.ok(tags.length >= 1, `${what}: no series stored`);
        for (const t of tags) {
          assert.equal(t.namespace, 'team-a');
          assert.equal(t.service_account, 'pusher');
          assert.equal(t.app, 'x');
        }
      });
    }

    it('OTLP protobuf: the stamped namespace replaces the resource attributes', async () => {
      const res = await fetch(`${a.url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', ...bearer(POD) }, body: repeatedRequest(1).raw });
      assert.equal(res.status, 200);
      const tags = await tagsOf(a.url, 'pipeline_fps');
      assert.ok(tags.length > 0);
      for (const t of tags) assert.equal(t.namespace, 'team-a');
    });

    it('a token without a service account removes a claimed service_account label', async () => {
      const res = await postJson(`${a.url}/api/v1/metrics/simple`, { name: 'stamp_ops', value: 1, tags: { namespace: 'team-a', service_account: 'pusher' } }, bearer(OPS));
      assert.equal(res.status, 202);
      assert.deepEqual(await tagsOf(a.url, 'stamp_ops'), [{ namespace: 'ops' }]);
    });

    it('refuses a push whose series the stamped labels take past the 64-label bound (422 naming it), and counts it', async () => {
      const tags = (n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`l${i}`, 'v']));
      // 63 labels of its own + namespace + service_account = 65.
      const over = await postJson(`${a.url}/api/v1/metrics/simple`, { name: 'stamp_over', value: 1, tags: tags(63) }, bearer(POD));
      assert.equal(over.status, 422);
      const body = (await over.json()) as { error: string; message: string };
      assert.equal(body.error, 'invalid_metrics');
      assert.match(body.message, /series stamp_over would have 65 labels .*\(namespace, service_account\); the limit is 64 per series/);
      assert.deepEqual(await tagsOf(a.url, 'stamp_over'), []);
      const line = Array.from({ length: 63 }, (_, i) => `,l${i}=v`).join('');
      const lp = await postText(`${a.url}/api/v1/metrics/influx`, `stamp_over_lp${line} value=1\nstamp_fits_lp,a=b value=1\n`, bearer(POD));
      assert.equal(lp.status, 422, 'nothing of the push is stored');
      assert.deepEqual(await tagsOf(a.url, 'stamp_fits_lp'), []);
      // 62 + 2 = 64: at the bound, accepted; a pusher's own namespace label is replaced, not added.
      const fits = await postJson(`${a.url}/api/v1/metrics/simple`, { name: 'stamp_fits', value: 1, tags: { ...tags(62), namespace: 'x' } }, bearer(POD));
      assert.equal(fits.status, 202, await fits.text());
      const stored = await tagsOf(a.url, 'stamp_fits');
      assert.equal(Object.keys(stored[0]).length, 64);
      const text = await selfMetrics(a.url);
      assert.equal(metricValue(text, 'metrics_manager_events_rejected_total{format="simple",reason="too_many_labels"}'), 1);
      assert.equal(metricValue(text, 'metrics_manager_events_rejected_total{format="influx",reason="too_many_labels"}'), 2);
    });

    it('counts samples and series per namespace', async () => {
      await postText(`${a.url}/write`, 'ns_count,k=1 value=1\nns_count,k=2 value=2\nns_count,k=3 a=1,b=2\n', bearer(OPS));
      const text = await selfMetrics(a.url);
      const opsSeries = metricValue(text, 'metrics_manager_namespace_series{namespace="ops"}');
      // stamp_ops (1) + ns_count k=1, k=2 (2) + ns_count_a and ns_count_b of k=3 (2)
      assert.equal(opsSeries, 5);
      assert.ok((metricValue(text, 'metrics_manager_namespace_samples_received_total{namespace="ops"}') ?? 0) >= 5);
      assert.ok((metricValue(text, 'metrics_manager_namespace_series{namespace="team-a"}') ?? 0) >= PUSHES.length);
      assert.ok(!text.includes('namespace="kube-system"'));
    });
  });

  it('AUTH_IDENTITY_LABELS=keep: the pusher\'s own labels win, missing ones are stamped', async () => {
    const a = await startAgent({ AUTH_MODE: 'token', AUTH_TOKENS_FILE: file, AUTH_IDENTITY_LABELS: 'keep' });
    try {
      await postText(`${a.url}/write`, 'kept,namespace=kube-system value=1\nfilled value=1\n', bearer(POD));
      assert.deepEqual(await tagsOf(a.url, 'kept'), [{ namespace: 'kube-system', service_account: 'pusher' }]);
      assert.deepEqual(await tagsOf(a.url, 'filled'), [{ namespace: 'team-a', service_account: 'pusher' }]);
    } finally {
      await a.stop();
    }
  });

  it('unauthenticated pushes (an open scope) are not stamped', async () => {
    const a = await startAgent({ AUTH_MODE: 'token', AUTH_TOKENS_FILE: file, AUTH_REQUIRE: 'delete' });
    try {
      await postText(`${a.url}/write`, 'open_push,namespace=kube-system value=1\n');
      assert.deepEqual(await tagsOf(a.url, 'open_push'), [{ namespace: 'kube-system' }]);
    } finally {
      await a.stop();
    }
  });

  describe('stampIdentity (pure)', () => {
    it('copies shared labels once, never mutates them, and drops the precomputed key', () => {
      const shared = Object.freeze({ host: 'h', namespace: 'evil' });
      const samples: Sample[] = [
        { name: 'a', labels: shared, value: 1, type: 'gauge', key: seriesKey('a', shared) },
        { name: 'b', labels: shared, value: 2, type: 'gauge', key: seriesKey('b', shared) },
      ];
      stampIdentity(samples, { name: 'team-a/sa', namespace: 'team-a', serviceAccount: 'sa' }, 'overwrite');
      assert.deepEqual(shared, { host: 'h', namespace: 'evil' });
      assert.equal(samples[0].labels, samples[1].labels);
      assert.deepEqual(samples[0].labels, { host: 'h', namespace: 'team-a', service_account: 'sa' });
      assert.equal(samples[0].key, undefined);
    });
  });

  describe('checkStampedLabelCount (pure)', () => {
    it('passes series within the bound and names the first one past it', () => {
      const at = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`l${i}`, 'v']));
      const samples: Sample[] = [{ name: 'ok', labels: at, value: 1, type: 'gauge' }];
      assert.equal(checkStampedLabelCount(samples, ['namespace']), samples);
      samples.push({ name: 'big', labels: { ...at, namespace: 'n' }, value: 1, type: 'gauge' });
      assert.throws(() => checkStampedLabelCount(samples, ['namespace', 'pod']), (e: Error) => e instanceof ValidationError && /series big would have 65 labels .*\(namespace, pod\)/.test(e.message));
      // Nothing stamped: the formats' own check stands, nothing is counted here.
      assert.equal(checkStampedLabelCount(samples, []), samples);
    });
  });

  describe('NamespaceStats', () => {
    it('bounds namespace label values and counts the overflow under other', () => {
      const s = new NamespaceStats(2);
      s.addSamples('a', 3);
      s.addSamples('b', 1);
      s.addSamples('c', 5);
      s.addSamples('d', 2);
      s.addSamples('a', 1);
      assert.deepEqual([...s.samplesByLabel()], [['a', 4], ['b', 1], ['other', 7]]);
      const series: Array<{ labels: Record<string, string> }> = [{ labels: { namespace: 'a' } }, { labels: { namespace: 'c' } }, { labels: { namespace: 'zz' } }, { labels: {} }];
      assert.deepEqual([...s.seriesByLabel(series)], [['a', 1], ['other', 2]]);
    });
  });
});
