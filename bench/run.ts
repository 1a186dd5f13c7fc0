/**
 * `npm run bench`: load benchmark of the agent against VictoriaMetrics and the Pushgateway (not a
 * test; nothing here runs under npm test). See the header of bench/RESULTS.md for the method.
 *
 *   node build/bench/run.js [--no-profile] [--profile-out=FILE] [--quick] [--only=LIST]
 *   (or npm run bench -- --no-profile …)
 *
 * --only=lp,small,memory,fixtures,machine,forward,profile,targets runs just those parts (comma-separated;
 * `targets` runs the issue targets' own scripts: gpu-per-pod, store-v2 --only=pushgateway, lp-modes --limits=256,512, dashboard)
 * and prints their sections without touching bench/RESULTS.md (for working on one scenario).
 *
 * Builds nothing: `npm run bench` has built dist/ (the agent) and build/ (this harness) already.
 * Each target runs alone (the machine has few cores): started on a free loopback port, waited for,
 * loaded by wrk (a separate process) with the same bodies, stopped (process group, always).
 */

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LP_BODIES, LP_FIELDS_PER_LINE, LP_LINES_PER_BODY, LP_SERIES, LP_TAG_SETS, lineProtocolManifest, promTextManifest, pushBatchJson, smallPushManifest, type Manifest } from './lib/bodies';
import { summariseProfile, type HotLine, type SelfTime } from './lib/cpuprofile';
import { collectorProfiles, fixtureCollectorCost, forwardAgent, forwardInproc, machineCollectorCost, reportNode, type ForwardResult } from './lib/node-scenarios';
import { mb, num, passFail, rate, ratio, table } from './lib/format';
import { cpuSeconds, killAllSync, Proc, rssBytes, sleep, StepError, stopAll, which } from './lib/procs';
import { baseEnv, checkAlive, counterSum, debVersion, describeError, getText, log, ROOT, startTarget, versionOf, type Started, type TargetName } from './lib/targets';
import { failureSummary, okCount, runWrk, type WrkResult } from './lib/wrk';
import { issueTargets } from './lib/issue-targets';

const RESULTS_FILE = path.join(ROOT, 'bench', 'RESULTS.md');
/** 1-minute load average when the harness started: others' work on the machine shows up here. */
const LOAD_AT_START = os.loadavg()[0];
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const PROFILE = !argv.includes('--no-profile') && process.env.BENCH_PROFILE !== '0';
/** `--profile-out=FILE`: keep the agent's .cpuprofile (open it in Chrome DevTools or speedscope). */
const PROFILE_OUT = argv.find((a) => a.startsWith('--profile-out='))?.slice('--profile-out='.length);
const PARTS = ['lp', 'small', 'memory', 'fixtures', 'machine', 'forward', 'profile', 'targets'] as const;
type Part = (typeof PARTS)[number];
const ONLY = argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',').filter(Boolean);
for (const p of ONLY ?? []) if (!(PARTS as readonly string[]).includes(p)) throw new Error(`--only: unknown part "${p}" (parts: ${PARTS.join(', ')})`);
const runs = (p: Part): boolean => (p === 'profile' && !PROFILE ? false : !ONLY || ONLY.includes(p));

/** Load shape, the same for every target. */
const LOAD = {
  warmupS: QUICK ? 1 : 2,
  measureS: QUICK ? 3 : 10,
  lp: { threads: 1, connections: 4 },
  small: { threads: 1, connections: 32 },
};

/** Scenarios 4–6 (issue 3): idle window per group, profile length, forwarded samples and series. */
const NODE = {
  windowS: QUICK ? 6 : 20,
  profileS: QUICK ? 6 : 12,
  forwardSamples: QUICK ? 200_000 : 1_000_000,
  forwardSeries: 10_000,
};

const TARGETS = {
  lpSamplesPerS: 1.5e6,
  smallReqPerS: 12_000,
  smallP99Ms: 10,
  mbPer100kSeries: 30,
  bytesPerExtraPoint: 20,
};


interface ScenarioResult {
  warmup: WrkResult;
  wrk: WrkResult;
  /** Requests answered 2xx per second. */
  okPerS: number;
  /** Samples acknowledged per second (scenario 1). */
  samplesPerS: number;
  cpuCores: number;
  failures: string;
}

interface TargetResult {
  name: TargetName;
  version: string;
  missing?: string;
  error?: string;
  lpFormat?: string;
  lp?: ScenarioResult;
  small?: ScenarioResult;
  rssAfter?: number;
  notes: string[];
}

interface MemoryResult {
  single?: { series: number; total: number; heapUsed: number; external: number; storeBytes: number; mbPer100k: number; bytesPerSeries: number; estBytesPerSeries: number };
  history?: { series: number; points: number; bytesPerExtraPoint: number; estBytesPerExtraPoint: number; full: { total: number }; onePoint: { total: number }; storeBytesOne: number; storeBytesFull: number };
  http?: { series: number; rssIdle: number; rssLoaded: number; storeBytes: number; seconds: number };
  errors: string[];
}

let tsInvocation = 0;
const TS_BASE = Date.now() - 3600_000;
/** Each wrk run gets its own 10-minute window of timestamps, so series only ever move forward. */
function nextTimestampBase(): number {
  return TS_BASE + tsInvocation++ * 600_000;
}

/** Warm-up then a measured wrk run; CPU of the target over the measured run from /proc. */
async function scenario(step: string, wrkBin: string, t: Started, m: Manifest, shape: { threads: number; connections: number }, samplesPerRequest: number): Promise<ScenarioResult> {
  log(`${step}: warm-up ${LOAD.warmupS} s`);
  const warm = await runWrk({ wrk: wrkBin, url: t.url, manifest: m.file, ...shape, durationS: LOAD.warmupS, timestampBaseMs: nextTimestampBase(), step: `${step} (warm-up)` });
  checkAlive(step, t.proc);
  log(`${step}: measuring ${LOAD.measureS} s`);
  const cpu0 = cpuSeconds(t.proc.pid);
  const t0 = process.hrtime.bigint();
  const wrk = await runWrk({ wrk: wrkBin, url: t.url, manifest: m.file, ...shape, durationS: LOAD.measureS, timestampBaseMs: nextTimestampBase(), step });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu1 = cpuSeconds(t.proc.pid);
  checkAlive(step, t.proc);
  const ok = okCount(wrk);
  const fw = failureSummary(warm);
  const fm = failureSummary(wrk);
  const failures = [fw.bad ? `warm-up: ${fw.text}` : '', fm.bad ? fm.text : ''].filter(Boolean).join(' | ');
  if (failures) log(`${step}: ERRORS: ${failures}`);
  return { warmup: warm, wrk, okPerS: ok / wrk.durationS, samplesPerS: (ok * samplesPerRequest) / wrk.durationS, cpuCores: (cpu1 - cpu0) / wallS, failures };
}


async function benchTarget(name: TargetName, bin: string | undefined, wrkBin: string, tmp: string, manifests: Record<string, Manifest>): Promise<TargetResult> {
  const r: TargetResult = { name, version: '', notes: [] };
  if (!bin) {
    r.missing = `${name} not found on PATH`;
    log(`${name}: MISSING (${r.missing}); continuing without it`);
    return r;
  }
  r.version = name === 'agent' ? `node ${process.version}` : debVersion(name === 'pushgateway' ? 'prometheus-pushgateway' : name) || versionOf(bin, ['--version']);
  const errors: string[] = [];
  // Scenario 1, on a fresh instance.
  let t: Started | undefined;
  if (runs('lp')) {
    try {
      log(`${name}: starting for scenario 1`);
      t = await startTarget(name, bin, tmp);
      const lpManifest = name === 'pushgateway' ? manifests.prom : manifests.lp;
      r.lpFormat = name === 'pushgateway' ? 'Prometheus text, PUT /metrics/job/bench/instance/<i>' : 'line protocol, POST /write';
      const perReq = LP_LINES_PER_BODY * LP_FIELDS_PER_LINE;
      r.lp = await scenario(`scenario 1 (${name})`, wrkBin, t, lpManifest, LOAD.lp, perReq);
      r.rssAfter = rssBytes(t.proc.pid);
      const acked = num((okCount(r.lp.warmup) + okCount(r.lp.wrk)) * perReq);
      if (name === 'agent') {
        const health = JSON.parse(await getText(`${t.url}/api/health`)) as { metrics_store?: { total_metrics?: number; bytes?: number } };
        const self = await getText(`${t.url}/metrics/self`);
        const received = counterSum(self, 'metrics_manager_events_received_total', 'format="write"');
        const rejected = counterSum(self, 'metrics_manager_events_rejected_total', 'format="write"');
        r.notes.push(
          `after scenario 1 the agent held ${num(health.metrics_store?.total_metrics)} series (${num(LP_SERIES)} sent), store.bytes ${mb(health.metrics_store?.bytes ?? NaN)} MB; ` +
            `its own counters: ${num(received)} samples received, ${num(rejected)} rejected (wrk counted ${acked} acknowledged, warm-up included; the agent also served the requests in flight when wrk stopped)`,
        );
      } else if (name === 'victoria-metrics') {
        const page = await getText(`${t.url}/metrics`);
        const rows = counterSum(page, 'vm_rows_inserted_total', 'type="influx"');
        r.notes.push(`VictoriaMetrics counted ${num(rows)} influx rows inserted (wrk counted ${acked} acknowledged, warm-up included, requests in flight at the stop not counted)`);
      }
    } catch (e) {
      errors.push(describeError(e, t?.proc));
      log(`${name}: scenario 1 FAILED: ${errors[errors.length - 1]}`);
    } finally {
      await t?.proc.stop();
    }
  }
  // Scenario 2, on another fresh instance (the Pushgateway's cost per push grows with what it holds).
  t = undefined;
  if (runs('small')) {
    try {
      log(`${name}: starting for scenario 2`);
      t = await startTarget(name, bin, tmp);
      r.small = await scenario(`scenario 2 (${name})`, wrkBin, t, manifests[`small-${name}`], LOAD.small, 1);
    } catch (e) {
      errors.push(describeError(e, t?.proc));
      log(`${name}: scenario 2 FAILED: ${errors[errors.length - 1]}`);
    } finally {
      await t?.proc.stop();
    }
  }
  if (errors.length) r.error = errors.join('\n\n');
  return r;
}

async function storeMemory(mem: MemoryResult): Promise<void> {
  log('scenario 3: store memory in-process (node --expose-gc build/bench/store-memory.js)');
  const proc = new Proc({ name: 'store-memory', cmd: process.execPath, args: ['--expose-gc', path.join(__dirname, 'store-memory.js')], cwd: ROOT, env: baseEnv() });
  let out = '';
  proc.child.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const killer = setTimeout(() => void proc.stop(), 120_000);
  await proc.exited;
  clearTimeout(killer);
  await proc.stop();
  const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  if (proc.exitCode !== 0 || !line) {
    mem.errors.push(`step "store memory": store-memory.js ${proc.describeExit()}\n${proc.tail()}`);
    return;
  }
  const r = JSON.parse(line.slice('BENCH_RESULT '.length)) as Pick<MemoryResult, 'single' | 'history'>;
  mem.single = r.single;
  mem.history = r.history;
}

/** 100k realistic series pushed over HTTP (JSON batches of 1000) into a fresh agent: RSS before and after. */
async function agentRss(mem: MemoryResult, tmp: string): Promise<void> {
  const SERIES = 100_000;
  log(`scenario 3: agent RSS with ${SERIES} series pushed over HTTP`);
  let t: Started | undefined;
  try {
    t = await startTarget('agent', process.execPath, tmp, { env: { MAX_METRICS_IN_MEMORY: String(SERIES * 2) } });
    await sleep(500);
    const rssIdle = rssBytes(t.proc.pid);
    const started = Date.now();
    let next = 0;
    const worker = async () => {
      while (next < SERIES) {
        const from = next;
        next += 1000;
        const body = pushBatchJson(from, Math.min(SERIES, from + 1000), (i) => (i % 1000) / 10);
        const res = await fetch(`${t!.url}/api/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) });
        const text = await res.text();
        if (res.status !== 202) throw new StepError('agent RSS load', `POST /api/v1/metrics (series ${from}…) answered HTTP ${res.status}: ${text.slice(0, 300)}`);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    const seconds = (Date.now() - started) / 1000;
    await sleep(1000);
    checkAlive('agent RSS load', t.proc);
    const health = JSON.parse(await getText(`${t.url}/api/health`)) as { metrics_store?: { total_metrics?: number; bytes?: number } };
    mem.http = { series: health.metrics_store?.total_metrics ?? NaN, rssIdle, rssLoaded: rssBytes(t.proc.pid), storeBytes: health.metrics_store?.bytes ?? NaN, seconds };
  } catch (e) {
    mem.errors.push(describeError(e, t?.proc));
  } finally {
    await t?.proc.stop();
  }
}

interface ProfileResult {
  totalMs: number;
  rows: SelfTime[];
  lines: HotLine[];
  samplesPerS: number;
  error?: string;
}

/** Scenario 1 once more against an agent started with --cpu-prof (separate from the measured run). */
async function profileAgent(wrkBin: string, tmp: string, m: Manifest): Promise<ProfileResult> {
  const dir = path.join(tmp, 'cpu-prof');
  fs.mkdirSync(dir, { recursive: true });
  log('profile: scenario 1 against an agent started with --cpu-prof');
  let t: Started | undefined;
  try {
    t = await startTarget('agent', process.execPath, tmp, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
    const s = await scenario('profile (agent, scenario 1)', wrkBin, t, m, LOAD.lp, LP_LINES_PER_BODY * LP_FIELDS_PER_LINE);
    await t.proc.stop(15_000); // SIGTERM: the agent exits normally and node writes the profile
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new StepError('profile', `no .cpuprofile written (agent ${t.proc.describeExit()})`, t.proc.tail());
    if (PROFILE_OUT) {
      fs.copyFileSync(path.join(dir, file), PROFILE_OUT);
      log(`profile copied to ${PROFILE_OUT}`);
    }
    return { ...summariseProfile(path.join(dir, file), ROOT, 25), samplesPerS: s.samplesPerS };
  } catch (e) {
    return { totalMs: 0, rows: [], lines: [], samplesPerS: NaN, error: describeError(e, t?.proc) };
  } finally {
    await t?.proc.stop();
  }
}

// ---------------------------------------------------------------- report

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? m[1].trim() : 'unknown';
  } catch {
    return 'unknown';
  }
}

function report(targets: TargetResult[], mem: MemoryResult, node: string, prof: ProfileResult | undefined, wrkVersion: string, totalS: number): string {
  const out: string[] = [];
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const arch = execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim();
  out.push(`## Latest run`, '');
  out.push(`${date} · ${arch} · ${cpuModel()} · ${os.cpus().length} cores · node ${process.version} · ${wrkVersion} · run took ${totalS.toFixed(0)} s · load average ${LOAD_AT_START.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end${QUICK ? ' · QUICK (shortened) run' : ''}${ONLY ? ` · only ${ONLY.join(', ')}` : ''}`, '');
  for (const t of targets) {
    if (t.missing) out.push(`- **${t.name} missing**: ${t.missing}; its columns are empty.`);
    else if (t.name !== 'agent') out.push(`- ${t.name} ${t.version}`);
  }
  out.push('');

  const agent = targets.find((t) => t.name === 'agent')!;
  const peers = targets.filter((t) => t.name !== 'agent');

  if (runs('lp')) {
    out.push(`### 1. Line protocol, ${LP_LINES_PER_BODY}-line bodies (${LP_LINES_PER_BODY * LP_FIELDS_PER_LINE} samples), ${num(LP_TAG_SETS)} tag sets = ${num(LP_SERIES)} series`, '');
    out.push(`wrk -t${LOAD.lp.threads} -c${LOAD.lp.connections}, ${LOAD.warmupS} s warm-up + ${LOAD.measureS} s measured. Agent: default settings except RATE_LIMIT_ENABLED=false, LOG_LEVEL=error.`, '');
    out.push(
      table(
        ['target', 'format', 'samples/s', 'req/s', 'p50 ms', 'p99 ms', 'target CPU (cores)', 'RSS after (MB)', 'errors'],
        targets.map((t) => [
          t.name,
          t.lpFormat ?? '',
          rate(t.lp?.samplesPerS),
          num(t.lp?.okPerS),
          num(t.lp?.wrk.latencyMs.p50, 2),
          num(t.lp?.wrk.latencyMs.p99, 2),
          num(t.lp?.cpuCores, 2),
          t.rssAfter ? mb(t.rssAfter) : 'n/a',
          t.missing ? 'missing' : t.error && !t.lp ? 'run failed' : t.lp?.failures || 'none',
        ]),
      ),
      '',
    );
    for (const p of peers) if (!p.missing) out.push(`- agent / ${p.name}: ${ratio(agent.lp?.samplesPerS, p.lp?.samplesPerS)} samples/s${p.name === 'pushgateway' ? ' (the Pushgateway takes no line protocol: it got the same samples as Prometheus text)' : ''}`);
    out.push(`- target: agent ≥ ${rate(TARGETS.lpSamplesPerS)} samples/s → **${passFail(agent.lp ? agent.lp.samplesPerS >= TARGETS.lpSamplesPerS && !agent.lp.failures : undefined)}** (${rate(agent.lp?.samplesPerS)})`);
    for (const t of targets) for (const n of t.notes) out.push(`- ${n}`);
    out.push('');
  }

  if (runs('small')) {
    out.push(`### 2. Small JSON pushes (one sample per request)`, '');
    out.push(`wrk -t${LOAD.small.threads} -c${LOAD.small.connections}, ${LOAD.warmupS} s warm-up + ${LOAD.measureS} s measured. Agent: POST /api/v1/metrics/simple JSON; VictoriaMetrics: POST /write one LP line; Pushgateway: POST /metrics/job/bench one text line.`, '');
    out.push(
      table(
        ['target', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'target CPU (cores)', 'errors'],
        targets.map((t) => [
          t.name,
          num(t.small?.okPerS),
          num(t.small?.wrk.latencyMs.p50, 2),
          num(t.small?.wrk.latencyMs.p90, 2),
          num(t.small?.wrk.latencyMs.p99, 2),
          num(t.small?.wrk.latencyMs.max, 1),
          num(t.small?.cpuCores, 2),
          t.missing ? 'missing' : t.error && !t.small ? 'run failed' : t.small?.failures || 'none',
        ]),
      ),
      '',
    );
    for (const p of peers) if (!p.missing) out.push(`- agent / ${p.name}: ${ratio(agent.small?.okPerS, p.small?.okPerS)} req/s`);
    const sOk = agent.small ? agent.small.okPerS >= TARGETS.smallReqPerS && agent.small.wrk.latencyMs.p99 <= TARGETS.smallP99Ms && !agent.small.failures : undefined;
    out.push(`- target: agent ≥ ${rate(TARGETS.smallReqPerS)} req/s with p99 ≤ ${TARGETS.smallP99Ms} ms → **${passFail(sOk)}** (${num(agent.small?.okPerS)} req/s, p99 ${num(agent.small?.wrk.latencyMs.p99, 2)} ms)`);
    out.push('');
  }

  if (runs('memory')) {
    out.push(`### 3. Store memory`, '');
    if (mem.single) {
      const s = mem.single;
      out.push(`- (a) ${num(s.series)} series × 1 point (name + 3 labels, through the JSON batch parser): ${mb(s.total)} MB measured (heap ${mb(s.heapUsed)} + external ${mb(s.external)}) = **${s.mbPer100k.toFixed(1)} MB per 100k series** (${s.bytesPerSeries.toFixed(0)} B/series); store.bytes estimate ${mb(s.storeBytes)} MB (${s.estBytesPerSeries.toFixed(0)} B/series, ${((s.storeBytes / s.total) * 100).toFixed(0)} % of measured) → target ≤ ${TARGETS.mbPer100kSeries} MB: **${passFail(s.mbPer100k <= TARGETS.mbPer100kSeries)}**`);
    }
    if (mem.history) {
      const h = mem.history;
      out.push(`- (b) ${num(h.series)} series × ${h.points} points (HISTORY_POINTS=${h.points}): ${mb(h.full.total)} MB vs ${mb(h.onePoint.total)} MB with 1 point = **${h.bytesPerExtraPoint.toFixed(1)} B per extra point**; store.bytes says ${h.estBytesPerExtraPoint.toFixed(1)} B (${mb(h.storeBytesOne)} → ${mb(h.storeBytesFull)} MB) → target ≤ ${TARGETS.bytesPerExtraPoint} B: **${passFail(h.bytesPerExtraPoint <= TARGETS.bytesPerExtraPoint)}**`);
    }
    if (mem.http) {
      const m = mem.http;
      out.push(`- agent over HTTP (context): ${num(m.series)} series pushed as JSON batches of 1000 in ${m.seconds.toFixed(1)} s; RSS ${mb(m.rssIdle)} MB idle → ${mb(m.rssLoaded)} MB loaded (+${mb(m.rssLoaded - m.rssIdle)} MB, no forced GC); store.bytes ${mb(m.storeBytes)} MB`);
    }
    for (const e of mem.errors) out.push(`- **failed**: ${e.split('\n')[0]}`, '', '```', e, '```');
    out.push('');
  }

  if (node) out.push(node, '');

  if (prof) {
    out.push(`### Agent CPU profile during scenario 1 (separate run with --cpu-prof)`, '');
    if (prof.error) out.push(`profiling failed: ${prof.error.split('\n')[0]}`, '');
    else {
      out.push(`${rate(prof.samplesPerS)} samples/s under the profiler; ${(prof.totalMs / 1000).toFixed(1)} s of samples. Top self time:`, '');
      out.push(table(['self %', 'self ms', 'function', 'where'], prof.rows.map((r) => [r.percent.toFixed(1), r.selfMs.toFixed(0), `\`${r.fn}\``, r.where ? `\`${r.where}\`` : ''])), '');
      if (prof.lines.length) {
        out.push('Hottest lines of the project\'s own code (V8 line ticks, mapped to the TypeScript source; time in V8 builtins such as Map lookups and string hashing, and in inlined callees, is usually charged to the calling line):', '');
        out.push(table(['% of samples', 'where', 'function', 'code'], prof.lines.slice(0, 15).map((l) => [l.percent.toFixed(1), `\`${l.where}\``, `\`${l.fn}\``, `\`${l.code.replace(/\|/g, '\\|').replace(/`/g, "'")}\``])), '');
      }
    }
  }

  const failed = targets.filter((t) => t.error);
  if (failed.length) {
    out.push(`### Failures`, '');
    for (const t of failed) out.push(`- ${t.name}:`, '', '```', t.error!, '```', '');
  }
  return out.join('\n');
}

const DEFAULT_HEADER = `# Benchmark results

\`npm run bench\` builds the agent and this harness, then bench/run.ts measures the agent against
peers on the same machine: VictoriaMetrics (line protocol on \`/write\`; the forwarding target), the
Prometheus Pushgateway (text format) and prometheus-node-exporter (collector cost). Options:
\`npm run bench -- --no-profile --profile-out=FILE --quick\`; \`--only=lp,small,memory,fixtures,machine,forward,profile\`
runs some parts and prints them without touching this file.

Method: every target runs alone, a fresh instance per scenario (started on a free loopback port,
waited for, stopped afterwards), so the targets do not compete for the machine's cores and no
scenario inherits another's series. The load comes from a separate process, \`wrk\`, with
\`bench/wrk/rotate.lua\`, which rotates pre-generated bodies (written to a temp dir by the harness)
and reports latency percentiles, HTTP status counts and the first error bodies.
Each scenario has a short warm-up run, then a measured run; only 2xx answers count. The
connection counts (4 for line protocol, 32 for small pushes) are the same for every target; 4 was
the best compromise on 2 cores (the agent is single-threaded and peaks at 1–2, VictoriaMetrics at 4–8).

1. Line protocol: bodies of 1000 \`cpu,host=…,cpu=… usage_user=…,usage_system=…,usage_idle=… <ns>\`
   lines (3000 samples); 10 distinct bodies with disjoint tag sets, so 10,000 series in InfluxDB's
   sense (30,000 Prometheus series); one timestamp per request, 1 ms later for each request.
   The Pushgateway gets the same samples as Prometheus text (PUT per group, no timestamps).
2. Small pushes: one \`fps\` sample per request (agent: simple JSON; peers: their one-line equivalent).
3. Store memory: \`node --expose-gc build/bench/store-memory.js\` measures heapUsed + external after
   GC around a SeriesStore fed through the real JSON parser; agent RSS over HTTP is context only.
4. Collector cost per cycle on the fixture hosts (test/fixtures/hosts/<case>/{t0,t1}):
   \`node --expose-gc build/bench/collector-cost.js\` runs every built-in collector the agent enables
   there (createCollectors, SYSTEM_METRICS_SOURCE=builtin, scripts off) alone, cycle after cycle,
   on a HostFs alternating between the t0 and t1 trees with the clocks 1 s further each cycle, and
   reports CPU µs (process.cpuUsage, all threads) per cycle into t1 (every rate computed); then all
   of them through CollectorScheduler.runOnce() with a real hub and store: the agent's cost per
   cycle. nvidia-smi is replayed from the recorded CSV (once also through a real process spawn).
5. Collector cost on this machine: three agents (\`node dist/main.js agent\`, rate limit off) idle
   side by side for 20 s — SYSTEM_METRICS_SOURCE=builtin with the default collectors at 1 s,
   SYSTEM_METRICS_SOURCE=none, and builtin scraped on /metrics once a second — so builtin − none is
   the collectors' share; then prometheus-node-exporter with its default collectors and with only
   cpu+meminfo+hwmon+cpufreq (our collectors' equivalent), each scraped once a second for 20 s.
   CPU is utime+stime from /proc/<pid>/stat over the window; RSS at the end.
6. Forwarding to VictoriaMetrics (-influxSkipSingleField, a fresh instance per run): (a) the
   agent's RemoteWriteSink (\`/api/v1/write\`) and InfluxV1Sink (\`/write\`) driven in-process at full
   speed by \`build/bench/forward-inproc.js\` with 1M samples over 10k series, timed until
   VictoriaMetrics' vm_rows_inserted_total holds them all, then checked through /api/v1/export;
   the same sinks with a stub fetch give the encoding cost alone. (b) The whole agent with
   FORWARD_REMOTE_WRITE_URL, loaded by wrk with scenario 1's line protocol: ingest rate, forwarded
   rate and drops from its own sink counters, VictoriaMetrics' row count.

Target CPU is utime+stime of the target process from /proc over the measured run, in cores.
Last, two profiles (not measured runs): agents in builtin mode with every collector at 100 ms under
\`node --cpu-prof\` (on this machine and on the desktop fixture tree), and scenario 1 once more
against an agent started with \`node --cpu-prof\`; the top self-time functions, areas and hottest
source lines are listed.
The machine may be shared (compiles, tests), so treat single runs as noisy. The section below is
replaced by every run.
`;

function writeResults(section: string): void {
  let header = DEFAULT_HEADER;
  try {
    const old = fs.readFileSync(RESULTS_FILE, 'utf8');
    const i = old.indexOf('## Latest run');
    if (i > 0) {
      // Sections written after the latest run (by other bench scripts or by hand) are kept, above it.
      const j = old.indexOf('\n## ', i);
      header = old.slice(0, i).trimEnd() + '\n' + (j > 0 ? `\n${old.slice(j + 1).trimEnd()}\n` : '');
    }
  } catch {
    // First run: default header.
  }
  fs.writeFileSync(RESULTS_FILE, `${header}\n${section.trimEnd()}\n`);
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const started = Date.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-bench-'));
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: stopping children`);
    killAllSync();
    fs.rmSync(tmp, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', killAllSync);
  try {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'main.js'))) {
      throw new StepError('preflight', 'dist/main.js is missing: run `npm run build` (npm run bench does)');
    }
    const wrkBin = which('wrk', ['/usr/bin/wrk']);
    if (!wrkBin) throw new StepError('preflight', 'wrk is not installed (scripts/setup-test-deps.sh --bench installs it as root)');
    const wrkVersion = versionOf(wrkBin, ['--version']).replace(/\s*\[.*$/, '').replace(/ Copyright.*$/, '');

    log(`generating bodies in ${tmp}`);
    const manifests: Record<string, Manifest> = {
      lp: lineProtocolManifest(tmp),
      prom: promTextManifest(tmp),
      'small-agent': smallPushManifest(tmp, 'agent'),
      'small-victoria-metrics': smallPushManifest(tmp, 'victoria-metrics'),
      'small-pushgateway': smallPushManifest(tmp, 'pushgateway'),
    };
    log(`line protocol: ${LP_BODIES} bodies of ${num(manifests.lp.bodyBytes)} bytes; Prometheus text: ${num(manifests.prom.bodyBytes)} bytes`);

    const vmBin = which('victoria-metrics', ['/usr/bin/victoria-metrics']);
    const targets: TargetResult[] = [];
    if (runs('lp') || runs('small')) {
      targets.push(await benchTarget('agent', process.execPath, wrkBin, tmp, manifests));
      targets.push(await benchTarget('victoria-metrics', vmBin, wrkBin, tmp, manifests));
      targets.push(await benchTarget('pushgateway', which('prometheus-pushgateway', ['/usr/bin/prometheus-pushgateway']), wrkBin, tmp, manifests));
    }

    const mem: MemoryResult = { errors: [] };
    if (runs('memory')) {
      await storeMemory(mem);
      await agentRss(mem, tmp);
    }

    // Issue 3: collectors (fixture hosts, this machine against node_exporter), forwarding.
    const fixtures = runs('fixtures') ? await fixtureCollectorCost(QUICK) : undefined;
    const machine = runs('machine') ? await machineCollectorCost(tmp, which('prometheus-node-exporter', ['/usr/bin/prometheus-node-exporter']), NODE.windowS) : undefined;
    const collectorProf = runs('profile') ? await collectorProfiles(tmp, NODE.profileS) : undefined;
    let forward: ForwardResult | undefined;
    if (runs('forward')) {
      forward = await forwardInproc(tmp, vmBin, NODE.forwardSamples, NODE.forwardSeries);
      if (vmBin) {
        forward.agent = await forwardAgent({
          tmp, vmBin, wrkBin, manifest: manifests.lp.file, samplesPerRequest: LP_LINES_PER_BODY * LP_FIELDS_PER_LINE,
          shape: LOAD.lp, warmupS: LOAD.warmupS, measureS: LOAD.measureS, timestampBase: nextTimestampBase,
        });
      }
    }
    const node = reportNode({
      fixtures, machine, profiles: collectorProf, forward,
      agentShape: `wrk -t${LOAD.lp.threads} -c${LOAD.lp.connections}, ${LOAD.warmupS} s warm-up + ${LOAD.measureS} s measured`,
      scenario1SamplesPerS: targets.find((t) => t.name === 'agent')?.lp?.samplesPerS,
    });

    const prof = runs('profile') ? await profileAgent(wrkBin, tmp, manifests.lp) : undefined;
    // Last, each alone on the machine: the issue targets that have bench scripts of their own.
    const issue = runs('targets') ? issueTargets(__dirname, log) : '';

    const section = `${report(targets, mem, node, prof, wrkVersion, (Date.now() - started) / 1000)}\n${issue}`;
    process.stdout.write(`\n${section}\n`);
    const agentErr = targets.find((t) => t.name === 'agent')?.error;
    if (agentErr) {
      // A broken run must not replace the last good numbers.
      log(`the agent run failed (${agentErr.split('\n')[0]}); ${path.relative(process.cwd(), RESULTS_FILE)} left unchanged`);
      return 1;
    }
    if (ONLY) {
      log(`--only: ${path.relative(process.cwd(), RESULTS_FILE)} left unchanged`);
      return 0;
    }
    writeResults(section);
    log(`results written to ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
    return 0;
  } catch (e) {
    log(`FAILED: ${describeError(e)}`);
    return 1;
  } finally {
    await stopAll();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code || streamBench()),
  (err: unknown) => {
    log(`FAILED: ${err instanceof Error ? err.stack : String(err)}`);
    killAllSync();
    process.exit(1);
  },
);

// ---------------------------------------------------------------- stream (SSE) benchmark (issue 4)
// bench/stream.ts runs last, in its own process, and owns the "## Stream (SSE)" section of
// RESULTS.md, which it keeps above "## Latest run" (so writeResults above leaves it alone).
function streamBench(): number {
  if (ONLY) return 0;
  try {
    execFileSync(process.execPath, [path.join(__dirname, 'stream.js'), ...(QUICK ? ['--quick'] : [])], { stdio: 'inherit' });
    return 0;
  } catch {
    return 1;
  }
}
