/**
 * Fidelity: our cpu and mem collectors against the real prometheus-node-exporter (Debian) on this
 * machine's /proc, over the same interval. CPU busy % = 100 − idle % (node_exporter: from
 * node_cpu_seconds_total deltas summed over CPUs) and memory used % (node_exporter:
 * 100 × (MemTotal − MemAvailable) / MemTotal) must agree within 1 percentage point.
 */

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import type { CollectorEnv } from '../../src/collectors/collector';
import { CpuCollector } from '../../src/collectors/cpu';
import { HostFs } from '../../src/collectors/host-fs';
import { MemCollector } from '../../src/collectors/mem';
import type { Sample } from '../../src/model/sample';
import { parsePrometheusText } from '../../src/formats/prometheus/parse';
import { freePort, requireTool } from '../helpers/tools';

const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter';
const INTERVAL_MS = 2000;
const TOLERANCE_PP = 1;


const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Starts node_exporter with only the cpu and meminfo collectors; retries if the port was taken. */
async function startExporter(track: ChildProcess[]): Promise<string> {
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(
      NODE_EXPORTER,
      [`--web.listen-address=127.0.0.1:${port}`, '--collector.disable-defaults', '--collector.cpu', '--collector.meminfo'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    track.push(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 8192) stderr += d.toString();
    });
    const url = `http://127.0.0.1:${port}/metrics`;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
      try {
        const res = await fetch(url);
        if (res.ok) {
          await res.text();
          return url;
        }
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    child.kill('SIGKILL');
    lastError = stderr.trim().split('\n').slice(-3).join(' | ') || 'did not answer within 10 s';
  }
  throw new Error(`node_exporter did not start: ${lastError}`);
}

interface NodeSnapshot {
  /** Summed over CPUs: seconds per mode. */
  cpuModes: Map<string, number>;
  memTotal: number;
  memAvailable: number;
}

async function scrape(url: string): Promise<NodeSnapshot> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  const parsed = parsePrometheusText(await res.text());
  assert.deepEqual(parsed.errors, []);
  const cpuModes = new Map<string, number>();
  let memTotal = NaN;
  let memAvailable = NaN;
  for (const fam of parsed.families) {
    for (const s of fam.samples) {
      if (s.name === 'node_cpu_seconds_total') cpuModes.set(s.labels.mode, (cpuModes.get(s.labels.mode) ?? 0) + s.value);
      else if (s.name === 'node_memory_MemTotal_bytes') memTotal = s.value;
      else if (s.name === 'node_memory_MemAvailable_bytes') memAvailable = s.value;
    }
  }
  assert.ok(cpuModes.has('idle'), 'node_exporter gave no node_cpu_seconds_total{mode="idle"}');
  assert.ok(memTotal > 0 && memAvailable >= 0, 'node_exporter gave no MemTotal/MemAvailable');
  return { cpuModes, memTotal, memAvailable };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  assert.ok(s, `our collector gave no ${name}`);
  return s.value;
}

describe('collectors: fidelity against prometheus-node-exporter on this machine', function () {
  this.timeout(60_000);
  const children: ChildProcess[] = [];

  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  it(`CPU busy % and memory used % agree within ${TOLERANCE_PP} percentage point over the same interval`, async function () {
    if (!requireTool(this, NODE_EXPORTER, 'prometheus-node-exporter')) return;
    const url = await startExporter(children);

    const env: CollectorEnv = {
      fs: new HostFs('/proc', '/sys'),
      now: Date.now,
      monotonic: () => performance.now(),
      run: () => Promise.reject(new Error('not used')),
    };
    const cpu = new CpuCollector(env, { perCpu: false });
    const mem = new MemCollector(env);

    // Steady load on one CPU across the whole interval (it ends by itself should the kill fail).
    const load = spawn(process.execPath, ['-e', `const end = Date.now() + ${INTERVAL_MS + 8000}; while (Date.now() < end) {}`], { stdio: 'ignore' });
    children.push(load);
    await sleep(300);

    const [n0, c0] = await Promise.all([scrape(url), cpu.collect()]);
    assert.deepEqual(c0.samples, [], 'first cpu collect must give no samples');
    await sleep(INTERVAL_MS);
    const [n1, c1, m1] = await Promise.all([scrape(url), cpu.collect(), mem.collect()]);
    load.kill('SIGKILL');

    let dTotal = 0;
    for (const [mode, v] of n1.cpuModes) dTotal += v - (n0.cpuModes.get(mode) ?? 0);
    const dIdle = n1.cpuModes.get('idle')! - n0.cpuModes.get('idle')!;
    assert.ok(dTotal > 0, 'no CPU time passed for node_exporter');
    const nodeBusy = 100 * (1 - dIdle / dTotal);
    const ourBusy = 100 - value(c1.samples, 'cpu_usage_idle', { cpu: 'cpu-total' });
    const nodeMemUsed = (100 * (n1.memTotal - n1.memAvailable)) / n1.memTotal;
    const ourMemUsed = value(m1.samples, 'mem_used_percent');

    console.log(
      `      fidelity: CPU busy ours ${ourBusy.toFixed(3)} % vs node_exporter ${nodeBusy.toFixed(3)} %; ` +
        `memory used ours ${ourMemUsed.toFixed(3)} % vs node_exporter ${nodeMemUsed.toFixed(3)} %`,
    );
    assert.ok(nodeBusy > 5, `the load child should make the CPU visibly busy (node_exporter says ${nodeBusy.toFixed(2)} %)`);
    assert.ok(Math.abs(ourBusy - nodeBusy) <= TOLERANCE_PP, `CPU busy differs by ${Math.abs(ourBusy - nodeBusy).toFixed(3)} pp`);
    assert.ok(Math.abs(ourMemUsed - nodeMemUsed) <= TOLERANCE_PP, `memory used differs by ${Math.abs(ourMemUsed - nodeMemUsed).toFixed(3)} pp`);
  });
});
