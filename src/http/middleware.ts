/**
 * Cross-cutting request handling: correlation ids, request metrics, CORS and the preflight
 * answer. Each is a function on node:http objects that app.ts runs for every request, in order.
 */

import { randomUUID } from 'node:crypto';
import type { Config } from '../config/schema';
import type { SelfMetrics } from '../telemetry/self-metrics';
import { sendJson, type PlainRequest, type PlainResponse } from './respond';
import { methodLabel } from './routes-table';

const SAFE_ID = /^[A-Za-z0-9._:\-]{1,64}$/;

/** Echoes a safe incoming X-Correlation-ID (≤ 64 chars of [A-Za-z0-9._:-]); otherwise makes one. */
export function assignCorrelationId(req: PlainRequest, res: PlainResponse): string {
  const given = req.headers['x-correlation-id'];
  const id = typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Correlation-ID', id);
  return id;
}

/**
 * Counts the request by route template and status when the response is finished, and times it.
 * `route` must be a value from the route table (a template or `other`), never the raw path: every
 * label value is bounded.
 */
export function trackRequest(metrics: SelfMetrics, req: PlainRequest, res: PlainResponse, route: () => string): void {
  const start = process.hrtime.bigint();
  res.once('finish', () => {
    // An event stream's "latency" is its whole lifetime: counted, not timed (see the stream's own metrics).
    const stream = String(res.getHeader('Content-Type') ?? '').startsWith('text/event-stream');
    metrics.requestDone(methodLabel(req.method), route(), res.statusCode, stream ? undefined : Number(process.hrtime.bigint() - start) / 1e9);
  });
}

/** Methods that change state: a browser sends them cross-site without asking (simple requests) or after a preflight. */
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Whether the live config lets `origin` call us from a browser. */
export function originAllowed(config: Config, origin: string): boolean {
  return config.corsOrigins.includes('*') || config.corsOrigins.includes(origin);
}

/**
 * CORS from the live config. Runs before the rate limiter so that a 429 still carries the
 * headers a browser needs to read it. Returns true when it answered the request itself: a
 * state-changing request from an origin CORS_ORIGINS does not list (403). An allowed preflight
 * gets its headers here and its 204 from answerPreflight(), after the rate limiter.
 *
 * Why the 403: CORS only stops a page from *reading* an answer. A cross-site POST with a "simple"
 * content type (text/plain line protocol, a form) reaches the server without any preflight, so
 * without this check a page from any site could push or delete metrics through a user's browser.
 * Requests without an Origin header (curl, SDKs, Telegraf) are not browsers' and are unaffected.
 */
export function applyCors(config: Config, req: PlainRequest, res: PlainResponse): boolean {
  const origin = req.headers.origin;
  if (!origin) return false;
  const any = config.corsOrigins.includes('*');
  if (!any && !config.corsOrigins.includes(origin)) {
    if (STATE_CHANGING.has(req.method ?? '')) {
      req.resume(); // drain the body so the connection can carry the answer
      sendJson(res, 403, { error: 'origin_not_allowed', message: `Origin ${JSON.stringify(origin.slice(0, 200))} is not in CORS_ORIGINS; cross-origin ${req.method} requests from it are refused` });
      return true;
    }
    return false;
  }
  res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
  if (!any) res.setHeader('Vary', 'Origin');
  if (config.corsAllowCredentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
  res.setHeader('Access-Control-Expose-Headers', 'X-Correlation-ID, Retry-After, WWW-Authenticate, RateLimit, RateLimit-Policy, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset');
  if (isPreflight(req)) {
    // Answered by answerPreflight() after the rate limiter: a preflight costs a token like any request.
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, DELETE, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', req.headers['access-control-request-headers'] ?? 'Authorization, Content-Type, Content-Encoding, X-Correlation-ID');
    res.setHeader('Access-Control-Max-Age', '600');
  }
  return false;
}

function isPreflight(req: PlainRequest): boolean {
  return req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
}

/**
 * Ends a preflight that applyCors() allowed (204), once the rate limiter has counted it;
 * credentials are never asked of it. Returns true when it answered.
 */
export function answerPreflight(req: PlainRequest, res: PlainResponse): boolean {
  if (!isPreflight(req) || res.getHeader('Access-Control-Allow-Methods') === undefined) return false;
  res.statusCode = 204;
  res.end();
  return true;
}
