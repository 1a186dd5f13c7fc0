import assert from 'node:assert/strict';
import { HttpError } from '../../src/http/errors';
import { textSteps } from '../../src/formats/prometheus/encode';
import { ANSWER_SLICE, joinInSlices, OneAtATime, runInSlices } from '../../src/http/large-answers';
import { postText, startAgent, type RunningAgent } from '../helpers/agent';

describe('large answers (JSON lists, Prometheus exposition): in slices, one at a time', () => {
  it('OneAtATime: one holder, callers served in arrival order, a full queue refused with a 503 and counted', async () => {
    const lock = new OneAtATime(2);
    const order: string[] = [];
    const first = await lock.acquire();
    const waiters = ['b', 'c'].map((name) => lock.acquire().then((release) => { order.push(name); return release; }));
    assert.equal(lock.waiting, 2);
    await assert.rejects(lock.acquire(), (e: unknown) => e instanceof HttpError && e.status === 503 && e.code === 'busy' && e.retryAfterSeconds === 1);
    assert.equal(lock.refused, 1);
    first();
    first(); // a second release changes nothing
    const b = await waiters[0];
    assert.deepEqual(order, ['b']);
    b();
    const c = await waiters[1];
    assert.deepEqual(order, ['b', 'c']);
    c();
    // Free again: taken at once.
    (await lock.acquire())();
    assert.equal(lock.waiting, 0);
  });

  it('joinInSlices gives what one join gives, and lets the event loop run between slices', async () => {
    const items = Array.from({ length: ANSWER_SLICE * 2 + 7 }, (_, i) => ({ i }));
    // Queued before the join starts: it runs in the join's first yield, or after the join when
    // there is none (an async function without awaits finishes before any setImmediate).
    let done = false;
    let ranDuring = false;
    setImmediate(() => (ranDuring = !done));
    const text = await joinInSlices(items, (x) => JSON.stringify(x));
    done = true;
    assert.equal(text, items.map((x) => JSON.stringify(x)).join(','));
    assert.ok(ranDuring, 'the event loop ran between slices');
    assert.equal(await joinInSlices([], String), '');
    assert.equal(await joinInSlices([1, 2], String), '1,2');
  });

  it('runInSlices gives what the builder gives, and lets the event loop run at its pauses', async () => {
    const fams = [{ name: 'x', type: 'gauge' as const, series: Array.from({ length: ANSWER_SLICE + 1 }, (_, i) => ({ key: `x{i="${i}"}`, name: 'x', value: i })) }];
    let done = false;
    let ranDuring = false;
    setImmediate(() => (ranDuring = !done));
    const text = await runInSlices(textSteps(fams, {}, ANSWER_SLICE));
    done = true;
    assert.equal(text.split('\n').length, ANSWER_SLICE + 3); // TYPE line, the series, a final newline
    assert.ok(ranDuring, 'the event loop ran at the pause');
  });

  describe('through the agent', () => {
    let a: RunningAgent;
    const N = 3 * ANSWER_SLICE + 11;
    before(async () => {
      a = await startAgent({ RATE_LIMIT_ENABLED: 'false', MAX_METRICS_IN_MEMORY: '100000' });
      const lines = Array.from({ length: N }, (_, i) => `big,id=s${i} value=${i}`);
      assert.equal((await postText(`${a.url}/write`, lines.join('\n'))).status, 204);
    });
    after(() => a.stop());

    it('answers every series, as JSON equal to the small-answer shape, and keyed for /latest', async () => {
      const list = (await (await fetch(`${a.url}/api/v1/metrics?name=big`)).json()) as { metrics: Array<{ name: string; tags: { id: string }; fields: { value: number } }>; count: number };
      assert.equal(list.count, N);
      assert.equal(list.metrics.length, N);
      assert.deepEqual(list.metrics.map((m) => m.fields.value).sort((x, y) => x - y), Array.from({ length: N }, (_, i) => i));
      assert.ok(list.metrics.every((m) => m.name === 'big' && m.tags.id === `s${m.fields.value}`));
      const latest = (await (await fetch(`${a.url}/api/v1/metrics/latest?name=big`)).json()) as { metrics: Record<string, { fields: { value: number } }> };
      assert.equal(Object.keys(latest.metrics).length, N);
      assert.equal(latest.metrics['big{id=s42}'].fields.value, 42);
      const cut = (await (await fetch(`${a.url}/api/v1/metrics?name=big&limit=${ANSWER_SLICE + 1}`)).json()) as { count: number; truncated: boolean };
      assert.deepEqual([cut.count, cut.truncated], [ANSWER_SLICE + 1, true]);
    });

    it('exposes every series once on /metrics, in the text format and in OpenMetrics', async () => {
      const text = await (await fetch(`${a.url}/metrics`)).text();
      const om = await (await fetch(`${a.url}/metrics`, { headers: { Accept: 'application/openmetrics-text; version=1.0.0' } })).text();
      assert.ok(om.endsWith('# EOF\n'));
      for (const body of [text, om]) {
        const ids = body.split('\n').filter((l) => l.startsWith('big{')).map((l) => Number(/id="s(\d+)"/.exec(l)![1]));
        assert.equal(ids.length, N);
        assert.equal(new Set(ids).size, N);
      }
    });

    it('many at once: each is answered whole or refused with 503 + Retry-After, and the refusals are counted', async () => {
      const res = await Promise.all(Array.from({ length: 12 }, () => fetch(`${a.url}/api/v1/metrics`)));
      let refused = 0;
      for (const r of res) {
        if (r.status === 503) {
          refused++;
          assert.equal(r.headers.get('retry-after'), '1');
          assert.equal(((await r.json()) as { error: string }).error, 'busy');
        } else {
          assert.equal(r.status, 200);
          assert.ok(((await r.json()) as { count: number }).count >= N);
        }
      }
      assert.ok(refused <= 12 - 5, `at least the holder and the 4 waiting are answered (${refused} refused)`);
      const self = await (await fetch(`${a.url}/metrics/self`)).text();
      assert.match(self, new RegExp(`^metrics_manager_large_answers_refused_total ${refused}$`, 'm'));
      assert.match(self, /^metrics_manager_large_answers_waiting 0$/m);
    });
  });
});
