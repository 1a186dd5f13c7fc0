/**
 * The express app. Order matters: correlation id and metrics see every request; CORS runs before
 * the rate limiter (429s stay readable by browsers); compression wraps only the routes and never
 * buffers an event stream; one error handler maps every thrown error to a status and JSON body.
 */

import compression from 'compression';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { AppContext } from './context';
import { errorBody, toHttpError } from './errors';
import { correlationId, cors, requestMetrics } from './middleware';
import { rateLimiter, TokenBucketStore } from './rate-limit';
import { healthRouter } from './routes/health';
import { ingestRouter } from './routes/ingest';
import { otlpRouter } from './routes/otlp';
import { queryRouter } from './routes/query';

export interface BuiltApp {
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
};

export function buildApp(ctx: AppContext, extraRouters: express.Router[] = []): BuiltApp {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  const cfg = () => ctx.config.get();
  const rateLimitStore = new TokenBucketStore(cfg, ctx.now);

  app.use(correlationId());
  app.use(requestMetrics(ctx.metrics));
  app.use(cors(cfg));
  app.use(rateLimiter(cfg, rateLimitStore, (req) => ctx.metrics.rateLimitedRequest(req.path)));
  app.use(compression({
    threshold: 1024,
    filter: (req, res) => {
      if (!cfg().gzip) return false;
      const type = String(res.getHeader('Content-Type') ?? '');
      if (type.startsWith('text/event-stream')) return false;
      return compression.filter(req, res);
    },
  }));

  app.use(healthRouter(ctx));
  app.use(ingestRouter(ctx));
  app.use(otlpRouter(ctx));
  app.use(queryRouter(ctx));
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

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = toHttpError(err);
    if (e.status >= 500) ctx.logger.error('request failed', { path: req.path, method: req.method, error: errorText(err) });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(e.status).json(errorBody(e));
  });

  return { app, rateLimitStore };
}

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
