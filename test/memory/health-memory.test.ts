/**
 * /api/health's memory figures from a real agent process: heap used and reserved and memory outside
 * the heap, and, when the agent was started with --expose-gc (as bench/store-v2.ts --only=accounting
 * starts it), a full collection first, so that heap in use can be set against the store's bytes.
 */

import assert from 'node:assert/strict';
import { startAgentProcess, type AgentProcess } from '../helpers/agent-process';

interface MemoryHealth {
  rss_bytes: number;
  heap_used_bytes: number;
  heap_total_bytes: number;
  external_bytes: number;
  after_gc: boolean;
}

async function memoryOf(a: AgentProcess): Promise<{ memory: MemoryHealth; bytes: number }> {
  const h = (await (await fetch(`${a.url}/api/health?gc=1`)).json()) as { memory: MemoryHealth; metrics_store: { bytes: number } };
  return { memory: h.memory, bytes: h.metrics_store.bytes };
}

describe('/api/health memory figures (agent process)', function () {
  this.timeout(60_000);
  const agents: AgentProcess[] = [];
  after(async () => {
    for (const a of agents) await a.stop();
  });

  it('reports heap used, heap reserved and external memory; collects garbage first only when asked (?gc=1) under --expose-gc', async () => {
    const plain = await startAgentProcess({ env: { RATE_LIMIT_ENABLED: 'false' } });
    agents.push(plain);
    const gc = await startAgentProcess({ nodeArgs: ['--expose-gc'], env: { RATE_LIMIT_ENABLED: 'false' } });
    agents.push(gc);
    const p = (await memoryOf(plain)).memory;
    assert.equal(p.after_gc, false);
    assert.ok(p.heap_used_bytes > 1e6 && p.heap_used_bytes <= p.heap_total_bytes, JSON.stringify(p));
    assert.ok(p.rss_bytes > p.heap_used_bytes && p.external_bytes > 0, JSON.stringify(p));
    // 20,000 new series: the heap in use after a collection grows by at least what the store says it holds, less 15 %.
    const before = await memoryOf(gc);
    assert.equal(before.memory.after_gc, true);
    const unasked = (await (await fetch(`${gc.url}/api/health`)).json()) as { memory: MemoryHealth };
    assert.equal(unasked.memory.after_gc, false, 'a plain probe never forces a collection');
    for (let from = 0; from < 20_000; from += 1000) {
      let body = '';
      for (let i = from; i < from + 1000; i++) body += `health_mem_${i % 10},id=s${i} value=${i}\n`;
      const r = await fetch(`${gc.url}/write`, { method: 'POST', body });
      assert.equal(r.status, 204, await r.text());
    }
    const after = await memoryOf(gc);
    const grew = after.memory.heap_used_bytes + after.memory.external_bytes - before.memory.heap_used_bytes - before.memory.external_bytes;
    const stored = after.bytes - before.bytes;
    assert.ok(stored > 20_000 * 200, `store bytes grew by ${stored}`);
    assert.ok(grew > 0.85 * stored, `heap + external grew by ${grew} for ${stored} store bytes`);
  });
});
