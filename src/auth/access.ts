/**
 * The authorisation decision for one request: which scope the route needs (from the route
 * table), whether that scope needs a credential (AUTH_REQUIRE), and what the Authorization header
 * proves. Pure apart from the token store's lookup; the HTTP layer turns a denial into 401/403.
 */

import type { Identity, Scope, TokenStore } from './tokens';

export type AuthMode = 'none' | 'token' | 'kubernetes';

/** Why a request was refused; also the `reason` label of the denial counter. */
export type DenyReason = 'missing_credentials' | 'malformed_credentials' | 'invalid_token' | 'missing_scope';

export type AccessDecision =
  | { ok: true; identity?: Identity }
  | { ok: false; status: 401 | 403; reason: DenyReason; message: string };

export interface TokenAccessOptions {
  /** Scopes that need a credential; the others are open. */
  require: ReadonlySet<Scope>;
  tokens: TokenStore;
}

const SCHEME_RE = /^(Bearer|Token|Basic)[ ]+([^\s]+)[ ]*$/i;

/**
 * The token of an Authorization header, or the 401 decision for a missing or malformed one. Three
 * schemes carry it: `Bearer <token>`; `Token <token>`, what InfluxDB 2.x clients and Telegraf's
 * influxdb_v2 output send; and `Basic` with the token as the password (any user name), what
 * InfluxDB 1.x clients and Telegraf's influxdb output send for `username`/`password`.
 */
export function bearerToken(authorization: string | undefined, scope: Scope): { token: string } | AccessDecision & { ok: false } {
  if (authorization === undefined || authorization === '') {
    return { ok: false, status: 401, reason: 'missing_credentials', message: `this endpoint needs a bearer token with the "${scope}" scope (Authorization: Bearer <token>)` };
  }
  const malformed = { ok: false, status: 401, reason: 'malformed_credentials', message: 'the Authorization header must be "Bearer <token>", "Token <token>" or Basic with the token as the password' } as const;
  const m = SCHEME_RE.exec(authorization);
  if (m === null) return malformed;
  if (m[1].toLowerCase() !== 'basic') return { token: m[2] };
  const userPass = basicPassword(m[2]);
  return userPass === undefined ? malformed : { token: userPass };
}

/** The password of Basic credentials (base64 of `user:password`), or undefined when it is not that or empty. */
function basicPassword(b64: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  const text = Buffer.from(b64, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0 || colon === text.length - 1) return undefined;
  return text.slice(colon + 1);
}

/** The cookie the dashboard sets for a read token (see readCredential). */
export const TOKEN_COOKIE = 'mm_token';

/**
 * The credential of a request for a route of `scope`: the Authorization header, or for `read`
 * only the dashboard's token cookie (`EventSource` cannot send a header; the page sets the cookie
 * with SameSite=Strict when the stream asks for a token). A cookie never authorises a write or a
 * delete: a browser attaches cookies to requests other sites make it send.
 */
export function readCredential(authorization: string | undefined, cookie: string | undefined, scope: Scope): string | undefined {
  if (authorization !== undefined && authorization !== '') return authorization;
  if (scope !== 'read' || cookie === undefined) return authorization;
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== TOKEN_COOKIE) continue;
    try {
      const token = decodeURIComponent(part.slice(eq + 1).trim());
      return token === '' ? authorization : `Bearer ${token}`;
    } catch {
      return 'Bearer'; // not percent-encoded as the page writes it: a malformed credential
    }
  }
  return authorization;
}

/** Token mode: a bearer token from the file with the route's scope. */
export function decideToken(authorization: string | undefined, scope: Scope, opts: TokenAccessOptions): AccessDecision {
  if (!opts.require.has(scope)) return { ok: true };
  const b = bearerToken(authorization, scope);
  if (!('token' in b)) return b;
  const entry = opts.tokens.lookup(b.token);
  if (entry === undefined) return { ok: false, status: 401, reason: 'invalid_token', message: 'the bearer token is not valid' };
  if (!entry.scopes.has(scope)) {
    return { ok: false, status: 403, reason: 'missing_scope', message: `token "${entry.identity.name}" lacks the "${scope}" scope this endpoint needs` };
  }
  return { ok: true, identity: entry.identity };
}

/** `AUTH_REQUIRE`: a comma-separated list of scopes; throws naming the bad one. */
export function parseRequire(text: string): Set<Scope> {
  const out = new Set<Scope>();
  for (const raw of text.split(',')) {
    const s = raw.trim();
    if (s === '') continue;
    if (s !== 'read' && s !== 'write' && s !== 'delete') throw new Error(`AUTH_REQUIRE: unknown scope ${JSON.stringify(s)} (scopes: read, write, delete)`);
    out.add(s);
  }
  return out;
}
