/**
 * SSE connect burst (issue 8, item 5) — not a test. Runs alone:
 *
 *   node build/bench/sse-burst.js [--clients=200] [--series=20000] [--agent-main=PATH --label=NAME]... [--no-write]
 *
 * For each agent build given (default: this tree's build/src/main.js; repeat --agent-main/--label
 * to compare with an older build on the same machine in the same run), a fresh agent child process
 * (SYSTEM_METRICS_SOURCE=none, RATE_LIMIT_ENABLED=false) gets `--series` series (JSON batches of
 * 1000), then:
 *
 * 1. /health is probed back to back from this process over one keep-alive connection for 1 s
 *    (baseline), then all through the burst;
 * 2. the burst: `--clients` unfiltered full-mode SSE clients connect at once from a SEPARATE process
 *    (bench/stream-clients.ts with --connect-batch = clients), which reports READY when every
 *    client holds its first snapshot;
 * 3. the probe runs on for 1 s after READY. /health latency (request written → answer read) over
 *    the burst window: p50/p99/max; agent RSS before, peak (sampled every 20 ms), after; snapshots
 *    built (metrics_manager_sse_events_serialized_total) and time to READY.
 *
 * Results go to bench/RESULTS.md under "## SSE connect burst" (a section this script owns).
 */

import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { freePort, Proc, rssBytes, runBench, sleep, waitReady } from './lib/procs';
import { quantile, replaceSection } from './lib/results';

const ROOT = path.resolve(__dirname, '..', '..');
const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const args = (name: string): string[] => argv.filter((a) => a.startsWith(`--${name}=`)).map((a) => a.slice(name.length + 3));
const CLIENTS = Number(arg('clients') ?? 200);
const SERIES = Number(arg('series') ?? 20_000);
const NO_WRITE = argv.includes('--no-write');
const SECTION = '## SSE connect burst';

function log(msg: string): void {
  process.stderr.write(`bench/sse-burst: ${msg}\n`);
}

interface Run {
  label: string;
  readyMs: number;
  baseline: { p50: number; p99: number; max: number; n: number };
  burst: { p50: number; p99: number; max: number; n: number; over100: number };
  rssMb: { before: number; peak: number; after: number };
  snapshots: number;
  clientsReady: number;
}

async function pushSeries(url: string): Promise<void> {
  for (let start = 0; start < SERIES; start += 1000) {
    const metrics = Array.from({ length: Math.min(1000, SERIES - start) }, (_, k) => {
      const i = start + k;
      return { name: `burst_metric_${i % 40}`, fields: { value: i }, tags: { host: 'node-1', app: `app-${i % 250}`, idx: String(i) } };
    });
    const r = await fetch(`${url}/api/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metrics }) });
    if (r.status !== 202) throw new Error(`push answered ${r.status}: ${await r.text()}`);
  }
}

async function serializedTotal(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics/self`)).text();
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith('metrics_manager_sse_events_serialized_total')) n += Number(line.split(' ').at(-1));
  return n;
}

/** Back-to-back GET /health on one keep-alive socket; latencies (ms) tagged with their start time. */
function healthProbe(url: string): { stop(): Promise<Array<[number, number]>> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const out: Array<[number, number]> = [];
  let running = true;
  const one = () => new Promise<void>((resolve) => {
    const t = performance.now();
    const req = http.get(`${url}/health`, { agent }, (res) => {
      res.resume();
      res.on('end', () => {
        out.push([t, performance.now() - t]);
        resolve();
      });
    });
    req.on('error', () => resolve());
  });
  const loop = (async () => {
    while (running) {
      await one();
      await sleep(2);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      agent.destroy();
      return out;
    },
  };
}

function stats(xs: number[]): { p50: number; p99: number; max: number; n: number } {
  const s = xs.slice().sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s.at(-1) ?? NaN, n: s.length };
}

async function runOne(main: string, label: string): Promise<Run> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const agent = new Proc({
    name: `agent (${label})`, cmd: process.execPath, args: [main, 'agent'], cwd: ROOT,
    env: { PATH: process.env.PATH, METRICS_PORT: String(port), HOST: '127.0.0.1', SYSTEM_METRICS_SOURCE: 'none', TELEGRAF_FORWARD: 'false', RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'error' },
  });
  await waitReady(agent, `${url}/health`);
  log(`${label}: pushing ${SERIES} series`);
  await pushSeries(url);
  await sleep(500);
  const rssBefore = rssBytes(agent.pid);
  const ser0 = await serializedTotal(url);

  const probe = healthProbe(url);
  await sleep(1000);
  const burstStart = performance.now();
  let peak = rssBefore;
  const rssTimer = setInterval(() => (peak = Math.max(peak, rssBytes(agent.pid))), 20);
  const clients = new Proc({
    name: 'sse clients', cmd: process.execPath,
    args: [path.join(__dirname, 'stream-clients.js'), `--url=${url}/metrics/stream`, `--clients=${CLIENTS}`, `--connect-batch=${CLIENTS}`],
  });
  log(`${label}: ${CLIENTS} clients connecting at once`);
  const ready = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`clients not ready after 120 s: ${buf}`)), 120_000);
    clients.child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      if (/READY \d+/.test(buf)) {
        clearTimeout(timer);
        resolve(performance.now() - burstStart);
      } else if (/FAILED/.test(buf)) {
        clearTimeout(timer);
        reject(new Error(buf));
      }
    });
  });
  await sleep(1000);
  const samples = await probe.stop();
  clearInterval(rssTimer);
  const snapshots = (await serializedTotal(url)) - ser0;
  const rssAfter = rssBytes(agent.pid);
  await clients.stop(2000);
  await agent.stop();

  const baseline = samples.filter(([t]) => t < burstStart).map(([, ms]) => ms);
  const burst = samples.filter(([t]) => t >= burstStart).map(([, ms]) => ms);
  const b = stats(burst);
  return {
    label, readyMs: ready, baseline: stats(baseline),
    burst: { ...b, over100: burst.filter((ms) => ms > 100).length },
    rssMb: { before: rssBefore / 1e6, peak: peak / 1e6, after: rssAfter / 1e6 },
    snapshots, clientsReady: CLIENTS,
  };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const mains = args('agent-main');
  const labels = args('label');
  const builds = mains.length > 0 ? mains.map((m, i) => ({ main: path.resolve(m), label: labels[i] ?? `build ${i + 1}` })) : [{ main: path.join(ROOT, 'build', 'src', 'main.js'), label: 'this tree' }];
  const runs: Run[] = [];
  for (const b of builds) runs.push(await runOne(b.main, b.label));

  const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');
  const out: string[] = [SECTION, ''];
  out.push(`Written by \`node build/bench/sse-burst.js\` (runs alone; not part of \`npm run bench\`). ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} · ${os.cpus().length} cores · node ${process.version} · took ${((Date.now() - t0) / 1000).toFixed(0)} s.`, '');
  out.push(`${CLIENTS} unfiltered full-mode SSE clients connect at once (a separate process) to an agent holding ${SERIES.toLocaleString('en')} series; /health is probed back to back over one keep-alive connection from 1 s before the burst until 1 s after every client holds its first snapshot. See the header of bench/sse-burst.ts.`, '');
  out.push('| agent | /health before: p50 / p99 / max ms | /health during burst: p50 / p99 / max ms | probes > 100 ms | all clients have a snapshot after | snapshots built | RSS MB before → peak → after |');
  out.push('|---|---|---|---|---|---|---|');
  for (const r of runs) {
    out.push(`| ${r.label} | ${f(r.baseline.p50)} / ${f(r.baseline.p99)} / ${f(r.baseline.max)} | ${f(r.burst.p50)} / ${f(r.burst.p99)} / ${f(r.burst.max)} (${r.burst.n} probes) | ${r.burst.over100} | ${f(r.readyMs / 1000, 2)} s | ${r.snapshots} | ${f(r.rssMb.before, 0)} → ${f(r.rssMb.peak, 0)} → ${f(r.rssMb.after, 0)} |`);
  }
  out.push('', '- Issue 8\'s figure for the same burst before the change: /health took 3–8.9 s.');
  out.push('- Target: /health p99 ≤ 100 ms during the burst.');
  const text = out.join('\n');
  process.stdout.write(text + '\n');
  if (!NO_WRITE) replaceSection(path.join(ROOT, 'bench', 'RESULTS.md'), SECTION, text);
}

runBench('sse-burst', main);
