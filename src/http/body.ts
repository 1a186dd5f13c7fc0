/**
 * Request bodies: read with a byte limit, decompressed (gzip, deflate) with the same limit applied
 * to the inflated size, so a small bomb cannot expand past it.
 */

import type { IncomingMessage } from 'node:http';
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';
import type { Ticket } from './admission';
import { badRequest, HttpError, tooLarge, unsupportedMediaType } from './errors';

/**
 * Reads the whole body, or throws HttpError 413/400/415. With a ticket, every (decompressed) chunk
 * is charged to the ingestion memory budget first, and a spent budget ends the read with its 503.
 */
export async function readBody(req: IncomingMessage, maxBytes: number, ticket?: Ticket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const size = await consumeBody(req, maxBytes, ticket, (c) => chunks.push(c));
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
}

/** Reads the whole body as strict UTF-8 text (readTextParts, joined). */
export async function readText(req: IncomingMessage, maxBytes: number, ticket?: Ticket): Promise<string> {
  const parts = await readTextParts(req, maxBytes, ticket);
  return parts.length === 1 ? parts[0] : parts.join('');
}

/**
 * Reads the whole body as strict UTF-8 text, in the parts it arrived in. Each chunk is decoded as
 * it arrives, so a large body is never concatenated into one buffer and then decoded in one
 * synchronous step (about 90 ms for 10 MiB) while /health waits. Invalid bytes are a 400 naming
 * the byte offset.
 */
export async function readTextParts(req: IncomingMessage, maxBytes: number, ticket?: Ticket): Promise<string[]> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const chunks: Buffer[] = []; // kept only to name the offset of a bad byte
  const parts: string[] = [];
  let bad = false;
  await consumeBody(req, maxBytes, ticket, (c) => {
    chunks.push(c);
    if (bad) return;
    try {
      parts.push(decoder.decode(c, { stream: true }));
    } catch {
      bad = true;
    }
  });
  if (!bad) {
    try {
      parts.push(decoder.decode());
    } catch {
      bad = true;
    }
  }
  if (bad) throw badRequest(`request body is not valid UTF-8 (first bad byte at offset ${firstInvalidUtf8(Buffer.concat(chunks))})`);
  return parts;
}

/** Streams the (decompressed) body into `onChunk` under the byte limit and the ticket; resolves to its size. */
function consumeBody(req: IncomingMessage, maxBytes: number, ticket: Ticket | undefined, onChunk: (c: Buffer) => void): Promise<number> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume(); // drain so the connection can be reused for the 413
    throw tooLarge(maxBytes);
  }
  const encoding = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  let source: NodeJS.ReadableStream = req;
  let inflater: Gunzip | Inflate | undefined;
  if (encoding === 'gzip' || encoding === 'x-gzip') inflater = createGunzip();
  else if (encoding === 'deflate') inflater = createInflate();
  else if (encoding !== 'identity' && encoding !== '') {
    req.resume();
    throw unsupportedMediaType(`Content-Encoding ${JSON.stringify(encoding)} is not supported (use gzip, deflate or none)`);
  }
  if (inflater) source = req.pipe(inflater);

  return new Promise<number>((resolve, reject) => {
    let raw = 0;
    let size = 0;
    let done = false;
    const fail = (e: HttpError) => {
      if (done) return;
      done = true;
      if (inflater) {
        req.unpipe(inflater);
        inflater.destroy();
      }
      req.resume();
      reject(e);
    };
    if (inflater) {
      req.on('data', (c: Buffer) => {
        raw += c.length;
        if (raw > maxBytes) fail(tooLarge(maxBytes));
      });
    }
    source.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > maxBytes) return fail(inflater ? new HttpError(413, 'body_too_large', `decompressed request body is larger than the limit of ${maxBytes} bytes`) : tooLarge(maxBytes));
      if (ticket) {
        try {
          ticket.grow(c.length);
        } catch (e) {
          return fail(e as HttpError);
        }
      }
      onChunk(c);
    });
    source.on('end', () => {
      if (done) return;
      done = true;
      resolve(size);
    });
    source.on('error', (err: Error) => {
      if (inflater && err !== undefined && (err as NodeJS.ErrnoException).code?.startsWith('Z_')) {
        return fail(badRequest(`request body is not valid ${encoding} data: ${err.message}`));
      }
      fail(new HttpError(400, 'body_read_failed', `could not read the request body: ${err.message}`));
    });
    req.on('aborted', () => fail(new HttpError(400, 'body_read_failed', 'client aborted the request')));
  });
}

/** Offset of the first byte that starts an invalid UTF-8 sequence (error path only). */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    let n: number;
    let min: number;
    if (c < 0x80) { i++; continue; }
    else if (c >= 0xc2 && c <= 0xdf) { n = 1; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; min = 0x10000; }
    else return i;
    if (i + n >= b.length) return i; // truncated sequence
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return b.length;
}

/** The media type without parameters, lower-cased; '' when absent. */
export function mediaType(req: IncomingMessage): string {
  const ct = req.headers['content-type'];
  if (!ct) return '';
  return ct.split(';', 1)[0].trim().toLowerCase();
}

export function isJsonType(mt: string): boolean {
  return mt === '' || mt === 'application/json' || mt.endsWith('+json');
}
