/**
 * Serves the live dashboard: one HTML page, one ES module and one stylesheet, read from this
 * folder as they are in the repository (no build step). The page is served at GET /dashboard and,
 * for browsers, at GET /metrics/stream (a request whose Accept has text/html and not
 * text/event-stream: the stream route hands those to `pageAtStream`).
 *
 * Every URL in the page is relative, so it works behind a path prefix or `kubectl port-forward`:
 * the HTML is rendered once per mount point with the relative path back to the mount root
 * (`./` under /dashboard, `../` under /metrics/stream) and the module derives its API base from
 * its own URL (`import.meta.url`).
 *
 * Security: metric names and labels are attacker-controlled, so the page renders them only with
 * DOM text APIs; the page carries a strict Content-Security-Policy (no inline style; one inline
 * script, allowed by its hash alone) with Trusted Types enforced, so an innerHTML sink would throw
 * even if one slipped in.
 */

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { qValue } from '../../http/compress';
import { notFound } from '../../http/errors';
import { addVary, decodeParam, onlyValue, pathOf, searchOf, sendBody, type Handler, type RouteHandlers } from '../../http/respond';

/** The policy without inline-script hashes (see dashboardCsp). */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

/**
 * The page's Content-Security-Policy. Scripts: same-origin files, plus the page's inline scripts by
 * their SHA-256 (the one that opens the stream early): never 'unsafe-inline'.
 */
export function dashboardCsp(inlineScriptHashes: readonly string[] = []): string {
  return DASHBOARD_CSP.replace("script-src 'self'", ["script-src 'self'", ...inlineScriptHashes.map((h) => `'sha256-${h}'`)].join(' '));
}

/** Folder of the assets inside the package. */
const ASSET_FOLDER = path.join('src', 'stream', 'dashboard');

interface Asset {
  body: Buffer;
  type: string;
  /** Short content hash: the `?v=` cache buster and the ETag. */
  hash: string;
}

interface Page extends Asset {
  /** Its Content-Security-Policy, with the hashes of its inline scripts. */
  csp: string;
}

const ASSETS: Record<string, string> = {
  'dashboard.mjs': 'text/javascript; charset=utf-8',
  'sections.mjs': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
};

/** The chart library, served from its npm package as it ships (no CDN, no copy in the tree). */
const VENDOR: Record<string, { file: string; type: string }> = {
  'uPlot.iife.min.js': { file: 'uplot/dist/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { file: 'uplot/dist/uPlot.min.css', type: 'text/css; charset=utf-8' },
};

export interface DashboardOptions {
  /** Folder holding index.html and the assets; default: src/stream/dashboard under the package root. */
  dir?: string;
}

/**
 * The package root: the nearest ancestor of `from` holding package.json, so the same lookup works
 * from src/ (ts-node), dist/ (the package) and build/ (the tests).
 */
export function packageRoot(from: string): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export function dashboardDir(): string {
  return path.join(packageRoot(__dirname), ASSET_FOLDER);
}

function asset(body: Buffer, type: string): Asset {
  return { body, type, hash: createHash('sha256').update(body).digest('hex').slice(0, 16) };
}

export interface DashboardRoutes {
  /** GET /dashboard and its assets. */
  routes: RouteHandlers;
  /** The page as served at GET /metrics/stream, for browsers (see src/stream/route.ts). */
  pageAtStream: Handler;
}

/**
 * Reads the assets once (throws at construction when one is missing, naming it) and returns the
 * handlers. They hold no mutable state.
 */
export function dashboardRoutes(opts: DashboardOptions = {}): DashboardRoutes {
  const dir = opts.dir ?? dashboardDir();
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(ASSETS)) assets.set(name, asset(readFileSync(path.join(dir, name)), type));
  // The entry module imports its sibling by the versioned URL, so that import is cached as long as
  // the rest (an unversioned import would be revalidated on every load, after the entry arrived).
  const entry = assets.get('dashboard.mjs')!;
  assets.set('dashboard.mjs', asset(Buffer.from(versionImports(entry.body.toString('utf8'), assets), 'utf8'), entry.type));
  for (const [name, v] of Object.entries(VENDOR)) assets.set(name, asset(readFileSync(require.resolve(v.file)), v.type));

  // The page, rendered for each mount point: `{{root}}` is the relative path to the mount root,
  // `{{v:name}}` the asset's content hash.
  const template = readFileSync(path.join(dir, 'index.html'), 'utf8');
  const render = (root: string): Page => {
    const html = template
      .replaceAll('{{root}}', root)
      .replace(/\{\{v:([A-Za-z.]+)\}\}/g, (_m, name: string) => {
        const a = assets.get(name);
        if (!a) throw new Error(`index.html refers to unknown asset ${name}`);
        return a.hash;
      });
    return { ...asset(Buffer.from(html, 'utf8'), 'text/html; charset=utf-8'), csp: dashboardCsp(inlineScriptHashes(html)) };
  };
  const pageAtDashboard = render('./');
  const pageAtStream = render('../');

  const securityHeaders = (res: ServerResponse) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
  };

  const send = (req: IncomingMessage, res: ServerResponse, a: Asset, cacheControl: string) => {
    securityHeaders(res);
    res.setHeader('Cache-Control', cacheControl);
    res.setHeader('ETag', `"${a.hash}"`);
    addVary(res, 'Accept-Encoding');
    if (req.headers['if-none-match'] === `"${a.hash}"`) {
      res.statusCode = 304;
      res.end();
      return;
    }
    sendBody(res, 200, a.type, a.body);
  };

  const sendPage = (req: IncomingMessage, res: ServerResponse, page: Page) => {
    res.setHeader('Content-Security-Policy', page.csp);
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    // The page is tiny and names hashed assets: always revalidate it so an upgrade shows at once.
    send(req, res, page, 'no-cache');
  };

  const dashboard: Handler = (req, res) => {
    // `/dashboard/` would resolve the relative URLs one level too deep: send it to `../dashboard`.
    if (pathOf(req.url).endsWith('/')) {
      securityHeaders(res);
      redirect(req, res, 308, '../dashboard' + searchOf(req.url));
      return;
    }
    sendPage(req, res, pageAtDashboard);
  };

  const streamPage: Handler = (req, res) => {
    if (pathOf(req.url).endsWith('/')) throw notFound(`no route for GET ${pathOf(req.url)}`);
    res.setHeader('Vary', 'Accept');
    sendPage(req, res, pageAtStream);
  };

  const assetRoute: Handler = (req, res, query, call) => {
    const a = call.param === undefined ? undefined : assets.get(decodeParam(call.param));
    if (!a) throw notFound(`nothing at ${pathOf(req.url)}`);
    // A URL carrying the current content hash never changes; anything else is revalidated.
    const immutable = onlyValue(query, 'v') === a.hash;
    send(req, res, a, immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  };

  return {
    routes: [
      ['GET /dashboard', dashboard],
      ['GET /dashboard/assets/:file', assetRoute],
    ],
    pageAtStream: streamPage,
  };
}

const REDIRECT_TEXT: Record<number, string> = { 301: 'Moved Permanently', 302: 'Found', 307: 'Temporary Redirect', 308: 'Permanent Redirect' };

/**
 * A redirect to `location` with a short body in the form the client prefers (plain text or HTML,
 * none when it accepts neither), varying by Accept.
 */
function redirect(req: IncomingMessage, res: ServerResponse, status: number, location: string): void {
  const target = location.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
  const text = `${REDIRECT_TEXT[status] ?? 'Redirect'}. Redirecting to ${target}`;
  res.setHeader('Location', target);
  res.setHeader('Vary', 'Accept');
  const form = preferredType(req.headers.accept, ['text/plain', 'text/html']);
  if (form === undefined) {
    res.statusCode = status;
    res.setHeader('Content-Length', 0);
    res.end();
    return;
  }
  const body = form === 'text/html'
    ? `<!DOCTYPE html><head><title>${REDIRECT_TEXT[status] ?? 'Redirect'}</title></head><body><p>${escapeHtml(text)}</p></body>`
    : text;
  sendBody(res, status, `${form}; charset=utf-8`, body);
}

/**
 * Which of `offered` (in our order of preference) an Accept header prefers: the highest q-value
 * of the most specific range that covers each; on a tie the range listed first, then our order.
 * No header: the first offered. None acceptable: undefined.
 */
export function preferredType(accept: string | undefined, offered: readonly string[]): string | undefined {
  if (accept === undefined || accept.trim() === '') return offered[0];
  const ranges = accept.split(',').map((part, index) => {
    const semi = part.indexOf(';');
    return { range: (semi < 0 ? part : part.slice(0, semi)).trim().toLowerCase(), q: semi < 0 ? 1 : qValue(part.slice(semi + 1)), index };
  });
  let best: { type: string; q: number; specificity: number; index: number; order: number } | undefined;
  offered.forEach((type, order) => {
    const [major] = type.split('/');
    let hit: { q: number; specificity: number; index: number } | undefined;
    for (const r of ranges) {
      const specificity = r.range === type ? 2 : r.range === `${major}/*` ? 1 : r.range === '*/*' ? 0 : -1;
      if (specificity < 0 || (hit !== undefined && hit.specificity > specificity)) continue;
      if (hit === undefined || specificity > hit.specificity || r.q > hit.q) hit = { q: r.q, specificity, index: r.index };
    }
    if (hit === undefined || hit.q <= 0) return;
    const better = best === undefined || hit.q > best.q || (hit.q === best.q && (hit.specificity > best.specificity || (hit.specificity === best.specificity && hit.index < best.index)));
    if (better) best = { type, ...hit, order };
  });
  return best?.type;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/**
 * The base64 SHA-256 of each inline script's text, as CSP hash sources take it. Only plain
 * `<script>` tags count (the page's others all have a `src`).
 */
export function inlineScriptHashes(html: string): string[] {
  return [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => createHash('sha256').update(m[1], 'utf8').digest('base64'));
}

/** Rewrites `from './x.mjs'` to `from './x.mjs?v=<hash>'` for the modules among `assets`. */
function versionImports(source: string, assets: ReadonlyMap<string, Asset>): string {
  return source.replace(/(\bfrom\s+')\.\/([A-Za-z-]+\.mjs)'/g, (whole, head: string, name: string) => {
    const dep = assets.get(name);
    return dep ? `${head}./${name}?v=${dep.hash}'` : whole;
  });
}
