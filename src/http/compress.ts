/**
 * When an answer is gzip-compressed (respond.ts `sendBody` does the work): ENABLE_GZIP_COMPRESSION
 * on, a text or JSON body of at least 1 KiB, and a client whose Accept-Encoding prefers gzip to
 * the identity. Only gzip is offered: every HTTP client that compresses at all accepts it. Event
 * streams are never compressed: their events must reach the client as they are written.
 */

import type { ServerResponse } from 'node:http';

/** Smaller bodies go out as they are: the gzip header and the CPU would cost more than they save. */
export const COMPRESS_MIN_BYTES = 1024;

const ALLOWED = Symbol('metrics-manager.compress');

/** Marks a response whose body may be compressed (the dispatcher does this when the live config allows it). */
export function allowCompression(res: ServerResponse): void {
  (res as unknown as Record<symbol, boolean>)[ALLOWED] = true;
}

export function compressionAllowed(res: ServerResponse): boolean {
  return (res as unknown as Record<symbol, boolean | undefined>)[ALLOWED] === true;
}

/**
 * Text and JSON, which compress well; not event streams, and not OpenMetrics, which is sent as
 * it always has been (uncompressed).
 */
export function compressibleType(contentType: string): boolean {
  const semi = contentType.indexOf(';');
  const t = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (t.startsWith('text/')) return t !== 'text/event-stream';
  return t === 'application/json' || t === 'application/javascript' || t.endsWith('+json') || t.endsWith('+xml');
}

/**
 * Whether an Accept-Encoding header (RFC 9110 §12.5.3) lets us answer in gzip: gzip (or `*`) with
 * a q-value above 0 and at least the identity's. The identity, when not listed, is worth the
 * lowest q-value the header gives (so `gzip;q=0.5` alone still means gzip). No header: identity.
 */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined || header === '') return false;
  let gzipQ: number | undefined;
  let anyQ: number | undefined;
  let identityQ: number | undefined;
  let lowest = 1;
  for (const part of header.split(',')) {
    const semi = part.indexOf(';');
    const coding = (semi < 0 ? part : part.slice(0, semi)).trim().toLowerCase();
    if (coding === '') continue;
    const q = semi < 0 ? 1 : qValue(part.slice(semi + 1));
    if (q < lowest) lowest = q;
    if (coding === 'gzip' || coding === 'x-gzip') gzipQ = q;
    else if (coding === '*') anyQ = q;
    else if (coding === 'identity') identityQ = q;
  }
  const g = gzipQ ?? anyQ ?? 0;
  return g > 0 && g >= (identityQ ?? lowest);
}

/** The q parameter of a list member's parameters, `q=0.5;x=y` (1 when absent, 0 when unreadable or out of 0..1). */
export function qValue(params: string): number {
  for (const p of params.split(';')) {
    const eq = p.indexOf('=');
    if (eq < 0 || p.slice(0, eq).trim().toLowerCase() !== 'q') continue;
    const q = Number(p.slice(eq + 1).trim());
    return Number.isFinite(q) && q >= 0 && q <= 1 ? q : 0;
  }
  return 1;
}
