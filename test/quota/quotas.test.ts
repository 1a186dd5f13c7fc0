import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseQuotaPolicy, QuotaExceeded, QuotaGate, quotaOf } from '../../src/quota/quotas';
import { postJson, postText, startAgent, type RunningAgent } from '../helpers/agent';

describe('per-namespace quotas', () => {
  describe('QUOTAS policy', () => {
    it('reads defaults and per-namespace overrides; an override replaces the default whole', () => {
      const p = parseQuotaPolicy('{"default":{"maxSeries":100},"namespaces":{"team-b":{"samplesPerSecond":50}}}');
      assert.deepEqual(quotaOf(p, 'team-a'), { maxSeries: 100, samplesPerSecond: 0, requestsPerSecond: 0 });
      assert.deepEqual(quotaOf(p, 'team-b'), { maxSeries: 0, samplesPerSecond: 50, requestsPerSecond: 0 });
      assert.equal(parseQuotaPolicy('  '), undefined);
      assert.deepEqual(quotaOf(undefined, 'x'), { maxSeries: 0, samplesPerSecond: 0, requestsPerSecond: 0 });
    });
    it('names what is wrong', () => {
      assert.throws(() => parseQuotaPolicy('{'), /QUOTAS is not JSON/);
      assert.throws(() => parseQuotaPolicy('{"default":{"maxSeries":-1}}'), /default\.maxSeries/);
      assert.throws(() => parseQuotaPolicy('{"default":{"maxseries":1}}'), /maxseries/);
      assert.throws(() => parseQuotaPolicy('{"namespaces":{"a":{"requestsPerSecond":"x"}}}'), /namespaces\.a\.requestsPerSecond/);
    });
  });

  describe('QuotaGate (rates)', () => {
    let now = 0;
    const gate = new QuotaGate(() => '', () => now, 3);
    const q = { maxSeries: 0, samplesPerSecond: 100, requestsPerSecond: 2 };

    const samplesOnly = { ...q, requestsPerSecond: 0 };
    it('lets a second of burst through, then refuses with Retry-After until tokens come back', () => {
      now = 1_000_000;
      gate.admit('a', samplesOnly, 60);
      assert.throws(() => gate.admit('a', samplesOnly, 60), (e: unknown) => e instanceof QuotaExceeded && e.reason === 'samples_per_second' && e.status === 429 && e.retryAfterSeconds === 1);
      now += 250; // 25 more tokens: 65 ≥ 60
      gate.admit('a', samplesOnly, 60);
    });
    it('counts requests separately from samples', () => {
      now += 10_000;
      gate.admit('b', q, 1);
      gate.admit('b', q, 1);
      assert.throws(() => gate.admit('b', q, 1), (e: unknown) => e instanceof QuotaExceeded && e.reason === 'requests_per_second');
    });
    it('a request larger than a second of quota passes on a full bucket and leaves a debt', () => {
      now += 10_000;
      gate.admit('c', samplesOnly, 250);
      assert.throws(() => gate.admit('c', samplesOnly, 1), (e: unknown) => e instanceof QuotaExceeded && e.retryAfterSeconds === 2);
      now += 1_600; // debt of 150 repaid, 10 tokens
      gate.admit('c', samplesOnly, 1);
    });
    it('keeps a bounded number of buckets, counting what it forgets', () => {
      for (const ns of ['d', 'e', 'f', 'g']) gate.admit(ns, q, 1);
      assert.ok(gate.evictedBuckets >= 1);
    });
    it('a namespace without rates is never refused', () => {
      for (let i = 0; i < 1000; i++) gate.admit('free', { maxSeries: 0, samplesPerSecond: 0, requestsPerSecond: 0 }, 1e6);
    });
  });

  describe('enforced at ingest (AUTH_MODE=token)', function () {
    this.timeout(30_000);
    const A = 'team-a-token-0123456789abcdef';
    const B = 'team-b-token-0123456789abcdef';
    const auth = (t: string) => ({ authorization: `Bearer ${t}` });
    let dir: string;
    let a: RunningAgent;
    const series = async (name: string) => ((await (await fetch(`${a.url}/api/v1/metrics?name=${name}`)).json()) as { metrics: Array<{ tags: Record<string, string>; fields: { value: number } }> }).metrics;
    const batch = (name: string, from: number, to: number, value = 1) => ({ metrics: Array.from({ length: to - from }, (_, k) => ({ name, fields: { value }, tags: { i: String(from + k) } })) });

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-quota-'));
      const tokens = path.join(dir, 'tokens');
      fs.writeFileSync(tokens, `${A} write team-a\n${B} write team-b\n`);
      a = await startAgent({
        AUTH_MODE: 'token', AUTH_TOKENS_FILE: tokens, AUTH_REQUIRE: 'write', RATE_LIMIT_ENABLED: 'false', MAX_METRICS_IN_MEMORY: '20',
        QUOTAS: JSON.stringify({ default: { maxSeries: 5 }, namespaces: { 'team-b': { maxSeries: 10, samplesPerSecond: 1000, requestsPerSecond: 0.1 } } }),
      });
    });
    after(async () => {
      await a.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('over its series quota a namespace gets its new series refused, its existing ones still update, and no one else loses series', async () => {
      const b = await postJson(`${a.url}/api/v1/metrics`, batch('q_b', 0, 8), auth(B));
      assert.equal(b.status, 202, await b.text());

      const first = await postJson(`${a.url}/api/v1/metrics`, batch('q_a', 0, 8), auth(A));
      assert.equal(first.status, 202);
      const body = (await first.json()) as { errors: string[] };
      assert.ok(body.errors.some((e) => /3 sample\(s\) refused: namespace "team-a" holds its quota of 5 series/.test(e)), JSON.stringify(body));
      assert.equal((await series('q_a')).length, 5);

      // Only new series: the whole request is refused, naming the quota.
      const fresh = await postJson(`${a.url}/api/v1/metrics`, batch('q_a', 100, 110), auth(A));
      assert.equal(fresh.status, 422);
      assert.match(((await fresh.json()) as { message: string }).message, /quota of 5 series/);

      // Existing series still update.
      const update = await postJson(`${a.url}/api/v1/metrics`, batch('q_a', 0, 5, 42), auth(A));
      assert.equal(update.status, 202);
      assert.ok((await series('q_a')).every((m) => m.fields.value === 42));

      // team-b kept all 8 of its series (MAX_METRICS_IN_MEMORY=20 was never reached by team-a's flood).
      assert.equal((await series('q_b')).length, 8);

      // Line protocol: a partial write names the quota; the pushed label cannot dodge it (namespace is stamped).
      const lp = await postText(`${a.url}/write`, 'q_lp,namespace=other value=1\n', auth(A));
      assert.equal(lp.status, 400);
      assert.match(((await lp.json()) as { error: string }).error, /partial write: namespace "team-a" holds its quota of 5 series.*dropped=1/);

      const self = await (await fetch(`${a.url}/metrics/self`)).text();
      assert.match(self, /^metrics_manager_quota_refused_samples_total\{namespace="team-a",reason="max_series"\} 14$/m);
      assert.match(self, /^metrics_manager_events_rejected_total\{format="json",reason="quota"\} 13$/m);
    });

    it('a series a namespace lost to retention or deletion frees its quota', async () => {
      const del = await fetch(`${a.url}/api/v1/metrics?name=q_a`, { method: 'DELETE' });
      assert.equal(del.status, 200);
      const again = await postJson(`${a.url}/api/v1/metrics`, batch('q_a2', 0, 5), auth(A));
      assert.equal(again.status, 202);
      assert.equal((await series('q_a2')).length, 5);
    });

    it('over a rate: 429 with Retry-After naming the quota, counted per namespace', async () => {
      // team-b: one request per 10 s. Two back to back: the second is refused.
      const ok = await postJson(`${a.url}/api/v1/metrics`, batch('q_b', 0, 1), auth(B));
      assert.ok(ok.status === 202 || ok.status === 429); // the first test's push may still hold the bucket
      const r = await postJson(`${a.url}/api/v1/metrics`, batch('q_b', 0, 1), auth(B));
      assert.equal(r.status, 429);
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
      const j = (await r.json()) as { error: string; message: string };
      assert.equal(j.error, 'quota_exceeded');
      assert.match(j.message, /namespace "team-b" is over its quota of 0.1 push requests per second/);
      const self = await (await fetch(`${a.url}/metrics/self`)).text();
      assert.match(self, /^metrics_manager_quota_refused_samples_total\{namespace="team-b",reason="requests_per_second"\} [1-9]/m);
    });
  });
});
