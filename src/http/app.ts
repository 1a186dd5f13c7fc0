/**
 * The agent's HTTP request listener, on node:http's own objects. Every request takes the same
 * steps in the same order: correlation id, request metrics, CORS (before the rate limiter, so
 * 429s stay readable by browsers), rate limit, the preflight answer, authentication
 * (auth-step.ts), the route table's handler, and one error mapping (`toHttpError`) for whatever a
 * step or handler throws or rejects with. Responses of text and JSON may be gzip-compressed
 * (respond.ts `sendBody`), event streams never.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { Admission, type Ticket } from './admission';
import { checkAccess, identityOf } from './auth-step';
import { allowCompression } from './compress';
import type { AppContext } from './context';
import { HttpError, notFound, toHttpError } from './errors';
import { answerPreflight, applyCors, assignCorrelationId, trackRequest } from './middleware';
import { rateLimiter, TokenBucketStore } from './rate-limit';
import { bodyLimitBytes, routeLabel, RouteTable, type PathRoutes, type Route } from './routes-table';
import { pathOf, queryOf, sendBody, sendError, type Handler, type RouteHandlers } from './respond';
import { capabilitiesRoutes } from './routes/capabilities';
import { healthRoutes } from './routes/health';
import { ingestRoutes } from './routes/ingest';
import { otlpRoutes } from './routes/otlp';
import { queryRoutes } from './routes/query';

export interface BuiltApp {
  listener: (req: IncomingMessage, res: ServerResponse) => void;
  rateLimitStore: TokenBucketStore;
  /** Admission of push work against INGEST_MEMORY_BUDGET_BYTES; plug a memory pressure check in here. */
  admission: Admission;
  /**
   * Called when the server starts draining (SIGTERM): every response not yet started, and every
   * later one, carries `Connection: close`, so clients stop reusing sockets we are about to close.
   */
  drain: () => void;
}

/** `extra`: handlers of the rows served outside src/http (the stream, the dashboard, the config view). */
export function buildApp(ctx: AppContext, extra: RouteHandlers = []): BuiltApp {
  const cfg = () => ctx.config.get();
  const table = new RouteTable();
  const handlers = joinHandlers(table, [...healthRoutes(ctx), ...queryRoutes(ctx), ...capabilitiesRoutes(ctx), ...ingestRoutes(ctx), ...otlpRoutes(ctx), ...extra]);
  const rateLimitStore = new TokenBucketStore(cfg, ctx.now);
  ctx.metrics.watchRateLimiter(rateLimitStore);
  const limit = rateLimiter(cfg, rateLimitStore, (route) => ctx.metrics.rateLimitedRequest(route));
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

  /** Runs the handler of `route`; a push first gets its admission ticket, released when the response closes. */
  const run = (route: Route, param: string | undefined, req: IncomingMessage, res: ServerResponse) => {
    let ticket: Ticket | undefined;
    if (route.push === true) {
      try {
        ticket = admission.admit();
      } catch (e) {
        req.resume();
        return fail(e, req, res);
      }
      const held = ticket;
      res.once('close', () => held.release());
    }
    const call = { maxBodyBytes: bodyLimitBytes(route, cfg()), ticket, identity: identityOf(req), param };
    let out: void | Promise<void>;
    try {
      out = handlers.get(route)!(req, res, queryOf(req.url), call);
    } catch (e) {
      return fail(e, req, res);
    }
    if (out instanceof Promise) out.catch((e: unknown) => fail(e, req, res));
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    assignCorrelationId(req, res);
    const path = pathOf(req.url);
    // One lookup serves the metrics label, the limiter and the dispatch below.
    const found = table.match(req.method, path);
    trackRequest(ctx.metrics, req, res, () => routeLabel(found));
    const c = cfg();
    if (c.gzip) allowCompression(res);
    if (applyCors(c, req, res)) return;
    if (limit(req, res, found)) return;
    if (answerPreflight(req, res)) return;
    checkAccess(ctx.auth, found?.route, req, denied, (denial) => {
      if (denial !== undefined) return fail(denial, req, res);
      if (found === undefined) return fail(notFound(`no route for ${req.method} ${path}`), req, res);
      if (found.route === undefined) return methodNotServed(req, res, found.entry, fail);
      run(found.route, found.param, req, res);
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
    try {
      handle(req, res);
    } catch (e) {
      fail(e, req, res);
    }
  };

  return { listener, rateLimitStore, admission, drain };
}

/**
 * A method the path does not serve: OPTIONS (not a preflight) lists the methods in `Allow` with
 * a 200; anything else is a 405 with `Allow`.
 */
function methodNotServed(req: IncomingMessage, res: ServerResponse, entry: PathRoutes, fail: (err: unknown, req: IncomingMessage, res: ServerResponse) => void): void {
  if (req.method === 'OPTIONS') {
    const methods = entry.allow.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])).join(', ');
    res.setHeader('Allow', methods);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    sendBody(res, 200, 'text/plain', methods);
    return;
  }
  res.setHeader('Allow', entry.allow.join(', '));
  fail(new HttpError(405, 'method_not_allowed', `${req.method} is not allowed on ${entry.template}; use ${entry.allow.join(' or ')}`), req, res);
}

/** Each row of the table with its handler; a row without a handler, or a handler of no row, is a bug caught at start. */
function joinHandlers(table: RouteTable, given: Iterable<readonly [string, Handler]>): Map<Route, Handler> {
  const byKey = new Map<string, Handler>();
  for (const [key, handler] of given) {
    if (byKey.has(key)) throw new Error(`route table: two handlers for ${key}`);
    byKey.set(key, handler);
  }
  const out = new Map<Route, Handler>();
  for (const route of table.routes) {
    const key = `${route.method} ${route.path}`;
    const handler = byKey.get(key);
    if (handler === undefined) throw new Error(`route table: no handler for ${key}`);
    out.set(route, handler);
    byKey.delete(key);
  }
  for (const key of byKey.keys()) throw new Error(`route table: handler for ${key} has no row`);
  return out;
}

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
