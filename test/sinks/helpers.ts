/**
 * Test helpers for the sinks: a programmable HTTP receiver STAND-IN (records every request and
 * answers what the test says), a log capture, a hub stand-in and polling.
 */

import type { HubSubscription, Subscriber } from '../../src/hub/hub';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from '../../src/log/logger';
import type { Labels, Origin, Sample } from '../../src/model/sample';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** performance.now() when the request arrived. */
  at: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Destroy the socket instead of answering (a network error for the client). */
  destroy?: boolean;
}

export interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly requests: ReceivedRequest[];
  /** Decides the answer to request number n (0-based). Default: 204. */
  respond: (req: ReceivedRequest, n: number) => Answer;
  /** Stops listening and drops connections (clients get "connection refused"). */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

/** A stand-in HTTP receiver on a free loopback port. */
export async function startReceiver(): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const r: Partial<Receiver> & { respond: Receiver['respond'] } = { respond: () => ({ status: 204 }) };
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const rec: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(parts), at: performance.now() };
      const n = requests.length;
      requests.push(rec);
      const a = r.respond(rec, n);
      const answer = (): void => {
        if (a.destroy) {
          res.socket?.destroy();
          return;
        }
        res.writeHead(a.status, a.headers ?? {});
        res.end(a.body ?? '');
      };
      if (a.delayMs) {
        const t = setTimeout(() => {
          timers.delete(t);
          answer();
        }, a.delayMs);
        timers.add(t);
      } else {
        answer();
      }
    });
  });
  await listen(server, 0);
  const port = (server.address() as AddressInfo).port;
  let listening = true;
  const down = async (): Promise<void> => {
    if (!listening) return;
    listening = false;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };
  return Object.assign(r, {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    down,
    async up() {
      if (listening) return;
      await listen(server, port);
      listening = true;
    },
    close: down,
  }) as Receiver;
}

function listen(server: http.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export interface LogLine {
  level: string;
  message: string;
  [k: string]: unknown;
}

/** The agent's JSON logger, keeping its lines in memory (parsed). */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger({ level: 'debug', format: 'json', service: 'test', version: 'test', write: (l) => lines.push(JSON.parse(l) as LogLine) });
  return { logger, lines };
}

/** A hub stand-in (test double of the subscriber port): publish() hands a batch to every subscriber, like Hub.accept after storing. */
export function fakeHub(): HubSubscription & { publish(samples: Sample[], origin?: Origin): void; subscribers: number } {
  const subs = new Set<Subscriber>();
  return {
    subscribe(s) {
      subs.add(s);
      return () => subs.delete(s);
    },
    publish(samples, origin = 'custom') {
      for (const s of subs) s({ samples, origin, format: origin === 'system' ? 'system' : 'write' });
    },
    get subscribers() {
      return subs.size;
    },
  };
}

export function sample(name: string, labels: Labels, value: number, timestampMs?: number): Sample {
  return { name, labels, value, timestampMs, type: 'gauge' };
}

export async function waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Counts of a stats object's dropped reasons, summed. */
export function droppedSum(d: Record<string, number>): number {
  return Object.values(d).reduce((a, b) => a + b, 0);
}

/** The sink's accounting identity (src/sinks/README.md): every sample is sent, dropped or buffered. */
export function assertBalanced(st: { acceptedSamplesTotal: number; spoolRecoveredSamplesTotal: number; sentSamplesTotal: number; droppedSamplesTotal: Record<string, number>; queueSamples: number; spoolSamples: number }): void {
  const inflow = st.acceptedSamplesTotal + st.spoolRecoveredSamplesTotal;
  const outflow = st.sentSamplesTotal + droppedSum(st.droppedSamplesTotal) + st.queueSamples + st.spoolSamples;
  if (inflow !== outflow) throw new Error(`unbalanced sink accounting: in ${inflow}, out ${outflow}: ${JSON.stringify(st)}`);
}
