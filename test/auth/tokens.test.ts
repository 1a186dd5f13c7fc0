import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decideToken, parseRequire } from '../../src/auth/access';
import { parseTokenFile, TokenStore, type TokenFs } from '../../src/auth/tokens';

const W = 'w-token-0123456789abcdef';
const R = 'r-token-0123456789abcdef';
const ALL = 'all-token-0123456789abcd';

describe('auth: token file', () => {
  it('reads tokens, scopes and names; skips comments and blank lines', () => {
    const f = parseTokenFile(`# pushers\n\n${W} write team-a/pusher\n  ${R} read scraper \r\n${ALL} read,write,delete\n`);
    assert.deepEqual(f.problems, []);
    assert.deepEqual(f.entries.map((e) => [e.identity, [...e.scopes]]), [
      [{ name: 'team-a/pusher', namespace: 'team-a', serviceAccount: 'pusher' }, ['write']],
      [{ name: 'scraper', namespace: 'scraper' }, ['read']],
      [{ name: 'token-5', namespace: 'token-5' }, ['read', 'write', 'delete']],
    ]);
  });

  it('reports bad lines by number without the token, and keeps the good ones', () => {
    const f = parseTokenFile(`short write\n${W} wirte\n${W}\n${R} read a b\n${ALL} delete x\n${ALL} read y\n`);
    assert.deepEqual(f.problems, [
      'line 1: token is shorter than 16 characters',
      'line 2: unknown scope "wirte" (scopes: read, write, delete)',
      'line 3: expected "<token> <scope>[,<scope>...] [name]"',
      'line 4: too many fields (a name cannot contain spaces)',
      'line 6: the same token appears on an earlier line; the earlier one counts',
    ]);
    for (const p of f.problems) for (const t of [W, R, ALL]) assert.ok(!p.includes(t));
    assert.deepEqual(f.entries.map((e) => e.identity.name), ['x']);
  });
});

describe('auth: token store', () => {
  function fakeFs(files: Record<string, { text: string; mtimeMs: number; ino?: number }>): TokenFs {
    return {
      statSync: (p) => {
        const f = files[p];
        if (!f) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
        return { mtimeMs: f.mtimeMs, size: f.text.length, ino: f.ino ?? 1 };
      },
      readFileSync: (p) => {
        const f = files[p];
        if (!f) throw new Error(`ENOENT: ${p}`);
        return f.text;
      },
    };
  }

  it('re-reads the file when it changes, at most once per interval, and keeps the old tokens when a re-read fails', () => {
    const files: Record<string, { text: string; mtimeMs: number; ino?: number }> = { '/t': { text: `${W} write a\n`, mtimeMs: 1 } };
    let now = 0;
    const loads: Array<{ tokens: number; error?: string }> = [];
    const store = new TokenStore({ file: '/t', fs: fakeFs(files), now: () => now, checkIntervalMs: 1000, onLoad: (r) => loads.push({ tokens: r.tokens, error: r.error }) });
    assert.equal(store.lookup(W)?.identity.name, 'a');
    assert.equal(store.lookup(R), undefined);

    files['/t'] = { text: `${R} read b\n`, mtimeMs: 2 };
    now = 500;
    assert.equal(store.lookup(W)?.identity.name, 'a', 'not checked again within the interval');
    now = 1500;
    assert.equal(store.lookup(W), undefined, 'rotated out');
    assert.equal(store.lookup(R)?.identity.name, 'b');

    // A Secret volume swaps a symlink: same mtime and size, new inode.
    files['/t'] = { text: `${W} read c\n`, mtimeMs: 2, ino: 7 };
    now = 3000;
    assert.equal(store.lookup(W)?.identity.name, 'c');

    delete files['/t'];
    now = 5000;
    assert.equal(store.lookup(W)?.identity.name, 'c', 'the last good tokens stay');
    assert.equal(loads.length, 4);
    assert.match(loads[3].error ?? '', /ENOENT/);
  });

  it('fails at construction when the file cannot be read', () => {
    assert.throws(() => new TokenStore({ file: '/missing', fs: fakeFs({}), now: () => 0 }), /ENOENT/);
  });

  it('works on a real file, rewritten in place', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-tokens-'));
    const file = path.join(dir, 'tokens');
    try {
      fs.writeFileSync(file, `${W} write one\n`);
      let now = 0;
      const store = new TokenStore({ file, fs, now: () => now, checkIntervalMs: 10 });
      assert.equal(store.lookup(W)?.identity.name, 'one');
      fs.writeFileSync(file, `${W} write,delete two-longer-name\n`);
      now = 100;
      assert.equal(store.lookup(W)?.identity.name, 'two-longer-name');
      assert.equal(store.size, 1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('auth: token access decision', () => {
  const store = new TokenStore({
    file: '/t',
    fs: { statSync: () => ({ mtimeMs: 1, size: 1, ino: 1 }), readFileSync: () => `${W} write ns1/sa1\n${R} read scraper\n` },
    now: () => 0,
  });
  const opts = { require: parseRequire('write,delete'), tokens: store };

  it('lets open scopes through without a credential', () => {
    assert.deepEqual(decideToken(undefined, 'read', opts), { ok: true });
  });

  it('answers 401 for a missing, malformed or unknown credential, naming the scope', () => {
    const missing = decideToken(undefined, 'write', opts);
    assert.deepEqual(missing, { ok: false, status: 401, reason: 'missing_credentials', message: 'this endpoint needs a bearer token with the "write" scope (Authorization: Bearer <token>)' });
    for (const bad of [`Basic ${W}`, `Basic ${b64('user-without-password:')}`, `Basic ${b64('no colon')}`, `Digest ${W}`, 'Bearer', `Bearer ${W} extra`]) {
      const malformed = decideToken(bad, 'write', opts);
      assert.ok(!malformed.ok && malformed.status === 401 && malformed.reason === 'malformed_credentials', bad);
    }
    const unknown = decideToken('Bearer not-a-known-token-at-all', 'write', opts);
    assert.ok(!unknown.ok && unknown.status === 401 && unknown.reason === 'invalid_token');
    assert.ok(!unknown.ok && !unknown.message.includes('not-a-known-token'), 'the token is never echoed');
  });

  it('takes the token from Bearer, Token (InfluxDB 2.x) and Basic with the token as the password (InfluxDB 1.x)', () => {
    for (const header of [`Bearer ${W}`, `bearer ${W}`, `Token ${W}`, `Basic ${b64(`telegraf:${W}`)}`, `Basic ${b64(`:${W}`)}`]) {
      const d = decideToken(header, 'write', opts);
      assert.ok(d.ok && d.identity?.name === 'ns1/sa1', header);
    }
    const wrongPassword = decideToken(`Basic ${b64(`${W}:nope`)}`, 'write', opts);
    assert.ok(!wrongPassword.ok && wrongPassword.reason === 'invalid_token', 'the user name is not the token');
  });

  it('answers 403 naming the missing scope, and returns the identity when allowed', () => {
    const d = decideToken(`Bearer ${R}`, 'delete', opts);
    assert.deepEqual(d, { ok: false, status: 403, reason: 'missing_scope', message: 'token "scraper" lacks the "delete" scope this endpoint needs' });
    assert.deepEqual(decideToken(`bearer   ${W} `, 'write', opts), { ok: true, identity: { name: 'ns1/sa1', namespace: 'ns1', serviceAccount: 'sa1' } });
  });

  it('parses AUTH_REQUIRE and rejects unknown scopes', () => {
    assert.deepEqual([...parseRequire(' write , delete,')], ['write', 'delete']);
    assert.deepEqual([...parseRequire('')], []);
    assert.throws(() => parseRequire('write,admin'), /AUTH_REQUIRE: unknown scope "admin"/);
  });
});

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}
