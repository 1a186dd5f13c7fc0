import assert from 'node:assert/strict';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { acceptsGzip, compressibleType } from '../../src/http/compress';
import { rateLimitKey } from '../../src/http/rate-limit';
import { RouteTable } from '../../src/http/routes-table';
import { preferredType } from '../../src/stream/dashboard/router';
import { postText, startAgent, type RunningAgent } from '../helpers/agent';

/** A request that shows what went over the wire: no decompression, raw headers. */
function raw(url: string, method: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP dispatch on node:http', () => {
  describe('Accept-Encoding (pure)', () => {
    it('gzip when listed (or *) with q > 0 and at least the identity\'s q', () => {
      const yes = ['gzip', 'gzip, deflate, br', 'br;q=1, gzip;q=0.8', 'gzip;q=0.5', '*', 'GZIP', 'x-gzip', 'identity;q=0.5, gzip', '*;q=0.3'];
      const no = ['', 'identity', 'br', 'deflate, br', 'gzip;q=0', 'gzip;q=0.0, *', '*;q=0', 'gzip;q=0.5, identity', 'gzip;q=0.5, identity;q=1', '*;q=0, identity', 'gzip;q=abc'];
      for (const h of yes) assert.equal(acceptsGzip(h), true, h);
      for (const h of no) assert.equal(acceptsGzip(h), false, h);
      assert.equal(acceptsGzip(undefined), false);
    });

    it('compresses text and JSON, never event streams, OpenMetrics or binary types', () => {
      for (const t of ['application/json; charset=utf-8', 'text/plain; version=0.0.4; charset=utf-8', 'text/html; charset=utf-8', 'text/css', 'text/javascript; charset=utf-8']) assert.equal(compressibleType(t), true, t);
      for (const t of ['text/event-stream; charset=utf-8', 'application/openmetrics-text; version=1.0.0; charset=utf-8', 'application/x-protobuf', 'image/png']) assert.equal(compressibleType(t), false, t);
    });
  });

  describe('route matching (pure)', () => {
    const t = new RouteTable();

    it('matches exactly, then ignoring case and one trailing slash; HEAD is served by GET', () => {
      assert.equal(t.match('GET', '/health')?.route?.path, '/health');
      assert.equal(t.match('GET', '/Health')?.route?.path, '/health');
      assert.equal(t.match('GET', '/api/v1/metrics/names/')?.route?.path, '/api/v1/metrics/names');
      assert.equal(t.match('GET', '/health//'), undefined);
      assert.equal(t.match('HEAD', '/metrics')?.route?.method, 'GET');
      assert.equal(t.match('DELETE', '/API/V1/METRICS/')?.route?.method, 'DELETE');
      const wrong = t.match('PUT', '/metrics');
      assert.equal(wrong?.route, undefined);
      assert.deepEqual(wrong?.entry.allow, ['GET']);
      assert.equal(t.match('GET', '/nope'), undefined);
    });

    it('gives the variable segment with its case and encoding kept', () => {
      const m = t.match('GET', '/DASHBOARD/assets/uPlot.min.css');
      assert.equal(m?.route?.path, '/dashboard/assets/:file');
      assert.equal(m?.param, 'uPlot.min.css');
      assert.equal(t.match('GET', '/dashboard/assets/a%20b/')?.param, 'a%20b');
      assert.equal(t.match('GET', '/dashboard/assets/'), undefined);
      assert.equal(t.match('GET', '/dashboard/assets/a/b'), undefined);
    });
  });

  describe('rate-limit keys (pure)', () => {
    it('IPv4 as is, IPv6 by /56, IPv4-compatible IPv6 as its IPv4 address', () => {
      assert.equal(rateLimitKey('10.1.2.3'), '10.1.2.3');
      assert.equal(rateLimitKey('2001:db8:1:2ff::1'), rateLimitKey('2001:db8:1:200::9'));
      assert.notEqual(rateLimitKey('2001:db8:1:2ff::1'), rateLimitKey('2001:db8:1:300::1'));
      assert.equal(rateLimitKey('2001:db8:1:2ff::1'), '2001:db8:1:200::/56');
      assert.equal(rateLimitKey('::1'), '0:0:0:0::/56');
      assert.equal(rateLimitKey('::1.2.3.4'), '1.2.3.4');
      assert.equal(rateLimitKey('fe80::1%eth0'), 'fe80:0:0:0::/56');
      assert.equal(rateLimitKey('64:ff9b::192.0.2.33'), '64:ff9b:0:0::/56');
    });
  });

  describe('redirect body type (pure)', () => {
    it('follows Accept with q-values and specificity; none acceptable → undefined', () => {
      const offered = ['text/plain', 'text/html'];
      assert.equal(preferredType(undefined, offered), 'text/plain');
      assert.equal(preferredType('text/html,application/xhtml+xml,*/*;q=0.8', offered), 'text/html');
      assert.equal(preferredType('text/*', offered), 'text/plain');
      assert.equal(preferredType('text/html;q=0.5, text/plain;q=0.9', offered), 'text/plain');
      assert.equal(preferredType('text/*, text/plain;q=0', offered), 'text/html');
      assert.equal(preferredType('application/json', offered), undefined);
    });
  });

  describe('an agent', () => {
    let a: RunningAgent;
    before(async () => {
      a = await startAgent({ RATE_LIMIT_ENABLED: 'false' });
      await postText(`${a.url}/write`, Array.from({ length: 200 }, (_, i) => `disp,i=${i} value=${i}`).join('\n'));
    });
    after(() => a.stop());

    it('gzip keeps Content-Length right and varies by Accept-Encoding; identity, q=0 and HEAD get the plain body', async () => {
      const plain = await raw(`${a.url}/metrics`, 'GET');
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.equal(Number(plain.headers['content-length']), plain.body.length);
      assert.equal(plain.headers.vary, 'Accept-Encoding');
      const gz = await raw(`${a.url}/metrics`, 'GET', { 'accept-encoding': 'gzip, br' });
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.equal(Number(gz.headers['content-length']), gz.body.length);
      assert.equal(gunzipSync(gz.body).toString(), plain.body.toString());
      assert.ok(gz.body.length < plain.body.length / 3);
      for (const ae of ['identity', 'gzip;q=0', 'gzip;q=0.2, identity']) {
        const r = await raw(`${a.url}/metrics`, 'GET', { 'accept-encoding': ae });
        assert.equal(r.headers['content-encoding'], undefined, ae);
        assert.equal(r.body.toString(), plain.body.toString(), ae);
      }
      const head = await raw(`${a.url}/metrics`, 'HEAD', { 'accept-encoding': 'gzip' });
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-encoding'], undefined);
      assert.equal(Number(head.headers['content-length']), plain.body.length);
      assert.equal(head.body.length, 0);
      const json = await raw(`${a.url}/api/v1/metrics`, 'GET', { 'accept-encoding': 'gzip' });
      assert.equal(json.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(JSON.parse(gunzipSync(json.body).toString()).count, 200);
    });

    it('never compresses the event stream', async () => {
      const ctl = new AbortController();
      const r = await fetch(`${a.url}/metrics/stream`, { headers: { accept: 'text/event-stream', 'accept-encoding': 'gzip' }, signal: ctl.signal });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-encoding'), null);
      ctl.abort();
      await r.body?.cancel().catch(() => undefined);
    });

    it('answers without X-Powered-By or an ETag of its own; OPTIONS lists the methods', async () => {
      const r = await raw(`${a.url}/api/v1/metrics/names`, 'GET');
      assert.equal(r.headers['x-powered-by'], undefined);
      assert.equal(r.headers.etag, undefined);
      const o = await raw(`${a.url}/api/v1/metrics`, 'OPTIONS');
      assert.equal(o.status, 200);
      assert.deepEqual(String(o.headers.allow).split(', ').sort(), ['DELETE', 'GET', 'HEAD', 'POST']);
    });

    it('serves a request line in absolute form (as sent through a proxy), pushes included', async () => {
      const at = (method: string, target: string, body?: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
        const u = new URL(a.url);
        const req = http.request({ host: u.hostname, port: u.port, method, path: target }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, body: text }));
        });
        req.on('error', reject);
        req.end(body);
      });
      const push = await at('POST', `${a.url}/write?precision=s`, 'absolute_form_total value=7');
      assert.equal(push.status, 204, push.body);
      const got = await at('GET', `${a.url}/metrics`);
      assert.equal(got.status, 200);
      assert.match(got.body, /^absolute_form_total(\{[^}]*\})? 7\b/m);
      assert.equal((await at('GET', `${a.url}`)).status, (await raw(`${a.url}/`, 'GET')).status);
      assert.equal((await at('GET', `${a.url}/nowhere`)).status, 404);
    });

    it('a bad percent-encoding in a path segment is a 400 naming it', async () => {
      const r = await raw(`${a.url}/dashboard/assets/%E0%A4%A`, 'GET');
      assert.equal(r.status, 400);
      assert.match(JSON.parse(r.body.toString()).message, /%E0%A4%A/);
    });

    it('gzip off: no compression and no Vary', async () => {
      a.agent.config.update({ gzip: false });
      try {
        const r = await raw(`${a.url}/metrics`, 'GET', { 'accept-encoding': 'gzip' });
        assert.equal(r.headers['content-encoding'], undefined);
        assert.equal(r.headers.vary, undefined);
      } finally {
        a.agent.config.update({ gzip: true });
      }
    });
  });
});
