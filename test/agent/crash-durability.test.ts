/**
 * REAL COMPONENT test: acknowledged pushes survive `kill -9` when FORWARD_SPOOL_DIR is set.
 *
 * An agent child process forwards by remote write to a real VictoriaMetrics with a 5 s debounce
 * window, so that almost everything it acknowledges is still waiting in the sink when it is
 * killed: a sink that kept that data in memory would lose it for certain. Four pushers send JSON
 * batches with distinct timestamps and remember every sample answered 202; the agent is killed
 * with SIGKILL while they push, restarted on the same spool, and VictoriaMetrics' export API must
 * then hold every acknowledged sample.
 */

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, requireTool } from '../helpers/tools';
import { VictoriaMetrics, VM_BIN } from '../helpers/victoria-metrics';

const MAIN = path.resolve(__dirname, '../../src/main.js');
const NAME = 'crash_durability';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface AgentProc {
  child: ChildProcess;
  exited: Promise<void>;
  output: () => string;
}

function startAgent(env: Record<string, string>): AgentProc {
  const child = spawn(process.execPath, [MAIN, 'agent'], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20_000)));
  child.stderr!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, exited, output: () => out };
}

async function waitUp(url: string, p: AgentProc): Promise<void> {
  const until = Date.now() + 15_000;
  for (;;) {
    if (p.child.exitCode !== null) throw new Error(`agent exited: ${p.output()}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`agent not up after 15 s: ${p.output()}`);
    await sleep(50);
  }
}

interface SinkHealth {
  name: string;
  spoolState: string;
  spoolSamples: number;
  queueSamples: number;
  sentSamplesTotal: number;
  spoolRecoveredSamplesTotal: number;
  droppedSamplesTotal: Record<string, number>;
}

async function sinkHealth(url: string): Promise<SinkHealth> {
  const body = (await (await fetch(`${url}/api/health`)).json()) as { sinks: SinkHealth[] };
  const s = body.sinks.find((x) => x.name === 'remote-write');
  assert.ok(s, `remote-write sink in /api/health: ${JSON.stringify(body.sinks)}`);
  return s;
}

describe('acknowledged data survives kill -9 (real VictoriaMetrics, agent process)', function () {
  this.timeout(120_000);
  let vm: VictoriaMetrics | undefined;
  let vmData = '';
  let spool = '';
  const agents: AgentProc[] = [];

  before(async function () {
    if (!requireTool(this, VM_BIN, 'victoria-metrics')) return;
    vmData = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-crash-vm-'));
    vm = new VictoriaMetrics(await freePort(), vmData);
    await vm.start();
  });

  after(async () => {
    for (const a of agents) a.child.kill('SIGKILL');
    await vm?.stop();
    for (const d of [vmData, spool]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  it('with FORWARD_SPOOL_DIR, every sample answered 2xx before the kill reaches the target after a restart', async () => {
    spool = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-crash-spool-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = (debounceMs: number): Record<string, string> => ({
      METRICS_PORT: String(port), HOST: '127.0.0.1', SYSTEM_METRICS_SOURCE: 'none', TELEGRAF_FORWARD: 'false',
      RATE_LIMIT_ENABLED: 'false', LOG_FORMAT: 'json', LOG_LEVEL: 'info',
      FORWARD_REMOTE_WRITE_URL: `${vm!.url}/api/v1/write`, FORWARD_SPOOL_DIR: spool,
      FILE_PERSIST_DEBOUNCE_MS: String(debounceMs),
    });

    const first = startAgent(env(5000));
    agents.push(first);
    await waitUp(url, first);

    // Pushers: series w<worker>/i<k>, one timestamp per batch (distinct across all batches).
    const t0 = Date.now() - 600_000;
    let seq = 0;
    const acked = new Map<string, Set<number>>();
    let ackedSamples = 0;
    let killed = false;
    const pusher = async (w: number) => {
      while (!killed) {
        const ts = t0 + seq++;
        const metrics = Array.from({ length: 50 }, (_, k) => ({ name: NAME, fields: { value: ts % 1000 }, tags: { w: String(w), i: String(k) }, timestamp: ts }));
        let status = 0;
        try {
          const r = await fetch(`${url}/api/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metrics }) });
          status = r.status;
          await r.arrayBuffer();
        } catch {
          return; // the agent is gone: this batch was never acknowledged
        }
        if (status !== 202) throw new Error(`push answered ${status}`);
        for (const m of metrics) {
          const key = `${m.tags.w}/${m.tags.i}`;
          let set = acked.get(key);
          if (set === undefined) acked.set(key, (set = new Set()));
          set.add(ts);
        }
        ackedSamples += metrics.length;
      }
    };
    const pushing = Promise.all([0, 1, 2, 3].map(pusher));
    // Kill mid-push once enough is acknowledged (at least a second, at most 20 s on a loaded machine).
    const started = Date.now();
    while ((ackedSamples < 2000 || Date.now() - started < 1000) && Date.now() - started < 20_000) await sleep(20);
    killed = true;
    first.child.kill('SIGKILL');
    await first.exited;
    await pushing;
    assert.equal(first.child.signalCode, 'SIGKILL');
    assert.ok(ackedSamples >= 1000, `only ${ackedSamples} samples acknowledged before the kill`);

    const arrivedBefore = await countArrived(vm!, acked);
    assert.ok(arrivedBefore < ackedSamples, `premise: acknowledged samples were still unsent at the kill (${arrivedBefore} of ${ackedSamples} had arrived)`);

    const second = startAgent(env(100));
    agents.push(second);
    await waitUp(url, second);
    const recovered = (await sinkHealth(url)).spoolRecoveredSamplesTotal;
    assert.ok(recovered >= ackedSamples - arrivedBefore, `the restart counts what it found in the spool: ${recovered} recovered, ${ackedSamples - arrivedBefore} acknowledged and unsent`);

    const until = Date.now() + 30_000;
    let h = await sinkHealth(url);
    while (h.spoolSamples > 0 || h.queueSamples > 0) {
      if (Date.now() > until) assert.fail(`spool not drained after 30 s: ${JSON.stringify(h)}`);
      await sleep(100);
      h = await sinkHealth(url);
    }
    assert.equal(h.spoolState, 'ok');
    assert.deepEqual(Object.values(h.droppedSamplesTotal).reduce((a, b) => a + b, 0), 0, 'nothing dropped');

    // VictoriaMetrics makes new series searchable with a short delay: poll until all are there.
    const vmUntil = Date.now() + 20_000;
    let arrived = await countArrived(vm!, acked);
    while (arrived < ackedSamples && Date.now() < vmUntil) {
      await sleep(250);
      arrived = await countArrived(vm!, acked);
    }
    assert.equal(arrived, ackedSamples, `${ackedSamples - arrived} of ${ackedSamples} acknowledged samples never reached VictoriaMetrics`);
    second.child.kill('SIGTERM');
    await second.exited;
  });
});

/** How many of the acknowledged samples VictoriaMetrics holds (by series and timestamp). */
async function countArrived(vm: VictoriaMetrics, acked: Map<string, Set<number>>): Promise<number> {
  const got = await vm.export(NAME);
  let n = 0;
  for (const [labels, points] of got) {
    const l = JSON.parse(labels) as Record<string, string>;
    const want = acked.get(`${l.w}/${l.i}`);
    if (want === undefined) continue;
    for (const ts of points.keys()) if (want.has(ts)) n++;
  }
  return n;
}
