/**
 * REAL COMPONENT test: the remote-write and InfluxDB v1 sinks against VictoriaMetrics (Debian
 * package victoria-metrics), read back through its export API; then VictoriaMetrics is stopped
 * mid-stream and restarted on the same port and data directory while samples keep coming.
 */

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InfluxV1Sink, RemoteWriteSink, type ForwardingSink, type SinkOptions } from '../../src/sinks';
import type { Labels } from '../../src/model/sample';
import { freePort, requireTool } from '../helpers/tools';
import { VictoriaMetrics, VM_BIN } from '../helpers/victoria-metrics';
import { assertBalanced, captureLogger, fakeHub, sample, sleep } from './helpers';

describe('forwarding to VictoriaMetrics (real component)', function () {
  this.timeout(60_000);
  let vm: VictoriaMetrics | undefined;
  let dataDir = '';
  const sinks: ForwardingSink[] = [];
  const logger = captureLogger().logger;

  before(async function () {
    if (!requireTool(this, VM_BIN, 'victoria-metrics')) return;
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-vm-'));
    vm = new VictoriaMetrics(await freePort(), dataDir);
    await vm.start();
  });

  afterEach(async () => {
    for (const s of sinks.splice(0)) await s.stop(500);
  });

  after(async () => {
    await vm?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  function both(over: Partial<SinkOptions> = {}) {
    const rwHub = fakeHub();
    const lpHub = fakeHub();
    const common = { logger, debounceMs: () => 20, backoff: { initialMs: 50, maxMs: 300 }, ...over };
    const rw = new RemoteWriteSink({ ...common, hub: rwHub, url: `${vm!.url}/api/v1/write`, forwardSystemMetrics: true });
    const lp = new InfluxV1Sink({ ...common, hub: lpHub, url: `${vm!.url}/write`, forwardSystemMetrics: true });
    sinks.push(rw, lp);
    return { rw, lp, rwHub, lpHub };
  }

  it('remote write and line protocol arrive with names, labels, values and timestamps intact', async () => {
    const { rw, lp, rwHub, lpHub } = both();
    await rw.start();
    await lp.start();
    const t0 = Date.now() - 60_000;
    const labelSets: Labels[] = [
      { app: 'demo', device: 'GPU.0' },
      { app: 'x y', note: 'a,b=c' },
      { app: 'ünïcödé ✓', q: 'say "hi"' },
      { app: 'empty-dropped', gone: '' },
    ];
    for (const [prefix, hub] of [['rw', rwHub], ['lp', lpHub]] as const) {
      for (let k = 0; k < 5; k++) {
        hub.publish(labelSets.map((l, i) => sample(`${prefix}_basic`, l, k * 10 + i + 0.25, t0 + k * 1000)), k % 2 === 0 ? 'custom' : 'system');
      }
    }
    lpHub.publish([sample('lp_basic', labelSets[0], NaN, t0 + 9000)]); // line protocol cannot carry NaN
    assert.equal(await rw.drain(10_000), true);
    assert.equal(await lp.drain(10_000), true);
    assert.equal(rw.stats().sentSamplesTotal, 20);
    assert.equal(lp.stats().sentSamplesTotal, 20);
    assert.equal(lp.stats().droppedSamplesTotal.unencodable, 1);

    for (const prefix of ['rw', 'lp']) {
      const got = await vm!.waitForSamples(`${prefix}_basic`, 20);
      for (let i = 0; i < labelSets.length; i++) {
        const want = Object.fromEntries(Object.entries(labelSets[i]).filter(([, v]) => v !== '').sort());
        const series = got.get(JSON.stringify(want));
        assert.ok(series, `${prefix}: series ${JSON.stringify(want)} in ${[...got.keys()].join(' | ')}`);
        for (let k = 0; k < 5; k++) assert.equal(series.get(t0 + k * 1000), k * 10 + i + 0.25, `${prefix} series ${i} sample ${k}`);
      }
    }
  });

  /**
   * Pushes one batch (5 series) every 10 ms; stops VictoriaMetrics after `beforeMs`, keeps pushing
   * for `downMs`, restarts it, pushes `afterMs` more, then drains and compares.
   */
  async function outage(name: string, over: Partial<SinkOptions>, beforeMs: number, downMs: number, afterMs: number) {
    const { rw, lp, rwHub, lpHub } = both(over);
    await rw.start();
    await lp.start();
    const t0 = Date.now() - 120_000;
    const pad = 'p'.repeat(80);
    let seq = 0;
    const pushFor = async (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until) {
        const batch = (prefix: string) => Array.from({ length: 5 }, (_, s) => sample(`${prefix}_${name}`, { s: String(s), pad }, seq, t0 + seq));
        rwHub.publish(batch('rw'));
        lpHub.publish(batch('lp'));
        seq++;
        await sleep(10);
      }
    };
    await pushFor(beforeMs);
    const stopping = vm!.stop(); // pushing goes on while it shuts down
    await pushFor(downMs);
    await stopping;
    await vm!.start();
    await pushFor(afterMs);
    const total = seq;
    const results = [];
    for (const [prefix, sink] of [['rw', rw], ['lp', lp]] as const) {
      assert.equal(await sink.drain(20_000), true, `${prefix} drained`);
      const st = sink.stats();
      assert.equal(st.acceptedSamplesTotal, total * 5);
      assert.equal(st.sentSamplesTotal + st.droppedSamplesTotal.queue_full, total * 5, `${prefix}: every sample sent or counted as dropped`);
      assert.ok(st.failedRequestsTotal > 0, `${prefix}: the outage was noticed`);
      assertBalanced(st);
      const got = await vm!.waitForSamples(`${prefix}_${name}`, st.sentSamplesTotal);
      // Per series: the seqs that are missing form one run (the oldest queued data, dropped).
      for (const series of got.values()) {
        const have = new Set([...series.keys()].map((t) => t - t0));
        assert.ok(have.has(total - 1), `${prefix}: the newest sample arrived`);
        const missing = Array.from({ length: total }, (_, i) => i).filter((i) => !have.has(i));
        for (let i = 1; i < missing.length; i++) assert.equal(missing[i], missing[i - 1] + 1, `${prefix}: missing samples form one gap`);
        assert.equal(missing.length * 5, st.droppedSamplesTotal.queue_full, `${prefix}: what is missing is what was counted`);
      }
      results.push({ prefix, total: total * 5, sent: st.sentSamplesTotal, dropped: st.droppedSamplesTotal.queue_full, failed: st.failedRequestsTotal });
    }
    return results;
  }

  it('VictoriaMetrics stopped and restarted mid-stream: with room in the queue everything arrives', async () => {
    const r = await outage('no_drop', { queueMaxBytes: 8 * 1024 * 1024 }, 400, 1200, 400);
    for (const x of r) assert.equal(x.dropped, 0, `${x.prefix}: nothing dropped`);
  });

  it('VictoriaMetrics stopped and restarted mid-stream: past the queue bound the oldest are dropped and counted', async () => {
    const r = await outage('drop', { queueMaxBytes: 12 * 1024, batchMaxBytes: 2 * 1024 }, 400, 1500, 400);
    for (const x of r) {
      assert.ok(x.dropped > 0, `${x.prefix}: some dropped (${JSON.stringify(x)})`);
      assert.ok(x.sent > x.total / 4, `${x.prefix}: most still arrived (${JSON.stringify(x)})`);
    }
  });
});
