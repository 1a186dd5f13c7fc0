/**
 * Content negotiation on GET /metrics/stream, as the reference does it: a browser navigating to
 * the URL (Accept has text/html and not text/event-stream) gets the dashboard page; everything else
 * (EventSource's `text/event-stream`, curl's `*\/*`, no Accept at all) gets the event stream.
 *
 * Agreement with the dashboard (src/stream's static part): the stream router calls `next()` when
 * `wantsHtml` is true, so the dashboard router, mounted AFTER the stream router, answers the same
 * path with the page. A router mounted before it may use this same predicate.
 */

export function wantsHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const a = accept.toLowerCase();
  return a.includes('text/html') && !a.includes('text/event-stream');
}
