/**
 * Cost of per-pod GPU attribution (not a test). Builds a node in a temp dir: the xe dGPU's sysfs
 * from the k8s-dgpu fixture, 200 processes each holding one DRM client (50 pods × 4 processes,
 * cgroup v2 + systemd driver, containerd) and 300 processes without GPU fds (10 fds each), then
 * runs the Intel GPU collector once per simulated second, rewriting every client's fdinfo with
 * higher counters between cycles (outside the measured window). Measured per cycle: CPU
 * (process.cpuUsage, all threads, so the libuv threads doing the reads count) and wall time around
 * collect(). Two variants, each on a fresh collector: per-pod attribution on (the default) and off
 * (the same fdinfo scan without cgroups or gpu_pod_* series): the difference is what attribution adds.
 *
 *   npx tsc -p tsconfig.test.json && node build/bench/gpu-per-pod.js [--cycles=120] [--baseline=DIR]
 *
 * `--baseline=DIR`: DIR is another compiled tree (the `build/` of an older checkout); its collector
 * runs in the same process, on the same node, interleaved cycle by cycle with this one (the order
 * rotating), so both see the same machine load: a before/after comparison that a shared machine's
 * ±30 % swings between separate runs cannot blur. `TMPDIR=/dev/shm` keeps the fixture rewrites
 * off the disk.
 *
 * Prints a Markdown section for bench/RESULTS.md ("Per-pod GPU attribution") on stdout.
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CollectorEnv } from '../src/collectors/collector';
import { HostFs } from '../src/collectors/host-fs';
import { IntelGpuCollector } from '../src/collectors/intel-gpu';

const CYCLES = Number(process.argv.find((a) => a.startsWith('--cycles='))?.slice(9) ?? 120);
/** `--node-dir=DIR`: build the node in DIR, keep it and exit (for profiling the collector on it). */
const NODE_DIR = process.argv.find((a) => a.startsWith('--node-dir='))?.slice(11);
const BASELINE = process.argv.find((a) => a.startsWith('--baseline='))?.slice(11);
const WARMUP = 10;
const GPU_PROCS = 200;
const PER_POD = 4;
const OTHER_PROCS = 300;

function repoRoot(dir: string = __dirname): string {
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

function fdinfo(id: number, n: number): string {
  const lines = [`pos:\t0`, `flags:\t0100002`, `mnt_id:\t26`, `ino:\t${id}`, 'drm-driver:\txe', `drm-client-id:\t${id}`, 'drm-pdev:\t0000:03:00.0'];
  for (const r of ['system', 'gtt', 'vram0', 'stolen']) {
    for (const k of ['total', 'shared', 'active', 'resident', 'purgeable']) lines.push(`drm-${k}-${r}:\t${r === 'vram0' ? 65536 : 0} KiB`);
  }
  for (const c of ['rcs', 'bcs', 'vcs', 'vecs', 'ccs']) {
    lines.push(`drm-cycles-${c}:\t${n * 1_000_000 + id}`, `drm-total-cycles-${c}:\t${n * 100_000_000}`);
    if (c === 'vcs' || c === 'vecs') lines.push(`drm-engine-capacity-${c}:\t2`);
  }
  return lines.join('\n') + '\n';
}

function buildNode(dir: string): void {
  fs.cpSync(path.join(repoRoot(), 'test/fixtures/hosts/k8s-dgpu/t1/sys'), path.join(dir, 'sys'), { recursive: true, verbatimSymlinks: true });
  for (let i = 0; i < GPU_PROCS + OTHER_PROCS; i++) {
    const pid = 10_000 + i;
    const base = path.join(dir, 'proc', String(pid));
    fs.mkdirSync(path.join(base, 'fd'), { recursive: true });
    fs.mkdirSync(path.join(base, 'fdinfo'), { recursive: true });
    for (let fd = 0; fd < 10; fd++) fs.symlinkSync(`pipe:[${pid * 10 + fd}]`, path.join(base, 'fd', String(fd)));
    if (i < GPU_PROCS) {
      const pod = Math.floor(i / PER_POD);
      const uid = `0000${String(pod).padStart(4, '0')}-0000-4000-8000-${String(pod).padStart(12, '0')}`.replace(/-/g, '_');
      const cid = String(i).padStart(64, '0');
      fs.writeFileSync(path.join(base, 'cgroup'), `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid}.slice/cri-containerd-${cid}.scope\n`);
      fs.symlinkSync('../../../dev/dri/renderD128', path.join(base, 'fd', '10'));
      fs.writeFileSync(path.join(base, 'fdinfo', '10'), fdinfo(100 + i, 1));
    } else {
      fs.writeFileSync(path.join(base, 'cgroup'), '0::/system.slice/some.service\n');
    }
  }
}

function rewrite(dir: string, n: number): void {
  for (let i = 0; i < GPU_PROCS; i++) fs.writeFileSync(path.join(dir, 'proc', String(10_000 + i), 'fdinfo', '10'), fdinfo(100 + i, n));
}

interface Cost {
  cpuUsPerCycle: number;
  wallUsPerCycle: number;
  samples: number;
}

async function measure(dir: string, perPod: boolean): Promise<Cost> {
  let mono = 1_000_000;
  const env: CollectorEnv = { fs: new HostFs(path.join(dir, 'proc'), path.join(dir, 'sys')), now: () => mono, monotonic: () => mono, run: () => Promise.reject(new Error('none')) };
  const c = new IntelGpuCollector(env, { perPod });
  let cpu = 0;
  let wall = 0;
  let samples = 0;
  for (let n = 0; n < WARMUP + CYCLES; n++) {
    rewrite(dir, n + 2);
    mono += 1000;
    const c0 = process.cpuUsage();
    const w0 = process.hrtime.bigint();
    const r = await c.collect();
    const w1 = process.hrtime.bigint();
    const c1 = process.cpuUsage(c0);
    if (n >= WARMUP) {
      cpu += c1.user + c1.system;
      wall += Number(w1 - w0) / 1000;
      samples = r.samples.length;
    }
  }
  return { cpuUsPerCycle: cpu / CYCLES, wallUsPerCycle: wall / CYCLES, samples };
}

interface Variant {
  name: string;
  collect: () => Promise<{ samples: unknown[] }>;
  cpu: number;
  wall: number;
  samples: number;
}

/** This build's and the baseline build's collector, per-pod on and off, interleaved on one node. */
async function compare(dir: string, baseline: string): Promise<Variant[]> {
  let mono = 1_000_000;
  const clock = { now: () => mono, monotonic: () => mono, run: () => Promise.reject(new Error('none')) };
  const builds: [string, typeof HostFs, typeof IntelGpuCollector][] = [
    ['this build', HostFs, IntelGpuCollector],
    ['baseline', require(path.resolve(baseline, 'src/collectors/host-fs')).HostFs, require(path.resolve(baseline, 'src/collectors/intel-gpu')).IntelGpuCollector],
  ];
  const variants: Variant[] = [];
  for (const [label, Fs, Gpu] of builds) {
    for (const perPod of [true, false]) {
      const c = new Gpu({ fs: new Fs(path.join(dir, 'proc'), path.join(dir, 'sys')), ...clock }, { perPod });
      variants.push({ name: `${label}, per-pod ${perPod ? 'on' : 'off'}`, collect: () => c.collect(), cpu: 0, wall: 0, samples: 0 });
    }
  }
  for (let n = 0; n < WARMUP + CYCLES; n++) {
    rewrite(dir, n + 2);
    mono += 1000;
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(n + k) % variants.length];
      const c0 = process.cpuUsage();
      const w0 = process.hrtime.bigint();
      const r = await v.collect();
      const w1 = process.hrtime.bigint();
      const c1 = process.cpuUsage(c0);
      if (n >= WARMUP) {
        v.cpu += (c1.user + c1.system) / CYCLES;
        v.wall += Number(w1 - w0) / 1000 / CYCLES;
        v.samples = r.samples.length;
      }
    }
  }
  return variants;
}

async function main(): Promise<void> {
  if (BASELINE) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-gpu-pods-'));
    try {
      buildNode(dir);
      const load0 = os.loadavg()[0].toFixed(1);
      const vs = await compare(dir, BASELINE);
      const lines = [
        `Interleaved with \`--baseline=${BASELINE}\`: ${new Date().toISOString()} · ${CYCLES} cycles after ${WARMUP} warm-up · node dir under ${os.tmpdir()} · load average ${load0} → ${os.loadavg()[0].toFixed(1)}.`,
        '',
        '| variant | CPU µs / cycle | % of a core at 1 s | wall µs / cycle | samples / cycle |',
        '|---|---|---|---|---|',
        ...vs.map((v) => `| ${v.name} | ${v.cpu.toFixed(0)} | ${((v.cpu / 1e6) * 100).toFixed(2)} | ${v.wall.toFixed(0)} | ${v.samples} |`),
        '',
      ];
      process.stdout.write(lines.join('\n'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    return;
  }
  if (NODE_DIR) {
    buildNode(NODE_DIR);
    rewrite(NODE_DIR, 2);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-gpu-pods-'));
  try {
    buildNode(dir);
    const off = await measure(dir, false);
    const on = await measure(dir, true);
    const pct = (us: number) => ((us / 1e6) * 100).toFixed(2);
    const load = os.loadavg()[0].toFixed(1);
    const out = [
      '## Per-pod GPU attribution',
      '',
      `Written by \`node build/bench/gpu-per-pod.js\` (run alone; not part of \`npm run bench\`). ${new Date().toISOString()} · ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}) · node ${process.version} · ${CYCLES} cycles after ${WARMUP} warm-up · load average ${load}.`,
      '',
      `Node: one xe dGPU, ${GPU_PROCS} processes holding one DRM client each (${GPU_PROCS / PER_POD} pods × ${PER_POD}, cgroup v2, systemd driver), ${OTHER_PROCS} processes without GPU fds; the collector at 1 s, every client's counters advancing each cycle. Budget: 1 % of a core = 10,000 µs CPU per 1 s cycle.`,
      '',
      '| variant | CPU µs / cycle | % of a core at 1 s | wall µs / cycle | samples / cycle |',
      '|---|---|---|---|---|',
      `| per-pod attribution on (default) | ${off && on.cpuUsPerCycle.toFixed(0)} | ${pct(on.cpuUsPerCycle)} | ${on.wallUsPerCycle.toFixed(0)} | ${on.samples} |`,
      `| per-pod off (same fdinfo scan, card totals only) | ${off.cpuUsPerCycle.toFixed(0)} | ${pct(off.cpuUsPerCycle)} | ${off.wallUsPerCycle.toFixed(0)} | ${off.samples} |`,
      '',
      `Attribution adds ${(on.cpuUsPerCycle - off.cpuUsPerCycle).toFixed(0)} µs per cycle (${((on.cpuUsPerCycle / off.cpuUsPerCycle - 1) * 100).toFixed(0)} % over the scan alone).`,
      '',
    ];
    process.stdout.write(out.join('\n'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
