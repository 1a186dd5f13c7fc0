/**
 * Cross-cutting request handling: correlation ids, request metrics, CORS. Each is a plain
 * function on node:http objects, so the express app and the plain ingestion path share them; the
 * express wrappers below only adapt the signature.
 */

import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Config } from '../config/schema';
import type { SelfMetrics } from '../telemetry/self-metrics';
import type { PlainRequest, PlainResponse } from './respond';

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
 * `route` is asked at the end, when routing has happened.
 */
export function trackRequest(metrics: SelfMetrics, req: PlainRequest, res: PlainResponse, route: () => string): void {
  const start = process.hrtime.bigint();
  res.once('finish', () => {
    // An event stream's "latency" is its whole lifetime: counted, not timed (see the stream's own metrics).
    const stream = String(res.getHeader('Content-Type') ?? '').startsWith('text/event-stream');
    metrics.requestDone(req.method ?? 'GET', route(), res.statusCode, stream ? undefined : Number(process.hrtime.bigint() - start) / 1e9);
  });
}

/**
 * CORS from the live config. Runs before the rate limiter so that a 429 still carries the
 * headers a browser needs to read it. Returns true when it answered a preflight itself.
 */
export function applyCors(config: Config, req: PlainRequest, res: PlainResponse): boolean {
  const origin = req.headers.origin;
  if (!origin) return false;
  const any = config.corsOrigins.includes('*');
  if (!any && !config.corsOrigins.includes(origin)) return false;
  res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
  if (!any) res.setHeader('Vary', 'Origin');
  if (config.corsAllowCredentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
  res.setHeader('Access-Control-Expose-Headers', 'X-Correlation-ID, Retry-After, RateLimit, RateLimit-Policy, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset');
  if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, DELETE, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', req.headers['access-control-request-headers'] ?? 'Content-Type, Content-Encoding, X-Correlation-ID');
    res.setHeader('Access-Control-Max-Age', '600');
    res.statusCode = 204;
    res.end();
    return true;
  }
  return false;
}

export function correlationId(): RequestHandler {
  return (req, res, next) => {
    assignCorrelationId(req, res);
    next();
  };
}

export function requestMetrics(metrics: SelfMetrics): RequestHandler {
  return (req, res, next) => {
    trackRequest(metrics, req, res, () => {
      const path = (req.route as { path?: unknown } | undefined)?.path;
      if (typeof path === 'string') return path;
      return res.statusCode === 404 ? 'unmatched' : req.path;
    });
    next();
  };
}

export function cors(config: () => Config): RequestHandler {
  return (req, res, next) => {
    if (!applyCors(config(), req, res)) next();
  };
}
