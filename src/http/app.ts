/**
 * The agent's HTTP request listener. Ingestion (POST of metrics) runs on plain node:http objects
 * through `runPlain`; everything else is the express app. Both share the same steps in the same
 * order: correlation id, request metrics, CORS (before the rate limiter, so 429s stay readable by
 * browsers), rate limit, route, and one error mapping (`toHttpError`). Compression applies to the
 * express side only (ingestion answers are small) and never to event streams.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import compression from 'compression';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { AppContext } from './context';
import { toHttpError } from './errors';
import { applyCors, assignCorrelationId, correlationId, cors, requestMetrics, trackRequest } from './middleware';
import { rateLimiter, TokenBucketStore } from './rate-limit';
import { pathOf, queryOf, sendError, type PlainHandler } from './respond';
import { capabilitiesRouter } from './routes/capabilities';
import { healthRouter } from './routes/health';
import { ingestRoutes } from './routes/ingest';
import { otlpRoutes } from './routes/otlp';
import { queryRouter } from './routes/query';

export interface BuiltApp {
  listener: (req: IncomingMessage, res: ServerResponse) => void;
  app: express.Express;
  rateLimitStore: TokenBucketStore;
}

/** Path → methods served, for 405 answers with an Allow header. */
const KNOWN_PATHS: Record<string, string[]> = {
  '/': ['GET'],
  '/health': ['GET'],
  '/api/health': ['GET'],
  '/api/v1/stats': ['GET'],
  '/api/v1/metrics': ['GET', 'POST', 'DELETE'],
  '/api/v1/metrics/simple': ['POST'],
  '/api/v1/metrics/influx': ['POST'],
  '/api/v1/metrics/otlp': ['POST'],
  '/api/v1/metrics/latest': ['GET'],
  '/api/v1/metrics/names': ['GET'],
  '/api/v1/query_range': ['GET'],
  '/write': ['POST'],
  '/api/v2/write': ['POST'],
  '/v1/metrics': ['POST'],
  '/api/metrics/report': ['POST'],
  '/api/metrics/query': ['GET'],
  '/api/metrics/prometheus': ['GET'],
  '/metrics': ['GET'],
  '/metrics/self': ['GET'],
  '/api/v1/config': ['GET'],
  '/api/v1/capabilities': ['GET'],
  '/dashboard': ['GET'],
  '/metrics/stream': ['GET'],
};

export function buildApp(ctx: AppContext, extraRouters: express.Router[] = []): BuiltApp {
  const cfg = () => ctx.config.get();
  const rateLimitStore = new TokenBucketStore(cfg, ctx.now);
  const limiter = rateLimiter(cfg, rateLimitStore, (path) => ctx.metrics.rateLimitedRequest(path));

  const fail = (err: unknown, req: IncomingMessage, res: ServerResponse) => {
    const e = toHttpError(err);
    if (e.status >= 500) {
      ctx.logger.error('request failed', { method: req.method, path: pathOf(req.url), correlation_id: res.getHeader('X-Correlation-ID'), error: errorText(err) });
    }
    if (res.headersSent) res.destroy();
    else sendError(res, e);
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(correlationId());
  app.use(requestMetrics(ctx.metrics));
  app.use(cors(cfg));
  app.use(limiter);
  app.use(compression({
    threshold: 1024,
    filter: (req, res) => {
      if (!cfg().gzip) return false;
      if (String(res.getHeader('Content-Type') ?? '').startsWith('text/event-stream')) return false;
      return compression.filter(req, res);
    },
  }));
  app.use(healthRouter(ctx));
  app.use(queryRouter(ctx));
  app.use(capabilitiesRouter(ctx));
  for (const r of extraRouters) app.use(r);
  app.use((req: Request, res: Response) => {
    const allowed = KNOWN_PATHS[req.path];
    if (allowed && !allowed.includes(req.method)) {
      res.setHeader('Allow', allowed.join(', '));
      res.status(405).json({ error: 'method_not_allowed', message: `${req.method} is not allowed on ${req.path}; use ${allowed.join(' or ')}` });
      return;
    }
    res.status(404).json({ error: 'not_found', message: `no route for ${req.method} ${req.path}` });
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => fail(err, req, res));

  const plainRoutes = new Map<string, PlainHandler>([...ingestRoutes(ctx), ...otlpRoutes(ctx)]);
  const plainLimiter = limiter as unknown as (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

  const runPlain = (handler: PlainHandler, path: string, req: IncomingMessage, res: ServerResponse) => {
    assignCorrelationId(req, res);
    trackRequest(ctx.metrics, req, res, () => path);
    if (applyCors(cfg(), req, res)) return;
    plainLimiter(req, res, (err) => {
      if (err) return fail(err, req, res);
      handler(req, res, queryOf(req.url)).catch((e: unknown) => fail(e, req, res));
    });
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'POST') {
      const path = pathOf(req.url);
      const handler = plainRoutes.get(path);
      if (handler) return runPlain(handler, path, req, res);
    }
    app(req, res);
  };

  return { listener, app, rateLimitStore };
}

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

