/**
 * GET /metrics/stream. A browser asking for HTML falls through (`next()`) to the dashboard router,
 * which is mounted after this one (see negotiate.ts); everything else becomes an event stream.
 */

import { Router } from 'express';
import { HttpError } from '../http/errors';
import { queryOf } from '../http/respond';
import { wantsHtml } from './negotiate';
import { StreamRefused, type StreamHub } from './stream-hub';

export const STREAM_PATH = '/metrics/stream';

export function streamRouter(stream: StreamHub): Router {
  const r = Router();
  r.get(STREAM_PATH, (req, res, next) => {
    if (wantsHtml(req.headers.accept)) {
      next();
      return;
    }
    try {
      stream.open(req, res, queryOf(req.url));
    } catch (e) {
      if (!(e instanceof StreamRefused)) throw e;
      if (e.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(e.retryAfterSeconds));
      throw new HttpError(e.status, e.code, e.message);
    }
  });
  return r;
}
