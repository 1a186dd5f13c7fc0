/**
 * The node-pipeline scenarios of `npm run bench` (issue 3): collector cost on the fixture hosts
 * (in-process) and on this machine (against prometheus-node-exporter), a CPU profile of the
 * collectors, and forwarding throughput to VictoriaMetrics (sinks in-process, and the whole agent).
 * Each function runs its processes, stops them whatever happens, and returns numbers or an error;
 * reportNode() renders sections 4–6 of bench/RESULTS.md.
 */

import fs from 'node:fs';
import path from 'node:path';
import type { CollectorCostResult, HostCost } from '../collector-cost';
import type { ForwardInprocResult } from '../forward-inproc';
import { summariseBusy, type AreaTime, type SelfTime } from './cpuprofile';
import { code, mb, num, passFail, pct, rate, ratio, table } from './format';
import { cpuSeconds, cpuSecondsFine, rssBytes, sleep, StepError } from './procs';
import { checkAlive, counterSum, debVersion, describeError, getText, log, ROOT, runBenchScript, sampleLines, startTarget, type Started } from './targets';
import { failureSummary, okCount, runWrk, type WrkResult } from './wrk';

export const NODE_TARGETS = {
  /** All built-in collectors at 1 s: at most 1 % of one core. */
  collectorsPctOfCore: 1,
  /** Agent RSS idle. */
  agentRssMb: 90,
};

const COLLECTOR_ORDER = ['cpu', 'mem', 'temp', 'cpufreq', 'intel_gpu', 'intel_npu', 'nvidia'];

// ---------------------------------------------------------------- 4. fixture hosts

export interface FixtureCost {
  result?: CollectorCostResult;
  error?: string;
}

export async function fixtureCollectorCost(quick: boolean): Promise<FixtureCost> {
  log('scenario 4: collector cost per cycle on the fixture hosts (node --expose-gc build/bench/collector-cost.js)');
  try {
    const args = quick ? ['--min-ms=80', '--min-cycles=20'] : ['--min-ms=250', '--min-cycles=40'];
    return { result: await runBenchScript<CollectorCostResult>('collector cost (fixtures)', 'collector-cost', args, { nodeArgs: ['--expose-gc'], timeoutMs: 180_000 }) };
  } catch (e) {
    return { error: describeError(e) };
  }
}

// ---------------------------------------------------------------- 5. this machine

export interface ProcCost {
  label: string;
  config: string;
  cpuS: number;
  /** utime+stime from /proc/<pid>/stat (10 ms ticks), the cross-check of cpuS. */
  cpuCoarseS: number;
  wallS: number;
  rss: number;
  /** Scrapes during the window (node_exporter; the scraped agent). */
  scrapes: number;
  scrapeWallMs: number;
  series: number;
}

export interface MachineCost {
  windowS: number;
  agents: ProcCost[];
  exporters: ProcCost[];
  /** Collector wall time per cycle from the builtin agent's self-metrics over the window, ms. */
  collectorWallMs: Record<string, number>;
  present: Record<string, boolean>;
  nodeExporterVersion: string;
  hostNotes: string[];
  errors: string[];
}

/** Per collector: histogram sum and count of metrics_manager_collector_duration_seconds. */
function collectorDurations(page: string): Map<string, { sum: number; count: number }> {
  const out = new Map<string, { sum: number; count: number }>();
  const re = /^metrics_manager_collector_duration_seconds_(sum|count)\{collector="([^"]+)"\} (\S+)$/gm;
  for (let m = re.exec(page); m; m = re.exec(page)) {
    const e = out.get(m[2]) ?? { sum: 0, count: 0 };
    e[m[1] as 'sum' | 'count'] = Number(m[3]);
    out.set(m[2], e);
  }
  return out;
}

interface Watched {
  label: string;
  config: string;
  t: Started;
  scrapePath?: string;
  cpu0: number;
  fine0: number;
  scrapes: number;
  scrapeWallMs: number;
  series: number;
}

/**
 * Runs `targets` side by side for `windowS` seconds, scraping those with a scrapePath once a second
 * (staggered inside the second), and returns their CPU (utime+stime) and RSS at the end.
 */
async function watch(targets: Watched[], windowS: number): Promise<ProcCost[]> {
  const scraped = targets.filter((w) => w.scrapePath);
  for (const w of targets) {
    w.cpu0 = cpuSeconds(w.t.proc.pid);
    w.fine0 = cpuSecondsFine(w.t.proc.pid);
  }
  const t0 = Date.now();
  for (let s = 0; s < windowS; s++) {
    for (let i = 0; i < scraped.length; i++) {
      const w = scraped[i];
      const at = t0 + s * 1000 + Math.round(((i + 0.25) * 1000) / scraped.length);
      await sleep(Math.max(0, at - Date.now()));
      const s0 = performance.now();
      const page = await getText(`${w.t.url}${w.scrapePath}`);
      w.scrapeWallMs += performance.now() - s0;
      w.scrapes++;
      w.series = sampleLines(page);
    }
  }
  await sleep(Math.max(0, t0 + windowS * 1000 - Date.now()));
  const wallS = (Date.now() - t0) / 1000;
  return targets.map((w) => {
    checkAlive(`watch ${w.label}`, w.t.proc);
    // The per-thread sum when it agrees with utime+stime to within the latter's resolution (two
    // 10 ms ticks); otherwise (a thread exited, no schedstat) utime+stime.
    const coarse = cpuSeconds(w.t.proc.pid) - w.cpu0;
    const fine = cpuSecondsFine(w.t.proc.pid) - w.fine0;
    const cpuS = Math.abs(fine - coarse) <= 0.025 ? fine : coarse;
    return { label: w.label, config: w.config, cpuS, cpuCoarseS: coarse, wallS, rss: rssBytes(w.t.proc.pid), scrapes: w.scrapes, scrapeWallMs: w.scrapes ? w.scrapeWallMs / w.scrapes : NaN, series: w.series };
  });
}

function hostNotes(): string[] {
  const notes: string[] = [];
  const has = (p: string) => fs.existsSync(p);
  const hwmon = has('/sys/class/hwmon') ? fs.readdirSync('/sys/class/hwmon').length : 0;
  const thermal = has('/sys/class/thermal') ? fs.readdirSync('/sys/class/thermal').filter((d) => d.startsWith('thermal_zone')).length : 0;
  const cpufreq = has('/sys/devices/system/cpu/cpu0/cpufreq');
  const drm = has('/sys/class/drm') ? fs.readdirSync('/sys/class/drm').filter((d) => /^card\d+$/.test(d)).length : 0;
  notes.push(`hwmon devices: ${hwmon}, thermal zones: ${thermal}, cpufreq: ${cpufreq ? 'yes' : 'no'}, DRM cards: ${drm}`);
  return notes;
}

export async function machineCollectorCost(tmp: string, nodeExporterBin: string | undefined, windowS: number): Promise<MachineCost> {
  const r: MachineCost = { windowS, agents: [], exporters: [], collectorWallMs: {}, present: {}, nodeExporterVersion: '', hostNotes: hostNotes(), errors: [] };
  // Window A: three agents side by side (idle, they do not compete for the 2 cores): identical but
  // for SYSTEM_METRICS_SOURCE, and one of the builtin ones scraped like node_exporter is.
  const specs = [
    { label: 'agent, builtin collectors', config: 'SYSTEM_METRICS_SOURCE=builtin, default collectors at 1 s, idle', env: { SYSTEM_METRICS_SOURCE: 'builtin' } },
    { label: 'agent, no collectors', config: 'SYSTEM_METRICS_SOURCE=none, idle', env: { SYSTEM_METRICS_SOURCE: 'none' } },
    { label: 'agent, builtin, scraped', config: 'as the first, GET /metrics once a second', env: { SYSTEM_METRICS_SOURCE: 'builtin' }, scrapePath: '/metrics' },
  ];
  const started: Watched[] = [];
  try {
    log(`scenario 5: ${specs.length} agents idle side by side for ${windowS} s (builtin, none, builtin + scraped)`);
    for (const s of specs) {
      const t = await startTarget('agent', process.execPath, tmp, { env: s.env, label: s.label });
      started.push({ label: s.label, config: s.config, t, scrapePath: s.scrapePath, cpu0: 0, fine0: 0, scrapes: 0, scrapeWallMs: 0, series: 0 });
    }
    // Start-up work done, first cycles run, the scraped one scraped a few times (its encoder warm).
    for (let i = 0; i < 3; i++) {
      await sleep(1000);
      for (const w of started) if (w.scrapePath) await getText(`${w.t.url}${w.scrapePath}`);
    }
    const self0 = collectorDurations(await getText(`${started[0].t.url}/metrics/self`));
    r.agents = await watch(started, windowS);
    const self1 = collectorDurations(await getText(`${started[0].t.url}/metrics/self`));
    for (const [name, e] of self1) {
      const b = self0.get(name) ?? { sum: 0, count: 0 };
      r.collectorWallMs[name] = e.count > b.count ? ((e.sum - b.sum) * 1000) / (e.count - b.count) : NaN;
    }
    const health = JSON.parse(await getText(`${started[0].t.url}/api/health`)) as { collectors?: Array<{ name: string; present: boolean | null }> };
    for (const c of health.collectors ?? []) r.present[c.name] = c.present === true;
  } catch (e) {
    r.errors.push(describeError(e, started[started.length - 1]?.t.proc));
  } finally {
    await Promise.all(started.map((w) => w.t.proc.stop()));
  }

  if (!nodeExporterBin) {
    r.errors.push('prometheus-node-exporter not found (/usr/bin/prometheus-node-exporter): its rows are empty');
    return r;
  }
  r.nodeExporterVersion = debVersion('prometheus-node-exporter');
  // Window B: node_exporter with its default collectors, and with only those matching ours.
  const ne = [
    { label: 'node_exporter, default collectors', config: 'defaults, scraped once a second', args: [] as string[] },
    { label: 'node_exporter, cpu+meminfo+hwmon+cpufreq', config: '--collector.disable-defaults + those four, scraped once a second', args: ['--collector.disable-defaults', '--collector.cpu', '--collector.meminfo', '--collector.hwmon', '--collector.cpufreq'] },
  ];
  const neStarted: Watched[] = [];
  try {
    log(`scenario 5: node_exporter (default collectors; cpu+meminfo+hwmon+cpufreq) scraped once a second for ${windowS} s`);
    for (const s of ne) {
      const t = await startTarget('node-exporter', nodeExporterBin, tmp, { args: s.args, label: s.label });
      neStarted.push({ label: s.label, config: s.config, t, scrapePath: '/metrics', cpu0: 0, fine0: 0, scrapes: 0, scrapeWallMs: 0, series: 0 });
    }
    for (const w of neStarted) await getText(`${w.t.url}/metrics`); // first scrape: lazy set-up done
    await sleep(1000);
    r.exporters = await watch(neStarted, windowS);
  } catch (e) {
    r.errors.push(describeError(e, neStarted[neStarted.length - 1]?.t.proc));
  } finally {
    await Promise.all(neStarted.map((w) => w.t.proc.stop()));
  }
  return r;
}

// ---------------------------------------------------------------- collector profile

export interface CollectorProfile {
  label: string;
  seconds: number;
  busyMs: number;
  idleMs: number;
  cycles: number;
  areas: AreaTime[];
  rows: SelfTime[];
  error?: string;
}

/**
 * The agent in builtin mode under `node --cpu-prof`, every collector at 100 ms (NPU at its 1 s
 * minimum) so the profile holds enough cycles: once on this machine, once with HOST_PROC/HOST_SYS
 * on the desktop fixture (coretemp, cpufreq, an i915 iGPU with DRM clients: every system collector
 * finds something). Side by side; the first 2 s (start-up) are left out.
 */
export async function collectorProfiles(tmp: string, seconds: number): Promise<CollectorProfile[]> {
  const fast: Record<string, string> = { SYSTEM_METRICS_SOURCE: 'builtin' };
  for (const c of ['CPU', 'MEM', 'TEMP', 'CPUFREQ', 'INTEL_GPU', 'NVIDIA']) fast[`COLLECTOR_${c}_INTERVAL_MS`] = '100';
  const desktop = path.join(ROOT, 'test', 'fixtures', 'hosts', 'desktop', 't0');
  const specs = [
    { label: 'this machine', env: fast },
    { label: 'desktop fixture (HOST_PROC/HOST_SYS)', env: { ...fast, HOST_PROC: path.join(desktop, 'proc'), HOST_SYS: path.join(desktop, 'sys') } },
  ];
  log(`profile: agents in builtin mode with collectors at 100 ms under --cpu-prof for ${seconds} s (this machine, desktop fixture)`);
  const runs = specs.map((s, i) => ({ ...s, dir: path.join(tmp, `collector-prof-${i}`), t: undefined as Started | undefined }));
  const out: CollectorProfile[] = [];
  try {
    for (const r of runs) {
      fs.mkdirSync(r.dir, { recursive: true });
      r.t = await startTarget('agent', process.execPath, tmp, { env: r.env, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${r.dir}`], label: `agent (profile, ${r.label})` });
    }
    // No request to the agents meanwhile (it would be in the profile): the cycles are the nominal
    // 10 per second of the profiled part.
    await sleep(seconds * 1000);
    const cycles = (seconds - 2) * 10;
    for (const r of runs) {
      await r.t!.proc.stop(15_000); // SIGTERM: node writes the profile on a normal exit
      const file = fs.readdirSync(r.dir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) {
        out.push({ label: r.label, seconds, busyMs: NaN, idleMs: NaN, cycles, areas: [], rows: [], error: `no .cpuprofile written (agent ${r.t!.proc.describeExit()})\n${r.t!.proc.tail()}` });
        continue;
      }
      const p = summariseBusy(path.join(r.dir, file), ROOT, { skipFirstMs: 2000, top: 12 });
      out.push({ label: r.label, seconds, cycles, ...p });
    }
  } catch (e) {
    out.push({ label: 'profile', seconds, busyMs: NaN, idleMs: NaN, cycles: NaN, areas: [], rows: [], error: describeError(e) });
  } finally {
    await Promise.all(runs.map((r) => r.t?.proc.stop()));
  }
  return out;
}

// ---------------------------------------------------------------- 6. forwarding

export interface ForwardRow {
  sink: string;
  target: string;
  r?: ForwardInprocResult;
  vmRss?: number;
  error?: string;
}

export interface ForwardAgentResult {
  measureS: number;
  wrk?: WrkResult;
  ingestSamplesPerS: number;
  forwardedSamplesPerS: number;
  agentCpuCores: number;
  vmCpuCores: number;
  acceptedInWindow: number;
  sentInWindow: number;
  /** After the load: time until the sink's queue was empty, and the totals then. */
  drainS: number;
  drained: boolean;
  totals: { received: number; accepted: number; sent: number; dropped: Record<string, number>; queueBytes: number; failedRequests: number };
  vmRows: number;
  rssAfter: number;
  failures: string;
  error?: string;
}

export interface ForwardResult {
  samples: number;
  series: number;
  rows: ForwardRow[];
  agent?: ForwardAgentResult;
}

const VM_FORWARD_ARGS = ['-influxSkipSingleField', '-search.latencyOffset=0s'];

export async function forwardInproc(tmp: string, vmBin: string | undefined, samples: number, series: number): Promise<ForwardResult> {
  const res: ForwardResult = { samples, series, rows: [] };
  const common = [`--samples=${samples}`, `--series=${series}`];
  for (const sink of ['remote-write', 'influx-v1']) {
    const target = sink === 'remote-write' ? 'VictoriaMetrics /api/v1/write' : 'VictoriaMetrics /write';
    const row: ForwardRow = { sink, target };
    res.rows.push(row);
    if (!vmBin) {
      row.error = 'victoria-metrics not found';
      continue;
    }
    let vm: Started | undefined;
    try {
      log(`scenario 6: ${sink} sink in-process → fresh VictoriaMetrics, ${num(samples)} samples over ${num(series)} series`);
      vm = await startTarget('victoria-metrics', vmBin, tmp, { args: VM_FORWARD_ARGS });
      row.r = await runBenchScript<ForwardInprocResult>(`forwarding (${sink})`, 'forward-inproc', [`--sink=${sink}`, `--url=${vm.url}`, `--vm-pid=${vm.proc.pid}`, ...common], { timeoutMs: 300_000 });
      row.vmRss = rssBytes(vm.proc.pid);
      checkAlive(`forwarding (${sink})`, vm.proc);
    } catch (e) {
      row.error = describeError(e, vm?.proc);
      log(`scenario 6 (${sink}) FAILED: ${row.error.split('\n')[0]}`);
    } finally {
      await vm?.proc.stop();
    }
  }
  for (const sink of ['remote-write', 'influx-v1']) {
    const row: ForwardRow = { sink, target: 'stub fetch (204 at once)' };
    res.rows.push(row);
    try {
      log(`scenario 6: ${sink} sink in-process → stub fetch (encoding cost)`);
      row.r = await runBenchScript<ForwardInprocResult>(`forwarding (${sink}, stub)`, 'forward-inproc', [`--sink=${sink}`, '--stub', ...common], { timeoutMs: 300_000 });
    } catch (e) {
      row.error = describeError(e);
    }
  }
  return res;
}

interface SinkHealth {
  name: string;
  acceptedSamplesTotal: number;
  sentSamplesTotal: number;
  failedRequestsTotal: number;
  droppedSamplesTotal: Record<string, number>;
  queueBytes: number;
  queueSamples: number;
}

async function sinkStats(url: string): Promise<SinkHealth> {
  const h = JSON.parse(await getText(`${url}/api/health`)) as { sinks?: SinkHealth[] };
  const s = h.sinks?.find((x) => x.name === 'remote-write');
  if (!s) throw new StepError('forwarding (agent)', 'the agent reports no remote-write sink in /api/health');
  return s;
}

async function received(url: string): Promise<number> {
  return counterSum(await getText(`${url}/metrics/self`), 'metrics_manager_events_received_total', 'format="write"');
}

/**
 * The whole agent: wrk pushes scenario 1's line protocol to an agent started with
 * FORWARD_REMOTE_WRITE_URL pointing at a fresh VictoriaMetrics; ingest rate (wrk), forwarded rate
 * (the sink's own counters), drops, then the time to empty the queue after the load stops.
 */
export async function forwardAgent(opts: {
  tmp: string;
  vmBin: string;
  wrkBin: string;
  manifest: string;
  samplesPerRequest: number;
  shape: { threads: number; connections: number };
  warmupS: number;
  measureS: number;
  timestampBase: () => number;
}): Promise<ForwardAgentResult> {
  const blank: ForwardAgentResult = {
    measureS: opts.measureS, ingestSamplesPerS: NaN, forwardedSamplesPerS: NaN, agentCpuCores: NaN, vmCpuCores: NaN, acceptedInWindow: NaN, sentInWindow: NaN,
    drainS: NaN, drained: false, totals: { received: NaN, accepted: NaN, sent: NaN, dropped: {}, queueBytes: NaN, failedRequests: NaN }, vmRows: NaN, rssAfter: NaN, failures: '',
  };
  let vm: Started | undefined;
  let agent: Started | undefined;
  try {
    log('scenario 6: agent with FORWARD_REMOTE_WRITE_URL → VictoriaMetrics, line protocol from wrk');
    vm = await startTarget('victoria-metrics', opts.vmBin, opts.tmp, { args: VM_FORWARD_ARGS });
    agent = await startTarget('agent', process.execPath, opts.tmp, { env: { FORWARD_REMOTE_WRITE_URL: `${vm.url}/api/v1/write` } });
    const step = 'forwarding (agent)';
    const warm = await runWrk({ wrk: opts.wrkBin, url: agent.url, manifest: opts.manifest, ...opts.shape, durationS: opts.warmupS, timestampBaseMs: opts.timestampBase(), step: `${step} (warm-up)` });
    const s0 = await sinkStats(agent.url);
    const a0 = cpuSeconds(agent.proc.pid);
    const v0 = cpuSeconds(vm.proc.pid);
    const t0 = performance.now();
    const wrk = await runWrk({ wrk: opts.wrkBin, url: agent.url, manifest: opts.manifest, ...opts.shape, durationS: opts.measureS, timestampBaseMs: opts.timestampBase(), step });
    const wallS = (performance.now() - t0) / 1000;
    const a1 = cpuSeconds(agent.proc.pid);
    const v1 = cpuSeconds(vm.proc.pid);
    const s1 = await sinkStats(agent.url);
    checkAlive(step, agent.proc);
    const ok = okCount(wrk);
    // Drain: the queue empties (or stops shrinking for 10 s).
    const d0 = performance.now();
    let last = s1;
    let lastChange = d0;
    while (last.queueSamples > 0 && performance.now() - d0 < 120_000 && performance.now() - lastChange < 10_000) {
      await sleep(200);
      const s = await sinkStats(agent.url);
      if (s.sentSamplesTotal !== last.sentSamplesTotal) lastChange = performance.now();
      last = s;
    }
    const drainS = (performance.now() - d0) / 1000;
    await sleep(300);
    const vmRows = counterSum(await getText(`${vm.url}/metrics`), 'vm_rows_inserted_total', 'type="promremotewrite"');
    const fw = failureSummary(warm);
    const fm = failureSummary(wrk);
    return {
      measureS: opts.measureS,
      wrk,
      ingestSamplesPerS: (ok * opts.samplesPerRequest) / wrk.durationS,
      forwardedSamplesPerS: (s1.sentSamplesTotal - s0.sentSamplesTotal) / wallS,
      agentCpuCores: (a1 - a0) / wallS,
      vmCpuCores: (v1 - v0) / wallS,
      acceptedInWindow: s1.acceptedSamplesTotal - s0.acceptedSamplesTotal,
      sentInWindow: s1.sentSamplesTotal - s0.sentSamplesTotal,
      drainS,
      drained: last.queueSamples === 0,
      totals: { received: await received(agent.url), accepted: last.acceptedSamplesTotal, sent: last.sentSamplesTotal, dropped: last.droppedSamplesTotal, queueBytes: last.queueBytes, failedRequests: last.failedRequestsTotal },
      vmRows,
      rssAfter: rssBytes(agent.proc.pid),
      failures: [fw.bad ? `warm-up: ${fw.text}` : '', fm.bad ? fm.text : ''].filter(Boolean).join(' | '),
    };
  } catch (e) {
    return { ...blank, error: describeError(e, agent?.proc ?? vm?.proc) };
  } finally {
    await agent?.proc.stop();
    await vm?.proc.stop();
  }
}

// ---------------------------------------------------------------- report

function us(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return 'n/a';
  return n >= 100 ? num(n) : n.toFixed(1);
}

function ms(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return 'n/a';
  return n >= 100 ? num(n) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function errorBlock(out: string[], what: string, e: string): void {
  out.push(`- **${what} failed**: ${e.split('\n')[0]}`, '', '```', e, '```', '');
}

function reportFixtures(out: string[], f: FixtureCost): void {
  out.push('### 4. Collector cost per cycle, fixture hosts (in-process)', '');
  if (!f.result) {
    errorBlock(out, 'collector cost', f.error ?? 'no result');
    return;
  }
  const r = f.result;
  out.push(
    `CPU µs per cycle (process.cpuUsage, every thread) of each built-in collector alone, over cycles into t1 (counters increased: every rate computed), ` +
      `≥ ${r.minCycles} cycles and ≥ ${r.minMs} ms per collector after ${r.warmup} warm-up cycles; · = the collector found nothing (absent). ` +
      '"agent cycle" = all of them through CollectorScheduler.runOnce() with a real hub and store (concurrent, host label added, stored): the agent\'s cost per cycle; at 1 s, 10,000 µs = 1 % of a core.',
    '',
  );
  const names = COLLECTOR_ORDER.filter((n) => r.hosts.some((h) => h.collectors.some((c) => c.name === n)));
  const cell = (h: HostCost, n: string) => {
    const c = h.collectors.find((x) => x.name === n);
    return c ? `${us(c.rate.cpuUs)}${c.present ? '' : ' ·'}` : '';
  };
  const sumOf = (h: HostCost) => h.collectors.reduce((a, c) => a + c.rate.cpuUs, 0);
  const target = NODE_TARGETS.collectorsPctOfCore * 10_000;
  out.push(
    table(
      ['host', ...names, 'sum', 'agent cycle CPU µs', 'agent cycle wall µs', 'samples / cycle', '% of a core at 1 s', `target ≤ ${NODE_TARGETS.collectorsPctOfCore} %`],
      r.hosts.map((h) => [
        h.host,
        ...names.map((n) => cell(h, n)),
        us(sumOf(h)),
        `**${us(h.scheduler.rate.cpuUs)}**`,
        us(h.scheduler.rate.wallUs),
        num(h.scheduler.rate.samples),
        pct(h.scheduler.rate.cpuUs / 10_000),
        `**${passFail(h.scheduler.rate.cpuUs <= target)}**`,
      ]),
    ),
    '',
  );
  const worst = [...r.hosts].sort((a, b) => b.scheduler.rate.cpuUs - a.scheduler.rate.cpuUs)[0];
  const failed = r.hosts.filter((h) => h.scheduler.rate.cpuUs > target).map((h) => h.host);
  out.push(`- target: all built-in collectors at 1 s ≤ ${NODE_TARGETS.collectorsPctOfCore} % of one core on every fixture host → **${passFail(failed.length === 0)}** (worst: ${worst.host}, ${pct(worst.scheduler.rate.cpuUs / 10_000)}${failed.length ? `; over: ${failed.join(', ')}` : ''})`);
  // The three most expensive collectors over all hosts.
  const heavy = r.hosts.flatMap((h) => h.collectors.map((c) => ({ host: h.host, c }))).sort((a, b) => b.c.rate.cpuUs - a.c.rate.cpuUs).slice(0, 4);
  out.push(`- most expensive: ${heavy.map((x) => `${x.c.name} on ${x.host} ${us(x.c.rate.cpuUs)} µs (${num(x.c.rate.samples)} sample${x.c.rate.samples === 1 ? '' : 's'})`).join('; ')}`);
  const resetRatio = r.hosts.map((h) => h.scheduler.reset.cpuUs / h.scheduler.rate.cpuUs).filter(Number.isFinite);
  if (resetRatio.length) {
    out.push(`- cycles into t0 (counters went backwards: a reset, no rates) cost ${Math.round(Math.min(...resetRatio) * 100)}–${Math.round(Math.max(...resetRatio) * 100)} % of the above (agent cycle)`);
  }
  for (const h of r.hosts) {
    if (!h.nvidiaSpawn) continue;
    const nv = h.collectors.find((c) => c.name === 'nvidia');
    out.push(
      `- nvidia on the ${h.host} host with a process per cycle (the real command runner on \`/bin/cat <recorded CSV>\` instead of the replay): ` +
        `${us(h.nvidiaSpawn.cpuUs)} µs agent CPU per cycle (replayed: ${us(nv?.rate.cpuUs)} µs), ${us(h.nvidiaSpawn.childCpuUs)} µs in the child, ${us(h.nvidiaSpawn.wallUs)} µs wall; the real nvidia-smi costs far more than cat (NVML initialisation) and is not measured here`,
    );
  }
  out.push('');
}

function reportMachine(out: string[], m: MachineCost): void {
  out.push('### 5. Collector cost on this machine, against prometheus-node-exporter', '');
  out.push(
    `${m.windowS} s window per group; CPU over the window in % of one core: the run time summed over the process's threads from /proc/<pid>/task/*/schedstat (ns), used when it agrees with utime+stime from /proc/<pid>/stat to within two 10 ms ticks, else utime+stime. The three agents run side by side, ` +
      `then the two node_exporters side by side (${m.nodeExporterVersion ? `prometheus-node-exporter ${m.nodeExporterVersion}` : 'not installed'}), each scraped once a second. ` +
      `This machine: ${m.hostNotes.join('; ')}.`,
    '',
  );
  const rows = [...m.agents, ...m.exporters].map((p) => {
    const perCycle = (p.cpuS / Math.max(1, Math.round(p.wallS))) * 1000;
    return [p.label, p.config, `${pct((p.cpuS / p.wallS) * 100)} (stat: ${pct((p.cpuCoarseS / p.wallS) * 100)})`, ms(perCycle), p.scrapes ? ms(p.scrapeWallMs) : '', p.scrapes ? num(p.series) : '', mb(p.rss)];
  });
  out.push(table(['process', 'configuration', 'CPU, % of a core (stat: from utime+stime ticks)', 'CPU ms per second (cycle / scrape)', 'scrape wall ms', 'series exposed', 'RSS MB at the end'], rows), '');
  const builtin = m.agents.find((a) => a.label === 'agent, builtin collectors');
  const none = m.agents.find((a) => a.label === 'agent, no collectors');
  const scraped = m.agents.find((a) => a.label === 'agent, builtin, scraped');
  const neDefault = m.exporters.find((e) => e.label.includes('default'));
  const neLike = m.exporters.find((e) => e.label.includes('cpu+meminfo'));
  const share = builtin && none ? ((builtin.cpuS - none.cpuS) / builtin.wallS) * 100 : undefined;
  const shareMs = builtin && none ? ((builtin.cpuS - none.cpuS) / Math.max(1, Math.round(builtin.wallS))) * 1000 : undefined;
  const neLikeMs = neLike ? (neLike.cpuS / Math.max(1, neLike.scrapes)) * 1000 : undefined;
  const neDefaultMs = neDefault ? (neDefault.cpuS / Math.max(1, neDefault.scrapes)) * 1000 : undefined;
  const scrapedShareMs = scraped && none ? ((scraped.cpuS - none.cpuS) / Math.max(1, Math.round(scraped.wallS))) * 1000 : undefined;
  out.push(`- collectors' share (builtin − none): ${pct(share)} of a core = ${ms(shareMs)} ms CPU per cycle; with a scrape of /metrics each second (scraped − none): ${ms(scrapedShareMs)} ms`);
  out.push(`- node_exporter CPU per scrape: ${ms(neDefaultMs)} ms with its default collectors, ${ms(neLikeMs)} ms with cpu+meminfo+hwmon+cpufreq`);
  out.push(`- agent (collectors + a scrape, per second) / node_exporter cpu+meminfo+hwmon+cpufreq (per scrape): ${ratio(scrapedShareMs, neLikeMs)}; agent collectors alone / the same: ${ratio(shareMs, neLikeMs)}; whole idle agent with collectors / node_exporter defaults: ${ratio(builtin?.cpuS, neDefault?.cpuS)} CPU`);
  const wall = Object.entries(m.collectorWallMs).filter(([, v]) => Number.isFinite(v)).sort((a, b) => COLLECTOR_ORDER.indexOf(a[0]) - COLLECTOR_ORDER.indexOf(b[0]));
  if (wall.length) {
    out.push(`- wall time per cycle by collector (the builtin agent's metrics_manager_collector_duration_seconds over the window; the collectors run concurrently, so these overlap): ${wall.map(([n, v]) => `${n} ${ms(v)} ms${m.present[n] === false ? ' ·' : ''}`).join(', ')} (· = absent here)`);
  }
  out.push(`- target: built-in collectors at 1 s ≤ ${NODE_TARGETS.collectorsPctOfCore} % of one core → **${passFail(share === undefined ? undefined : share <= NODE_TARGETS.collectorsPctOfCore)}** (${pct(share)}; the whole idle agent with them: ${builtin ? pct((builtin.cpuS / builtin.wallS) * 100) : 'n/a'})`);
  out.push(`- target: agent RSS ≤ ${NODE_TARGETS.agentRssMb} MB idle → **${passFail(builtin ? builtin.rss / 1048576 <= NODE_TARGETS.agentRssMb : undefined)}** (${builtin ? mb(builtin.rss) : 'n/a'} MB with the builtin collectors; ${none ? mb(none.rss) : 'n/a'} MB without)`);
  out.push('');
  for (const e of m.errors) errorBlock(out, 'a step of scenario 5', e);
}

function reportProfiles(out: string[], profiles: CollectorProfile[]): void {
  if (!profiles.length) return;
  out.push('### Collector CPU profile (agent in builtin mode under --cpu-prof, collectors at 100 ms)', '');
  out.push('Busy time only (idle left out), first 2 s (start-up) left out. Each sample is charged to the nearest frame of the project\'s own code on its stack (its folder, or file for files directly in a folder); a sample with none is charged to the nearest module — `node:internal/fs/promises` is where an awaited file read resumes.', '');
  for (const p of profiles) {
    if (p.error) {
      errorBlock(out, `profile (${p.label})`, p.error);
      continue;
    }
    const perCycle = p.cycles > 0 ? (p.busyMs / p.cycles) * 1000 : NaN;
    out.push(`**${p.label}**: ${ms(p.busyMs)} ms busy in ${p.seconds - 2} s (${num(p.cycles)} nominal cycles: ≈ ${us(perCycle)} µs of profiled CPU per cycle of all collectors, profiler overhead included)`, '');
    out.push(table(['% busy', 'ms', 'area'], p.areas.slice(0, 10).map((a) => [a.percent.toFixed(1), ms(a.ms), code(a.area)])), '');
    out.push(table(['% busy', 'self ms', 'function', 'where'], p.rows.slice(0, 10).map((r) => [r.percent.toFixed(1), ms(r.selfMs), code(r.fn), r.where ? code(r.where) : ''])), '');
  }
}

function reportForward(out: string[], f: ForwardResult, agentShape: string, scenario1SamplesPerS: number | undefined): void {
  out.push(`### 6. Forwarding throughput to VictoriaMetrics`, '');
  out.push(
    `(a) The agent's sinks driven in-process at full speed (src/sinks/README.md): ${num(f.samples)} samples over ${num(f.series)} custom series (batches of 500, timestamps set, default queue and batch sizes), ` +
      'each sink to its own fresh VictoriaMetrics (-influxSkipSingleField). The clock stops when VictoriaMetrics\' vm_rows_inserted_total has every sample; afterwards a forced flush and ' +
      '/api/v1/export check that every series and sample is there. Sender CPU = the sending process (sample generation included, tiny), in cores over the run. The stub rows replace fetch by an instant 204: the encoding cost alone.',
    '',
  );
  const rows = f.rows.map((row) => {
    const r = row.r;
    if (!r) return [row.sink, row.target, 'failed', '', '', '', '', '', '', '', row.error?.split('\n')[0] ?? ''];
    const dropped = Object.values(r.stats.droppedSamplesTotal).reduce((a, b) => a + b, 0);
    const complete = r.stub ? '' : r.vmSeries === r.series && r.vmExported === r.samples && r.vmRows === r.samples ? 'all' : `${num(r.vmSeries)} series, ${num(r.vmExported)} samples`;
    return [
      row.sink,
      row.target,
      `**${rate(r.samplesPerS)}**`,
      r.endToEndS.toFixed(2),
      num(r.cpuS / r.endToEndS, 2),
      us((r.cpuS / r.samples) * 1e6),
      r.vmCpuS !== undefined ? num(r.vmCpuS / r.endToEndS, 2) : '',
      `${num(r.stats.sentRequestsTotal)} / ${mb(r.stats.sentBytesTotal)} MB`,
      complete,
      mb(r.rssBytes),
      [dropped ? `${num(dropped)} dropped` : '', r.stats.failedRequestsTotal ? `${num(r.stats.failedRequestsTotal)} failed requests` : '', r.drained ? '' : 'not drained'].filter(Boolean).join(', ') || 'none',
    ];
  });
  out.push(table(['sink', 'target', 'samples/s end to end', 's', 'sender CPU (cores)', 'sender CPU µs / sample', 'VictoriaMetrics CPU (cores)', 'requests / bytes sent', 'in VictoriaMetrics', 'sender RSS MB', 'errors'], rows), '');
  const get = (sink: string, stub: boolean) => f.rows.find((x) => x.sink === sink && (x.r?.stub ?? x.target.startsWith('stub')) === stub)?.r;
  const rw = get('remote-write', false);
  const lp = get('influx-v1', false);
  const rwStub = get('remote-write', true);
  const lpStub = get('influx-v1', true);
  out.push(`- remote write / line protocol: ${ratio(rw?.samplesPerS, lp?.samplesPerS)} samples/s; end to end / encoding only: remote write ${ratio(rw?.samplesPerS, rwStub?.samplesPerS)}, line protocol ${ratio(lp?.samplesPerS, lpStub?.samplesPerS)}`);
  const complete = [rw, lp].map((r) => (r ? r.vmSeries === r.series && r.vmExported === r.samples && r.vmRows === r.samples && r.drained : undefined));
  const okAll = complete.every((c) => c === true) ? true : complete.some((c) => c === false) ? false : undefined;
  out.push(`- no sample lost: every series and sample read back from VictoriaMetrics, nothing dropped → **${passFail(okAll)}** (issue 3 sets no throughput target)`);
  out.push('');

  const a = f.agent;
  if (!a) return;
  out.push(`(b) The whole agent: wrk pushes scenario 1's line protocol (${agentShape}) to an agent started with FORWARD_REMOTE_WRITE_URL=<fresh VictoriaMetrics>/api/v1/write (otherwise defaults, as in scenario 1); one thread parses, stores and encodes. Numbers over the measured ${a.measureS} s; then the load stops and the queue drains.`, '');
  if (a.error) {
    errorBlock(out, 'the agent forwarding run', a.error);
    return;
  }
  const dropped = Object.entries(a.totals.dropped).filter(([, n]) => n > 0);
  const droppedN = dropped.reduce((s, [, n]) => s + n, 0);
  out.push(
    table(
      ['ingest samples/s (wrk, 2xx)', 'forwarded samples/s (sent)', 'agent CPU (cores)', 'VictoriaMetrics CPU (cores)', 'p99 ms', 'dropped (whole run)', 'drain after the load', 'RSS MB after', 'errors'],
      [[
        `**${rate(a.ingestSamplesPerS)}**`,
        `**${rate(a.forwardedSamplesPerS)}**`,
        num(a.agentCpuCores, 2),
        num(a.vmCpuCores, 2),
        num(a.wrk?.latencyMs.p99, 2),
        droppedN ? dropped.map(([r, n]) => `${num(n)} ${r}`).join(', ') : '0',
        `${a.drainS.toFixed(1)} s${a.drained ? '' : ' (not drained)'}`,
        mb(a.rssAfter),
        a.failures || 'none',
      ]],
    ),
    '',
  );
  const balanced = a.totals.accepted === a.totals.sent + droppedN && a.drained;
  out.push(`- forwarded / ingested: ${ratio(a.forwardedSamplesPerS, a.ingestSamplesPerS)} (in the window the sink took ${num(a.acceptedInWindow)} samples and sent ${num(a.sentInWindow)}); ingest while forwarding / scenario 1's agent (no sink): ${ratio(a.ingestSamplesPerS, scenario1SamplesPerS)}`);
  out.push(`- whole run: ${num(a.totals.received)} samples received, ${num(a.totals.accepted)} taken by the sink = ${num(a.totals.sent)} sent + ${num(droppedN)} dropped → accounting **${passFail(balanced)}**; VictoriaMetrics counted ${num(a.vmRows)} remote-write rows (${a.vmRows === a.totals.sent ? 'equal to sent' : `sent ${num(a.totals.sent)}`})`);
  out.push('');
}

export function reportNode(parts: { fixtures?: FixtureCost; machine?: MachineCost; profiles?: CollectorProfile[]; forward?: ForwardResult; agentShape: string; scenario1SamplesPerS?: number }): string {
  const out: string[] = [];
  if (parts.fixtures) reportFixtures(out, parts.fixtures);
  if (parts.machine) reportMachine(out, parts.machine);
  if (parts.profiles) reportProfiles(out, parts.profiles);
  if (parts.forward) reportForward(out, parts.forward, parts.agentShape, parts.scenario1SamplesPerS);
  return out.join('\n');
}
