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

main();
