/**
 * Content negotiation on GET /metrics/stream, as the reference does it: a browser navigating to
 * the URL (Accept has text/html and not text/event-stream) gets the dashboard page; everything else
 * (EventSource's `text/event-stream`, curl's `*\/*`, no Accept at all) gets the event stream.
 *
 * Agreement with the dashboard: the stream route (src/stream/route.ts) hands requests for which
 * `wantsHtml` is true to the dashboard's page handler, so the same path answers with the page.
 */

export function wantsHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const a = accept.toLowerCase();
  return a.includes('text/html') && !a.includes('text/event-stream');
}
