/**
 * The agent's HTTP request listener. Ingestion (POST of metrics) runs on plain node:http objects
 * through `runPlain`; everything else is the express app. Both share the same steps in the same
 * order: correlation id, request metrics, CORS (before the rate limiter, so 429s stay readable by
 * browsers), rate limit, authentication (auth-step.ts), route, and one error mapping (`toHttpError`). Compression applies to the
 * express side only (ingestion answers are small) and never to event streams.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import compression from 'compression';
import express, { type NextFunction, type Request, type Response } from 'express';
import { Admission, type Ticket } from './admission';
import { checkAccess, identityOf, routeForAuth } from './auth-step';
import type { AppContext } from './context';
import { toHttpError } from './errors';
import { answerPreflight, applyCors, assignCorrelationId, correlationId, cors, requestMetrics, trackRequest } from './middleware';
import { rateLimiter, TokenBucketStore } from './rate-limit';
import { bodyLimitBytes, RouteTable, type Route } from './routes-table';
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
  /** Admission of push work against INGEST_MEMORY_BUDGET_BYTES; plug a memory pressure check in here. */
  admission: Admission;
  /**
   * Called when the server starts draining (SIGTERM): every response not yet started, and every
   * later one, carries `Connection: close`, so clients stop reusing sockets we are about to close.
   */
  drain: () => void;
}

export function buildApp(ctx: AppContext, extraRouters: express.Router[] = []): BuiltApp {
  const cfg = () => ctx.config.get();
  const table = new RouteTable();
  const rateLimitStore = new TokenBucketStore(cfg, ctx.now);
  ctx.metrics.watchRateLimiter(rateLimitStore);
  const limiter = rateLimiter(cfg, rateLimitStore, table, (route) => ctx.metrics.rateLimitedRequest(route));
  const admission = new Admission({ budgetBytes: () => cfg().ingestMemoryBudgetBytes });
  ctx.metrics.watchAdmission(admission);
  const denied = (route: string, reason: string) => ctx.metrics.authDenied(route, reason);

  const fail = (err: unknown, req: IncomingMessage, res: ServerResponse) => {
    const e = toHttpError(err);
    // A 503 with Retry-After is an expected, counted answer (memory, the API server behind auth), not a bug.
    if (e.status >= 500 && e.retryAfterSeconds === undefined) {
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
  app.use(requestMetrics(ctx.metrics, table));
  app.use(cors(cfg));
  app.use(limiter);
  app.use(answerPreflight());
  app.use((req: Request, _res: Response, next: NextFunction) => checkAccess(ctx.auth, routeForAuth(table, req.method, pathOf(req.url)), req, denied, next));
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
    const known = table.lookup(req.path);
    if (known && !known.byMethod.has(req.method)) {
      res.setHeader('Allow', known.allow.join(', '));
      res.status(405).json({ error: 'method_not_allowed', message: `${req.method} is not allowed on ${known.template}; use ${known.allow.join(' or ')}` });
      return;
    }
    res.status(404).json({ error: 'not_found', message: known ? `nothing at ${req.path}` : `no route for ${req.method} ${req.path}` });
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => fail(err, req, res));

  const plainRoutes = plainDispatch(table, new Map<string, PlainHandler>([...ingestRoutes(ctx), ...otlpRoutes(ctx)]));
  const plainLimiter = limiter as unknown as (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

  const runPlain = (plain: { route: Route; handler: PlainHandler }, req: IncomingMessage, res: ServerResponse) => {
    assignCorrelationId(req, res);
    trackRequest(ctx.metrics, req, res, () => plain.route.path);
    if (applyCors(cfg(), req, res)) return;
    plainLimiter(req, res, (err) => {
      if (err) return fail(err, req, res);
      checkAccess(ctx.auth, plain.route, req, denied, (denial) => {
        if (denial) return fail(denial, req, res);
        let ticket: Ticket;
        try {
          ticket = admission.admit();
        } catch (e) {
          req.resume();
          return fail(e, req, res);
        }
        res.once('close', () => ticket.release());
        const budget = { maxBodyBytes: bodyLimitBytes(plain.route, cfg()), ticket, identity: identityOf(req) };
        plain.handler(req, res, queryOf(req.url), budget).catch((e: unknown) => fail(e, req, res));
      });
    });
  };

  // Responses not yet started, so that draining can still mark them `Connection: close`.
  let draining = false;
  const open = new Set<ServerResponse>();
  const drain = () => {
    draining = true;
    for (const res of open) if (!res.headersSent) res.setHeader('Connection', 'close');
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    if (draining) res.setHeader('Connection', 'close');
    else {
      open.add(res);
      res.once('close', () => open.delete(res));
    }
    if (req.method === 'POST') {
      const plain = plainRoutes.get(pathOf(req.url));
      if (plain) return runPlain(plain, req, res);
    }
    app(req, res);
  };

  return { listener, app, rateLimitStore, admission, drain };
}

/** Plain rows of the table joined with their handlers; a row without a handler (or the reverse) is a bug caught at start. */
function plainDispatch(table: RouteTable, handlers: Map<string, PlainHandler>): Map<string, { route: Route; handler: PlainHandler }> {
  const out = new Map<string, { route: Route; handler: PlainHandler }>();
  for (const route of table.plainRoutes()) {
    const handler = handlers.get(route.path);
    if (!handler) throw new Error(`route table: no plain handler for ${route.method} ${route.path}`);
    out.set(route.path, { route, handler });
  }
  for (const path of handlers.keys()) if (!out.has(path)) throw new Error(`route table: plain handler for ${path} has no row`);
  return out;
}

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

