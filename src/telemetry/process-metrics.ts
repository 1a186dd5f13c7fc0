/**
 * The process and Node.js runtime metrics of /metrics/self (`<prefix>process_*`, `<prefix>nodejs_*`),
 * with the names, types, help texts and labels the agent exposed before it had its own registry, so
 * dashboards and alerts keep working. Read at scrape time from /proc/self, `process`, `v8` and
 * `perf_hooks`; only the GC durations and the event-loop delay are recorded between scrapes.
 *
 * Not exposed (see docs/api.md): `nodejs_active_handles`, `nodejs_active_requests` and their
 * `_total` gauges (read through private Node.js APIs; `nodejs_active_resources` covers both), and
 * `nodejs_active_resources_total` (the sum of `nodejs_active_resources`, and a gauge named like a
 * counter, which `promtool check metrics` reports).
 */

import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { PerformanceObserver, constants as perfConstants, monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { statusBytes } from '../memory/memory-guard';
import { Counter, Gauge, Histogram, type Registry } from './registry';

/** `Max open files` soft limit from /proc/<pid>/limits text; Infinity for `unlimited`, undefined when absent. */
export function parseMaxOpenFiles(limits: string): number | undefined {
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(limits);
  if (m === null) return undefined;
  return m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

/** `v24.1.0` → its parts, as labels of nodejs_version_info. */
export function versionLabels(version: string): { version: string; major: string; minor: string; patch: string } {
  const [major = '', minor = '', patch = ''] = version.replace(/^v/, '').split('.');
  return { version, major, minor, patch };
}

const GC_KINDS: Record<number, string> = {
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/**
 * What is recorded between scrapes. The process has one event loop and one garbage collector, so
 * there is one recorder per process, started by the first registry that asks (a second observer
 * would only measure the same thing again). Registries of the same process share its figures;
 * the event-loop delay statistics restart at each scrape of any of them.
 */
interface Recorders {
  readonly loopDelay: IntervalHistogram;
  readonly gcNames: Map<string, Histogram<'kind'>>;
}
let recorders: Recorders | undefined;

function startRecorders(): Recorders {
  if (recorders) return recorders;
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const gcNames = new Map<string, Histogram<'kind'>>();
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = GC_KINDS[(e as { detail?: { kind?: number } }).detail?.kind ?? -1];
      if (kind === undefined) continue;
      for (const h of gcNames.values()) h.observe({ kind }, e.duration / 1000);
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  recorders = { loopDelay, gcNames };
  return recorders;
}

export interface ProcessSources {
  /** Directory of the process's /proc entry (status, limits, fd/). */
  procSelf: string;
}

/** Registers the process and runtime metrics on `registry`, names prefixed with `prefix`. */
export function registerProcessMetrics(registry: Registry, prefix: string, src: ProcessSources = { procSelf: '/proc/self' }): void {
  const rec = startRecorders();
  const p = prefix;

  const cpuUser = new Counter({ name: `${p}process_cpu_user_seconds_total`, help: 'Total user CPU time spent in seconds.', registry });
  const cpuSystem = new Counter({ name: `${p}process_cpu_system_seconds_total`, help: 'Total system CPU time spent in seconds.', registry });
  new Counter({
    name: `${p}process_cpu_seconds_total`, help: 'Total user and system CPU time spent in seconds.', registry,
    collect() {
      const u = process.cpuUsage();
      cpuUser.reset(); cpuUser.inc(u.user / 1e6);
      cpuSystem.reset(); cpuSystem.inc(u.system / 1e6);
      this.reset(); this.inc((u.user + u.system) / 1e6);
    },
  });

  const startSeconds = Math.round(Date.now() / 1000 - process.uptime());
  new Gauge({
    name: `${p}process_start_time_seconds`, help: 'Start time of the process since unix epoch in seconds.', registry,
    collect() { this.set(startSeconds); },
  });

  const statusPath = path.join(src.procSelf, 'status');
  const virtual = new Gauge({ name: `${p}process_virtual_memory_bytes`, help: 'Virtual memory size in bytes.' });
  const heap = new Gauge({ name: `${p}process_heap_bytes`, help: 'Process heap size in bytes.' });
  new Gauge({
    name: `${p}process_resident_memory_bytes`, help: 'Resident memory size in bytes.', registry,
    collect() {
      let status: string;
      try {
        status = fs.readFileSync(statusPath, 'utf8');
      } catch {
        return; // not Linux: the three gauges keep 0
      }
      this.set(statusBytes(status, 'VmRSS') ?? 0);
      virtual.set(statusBytes(status, 'VmSize') ?? 0);
      heap.set(statusBytes(status, 'VmData') ?? 0);
    },
  });
  registry.register(virtual);
  registry.register(heap);

  const fdDir = path.join(src.procSelf, 'fd');
  new Gauge({
    name: `${p}process_open_fds`, help: 'Number of open file descriptors.', registry,
    collect() {
      try {
        // readdir opens the directory itself: that descriptor is not the agent's.
        this.set(fs.readdirSync(fdDir).length - 1);
      } catch {
        /* not Linux */
      }
    },
  });
  let maxFds: number | undefined;
  try {
    maxFds = parseMaxOpenFiles(fs.readFileSync(path.join(src.procSelf, 'limits'), 'utf8'));
  } catch {
    maxFds = undefined;
  }
  if (maxFds !== undefined) {
    const max = maxFds;
    new Gauge({
      name: `${p}process_max_fds`, help: 'Maximum number of open file descriptors.', registry,
      collect() { this.set(max); },
    });
  }

  // Event-loop delay: `lag` is the time from one scrape to the next turn of the loop (shown by the
  // following scrape); the others summarise the sampled delay since the previous scrape.
  const h = rec.loopDelay;
  const lagStat = (name: string, help: string) => new Gauge({ name: `${p}nodejs_eventloop_lag_${name}_seconds`, help });
  const lagMin = lagStat('min', 'The minimum recorded event loop delay.');
  const lagMax = lagStat('max', 'The maximum recorded event loop delay.');
  const lagMean = lagStat('mean', 'The mean of the recorded event loop delays.');
  const lagStddev = lagStat('stddev', 'The standard deviation of the recorded event loop delays.');
  const lagP50 = lagStat('p50', 'The 50th percentile of the recorded event loop delays.');
  const lagP90 = lagStat('p90', 'The 90th percentile of the recorded event loop delays.');
  const lagP99 = lagStat('p99', 'The 99th percentile of the recorded event loop delays.');
  new Gauge({
    name: `${p}nodejs_eventloop_lag_seconds`, help: 'Lag of event loop in seconds.', registry,
    collect() {
      const start = process.hrtime.bigint();
      setImmediate(() => this.set(Number(process.hrtime.bigint() - start) / 1e9));
      lagMin.set(h.min / 1e9);
      lagMax.set(h.max / 1e9);
      lagMean.set(h.mean / 1e9);
      lagStddev.set(h.stddev / 1e9);
      lagP50.set(h.percentile(50) / 1e9);
      lagP90.set(h.percentile(90) / 1e9);
      lagP99.set(h.percentile(99) / 1e9);
      h.reset();
    },
  });
  for (const g of [lagMin, lagMax, lagMean, lagStddev, lagP50, lagP90, lagP99]) registry.register(g);

  new Gauge<'type'>({
    name: `${p}nodejs_active_resources`, help: 'Number of active resources that are currently keeping the event loop alive, grouped by async resource type.',
    labelNames: ['type'], registry,
    collect() {
      this.reset();
      for (const type of process.getActiveResourcesInfo()) this.inc({ type });
    },
  });

  const heapUsed = new Gauge({ name: `${p}nodejs_heap_size_used_bytes`, help: 'Process heap size used from Node.js in bytes.' });
  const external = new Gauge({ name: `${p}nodejs_external_memory_bytes`, help: 'Node.js external memory size in bytes.' });
  new Gauge({
    name: `${p}nodejs_heap_size_total_bytes`, help: 'Process heap size from Node.js in bytes.', registry,
    collect() {
      const m = process.memoryUsage();
      this.set(m.heapTotal);
      heapUsed.set(m.heapUsed);
      external.set(m.external);
    },
  });
  registry.register(heapUsed);
  registry.register(external);

  const spaceHelp = (kind: string) => `Process heap space size ${kind} from Node.js in bytes.`;
  const spaceUsed = new Gauge<'space'>({ name: `${p}nodejs_heap_space_size_used_bytes`, help: spaceHelp('used'), labelNames: ['space'] });
  const spaceAvailable = new Gauge<'space'>({ name: `${p}nodejs_heap_space_size_available_bytes`, help: spaceHelp('available'), labelNames: ['space'] });
  new Gauge<'space'>({
    name: `${p}nodejs_heap_space_size_total_bytes`, help: spaceHelp('total'), labelNames: ['space'], registry,
    collect() {
      for (const s of v8.getHeapSpaceStatistics()) {
        const space = s.space_name.endsWith('_space') ? s.space_name.slice(0, -'_space'.length) : s.space_name;
        this.set({ space }, s.space_size);
        spaceUsed.set({ space }, s.space_used_size);
        spaceAvailable.set({ space }, s.space_available_size);
      }
    },
  });
  registry.register(spaceUsed);
  registry.register(spaceAvailable);

  const version = versionLabels(process.version);
  new Gauge<'version' | 'major' | 'minor' | 'patch'>({
    name: `${p}nodejs_version_info`, help: 'Node.js version info.', labelNames: ['version', 'major', 'minor', 'patch'], registry,
    collect() { this.set(version, 1); },
  });

  const gcName = `${p}nodejs_gc_duration_seconds`;
  let gc = rec.gcNames.get(gcName);
  if (gc === undefined) {
    gc = new Histogram<'kind'>({
      name: gcName, help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
      labelNames: ['kind'], buckets: [0.001, 0.01, 0.1, 1, 2, 5],
    });
    rec.gcNames.set(gcName, gc);
  }
  registry.register(gc);
}
