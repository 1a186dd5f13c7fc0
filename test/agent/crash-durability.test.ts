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
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAgentProcess, type AgentProcess } from '../helpers/agent-process';
import { freePort, requireTool } from '../helpers/tools';
import { VictoriaMetrics, VM_BIN } from '../helpers/victoria-metrics';

const NAME = 'crash_durability';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

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
  const agents: AgentProcess[] = [];

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
    const env = (debounceMs: number): Record<string, string> => ({
      RATE_LIMIT_ENABLED: 'false', LOG_FORMAT: 'json', LOG_LEVEL: 'info',
      FORWARD_REMOTE_WRITE_URL: `${vm!.url}/api/v1/write`, FORWARD_SPOOL_DIR: spool,
      FILE_PERSIST_DEBOUNCE_MS: String(debounceMs),
    });

    const first = await startAgentProcess({ env: env(5000) });
    agents.push(first);
    let url = first.url;

    // Pushers: series w<worker>/i<k>, one timestamp per batch (distinct across all batches).
    const t0 = Date.now() - 600_000;
    let seq = 0;
    const acked = new Map<string, Set<number>>();
    let ackedSamples = 0;
    let firstAckAt = 0;
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
        if (firstAckAt === 0) firstAckAt = Date.now();
      }
    };
    const pushing = Promise.all([0, 1, 2, 3].map(pusher));
    // Kill mid-push: after 2000 acknowledged samples and a second, but always within 3.5 s of the
    // first acknowledgement, before the sink's second debounce window (5 s) opens, so that what was
    // acknowledged after its first send is certainly still unsent however slow the machine is.
    const started = Date.now();
    while (firstAckAt === 0 && Date.now() - started < 20_000) await sleep(10);
    while ((ackedSamples < 2000 || Date.now() - started < 1000) && Date.now() - firstAckAt < 3500) await sleep(10);
    killed = true;
    first.child.kill('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');
    await pushing;
    assert.ok(ackedSamples >= 200, `only ${ackedSamples} samples acknowledged before the kill`);

    const arrivedBefore = await countArrived(vm!, acked);
    assert.ok(arrivedBefore < ackedSamples, `premise: acknowledged samples were still unsent at the kill (${arrivedBefore} of ${ackedSamples} had arrived)`);

    const second = await startAgentProcess({ env: env(100) });
    agents.push(second);
    url = second.url;
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
    await second.stop();
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
