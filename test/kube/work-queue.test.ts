/** The keyed work queue: de-duplication, one handler per key at a time, per-key backoff. */

import assert from 'node:assert/strict';
import { WorkQueue } from '../../src/kube/work-queue';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('work queue', () => {
  let q: WorkQueue;
  afterEach(() => q?.shutDown());

  it('coalesces adds of a waiting key and handles keys in FIFO order', async () => {
    q = new WorkQueue();
    const seen: string[] = [];
    for (const k of ['a', 'b', 'a', 'c', 'b', 'a']) q.add(k);
    assert.equal(q.length, 3);
    q.start(async (k) => {
      seen.push(k);
    });
    await q.idle();
    assert.deepEqual(seen, ['a', 'b', 'c']);
    assert.equal(q.stats.adds, 6);
    assert.equal(q.stats.coalesced, 3);
  });

  it('never runs one key twice at once; an add during its handler runs it once more afterwards', async () => {
    q = new WorkQueue({ concurrency: 4 });
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    q.start(async () => {
      running++;
      runs++;
      maxRunning = Math.max(maxRunning, running);
      if (runs === 1) await gate;
      running--;
    });
    q.add('k');
    await tick();
    q.add('k');
    q.add('k');
    q.add('k');
    await tick(5);
    assert.equal(runs, 1, 'the second run waits for the first');
    release();
    await q.idle();
    assert.equal(runs, 2, 'three adds during the run → exactly one more run');
    assert.equal(maxRunning, 1);
  });

  it('retries a failing key with exponential backoff and forgets the failures after a success', async () => {
    q = new WorkQueue({ baseDelayMs: 20, maxDelayMs: 80 });
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => q.backoffMs(n)), [20, 40, 80, 80, 80]);
    const at: number[] = [];
    let fail = 3;
    const t0 = Date.now();
    q.start(async () => {
      at.push(Date.now() - t0);
      if (fail-- > 0) throw new Error('transient');
    });
    q.add('x');
    await waitFor(() => at.length === 4, 3000);
    assert.equal(q.failures('x'), 0, 'success forgets');
    assert.equal(q.stats.failures, 3);
    const gaps = at.slice(1).map((v, i) => v - at[i]!);
    // 20, 40, 80 ms (timers may fire late on a loaded machine, never early)
    assert.ok(gaps[0]! >= 18 && gaps[1]! >= 38 && gaps[2]! >= 78, `gaps ${gaps.join(',')}`);
    assert.ok(gaps[2]! >= gaps[0]!, 'delays grow');
  });

  it('other keys are not held up by one that keeps failing', async () => {
    q = new WorkQueue({ baseDelayMs: 1000, maxDelayMs: 1000 });
    const seen: string[] = [];
    q.start(async (k) => {
      seen.push(k);
      if (k === 'bad') throw new Error('always');
    });
    q.add('bad');
    q.add('good');
    await q.idle();
    assert.deepEqual(seen, ['bad', 'good']);
    assert.equal(q.pending, 1, 'bad waits for its retry');
  });

  it('addAfter keeps the earliest time; add() now overrides a pending delay', async () => {
    q = new WorkQueue();
    const seen: string[] = [];
    q.start(async (k) => {
      seen.push(k);
    });
    q.addAfter('a', 10_000);
    q.addAfter('a', 30);
    q.addAfter('a', 20_000);
    await waitFor(() => seen.length === 1, 2000);
    q.addAfter('b', 10_000);
    q.add('b');
    await q.idle();
    assert.deepEqual(seen, ['a', 'b']);
    assert.equal(q.pending, 0);
  });

  it('shutDown drops queued and delayed keys and waits for the running handler', async () => {
    q = new WorkQueue();
    let finished = false;
    q.start(async (k) => {
      if (k === 'slow') {
        await tick(50);
        finished = true;
      }
    });
    q.add('slow');
    q.add('next');
    q.addAfter('later', 10);
    await tick();
    await q.shutDown();
    assert.equal(finished, true);
    assert.equal(q.pending, 0);
    q.add('after');
    assert.equal(q.length, 0, 'adds after shutdown are ignored');
  });
});

async function waitFor(fn: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out');
    await tick(5);
  }
}
