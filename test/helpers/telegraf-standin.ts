/**
 * A Telegraf STAND-IN for tests. Telegraf itself cannot be installed here, so this small HTTP server
 * plays the two parts of it the agent talks to, as telegraf/telegraf.conf configures them:
 *
 * - `POST /write`: the influxdb_listener input. Line protocol (gzip allowed, `?precision=`, default
 *   nanoseconds like Telegraf), 204 when every line parsed, 400 "partial write" when some did not
 *   (the good lines are still kept, as Telegraf's listener does), 413 past the body limit.
 *   `GET /ping` answers 204 and `/query` `{"results":[]}` like the listener.
 * - `GET /metrics`: the prometheus_client output with `metric_version = 1`, `export_timestamp = true`:
 *   what /write received (field `value` → `<measurement>`, other fields → `<measurement>_<field>`,
 *   tags → labels, plus `host`) and a configurable set of "system" samples, every family with
 *   `# HELP … Telegraf collected metric` and `# TYPE … untyped` (or gauge/counter when a system
 *   sample says so), label sets of a family unioned with missing labels rendered as "", values in
 *   Go's float format, timestamps in ms. Samples tagged `mm_origin="custom"` are left out, like the
 *   conf's `tagdrop` on that output (switch it off with `dropCustomOrigin: false`).
 *
 * It is a stand-in, not Telegraf: string fields are not turned into labels and boolean fields are
 * exported as 0/1 (Telegraf's v1 output skips them); histograms and summaries are not modelled.
 */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { LineProtocolParser } from '../../src/formats/influx/parse';
import type { Labels } from '../../src/model/sample';
import { escapeLabelValue, seriesKey } from '../../src/model/series-key';
import type { Precision } from '../../src/model/time';

export interface StandinSample {
  name: string;
  labels?: Labels;
  value: number;
  /**
   * Milliseconds. Default: the time setSystem() was called, floored to the second (the conf's
   * agent precision is 1 s). `null` exports the sample without a timestamp.
   */
  timestampMs?: number | null;
  /** Exported TYPE; Telegraf's system inputs give `untyped` (the default). */
  type?: 'untyped' | 'gauge' | 'counter';
}

export interface TelegrafStandinOptions {
  /** The agent `host` tag added to every sample that has none. Default `standin-node`. */
  hostname?: string;
  /** Initial system samples (see setSystem). */
  system?: StandinSample[];
  /** Received lines kept for received(); older ones are dropped and counted. Default 10 000. */
  maxLines?: number;
  /** Body limit of /write, raw and after gunzip (Telegraf's listener: 32 MiB). */
  maxBodyBytes?: number;
  /** Tags the listener adds to what it receives when absent (the shipped conf adds mm_origin=custom). Default none. */
  listenerTags?: Labels;
  /** Leave samples tagged mm_origin="custom" out of /metrics, like the shipped conf. Default true. */
  dropCustomOrigin?: boolean;
  /** prometheus_client's expiration_interval for received series, ms; 0 = never. Default 60 000. */
  expirationMs?: number;
  /** Timestamp unit of /write without `?precision=`. Telegraf: ns. */
  defaultPrecision?: Precision;
  /** Loopback port to listen on; default a free one. */
  port?: number;
  /** Wall clock, ms. */
  now?: () => number;
}

export type StandinRoute = 'write' | 'metrics' | 'both';

export interface StandinStats {
  /** POST /write requests answered, whatever the status. */
  writeRequests: number;
  /** Lines parsed and kept. */
  linesAccepted: number;
  /** Lines the parser refused (answered with 400 "partial write"). */
  linesRejected: number;
  /** Accepted lines pushed out of the bounded received() list. */
  linesDropped: number;
  /** Raw request body bytes of /write (before gunzip). */
  bytesReceived: number;
  /** Requests answered with an injected failure status (setFailure). */
  failedRequests: number;
  /** Requests refused with 413. */
  tooLarge: number;
  /** GET /metrics requests served (injected failures included). */
  scrapes: number;
}

export interface TelegrafStandin {
  /** Base URL, e.g. http://127.0.0.1:41234 (PROMETHEUS_TELEGRAF_ENDPOINT). */
  readonly url: string;
  /** `<url>/write` (TELEGRAF_HTTP_ENDPOINT). */
  readonly writeUrl: string;
  /** `<url>/metrics`. */
  readonly metricsUrl: string;
  readonly port: number;
  /** A copy of the accepted lines, oldest first (bounded by maxLines). */
  received(): string[];
  stats(): StandinStats;
  /** GET /metrics requests so far. */
  scrapes(): number;
  /** Replaces the system samples. */
  setSystem(samples: StandinSample[]): void;
  /** Serve exactly this text on /metrics instead of the generated one (null: back to generated). */
  setRawMetrics(text: string | null): void;
  /** Answer `route` with this status (null: normal service again). */
  setFailure(status: number | null, route?: StandinRoute): void;
  /** Delay answers on `route` by ms (0: none). */
  setDelay(ms: number, route?: StandinRoute): void;
  /** Forgets received lines and series (counters stay). */
  clear(): void;
  /** Resolves when at least `n` lines were accepted in total; rejects after timeoutMs. */
  waitForLines(n: number, timeoutMs?: number): Promise<void>;
  /** The /metrics text as it would be served now (no scrape counted). */
  render(): string;
  /** Closes the listener and drops open connections: clients get "connection refused". */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  readonly isUp: boolean;
  /** Closes everything; idempotent. */
  stop(): Promise<void>;
}

interface ReceivedSeries {
  name: string;
  labels: Labels;
  value: number;
  timestampMs: number;
  expiresAtMs: number;
}

interface Exported {
  name: string;
  labels: Labels;
  value: number;
  timestampMs: number | null;
  type: 'untyped' | 'gauge' | 'counter';
}

const HELP = 'Telegraf collected metric';
const PRECISIONS: Record<string, Precision> = { n: 'ns', ns: 'ns', u: 'us', us: 'us', ms: 'ms', s: 's', m: 'm', h: 'h' };

export async function startTelegrafStandin(opts: TelegrafStandinOptions = {}): Promise<TelegrafStandin> {
  const now = opts.now ?? Date.now;
  const hostname = opts.hostname ?? 'standin-node';
  const maxLines = opts.maxLines ?? 10_000;
  const maxBodyBytes = opts.maxBodyBytes ?? 32 * 1024 * 1024;
  const listenerTags = opts.listenerTags ?? {};
  const dropCustom = opts.dropCustomOrigin ?? true;
  const expirationMs = opts.expirationMs ?? 60_000;
  const defaultPrecision = opts.defaultPrecision ?? 'ns';
  const parser = new LineProtocolParser();

  let lines: string[] = [];
  const series = new Map<string, ReceivedSeries>();
  let system: Exported[] = [];
  let raw: string | null = null;
  const failure: Record<'write' | 'metrics', number | null> = { write: null, metrics: null };
  const delay: Record<'write' | 'metrics', number> = { write: 0, metrics: 0 };
  const stats: StandinStats = { writeRequests: 0, linesAccepted: 0, linesRejected: 0, linesDropped: 0, bytesReceived: 0, failedRequests: 0, tooLarge: 0, scrapes: 0 };
  const pendingTimers = new Set<NodeJS.Timeout>();
  const lineWaiters = new Set<() => void>();

  function setSystem(samples: StandinSample[]): void {
    const stamp = Math.floor(now() / 1000) * 1000;
    system = samples.map((s) => ({
      name: s.name,
      labels: withDefaults(s.labels ?? {}, { host: hostname }),
      value: s.value,
      timestampMs: s.timestampMs === null ? null : s.timestampMs ?? stamp,
      type: s.type ?? 'untyped',
    }));
  }
  setSystem(opts.system ?? []);

  function routes(route: StandinRoute): Array<'write' | 'metrics'> {
    return route === 'both' ? ['write', 'metrics'] : [route];
  }

  function later(ms: number, fn: () => void): void {
    if (ms <= 0) return fn();
    const t = setTimeout(() => {
      pendingTimers.delete(t);
      fn();
    }, ms);
    pendingTimers.add(t);
  }

  function keepLines(body: string, errorLines: Set<number>): void {
    const all = body.split('\n');
    for (let i = 0; i < all.length; i++) {
      const line = all[i].replace(/\r$/, '');
      const t = line.trim();
      if (t === '' || t.startsWith('#') || errorLines.has(i + 1)) continue;
      lines.push(line);
    }
    if (lines.length > maxLines) {
      const drop = lines.length - maxLines;
      stats.linesDropped += drop;
      lines = lines.slice(drop);
    }
  }

  function handleWrite(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, query: URLSearchParams): void {
    stats.writeRequests++;
    stats.bytesReceived += body.length;
    if (failure.write !== null) {
      stats.failedRequests++;
      return json(res, failure.write, { error: 'stand-in told to fail' });
    }
    let data = body;
    if ((req.headers['content-encoding'] ?? '').toLowerCase() === 'gzip') {
      try {
        data = zlib.gunzipSync(body, { maxOutputLength: maxBodyBytes });
      } catch (err) {
        if (err instanceof RangeError) {
          stats.tooLarge++;
          return json(res, 413, { error: 'http: request body too large' });
        }
        return json(res, 400, { error: `gzip: ${(err as Error).message}` });
      }
    }
    const text = data.toString('utf8');
    const precision = PRECISIONS[query.get('precision') ?? ''] ?? defaultPrecision;
    const receivedAt = now();
    const parsed = parser.parse(text, { precision, defaultTimestampMs: receivedAt });
    for (const s of parsed.samples) {
      const labels = withDefaults(withDefaults(s.labels, listenerTags), { host: hostname });
      const key = seriesKey(s.name, labels);
      series.set(key, { name: s.name, labels, value: s.value, timestampMs: s.timestampMs ?? receivedAt, expiresAtMs: receivedAt + expirationMs });
    }
    stats.linesAccepted += parsed.points ?? 0;
    stats.linesRejected += parsed.errors.length;
    keepLines(text, new Set(parsed.errors.map((e) => e.line)));
    for (const w of lineWaiters) w();
    if (parsed.errors.length === 0) {
      res.writeHead(204, { 'x-influxdb-version': '1.0' });
      res.end();
      return;
    }
    const first = `line ${parsed.errors[0].line}: ${parsed.errors[0].message}`;
    const more = parsed.errors.length - 1;
    const msg = 'partial write: ' + first + (more === 0 ? '' : more === 1 ? ' (and 1 other parse error)' : ` (and ${more} other parse errors)`);
    res.setHeader('x-influxdb-error', msg.replace(/[^\x20-\x7e]/g, '?'));
    json(res, 400, { error: msg });
  }

  function exported(): Exported[] {
    const t = now();
    const out: Exported[] = [...system];
    for (const [key, s] of series) {
      if (expirationMs > 0 && s.expiresAtMs <= t) {
        series.delete(key);
        continue;
      }
      out.push({ name: s.name, labels: s.labels, value: s.value, timestampMs: s.timestampMs, type: 'untyped' });
    }
    return dropCustom ? out.filter((e) => e.labels.mm_origin !== 'custom') : out;
  }

  function render(): string {
    if (raw !== null) return raw;
    const families = new Map<string, { type: Exported['type']; labelNames: Set<string>; samples: Exported[] }>();
    for (const e of exported()) {
      let f = families.get(e.name);
      if (f === undefined) {
        f = { type: e.type, labelNames: new Set(), samples: [] };
        families.set(e.name, f);
      }
      for (const l of Object.keys(e.labels)) f.labelNames.add(l);
      f.samples.push(e);
    }
    const out: string[] = [];
    for (const name of [...families.keys()].sort()) {
      const f = families.get(name)!;
      const labelNames = [...f.labelNames].sort();
      const rows = f.samples.map((e) => {
        const labelText = labelNames.map((l) => `${l}="${escapeLabelValue(e.labels[l] ?? '')}"`).join(',');
        return { sortKey: labelNames.map((l) => e.labels[l] ?? '').join('\u0000'), labelText, e };
      });
      rows.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
      out.push(`# HELP ${name} ${HELP}`, `# TYPE ${name} ${f.type}`);
      for (const { labelText, e } of rows) {
        const ts = e.timestampMs === null ? '' : ' ' + String(Math.floor(e.timestampMs));
        out.push(`${name}${labelText === '' ? '' : '{' + labelText + '}'} ${goFloat(e.value)}${ts}`);
      }
    }
    return out.length === 0 ? '' : out.join('\n') + '\n';
  }

  function handleMetrics(res: http.ServerResponse): void {
    if (failure.metrics !== null) {
      stats.failedRequests++;
      res.writeHead(failure.metrics, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('stand-in told to fail\n');
      return;
    }
    const body = render();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://standin');
    const path = u.pathname;
    if (path === '/write' && req.method === 'POST') {
      const declared = Number(req.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBodyBytes) {
        stats.writeRequests++;
        stats.tooLarge++;
        json(res, 413, { error: 'http: request body too large' }, true);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let tooBig = false;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBodyBytes) tooBig = true;
        else chunks.push(c);
      });
      req.on('end', () => {
        if (tooBig) {
          stats.writeRequests++;
          stats.tooLarge++;
          return json(res, 413, { error: 'http: request body too large' });
        }
        const body = Buffer.concat(chunks);
        later(delay.write, () => handleWrite(req, res, body, u.searchParams));
      });
      req.on('error', () => res.destroy());
      return;
    }
    if (path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
      req.resume();
      stats.scrapes++; // counted on arrival, so a delayed answer is already seen
      later(delay.metrics, () => handleMetrics(res));
      return;
    }
    req.resume();
    if (path === '/ping') {
      res.writeHead(204, { 'x-influxdb-version': '1.0' });
      res.end();
    } else if (path === '/query') {
      json(res, 200, { results: [] });
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('404 page not found\n');
    }
  });

  await listen(server, opts.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  let isUp = true;
  let stopped = false;

  async function close(): Promise<void> {
    if (!isUp) return;
    isUp = false;
    for (const t of pendingTimers) clearTimeout(t);
    pendingTimers.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  return {
    url,
    writeUrl: `${url}/write`,
    metricsUrl: `${url}/metrics`,
    port,
    received: () => [...lines],
    stats: () => ({ ...stats }),
    scrapes: () => stats.scrapes,
    setSystem,
    setRawMetrics(text) {
      raw = text;
    },
    setFailure(status, route = 'both') {
      for (const r of routes(route)) failure[r] = status;
    },
    setDelay(ms, route = 'both') {
      for (const r of routes(route)) delay[r] = ms;
    },
    clear() {
      lines = [];
      series.clear();
    },
    waitForLines(n, timeoutMs = 5000) {
      return new Promise<void>((resolve, reject) => {
        if (stats.linesAccepted >= n) return resolve();
        const check = (): void => {
          if (stats.linesAccepted >= n) {
            clearTimeout(timer);
            lineWaiters.delete(check);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          lineWaiters.delete(check);
          reject(new Error(`Telegraf stand-in: ${stats.linesAccepted} lines after ${timeoutMs} ms, wanted ${n}`));
        }, timeoutMs);
        lineWaiters.add(check);
      });
    },
    render,
    down: close,
    async up() {
      if (isUp || stopped) return;
      await listen(server, port);
      isUp = true;
    },
    get isUp() {
      return isUp;
    },
    async stop() {
      stopped = true;
      await close();
    },
  };
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

function json(res: http.ServerResponse, status: number, body: unknown, closeAfter = false): void {
  const text = JSON.stringify(body);
  const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'x-influxdb-version': '1.0', 'content-length': Buffer.byteLength(text) };
  if (closeAfter) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(text);
}

/** `labels` plus each default tag it lacks (Telegraf's plugin and agent tags never override). */
function withDefaults(labels: Labels, defaults: Labels): Labels {
  let out: Labels | undefined;
  for (const [k, v] of Object.entries(defaults)) {
    if (k in labels) continue;
    out ??= { ...labels };
    out[k] = v;
  }
  return out ?? labels;
}

/**
 * A float as Go's strconv.FormatFloat(v, 'g', -1, 64) writes it (the Prometheus client's format):
 * shortest digits, exponent form when the exponent is below -4 or at least 6 (`1e+06`,
 * `1.5e-05`) with at least two exponent digits, and NaN / +Inf / -Inf.
 */
export function goFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mantissa, expText] = v.toExponential().split('e');
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(v);
}
