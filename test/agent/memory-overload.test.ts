import assert from 'node:assert/strict';
import { startAgentProcess, type AgentProcess } from '../helpers/agent-process';
import { MemoryCgroup, requireMemoryCgroup } from '../helpers/memory-cgroup';

const MiB = 1024 * 1024;
/** Bounded so npm test stays short; bench runs the long version. */
const OVERLOAD_S = Number(process.env.MM_OVERLOAD_SECONDS ?? 20);
const LINES_PER_REQUEST = 500;
/** Long label values make every series big, so the byte budget (not the series bound) is what overflows. */
const PAD = 'p'.repeat(1000);
const SENDERS = 3;

interface Health {
  metrics_store: { total_metrics: number; bytes: number; max_bytes: number; removed: Record<string, number>; history_chunks_trimmed: Record<string, number> };
  memory: { limit_bytes: number; shed_requests: number; rss_bytes: number };
}

async function health(url: string, timeoutMs = 10_000): Promise<Health> {
  const r = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(timeoutMs) });
  assert.equal(r.status, 200);
  return (await r.json()) as Health;
}

/**
 * The agent inside a pod-like 256 MiB memory cgroup, flooded with new series on every request:
 * it must stay alive (no OOM kill), keep answering /health, and account for everything it
 * acknowledged (still held, or counted as removed).
 */
describe('agent under a 256 MiB memory limit, flooded with new series (real cgroup)', function () {
  this.timeout((OVERLOAD_S + 60) * 1000);
  let cg: MemoryCgroup | undefined;
  let agent: AgentProcess | undefined;

  afterEach(async () => {
    await agent?.stop();
    cg?.remove();
    agent = cg = undefined;
  });

  it(`is not killed, keeps answering, and counts what it evicts or sheds (${OVERLOAD_S} s)`, async function () {
    requireMemoryCgroup(this);
    cg = MemoryCgroup.create('mm-overload', 256 * MiB);
    // The budget the agent derives from 256 MiB (about 70 MiB) holds ~50k of these series; a loaded
    // 2-core machine pushes only a few thousand a second, so the store gets a smaller explicit budget
    // to be overrun several times within the bounded run (the derived one is checked in
    // test/memory/memory.test.ts and by the 60 s run: MM_OVERLOAD_SECONDS=60 MM_OVERLOAD_DERIVED=1).
    const derived = process.env.MM_OVERLOAD_DERIVED === '1';
    const env: Record<string, string> = { RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'warning', MAX_METRICS_IN_MEMORY: '10000000' };
    if (!derived) env.MAX_STORE_BYTES = String(16 * MiB);
    agent = await startAgentProcess({ cgroup: cg, env });
    const a = agent;
    const h0 = await health(a.url);
    assert.equal(h0.memory.limit_bytes, 256 * MiB, 'the agent found its cgroup limit');
    const budget = h0.metrics_store.max_bytes;
    if (derived) assert.ok(budget > 8 * MiB && budget < 128 * MiB, `derived budget ${budget / MiB} MiB`);

    let acked = 0; // series acknowledged (each request brings new ones)
    let shed = 0;
    let other = 0;
    let lastAcked = '';
    let healthFailures = 0;
    let healthChecks = 0;
    const deadline = Date.now() + OVERLOAD_S * 1000;
    let req = 0;
    const sender = async (id: number) => {
      while (Date.now() < deadline) {
        const n = req++;
        let body = '';
        for (let i = 0; i < LINES_PER_REQUEST; i++) body += `flood,sender=s${id},req=r${n},i=i${i},pad=${PAD} value=${i}\n`;
        try {
          const r = await fetch(`${a.url}/write`, { method: 'POST', body, signal: AbortSignal.timeout(15_000) });
          await r.arrayBuffer();
          if (r.status === 204) {
            acked += LINES_PER_REQUEST;
            lastAcked = `r${n}`;
          } else if (r.status === 503) {
            shed++;
            assert.ok(r.headers.get('retry-after'), '503 carries Retry-After');
            await new Promise((res) => setTimeout(res, 200));
          } else {
            other++;
          }
        } catch {
          other++;
        }
      }
    };
    const watcher = async () => {
      while (Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 1000));
        healthChecks++;
        try {
          const r = await fetch(`${a.url}/health`, { signal: AbortSignal.timeout(10_000) });
          if (r.status !== 200) healthFailures++;
        } catch {
          healthFailures++;
        }
      }
    };
    await Promise.all([...Array.from({ length: SENDERS }, (_, i) => sender(i)), watcher()]);

    assert.equal(a.child.exitCode, null, `the agent is alive:\n${a.output().slice(-2000)}`);
    assert.equal(cg.oomKills(), 0, 'no OOM kill in the group');
    assert.ok(healthFailures <= 1, `/health failed ${healthFailures} of ${healthChecks} times`);
    const h = await health(a.url);
    const removed = h.metrics_store.removed;
    const evicted = removed.max_series + removed.max_bytes + removed.expired + removed.deleted;
    // Overload for real: far more series were acknowledged than the store can hold at once.
    assert.ok(acked >= 2 * h.metrics_store.total_metrics, `acknowledged ${acked} series, holding ${h.metrics_store.total_metrics}`);
    assert.ok(removed.max_bytes > 0, 'the byte budget evicted');
    assert.ok(evicted > 0, 'evictions counted');
    // Everything acknowledged is held or counted as removed (each series was written once).
    assert.ok(h.metrics_store.total_metrics + evicted >= acked, `held ${h.metrics_store.total_metrics} + removed ${evicted} < acknowledged ${acked}`);
    assert.ok(h.metrics_store.bytes <= h.metrics_store.max_bytes, 'the store kept its budget');
    // Sheds, when there were any, are counted by the agent exactly as the clients saw them.
    assert.equal(h.memory.shed_requests, shed, 'every 503 counted');
    // The newest acknowledged series are queryable.
    const q = (await (await fetch(`${a.url}/api/v1/metrics?match=${encodeURIComponent(`{req="${lastAcked}"}`)}`)).json()) as { count: number };
    assert.equal(q.count, LINES_PER_REQUEST, `series of the last acknowledged request (${lastAcked})`);
    const peak = cg.peakBytes();
    console.log(`      overload: ${acked} series acknowledged in ${OVERLOAD_S} s, ${shed} requests shed, ${other} failed; held ${h.metrics_store.total_metrics}, removed ${evicted}; store ${(h.metrics_store.bytes / MiB).toFixed(1)}/${(budget / MiB).toFixed(1)} MiB; RSS ${(h.memory.rss_bytes / MiB).toFixed(0)} MiB, cgroup peak ${peak ? (peak / MiB).toFixed(0) : '?'} MiB`);
  });
});
