/**
 * Request/response helpers on node:http's own objects, which every route handler is written
 * against: no framework sits between the server and the handlers (app.ts dispatches).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity } from '../auth/tokens';
import type { Ticket } from './admission';
import { gzip } from 'node:zlib';
import { acceptsGzip, COMPRESS_MIN_BYTES, compressibleType, compressionAllowed } from './compress';
import { badRequest, errorBody, type HttpError } from './errors';

export type PlainRequest = IncomingMessage;
export type PlainResponse = ServerResponse;

/** What the dispatcher gives a handler that reads a body: its limit and admission ticket. */
export interface BodyBudget {
  /** The body limit the route table gives this route under the live config. */
  maxBodyBytes: number;
  /** Grows with the body read (see admission.ts); released by the dispatcher when the response ends. */
  ticket?: Ticket;
  /** Who sent the request, when it carried an accepted credential (stamped on pushed samples). */
  identity?: Identity;
}

/** What the dispatcher gives every handler besides the request and its query. */
export interface RouteCall extends BodyBudget {
  /** The raw (still percent-encoded) value of the route's `:name` segment, for templates with one. */
  param?: string;
}

/**
 * A route handler; `query` is the parsed query string (repeated keys kept: read them with
 * `getAll`, or `onlyValue` where a parameter may be given once). A rejected promise or a throw
 * goes to the dispatcher's one error mapping.
 */
export type Handler = (req: PlainRequest, res: PlainResponse, query: URLSearchParams, call: RouteCall) => void | Promise<void>;

/** `${method} ${path template}`: how route modules name the table row a handler serves. */
export type RouteKey = `${'GET' | 'POST' | 'DELETE'} /${string}`;

export type RouteHandlers = Iterable<readonly [RouteKey, Handler]>;

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

export function sendJson(res: PlainResponse, status: number, body: unknown): void {
  sendBody(res, status, JSON_CONTENT_TYPE, JSON.stringify(body));
}

/**
 * Ends the response with `body`. When the dispatcher allowed compression for this response
 * (ENABLE_GZIP_COMPRESSION) and the type is text or JSON, the answer varies by Accept-Encoding;
 * a body of at least 1 KiB goes out gzip-compressed, when the client accepts gzip, with the
 * compressed Content-Length. The compression runs in zlib's thread pool, off the event loop.
 * HEAD gets the identity headers and no body.
 */
export function sendBody(res: PlainResponse, status: number, contentType: string, body: string | Uint8Array): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  // Encoded once: the length and the write then share the bytes.
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (compressionAllowed(res) && compressibleType(contentType)) {
    addVary(res, 'Accept-Encoding');
    const req = res.req;
    if (bytes.length >= COMPRESS_MIN_BYTES && req.method !== 'HEAD' && res.getHeader('Content-Encoding') === undefined && acceptsGzip(req.headers['accept-encoding'])) {
      gzip(bytes, (err, out) => {
        if (res.destroyed || res.writableEnded) return; // the client went away meanwhile
        if (err) {
          res.destroy();
          return;
        }
        res.setHeader('Content-Encoding', 'gzip');
        res.setHeader('Content-Length', out.length);
        res.end(out);
      });
      return;
    }
  }
  res.setHeader('Content-Length', bytes.length);
  res.end(bytes);
}

/** A body that is never compressed (binary answers, e.g. OTLP protobuf). */
export function sendBytes(res: PlainResponse, status: number, contentType: string, body: Uint8Array): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', body.length);
  res.end(body);
}

export function sendEmpty(res: PlainResponse, status: number): void {
  res.statusCode = status;
  res.end();
}

export function sendError(res: PlainResponse, e: HttpError): void {
  if (e.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(e.retryAfterSeconds));
  if (e.challenge !== undefined) res.setHeader('WWW-Authenticate', e.challenge);
  sendJson(res, e.status, errorBody(e));
}

/** `/a/b?x=1` → `/a/b`. */
export function pathOf(url: string | undefined): string {
  if (!url) return '/';
  // A server must accept the absolute form (`GET http://host:9100/metrics`, RFC 9112 §3.2.2),
  // which clients send through a proxy; its path is what follows the authority.
  const start = url.charCodeAt(0) === 47 /* / */ ? 0 : (ABSOLUTE_FORM.exec(url)?.[0].length ?? 0);
  const q = url.indexOf('?', start);
  const path = q < 0 ? url.slice(start) : url.slice(start, q);
  return path === '' ? '/' : path;
}

const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/** `/a/b?x=1` → `?x=1`; '' without a query. */
export function searchOf(url: string | undefined): string {
  const q = url ? url.indexOf('?') : -1;
  return q < 0 ? '' : url!.slice(q);
}

export function queryOf(url: string | undefined): URLSearchParams {
  const q = url ? url.indexOf('?') : -1;
  return new URLSearchParams(q < 0 ? '' : url!.slice(q + 1));
}

/** The value of `name` when it is given exactly once, else undefined. */
export function onlyValue(query: URLSearchParams, name: string): string | undefined {
  const all = query.getAll(name);
  return all.length === 1 ? all[0] : undefined;
}

/** A route's variable segment, percent-decoded; a bad encoding is a 400 naming it. */
export function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badRequest(`Failed to decode param '${raw}'`);
  }
}

/** Adds `field` to the response's Vary header unless it is listed already. */
export function addVary(res: PlainResponse, field: string): void {
  const now = res.getHeader('Vary');
  const list = now === undefined ? '' : Array.isArray(now) ? now.join(', ') : String(now);
  if (list === '') {
    res.setHeader('Vary', field);
    return;
  }
  const lower = field.toLowerCase();
  for (const f of list.split(',')) {
    const t = f.trim().toLowerCase();
    if (t === lower || t === '*') return;
  }
  res.setHeader('Vary', `${list}, ${field}`);
}
