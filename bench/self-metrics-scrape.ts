/**
 * CPU time of one /metrics/self exposition (SelfMetrics.registry.metrics()) with a realistic agent's
 * worth of children: 24 routes × 2 methods × 3 status codes with request durations, 12 collectors,
 * every ingestion format, the stream's counters and the process metrics. Not a test.
 *
 *   node build/bench/self-metrics-scrape.js [scrapes] [module]
 *
 * `module` is a build of src/telemetry/self-metrics.js (default: this tree's), so another tree's
 * build (e.g. a worktree of an older main) can be measured the same way; run them alternately.
 * Prints one JSON line: microseconds of CPU (user + system) and of wall time per scrape, and the
 * size of the text.
 */

import path from 'node:path';

async function main(): Promise<void> {
  const scrapes = Number(process.argv[2] ?? 2000);
  const mod = path.resolve(process.argv[3] ?? path.join(__dirname, '..', 'src', 'telemetry', 'self-metrics.js'));
  const { SelfMetrics } = require(mod) as typeof import('../src/telemetry/self-metrics');
  const m = new SelfMetrics({ series: () => 1234, bytes: () => 567_890 }, { cacheResets: 1, cacheUncachedLines: 3, cachedEntries: 10, cachedBytes: 2048 });
  m.watchRateLimiter({ size: 3, dropped: 0 });
  m.watchAdmission({ inUseBytes: 0, active: 0, refused: { budget: 0, pressure: 0 } });
  m.watchHeapPages({ releases: 0, releasedBytes: 0 });
  m.watchQuotas({ refusedSamples: () => [], evictedBuckets: 0 });
  const statuses = [200, 204, 400];
  for (let r = 0; r < 24; r++) {
    for (const method of ['GET', 'POST']) {
      for (const s of statuses) for (let i = 0; i < 5; i++) m.requestDone(method, `/api/route/${r}`, s, 0.0003 * (i + 1) * (r + 1));
    }
  }
  for (let c = 0; c < 12; c++) {
    for (let i = 0; i < 10; i++) m.collectorCycle(`collector_${c}`, 0.0002 * (i + 1), i !== 3);
    m.collectorPresence(`collector_${c}`, c % 2 === 0);
  }
  for (const f of ['simple', 'json', 'influx', 'write', 'otlp', 'report', 'system', 'script', 'telegraf'] as const) {
    m.samplesReceived(f, 100);
    m.samplesRejected(f, 'parse', 1);
  }
  m.sseConnected();
  m.sseSent(10, 1000);
  m.sseSerialized('delta');

  const text = await m.registry.metrics();
  for (let i = 0; i < 200; i++) await m.registry.metrics(); // warm-up
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < scrapes; i++) await m.registry.metrics();
  const wallUs = Number(process.hrtime.bigint() - t0) / 1e3 / scrapes;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ module: mod, scrapes, cpuUsPerScrape: +((cpu.user + cpu.system) / scrapes).toFixed(1), wallUsPerScrape: +wallUs.toFixed(1), bytes: text.length, lines: text.split('\n').length }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
