/**
 * What the scheduler, hub and store cost per collection cycle of a big node, without the
 * collectors' own file reads (not a test, not run by `npm run bench`):
 *
 *   npx tsc -p tsconfig.test.json && node build/bench/scheduler-cost.js [--cycles=2000] [--cpus=256]
 *
 * A stand-in collector hands over ready samples as the cpu collector does (8 fields per CPU, one
 * labels object per CPU reused across cycles, names built once); CollectorScheduler.runOnce() adds
 * the host label and writes them through a real Hub into a real SeriesStore with history on, the
 * clock 1 s further each cycle. Reported: CPU (process.cpuUsage) and wall time per cycle, after
 * 200 warm-up cycles. Prints one `BENCH_RESULT {json}` line.
 */

import type { Collection, Collector } from '../src/collectors/collector';
import { LabelCache } from '../src/collectors/labels';
import { CollectorScheduler } from '../src/collectors/scheduler';
import { parseConfig } from '../src/config/load';
import { Hub } from '../src/hub/hub';
import { createLogger } from '../src/log/logger';
import type { Sample } from '../src/model/sample';
import { SeriesStore } from '../src/store/series-store';
import { SelfMetrics } from '../src/telemetry/self-metrics';

const arg = (name: string, dflt: number): number => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt);
const CYCLES = arg('cycles', 2000);
const CPUS = arg('cpus', 256);
const FIELDS = ['user', 'system', 'idle', 'nice', 'iowait', 'irq', 'softirq', 'steal'];
const NAMES = FIELDS.map((f) => `cpu_usage_${f}`);

async function main(): Promise<void> {
  const labels = new LabelCache('cpu');
  let tick = 0;
  const collector: Collector = {
    name: 'cpu',
    defaultIntervalMs: 1000,
    collect: async (): Promise<Collection> => {
      const samples: Sample[] = [];
      for (let c = 0; c < CPUS; c++) {
        const l = labels.get(`cpu${c}`);
        for (let f = 0; f < NAMES.length; f++) samples.push({ name: NAMES[f], labels: l, value: ((c + f + tick) % 100) + 0.25, type: 'gauge', help: 'h' });
      }
      return { samples, present: true };
    },
  };
  const config = parseConfig({});
  let now = Date.UTC(2026, 0, 1);
  const store = new SeriesStore(() => config, () => now);
  const hub = new Hub(store, new SelfMetrics({ series: () => store.size, bytes: () => store.bytes }));
  const logger = createLogger({ level: 'error', format: 'json', service: 'bench', version: 'bench', silent: true });
  const scheduler = new CollectorScheduler([{ collector, intervalMs: 1000 }], hub, 'bench-host', logger, () => now);
  const cycle = async (): Promise<void> => {
    now += 1000;
    tick++;
    await scheduler.runOnce();
  };
  for (let i = 0; i < 200; i++) await cycle();
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  for (let i = 0; i < CYCLES; i++) await cycle();
  const cpu = process.cpuUsage(cpu0);
  const wallUs = Number(process.hrtime.bigint() - wall0) / 1e3;
  const result = {
    cycles: CYCLES, samplesPerCycle: CPUS * NAMES.length, series: store.size,
    cpuUsPerCycle: (cpu.user + cpu.system) / CYCLES, wallUsPerCycle: wallUs / CYCLES,
  };
  process.stderr.write(`scheduler-cost: ${result.samplesPerCycle} samples per cycle: ${result.cpuUsPerCycle.toFixed(0)} µs CPU, ${result.wallUsPerCycle.toFixed(0)} µs wall per cycle\n`);
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`scheduler-cost: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
