/**
 * A burst of stream clients connecting together: the snapshot is built once for all of them, in
 * bounded pieces with the event loop free in between, and every client gets the same complete
 * snapshot. Real sockets: a node:http server whose handler holds the requests until all N have
 * arrived, then hands them to StreamHub.open in one turn (what a burst does at its worst: every
 * client is waiting when the flush runs).
 */

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hub } from '../../src/hub/hub';
import { SeriesStore } from '../../src/store/series-store';
import { StreamHub } from '../../src/stream/stream-hub';
import { SelfMetrics } from '../../src/telemetry/self-metrics';
import { SseClient, type ParsedData } from './sse-client';

const SERIES = 5000;
const CLIENTS = 30;

describe('stream: a burst of clients connecting together', function () {
  this.timeout(30_000);
  let server: http.Server | undefined;
  let stream: StreamHub | undefined;
  const clients: SseClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await stream?.stop();
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  it('builds one snapshot for all of them, in pieces with the event loop free in between; each gets it whole and identical', async () => {
    const store = new SeriesStore(() => ({ retentionSeconds: 300, maxSeries: 100_000, maxSystemSeries: 100_000, maxStoreBytes: 512 * 1024 * 1024, historySeconds: 60 }));
    const hub = new Hub(store, new SelfMetrics({ series: () => store.size, bytes: () => store.bytes }));
    const t0 = Date.now();
    hub.accept({
      samples: Array.from({ length: SERIES }, (_, i) => ({ name: `burst_${i % 7}`, labels: { i: String(i), pad: 'x'.repeat(i % 13) }, value: i + 0.5, timestampMs: t0 + i, type: 'gauge' as const })),
      origin: 'custom',
      format: 'json',
    });
    stream = new StreamHub({
      store, hub,
      settings: () => ({ pollerIntervalMs: 500, retentionSeconds: 300, sseHeartbeatIntervalMs: 15_000, sseClientBufferBytes: 64 << 20, sseMaxClients: 1000 }),
      sliceMs: 0, // yield at every step: the build must be correct however it is cut
      chunkBytes: 16 * 1024,
    });
    stream.start();

    // Count event-loop turns that run while the snapshot is being built.
    let ticksDuringBuild = 0;
    let building = false;
    const tick = (): void => {
      if (building) ticksDuringBuild++;
      if (stream !== undefined) setImmediate(tick);
    };

    const held: Array<[http.IncomingMessage, http.ServerResponse]> = [];
    server = http.createServer((req, res) => {
      held.push([req, res]);
      if (held.length === CLIENTS) {
        building = true;
        setImmediate(tick);
        for (const [q, r] of held) stream!.open(q, r, new URLSearchParams());
      }
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics/stream`;

    clients.push(...(await Promise.all(Array.from({ length: CLIENTS }, () => SseClient.open(url)))));
    await Promise.all(clients.map((c) => c.waitForEvents(1, 20_000)));
    building = false;

    const st = stream.stats();
    assert.equal(st.eventsSerialized, 1, `one snapshot for ${CLIENTS} clients, got ${st.eventsSerialized}`);
    assert.equal(st.eventsSent, CLIENTS);
    assert.ok(st.serializeYields >= Math.floor(SERIES / 256) - 1, `built in steps: ${st.serializeYields} yields for ${SERIES} series`);
    assert.ok(ticksDuringBuild >= 5, `the event loop ran between steps (${ticksDuringBuild} turns)`);

    const first = clients[0].events[0].data;
    assert.ok(first.length > 16 * 1024 * 4, 'the event spans several pieces');
    for (const c of clients) assert.equal(c.events[0].data, first, 'identical bytes for every client');
    const parsed = JSON.parse(first) as ParsedData;
    assert.equal(parsed.kind, 'snapshot');
    assert.equal(parsed.metrics.length, SERIES, 'complete');
    const byIndex = new Map(parsed.metrics.map((m) => [Number(m.labels.i), m]));
    for (let i = 0; i < SERIES; i++) {
      const m = byIndex.get(i);
      assert.ok(m, `series ${i} present`);
      assert.equal(m.name, `burst_${i % 7}`);
      assert.equal(m.value, i + 0.5);
      assert.equal(m.timestamp, t0 + i);
    }
  });

  it('serves the first joins at once (a reloaded page joins twice), then one joining flush per interval', async () => {
    const store = new SeriesStore(() => ({ retentionSeconds: 300, maxSeries: 100_000, maxSystemSeries: 100_000, maxStoreBytes: 512 * 1024 * 1024, historySeconds: 60 }));
    const hub = new Hub(store, new SelfMetrics({ series: () => store.size, bytes: () => store.bytes }));
    hub.accept({ samples: [{ name: 'j', labels: {}, value: 1, timestampMs: Date.now(), type: 'gauge' }], origin: 'custom', format: 'json' });
    // An interval no test waits out: a join that has to wait for it gets nothing here.
    stream = new StreamHub({
      store, hub,
      settings: () => ({ pollerIntervalMs: 500, retentionSeconds: 300, sseHeartbeatIntervalMs: 15_000, sseClientBufferBytes: 64 << 20, sseMaxClients: 1000 }),
      joinIntervalMs: 600_000, joinBurst: 3, coalesceMs: 0,
    });
    stream.start();
    server = http.createServer((req, res) => stream!.open(req, res, new URLSearchParams('delta=1')));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics/stream`;
    // One after another, each connecting once the one before has its snapshot.
    for (let i = 0; i < 3; i++) {
      const c = await SseClient.open(url);
      clients.push(c);
      await c.waitForEvents(1, 10_000);
      assert.equal(c.parsed()[0].kind, 'snapshot', `join ${i + 1} is served at once`);
    }
    const fourth = await SseClient.open(url);
    clients.push(fourth);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(fourth.events.length, 0, 'the credit is spent: the fourth join waits for the interval');
    assert.equal(stream.stats().flushes, 3);
  });

  it('a write during a sliced snapshot reaches the joiner in the next event (delta mode)', async () => {
    const store = new SeriesStore(() => ({ retentionSeconds: 300, maxSeries: 100_000, maxSystemSeries: 100_000, maxStoreBytes: 512 * 1024 * 1024, historySeconds: 60 }));
    const hub = new Hub(store, new SelfMetrics({ series: () => store.size, bytes: () => store.bytes }));
    const t0 = Date.now();
    hub.accept({
      samples: Array.from({ length: SERIES }, (_, i) => ({ name: 'mid', labels: { i: String(i) }, value: 0, timestampMs: t0, type: 'gauge' as const })),
      origin: 'custom', format: 'json',
    });
    stream = new StreamHub({
      store, hub,
      settings: () => ({ pollerIntervalMs: 500, retentionSeconds: 300, sseHeartbeatIntervalMs: 15_000, sseClientBufferBytes: 64 << 20, sseMaxClients: 1000 }),
      sliceMs: 0,
    });
    stream.start();
    let wrote = false;
    server = http.createServer((req, res) => {
      stream!.open(req, res, new URLSearchParams('delta=1'));
      // While the snapshot is being built step by step, rewrite the first series (already serialized).
      const writeSoon = (n: number): void => {
        if (n === 0) {
          hub.accept({ samples: [{ name: 'mid', labels: { i: '0' }, value: 42, timestampMs: t0 + 1, type: 'gauge' }], origin: 'custom', format: 'json' });
          wrote = true;
          return;
        }
        setImmediate(() => writeSoon(n - 1));
      };
      writeSoon(3);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const c = await SseClient.open(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics/stream`);
    clients.push(c);
    await c.waitFor(() => c.parsed().some((d) => d.metrics.some((m) => m.labels.i === '0' && m.value === 42)), 10_000);
    assert.ok(wrote);
    const events = c.parsed();
    assert.equal(events[0].kind, 'snapshot');
    assert.equal(events[0].metrics.length, SERIES);
  });
});
