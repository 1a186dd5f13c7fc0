import assert from 'node:assert/strict';
import type { Origin } from '../../src/model/sample';
import { startAgent, type RunningAgent } from '../helpers/agent';
import { sleep, SseClient, type ParsedData } from './sse-client';

const STREAM = '/metrics/stream';

describe('stream: event ids and Last-Event-ID resume', function () {
  let a: RunningAgent;
  const open: SseClient[] = [];
  const connect = async (query: string, lastEventId?: string) => {
    const c = await SseClient.open(`${a.url}${STREAM}${query}`, lastEventId === undefined ? {} : { 'last-event-id': lastEventId });
    open.push(c);
    assert.equal(c.status, 200);
    return c;
  };
  const write = (origin: Origin, samples: Array<{ name: string; labels?: Record<string, string>; value: number; timestampMs?: number }>) =>
    a.agent.hub.accept({ origin, format: 'simple', samples: samples.map((s) => ({ labels: {}, type: 'gauge' as const, ...s })) });
  const points = (d: ParsedData, name: string) => d.metrics.filter((m) => m.name === name).map((m) => [m.value, m.timestamp]);

  afterEach(async () => {
    for (const c of open.splice(0)) c.close();
    await a.stop();
  });

  it('delta mode: replays from the history rings what a reconnecting client missed, then continues with deltas', async () => {
    a = await startAgent({ HISTORY_SECONDS: '3600' });
    const t = Date.now() - 10_000;
    write('custom', [
      { name: 'temp', value: 20, timestampMs: t },
      { name: 'other', value: 1, timestampMs: t },
    ]);
    // Resume replays what was written at or after the last event's millisecond (updatedSince is
    // inclusive: nothing written in that millisecond may be lost); written in the snapshot's own
    // millisecond, `other` would rightly come again. Failed so once on Node 24.
    await sleep(5);
    const c1 = await connect('?delta=1');
    const snap = await c1.next();
    assert.equal(snap.kind, 'snapshot');
    const lastId = c1.events.at(-1)!.id!;
    assert.match(lastId, /^\d+$/);
    c1.close();
    await sleep(30);

    // While the client is away: three new points of temp (one with a sample time before the event,
    // as a pusher with a lagging clock would send), a new series; `other` does not change.
    write('custom', [{ name: 'temp', value: 21, timestampMs: Date.now() - 1 }]);
    write('custom', [{ name: 'temp', value: 22, timestampMs: Date.now() }]);
    write('custom', [{ name: 'fresh', value: 7, timestampMs: Number(lastId) - 5000 }]);
    await sleep(20);

    const c2 = await connect('?delta=1', lastId);
    const replay = await c2.next();
    assert.equal(replay.kind, 'replay');
    assert.ok(Number(c2.events[0].id) > Number(lastId), 'the replay event has a newer id');
    assert.deepEqual(points(replay, 'temp').map((p) => p[0]), [21, 22], 'every missed point of temp, oldest first');
    assert.deepEqual(points(replay, 'fresh').map((p) => p[0]), [7], 'a series written since, even with an older sample time');
    assert.deepEqual(points(replay, 'other'), [], 'unchanged series are not repeated');

    write('custom', [{ name: 'other', value: 2 }]);
    const d = await c2.next();
    assert.equal(d.kind, 'delta');
    assert.deepEqual(d.metrics.map((m) => [m.name, m.value]), [['other', 2]]);
  });

  it('full mode: a replay event, then the usual snapshot', async () => {
    a = await startAgent();
    write('custom', [{ name: 'rps', value: 1 }, { name: 'q', value: 5 }]);
    await sleep(5); // not in the snapshot's millisecond, which a resume rightly replays (see above)
    const c1 = await connect('?name=rps&name=q');
    await c1.next();
    const lastId = c1.events.at(-1)!.id!;
    c1.close();
    await sleep(20);
    write('custom', [{ name: 'rps', value: 2, timestampMs: Date.now() }]);
    await sleep(5);
    const c2 = await connect('?name=rps&name=q', lastId);
    const replay = await c2.next();
    const snap = await c2.next();
    assert.equal(replay.kind, 'replay');
    assert.deepEqual(replay.metrics.map((m) => [m.name, m.value]), [['rps', 2]]);
    assert.equal(snap.kind, 'snapshot');
    assert.deepEqual(snap.metrics.map((m) => [m.name, m.value]).sort(), [['q', 5], ['rps', 2]]);
    assert.ok(Number(c2.events[1].id) >= Number(c2.events[0].id));
  });

  it('sends a fresh snapshot when the id is unknown, too old, from before a restart, or series were removed since', async () => {
    a = await startAgent({ HISTORY_SECONDS: '1' });
    write('custom', [{ name: 'm', value: 1 }, { name: 'gone', value: 1 }]);
    const c1 = await connect('?delta=1');
    await c1.next();
    const lastId = c1.events.at(-1)!.id!;
    c1.close();

    // Unknown ids: not one this agent sent (e.g. from before a restart), far in the past, in the future, garbage.
    for (const id of [String(Number(lastId) - 1), '1', String(Date.now() + 3_600_000), 'abc', '']) {
      const c = await connect('?delta=1', id);
      const first = await c.next();
      assert.equal(first.kind, 'snapshot', `Last-Event-ID ${JSON.stringify(id)}`);
      assert.deepEqual(first.metrics.map((m) => m.name).sort(), ['gone', 'm']);
      c.close();
    }

    // More points than the history window (1 s) keeps were written since: the missed ones are gone.
    const base = Date.now();
    for (let i = 0; i < 250; i++) write('custom', [{ name: 'm', value: 10 + i, timestampMs: base + i * 10 }]);
    assert.ok(a.agent.store.historyTrims.window > 0, 'a chunk left the window');
    const lost = await connect('?delta=1', lastId);
    const f1 = await lost.next();
    assert.equal(f1.kind, 'snapshot', 'history was trimmed since the event');
    assert.deepEqual(f1.metrics.map((m) => [m.name, m.value]).sort(), [['gone', 1], ['m', 259]]);
    const okId = lost.events.at(-1)!.id!;
    lost.close();

    // A series deleted since: a replay could not tell the client, a snapshot does.
    const del = await fetch(`${a.url}/api/v1/metrics?name=gone`, { method: 'DELETE' });
    assert.ok(del.ok, `DELETE answered ${del.status}`);
    const after = await connect('?delta=1', okId);
    const f2 = await after.next();
    assert.equal(f2.kind, 'snapshot', 'a series was removed since the event');
    assert.deepEqual(f2.metrics.map((m) => m.name), ['m']);
  });

  it('ids stay increasing across events for every client and name points in time (ms)', async () => {
    a = await startAgent();
    const c = await connect('');
    await c.next();
    for (let i = 0; i < 5; i++) {
      write('custom', [{ name: 'x', value: i }]);
      await sleep(55);
    }
    await c.waitForEvents(6);
    const ids = c.events.map((e) => Number(e.id));
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1]);
    const data = c.parsed();
    for (let i = 0; i < ids.length; i++) assert.equal(ids[i], data[i].timestamp, 'the id is the event time in ms');
  });
});
