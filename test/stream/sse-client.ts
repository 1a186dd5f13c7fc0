/**
 * A raw SSE client for the stream tests: node:http, and the event-stream parsing done here by hand
 * (HTML spec §9.2.6) so the tests see exactly what is on the wire: fields, comments, retry.
 */

import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
  /** performance.now() when the blank line that ends the event arrived. */
  at: number;
}

export interface ParsedData {
  timestamp: number;
  kind?: string;
  metrics: Array<{ name: string; labels: Record<string, string>; value: number | string; timestamp: number }>;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  readonly retries: number[] = [];
  /** Bytes of body received. */
  bytes = 0;
  ended = false;
  private buf = '';
  private cur: { id?: string; event?: string; data: string[] } = { data: [] };
  private waiters = new Set<() => void>();

  private constructor(
    readonly req: http.ClientRequest,
    readonly res: http.IncomingMessage,
  ) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.bytes += Buffer.byteLength(chunk);
      this.feed(chunk);
    });
    const end = () => {
      this.ended = true;
      this.wake();
    };
    res.on('end', end);
    res.on('close', end);
    res.on('error', end);
  }

  /** Opens a stream; resolves once the response headers are in (any status). */
  static open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = http.get(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => resolve(new SseClient(req, res)));
      req.on('error', reject);
    });
  }

  get status(): number {
    return this.res.statusCode ?? 0;
  }

  /** The data of every event, parsed as JSON. */
  parsed(): ParsedData[] {
    return this.events.map((e) => JSON.parse(e.data) as ParsedData);
  }

  /** Resolves when `pred` holds (checked on every arrival); rejects after timeoutMs. */
  waitFor(pred: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (pred()) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${this.events.length} events, ${this.comments.length} comments${this.ended ? ', stream ended' : ''}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  waitForEvents(n: number, timeoutMs = 3000): Promise<void> {
    return this.waitFor(() => this.events.length >= n, timeoutMs, `${n} events`);
  }

  /** Events handed out by next() so far. */
  cursor = 0;

  /** The next event not yet returned by next() (it may have arrived already), parsed. */
  async next(timeoutMs = 3000): Promise<ParsedData> {
    const n = ++this.cursor;
    await this.waitForEvents(n, timeoutMs);
    return JSON.parse(this.events[n - 1].data) as ParsedData;
  }

  close(): void {
    this.req.destroy();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private feed(chunk: string): void {
    this.buf += chunk;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      // A lone \r at the very end may be the first half of \r\n: wait for more.
      if (m[0] === '\r' && m.index === this.buf.length - 1) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      this.line(line);
    }
    this.wake();
  }

  private line(line: string): void {
    if (line === '') {
      if (this.cur.data.length > 0) {
        this.events.push({ id: this.cur.id, event: this.cur.event, data: this.cur.data.join('\n'), at: performance.now() });
      }
      this.cur = { data: [] };
      return;
    }
    if (line.startsWith(':')) {
      this.comments.push(line.slice(1).trimStart());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data': this.cur.data.push(value); break;
      case 'id': this.cur.id = value; break;
      case 'event': this.cur.event = value; break;
      case 'retry': if (/^\d+$/.test(value)) this.retries.push(Number(value)); break;
      default: break;
    }
  }
}

/** The entries of an event for one metric name. */
export function entriesOf(d: ParsedData, name: string): ParsedData['metrics'] {
  return d.metrics.filter((m) => m.name === name);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
