/** Cross-cutting request handling: correlation ids, request metrics, CORS. */

import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Config } from '../config/schema';
import { requestContext } from '../log/logger';
import type { SelfMetrics } from '../telemetry/self-metrics';

const SAFE_ID = /^[A-Za-z0-9._:\-]{1,64}$/;

/** Echoes a safe incoming X-Correlation-ID (≤ 64 chars of [A-Za-z0-9._:-]); otherwise makes one. */
export function correlationId(): RequestHandler {
  return (req, res, next) => {
    const given = req.headers['x-correlation-id'];
    const id = typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Correlation-ID', id);
    requestContext.run({ correlationId: id }, next);
  };
}

/**
 * Counts every request by route template and status, and times it. Streams (SSE) are counted but
 * not timed: their duration is the connection's lifetime, not a latency.
 */
export function requestMetrics(metrics: SelfMetrics): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const route = routeOf(req, res);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.requestDone(req.method, route, res.statusCode, seconds);
    });
    next();
  };
}

function routeOf(req: Request, res: Response): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof path === 'string') return path;
  if (res.statusCode === 404) return 'unmatched';
  return res.locals.route ?? req.path;
}

/**
 * CORS from the live config. Runs before the rate limiter so that a 429 still carries the
 * headers a browser needs to read it. Preflight requests are answered here.
 */
export function cors(config: () => Config): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const origin = req.headers.origin;
    if (!origin) return next();
    const c = config();
    const any = c.corsOrigins.includes('*');
    if (!any && !c.corsOrigins.includes(origin)) return next();
    res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
    if (!any) res.append('Vary', 'Origin');
    if (c.corsAllowCredentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Access-Control-Expose-Headers', 'X-Correlation-ID, Retry-After, RateLimit, RateLimit-Policy, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, DELETE, OPTIONS');
      const reqHeaders = req.headers['access-control-request-headers'];
      res.setHeader('Access-Control-Allow-Headers', reqHeaders ?? 'Content-Type, Content-Encoding, X-Correlation-ID');
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}
