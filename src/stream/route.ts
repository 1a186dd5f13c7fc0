/**
 * GET /metrics/stream. A browser asking for HTML gets the dashboard page (`page`, see
 * negotiate.ts); everything else becomes an event stream.
 */

import { HttpError, notFound } from '../http/errors';
import { pathOf, type Handler, type RouteHandlers } from '../http/respond';
import { wantsHtml } from './negotiate';
import { StreamRefused, type StreamHub } from './stream-hub';

export const STREAM_PATH = '/metrics/stream';

/** `page`: the dashboard at this path (src/stream/dashboard/router.ts); without it an HTML request is a 404. */
export function streamRoutes(stream: StreamHub, page?: Handler): RouteHandlers {
  return [[`GET ${STREAM_PATH}`, (req, res, query, call) => {
    if (wantsHtml(req.headers.accept)) {
      if (page === undefined) throw notFound(`no route for GET ${pathOf(req.url)}`);
      return page(req, res, query, call);
    }
    try {
      stream.open(req, res, query);
    } catch (e) {
      if (!(e instanceof StreamRefused)) throw e;
      if (e.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(e.retryAfterSeconds));
      throw new HttpError(e.status, e.code, e.message);
    }
  }]];
}
