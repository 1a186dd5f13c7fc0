/**
 * Load generator for bench/stream.ts: N raw HTTP SSE connections in ONE process (not the agent's),
 * measuring delivery lag = (time the whole event has arrived) − (the event's `timestamp`, which is
 * the agent's clock when it sent it; same machine, same clock).
 *
 *   node build/bench/stream-clients.js --url=http://127.0.0.1:9090/metrics/stream --clients=1000
 *
 * Protocol with the parent: stdout lines and two signals.
 *   → `READY <n>` once every client has its first event (or `FAILED <why>`)
 *   ← SIGUSR1     lags are recorded from now on
 *   ← SIGUSR2     → `RESULT {json}` and exit
 *
 * To stay cheap at ~100 MB/s it neither decodes nor JSON-parses events: it searches the raw
 * chunks for `data: {"timestamp":<digits>` and for the blank line that ends the event (JSON never
 * holds a raw line feed, so the first "\n\n" after it is the end).
 */

import http from 'node:http';

const args = new Map(process.argv.slice(2).map((a) => {
  const i = a.indexOf('=');
  return i < 0 ? [a.replace(/^--/, ''), 'true'] : [a.slice(2, i), a.slice(i + 1)];
}));
const URL_ = args.get('url') ?? 'http://127.0.0.1:9090/metrics/stream';
const N = Number(args.get('clients') ?? 1000);
const CONNECT_BATCH = Number(args.get('connect-batch') ?? 100);

const HEAD = Buffer.from('data: {"timestamp":', 'latin1');
const END = Buffer.from('\n\n', 'latin1');
const COMMA = 0x2c;

/**
 * Per connection: finds each event's timestamp and its end in the raw chunks (Buffers, no string
 * decoding: the agent's bytes are only searched, never copied, except a few bytes carried over a
 * chunk boundary).
 */
class Conn {
  /** The last bytes of the previous chunk, when a pattern may straddle the boundary. */
  carry: Buffer | null = null;
  inEvent = false;
  ts = 0;
  first = false;
  events = 0;
  bytes = 0;
  closed = false;

  feed(chunk: Buffer): void {
    this.bytes += chunk.length;
    let buf = chunk;
    if (this.carry) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    let pos = 0;
    for (;;) {
      if (!this.inEvent) {
        const i = buf.indexOf(HEAD, pos);
        if (i < 0) {
          this.carry = Buffer.from(buf.subarray(Math.max(pos, buf.length - HEAD.length - 20)));
          return;
        }
        const start = i + HEAD.length;
        const comma = buf.indexOf(COMMA, start);
        if (comma < 0) {
          this.carry = Buffer.from(buf.subarray(i));
          return;
        }
        this.ts = Number(buf.toString('latin1', start, comma));
        this.inEvent = true;
        pos = comma;
      }
      const end = buf.indexOf(END, pos);
      if (end < 0) {
        if (buf[buf.length - 1] === 0x0a) this.carry = Buffer.from([0x0a]);
        return;
      }
      this.inEvent = false;
      pos = end + 2;
      onEvent(this, Date.now() - this.ts);
      if (pos >= buf.length) return;
    }
  }
}

const conns: Conn[] = [];
let measuring = false;
let lags: number[] = [];
let firstEvents = 0;
let ready = false;
let disconnects = 0;
let eventsInWindow = 0;
let bytesAtStart = 0;
let cpuAtStart = process.cpuUsage();
let tStart = 0;

function onEvent(c: Conn, lag: number): void {
  c.events++;
  if (!c.first) {
    c.first = true;
    if (++firstEvents === N && !ready) {
      ready = true;
      process.stdout.write(`READY ${N}\n`);
    }
  }
  if (measuring) {
    lags.push(lag);
    eventsInWindow++;
  }
}

function connect(): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = new Conn();
    conns.push(c);
    const req = http.get(URL_, { agent: false, headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      res.on('data', (chunk: Buffer) => c.feed(chunk));
      res.on('close', () => {
        if (!c.closed) {
          c.closed = true;
          disconnects++;
        }
      });
      resolve();
    });
    req.on('error', reject);
  });
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  return xs[Math.min(xs.length - 1, Math.floor(xs.length * p))];
}

async function main(): Promise<void> {
  for (let i = 0; i < N; i += CONNECT_BATCH) {
    await Promise.all(Array.from({ length: Math.min(CONNECT_BATCH, N - i) }, () => connect()));
  }
  process.on('SIGUSR1', () => {
    measuring = true;
    lags = [];
    eventsInWindow = 0;
    bytesAtStart = conns.reduce((n, c) => n + c.bytes, 0);
    cpuAtStart = process.cpuUsage();
    tStart = Date.now();
  });
  process.on('SIGUSR2', () => {
    measuring = false;
    const wallS = (Date.now() - tStart) / 1000;
    const cpu = process.cpuUsage(cpuAtStart);
    const sorted = lags.slice().sort((a, b) => a - b);
    const bytes = conns.reduce((n, c) => n + c.bytes, 0) - bytesAtStart;
    const result = {
      clients: N,
      open: conns.filter((c) => !c.closed).length,
      disconnects,
      seconds: wallS,
      events: eventsInWindow,
      eventsPerClientPerS: eventsInWindow / N / wallS,
      mbPerS: bytes / 1e6 / wallS,
      lagMs: { p50: pct(sorted, 0.5), p90: pct(sorted, 0.9), p99: pct(sorted, 0.99), max: sorted.at(-1) ?? NaN },
      loadgenCpuCores: (cpu.user + cpu.system) / 1e6 / wallS,
    };
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`, () => process.exit(0));
  });
  // Keep running until told to stop (the sockets keep the loop alive; this is for the no-client case).
  setInterval(() => {}, 60_000);
}

main().catch((e: unknown) => {
  process.stdout.write(`FAILED ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
