/**
 * Remote write into a real Prometheus (Debian package `prometheus`, with its remote-write
 * receiver switched on): what the sink sends is accepted and reads back through the query API.
 */

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RemoteWriteSink } from '../../src/sinks';
import { freePort, requireTool } from '../helpers/tools';
import { captureLogger, fakeHub, sample, sleep } from './helpers';

const PROM_BIN = '/usr/bin/prometheus';


describe('forwarding to Prometheus (real component, remote-write receiver)', function () {
  this.timeout(60_000);
  let child: ChildProcess | undefined;
  let dir = '';
  let url = '';

  before(async function () {
    if (!requireTool(this, PROM_BIN, 'prometheus')) return;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-prom-'));
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 1h\n');
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn(PROM_BIN, [
      `--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver', '--log.level=error',
    ], { stdio: 'ignore' });
    for (let i = 0; i < 200; i++) {
      try {
        if ((await fetch(`${url}/-/ready`)).ok) return;
      } catch { /* not yet */ }
      await sleep(100);
    }
    throw new Error('prometheus did not become ready');
  });

  after(() => {
    child?.kill('SIGKILL');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('accepts our remote-write requests; names, labels and values read back', async () => {
    const hub = fakeHub();
    const sink = new RemoteWriteSink({ logger: captureLogger().logger, hub, url: `${url}/api/v1/write`, debounceMs: () => 10, backoff: { initialMs: 50, maxMs: 300 }, forwardSystemMetrics: false });
    await sink.start();
    const t = Date.now() - 5_000;
    hub.publish([
      sample('mm_rw_check', { app: 'x y', quote: 'say "hi"' }, 41.5, t),
      sample('mm_rw_check', { app: 'other' }, 7, t),
    ]);
    assert.equal(await sink.drain(10_000), true);
    await sink.stop(1000);
    const st = sink.stats();
    assert.equal(st.sentSamplesTotal, 2);
    assert.equal(st.failedRequestsTotal, 0, 'Prometheus accepted every request');
    const q = await fetch(`${url}/api/v1/query?query=${encodeURIComponent('mm_rw_check')}&time=${(t + 1000) / 1000}`);
    const body = (await q.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    const got = body.data.result.map((r) => [r.metric.app, r.metric.quote ?? null, r.value[1]]).sort();
    assert.deepEqual(got, [['other', null, '7'], ['x y', 'say "hi"', '41.5']]);
  });
});
