import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { clientAddress, parseAddress } from '../../src/http/rate-limit';
import { OTHER_ROUTE, ROUTES, RouteTable, type Route } from '../../src/http/routes-table';
import { postText, startAgent, type RunningAgent } from '../helpers/agent';

/** Lines of /metrics/self for one metric name. */
async function selfLines(url: string, metric: string): Promise<string[]> {
  const text = await (await fetch(`${url}/metrics/self`)).text();
  return text.split('\n').filter((l) => l.startsWith(metric + '{') || l.startsWith(metric + ' '));
}

function selfValue(lines: string[]): number {
  assert.equal(lines.length, 1, lines.join('\n'));
  return Number(lines[0].split(' ').pop());
}

describe('HTTP edge: route table, bounded labels and keys, browser safety, draining', () => {
  describe('route table', () => {
    it('docs/api.md lists exactly the routes of the table', () => {
      const doc = readFileSync(path.join(__dirname, '..', '..', '..', 'docs', 'api.md'), 'utf8');
      const section = doc.slice(doc.indexOf('## Endpoints'), doc.indexOf('\n## ', doc.indexOf('## Endpoints') + 5));
      const rows = section.split('\n').filter((l) => /^\| (GET|POST|DELETE|PUT) /.test(l));
      const documented = rows.map((l) => {
        const [method, p, scope, rateLimit, body, format] = l.split('|').slice(1, -1).map((c) => c.trim());
        return { method, path: p.replace(/`/g, ''), scope, rateLimit, body: body.replace(/`/g, ''), format };
      });
      const env: Record<string, string> = { maxBodyBytes: 'MAX_BODY_BYTES', otlpMaxBodyBytes: 'OTLP_MAX_BODY_BYTES' };
      const fromTable = ROUTES.map((r: Route) => ({
        method: r.method, path: r.path, scope: r.scope, rateLimit: r.rateLimit,
        body: r.bodyLimit ? env[r.bodyLimit] : '–', format: r.format === 'none' ? '–' : r.format,
      }));
      assert.deepEqual(documented, fromTable);
    });

    it('labels known paths by template and everything else as other', () => {
      const t = new RouteTable();
      assert.equal(t.label('/api/v1/metrics'), '/api/v1/metrics');
      assert.equal(t.label('/dashboard/assets/dashboard.mjs'), '/dashboard/assets/:file');
      assert.equal(t.label('/dashboard/assets/a/b'), OTHER_ROUTE);
      assert.equal(t.label('/dashboard/assets/'), OTHER_ROUTE);
      assert.equal(t.label('/x' + 'y'.repeat(5000)), OTHER_ROUTE);
      assert.equal(t.exempt('GET', '/health'), true);
      assert.equal(t.exempt('POST', '/write'), false);
      assert.equal(t.exempt('GET', '/unknown'), false);
      assert.deepEqual(t.lookup('/api/v1/metrics')?.allow, ['POST', 'GET', 'DELETE']);
    });

    it('refuses a table listing a method twice', () => {
      assert.throws(() => new RouteTable([...ROUTES, ROUTES[0]]), /listed twice/);
    });
  });

  describe('self-metrics labels stay bounded', () => {
    let a: RunningAgent;
    before(async () => {
      a = await startAgent({ RATE_LIMIT_BURST: '3', RATE_LIMIT_REQUESTS_PER_MINUTE: '1', CORS_ORIGINS: '*' });
    });
    after(() => a.stop());

    it('unique-path preflights, 404s and 429s add no series to /metrics/self', async function () {
      this.timeout(120_000);
      const before = (await selfLines(a.url, 'metrics_manager_http_requests_total')).length;
      const preflights = new Map<number, number>();
      for (let i = 0; i < 100; i++) {
        const r = await fetch(`${a.url}/preflight/${i}/${'p'.repeat(200)}`, {
          method: 'OPTIONS', headers: { origin: 'http://a.example', 'access-control-request-method': 'POST' },
        });
        preflights.set(r.status, (preflights.get(r.status) ?? 0) + 1);
        // Allowed (204) until the client's bucket is empty, then refused like any request; both readable by the page.
        assert.ok(r.status === 204 || r.status === 429, String(r.status));
        assert.equal(r.headers.get('access-control-allow-origin'), '*');
        await fetch(`${a.url}/missing-${i}`); // 404 at first, then 429 once the bucket is empty
        await fetch(`${a.url}/api/v1/metrics/${i}`, { method: 'DELETE' });
      }
      // The first preflight takes a token of the burst of 3; later ones find the bucket empty (one
      // token a minute may come back if this loop is slow).
      assert.ok((preflights.get(204) ?? 0) >= 1 && (preflights.get(204) ?? 0) <= 2, JSON.stringify([...preflights]));
      assert.ok((preflights.get(429) ?? 0) >= 98, JSON.stringify([...preflights]));
      const lines = await selfLines(a.url, 'metrics_manager_http_requests_total');
      assert.ok(lines.some((l) => l.includes('route="other"') && l.includes('status="429"')), lines.join('\n'));
      assert.ok(lines.some((l) => l.includes('route="other"') && l.includes('method="OPTIONS"')), lines.join('\n'));
      // A handful of (method, route, status) combinations, not one per path.
      assert.ok(lines.length - before <= 8, `${lines.length - before} new series:\n${lines.join('\n')}`);
      assert.ok(!lines.some((l) => l.includes('preflight') || l.includes('missing')));
      const limited = await selfLines(a.url, 'metrics_manager_rate_limit_rejected_total');
      assert.ok(limited.length <= 2 && limited.every((l) => l.includes('route="other"')), limited.join('\n'));
    });
  });

  describe('rate-limit keys are parsed addresses', () => {
    it('parses addresses and ignores header text that is not one', () => {
      const req = (headers: Record<string, string>) => ({ headers, socket: { remoteAddress: '::ffff:10.0.0.9' } }) as unknown as Parameters<typeof clientAddress>[0];
      assert.equal(clientAddress(req({ 'x-forwarded-for': 'junk, 203.0.113.7, 10.0.0.1' }), true), '203.0.113.7');
      assert.equal(clientAddress(req({ 'x-forwarded-for': 'x'.repeat(8192) }), true), '10.0.0.9');
      assert.equal(clientAddress(req({ 'x-forwarded-for': 'nope', 'x-real-ip': '2001:DB8::1' }), true), '2001:db8::1');
      assert.equal(clientAddress(req({ 'x-forwarded-for': '203.0.113.7' }), false), '10.0.0.9');
      assert.equal(parseAddress('1.2.3.4:80'), undefined);
      assert.equal(parseAddress(' 1.2.3.4 '), '1.2.3.4');
    });

    let a: RunningAgent;
    before(async () => {
      a = await startAgent({ TRUST_FORWARDED_HEADERS: 'true', RATE_LIMIT_MAX_CLIENTS: '100', RATE_LIMIT_BURST: '1000' });
    });
    after(() => a.stop());

    it('8 KB X-Forwarded-For values all map to the peer; valid addresses are bounded by RATE_LIMIT_MAX_CLIENTS', async function () {
      this.timeout(120_000);
      for (let i = 0; i < 100; i++) {
        const r = await fetch(`${a.url}/api/v1/metrics/names`, { headers: { 'x-forwarded-for': `${i}-` + 'x'.repeat(8192) } });
        assert.equal(r.status, 200);
      }
      assert.equal(selfValue(await selfLines(a.url, 'metrics_manager_rate_limit_buckets')), 1);
      for (let i = 0; i < 250; i++) {
        await fetch(`${a.url}/api/v1/metrics/names`, { headers: { 'x-forwarded-for': `10.1.${i >> 8}.${i & 255}` } });
      }
      assert.equal(selfValue(await selfLines(a.url, 'metrics_manager_rate_limit_buckets')), 100);
      assert.equal(selfValue(await selfLines(a.url, 'metrics_manager_rate_limit_buckets_dropped_total')), 151);
    });
  });

  describe('browser safety', () => {
    let a: RunningAgent;
    before(async () => {
      a = await startAgent({ RATE_LIMIT_ENABLED: 'false', CORS_ORIGINS: 'http://dash.example' });
    });
    after(() => a.stop());

    it('refuses writes and deletes from an origin CORS_ORIGINS does not list, text/plain included', async () => {
      const evil = { origin: 'http://evil.example', 'content-type': 'text/plain' };
      const push = await postText(`${a.url}/write`, 'stolen value=1', evil);
      assert.equal(push.status, 403);
      assert.equal(((await push.json()) as { error: string }).error, 'origin_not_allowed');
      const nullOrigin = await postText(`${a.url}/api/v1/metrics/influx`, 'stolen value=1', { origin: 'null', 'content-type': 'text/plain' });
      assert.equal(nullOrigin.status, 403);
      assert.equal(a.agent.store.size, 0);

      assert.equal((await postText(`${a.url}/write`, 'mine value=1', { origin: 'http://dash.example' })).status, 204);
      assert.equal((await postText(`${a.url}/write`, 'cli value=1')).status, 204, 'no Origin: not a browser');
      const del = await fetch(`${a.url}/api/v1/metrics`, { method: 'DELETE', headers: { origin: 'http://evil.example' } });
      assert.equal(del.status, 403);
      assert.equal(a.agent.store.size, 2);
      // Reads from other origins are answered, just not readable by the page (no CORS headers).
      const read = await fetch(`${a.url}/api/v1/metrics/names`, { headers: { origin: 'http://evil.example' } });
      assert.equal(read.status, 200);
      assert.equal(read.headers.get('access-control-allow-origin'), null);
    });

    it('with CORS_ORIGINS=* every origin may write, as documented', async () => {
      a.agent.config.update({ corsOrigins: ['*'] });
      try {
        assert.equal((await postText(`${a.url}/write`, 'any value=1', { origin: 'http://evil.example' })).status, 204);
      } finally {
        a.agent.config.update({ corsOrigins: ['http://dash.example'] });
      }
    });
  });

  describe('open connections are bounded (MAX_CONNECTIONS, MAX_CONNECTIONS_PER_ADDRESS)', () => {
    let a: RunningAgent;
    const sockets: net.Socket[] = [];
    afterEach(async () => {
      for (const s of sockets.splice(0)) s.destroy();
      await a.stop();
    });

    /**
     * A connection (from `from`, a loopback address) that sends half a request and waits; resolves
     * with it once connected. `closed` resolves with what it received when it closes.
     */
    async function idle(from = '127.0.0.1'): Promise<{ socket: net.Socket; closed: Promise<string> }> {
      const socket = net.connect({ port: a.agent.port, host: '127.0.0.1', localAddress: from });
      sockets.push(socket);
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString()));
      const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(got)));
      socket.on('error', () => {});
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write('GET /health HTTP/1.1\r\nHost: x\r\n');
      return { socket, closed };
    }
    /** Finishes the half-sent request of `h` and returns the start of its answer. */
    async function finish(h: { socket: net.Socket }): Promise<string> {
      const answer = new Promise<string>((resolve) => h.socket.once('data', (d: Buffer) => resolve(d.toString())));
      h.socket.write('\r\n');
      return answer;
    }
    /** The dropped-connections counter of `reason`, read once the agent answers again (0 before any drop). */
    async function dropped(reason: string): Promise<{ value: number; refused: number }> {
      // The server sees closes on its next turns; until then a fresh connection may be dropped too
      // (and counted), after that it is served.
      let refused = 0;
      for (let i = 0; i < 50; i++) {
        try {
          const lines = await selfLines(a.url, `metrics_manager_connections_dropped_total{reason="${reason}"}`);
          return { value: lines.length === 0 ? 0 : selfValue(lines), refused };
        } catch {
          refused++;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      throw new Error('the agent did not answer again');
    }

    it('closes a connection past MAX_CONNECTIONS at once, counts it, and accepts again once one closes', async () => {
      a = await startAgent({ MAX_CONNECTIONS: '4' });
      const held: { socket: net.Socket; closed: Promise<string> }[] = [];
      for (let i = 0; i < 4; i++) held.push(await idle());
      const over = await idle();
      assert.equal(await over.closed, '', 'closed without an answer');
      // The four held ones were not touched: each still completes its request.
      assert.match(await finish(held[0]), /^HTTP\/1\.1 200 /);
      for (const h of held) h.socket.destroy();
      await Promise.all(held.map((h) => h.closed));
      const port = await dropped('port');
      assert.equal(port.value, 1 + port.refused);
      assert.equal((await dropped('address')).value, 0);
    });

    it('closes a connection past MAX_CONNECTIONS_PER_ADDRESS from that address only, counts it, and takes it again once one closes', async () => {
      a = await startAgent({ MAX_CONNECTIONS: '100', MAX_CONNECTIONS_PER_ADDRESS: '3' });
      const held: { socket: net.Socket; closed: Promise<string> }[] = [];
      for (let i = 0; i < 3; i++) held.push(await idle('127.0.0.2'));
      const over = await idle('127.0.0.2');
      assert.equal(await over.closed, '', 'closed without an answer');
      // Another address is served meanwhile, and so are the held ones.
      assert.match(await finish(await idle('127.0.0.3')), /^HTTP\/1\.1 200 /);
      assert.match(await finish(held[2]), /^HTTP\/1\.1 200 /);
      assert.deepEqual(await dropped('address'), { value: 1, refused: 0 });
      // One closes: that address may open one again.
      held[0].socket.destroy();
      await held[0].closed;
      let served = '';
      for (let i = 0; i < 50 && served === ''; i++) {
        const again = await idle('127.0.0.2');
        served = await Promise.race([finish(again), again.closed]);
        if (served === '') await new Promise((r) => setTimeout(r, 20));
      }
      assert.match(served, /^HTTP\/1\.1 200 /);
      assert.equal((await dropped('port')).value, 0);
    });
  });

  describe('draining', () => {
    it('responses written while draining carry Connection: close', async () => {
      const a = await startAgent({ RATE_LIMIT_ENABLED: 'false' });
      const keepAlive = new http.Agent({ keepAlive: true });
      try {
        const first = await new Promise<http.IncomingMessage>((resolve, reject) => {
          http.get(`${a.url}/health`, { agent: keepAlive }, resolve).on('error', reject);
        });
        first.resume();
        assert.equal(first.headers.connection, 'keep-alive');
        // A push in flight when SIGTERM's drain starts: its answer must tell the client to close.
        const answer = new Promise<http.IncomingMessage>((resolve, reject) => {
          const req = http.request(`${a.url}/write`, { method: 'POST', agent: keepAlive, headers: { 'content-type': 'text/plain' } }, resolve);
          req.on('error', reject);
          req.write('late value=');
          setTimeout(() => {
            const stopping = a.stop();
            setTimeout(() => req.end('1'), 50);
            stopping.catch(reject);
          }, 100);
        });
        const res = await answer;
        res.resume();
        assert.equal(res.statusCode, 204);
        assert.equal(res.headers.connection, 'close');
      } finally {
        keepAlive.destroy();
        await a.stop();
      }
    });
  });
});
