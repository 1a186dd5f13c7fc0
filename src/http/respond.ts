/**
 * Plain node:http request/response helpers. The ingestion routes run on these instead of
 * express: they are the hot path, and express's per-request setup costs more than the rest of a
 * small push put together (measured in bench/RESULTS.md).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity } from '../auth/tokens';
import type { Ticket } from './admission';
import { errorBody, type HttpError } from './errors';

export type PlainRequest = IncomingMessage;
export type PlainResponse = ServerResponse;

/** What the dispatcher gives a plain handler besides the request: its body limit and admission ticket. */
export interface BodyBudget {
  /** The body limit the route table gives this route under the live config. */
  maxBodyBytes: number;
  /** Grows with the body read (see admission.ts); released by the dispatcher when the response ends. */
  ticket?: Ticket;
  /** Who sent the push, when it carried an accepted credential (stamped on its samples). */
  identity?: Identity;
}

/** A route handler on plain node objects; `query` is the parsed query string. */
export type PlainHandler = (req: PlainRequest, res: PlainResponse, query: URLSearchParams, body: BodyBudget) => Promise<void>;

export function sendJson(res: PlainResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

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
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

export function queryOf(url: string | undefined): URLSearchParams {
  const q = url ? url.indexOf('?') : -1;
  return new URLSearchParams(q < 0 ? '' : url!.slice(q + 1));
}
