/**
 * TelegrafSource against the Telegraf stand-in (test/helpers/telegraf-standin.ts), with a real Hub
 * and SeriesStore.
 */

import assert from 'node:assert/strict';
import { seriesKey } from '../../../src/model/series-key';
import type { Labels } from '../../../src/model/sample';
import { metricsUrl, type TelegrafSource } from '../../../src/sources/telegraf';
import { startTelegrafStandin, type TelegrafStandin } from '../../helpers/telegraf-standin';
import { CountingFetch, harness, sleep, waitUntil, type Harness } from './harness';

const HOST = 'node-a';

describe('TelegrafSource', () => {
  let standin: TelegrafStandin;
  let h: Harness;
  let source: TelegrafSource | undefined;

  beforeEach(async () => {
    standin = await startTelegrafStandin({ hostname: HOST });
    h = harness();
    source = undefined;
  });

  afterEach(async () => {
    await source?.stop();
    await standin.stop();
  });

  function key(name: string, labels: Labels = {}): string {
    return seriesKey(name, { host: HOST, ...labels });
  }

  it('builds the scrape URL from PROMETHEUS_TELEGRAF_ENDPOINT', () => {
    assert.equal(metricsUrl('http://localhost:9273'), 'http://localhost:9273/metrics');
    assert.equal(metricsUrl('http://localhost:9273/'), 'http://localhost:9273/metrics');
    assert.equal(metricsUrl('http://localhost:9273/metrics'), 'http://localhost:9273/metrics');
    assert.equal(metricsUrl('http://t:1/prefix'), 'http://t:1/prefix/metrics');
  });

  it('stores what Telegraf exports with names, labels, values, types and timestamps intact', async () => {
    const ts = 1_700_000_000_000;
    standin.setSystem([
      { name: 'cpu_usage_user', labels: { cpu: 'cpu-total' }, value: 12.5, timestampMs: ts },
      { name: 'cpu_usage_user', labels: { cpu: 'cpu0' }, value: 20, timestampMs: ts },
      { name: 'mem_used_percent', value: 43.25, timestampMs: ts },
      { name: 'mem_total', value: 33_554_432_000, timestampMs: ts },
      { name: 'temp_temp', labels: { sensor: 'coretemp_package_id_0' }, value: 55, timestampMs: ts },
      { name: 'odd_labels', labels: { path: 'C:\\dir "quoted"\nnext line', empty_elsewhere: 'x' }, value: 1.5e-7, timestampMs: ts },
      { name: 'odd_labels', labels: { path: 'plain' }, value: -2, timestampMs: ts },
      { name: 'not_a_number', value: NaN, timestampMs: ts },
      { name: 'infinite', value: -Infinity, timestampMs: ts },
      { name: 'no_timestamp', value: 7, timestampMs: null },
      { name: 'typed_gauge', value: 3, type: 'gauge', timestampMs: ts },
    ]);
    // A custom metric pushed straight to Telegraf (no mm_origin tag): Telegraf v1 naming, ns timestamp.
    const res = await fetch(standin.writeUrl, { method: 'POST', body: 'app_fps,model=yolo value=30,latency_ms=12.5 1700000000123000000\n' });
    assert.equal(res.status, 204);

    source = h.source({ endpoint: standin.url });
    source.start();
    await waitUntil(() => source!.state().status === 'up', 'the first scrape');

    const expect = (name: string, labels: Labels, value: number, t: number | 'now', type = 'untyped'): void => {
      const s = h.store.get(key(name, labels));
      assert.ok(s, `series ${key(name, labels)} missing; store has ${[...h.store.all()].map((x) => x.key).join(' ')}`);
      assert.ok(Object.is(s.value, value), `${s.key} = ${s.value}, expected ${value}`);
      if (t === 'now') assert.ok(Math.abs(s.timestampMs - Date.now()) < 5000, `${s.key} timestamp ${s.timestampMs}`);
      else assert.equal(s.timestampMs, t, s.key);
      assert.equal(s.type, type, s.key);
      assert.equal(s.origin, 'system', s.key);
      assert.deepEqual(s.labels, { host: HOST, ...labels });
    };
    expect('cpu_usage_user', { cpu: 'cpu-total' }, 12.5, ts);
    expect('cpu_usage_user', { cpu: 'cpu0' }, 20, ts);
    expect('mem_used_percent', {}, 43.25, ts);
    expect('mem_total', {}, 33_554_432_000, ts);
    expect('temp_temp', { sensor: 'coretemp_package_id_0' }, 55, ts);
    expect('odd_labels', { path: 'C:\\dir "quoted"\nnext line', empty_elsewhere: 'x' }, 1.5e-7, ts);
    // Telegraf renders the family's other label as "" here; an empty label is an absent label.
    expect('odd_labels', { path: 'plain' }, -2, ts);
    expect('not_a_number', {}, NaN, ts);
    expect('infinite', {}, -Infinity, ts);
    expect('no_timestamp', {}, 7, 'now');
    expect('typed_gauge', {}, 3, ts, 'gauge');
    expect('app_fps', { model: 'yolo' }, 30, 1_700_000_000_123);
    expect('app_fps_latency_ms', { model: 'yolo' }, 12.5, 1_700_000_000_123);
    assert.equal(h.store.size, 13);

    const st = source.state();
    assert.equal(st.samplesLastScrape, 13);
    assert.equal(st.parseErrorsLastScrape, 0);
    assert.equal(st.consecutiveFailures, 0);
    assert.ok(st.lastSuccessMs !== null && Math.abs(st.lastSuccessMs - Date.now()) < 5000);
    assert.ok(h.batches.every((b) => b.origin === 'system' && b.format === 'telegraf'));
    // Telegraf's generic HELP text is not stored as if it described the metric.
    assert.equal([...h.store.allFamilies()].find((f) => f.name === 'cpu_usage_user')?.help, undefined);
    assert.deepEqual(h.states.map((s) => s.status), ['up']);
    assert.deepEqual(h.logs.map((l) => l.level), ['info']);
  });

  it('scrapes once per interval and never overlaps itself', async () => {
    standin.setSystem([{ name: 'm', value: 1 }]);
    const counting = new CountingFetch();
    source = h.source({ endpoint: standin.url, intervalMs: () => 100, fetch: counting.fn });
    source.start();
    await sleep(1050);
    const n = standin.scrapes();
    // Scrapes at 0, 100, …, 1000 ms: 11 on an idle machine; a loaded one may fall behind, never ahead.
    assert.ok(n >= 7 && n <= 12, `${n} scrapes in 1050 ms at a 100 ms interval`);
    assert.equal(counting.calls, n);
    assert.equal(counting.maxActive, 1);

    // Slower than the interval: back to back, one at a time.
    standin.setDelay(250, 'metrics');
    const before = standin.scrapes();
    await sleep(1100);
    const slow = standin.scrapes() - before;
    assert.ok(slow >= 3 && slow <= 6, `${slow} scrapes of 250 ms each in 1100 ms`);
    assert.equal(counting.maxActive, 1);
  });

  it('applies a changed interval at the next scrape (the getter is read live)', async () => {
    // Gaps between scrape starts: load can only lengthen them, so the slow phase is checked from
    // below (never sooner than the new interval) and the fast one against the slow interval.
    let interval = 50;
    const counting = new CountingFetch();
    source = h.source({ endpoint: standin.url, intervalMs: () => interval, fetch: counting.fn });
    source.start();
    await waitUntil(() => counting.calls >= 6, '6 scrapes at 50 ms');
    const fastGaps = gapsOf(counting.startedAt);
    assert.ok(median(fastGaps) < 400, `gaps at a 50 ms interval: ${fastGaps.map(Math.round).join(', ')}`);
    interval = 400;
    const switched = counting.calls + 1; // the scrape already scheduled at 50 ms still runs
    await waitUntil(() => counting.calls >= switched + 3, '3 scrapes at 400 ms', 10_000);
    const slowGaps = gapsOf(counting.startedAt.slice(switched - 1));
    assert.ok(Math.min(...slowGaps) >= 380, `gaps after the change to 400 ms: ${slowGaps.map(Math.round).join(', ')}`);
  });

  it('removes a series from the store after the first scrape that no longer has it', async () => {
    const ts = 1_700_000_000_000;
    // A series pushed by a client before the source ran, with the same name and labels as one
    // Telegraf exports: the source updates it but did not create it, so never deletes it.
    h.hub.accept({ samples: [{ name: 'shared', labels: { host: HOST }, value: 1, type: 'untyped' }], origin: 'custom', format: 'simple' });
    // Likewise a system series another collector created.
    h.hub.accept({ samples: [{ name: 'shared_system', labels: { host: HOST }, value: 1, type: 'untyped' }], origin: 'system', format: 'system' });
    standin.setSystem([
      { name: 'keep', value: 1, timestampMs: ts },
      { name: 'goes', labels: { gpu: '0' }, value: 2, timestampMs: ts },
      { name: 'goes', labels: { gpu: '1' }, value: 3, timestampMs: ts },
      { name: 'shared', value: 4, timestampMs: null },
      { name: 'shared_system', value: 5, timestampMs: null },
    ]);
    source = h.source({ endpoint: standin.url, intervalMs: () => 50 });
    source.start();
    await waitUntil(() => h.store.get(key('goes', { gpu: '1' })) !== undefined, 'the first scrape');
    assert.equal(h.store.get(key('shared'))?.value, 4);

    standin.setSystem([
      { name: 'keep', value: 1, timestampMs: ts },
      { name: 'goes', labels: { gpu: '0' }, value: 2, timestampMs: ts },
    ]);
    const scrapes = standin.scrapes();
    await waitUntil(() => source!.state().scrapesTotal > scrapes, 'the next scrape');
    await waitUntil(() => h.store.get(key('goes', { gpu: '1' })) === undefined, 'the removal');
    assert.ok(h.store.get(key('keep')));
    assert.ok(h.store.get(key('goes', { gpu: '0' })));
    assert.ok(h.store.get(key('shared')), 'a series the source did not create is not deleted');
    assert.ok(h.store.get(key('shared_system')), 'a system series the source did not create is not deleted');
    assert.equal(h.store.removals.deleted, 1);
    assert.equal(source.state().staleRemovedTotal, 1);

    // Telegraf restarts with nothing to export yet: every series of ours goes, the pushed one stays.
    standin.setSystem([]);
    await waitUntil(() => h.store.get(key('keep')) === undefined, 'removal of everything the source created');
    assert.equal(h.store.get(key('goes', { gpu: '0' })), undefined);
    assert.ok(h.store.get(key('shared')));
    assert.ok(h.store.get(key('shared_system')));
    assert.equal(source.state().seriesTracked, 0);
  });

  it('does not rewrite samples Telegraf has not gathered again, and writes them when it has', async () => {
    standin.setSystem([{ name: 'a', value: 1, timestampMs: 1000 }, { name: 'b', value: 2, timestampMs: 1000 }, { name: 'c', value: 3, timestampMs: null }]);
    source = h.source({ endpoint: standin.url, intervalMs: () => 30 });
    source.start();
    await waitUntil(() => source!.state().scrapesTotal >= 4, 'four scrapes');
    const st = source.state();
    assert.equal(st.samplesLastScrape, 3);
    // `c` has no timestamp and is written every time; a and b only once.
    assert.equal(st.samplesWrittenLastScrape, 1);
    assert.equal(st.samplesWrittenTotal, 2 + st.scrapesTotal);

    standin.setSystem([{ name: 'a', value: 1, timestampMs: 2000 }, { name: 'b', value: 2, timestampMs: 1000 }, { name: 'c', value: 3, timestampMs: null }]);
    await waitUntil(() => h.store.get(key('a'))?.timestampMs === 2000, 'the new point of a');
    assert.deepEqual(h.store.get(key('a'))?.points(), [[1000, 1], [2000, 1]]);
  });

  it('keeps the good lines of a malformed scrape and counts the bad ones', async () => {
    standin.setRawMetrics([
      '# HELP good_one A fine metric',
      '# TYPE good_one gauge',
      'good_one{a="1"} 1 1700000000000',
      'this is not a sample line',
      'good_two 2',
      'broken{a="unterminated} 3',
      'good_three{path="a\\\\b\\"c\\nd"} +Inf',
      '# TYPE lat histogram',
      'lat_bucket{le="0.5"} 3',
      'lat_bucket{le="+Inf"} 4',
      'lat_sum 1.5',
      'lat_count 4',
      '',
    ].join('\n'));
    source = h.source({ endpoint: standin.url });
    source.start();
    await waitUntil(() => source!.state().status === 'up', 'the first scrape');
    const st = source.state();
    assert.equal(st.parseErrorsLastScrape, 2);
    assert.equal(st.samplesLastScrape, 7);
    const one = h.store.get(seriesKey('good_one', { a: '1' }));
    assert.equal(one?.type, 'gauge');
    assert.equal(one?.timestampMs, 1_700_000_000_000);
    assert.equal([...h.store.allFamilies()].find((f) => f.name === 'good_one')?.help, 'A fine metric');
    assert.equal(h.store.get('good_two')?.value, 2);
    assert.equal(h.store.get(seriesKey('good_three', { path: 'a\\b"c\nd' }))?.value, Infinity);
    const bucket = h.store.get(seriesKey('lat_bucket', { le: '+Inf' }));
    assert.equal(bucket?.type, 'histogram');
    assert.equal(bucket?.family.name, 'lat');
    assert.equal(h.store.get('lat_count')?.family.name, 'lat');
  });

  it('drops samples tagged mm_origin="custom" (our own custom metrics coming back)', async () => {
    // A Telegraf whose output lacks the shipped conf's tagdrop: it re-exports what the agent forwarded.
    await standin.stop();
    standin = await startTelegrafStandin({ hostname: HOST, listenerTags: { mm_origin: 'custom' }, dropCustomOrigin: false });
    standin.setSystem([{ name: 'mem_used_percent', value: 40 }]);
    const res = await fetch(standin.writeUrl, { method: 'POST', body: 'app_fps,model=yolo value=30\napp_queue depth=3i\n' });
    assert.equal(res.status, 204);
    assert.match(standin.render(), /mm_origin="custom"/);

    source = h.source({ endpoint: standin.url });
    source.start();
    await waitUntil(() => source!.state().status === 'up', 'the first scrape');
    assert.ok(h.store.get(key('mem_used_percent')));
    assert.equal(h.store.size, 1);
    assert.equal(source.state().customDroppedTotal, 2);
    assert.equal(source.state().samplesLastScrape, 1);
  });

  it('goes down when Telegraf is unreachable, backs off, logs once, and comes back up', async () => {
    standin.setSystem([{ name: 'm', value: 1 }]);
    const counting = new CountingFetch();
    source = h.source({ endpoint: standin.url, intervalMs: () => 50, maxBackoffMs: 800, fetch: counting.fn });
    source.start();
    await waitUntil(() => source!.state().status === 'up', 'the first scrape');

    await standin.down();
    const downAt = performance.now();
    const callsBefore = counting.calls;
    await sleep(2500);
    const attempts = counting.startedAt.filter((t) => t >= downAt);
    const st = source.state();
    assert.equal(st.status, 'down');
    assert.match(st.lastError ?? '', /ECONNREFUSED/);
    assert.equal(st.consecutiveFailures, counting.calls - callsBefore);
    // Without backoff that would be ~50 attempts; with it 50·(1+2+4+8) ms, then every 800 ms.
    assert.ok(attempts.length >= 4 && attempts.length <= 9, `${attempts.length} attempts in 2.5 s`);
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]);
    assert.ok(gaps[gaps.length - 1] >= 4 * gaps[0], `gaps do not grow: ${gaps.map(Math.round).join(', ')}`);
    for (const g of gaps) assert.ok(g <= 800 * 1.15 + 150, `gap ${g} beyond the cap`);
    assert.ok((st.nextDelayMs ?? 0) >= 600, `next delay ${st.nextDelayMs}`);
    assert.equal(h.logs.filter((l) => l.level === 'warn').length, 1, JSON.stringify(h.logs));

    await standin.up();
    await waitUntil(() => source!.state().status === 'up', 'recovery', 3000);
    const back = source.state();
    assert.equal(back.consecutiveFailures, 0);
    assert.equal(back.downSinceMs, null);
    assert.ok(back.scrapesFailed >= st.scrapesFailed);
    assert.equal(back.lastError, st.lastError === null ? null : back.lastError, 'the last error is kept for health pages');
    assert.notEqual(back.lastError, null);
    assert.deepEqual(h.states.map((s) => s.status), ['up', 'down', 'up']);
    assert.deepEqual(h.logs.map((l) => `${l.level} ${l.message}`), [
      'info telegraf source up',
      'warn telegraf is unreachable; retrying with backoff',
      'info telegraf is reachable again',
    ]);
    // Back at the normal interval: the backoff (600–800 ms by now) is gone.
    const from = counting.calls;
    await waitUntil(() => counting.calls >= from + 4, '4 scrapes after recovery');
    const after = gapsOf(counting.startedAt.slice(from));
    assert.ok(median(after) < 400, `gaps after recovery: ${after.map(Math.round).join(', ')}`);
  });

  it('treats an HTTP error status and a timeout as failures', async () => {
    standin.setFailure(503, 'metrics');
    source = h.source({ endpoint: standin.url, timeoutMs: 200 });
    source.start();
    await waitUntil(() => source!.state().status === 'down', 'the failed scrape');
    assert.match(source.state().lastError ?? '', /^HTTP 503/);

    standin.setFailure(null);
    standin.setDelay(1000, 'metrics');
    await waitUntil(() => /timed out after 200 ms/.test(source!.state().lastError ?? ''), 'a timeout', 4000);
    assert.equal(source.state().status, 'down');
    assert.equal(h.logs.filter((l) => l.level === 'warn').length, 1);
  });

  it('fails a scrape whose body passes maxBodyBytes, declared or streamed', async () => {
    const big = Array.from({ length: 100 }, (_, i) => ({ name: 'big_metric', labels: { i: String(i), pad: 'x'.repeat(40) }, value: i }));
    standin.setSystem(big);
    source = h.source({ endpoint: standin.url, maxBodyBytes: 2048 });
    source.start();
    await waitUntil(() => source!.state().status === 'down', 'the oversize scrape');
    let st = source.state();
    assert.equal(st.scrapesOversize, 1);
    assert.match(st.lastError ?? '', /exceeds the limit of 2048 bytes/);
    assert.equal(h.store.size, 0);
    await source.stop();

    // No Content-Length: the limit applies while reading.
    let cancelled = false;
    const streaming = async (): Promise<Response> => {
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent++ < 100) c.enqueue(new TextEncoder().encode(`m{i="${sent}"} 1\n`.padEnd(100, ' ')));
          else c.close();
        },
        cancel() {
          cancelled = true;
        },
      });
      return new Response(stream, { status: 200 });
    };
    const h2 = harness();
    source = h2.source({ endpoint: 'http://unused.invalid', maxBodyBytes: 2048, fetch: streaming });
    source.start();
    await waitUntil(() => source!.state().status === 'down', 'the oversize stream');
    st = source.state();
    assert.equal(st.scrapesOversize, 1);
    assert.match(st.lastError ?? '', /exceeds the limit of 2048 bytes/);
    assert.ok(cancelled, 'the body stream was not cancelled');
    assert.equal(h2.store.size, 0);
  });

  it('stop() aborts a scrape in flight, resolves when it settled, leaves no timer and is idempotent', async () => {
    standin.setSystem([{ name: 'm', value: 1 }]);
    standin.setDelay(5000, 'metrics');
    source = h.source({ endpoint: standin.url, intervalMs: () => 50 });
    source.start();
    source.start(); // no second poller
    await waitUntil(() => standin.scrapes() === 1, 'the request to arrive');
    assert.ok(h.timers.live.size >= 1, 'the scrape timeout timer should be pending');

    const t0 = performance.now();
    const stopping = source.stop();
    assert.equal(source.stop(), stopping, 'a second stop() returns the same promise');
    await stopping;
    assert.ok(performance.now() - t0 < 1000, `stop() took ${performance.now() - t0} ms`);
    assert.equal(h.timers.live.size, 0, 'timers left after stop()');
    const st = source.state();
    assert.equal(st.scrapesFailed, 0, `a scrape cut short by stop() is not a Telegraf failure (${st.lastError})`);
    assert.equal(st.status, 'starting');
    assert.equal(h.logs.length, 0);

    await sleep(200);
    assert.equal(standin.scrapes(), 1, 'no scrape after stop()');
    await source.stop();

    // And once more from an idle (between scrapes) state, then a restart.
    standin.setDelay(0);
    source.start();
    await waitUntil(() => source!.state().status === 'up', 'a scrape after restart');
    await source.stop();
    assert.equal(h.timers.live.size, 0, 'timers left after the second stop()');
    const n = standin.scrapes();
    await sleep(150);
    assert.equal(standin.scrapes(), n);
  });
});

function gapsOf(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
