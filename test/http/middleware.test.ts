import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import http from 'node:http';
import { postJson, postText, startAgent, type RunningAgent } from '../helpers/agent';

/** Raw GET that does not decompress, to see what went over the wire. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

describe('HTTP middleware', () => {
  describe('correlation id, gzip, CORS', () => {
    let a: RunningAgent;
    before(async () => {
      a = await startAgent({ RATE_LIMIT_ENABLED: 'false', CORS_ORIGINS: 'http://allowed.example' });
    });
    after(() => a.stop());

    it('echoes a safe X-Correlation-ID and replaces an unsafe or long one', async () => {
      const ok = await fetch(`${a.url}/health`, { headers: { 'x-correlation-id': 'req-123.abc' } });
      assert.equal(ok.headers.get('x-correlation-id'), 'req-123.abc');
      for (const bad of ['x'.repeat(65), 'has space', '<script>']) {
        const r = await fetch(`${a.url}/health`, { headers: { 'x-correlation-id': bad } });
        const id = r.headers.get('x-correlation-id')!;
        assert.notEqual(id, bad);
        assert.match(id, /^[0-9a-f-]{36}$/);
      }
    });

    it('gzips responses over 1 KB when asked, and not small ones', async () => {
      await postText(`${a.url}/write`, Array.from({ length: 100 }, (_, i) => `m,i=${i} value=${i}`).join('\n'));
      const big = await rawGet(`${a.url}/metrics`, { 'accept-encoding': 'gzip' });
      assert.equal(big.headers['content-encoding'], 'gzip');
      assert.match(gunzipSync(big.body).toString(), /m\{i="99"\} 99/);
      const small = await rawGet(`${a.url}/health`, { 'accept-encoding': 'gzip' });
      assert.equal(small.headers['content-encoding'], undefined);
    });

    it('CORS: allowed origin gets headers, others do not; preflight is answered', async () => {
      const ok = await fetch(`${a.url}/health`, { headers: { origin: 'http://allowed.example' } });
      assert.equal(ok.headers.get('access-control-allow-origin'), 'http://allowed.example');
      assert.match(ok.headers.get('access-control-expose-headers')!, /X-Correlation-ID/);
      const other = await fetch(`${a.url}/health`, { headers: { origin: 'http://evil.example' } });
      assert.equal(other.headers.get('access-control-allow-origin'), null);
      const pre = await fetch(`${a.url}/api/v1/metrics/simple`, { method: 'OPTIONS', headers: { origin: 'http://allowed.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
      assert.equal(pre.status, 204);
      assert.match(pre.headers.get('access-control-allow-methods')!, /POST/);
    });

    it('CORS origins follow the live config', async () => {
      a.agent.config.update({ corsOrigins: ['http://new.example'] });
      const r = await fetch(`${a.url}/health`, { headers: { origin: 'http://new.example' } });
      assert.equal(r.headers.get('access-control-allow-origin'), 'http://new.example');
      a.agent.config.update({ corsOrigins: ['http://allowed.example'] });
    });
  });

  describe('rate limiting (token bucket)', () => {
    let a: RunningAgent;
    beforeEach(async () => {
      a = await startAgent({ RATE_LIMIT_REQUESTS_PER_MINUTE: '60', RATE_LIMIT_BURST: '5', CORS_ORIGINS: '*' });
    });
    afterEach(() => a.stop());

    const push = (headers: Record<string, string> = {}) => postJson(`${a.url}/api/v1/metrics/simple`, { name: 'x', value: 1 }, headers);

    it('allows the burst, then answers 429 with Retry-After, RateLimit headers and CORS headers', async () => {
      for (let i = 0; i < 5; i++) assert.equal((await push()).status, 202, `request ${i}`);
      const r = await push({ origin: 'http://any.example' });
      assert.equal(r.status, 429);
      const retry = Number(r.headers.get('retry-after'));
      assert.ok(retry >= 1 && retry <= 2, `Retry-After ${retry}`);
      assert.equal(r.headers.get('x-ratelimit-remaining'), '0');
      assert.ok(r.headers.get('ratelimit'), 'standard RateLimit header');
      assert.equal(r.headers.get('access-control-allow-origin'), '*');
      assert.equal(((await r.json()) as { error: string }).error, 'rate_limited');
      const self = await (await fetch(`${a.url}/metrics/self`)).text();
      assert.match(self, /metrics_manager_rate_limit_rejected_total\{route="\/api\/v1\/metrics\/simple"\} 1/);
      const stats = (await (await fetch(`${a.url}/api/v1/stats`)).json()) as { requests: { rate_limited: number } };
      assert.equal(stats.requests.rate_limited, 1);
    });

    it('refills at requests-per-minute / 60 per second', async () => {
      for (let i = 0; i < 5; i++) await push();
      assert.equal((await push()).status, 429);
      await new Promise((r) => setTimeout(r, 1100)); // 1 token/s
      assert.equal((await push()).status, 202);
      assert.equal((await push()).status, 429);
    });

    it('exempts /health, /api/health, /api/v1/stats and /metrics', async () => {
      for (let i = 0; i < 6; i++) await push();
      for (const p of ['/health', '/api/health', '/api/v1/stats', '/metrics']) {
        assert.equal((await fetch(`${a.url}${p}`)).status, 200, p);
      }
    });

    it('one policy for the dashboard wherever it is served; the event stream stays exempt', async () => {
      const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
      const page = [
        () => fetch(`${a.url}/dashboard`, { headers: html }),
        () => fetch(`${a.url}/dashboard/assets/dashboard.css`),
        () => fetch(`${a.url}/metrics/stream`, { headers: html }),
      ];
      // Each form of the page takes a token from the same bucket as any other request.
      for (const [i, get] of page.entries()) {
        const r = await get();
        assert.equal(r.status, 200, `page form ${i}`);
        assert.equal(r.headers.get('x-ratelimit-remaining'), String(4 - i), `page form ${i}`);
        await r.arrayBuffer();
      }
      for (let i = 0; i < 2; i++) await push();
      for (const [i, get] of page.entries()) assert.equal((await get()).status, 429, `page form ${i} once the bucket is empty`);
      const ctl = new AbortController();
      const stream = await fetch(`${a.url}/metrics/stream`, { headers: { accept: 'text/event-stream' }, signal: ctl.signal });
      assert.equal(stream.status, 200);
      assert.match(String(stream.headers.get('content-type')), /^text\/event-stream/);
      ctl.abort();
      await stream.body?.cancel().catch(() => undefined);
    });

    it('keys by X-Forwarded-For only when TRUST_FORWARDED_HEADERS is on', async () => {
      for (let i = 0; i < 5; i++) await push({ 'x-forwarded-for': `10.0.0.${i}` });
      assert.equal((await push({ 'x-forwarded-for': '10.0.0.99' })).status, 429, 'untrusted header ignored');
      a.agent.config.update({ trustForwardedHeaders: true });
      assert.equal((await push({ 'x-forwarded-for': '10.0.0.99, 127.0.0.1' })).status, 202);
    });

    it('limits change live', async () => {
      for (let i = 0; i < 5; i++) await push();
      assert.equal((await push()).status, 429);
      a.agent.config.update({ rateLimitEnabled: false });
      assert.equal((await push()).status, 202);
    });
  });
});
