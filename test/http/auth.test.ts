import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InfluxDB, Point } from '@influxdata/influxdb-client';
import { Agent } from '../../src/agent';
import { createAuthenticator } from '../../src/auth/create';
import { loadConfig } from '../../src/config/load';
import { ROUTES, type Route } from '../../src/http/routes-table';
import { startAgentProcess } from '../helpers/agent-process';
import { postJson, postText, startAgent, type RunningAgent } from '../helpers/agent';
import { captureLogger } from '../sinks/helpers';

const WRITER = 'writer-token-0123456789abcdef';
const READER = 'reader-token-0123456789abcdef';
const ADMIN = 'admin-token-0123456789abcdefgh';
const NEWER = 'rotated-token-0123456789abcdef';

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mm-auth-'));
}

/** Writes the file the way a Secret volume changes: a new file renamed over the old (new inode). */
function writeTokens(file: string, text: string): void {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

const TOKENS = `# test tokens\n${WRITER} write team-a/pusher\n${READER} read scraper\n${ADMIN} read,write,delete ops\n`;

/** A request a route accepts once authorised, so a 401/403 can only come from the check. */
function requestFor(route: Route, url: string, headers: Record<string, string>): Promise<Response> {
  const p = route.path.replace(':file', 'dashboard.css');
  if (route.method === 'POST') {
    if (route.format === 'line-protocol') return postText(`${url}${p}`, 'auth_probe value=1\n', headers);
    if (route.format === 'otlp') return postJson(`${url}${p}`, { resourceMetrics: [] }, headers);
    if (p.endsWith('/simple')) return postJson(`${url}${p}`, { name: 'auth_probe', value: 1 }, headers);
    if (p.endsWith('/self-report')) return fetch(`${url}${p}?component_name=auth_probe`, { method: 'POST', headers });
    if (p.endsWith('/report')) return postJson(`${url}${p}`, { component_name: 'c', metrics: [{ metric_name: 'auth_probe', metric_type: 'gauge', metric_value: 1 }] }, headers);
    return postJson(`${url}${p}`, { metrics: [{ name: 'auth_probe', fields: { value: 1 } }] }, headers);
  }
  // A stream never ends: read the status and headers, then hang up.
  const ac = new AbortController();
  return fetch(`${url}${p}`, { method: route.method, headers, signal: ac.signal }).then((res) => {
    if (String(res.headers.get('content-type')).startsWith('text/event-stream')) ac.abort();
    return res;
  });
}

async function selfMetric(url: string, line: RegExp): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics/self`, { headers: bearer(ADMIN) })).text();
  for (const l of text.split('\n')) {
    const m = line.exec(l);
    if (m) return Number(l.slice(l.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('http: authentication (AUTH_MODE=token)', function () {
  this.timeout(30_000);
  let dir: string;
  let file: string;

  beforeEach(() => {
    dir = tempDir();
    file = path.join(dir, 'tokens');
    writeTokens(file, TOKENS);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('every scope of the route table, with AUTH_REQUIRE=read,write,delete', () => {
    let a: RunningAgent;
    before(async () => {
      const d = tempDir();
      const f = path.join(d, 'tokens');
      writeTokens(f, TOKENS);
      a = await startAgent({ AUTH_MODE: 'token', AUTH_TOKENS_FILE: f, AUTH_REQUIRE: 'read,write,delete', RATE_LIMIT_ENABLED: 'false' });
    });
    after(() => a.stop());

    const tokenFor = { read: READER, write: WRITER, delete: ADMIN } as const;
    const wrongFor = { read: WRITER, write: READER, delete: WRITER } as const;

    for (const route of ROUTES) {
      const name = `${route.method} ${route.path} (${route.scope})`;
      if (route.scope === 'none') {
        it(`${name}: open without a credential (a probe)`, async () => {
          const res = await requestFor(route, a.url, {});
          assert.equal(res.status, 200);
          assert.equal(res.headers.get('www-authenticate'), null);
        });
        continue;
      }
      const scope = route.scope;
      it(`${name}: 401 without a token, 401 with a bad one, 403 without the scope, served with it`, async () => {
        const none = await requestFor(route, a.url, {});
        assert.equal(none.status, 401);
        assert.equal(none.headers.get('www-authenticate'), `Bearer realm="metrics-manager", scope="${scope}"`);
        const body = (await none.json()) as { error: string; message: string };
        assert.equal(body.error, 'missing_credentials');
        assert.match(body.message, new RegExp(`"${scope}" scope`));

        const bad = await requestFor(route, a.url, bearer('not-a-token-0123456789abcdef'));
        assert.equal(bad.status, 401);
        assert.match(String(bad.headers.get('www-authenticate')), /^Bearer realm="metrics-manager", error="invalid_token", error_description="[^"]+"$/);
        assert.equal(((await bad.json()) as { error: string }).error, 'invalid_token');

        const wrong = await requestFor(route, a.url, bearer(wrongFor[scope]));
        assert.equal(wrong.status, 403);
        assert.match(String(wrong.headers.get('www-authenticate')), new RegExp(`error="insufficient_scope".*scope="${scope}"`));
        const wb = (await wrong.json()) as { error: string; message: string };
        assert.equal(wb.error, 'missing_scope');
        assert.match(wb.message, new RegExp(`lacks the "${scope}" scope`));

        const ok = await requestFor(route, a.url, bearer(tokenFor[scope]));
        assert.ok(ok.status !== 401 && ok.status !== 403 && ok.status < 500, `${name} with the right token answered ${ok.status}`);
        if (route.method === 'POST') assert.ok(ok.status >= 200 && ok.status < 300, `${name}: a valid push answered ${ok.status}: ${await ok.text()}`);
        else await ok.body?.cancel().catch(() => undefined);
      });
    }

    it('the stream and the dashboard need the read scope and are served with it', async () => {
      const ac = new AbortController();
      const stream = await fetch(`${a.url}/metrics/stream`, { headers: bearer(READER), signal: ac.signal });
      assert.equal(stream.status, 200);
      assert.match(String(stream.headers.get('content-type')), /^text\/event-stream/);
      const reader = stream.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      assert.match(first, /event: |retry: |: /);
      ac.abort();
      const page = await fetch(`${a.url}/dashboard`, { headers: bearer(READER) });
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
      const noToken = await fetch(`${a.url}/metrics/stream`, { headers: { accept: 'text/event-stream' } });
      assert.equal(noToken.status, 401);
    });

    it('InfluxDB clients push with their own schemes: Token (2.x client) and Basic with the token as password (1.x)', async () => {
      const client = new InfluxDB({ url: a.url, token: WRITER });
      const write = client.getWriteApi('org', 'bucket', 'ns', { maxRetries: 0, flushInterval: 0 });
      write.writePoint(new Point('influx_v2_auth').floatField('value', 2));
      await write.close();
      const basic = (token: string) => ({ authorization: `Basic ${Buffer.from(`telegraf:${token}`).toString('base64')}` });
      assert.equal((await postText(`${a.url}/write`, 'influx_v1_auth value=1\n', basic(WRITER))).status, 204);
      assert.equal((await postText(`${a.url}/write`, 'influx_v1_auth value=1\n', basic('wrong-password-0123456789'))).status, 401);
      const names = (await (await fetch(`${a.url}/api/v1/metrics/names`, { headers: bearer(READER) })).json()) as { names?: string[] } | string[];
      const list = JSON.stringify(names);
      assert.match(list, /influx_v2_auth/);
      assert.match(list, /influx_v1_auth/);
    });

    it('the dashboard\'s token cookie authorises reads only, never a write or a delete', async () => {
      const cookie = (t: string) => ({ cookie: `other=1; mm_token=${encodeURIComponent(t)}` });
      assert.equal((await fetch(`${a.url}/api/v1/metrics/names`, { headers: cookie(READER) })).status, 200);
      assert.equal((await fetch(`${a.url}/api/v1/metrics/names`, { headers: cookie('wrong-token-0123456789') })).status, 401);
      assert.equal((await fetch(`${a.url}/api/v1/metrics`, { method: 'DELETE', headers: cookie(ADMIN) })).status, 401);
      assert.equal((await postText(`${a.url}/write`, 'cookie_write value=1\n', cookie(ADMIN))).status, 401);
      // An Authorization header wins over the cookie.
      assert.equal((await fetch(`${a.url}/api/v1/metrics/names`, { headers: { ...cookie(READER), authorization: 'Bearer wrong-token-0123456789' } })).status, 401);
      // The page and its assets are static code: open without a credential.
      assert.equal((await fetch(`${a.url}/dashboard`)).status, 200);
    });

    it('a malformed Authorization header is a 401 invalid_request', async () => {
      const res = await fetch(`${a.url}/api/v1/metrics`, { headers: { authorization: `Digest ${READER}` } });
      assert.equal(res.status, 401);
      assert.match(String(res.headers.get('www-authenticate')), /error="invalid_request"/);
      assert.equal(((await res.json()) as { error: string }).error, 'malformed_credentials');
    });

    it('express routing quirks do not bypass the check: case, trailing slash, HEAD', async () => {
      const del = await fetch(`${a.url}/API/V1/METRICS/`, { method: 'DELETE' });
      assert.equal(del.status, 401);
      const head = await fetch(`${a.url}/api/v1/metrics/names`, { method: 'HEAD' });
      assert.equal(head.status, 401);
      const upper = await fetch(`${a.url}/Metrics`);
      assert.equal(upper.status, 401);
    });

    it('unknown paths and wrong methods still answer 404/405 (nothing to protect)', async () => {
      assert.equal((await fetch(`${a.url}/nope`)).status, 404);
      assert.equal((await fetch(`${a.url}/api/v1/metrics/names`, { method: 'DELETE' })).status, 405);
    });

    it('counts denials by route template and reason', async () => {
      const before = (await selfMetric(a.url, /^metrics_manager_auth_denied_total\{route="\/api\/v1\/metrics\/latest",reason="missing_scope"\}/)) ?? 0;
      await fetch(`${a.url}/api/v1/metrics/latest`, { headers: bearer(WRITER) });
      await fetch(`${a.url}/api/v1/metrics/latest`, { headers: bearer(WRITER) });
      const after = await selfMetric(a.url, /^metrics_manager_auth_denied_total\{route="\/api\/v1\/metrics\/latest",reason="missing_scope"\}/);
      assert.equal(after, before + 2);
      // A path outside the table never becomes a label value.
      await fetch(`${a.url}/x${'y'.repeat(100)}`, { headers: bearer(WRITER) });
      const text = await (await fetch(`${a.url}/metrics/self`, { headers: bearer(ADMIN) })).text();
      assert.ok(!text.includes('yyyy'));
      assert.equal(await selfMetric(a.url, /^metrics_manager_auth_tokens /), 3);
    });
  });

  describe('browsers: CORS on refusals, preflights without credentials', () => {
    let a: RunningAgent;
    before(async () => {
      const d = tempDir();
      const f = path.join(d, 'tokens');
      writeTokens(f, TOKENS);
      a = await startAgent({ AUTH_MODE: 'token', AUTH_TOKENS_FILE: f, AUTH_REQUIRE: 'read,write,delete', CORS_ORIGINS: 'https://ui.example' });
    });
    after(() => a.stop());

    it('a 401 and a 403 carry the CORS headers and expose WWW-Authenticate', async () => {
      const origin = { origin: 'https://ui.example' };
      for (const [res, status] of [
        [await fetch(`${a.url}/api/v1/metrics/names`, { headers: origin }), 401],
        [await postJson(`${a.url}/api/v1/metrics/simple`, { name: 'x', value: 1 }, { ...origin, ...bearer(READER) }), 403],
        [await fetch(`${a.url}/api/v1/metrics`, { method: 'DELETE', headers: { ...origin, ...bearer(WRITER) } }), 403],
      ] as const) {
        assert.equal(res.status, status);
        assert.equal(res.headers.get('access-control-allow-origin'), 'https://ui.example');
        assert.match(String(res.headers.get('access-control-expose-headers')), /WWW-Authenticate/);
        assert.ok(res.headers.get('www-authenticate'));
        assert.match(String(res.headers.get('content-type')), /^application\/json/);
      }
    });

    it('a preflight is answered without any credential, allowing the Authorization header', async () => {
      for (const [method, p] of [['POST', '/api/v1/metrics'], ['DELETE', '/api/v1/metrics'], ['GET', '/metrics/stream']]) {
        const res = await fetch(`${a.url}${p}`, {
          method: 'OPTIONS',
          headers: { origin: 'https://ui.example', 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type' },
        });
        assert.equal(res.status, 204, `${method} ${p}`);
        assert.match(String(res.headers.get('access-control-allow-headers')), /authorization/i);
      }
      // OPTIONS that is not a preflight is no table row: not a credential check either.
      const plain = await fetch(`${a.url}/api/v1/metrics`, { method: 'OPTIONS' });
      assert.notEqual(plain.status, 401);
    });
  });

  it('default AUTH_REQUIRE (write,delete): reads stay open, pushes and deletes need a token', async () => {
    const a = await startAgent({ AUTH_MODE: 'token', AUTH_TOKENS_FILE: file });
    try {
      assert.equal((await fetch(`${a.url}/api/v1/metrics/names`)).status, 200);
      assert.equal((await fetch(`${a.url}/metrics`)).status, 200);
      assert.equal((await postText(`${a.url}/write`, 'm value=1\n')).status, 401);
      assert.equal((await fetch(`${a.url}/api/v1/metrics`, { method: 'DELETE' })).status, 401);
      assert.equal((await postText(`${a.url}/write`, 'm value=1\n', bearer(WRITER))).status, 204);
      assert.equal((await fetch(`${a.url}/api/v1/metrics`, { method: 'DELETE', headers: bearer(ADMIN) })).status, 200);
    } finally {
      await a.stop();
    }
  });

  it('AUTH_MODE=none (the default) leaves every route open', async () => {
    const a = await startAgent({});
    try {
      assert.equal((await postText(`${a.url}/write`, 'm value=1\n')).status, 204);
      assert.equal((await fetch(`${a.url}/api/v1/metrics`, { method: 'DELETE' })).status, 200);
    } finally {
      await a.stop();
    }
  });

  it('a rotated token file takes effect without a restart; an unreadable one keeps the last tokens', async () => {
    const a = await startAgent({ AUTH_MODE: 'token', AUTH_TOKENS_FILE: file });
    try {
      assert.equal((await postText(`${a.url}/write`, 'm value=1\n', bearer(WRITER))).status, 204);
      writeTokens(file, `${NEWER} write team-b\n`);
      // The file is checked at most once a second.
      const deadline = Date.now() + 5000;
      let status = 0;
      while (Date.now() < deadline) {
        status = (await postText(`${a.url}/write`, 'm value=1\n', bearer(NEWER))).status;
        if (status === 204) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 204);
      assert.equal((await postText(`${a.url}/write`, 'm value=1\n', bearer(WRITER))).status, 401);
      fs.rmSync(file);
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await postText(`${a.url}/write`, 'm value=1\n', bearer(NEWER))).status, 204);
      assert.equal(await selfMetric(a.url, /^metrics_manager_auth_token_file_reloads_total\{result="failed"\}/).then((n) => (n ?? 0) >= 1), true);
    } finally {
      await a.stop();
    }
  });

  it('/api/v1/config shows the auth settings and the file path, never a token', async () => {
    const a = await startAgent({ AUTH_MODE: 'token', AUTH_TOKENS_FILE: file, AUTH_REQUIRE: 'write' });
    try {
      const text = await (await fetch(`${a.url}/api/v1/config`)).text();
      const c = (JSON.parse(text) as { config: Record<string, unknown> }).config;
      assert.equal(c.authMode, 'token');
      assert.deepEqual(c.authRequire, ['write']);
      assert.equal(c.authTokensFile, file);
      for (const t of [WRITER, READER, ADMIN]) assert.ok(!text.includes(t));
    } finally {
      await a.stop();
    }
  });

  it('never logs a token, and reports bad lines of the file by number', async () => {
    writeTokens(file, `${TOKENS}zq9xw write\n${NEWER} wirte x\n`);
    const { logger, lines } = captureLogger();
    const agent = new Agent({ config: loadConfig({ METRICS_PORT: '0', HOST: '127.0.0.1', SYSTEM_METRICS_SOURCE: 'none', TELEGRAF_FORWARD: 'false', AUTH_MODE: 'token', AUTH_TOKENS_FILE: file }), logger });
    await agent.start();
    try {
      const url = `http://127.0.0.1:${agent.port}`;
      await postText(`${url}/write`, 'm value=1\n', bearer(NEWER));
      await postText(`${url}/write`, 'm value=1\n', bearer(READER));
      await postText(`${url}/write`, 'm value=1\n', bearer(WRITER));
    } finally {
      await agent.stop();
    }
    const all = JSON.stringify(lines);
    for (const t of [WRITER, READER, ADMIN, NEWER, 'zq9xw']) assert.ok(!all.includes(t), `log mentions ${t.slice(0, 6)}…`);
    const problems = lines.filter((l) => l.message === 'token file line ignored').map((l) => l.problem);
    assert.deepEqual(problems, ['line 5: token is shorter than 16 characters', 'line 6: unknown scope "wirte" (scopes: read, write, delete)']);
  });

  describe('refusing to start', () => {
    it('AUTH_MODE=token without AUTH_TOKENS_FILE is a configuration error naming it', () => {
      assert.throws(() => loadConfig({ AUTH_MODE: 'token' }), /AUTH_TOKENS_FILE: AUTH_MODE=token needs AUTH_TOKENS_FILE/);
      assert.throws(() => loadConfig({ AUTH_REQUIRE: 'write,push' }), /AUTH_REQUIRE/);
      assert.throws(() => loadConfig({ AUTH_MODE: 'tokens' }), /AUTH_MODE/);
    });

    it('a missing, unreadable or empty token file stops the agent with a message naming it', () => {
      const report = { warn: () => undefined, info: () => undefined };
      const cfg = (f: string) => loadConfig({ AUTH_MODE: 'token', AUTH_TOKENS_FILE: f });
      assert.throws(() => createAuthenticator(cfg(path.join(dir, 'missing')), { report, now: Date.now }), /AUTH_TOKENS_FILE ".*missing" cannot be read \(ENOENT\)/);
      assert.throws(() => createAuthenticator(cfg(dir), { report, now: Date.now }), /cannot be read \(EISDIR\)/);
      writeTokens(file, '# nothing yet\nshort write\n');
      assert.throws(() => createAuthenticator(cfg(file), { report, now: Date.now }), /holds no valid token/);
    });

    it('the agent process exits with the message', async () => {
      const err = await startAgentProcess({ env: { AUTH_MODE: 'token', AUTH_TOKENS_FILE: path.join(dir, 'absent') }, startTimeoutMs: 10_000 }).then(
        async (p) => {
          await p.stop();
          assert.fail('the agent started');
        },
        (e: Error) => e,
      );
      assert.match(err.message, /agent exited before it came up/);
      assert.match(err.message, /AUTH_TOKENS_FILE .*absent.* cannot be read \(ENOENT\)/);
    });
  });
});
