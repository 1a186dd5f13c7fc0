/**
 * Every endpoint the agent serves, as data. One row per path and method; this table alone decides
 * how requests are routed (app.ts joins each row with its handler), the 404/405 answers (with
 * `Allow`), which requests are pushes admitted against the ingestion memory budget, which requests
 * the rate limiter skips, which body limit applies, the `route` label of the request metrics (so a
 * client can never create a label value: unknown paths are all `other`) and, for authorisation,
 * the scope a request needs. docs/api.md's endpoint table is checked against it by a test.
 *
 * The handlers themselves live with their features (routes/*.ts, stream/, cluster/); app.ts fails
 * at start when a row has no handler or a handler has no row.
 */

import type { Config } from '../config/schema';
import { wantsHtml } from '../stream/negotiate';

export type Method = 'GET' | 'POST' | 'DELETE';

/** What a caller must be allowed to do: read data, write (push) data, or delete data. */
export type Scope = 'read' | 'write' | 'delete';

/** Body format, for documentation and the dispatcher; `none` = no request body is read. */
export type RouteFormat = 'none' | 'json' | 'line-protocol' | 'otlp';

/**
 * `client`: counted against the client's token bucket. `exempt`: health probes and scrapes must
 * work while a client floods us. `page`: the dashboard, wherever it is served (its page, its
 * assets, and /metrics/stream when a browser asks it for HTML), counted like `client`; the event
 * stream itself (one long request; SSE_MAX_CLIENTS bounds those) is exempt.
 */
export type RateLimitPolicy = 'client' | 'exempt' | 'page';

/** The setting that bounds the request body, or undefined when no body is read. */
export type BodyLimit = 'maxBodyBytes' | 'otlpMaxBodyBytes';

export interface Route {
  /** Path template: literal segments, or `:name` for one variable segment. */
  readonly path: string;
  readonly method: Method;
  /**
   * `none`: never needs a credential whatever AUTH_REQUIRE says: liveness and readiness probes, and
   * the dashboard's page and assets (static code, no data; the page asks for a read token itself).
   */
  readonly scope: Scope | 'none';
  readonly format: RouteFormat;
  readonly rateLimit: RateLimitPolicy;
  readonly bodyLimit?: BodyLimit;
  /** A push: admitted against INGEST_MEMORY_BUDGET_BYTES (admission.ts) before its body is read. */
  readonly push?: boolean;
  /** Answers with an event stream unless the client prefers HTML (src/stream/negotiate.ts). */
  readonly eventStream?: boolean;
}

const get = (path: string, rateLimit: RateLimitPolicy = 'client'): Route => ({ path, method: 'GET', scope: 'read', format: 'none', rateLimit });
/** A probe: the kubelet sends no credential. */
const probe = (path: string): Route => ({ path, method: 'GET', scope: 'none', format: 'none', rateLimit: 'exempt' });
const push = (path: string, format: RouteFormat, bodyLimit: BodyLimit = 'maxBodyBytes'): Route =>
  ({ path, method: 'POST', scope: 'write', format, rateLimit: 'client', bodyLimit, push: true });

export const ROUTES: readonly Route[] = [
  probe('/'),
  probe('/health'),
  probe('/api/health'),
  get('/api/v1/stats', 'exempt'),
  push('/api/v1/metrics', 'json'),
  get('/api/v1/metrics'),
  { path: '/api/v1/metrics', method: 'DELETE', scope: 'delete', format: 'none', rateLimit: 'client' },
  push('/api/v1/metrics/simple', 'json'),
  push('/api/v1/metrics/influx', 'line-protocol'),
  push('/api/v1/metrics/otlp', 'otlp', 'otlpMaxBodyBytes'),
  get('/api/v1/metrics/latest'),
  get('/api/v1/metrics/names'),
  get('/api/v1/query_range'),
  push('/write', 'line-protocol'),
  push('/api/v2/write', 'line-protocol'),
  push('/v1/metrics', 'otlp', 'otlpMaxBodyBytes'),
  push('/api/metrics/report', 'json'),
  // Reads no body: the agent reports its own figures under the component name in the query.
  { path: '/api/metrics/self-report', method: 'POST', scope: 'write', format: 'none', rateLimit: 'client', push: true },
  get('/api/metrics/query'),
  get('/api/metrics/prometheus'),
  get('/metrics', 'exempt'),
  get('/metrics/self', 'exempt'),
  { ...get('/metrics/stream', 'page'), eventStream: true },
  get('/api/v1/config'),
  get('/api/v1/capabilities'),
  { ...get('/dashboard', 'page'), scope: 'none' },
  { ...get('/dashboard/assets/:file', 'page'), scope: 'none' },
];

/** The label for requests whose path is not in the table. */
export const OTHER_ROUTE = 'other';

/** Rows of one path template. */
export interface PathRoutes {
  readonly template: string;
  readonly byMethod: ReadonlyMap<string, Route>;
  /** For 405 answers: the methods served, in table order. */
  readonly allow: readonly string[];
}

/** Where a request path falls in the table. */
export interface RouteMatch {
  /** The rows of the path's template. */
  readonly entry: PathRoutes;
  /** The row serving the method (HEAD is served by GET), or undefined: the method is not allowed. */
  readonly route: Route | undefined;
  /** The raw value of the template's variable segment, if it has one. */
  readonly param?: string;
}

/**
 * Looks requests up in a route table. Pure; built once. A literal path is one map lookup; the few
 * templates with a variable segment are tried in order after that.
 */
export class RouteTable {
  private readonly exact = new Map<string, PathRoutes>();
  private readonly templated: Array<{ prefix: string; segments: number; paramAt: number; routes: PathRoutes }> = [];

  constructor(readonly routes: readonly Route[] = ROUTES) {
    const byPath = new Map<string, Route[]>();
    for (const r of routes) {
      const list = byPath.get(r.path) ?? [];
      if (list.some((x) => x.method === r.method)) throw new Error(`route table: ${r.method} ${r.path} is listed twice`);
      list.push(r);
      byPath.set(r.path, list);
    }
    for (const [template, list] of byPath) {
      const entry: PathRoutes = { template, byMethod: new Map(list.map((r) => [r.method, r])), allow: list.map((r) => r.method) };
      const colon = template.indexOf('/:');
      if (colon < 0) {
        this.exact.set(template, entry);
      } else {
        if (template.indexOf(':', colon + 2) >= 0) throw new Error(`route table: ${template} has more than one variable segment`);
        this.templated.push({ prefix: template.slice(0, colon + 1), segments: template.split('/').length, paramAt: template.slice(0, colon + 1).split('/').length - 1, routes: entry });
      }
    }
  }

  /**
   * The template and row that serve a request, as clients have always been served: an exact match
   * first, else ignoring letter case and one trailing slash (`/Health`, `/api/v1/metrics/names/`).
   * The variable segment keeps its case. Undefined for a path of no template (a 404).
   */
  match(method: string | undefined, path: string): RouteMatch | undefined {
    let p = path;
    let entry = this.exact.get(p);
    if (entry === undefined) {
      if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
      entry = this.exact.get(p.toLowerCase());
    }
    let param: string | undefined;
    if (entry === undefined) {
      const lower = p.toLowerCase();
      const parts = p.split('/');
      for (const t of this.templated) {
        if (lower.startsWith(t.prefix) && lower.length > t.prefix.length && parts.length === t.segments) {
          const segment = parts[t.paramAt];
          if (segment === '') continue;
          entry = t.routes;
          param = segment;
          break;
        }
      }
      if (entry === undefined) return undefined;
    }
    const m = method ?? 'GET';
    const route = entry.byMethod.get(m) ?? (m === 'HEAD' ? entry.byMethod.get('GET') : undefined);
    return { entry, route, param };
  }

  /** The rows of the template `path` is served under, or undefined for an unknown path. */
  lookup(path: string): PathRoutes | undefined {
    return this.match(undefined, path)?.entry;
  }

  /** The bounded `route` label of `path` (routeLabel of its match). */
  label(path: string): string {
    return routeLabel(this.match(undefined, path));
  }

  /** Whether the rate limiter skips this request (isExempt of its match). */
  exempt(method: string | undefined, path: string, accept?: string): boolean {
    return isExempt(this.match(method, path)?.route, accept);
  }
}

/** The bounded `route` label of a request: its template when the table serves its path, `other` for anything else. */
export function routeLabel(found: RouteMatch | undefined): string {
  return found?.entry.template ?? OTHER_ROUTE;
}

/** Whether the rate limiter skips a request served by `route` (unknown paths and methods are limited); `accept` is its Accept header. */
export function isExempt(route: Route | undefined, accept?: string): boolean {
  if (route === undefined) return false;
  if (route.rateLimit === 'page') return route.eventStream === true && !wantsHtml(accept);
  return route.rateLimit === 'exempt';
}

/** The body limit in bytes a route allows under the live config (0 when it reads no body). */
export function bodyLimitBytes(route: Route, config: Config): number {
  return route.bodyLimit === undefined ? 0 : config[route.bodyLimit];
}

/** Methods as the request metrics label them: the table's methods and a few common others, else `other`. */
const METHOD_LABELS = new Set(['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS']);

export function methodLabel(method: string | undefined): string {
  const m = method ?? 'GET';
  return METHOD_LABELS.has(m) ? m : 'other';
}
