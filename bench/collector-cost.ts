/**
 * Collector cost per cycle on the fixture hosts, measured in-process (not a test). Run by
 * bench/run.ts as
 *
 *   node --expose-gc build/bench/collector-cost.js [--min-ms=250] [--min-cycles=40]
 *
 * For every fixture host (test/fixtures/hosts/<case>/{t0,t1}), every built-in collector the agent
 * would enable there (createCollectors with SYSTEM_METRICS_SOURCE=builtin, scripts off) is run
 * alone, cycle after cycle, on a HostFs whose roots alternate between the t0 and t1 snapshots while
 * the clocks advance 1 s per cycle. A cycle into t1 follows one on t0: counters increased, so every
 * rate and ratio is computed (the steady state of a real node, reported as the cost per cycle). A
 * cycle into t0 sees counters go backwards, i.e. a reset: rates are skipped, reported apart.
 *
 * Per cycle: wall time (hrtime around collect()) and CPU time (process.cpuUsage(): every thread of
 * the process, so the libuv threads doing the file reads count). Then the same collectors once more
 * through the CollectorScheduler with a real Hub and SeriesStore (runOnce(): the collectors run
 * concurrently, samples get the host label and are stored): the agent's whole cost per cycle.
 * nvidia-smi is replayed from the recorded CSV (no process); on the nvidia host the collector is
 * measured once more running the real command runner on `/bin/cat <recorded CSV>`, to show what a
 * process spawn per cycle costs the agent (the spawned process's own CPU reported apart).
 *
 * Prints a human summary on stderr and one `BENCH_RESULT {json}` line on stdout.
 */

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createCollectors, runCommand } from '../src/collectors';
import type { Collector, CollectorEnv, CommandRunner } from '../src/collectors/collector';
import { HostFs } from '../src/collectors/host-fs';
import { NvidiaCollector } from '../src/collectors/nvidia';
import { CollectorScheduler } from '../src/collectors/scheduler';
import { loadConfig } from '../src/config/load';
import { LineProtocolParser } from '../src/formats/influx/parse';
import { Hub } from '../src/hub/hub';
import { createLogger } from '../src/log/logger';
import { SeriesStore } from '../src/store/series-store';
import { SelfMetrics } from '../src/telemetry/self-metrics';

export const HOST_CASES = ['desktop', 'vm', 'dgpu', 'mtl-npu', 'lnl-npu', 'nvidia'] as const;

export interface PhaseCost {
  cycles: number;
  /** Mean per cycle. */
  wallUs: number;
  cpuUs: number;
  samples: number;
}

export interface CollectorCost {
  name: string;
  present: boolean;
  /** Cycles into t1 (rates computed): the cost per cycle. */
  rate: PhaseCost;
  /** Cycles into t0 (counters went backwards: a reset, rates skipped). */
  reset: PhaseCost;
}

export interface SpawnCost {
  cycles: number;
  wallUs: number;
  /** The agent's own CPU per cycle. */
  cpuUs: number;
  /** CPU of the spawned processes per cycle (cutime+cstime, clock-tick resolution). */
  childCpuUs: number;
}

export interface HostCost {
  host: string;
  collectors: CollectorCost[];
  /** CollectorScheduler.runOnce() with a real hub and store. */
  scheduler: { rate: PhaseCost; reset: PhaseCost; series: number };
  nvidiaSpawn?: SpawnCost;
}

export interface CollectorCostResult {
  minMs: number;
  minCycles: number;
  warmup: number;
  hosts: HostCost[];
}

const argv = process.argv.slice(2);
const arg = (name: string, dflt: number) => Number(argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt);
const MIN_MS = arg('min-ms', 250);
const MIN_CYCLES = arg('min-cycles', 40);
const MAX_CYCLES = 4_000;
const WARMUP = 20;

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function repoRoot(from: string = __dirname): string {
  let dir = path.resolve(from);
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'test', 'fixtures', 'hosts'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no repository root above ${from}`);
    dir = up;
  }
}

const HOSTS_DIR = path.join(repoRoot(), 'test', 'fixtures', 'hosts');

type Snap = 't0' | 't1';

/** A CollectorEnv whose fs and clocks move to the other snapshot at every flip(). */
class FlipEnv implements CollectorEnv {
  fs: HostFs;
  snap: Snap = 't1';
  wall = 1_767_225_600_000;
  mono = 5_000;
  private readonly trees: Record<Snap, HostFs>;
  readonly now = () => this.wall;
  readonly monotonic = () => this.mono;
  run: CommandRunner;

  constructor(readonly host: string) {
    const tree = (s: Snap) => new HostFs(path.join(HOSTS_DIR, host, s, 'proc'), path.join(HOSTS_DIR, host, s, 'sys'));
    this.trees = { t0: tree('t0'), t1: tree('t1') };
    this.fs = this.trees.t1;
    // nvidia-smi replays the recorded output of the snapshot; elsewhere it is not installed.
    const csv: Partial<Record<Snap, string>> = {};
    for (const s of ['t0', 't1'] as const) {
      const f = path.join(HOSTS_DIR, host, `nvidia-smi.${s}.csv`);
      if (existsSync(f)) csv[s] = readFileSync(f, 'utf8');
    }
    this.run = async (cmd) => {
      const out = csv[this.snap];
      if (cmd === 'nvidia-smi' && out !== undefined) return { code: 0, stdout: out, stderr: '' };
      throw Object.assign(new Error(`spawn ${cmd} ENOENT`), { code: 'ENOENT' });
    };
  }

  /** Next cycle: the other snapshot, one second later. Returns true when moving into t1. */
  flip(): boolean {
    this.snap = this.snap === 't0' ? 't1' : 't0';
    this.fs = this.trees[this.snap];
    this.wall += 1000;
    this.mono += 1000;
    return this.snap === 't1';
  }
}

class Phase {
  cycles = 0;
  wallNs = 0;
  cpuUs = 0;
  samples = 0;
  add(wallNs: number, cpuUs: number, samples: number): void {
    this.cycles++;
    this.wallNs += wallNs;
    this.cpuUs += cpuUs;
    this.samples += samples;
  }
  mean(): PhaseCost {
    const n = this.cycles || NaN;
    return { cycles: this.cycles, wallUs: this.wallNs / 1000 / n, cpuUs: this.cpuUs / n, samples: this.samples / n };
  }
}

/**
 * Warm-up, then cycles until both MIN_CYCLES and MIN_MS are reached (an even number, so both
 * phases get as many). `step` runs one cycle and returns the samples it produced.
 */
async function measure(env: FlipEnv, step: () => Promise<number>): Promise<{ rate: Phase; reset: Phase }> {
  for (let i = 0; i < WARMUP; i++) {
    env.flip();
    await step();
  }
  gc();
  const rate = new Phase();
  const reset = new Phase();
  const started = performance.now();
  let n = 0;
  while (n < MIN_CYCLES || n % 2 === 1 || (performance.now() - started < MIN_MS && n < MAX_CYCLES)) {
    const intoT1 = env.flip();
    const c0 = process.cpuUsage();
    const w0 = process.hrtime.bigint();
    const samples = await step();
    const wall = Number(process.hrtime.bigint() - w0);
    const cpu = process.cpuUsage(c0);
    (intoT1 ? rate : reset).add(wall, cpu.user + cpu.system, samples);
    n++;
  }
  return { rate, reset };
}

function config() {
  return loadConfig({ SYSTEM_METRICS_SOURCE: 'builtin', COLLECTOR_SCRIPTS_ENABLED: 'false', MAX_METRICS_IN_MEMORY: '100000' });
}

async function collectorCost(c: Collector, env: FlipEnv): Promise<CollectorCost> {
  let present = false;
  const { rate, reset } = await measure(env, async () => {
    const r = await c.collect();
    present = r.present;
    return r.samples.length;
  });
  return { name: c.name, present, rate: rate.mean(), reset: reset.mean() };
}

/** utime+stime of waited-for children of this process (/proc/self/stat fields 16, 17), in µs. */
function childrenCpuUs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[13]) + Number(rest[14])) / 100) * 1e6; // CLK_TCK is 100 on Linux
}

async function hostCost(host: string): Promise<HostCost> {
  const logger = createLogger({ level: 'error', format: 'json', service: 'bench', version: 'bench', silent: true });
  const parser = new LineProtocolParser();
  // Each collector alone, on its own instance.
  const collectors: CollectorCost[] = [];
  {
    const env = new FlipEnv(host);
    for (const sc of createCollectors(config(), env, parser)) collectors.push(await collectorCost(sc.collector, env));
  }
  // All of them through the scheduler, with a real hub and store.
  const env = new FlipEnv(host);
  const cfg = config();
  const store = new SeriesStore(() => cfg, env.now);
  const hub = new Hub(store, new SelfMetrics({ series: () => store.size, bytes: () => store.bytes }));
  const scheduler = new CollectorScheduler(createCollectors(cfg, env, parser), hub, 'bench-host', logger, env.now);
  const { rate, reset } = await measure(env, async () => {
    const before = store.size;
    await scheduler.runOnce();
    return store.size - before; // new series only; the sample count comes from health below
  });
  const failed = scheduler.health().filter((h) => h.lastError !== null);
  if (failed.length) throw new Error(`${host}: collectors failed: ${failed.map((h) => `${h.name}: ${h.lastError}`).join('; ')}`);
  const samplesPerCycle = scheduler.health().reduce((n, h) => n + h.samples, 0);
  const r = rate.mean();
  const z = reset.mean();
  r.samples = samplesPerCycle;
  z.samples = NaN;
  const out: HostCost = { host, collectors, scheduler: { rate: r, reset: z, series: store.size } };

  // nvidia through a real process spawn per cycle.
  const csv = (s: Snap) => path.join(HOSTS_DIR, host, `nvidia-smi.${s}.csv`);
  if (existsSync(csv('t0')) && existsSync('/bin/cat')) {
    const e = new FlipEnv(host);
    e.run = (_cmd, _args, timeoutMs) => runCommand('/bin/cat', [csv(e.snap)], timeoutMs);
    const nv = new NvidiaCollector(e, { smiPath: 'nvidia-smi' });
    const child0 = childrenCpuUs();
    const { rate: a, reset: b } = await measure(e, async () => (await nv.collect()).samples.length);
    const childUs = childrenCpuUs() - child0;
    const cycles = a.cycles + b.cycles;
    out.nvidiaSpawn = { cycles, wallUs: (a.wallNs + b.wallNs) / 1000 / cycles, cpuUs: (a.cpuUs + b.cpuUs) / cycles, childCpuUs: childUs / cycles };
  }
  return out;
}

async function main(): Promise<void> {
  const hosts: HostCost[] = [];
  for (const host of HOST_CASES) {
    if (!existsSync(path.join(HOSTS_DIR, host, 't0'))) continue;
    const h = await hostCost(host);
    hosts.push(h);
    const cells = h.collectors.map((c) => `${c.name} ${c.rate.cpuUs.toFixed(0)}µs${c.present ? '' : '(absent)'}`).join(', ');
    process.stderr.write(`collector-cost: ${host}: ${cells}; scheduler cycle ${h.scheduler.rate.cpuUs.toFixed(0)} µs CPU, ${h.scheduler.rate.wallUs.toFixed(0)} µs wall\n`);
  }
  const result: CollectorCostResult = { minMs: MIN_MS, minCycles: MIN_CYCLES, warmup: WARMUP, hosts };
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`collector-cost: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
