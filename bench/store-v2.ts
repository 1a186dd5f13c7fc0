/**
 * Store v2 memory targets (issue 9), run alone, never by `npm run bench`'s default set:
 *
 *   npx tsc -p tsconfig.test.json && node build/bench/store-v2.js [--only=pushgateway|hour|accounting]
 *
 * (a) `pushgateway`: RSS of the agent holding 100,000 single-point series pushed over HTTP as line
 *     protocol, against the Prometheus Pushgateway holding the same series (Prometheus text, one
 *     PUT per group of 1,000), both fresh processes in the same run. Target: agent ≤ 0.5×.
 * (b) `hour`: one hour of 1 s history for this node's system series plus 10,000 custom series,
 *     time-compressed: the series set of the built-in collectors is read from a short real run,
 *     then a fresh agent (collectors off) gets 3,600 one-second steps of all those series over HTTP
 *     line protocol with explicit millisecond timestamps, as fast as it takes them. History is
 *     windowed by each series' own sample time, so the store ends up holding exactly what an hour
 *     of real time would leave. Target: RSS ≤ 128 MiB. `--container=256` (or 512) sizes the heap
 *     as the image's entry script would in a container of that limit; `--step=1` sends one second
 *     of all series per request (as a node pushing every second would) instead of 10.
 *     `--cgroup=512` instead runs the agent as the image does: through bin/metrics-manager inside a
 *     real memory cgroup of that limit (root; the pushgateway scenario's agent too), and reports
 *     the group's charge and OOM kills beside RSS.
 *
 * (c) `accounting`: whether the store's byte accounting matches memory, per input format. For each
 *     of line protocol (/write), JSON batch (/api/v1/metrics) and OTLP protobuf (/v1/metrics) a
 *     fresh agent started with `node --expose-gc` (test/helpers/agent-process.ts) gets the same
 *     100,000 new single-point series (after a warm-up of 5,000 others), and /api/health is read
 *     before and after: with --expose-gc it collects garbage first, so heap used + external is
 *     live memory. Reported: the growth of store bytes + parser cache bytes against the growth of
 *     heap used + external, and their ratio. Target: within ±15 %.
 *     `--formats=lp,json,otlp` picks formats, `--series=N` the count.
 *
 * The agent is build/src/main.js (the test build), with SYSTEM_METRICS_SOURCE=none unless said.
 * `--node=<path>` runs the agents of (a) and (b) under that Node binary (default: the one running
 * this script; the image ships Node 24, the dev machine's may be 20); with `--cgroup` its directory
 * goes first on the entry script's PATH. The version each agent really ran is in the result.
 * RSS is VmRSS after the feed, then after 10 s idle (`--settle=<s>` for longer; the lower of the two
 * reported as "settled").
 * Prints a summary and one `BENCH_RESULT {json}` line.
 */

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, Proc, rssBytes, rssParts, runBench, sleep, waitReady, which } from './lib/procs';
import { baseEnv, ROOT } from './lib/targets';
import { pushBatchJson, pushSeries } from './lib/bodies';
import { startAgentProcess } from '../test/helpers/agent-process';
import { double, fixed64, keyValue, len, str } from '../test/helpers/otlp-body';
import { heapRestart } from '../src/memory/heap-size';
import { MemoryCgroup, memoryCgroupSupport } from '../test/helpers/memory-cgroup';

const MAIN_JS = path.join(ROOT, 'build', 'src', 'main.js');
/** The image's entry script; with METRICS_MANAGER_DIST=build/src it sizes V8 from the cgroup it runs in. */
const ENTRY = path.join(ROOT, 'bin', 'metrics-manager');
const MiB = 1024 * 1024;
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
/** Node flags for the agent of the `pushgateway` scenario (`--node-args="--max-semi-space-size=1 ..."`), to measure one. */
const agentNodeArgs = (process.argv.find((a) => a.startsWith('--node-args='))?.slice(12) ?? '').split(' ').filter(Boolean);

function say(msg: string): void {
  process.stderr.write(`store-v2: ${msg}\n`);
}

/**
 * `--cgroup=<MiB>`: the agent runs as in the image, through bin/metrics-manager inside a real memory
 * cgroup of that limit (v1 or v2, needs root), so the entry script sizes V8 from the limit it reads
 * itself and the agent derives its store budget and memory guard from it. Node flags given to the
 * scenario are then passed in NODE_OPTIONS (which the entry script leaves alone unless they size
 * the old space).
 */
const cgroupMiB = Number(process.argv.find((a) => a.startsWith('--cgroup='))?.slice(9) ?? 0);

/** `--node=<path>`: the Node binary the agents run under (the entry script finds it first on its PATH). */
const agentNode = path.resolve(process.argv.find((a) => a.startsWith('--node='))?.slice(7) ?? process.execPath);

/** The binary a running agent really is (through the entry script it is whatever `node` PATH gave) and its version. */
function nodeOf(pid: number): { path: string; version: string } {
  const exe = fs.readlinkSync(`/proc/${pid}/exe`);
  return { path: exe, version: execFileSync(exe, ['--version'], { encoding: 'utf8' }).trim() };
}

interface Agent { proc: Proc; url: string; cgroup?: MemoryCgroup }

/** Agents started and not yet stopped: a failed run stops them and removes their memory cgroups. */
const running = new Set<Agent>();

async function startAgent(label: string, env: Record<string, string>, nodeArgs: string[] = [], inCgroup = false): Promise<Agent> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const fullEnv: NodeJS.ProcessEnv = { ...baseEnv(), METRICS_PORT: String(port), HOST: '127.0.0.1', RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'error', TELEGRAF_FORWARD: 'false', SYSTEM_METRICS_SOURCE: 'none', ...env };
  let proc: Proc;
  let cgroup: MemoryCgroup | undefined;
  if (inCgroup && cgroupMiB > 0) {
    const support = memoryCgroupSupport();
    if (!support.ok) throw new Error(`--cgroup: memory cgroups unavailable: ${support.why}`);
    cgroup = MemoryCgroup.create('store-v2-bench', cgroupMiB * MiB);
    if (nodeArgs.length > 0) fullEnv.NODE_OPTIONS = nodeArgs.join(' ');
    // The shell joins the group, then execs the entry script, which execs Node: one pid throughout.
    proc = new Proc({
      name: label, cmd: '/bin/sh', args: ['-c', 'echo $$ > "$0" && exec "$@"', path.join(cgroup.dir, 'cgroup.procs'), ENTRY, 'agent'], cwd: ROOT,
      env: { ...fullEnv, METRICS_MANAGER_DIST: path.join(ROOT, 'build', 'src'), PATH: `${path.dirname(agentNode)}:${fullEnv.PATH ?? ''}` },
    });
  } else {
    proc = new Proc({ name: label, cmd: agentNode, args: [...nodeArgs, MAIN_JS, 'agent'], cwd: ROOT, env: fullEnv });
  }
  try {
    await waitReady(proc, `${url}/health`, 60_000);
  } catch (err) {
    await proc.stop();
    cgroup?.remove();
    throw err;
  }
  say(`${label}: ${JSON.stringify(nodeOf(proc.pid))}`);
  const agent = { proc, url, cgroup };
  running.add(agent);
  return agent;
}

/** Stops the agent; with a cgroup, reports what the group was charged (its peak includes page cache) and removes it. */
async function stopAgent(agent: Agent): Promise<Record<string, unknown> | undefined> {
  running.delete(agent);
  const cg = agent.cgroup;
  const seen = cg ? { limitMiB: cgroupMiB, usageMiB: cg.usageBytes() / MiB, peakMiB: (cg.peakBytes() ?? NaN) / MiB, oomKills: cg.oomKills() } : undefined;
  await agent.proc.stop();
  cg?.remove();
  return seen;
}

/** The heap sizing the agent reports (/api/v1/config), to show what the entry script chose. */
async function heapSizingOf(url: string): Promise<unknown> {
  const cfg = (await (await fetch(`${url}/api/v1/config`)).json()) as Record<string, unknown>;
  return (cfg.memory as Record<string, unknown> | undefined) ?? cfg;
}

/** 503s the agent's memory guard answered and the feed waited out (Retry-After), as a client would. */
let shedRetries = 0;

async function post(url: string, body: string, type = 'text/plain'): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': type }, body });
    const retryAfter = Number(r.headers.get('retry-after'));
    if (r.status === 503 && retryAfter > 0 && attempt < 30) {
      await r.arrayBuffer();
      shedRetries++;
      await new Promise((res) => setTimeout(res, retryAfter * 1000));
      continue;
    }
    if (r.status >= 300) throw new Error(`${url}: ${r.status} ${await r.text()}`);
    await r.arrayBuffer();
    return;
  }
}

/** The agent's own view of its memory: V8 heap and external (from /metrics/self), store and parser cache (from /api/health). */
async function memoryView(url: string): Promise<Record<string, number>> {
  const self = await (await fetch(`${url}/metrics/self`)).text();
  const g = (name: string) => Number(new RegExp(`^metrics_manager_${name} (\\S+)$`, 'm').exec(self)?.[1]) / MiB;
  const health = (await (await fetch(`${url}/api/health`)).json()) as { metrics_store: { bytes: number; total_metrics: number }; memory: { parser_cache_bytes: number } };
  return {
    heapUsedMiB: g('nodejs_heap_size_used_bytes'), heapTotalMiB: g('nodejs_heap_size_total_bytes'), externalMiB: g('nodejs_external_memory_bytes'),
    storeMiB: health.metrics_store.bytes / MiB, parserCacheMiB: health.memory.parser_cache_bytes / MiB, series: health.metrics_store.total_metrics,
  };
}

/** `--settle=<s>`: how long the target idles after its feed before the settled reading (default 10). */
const SETTLE_S = Number(process.argv.find((a) => a.startsWith('--settle='))?.slice(9) ?? 10);

/** RSS now, and after `idleS` seconds of nothing (the lower one is the settled figure). */
async function settledRss(pid: number, idleS = SETTLE_S): Promise<{ afterFeed: number; settled: number; anonMiB: number; fileMiB: number }> {
  const afterFeed = rssBytes(pid);
  await sleep(idleS * 1000);
  const parts = rssParts(pid);
  return { afterFeed, settled: Math.min(afterFeed, rssBytes(pid)), anonMiB: parts.anon / MiB, fileMiB: parts.file / MiB };
}

const SERIES_A = 100_000;
const PER_REQUEST = 1000;
/** Series i: measurement m_<i mod 100>, tags host and id: the same names on both sides. */
const name = (i: number) => `m_${i % 100}`;

async function pushgatewayScenario(): Promise<Record<string, unknown>> {
  const pgBin = which('prometheus-pushgateway', ['/usr/bin/prometheus-pushgateway']);
  if (!pgBin) throw new Error('prometheus-pushgateway is missing (scripts/setup-test-deps.sh installs it)');
  const agent = await startAgent('agent', {}, agentNodeArgs, true);
  const sizing = agent.cgroup ? await heapSizingOf(agent.url) : undefined;
  await sleep(2000);
  const agentBase = rssBytes(agent.proc.pid);
  const agentIdle = await memoryView(agent.url);
  const agentNodeRan = nodeOf(agent.proc.pid);
  const t0 = Date.now();
  for (let from = 0; from < SERIES_A; from += PER_REQUEST) {
    let body = '';
    for (let i = from; i < from + PER_REQUEST; i++) body += `${name(i)},host=node-${i % 50},id=s${i} value=${(i % 977) / 10}\n`;
    await post(`${agent.url}/write`, body);
  }
  const agentFeedS = (Date.now() - t0) / 1000;
  if (process.argv.includes('--agent-only')) {
    const agentRss = await settledRss(agent.proc.pid);
    const loaded = await memoryView(agent.url);
    const cgroup = await stopAgent(agent);
    return { series: SERIES_A, agent: { node: agentNodeRan, nodeArgs: agentNodeArgs, cgroup, sizing, baseRssMiB: agentBase / MiB, afterFeedRssMiB: agentRss.afterFeed / MiB, settledRssMiB: agentRss.settled / MiB, settledAnonMiB: agentRss.anonMiB, settledFileMiB: agentRss.fileMiB, feedSeconds: agentFeedS, idle: agentIdle, loaded } };
  }
  const agentRss = await settledRss(agent.proc.pid);
  // Read after the RSS (the answers take memory of their own).
  const agentLoaded = await memoryView(agent.url);
  const agentCgroup = await stopAgent(agent);

  const port = await freePort();
  const pgUrl = `http://127.0.0.1:${port}`;
  const pg = new Proc({ name: 'pushgateway', cmd: pgBin, env: baseEnv(), args: [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file=', '--log.level=error'] });
  await waitReady(pg, `${pgUrl}/-/ready`, 60_000);
  const pgBase = rssBytes(pg.pid);
  const t1 = Date.now();
  for (let from = 0; from < SERIES_A; from += PER_REQUEST) {
    // One group per 1,000 series (a PUT replaces its group); each family needs its TYPE once per group.
    const byName = new Map<string, string[]>();
    for (let i = from; i < from + PER_REQUEST; i++) {
      const lines = byName.get(name(i)) ?? [];
      lines.push(`${name(i)}{host="node-${i % 50}",id="s${i}"} ${(i % 977) / 10}`);
      byName.set(name(i), lines);
    }
    let body = '';
    for (const [n, lines] of byName) body += `# TYPE ${n} untyped\n${lines.join('\n')}\n`;
    const r = await fetch(`${pgUrl}/metrics/job/bench/instance/g${from / PER_REQUEST}`, { method: 'PUT', headers: { 'content-type': 'text/plain; version=0.0.4' }, body });
    if (r.status >= 300) throw new Error(`pushgateway: ${r.status} ${await r.text()}`);
    await r.arrayBuffer();
  }
  const pgFeedS = (Date.now() - t1) / 1000;
  const scraped = (await (await fetch(`${pgUrl}/metrics`)).text()).split('\n').filter((l) => l.startsWith('m_')).length;
  const pgRss = await settledRss(pg.pid);
  await pg.stop();
  return {
    series: SERIES_A,
    agent: { node: agentNodeRan, nodeArgs: agentNodeArgs, cgroup: agentCgroup, sizing, baseRssMiB: agentBase / MiB, afterFeedRssMiB: agentRss.afterFeed / MiB, settledRssMiB: agentRss.settled / MiB, settledAnonMiB: agentRss.anonMiB, settledFileMiB: agentRss.fileMiB, feedSeconds: agentFeedS, idle: agentIdle, loaded: agentLoaded },
    pushgateway: { baseRssMiB: pgBase / MiB, afterFeedRssMiB: pgRss.afterFeed / MiB, settledRssMiB: pgRss.settled / MiB, settledAnonMiB: pgRss.anonMiB, settledFileMiB: pgRss.fileMiB, feedSeconds: pgFeedS, seriesScraped: scraped },
    ratio: agentRss.settled / pgRss.settled,
    ratioOfGrowth: (agentRss.settled - agentBase) / (pgRss.settled - pgBase),
  };
}

interface SeriesDef {
  line: string;
  kind: 'wander' | 'counter' | 'constant' | 'float';
}

/** The system series of this node: one short run of the built-in collectors, read back as name + labels. */
async function systemSeriesOfThisNode(): Promise<SeriesDef[]> {
  const a = await startAgent('agent-collectors', { SYSTEM_METRICS_SOURCE: 'builtin' });
  await sleep(5000);
  const body = (await (await fetch(`${a.url}/api/v1/metrics`)).json()) as { metrics: Array<{ name: string; tags: Record<string, string>; source?: string }> };
  await a.proc.stop();
  const out: SeriesDef[] = [];
  for (const m of body.metrics) {
    const tags = Object.entries(m.tags).sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, v]) => `,${k}=${v.replace(/[ ,=]/g, '\\$&')}`).join('');
    // Collector values are mostly floats with many decimals (percentages, rates): XOR's hard case.
    out.push({ line: `${m.name}${tags}`, kind: /_total$|_seconds$|bytes$/.test(m.name) ? 'counter' : 'float' });
  }
  return out;
}

const HOUR_S = 3600;
const CUSTOM_B = 10_000;
/** Seconds of all series per POST (`--step=N`; 1 is what a node pushing every second sends). */
const STEP_SECONDS_PER_REQUEST = Number(process.argv.find((a) => a.startsWith('--step='))?.slice(7) ?? 10);

async function hourScenario(): Promise<Record<string, unknown>> {
  const system = await systemSeriesOfThisNode();
  say(`${system.length} system series on this node`);
  const custom: SeriesDef[] = [];
  const kinds: SeriesDef['kind'][] = ['wander', 'counter', 'constant'];
  for (let i = 0; i < CUSTOM_B; i++) custom.push({ line: `app_${i % 40},pod=p${i % 500},id=c${i}`, kind: kinds[i % 3] });
  const all = [...system, ...custom];
  // MAX_STORE_BYTES high (without --cgroup), so no history is trimmed for the budget: the hour must be held in full.
  // --container=<MiB>: the heap sized as bin/metrics-manager sizes it in a container of that limit,
  // and the memory guard working from that limit (MEMORY_LIMIT_BYTES), as in the image.
  const containerMiB = Number(process.argv.find((a) => a.startsWith('--container='))?.slice(12) ?? 0);
  const entryArgs = containerMiB > 0 && cgroupMiB === 0 ? heapRestart({ execArgv: [], limitBytes: containerMiB * MiB, limitSource: 'bench' })!.nodeArgs : [];
  const sized: { nodeArgs: string[]; env: Record<string, string> } = { nodeArgs: entryArgs, env: containerMiB > 0 && cgroupMiB === 0 ? { MEMORY_LIMIT_BYTES: String(containerMiB * MiB) } : {} };
  // --node-arg=X and --agent-env=K=V (repeatable) try other settings on top.
  for (const a of process.argv) {
    if (a.startsWith('--node-arg=')) sized.nodeArgs.push(a.slice(11));
    if (a.startsWith('--agent-env=')) sized.env[a.slice(12, a.indexOf('=', 12))] = a.slice(a.indexOf('=', 12) + 1);
  }
  // In a real cgroup the budget is the one the agent derives from the limit, as in the image (the
  // hour must then fit it: historyTrimmedForBudget says whether it did).
  const budget: Record<string, string> = cgroupMiB > 0 ? {} : { MAX_STORE_BYTES: String(1024 * MiB) };
  const agent = await startAgent('agent', { ...budget, HISTORY_SECONDS: '3600', METRICS_RETENTION_SECONDS: '86400', ...sized.env }, sized.nodeArgs, true);
  const sizing = agent.cgroup ? await heapSizingOf(agent.url) : undefined;
  const base = rssBytes(agent.proc.pid);
  const nodeRan = nodeOf(agent.proc.pid);
  const t0 = Date.UTC(2026, 0, 1);
  const state = all.map((_, i) => ({ v: (i % 97) + 0.5, c: i * 10 }));
  let peak = base;
  const started = Date.now();
  for (let s = 0; s < HOUR_S; s += STEP_SECONDS_PER_REQUEST) {
    let body = '';
    for (let k = s; k < Math.min(HOUR_S, s + STEP_SECONDS_PER_REQUEST); k++) {
      const ts = t0 + k * 1000;
      for (let i = 0; i < all.length; i++) {
        const d = all[i];
        const st = state[i];
        let v: number;
        if (d.kind === 'wander') v = st.v = Math.round((st.v + (((i * 31 + k * 17) % 11) - 5) / 10) * 10) / 10;
        else if (d.kind === 'counter') v = st.c += 5 + ((i + k) % 3);
        else if (d.kind === 'constant') v = 1;
        else v = st.v = Math.abs(st.v + Math.sin(i + k) * 0.37);
        body += `${d.line} value=${v} ${ts}\n`;
      }
    }
    await post(`${agent.url}/write?precision=ms`, body);
    if (s % 300 < STEP_SECONDS_PER_REQUEST) {
      peak = Math.max(peak, rssBytes(agent.proc.pid));
      const parts = rssParts(agent.proc.pid);
      const v = await memoryView(agent.url);
      say(`fed ${s} s of 3600 (${Math.round((Date.now() - started) / 1000)} s wall), RSS ${(rssBytes(agent.proc.pid) / MiB).toFixed(1)} MiB (anonymous ${(parts.anon / MiB).toFixed(1)}, file ${(parts.file / MiB).toFixed(1)}; heap ${v.heapUsedMiB.toFixed(1)}/${v.heapTotalMiB.toFixed(1)}, external ${v.externalMiB.toFixed(1)})`);
    }
  }
  const feedS = (Date.now() - started) / 1000;
  const health = (await (await fetch(`${agent.url}/api/health`)).json()) as Record<string, unknown>;
  const self = await (await fetch(`${agent.url}/metrics/self`)).text();
  const trimmedBudget = self.split('\n').filter((l) => l.startsWith('metrics_manager_events_history_chunks_trimmed_total{reason="max_bytes"}')).map((l) => Number(l.split(' ').pop()));
  const storeBytes = Number(/^metrics_manager_events_store_bytes (\S+)/m.exec(self)?.[1]);
  const rss = await settledRss(agent.proc.pid);
  const mem = ((await (await fetch(`${agent.url}/api/health?gc=1`)).json()) as { memory: { heap_used_bytes: number; heap_total_bytes: number; external_bytes: number; rss_bytes: number } }).memory;
  // One series read back over the hour (after the RSS reading: the answer itself takes memory).
  const match = encodeURIComponent('app_1{id="c1"}');
  const probe = (await (await fetch(`${agent.url}/api/v1/query_range?match=${match}&start=${t0 / 1000}&end=${(t0 + HOUR_S * 1000) / 1000}`)).json()) as { data: { result: Array<{ values: unknown[] }> } };
  const points = probe.data.result[0]?.values.length ?? 0;
  const cgroup = await stopAgent(agent);
  return {
    node: nodeRan, cgroup, sizing,
    systemSeries: system.length, customSeries: CUSTOM_B, seconds: HOUR_S, samples: all.length * HOUR_S,
    baseRssMiB: base / MiB, peakDuringFeedMiB: Math.max(peak, rss.afterFeed) / MiB, afterFeedRssMiB: rss.afterFeed / MiB, settledRssMiB: rss.settled / MiB, settledAnonMiB: rss.anonMiB, settledFileMiB: rss.fileMiB,
    containerMiB: containerMiB || null, nodeArgs: sized.nodeArgs, agentEnv: sized.env, secondsPerRequest: STEP_SECONDS_PER_REQUEST,
    heapUsedMiB: mem.heap_used_bytes / MiB, heapTotalMiB: mem.heap_total_bytes / MiB, externalMiB: mem.external_bytes / MiB,
    storeBytesPerPoint: storeBytes / (all.length * HOUR_S), rssBytesPerPoint: rss.settled / (all.length * HOUR_S),
    storeBytesMiB: storeBytes / MiB, historyTrimmedForBudget: trimmedBudget[0] ?? 0, pointsReadBackForOneSeries: points, feedSeconds: feedS, totalMetrics: health.total_metrics,
  };
}

type Format = 'lp' | 'json' | 'otlp';


/**
 * ExportMetricsServiceRequest for series [from, to) of bodies.ts' pushSeries: one resource (as an
 * SDK sends: service and host), one scope, one gauge per metric name with a data point per series
 * (attributes node, pipeline, device).
 */
function otlpBody(from: number, to: number, timeMs: number): Buffer {
  const byName = new Map<string, Buffer[]>();
  const t = BigInt(timeMs) * 1_000_000n;
  for (let i = from; i < to; i++) {
    const s = pushSeries(i);
    const attrs = Object.entries(s.tags).map(([k, v]) => len(7, keyValue(k, v)));
    const point = Buffer.concat([...attrs, fixed64(3, t), double(4, (i % 977) / 10)]);
    const list = byName.get(s.name) ?? [];
    list.push(len(1, point));
    byName.set(s.name, list);
  }
  const metrics = [...byName].map(([n, points]) => len(2, Buffer.concat([str(1, n), len(5, Buffer.concat(points))])));
  const resource = Buffer.concat([len(1, keyValue('service.name', 'bench-pipeline')), len(1, keyValue('host.name', 'node-a'))]);
  const scope = Buffer.concat([len(1, str(1, 'bench')), ...metrics]);
  return len(1, Buffer.concat([len(1, resource), len(2, scope)]));
}

/** Series [from, to) in the given format, 1,000 per request. */
async function pushSeriesAs(format: Format, url: string, from: number, to: number, timeMs: number): Promise<void> {
  for (let a = from; a < to; a += PER_REQUEST) {
    const b = Math.min(to, a + PER_REQUEST);
    let r: Response;
    if (format === 'lp') {
      let body = '';
      for (let i = a; i < b; i++) {
        const s = pushSeries(i);
        body += `${s.name},device=${s.tags.device},node=${s.tags.node},pipeline=${s.tags.pipeline} value=${(i % 977) / 10} ${timeMs}\n`;
      }
      r = await fetch(`${url}/write?precision=ms`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body });
    } else if (format === 'json') {
      r = await fetch(`${url}/api/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: pushBatchJson(a, b, (i) => (i % 977) / 10, timeMs) });
    } else {
      r = await fetch(`${url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: otlpBody(a, b, timeMs) });
    }
    if (r.status >= 300) throw new Error(`${format} push: ${r.status} ${await r.text()}`);
    await r.arrayBuffer();
  }
}

interface MemReading {
  heapUsed: number;
  external: number;
  rss: number;
  storeBytes: number;
  parserCacheBytes: number;
  customSeries: number;
}

/** /api/health of an agent started with --expose-gc: read twice, 0.5 s apart (V8 frees ArrayBuffers in the background). */
async function readMem(url: string): Promise<MemReading> {
  let h: { metrics_store: { total_metrics: number; bytes: number }; memory: { after_gc: boolean; heap_used_bytes: number; external_bytes: number; rss_bytes: number; parser_cache_bytes: number } } | undefined;
  for (let k = 0; k < 2; k++) {
    if (k > 0) await sleep(500);
    h = (await (await fetch(`${url}/api/health?gc=1`)).json()) as typeof h;
  }
  if (!h!.memory.after_gc) throw new Error('the agent did not collect garbage before reading memory (started without --expose-gc?)');
  return { heapUsed: h!.memory.heap_used_bytes, external: h!.memory.external_bytes, rss: h!.memory.rss_bytes, storeBytes: h!.metrics_store.bytes, parserCacheBytes: h!.memory.parser_cache_bytes, customSeries: h!.metrics_store.total_metrics };
}

const WARMUP_SERIES = 5_000;

async function accountingScenario(): Promise<Record<string, unknown>> {
  const formats = (process.argv.find((a) => a.startsWith('--formats='))?.slice(10) ?? 'lp,json,otlp').split(',') as Format[];
  const n = Number(process.argv.find((a) => a.startsWith('--series='))?.slice(9) ?? 100_000);
  const out: Record<string, unknown> = { series: n };
  for (const format of formats) {
    const agent = await startAgentProcess({
      nodeArgs: ['--expose-gc'],
      env: { RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'error', MAX_STORE_BYTES: String(1024 * MiB), MAX_METRICS_IN_MEMORY: String(10 * n), HISTORY_SECONDS: '3600', METRICS_RETENTION_SECONDS: '86400' },
      startTimeoutMs: 60_000,
    });
    try {
      const t = Date.now();
      // Warm-up: other series of the same shape, so code paths and their caches are made before the baseline.
      await pushSeriesAs(format, agent.url, 10 * n, 10 * n + WARMUP_SERIES, t);
      const before = await readMem(agent.url);
      const started = Date.now();
      await pushSeriesAs(format, agent.url, 0, n, t);
      const feedS = (Date.now() - started) / 1000;
      const after = await readMem(agent.url);
      if (after.customSeries - before.customSeries !== n) throw new Error(`${format}: ${after.customSeries - before.customSeries} new series held, expected ${n}`);
      const measured = after.heapUsed + after.external - (before.heapUsed + before.external);
      const store = after.storeBytes - before.storeBytes;
      const cache = after.parserCacheBytes - before.parserCacheBytes;
      const r = {
        measuredGrowthMiB: measured / MiB, heapGrowthMiB: (after.heapUsed - before.heapUsed) / MiB, externalGrowthMiB: (after.external - before.external) / MiB,
        storeBytesGrowthMiB: store / MiB, parserCacheGrowthMiB: cache / MiB, accountedMiB: (store + cache) / MiB,
        ratio: (store + cache) / measured, measuredBytesPerSeries: measured / n, accountedBytesPerSeries: (store + cache) / n,
        rssGrowthMiB: (after.rss - before.rss) / MiB, feedSeconds: feedS,
      };
      say(`${format}: accounted ${r.accountedMiB.toFixed(1)} MiB (store ${r.storeBytesGrowthMiB.toFixed(1)} + parser cache ${r.parserCacheGrowthMiB.toFixed(1)}) vs measured heap+external ${r.measuredGrowthMiB.toFixed(1)} MiB → ${r.ratio.toFixed(3)}`);
      out[format] = r;
    } finally {
      await agent.stop();
    }
  }
  return out;
}

async function main(): Promise<void> {
  if (!fs.existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run npx tsc -p tsconfig.test.json`);
  const out: Record<string, unknown> = { date: new Date().toISOString(), loadBefore: os.loadavg(), cores: os.cpus().length, node: process.version, agentNode };
  try {
    if (!only || only === 'pushgateway') out.pushgateway = await pushgatewayScenario();
    if (!only || only === 'hour') out.hour = await hourScenario();
    if (!only || only === 'accounting') out.accounting = await accountingScenario();
  } finally {
    for (const agent of [...running]) await stopAgent(agent);
  }
  out.shedRetries = shedRetries;
  out.loadAfter = os.loadavg();
  process.stdout.write(`${JSON.stringify(out, null, 2)}\nBENCH_RESULT ${JSON.stringify(out)}\n`);
}

runBench('store-v2', main);
