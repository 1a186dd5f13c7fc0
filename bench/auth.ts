/**
 * Authentication overhead (issue 11) — not a test. Runs alone:
 *
 *   node build/bench/auth.js [--seconds=8] [--connections=16] [--no-write]
 *
 * One agent child process per mode (SYSTEM_METRICS_SOURCE=none, RATE_LIMIT_ENABLED=false), the
 * same build, the same load from this process (keep-alive connections, each posting back to back):
 *
 * - `none`: AUTH_MODE=none, no Authorization header (the peer every other row is compared with);
 * - `token`: AUTH_MODE=token, a 3-token file, every request with a valid write token, so the
 *   token lookup and the identity stamping (`namespace`, `service_account` on every sample) run;
 * - `kubernetes`: AUTH_MODE=kubernetes against the FAKE API server of the tests (in this process),
 *   one ServiceAccount token: after the first request both reviews are cache hits.
 *
 * Two bodies: one line-protocol line (1 sample: the per-request cost) and 100 lines of 3 fields
 * (300 samples: the per-sample cost of stamping). Reported: requests/s, samples/s, client-side
 * latency p50/p99 and the agent's CPU time per request (read from /proc, so the figure holds on a
 * shared machine better than throughput does), and for kubernetes the reviews the fake received.
 * Results go to bench/RESULTS.md under "## Authentication overhead" (a section this script owns).
 */

import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLUSTER_ROLES, RBAC_RESOURCES, ROLE_BINDINGS } from '../test/helpers/fake-kube/reviews';
import { FakeKubeApiServer } from '../test/helpers/fake-kube/server';
import { cpuSeconds, freePort, Proc, runBench, waitReady } from './lib/procs';
import { quantile, replaceSection } from './lib/results';

const ROOT = path.resolve(__dirname, '..', '..');
const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const SECONDS = Number(arg('seconds') ?? 8);
const CONNECTIONS = Number(arg('connections') ?? 16);
const NO_WRITE = argv.includes('--no-write');
const SECTION = '## Authentication overhead';
const TOKEN = 'bench-write-token-0123456789abcdef';

function log(msg: string): void {
  process.stderr.write(`bench/auth: ${msg}\n`);
}

interface Load {
  requests: number;
  failures: number;
  seconds: number;
  p50: number;
  p99: number;
  cpuUsPerRequest: number;
}

function body(lines: number, round: number): string {
  let out = '';
  for (let i = 0; i < lines; i++) out += `bench_auth,host=node-1,idx=${i} a=${round + i},b=${i * 2},c=${round % 97}\n`;
  return out;
}

/** CONNECTIONS loops posting `lines`-line bodies to /write for SECONDS; latency and agent CPU. */
async function load(url: string, pid: number, lines: number, headers: Record<string, string>): Promise<Load> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const bodies = Array.from({ length: 16 }, (_, r) => Buffer.from(body(lines, r)));
  const lat: number[] = [];
  let requests = 0;
  let failures = 0;
  const post = (b: Buffer) => new Promise<void>((resolve) => {
    const t = performance.now();
    const req = http.request(`${url}/write`, { method: 'POST', agent, headers: { 'content-type': 'text/plain', 'content-length': b.length, ...headers } }, (res) => {
      res.resume();
      res.on('end', () => {
        lat.push(performance.now() - t);
        requests++;
        if (res.statusCode !== 204) failures++;
        resolve();
      });
    });
    req.on('error', () => {
      failures++;
      resolve();
    });
    req.end(b);
  });
  // Warm-up: JIT, caches (and the first reviews in kubernetes mode).
  const warmEnd = performance.now() + 1000;
  await Promise.all(Array.from({ length: CONNECTIONS }, async (_, c) => {
    for (let i = c; performance.now() < warmEnd; i++) await post(bodies[i % bodies.length]!);
  }));
  lat.length = 0;
  requests = 0;
  failures = 0;
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  await Promise.all(Array.from({ length: CONNECTIONS }, async (_, c) => {
    for (let i = c; performance.now() < end; i++) await post(bodies[i % bodies.length]!);
  }));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(pid) - cpu0;
  agent.destroy();
  const s = lat.sort((a, b) => a - b);
  return { requests, failures, seconds, p50: quantile(s, 0.5), p99: quantile(s, 0.99), cpuUsPerRequest: (cpu * 1e6) / Math.max(1, requests) };
}

interface Row {
  mode: string;
  lines: number;
  r: Load;
  reviews?: string;
}

async function runMode(mode: 'none' | 'token' | 'kubernetes', dir: string, fake: FakeKubeApiServer): Promise<Row[]> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH, HOME: dir, METRICS_PORT: String(port), HOST: '127.0.0.1', SYSTEM_METRICS_SOURCE: 'none', TELEGRAF_FORWARD: 'false',
    RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'error', AUTH_MODE: mode,
  };
  let headers: Record<string, string> = {};
  if (mode === 'token') {
    const file = path.join(dir, 'tokens');
    fs.writeFileSync(file, `reader-token-0123456789abcdef read grafana\n${TOKEN} write team-a/pusher\nadmin-token-0123456789abcdef00 read,write,delete ops\n`);
    Object.assign(env, { AUTH_TOKENS_FILE: file });
    headers = { authorization: `Bearer ${TOKEN}` };
  }
  if (mode === 'kubernetes') {
    const kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters: [{name: fake, cluster: {server: "${fake.url}", insecure-skip-tls-verify: true}}]\nusers: [{name: agent, user: {token: bench-agent}}]\ncontexts: [{name: fake, context: {cluster: fake, user: agent}}]\ncurrent-context: fake\n`);
    fake.tokens.add('bench-agent');
    Object.assign(env, { KUBECONFIG: kubeconfig, AUTH_TOKEN_AUDIENCES: 'metrics-manager' });
    headers = { authorization: `Bearer ${fake.serviceAccounts.issue('team-a', 'pusher', { audiences: ['metrics-manager'] })}` };
  }
  const agent = new Proc({ name: `agent (${mode})`, cmd: process.execPath, args: [path.join(ROOT, 'build', 'src', 'main.js'), 'agent'], cwd: ROOT, env });
  await waitReady(agent, `${url}/health`);
  const rows: Row[] = [];
  try {
    for (const lines of [1, 100]) {
      const since = fake.requests.length;
      log(`${mode}: ${lines}-line bodies, ${CONNECTIONS} connections, ${SECONDS} s`);
      const r = await load(url, agent.pid, lines, headers);
      const counts = fake.requestCounts(since);
      const reviews = mode === 'kubernetes' ? `${counts.get('create tokenreviews') ?? 0} / ${counts.get('create subjectaccessreviews') ?? 0}` : undefined;
      rows.push({ mode, lines, r, reviews });
    }
  } finally {
    await agent.stop();
  }
  return rows;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const load1 = os.loadavg()[0];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-bench-auth-'));
  const fake = new FakeKubeApiServer({ token: 'bench-admin' });
  await fake.start();
  // What the chart creates and what a namespace binds (test/chart/auth.test.ts checks the chart's roles).
  for (const r of RBAC_RESOURCES) fake.addResource(r);
  fake.create(CLUSTER_ROLES, { metadata: { name: 'metrics-manager-pusher' }, rules: [{ apiGroups: ['metricsmanager.dev'], resources: ['metrics'], verbs: ['create'] }] });
  fake.create(ROLE_BINDINGS, {
    metadata: { name: 'push', namespace: 'team-a' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'metrics-manager-pusher' },
    subjects: [{ kind: 'ServiceAccount', name: 'pusher', namespace: 'team-a' }],
  });
  const rows: Row[] = [];
  try {
    // Each mode twice, interleaved, so a burst of others' load on the machine hits them alike.
    for (let round = 0; round < 2; round++) for (const mode of ['none', 'token', 'kubernetes'] as const) rows.push(...(await runMode(mode, dir, fake)));
  } finally {
    await fake.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const failed = rows.filter((r) => r.r.failures > 0);
  if (failed.length > 0) throw new Error(`requests failed: ${failed.map((r) => `${r.mode}/${r.lines} lines: ${r.r.failures} of ${r.r.requests}`).join(', ')}`);
  const best = (mode: string, lines: number) => rows.filter((r) => r.mode === mode && r.lines === lines).sort((a, b) => a.r.cpuUsPerRequest - b.r.cpuUsPerRequest)[0]!;
  const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');
  const out: string[] = [SECTION, ''];
  out.push(`Written by \`node build/bench/auth.js\` (runs alone; not part of \`npm run bench\`). ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} · ${os.cpus().length} cores · load average ${f(load1, 2)} at start${load1 > 1 ? ' (measured while the machine was shared)' : ''} · node ${process.version} · took ${((Date.now() - t0) / 1000).toFixed(0)} s.`, '');
  out.push(`POST /write from ${CONNECTIONS} keep-alive connections in this process for ${SECONDS} s per cell, after 1 s of warm-up; each mode run twice (interleaved), the run with less agent CPU per request shown. The peer is the same agent with AUTH_MODE=none. See the header of bench/auth.ts.`, '');
  out.push('| mode | body | requests/s | samples/s | latency p50 / p99 ms | agent CPU µs / request | vs none (CPU / request) | failures | reviews (token / access) |');
  out.push('|---|---|---|---|---|---|---|---|---|');
  for (const lines of [1, 100]) {
    const base = best('none', lines);
    for (const mode of ['none', 'token', 'kubernetes']) {
      const { r, reviews } = best(mode, lines);
      const rps = r.requests / r.seconds;
      out.push(`| ${mode} | ${lines} line${lines > 1 ? 's' : ''} (${lines * 3} samples) | ${f(rps, 0)} | ${f(rps * lines * 3, 0)} | ${f(r.p50, 2)} / ${f(r.p99, 2)} | ${f(r.cpuUsPerRequest, 0)} | ${f(r.cpuUsPerRequest / base.r.cpuUsPerRequest, 2)}× | ${r.failures} | ${reviews ?? '–'} |`);
    }
  }
  out.push('', '- The 100-line rows show the per-sample cost of the identity labels: every series of an authenticated push gets a copied labels object and loses the line-protocol parser\'s cached series key, so the store builds and hashes a new key per sample. Caching the stamped labels and key per parsed series would remove most of it (not done yet).');
  const text = out.join('\n');
  process.stdout.write(text + '\n');
  if (!NO_WRITE) replaceSection(path.join(ROOT, 'bench', 'RESULTS.md'), SECTION, text);
}

runBench('auth', main);
