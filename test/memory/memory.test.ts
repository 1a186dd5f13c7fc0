import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseLimit, parseProcCgroup, readContainerMemoryLimit } from '../../src/memory/container-limit';
import { MemoryGuard, memoryPlan, parseUnreclaimableRss, residentUnreclaimableBytes, type MemoryPlan } from '../../src/memory/memory-guard';
import { startAgent } from '../helpers/agent';

const MiB = 1024 * 1024;

function tree(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-cgroup-'));
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), text);
  }
  return root;
}

describe('memory: container limit, store budget and the guard', () => {
  it('parses limit files and /proc/self/cgroup (v1 and v2)', () => {
    assert.equal(parseLimit('268435456\n'), 268435456);
    assert.equal(parseLimit('max\n'), undefined);
    assert.equal(parseLimit('9223372036854771712\n'), undefined, "v1's no-limit value");
    assert.equal(parseLimit('garbage'), undefined);
    assert.deepEqual(parseProcCgroup('12:pids:/a\n4:memory:/kubepods/pod1/c1\n0::/\n'), { v1Memory: '/kubepods/pod1/c1', v2: '/' });
    assert.deepEqual(parseProcCgroup('0::/system.slice/x.service\n'), { v2: '/system.slice/x.service' });
    assert.deepEqual(parseProcCgroup('5:cpu,memory:/g\n'), { v1Memory: '/g' });
  });

  it('reads the tightest limit on the path of its own group (v2)', () => {
    const root = tree({
      'proc/self/cgroup': '0::/kubepods/pod1/c1\n',
      'sys/fs/cgroup/cgroup.controllers': 'cpu memory\n',
      'sys/fs/cgroup/kubepods/pod1/memory.max': '536870912\n',
      'sys/fs/cgroup/kubepods/pod1/c1/memory.max': 'max\n',
    });
    assert.deepEqual(readContainerMemoryLimit(root), { bytes: 512 * MiB, source: 'cgroup v2 /sys/fs/cgroup/kubepods/pod1/memory.max' });
  });

  it('reads cgroup v1 memory.limit_in_bytes, and says so when there is no limit', () => {
    const root = tree({
      'proc/self/cgroup': '4:memory:/docker/abc\n0::/\n',
      'sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n',
      'sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes': '268435456\n',
    });
    assert.equal(readContainerMemoryLimit(root).bytes, 256 * MiB);
    const none = tree({ 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/memory.max': 'max\n' });
    assert.equal(readContainerMemoryLimit(none).bytes, undefined);
    assert.match(readContainerMemoryLimit(path.join(none, 'nowhere')).source, /no \/proc\/self\/cgroup/);
  });

  it('derives the store budget from the limit and the heap, and leaves an explicit one alone', () => {
    const base = { limitSource: 'test', heapLimitBytes: 2048 * MiB, configuredStoreBytes: 0, forwardQueueBytes: 16 * MiB };
    const p512 = memoryPlan({ ...base, limitBytes: 512 * MiB });
    assert.ok(p512.storeBytes > 100 * MiB && p512.storeBytes < 256 * MiB, `${p512.storeBytes / MiB} MiB`);
    assert.equal(p512.shedAboveRssBytes, Math.floor(512 * MiB * 0.9));
    // A small heap caps it: the heap must hold the store with room to collect.
    const small = memoryPlan({ ...base, limitBytes: 512 * MiB, heapLimitBytes: 200 * MiB });
    assert.equal(small.storeBytes, 80 * MiB);
    assert.match(small.storeSource, /heap limit/);
    assert.equal(memoryPlan({ ...base, limitBytes: 512 * MiB, configuredStoreBytes: 3 * MiB }).storeBytes, 3 * MiB);
    const none = memoryPlan({ ...base });
    assert.equal(none.storeBytes, 256 * MiB);
    assert.equal(none.shedAboveRssBytes, undefined);
  });

  it('bounds the line-protocol parser cache at a quarter of the store budget, 4 to 32 MiB', () => {
    const base = { limitSource: 'test', configuredStoreBytes: 0, forwardQueueBytes: 16 * MiB };
    // The image in 256 MiB and 512 MiB (heap limits as its entry script sizes them).
    const p256 = memoryPlan({ ...base, limitBytes: 256 * MiB, heapLimitBytes: 150 * MiB });
    assert.equal(p256.storeBytes, 60 * MiB);
    assert.equal(p256.parserCacheBytes, 15 * MiB, 'room for the 30,000-series bench (8.7 MB by the cache estimate); a sixteenth (3.75 MiB) was not');
    const p512 = memoryPlan({ ...base, limitBytes: 512 * MiB, heapLimitBytes: 332 * MiB });
    assert.ok(p512.storeBytes / 4 > 32 * MiB, String(p512.storeBytes / MiB));
    assert.equal(p512.parserCacheBytes, 32 * MiB, 'capped');
    const p384 = memoryPlan({ ...base, limitBytes: 384 * MiB, heapLimitBytes: 240 * MiB });
    assert.equal(p384.parserCacheBytes, Math.floor(p384.storeBytes / 4));
    assert.equal(memoryPlan({ ...base, configuredStoreBytes: 8 * MiB, heapLimitBytes: 4096 * MiB }).parserCacheBytes, 4 * MiB, 'floored');
  });

  it('the guard reads resident memory without file-backed pages (RssAnon + RssShmem)', () => {
    const status = 'Name:\tnode\nVmRSS:\t   97300 kB\nRssAnon:\t   45600 kB\nRssFile:\t   51600 kB\nRssShmem:\t     100 kB\nVmData:\t 1 kB\n';
    assert.equal(parseUnreclaimableRss(status), (45600 + 100) * 1024);
    assert.equal(parseUnreclaimableRss('VmRSS:\t 97300 kB\nRssAnon:\t 4 kB\n'), 4096);
    assert.equal(parseUnreclaimableRss('VmRSS:\t 97300 kB\n'), undefined, 'no split: the caller falls back to VmRSS');
    // This process: the node binary's pages are resident, so the reading is well below VmRSS.
    const rss = process.memoryUsage.rss();
    const anon = residentUnreclaimableBytes();
    assert.ok(anon > 0 && anon <= rss, `${anon} of ${rss}`);
    if (process.platform === 'linux') {
      const file = Number(/^RssFile:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024;
      assert.ok(file > 8 * MiB, `file-backed ${file}`);
      assert.ok(anon < rss - 8 * MiB, `${anon} vs ${rss}`);
    }
  });

  it('the guard sheds above the high mark and recovers below the low one', () => {
    let rss = 100 * MiB;
    let t = 0;
    const plan: MemoryPlan = { limitBytes: 200 * MiB, limitSource: 'test', storeBytes: 50 * MiB, storeSource: 'test', parserCacheBytes: 12.5 * MiB, shedAboveRssBytes: 180 * MiB, resumeBelowRssBytes: 170 * MiB };
    const g = new MemoryGuard(() => plan, { rss: () => rss, heapUsed: () => 10, heapLimit: () => 100 }, () => t, 100);
    assert.equal(g.shouldShed(), false);
    rss = 185 * MiB;
    assert.equal(g.shouldShed(), false, 'not read again within 100 ms');
    t += 100;
    assert.equal(g.shouldShed(), true);
    assert.equal(g.reason, 'rss');
    rss = 175 * MiB;
    t += 100;
    assert.equal(g.shouldShed(), true, 'between the marks: still shedding');
    rss = 160 * MiB;
    t += 100;
    assert.equal(g.shouldShed(), false);
    // The heap near its limit sheds too, even without a container limit.
    const h = new MemoryGuard(() => ({ ...plan, shedAboveRssBytes: undefined, resumeBelowRssBytes: undefined }), { rss: () => 0, heapUsed: () => 95, heapLimit: () => 100 }, () => t, 0);
    assert.equal(h.shouldShed(), true);
    assert.equal(h.reason, 'heap');
  });

  it('ingestion answers 503 + Retry-After while shedding, counted; reads keep working; it recovers', async () => {
    // A limit far above this test process's RSS (the whole suite runs in it), so that restoring the
    // plan lets the guard resume on the real reading.
    const LIMIT = 64 * 1024 * MiB;
    const a = await startAgent({ RATE_LIMIT_ENABLED: 'false', MEMORY_LIMIT_BYTES: String(LIMIT) });
    try {
      const cfg = (await (await fetch(`${a.url}/api/v1/config`)).json()) as { config: { maxStoreBytes: number }; memory: { limit_bytes: number; limit_source: string } };
      assert.equal(cfg.memory.limit_bytes, LIMIT);
      assert.equal(cfg.memory.limit_source, 'MEMORY_LIMIT_BYTES');
      assert.equal(cfg.config.maxStoreBytes, a.agent.memoryPlan.storeBytes);
      assert.ok(cfg.config.maxStoreBytes > 0);
      // Push the plan's high mark under the current RSS: the guard must trip on the real reading.
      const plan = a.agent.memoryPlan;
      const saved = { ...plan };
      plan.shedAboveRssBytes = 1;
      plan.resumeBelowRssBytes = 0;
      // The guard reads memory at most every 100 ms: wait until it has read the real RSS against
      // the new plan (it then stays shedding: resume is below any RSS), then push.
      const guard = a.agent.memoryGuard;
      for (const end = Date.now() + 2000; !guard.shouldShed() && Date.now() < end;) await new Promise((res) => setTimeout(res, 20));
      assert.equal(guard.active, true, `the guard trips on the real RSS (${process.memoryUsage.rss()} B > 1 B)`);
      const r = await fetch(`${a.url}/write`, { method: 'POST', body: 'm value=1' });
      assert.equal(r.status, 503, `shedding=${guard.active} reason=${guard.reason} shed=${guard.shed} refused=${JSON.stringify(a.agent.admission?.refused)}`);
      assert.equal(r.headers.get('retry-after'), '1');
      assert.match(((await r.json()) as { error: string; message: string }).message, /memory/);
      assert.equal((await fetch(`${a.url}/health`)).status, 200);
      const self = await (await fetch(`${a.url}/metrics/self`)).text();
      assert.match(self, /metrics_manager_ingest_refused_total\{reason="pressure"\} 1/);
      const h = (await (await fetch(`${a.url}/api/health`)).json()) as { memory: { shed_requests: number } };
      assert.equal(h.memory.shed_requests, 1);
      Object.assign(plan, saved);
      for (const end = Date.now() + 2000; guard.shouldShed() && Date.now() < end;) await new Promise((res) => setTimeout(res, 20));
      assert.equal((await fetch(`${a.url}/write`, { method: 'POST', body: 'm value=1' })).status, 204);
    } finally {
      await a.stop();
    }
  });
});
