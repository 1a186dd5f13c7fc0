/**
 * Store memory, measured in-process (not a test). Run by bench/run.ts as
 *
 *   node --expose-gc build/bench/store-memory.js
 *
 * Samples go through the real JSON batch path (JSON.parse → parseBatch → SeriesStore.write), so
 * the strings and label objects the store keeps are the ones a push would leave it. Memory is
 * heapUsed + external (external includes the ArrayBuffers behind history rings), after full GCs,
 * as a delta against the same process before the store existed.
 *
 * Prints a human summary and one `BENCH_RESULT {json}` line.
 *
 *   node --expose-gc build/bench/store-memory.js --mix [--series=N] [--points=N] [--runs=gauge,counter+constant,…] [--no-warmup]
 *
 * measures instead history bytes per point on a realistic mix, an hour at 1 s by default (see
 * mixMain): one-decimal gauges that wander, integer counters with a jittered rate, constants; each
 * kind in a store of its own, then all three together, through SeriesStore.write. It reports the
 * chunk arena's bytes, store.bytes (series objects, open chunks and chunk references included) and
 * measured heap+external per history point, and the time the write path took per point.
 */

import { parseBatch } from '../src/formats/json/parse';
import { SeriesStore, type StoreLimits } from '../src/store/series-store';
import { pushBatchJson } from './lib/bodies';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  process.stderr.write('store-memory: run with node --expose-gc\n');
  process.exit(2);
}

interface Mem {
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  total: number;
}

function measure(): Mem {
  for (let i = 0; i < 4; i++) gc!();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, total: m.heapUsed + m.external };
}

function diff(a: Mem, b: Mem): Mem {
  return { heapUsed: b.heapUsed - a.heapUsed, external: b.external - a.external, arrayBuffers: b.arrayBuffers - a.arrayBuffers, total: b.total - a.total };
}

const T0 = Date.UTC(2025, 0, 1);

function newStore(historySeconds: number): SeriesStore {
  const limits: StoreLimits = { retentionSeconds: 86400, maxSeries: 10_000_000, maxSystemSeries: 10_000_000, maxStoreBytes: Number.MAX_SAFE_INTEGER, historySeconds };
  let now = T0;
  // The clock only moves forward a little, so nothing expires during the measurement.
  return new SeriesStore(() => limits, () => (now += 1));
}

/** Writes series [0, n) once each at time t, through JSON text and the batch parser. */
function pushRound(store: SeriesStore, n: number, t: number, round: number): void {
  for (let from = 0; from < n; from += 1000) {
    const to = Math.min(n, from + 1000);
    const text = pushBatchJson(from, to, (i) => (i * 7 + round) % 1000 / 10, t);
    const { samples } = parseBatch(JSON.parse(text), 1000);
    const res = store.write(samples, 'custom');
    if (res.stored !== to - from) throw new Error(`store kept ${res.stored} of ${to - from} samples`);
  }
}

function singlePoint(n: number): { mem: Mem; storeBytes: number; size: number } {
  const before = measure();
  const store = newStore(3600);
  pushRound(store, n, T0, 0);
  const mem = diff(before, measure());
  return { mem, storeBytes: store.bytes, size: store.size };
}

function history(n: number, points: number): { one: Mem; full: Mem; storeBytesOne: number; storeBytesFull: number; size: number } {
  const before = measure();
  const store = newStore(3600);
  pushRound(store, n, T0, 0);
  const one = diff(before, measure());
  const storeBytesOne = store.bytes;
  for (let p = 1; p < points; p++) pushRound(store, n, T0 + p * 1000, p);
  const full = diff(before, measure());
  const pts = store.get(store.all().next().value!.key)!.points().length;
  if (pts !== points) throw new Error(`expected ${points} points per series, found ${pts}`);
  return { one, full, storeBytesOne, storeBytesFull: store.bytes, size: store.size };
}

function mb(n: number): string {
  return (n / 1048576).toFixed(1);
}

function main(): void {
  const SERIES = 100_000;
  const HIST_SERIES = 1000;
  const HIST_POINTS = 300;

  // Warm up the code paths (and their allocations) so they do not count as store memory.
  history(200, 8);
  singlePoint(2000);

  const a = singlePoint(SERIES);
  const b = history(HIST_SERIES, HIST_POINTS);

  const mbPer100k = (a.mem.total / SERIES) * 100_000 / 1048576;
  const bytesPerSeries = a.mem.total / SERIES;
  const extraPoints = HIST_SERIES * (HIST_POINTS - 1);
  const bytesPerPoint = (b.full.total - b.one.total) / extraPoints;
  const estPerPoint = (b.storeBytesFull - b.storeBytesOne) / extraPoints;

  const out = {
    single: { series: a.size, heapUsed: a.mem.heapUsed, external: a.mem.external, total: a.mem.total, storeBytes: a.storeBytes, mbPer100k, bytesPerSeries, estBytesPerSeries: a.storeBytes / a.size },
    history: {
      series: b.size,
      points: HIST_POINTS,
      onePoint: b.one,
      full: b.full,
      storeBytesOne: b.storeBytesOne,
      storeBytesFull: b.storeBytesFull,
      bytesPerExtraPoint: bytesPerPoint,
      estBytesPerExtraPoint: estPerPoint,
    },
  };
  process.stdout.write(
    `(a) ${a.size} series × 1 point: ${mb(a.mem.total)} MB measured (heap ${mb(a.mem.heapUsed)} + external ${mb(a.mem.external)}), ` +
      `${bytesPerSeries.toFixed(0)} B/series; store.bytes ${mb(a.storeBytes)} MB\n` +
      `(b) ${b.size} series × ${HIST_POINTS} points: ${mb(b.full.total)} MB (1-point baseline ${mb(b.one.total)} MB), ` +
      `${bytesPerPoint.toFixed(1)} B per extra point; store.bytes says ${estPerPoint.toFixed(1)} B\n`,
  );
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(out)}\n`);
}

type Kind = 'gauge' | 'counter' | 'constant';

/** A deterministic value stream per series of a kind (the same for every build being compared). */
function valueStream(kind: Kind, seed: number): () => number {
  let x = (seed * 2654435761) >>> 0 || 1;
  const rnd = (): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 4294967296;
  };
  if (kind === 'gauge') {
    // One decimal, as parsed from text ("41.7"): an integer count of tenths, moved by at most ±0.5 a step.
    let tenths = Math.floor(rnd() * 1000);
    return () => (tenths = Math.max(0, tenths + Math.round(rnd() * 10 - 5))) / 10;
  }
  if (kind === 'counter') {
    // Rates from 10/s to 10,000/s, each step ±20 % around the series' rate.
    const rate = Math.round(10 ** (1 + 3 * rnd()));
    let c = Math.floor(rnd() * 1e6);
    return () => (c += Math.round(rate * (0.8 + 0.4 * rnd())));
  }
  const constants = [0, 1, 42, 0.5, 1024, 100, 3.3, 8];
  const v = constants[seed % constants.length];
  return () => v;
}

interface MixResult {
  kinds: string;
  series: number;
  points: number;
  historyPoints: number;
  arenaBytesPerPoint: number;
  storeBytesPerPoint: number;
  measuredBytesPerPoint: number;
  storeBytes: number;
  measuredBytes: number;
  measuredHeap: number;
  measuredExternal: number;
  writeNsPerPoint: number;
}

/**
 * measure() once the previous run's ArrayBuffers are really gone: V8 frees their backing stores on
 * a background thread, so `external` right after a GC can still count a dropped store's slabs.
 */
async function measureSettled(): Promise<Mem> {
  measure();
  await new Promise((r) => setTimeout(r, 300));
  return measure();
}

/** `series` series of the given kinds (round-robin), `points` points each at 1 s. */
async function mixRun(kinds: readonly Kind[], series: number, points: number): Promise<MixResult> {
  const streams: Array<() => number> = [];
  const samples = [] as Array<{ name: string; labels: Record<string, string>; value: number; timestampMs: number; type: 'gauge' | 'counter' }>;
  for (let i = 0; i < series; i++) {
    const kind = kinds[i % kinds.length];
    streams.push(valueStream(kind, i + 1));
    samples.push({ name: `mix_${kind}${kind === 'counter' ? '_total' : ''}`, labels: { instance: `host-${i % 50}`, id: String(i) }, value: 0, timestampMs: 0, type: kind === 'counter' ? 'counter' : 'gauge' });
  }
  // The samples and generators are the bench's, not the store's: made before the baseline.
  const before = await measureSettled();
  const store = newStore(3600);
  let storeBytesOne = 0;
  let writeNs = 0n;
  for (let p = 0; p < points; p++) {
    for (let i = 0; i < series; i++) {
      samples[i].value = streams[i]();
      samples[i].timestampMs = T0 + p * 1000;
    }
    const t0 = process.hrtime.bigint();
    const res = store.write(samples, 'custom');
    writeNs += process.hrtime.bigint() - t0;
    if (res.stored !== series) throw new Error(`store kept ${res.stored} of ${series} samples`);
    if (p === 0) storeBytesOne = store.bytes;
  }
  const mem = diff(before, await measureSettled());
  const historyPoints = series * (points - 1);
  if (store.historyTrims.window + store.historyTrims.max_bytes !== 0) throw new Error('history was trimmed during the measurement');
  const first = store.get(store.all().next().value!.key)!;
  if (first.points().length !== points) throw new Error(`expected ${points} points per series, found ${first.points().length}`);
  return {
    kinds: kinds.join('+'),
    series,
    points,
    historyPoints,
    arenaBytesPerPoint: store.historyBytes / historyPoints,
    storeBytesPerPoint: (store.bytes - storeBytesOne) / historyPoints,
    measuredBytesPerPoint: mem.total / historyPoints,
    storeBytes: store.bytes,
    measuredBytes: mem.total,
    measuredHeap: mem.heapUsed,
    measuredExternal: mem.external,
    // Only the store's write path (not the value generator), per point written.
    writeNsPerPoint: Number(writeNs) / (series * points),
  };
}

async function mixMain(series: number, points: number, runs: string[]): Promise<void> {
  if (!args.includes('--no-warmup')) await mixRun(['gauge', 'counter', 'constant'], 300, 300); // warm-up
  const results: MixResult[] = [];
  for (const r of runs) results.push(await mixRun(r.split('+') as Kind[], series, points));
  for (const r of results) {
    process.stdout.write(
      `${r.kinds.padEnd(23)} ${r.series} series × ${r.points} points: arena ${r.arenaBytesPerPoint.toFixed(2)} B/point, ` +
        `store.bytes ${r.storeBytesPerPoint.toFixed(2)} B/point; whole store ${mb(r.storeBytes)} MB by store.bytes vs ${mb(r.measuredBytes)} MB measured ` +
        `(${(((r.storeBytes - r.measuredBytes) / r.measuredBytes) * 100).toFixed(1)} %); write ${r.writeNsPerPoint.toFixed(0)} ns/point\n`,
    );
  }
  process.stdout.write(`BENCH_RESULT ${JSON.stringify({ mix: results })}\n`);
}

const args = process.argv.slice(2);
const argNum = (name: string, dflt: number): number => Number(args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt);
const runsArg = args.find((a) => a.startsWith('--runs='))?.slice('--runs='.length);
if (args.includes('--mix')) void mixMain(argNum('series', 1000), argNum('points', 3600), runsArg ? runsArg.split(',') : ['gauge', 'counter', 'constant', 'gauge+counter+constant']);
else main();
