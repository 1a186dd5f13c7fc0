/**
 * Large reads against probes — not a test.
 *
 *   node build/bench/large-read.js [--series=100000] [--runs=3] [--agent-main=PATH] [--no-write]
 *
 * An agent (a child process, SYSTEM_METRICS_SOURCE=none, rate limit off) holds `series` custom
 * series of one family, pushed as line protocol. While one client reads every series
 * (GET /api/v1/metrics, /api/v1/metrics/latest, then GET /metrics as Prometheus text and as
 * OpenMetrics), another asks /health back to back over its
 * own connection: the longest /health round trip during the read is how long the read held the
 * agent's event loop (pushes, scrapes and streams wait as long). `--agent-main` runs another build's
 * main.js, to compare. Results go to bench/RESULTS.md under "## Large reads against probes".
 */

import fs from 'node:fs';
import path from 'node:path';
import { freePort, Proc, runBench, waitReady } from './lib/procs';
import { replaceSection } from './lib/results';

const ROOT = path.resolve(__dirname, '..', '..');
const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const SERIES = Number(arg('series') ?? 100_000);
const RUNS = Number(arg('runs') ?? 3);
const MAIN = arg('agent-main') ?? [path.join(ROOT, 'build', 'src', 'main.js'), path.join(ROOT, 'dist', 'main.js')].find((f) => fs.existsSync(f));

interface Reading {
  route: string;
  mb: number;
  readMs: number;
  healthMaxMs: number;
  healthP50Ms: number;
  probes: number;
}

/** The reads: route, and the Accept header when it matters. */
const READS: Array<{ route: string; accept?: string }> = [
  { route: '/api/v1/metrics' },
  { route: '/api/v1/metrics/latest' },
  { route: '/metrics' },
  { route: '/metrics', accept: 'application/openmetrics-text; version=1.0.0' },
];

async function readWhileProbing(url: string, route: string, accept?: string): Promise<Reading> {
  const probes: number[] = [];
  let stop = false;
  const prober = (async () => {
    while (!stop) {
      const t = performance.now();
      await (await fetch(`${url}/health`)).arrayBuffer();
      probes.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  await new Promise((r) => setTimeout(r, 100));
  const t = performance.now();
  const res = await fetch(`${url}${route}`, accept ? { headers: { accept } } : {});
  const body = await res.arrayBuffer();
  const readMs = performance.now() - t;
  if (res.status !== 200) throw new Error(`${route}: ${res.status}`);
  await new Promise((r) => setTimeout(r, 100));
  stop = true;
  await prober;
  const sorted = [...probes].sort((x, y) => x - y);
  return { route: accept ? `${route} (${accept.split(';')[0]})` : route, mb: body.byteLength / 1e6, readMs, healthMaxMs: sorted.at(-1) ?? NaN, healthP50Ms: sorted[sorted.length >> 1] ?? NaN, probes: probes.length };
}

async function main(): Promise<void> {
  if (!MAIN) throw new Error('no build/src/main.js or dist/main.js: compile first');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, METRICS_PORT: String(port), HOST: '127.0.0.1', SYSTEM_METRICS_SOURCE: 'none', TELEGRAF_FORWARD: 'false', RATE_LIMIT_ENABLED: 'false', MAX_METRICS_IN_MEMORY: String(SERIES * 2), LOG_LEVEL: 'error' };
  const agent = new Proc({ name: 'agent', cmd: process.execPath, args: [MAIN, 'agent'], cwd: ROOT, env });
  await waitReady(agent, `${url}/health`);
  for (let from = 0; from < SERIES; from += 10_000) {
    const lines: string[] = [];
    for (let i = from; i < Math.min(SERIES, from + 10_000); i++) lines.push(`big_family,id=s${i},pod=p${i % 50} value=${i}`);
    const r = await fetch(`${url}/write`, { method: 'POST', body: lines.join('\n') });
    if (r.status !== 204) throw new Error(`push: ${r.status} ${await r.text()}`);
  }
  const readings: Reading[] = [];
  for (const { route, accept } of READS) for (let k = 0; k < RUNS; k++) readings.push(await readWhileProbing(url, route, accept));
  await agent.stop();
  for (const r of readings) process.stdout.write(`${r.route}: ${r.mb.toFixed(1)} MB in ${r.readMs.toFixed(0)} ms; /health max ${r.healthMaxMs.toFixed(0)} ms, p50 ${r.healthP50Ms.toFixed(1)} ms (${r.probes} probes)\n`);
  if (argv.includes('--no-write')) return;
  const rows = readings.map((r) => `| \`GET ${r.route}\` | ${r.mb.toFixed(1)} MB | ${r.readMs.toFixed(0)} ms | ${r.healthMaxMs.toFixed(0)} ms | ${r.healthP50Ms.toFixed(1)} ms |`);
  replaceSection(path.join(ROOT, 'bench', 'RESULTS.md'), '## Large reads against probes', [
    '## Large reads against probes',
    '',
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, \`node build/bench/large-read.js --series=${SERIES} --runs=${RUNS}\`, agent ${path.relative(ROOT, MAIN)}: ${SERIES.toLocaleString('en')} series of one family; /health asked back to back during each read (see the header of bench/large-read.ts).`,
    '',
    '| read | answer | read took | longest /health | median /health |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n'));
}

runBench('large-read', main);
