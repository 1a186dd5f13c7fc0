import assert from 'node:assert/strict';
import { backoffDelayMs, DEFAULT_BACKOFF, parseRetryAfterMs, retryDelayMs } from '../../src/sinks/core/backoff';
import { ChunkQueue } from '../../src/sinks/core/chunk-queue';
import { LogThrottle } from '../../src/sinks/core/log-throttle';

const chunk = (n: number, samples = 1) => ({ data: Buffer.alloc(n), samples });

describe('sink core: chunk queue', () => {
  it('keeps FIFO order and drops the OLDEST chunks past the byte bound, reporting what it dropped', () => {
    const q = new ChunkQueue(100);
    for (let i = 0; i < 4; i++) assert.deepEqual(q.push({ data: Buffer.from([i]).fill(i).subarray(0, 1), samples: i + 1 }), { droppedChunks: 0, droppedSamples: 0, droppedBytes: 0 });
    const big = q.push(chunk(98, 10));
    // 4 + 98 > 100: the two oldest go, then 2 + 98 fits exactly.
    assert.deepEqual(big, { droppedChunks: 2, droppedSamples: 1 + 2, droppedBytes: 2 });
    assert.equal(q.length, 3);
    assert.equal(q.bytes, 100);
    assert.equal(q.samples, 3 + 4 + 10);
    assert.equal(q.shift()!.data[0], 2);
    assert.equal(q.shift()!.data[0], 3);
    assert.equal(q.shift()!.samples, 10);
    assert.equal(q.shift(), undefined);
    assert.equal(q.bytes, 0);
  });

  it('keeps a single chunk larger than the bound (it is sent alone)', () => {
    const q = new ChunkQueue(10);
    q.push(chunk(5));
    const r = q.push(chunk(50));
    assert.equal(r.droppedChunks, 1);
    assert.equal(q.length, 1);
    assert.equal(q.bytes, 50);
  });

  it('stays correct across many pushes and shifts (compaction)', () => {
    const q = new ChunkQueue(1e9);
    for (let i = 0; i < 5000; i++) q.push({ data: Buffer.alloc(1), samples: i });
    for (let i = 0; i < 4000; i++) assert.equal(q.shift()!.samples, i);
    assert.equal(q.length, 1000);
    assert.deepEqual(q.drain().map((c) => c.samples).slice(0, 2), [4000, 4001]);
    assert.equal(q.length, 0);
  });
});

describe('sink core: backoff', () => {
  const policy = { initialMs: 100, maxMs: 2000, retryAfterMaxMs: 10_000 };

  it('full jitter: delays lie in [0, min(max, initial·2^attempt)) and use the whole range', () => {
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(2000, 100 * 2 ** attempt);
      let min = Infinity;
      let max = 0;
      for (let k = 0; k < 2000; k++) {
        const d = backoffDelayMs(attempt, policy, rand);
        assert.ok(d >= 0 && d < ceiling, `attempt ${attempt}: ${d} outside [0, ${ceiling})`);
        min = Math.min(min, d);
        max = Math.max(max, d);
      }
      assert.ok(min < ceiling * 0.05 && max > ceiling * 0.95, `attempt ${attempt}: jitter spans [${min}, ${max}] of ${ceiling}`);
    }
    assert.equal(backoffDelayMs(1000, policy, () => 0.999999), 1999);
    assert.equal(backoffDelayMs(0, policy, () => 0), 0);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfterMs('3', now), 3000);
    assert.equal(parseRetryAfterMs(' 0 ', now), 0);
    assert.equal(parseRetryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfterMs('Wed, 31 Dec 2025 23:59:00 GMT', now), 0);
    assert.equal(parseRetryAfterMs('soon', now), undefined);
    assert.equal(parseRetryAfterMs('', now), undefined);
    assert.equal(parseRetryAfterMs(null, now), undefined);
  });

  it('Retry-After wins over the backoff, capped', () => {
    assert.equal(retryDelayMs(0, 1500, policy, () => 0.5), 1500);
    assert.equal(retryDelayMs(5, 0, policy, () => 0.5), 0);
    assert.equal(retryDelayMs(0, 60_000, policy, () => 0.5), 10_000);
    assert.equal(retryDelayMs(0, undefined, policy, () => 0.5), 50);
    assert.equal(DEFAULT_BACKOFF.maxMs, 30_000);
  });
});

describe('sink core: log throttle', () => {
  it('lets one event per key and interval through and reports how many it held back', () => {
    let t = 0;
    const th = new LogThrottle(60_000, () => t);
    assert.equal(th.take('a'), 0);
    assert.equal(th.take('a'), -1);
    assert.equal(th.take('b'), 0);
    t = 59_999;
    assert.equal(th.take('a'), -1);
    t = 60_000;
    assert.equal(th.take('a'), 2);
    assert.equal(th.take('a'), -1);
  });
});
