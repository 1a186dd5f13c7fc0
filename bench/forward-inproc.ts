/**
 * Forwarding throughput, one sink driven in-process at full speed (not a test). Run by bench/run.ts
 * as
 *
 *   node build/bench/forward-inproc.js --sink=remote-write|influx-v1 (--url=<VictoriaMetrics> --vm-pid=<pid> | --stub)
 *        [--samples=1000000] [--series=10000] [--batch=500]
 *
 * Samples: `--series` realistic custom series (bench/lib/bodies.ts pushSeries: 20 names × node,
 * pipeline, device labels), `--samples / --series` points each, one second apart in the past hour,
 * handed to the sink's accept() in batches of `--batch` (one instant of many series per batch, as
 * a scrape or a Telegraf flush gives them), generated as they are pushed. The sink is the agent's
 * own RemoteWriteSink or InfluxV1Sink with its default queue and batch sizes, no hub (see
 * src/sinks/README.md); the push loop waits while more than half the queue bound is buffered.
 *
 * With --url: the sink posts to VictoriaMetrics (`/api/v1/write` or `/write`; VictoriaMetrics must
 * run with -influxSkipSingleField so line protocol keeps the names); the clock stops when
 * VictoriaMetrics' own vm_rows_inserted_total counter has every sample, after which this script
 * forces a flush and reads the data back through /api/v1/export (distinct series, samples) as a
 * check. With --stub: fetch is a stub that answers 204 at once (the encoding cost alone).
 *
 * Prints one `BENCH_RESULT {json}` line.
 */

import { performance } from 'node:perf_hooks';
import { createLogger } from '../src/log/logger';
import type { Labels, Sample } from '../src/model/sample';
import { InfluxV1Sink, RemoteWriteSink, type FetchLike, type ForwardingSink, type SinkStats } from '../src/sinks';
import { pushSeries } from './lib/bodies';
import { cpuSeconds, sleep } from './lib/procs';

export interface ForwardInprocResult {
  sink: string;
  stub: boolean;
  samples: number;
  series: number;
  batch: number;
  /** Push start → every sample acknowledged (drain resolved). */
  ackS: number;
  /** Push start → VictoriaMetrics counted every row (= ackS with --stub). */
  endToEndS: number;
  samplesPerS: number;
  /** This process (generation + sink), utime+stime over push start → end. */
  cpuS: number;
  /** Generating the same samples without a sink (CPU s), measured first. */
  generateCpuS: number;
  rssBytes: number;
  vmCpuS?: number;
  vmRows?: number;
  /** Check after a forced flush: series and samples VictoriaMetrics returns. */
  vmSeries?: number;
  vmExported?: number;
  stats: SinkStats;
  drained: boolean;
  error?: string;
}

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const SINK = opt('sink') ?? 'remote-write';
const URL_ = opt('url');
const STUB = argv.includes('--stub');
const VM_PID = Number(opt('vm-pid') ?? -1);
const SAMPLES = Number(opt('samples') ?? 1_000_000);
const SERIES = Number(opt('series') ?? 10_000);
const BATCH = Number(opt('batch') ?? 500);
const POINTS = Math.ceil(SAMPLES / SERIES);
const QUEUE_MAX = 16 * 1024 * 1024; // the default FORWARD_QUEUE_MAX_BYTES

const NAMES: string[] = [];
const LABELS: Labels[] = [];
for (let i = 0; i < SERIES; i++) {
  const s = pushSeries(i);
  NAMES.push(s.name);
  LABELS.push(s.tags);
}
const T0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;

/** Batch b of the sample stream: point p = b·BATCH / SERIES of series b·BATCH % SERIES …, one second apart per point. */
function* batches(): Generator<Sample[]> {
  let sent = 0;
  for (let p = 0; p < POINTS && sent < SAMPLES; p++) {
    const ts = T0 + p * 1000;
    for (let from = 0; from < SERIES && sent < SAMPLES; from += BATCH) {
      const to = Math.min(SERIES, from + BATCH, from + (SAMPLES - sent));
      const out: Sample[] = new Array(to - from);
      for (let i = from; i < to; i++) out[i - from] = { name: NAMES[i], labels: LABELS[i], value: (i % 1000) + p / 100, timestampMs: ts, type: 'gauge' };
      sent += to - from;
      yield out;
    }
  }
}

const stubFetch: FetchLike = async () => ({ status: 204, headers: { get: () => null }, text: async () => '' });

async function vmRows(url: string, type: string): Promise<number> {
  const page = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^vm_rows_inserted_total\\{type="${type}"\\} (\\S+)$`, 'm').exec(page);
  return m ? Number(m[1]) : 0;
}

async function main(): Promise<void> {
  if (!STUB && !URL_) throw new Error('--url or --stub is required');
  // The generation cost alone, for reference (and warms the generator up).
  const g0 = process.cpuUsage();
  let generated = 0;
  for (const b of batches()) generated += b.length;
  const gen = process.cpuUsage(g0);
  if (generated !== SAMPLES) throw new Error(`generated ${generated} samples, want ${SAMPLES}`);

  const logger = createLogger({ level: 'error', format: 'json', service: 'bench', version: 'bench', silent: true });
  const common = { hub: { subscribe: () => () => {} }, logger, debounceMs: () => 100, queueMaxBytes: QUEUE_MAX, ...(STUB ? { fetch: stubFetch } : {}) };
  const base = URL_ ?? 'http://127.0.0.1:9';
  let sink: ForwardingSink;
  let rowType: string;
  if (SINK === 'remote-write') {
    sink = new RemoteWriteSink({ ...common, url: `${base}/api/v1/write` });
    rowType = 'promremotewrite';
  } else if (SINK === 'influx-v1') {
    sink = new InfluxV1Sink({ ...common, url: `${base}/write` });
    rowType = 'influx';
  } else throw new Error(`unknown --sink=${SINK}`);
  await sink.start();
  const rows0 = STUB ? 0 : await vmRows(base, rowType);
  const vmCpu0 = VM_PID > 0 ? cpuSeconds(VM_PID) : NaN;

  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const b of batches()) {
    sink.accept({ samples: b, origin: 'custom' });
    // Backpressure: let the sender catch up instead of overflowing the queue (which would drop).
    while (sink.stats().queueBytes > QUEUE_MAX / 2) await sleep(1);
  }
  const drained = await sink.drain(180_000);
  const ackS = (performance.now() - t0) / 1000;
  let endToEndS = ackS;
  let rows: number | undefined;
  if (!STUB) {
    const until = Date.now() + 60_000;
    for (;;) {
      rows = (await vmRows(base, rowType)) - rows0;
      if (rows >= SAMPLES || Date.now() > until) break;
      await sleep(20);
    }
    endToEndS = (performance.now() - t0) / 1000;
  }
  const cpu = process.cpuUsage(c0);
  const vmCpuS = VM_PID > 0 ? cpuSeconds(VM_PID) - vmCpu0 : undefined;
  const stats = sink.stats();
  const rssBytes = process.memoryUsage().rss;
  await sink.stop(1000);

  const result: ForwardInprocResult = {
    sink: SINK, stub: STUB, samples: SAMPLES, series: SERIES, batch: BATCH, ackS, endToEndS,
    samplesPerS: SAMPLES / endToEndS, cpuS: (cpu.user + cpu.system) / 1e6, generateCpuS: (gen.user + gen.system) / 1e6,
    rssBytes, vmCpuS, vmRows: rows, stats, drained,
  };
  if (!STUB) {
    // The check: everything is there, read back through the query API after a forced flush.
    await fetch(`${base}/internal/force_flush`);
    const check = await readBack(base);
    result.vmSeries = check.series;
    result.vmExported = check.samples;
  }
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}

/** Series and samples VictoriaMetrics returns for the pushed names (polled briefly: indexing is asynchronous). */
async function readBack(base: string): Promise<{ series: number; samples: number }> {
  const names = [...new Set(NAMES)].join('|');
  const match = encodeURIComponent(`{__name__=~"${names}"}`);
  let last = { series: 0, samples: 0 };
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    const res = await fetch(`${base}/api/v1/export?match[]=${match}&start=${Math.floor(T0 / 1000) - 60}`);
    const text = await res.text();
    if (!res.ok) throw new Error(`export: HTTP ${res.status} ${text.slice(0, 200)}`);
    // A series may come in several lines (one per stored block): count distinct label sets.
    const seen = new Set<string>();
    let samples = 0;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const row = JSON.parse(line) as { metric: Record<string, string>; timestamps: number[] };
      seen.add(JSON.stringify(Object.entries(row.metric).sort()));
      samples += row.timestamps.length;
    }
    const series = seen.size;
    last = { series, samples };
    if (series >= SERIES && samples >= SAMPLES) break;
    await sleep(500);
    await fetch(`${base}/internal/force_flush`);
  }
  return last;
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`forward-inproc: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
