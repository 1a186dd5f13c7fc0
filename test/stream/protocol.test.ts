import assert from 'node:assert/strict';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { postJson, startAgent, type RunningAgent } from '../helpers/agent';
import { entriesOf, sleep, SseClient } from './sse-client';

const STREAM = '/metrics/stream';

function push(url: string, name: string, value: number, tags: Record<string, string> = {}, timestamp?: number): Promise<Response> {
  return postJson(`${url}/api/v1/metrics/simple`, { name, value, tags, ...(timestamp !== undefined ? { timestamp } : {}) });
}

/** A GET with exact request headers, body read in full (for the non-stream answers). */
function get(url: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

describe('stream: protocol (raw HTTP)', function () {
  let a: RunningAgent;
  const open: SseClient[] = [];
  const connect = async (path = STREAM, headers: Record<string, string> = {}) => {
    const c = await SseClient.open(a.url + path, headers);
    open.push(c);
    return c;
  };

  afterEach(async () => {
    for (const c of open.splice(0)) c.close();
    await a?.stop();
  });

  it('sends the SSE headers, no compression, a retry hint, then snapshot events with increasing ids', async () => {
    a = await startAgent();
    await push(a.url, 'fps', 30, { app: 'cam1' });
    const before = Date.now();
    // Ask for gzip: the stream must still not be compressed.
    const c = await connect(STREAM, { 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(c.status, 200);
    assert.match(String(c.res.headers['content-type']), /^text\/event-stream/);
    assert.equal(c.res.headers['cache-control'], 'no-cache');
    assert.equal(c.res.headers['x-accel-buffering'], 'no');
    assert.equal(c.res.headers['content-encoding'], undefined);

    const first = await c.next();
    assert.deepEqual(c.retries, [1000], 'a retry: hint before the first event');
    assert.equal(first.kind, 'snapshot');
    assert.ok(first.timestamp >= before - 5 && first.timestamp <= Date.now() + 5, `event timestamp ${first.timestamp} is in ms, now`);
    const fps = entriesOf(first, 'fps');
    assert.equal(fps.length, 1);
    assert.deepEqual(Object.keys(fps[0]), ['name', 'labels', 'value', 'timestamp']);
    assert.deepEqual(fps[0].labels, { app: 'cam1' });
    assert.equal(fps[0].value, 30);
    assert.ok(fps[0].timestamp > 1e12 && fps[0].timestamp < 1e13, 'sample timestamp in ms');

    await push(a.url, 'fps', 31, { app: 'cam1' });
    await push(a.url, 'latency_ms', 12.5, { app: 'cam1' });
    await c.waitFor(() => c.parsed().some((d) => entriesOf(d, 'fps')[0]?.value === 31 && entriesOf(d, 'latency_ms').length === 1));
    const ids = c.events.map((e) => Number(e.id));
    assert.ok(ids.every((id) => Number.isSafeInteger(id)), `ids are integers: ${ids.join(',')}`);
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `ids increase: ${ids.join(',')}`);
    // Full mode (the default): every event is the whole matching set.
    const last = c.parsed().at(-1)!;
    assert.equal(last.kind, 'snapshot');
    assert.deepEqual(last.metrics.map((m) => m.name).sort(), ['fps', 'latency_ms']);
    // Every data field is one line of valid JSON.
    for (const e of c.events) assert.doesNotThrow(() => JSON.parse(e.data));
  });

  it('encodes NaN and ±Inf as the strings "NaN", "+Inf", "-Inf" (valid JSON)', async () => {
    a = await startAgent();
    const c = await connect(`${STREAM}?name=odd_*`);
    await c.next(); // the (empty) first snapshot
    a.agent.hub.accept({
      origin: 'custom', format: 'simple',
      samples: [
        { name: 'odd_nan', labels: {}, value: NaN, type: 'gauge' },
        { name: 'odd_pinf', labels: {}, value: Infinity, type: 'gauge' },
        { name: 'odd_ninf', labels: {}, value: -Infinity, type: 'gauge' },
        { name: 'odd_zero', labels: {}, value: -0, type: 'gauge' },
      ],
    });
    const d = await c.next();
    const byName = Object.fromEntries(d.metrics.map((m) => [m.name, m.value]));
    assert.deepEqual(byName, { odd_nan: 'NaN', odd_pinf: '+Inf', odd_ninf: '-Inf', odd_zero: 0 });
    assert.match(c.events.at(-1)!.data, /"value":"NaN"/);
  });

  it('sends a heartbeat comment every SSE_HEARTBEAT_INTERVAL_MS', async () => {
    a = await startAgent({ SSE_HEARTBEAT_INTERVAL_MS: '150' });
    const c = await connect();
    const t0 = performance.now();
    await c.waitFor(() => c.comments.filter((x) => x === 'heartbeat').length >= 3, 3000, '3 heartbeats');
    const took = performance.now() - t0;
    assert.ok(took >= 300 && took < 1500, `3 heartbeats at 150 ms took ${took.toFixed(0)} ms`);
    assert.equal(c.events.length, 1, 'heartbeats are comments, not events');
  });

  it('delivers a pushed custom metric to a watching client in well under 100 ms', async () => {
    a = await startAgent();
    const c = await connect(`${STREAM}?name=push_latency`);
    await c.next();
    const lat: number[] = [];
    for (let i = 1; i <= 5; i++) {
      await sleep(60); // past the 50 ms coalescing window: each push gets its own event
      const n = c.events.length;
      const t0 = performance.now();
      const res = await push(a.url, 'push_latency', i);
      assert.ok(res.ok, `push answered ${res.status}`);
      await c.waitFor(() => c.events.length > n && c.parsed().slice(n).some((d) => entriesOf(d, 'push_latency')[0]?.value === i), 1000, `value ${i}`);
      const ev = c.events.slice(n).find((e) => (JSON.parse(e.data) as { metrics: Array<{ value: number }> }).metrics[0]?.value === i)!;
      lat.push(ev.at - t0);
    }
    const worst = Math.max(...lat);
    assert.ok(worst < 100, `push → event latencies ${lat.map((x) => x.toFixed(1)).join(', ')} ms`);
  });

  it('coalesces a burst of pushes to at most one event per 50 ms per client', async () => {
    a = await startAgent();
    const c = await connect(`${STREAM}?name=burst`);
    await c.next();
    const n0 = c.events.length;
    const t0 = performance.now();
    for (let i = 0; i < 40; i++) a.agent.hub.accept({ origin: 'custom', format: 'simple', samples: [{ name: 'burst', labels: {}, value: i, type: 'gauge' }] });
    await sleep(5);
    for (let i = 40; i < 60; i++) {
      a.agent.hub.accept({ origin: 'custom', format: 'simple', samples: [{ name: 'burst', labels: {}, value: i, type: 'gauge' }] });
      await sleep(5);
    }
    await c.waitFor(() => entriesOf(c.parsed().at(-1)!, 'burst')[0]?.value === 59, 1000, 'the last value');
    const evs = c.events.slice(n0);
    const span = performance.now() - t0;
    assert.ok(evs.length <= Math.ceil(span / 50) + 1, `${evs.length} events over ${span.toFixed(0)} ms`);
    // Measured at the client, so delivery jitter can shorten a gap a little.
    for (let i = 1; i < evs.length; i++) assert.ok(evs[i].at - evs[i - 1].at >= 30, `gap ${(evs[i].at - evs[i - 1].at).toFixed(1)} ms`);
  });

  it('system changes arriving faster than PROMETHEUS_POLLER_INTERVAL_MS make at most one event per interval', async () => {
    a = await startAgent({ PROMETHEUS_POLLER_INTERVAL_MS: '250' });
    const c = await connect(`${STREAM}?source=system`);
    await c.next();
    const n0 = c.events.length;
    const t0 = performance.now();
    let i = 0;
    while (performance.now() - t0 < 1000) {
      // Collectors pushing on their own schedules, every 20 ms in all.
      a.agent.hub.accept({ origin: 'system', format: 'system', samples: [{ name: 'sys_x', labels: { c: String(i % 3) }, value: i++, type: 'gauge' }] });
      await sleep(20);
    }
    const span = performance.now() - t0;
    await sleep(300);
    const evs = c.events.slice(n0);
    assert.ok(evs.length >= 3 && evs.length <= Math.ceil(span / 250) + 1, `${evs.length} events in ${span.toFixed(0)} ms at a 250 ms interval`);
    for (let k = 1; k < evs.length; k++) assert.ok(evs[k].at - evs[k - 1].at >= 200, `gap ${(evs[k].at - evs[k - 1].at).toFixed(0)} ms`);
    const last = c.parsed().at(-1)!;
    assert.equal(Math.max(...last.metrics.map((m) => m.value as number)), i - 1, 'the last event has the latest values');
  });

  it('serializes an event once for all clients with the same filter', async () => {
    a = await startAgent();
    const clients = await Promise.all(Array.from({ length: 20 }, () => connect()));
    await Promise.all(clients.map((c) => c.waitForEvents(1)));
    const s0 = a.agent.stream.stats();
    await push(a.url, 'shared', 1);
    await Promise.all(clients.map((c) => c.waitFor(() => c.parsed().some((d) => entriesOf(d, 'shared').length === 1))));
    const s1 = a.agent.stream.stats();
    assert.equal(s1.eventsSerialized - s0.eventsSerialized, 1, 'one serialization for 20 clients');
    assert.equal(s1.eventsSent - s0.eventsSent, 20);
    assert.equal(s1.groups, 1);
    // The 20 first snapshots were shared too (they joined in at most a few flushes).
    assert.ok(s0.eventsSerialized <= 3, `${s0.eventsSerialized} serializations for 20 joins`);
  });

  it('gives browsers (Accept: text/html) the page, never the stream; anything else the stream', async () => {
    a = await startAgent();
    const html = await get(a.url + STREAM, { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
    assert.doesNotMatch(String(html.headers['content-type']), /event-stream/);
    for (const accept of ['text/event-stream', '*/*', 'text/html, text/event-stream']) {
      const c = await connect(STREAM, { accept });
      assert.match(String(c.res.headers['content-type']), /^text\/event-stream/, `Accept: ${accept}`);
    }
    const none = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(a.url + STREAM, { agent: false }, resolve).on('error', reject);
    });
    assert.match(String(none.headers['content-type']), /^text\/event-stream/, 'no Accept header');
    none.destroy();
  });

  it('is exempt from the rate limit and counted in health, stats and self-metrics', async () => {
    a = await startAgent({ RATE_LIMIT_BURST: '2', RATE_LIMIT_REQUESTS_PER_MINUTE: '1' });
    const clients: SseClient[] = [];
    for (let i = 0; i < 5; i++) clients.push(await connect());
    for (const c of clients) assert.equal(c.status, 200);
    await Promise.all(clients.map((c) => c.waitForEvents(1)));
    const health = (await (await fetch(`${a.url}/api/health`)).json()) as { sse_subscribers: number };
    assert.equal(health.sse_subscribers, 5);
    const stats = (await (await fetch(`${a.url}/api/v1/stats`)).json()) as { sse_events_sent: number; sse: { events_sent: number } };
    assert.ok(stats.sse_events_sent >= 5);
    const self = await (await fetch(`${a.url}/metrics/self`)).text();
    assert.match(self, /^metrics_manager_connections_active\{type="sse"\} 5$/m);
    assert.match(self, /^metrics_manager_connections_total\{type="sse"\} 5$/m);
    assert.match(self, /^metrics_manager_sse_events_sent_total [1-9]/m);
    assert.match(self, /^metrics_manager_sse_bytes_sent_total [1-9]/m);
    assert.match(self, /^metrics_manager_sse_events_serialized_total\{kind="snapshot"\} [1-9]/m);
    assert.match(self, /^metrics_manager_sse_slow_consumer_disconnects_total 0$/m);

    clients[0].close();
    clients[1].close();
    await sleep(100);
    const h2 = (await (await fetch(`${a.url}/api/health`)).json()) as { sse_subscribers: number };
    assert.equal(h2.sse_subscribers, 3);
    const self2 = await (await fetch(`${a.url}/metrics/self`)).text();
    assert.match(self2, /^metrics_manager_connections_active\{type="sse"\} 3$/m);
    assert.match(self2, /^metrics_manager_connections_duration_seconds_count\{type="sse"\} 2$/m);
  });

  it('refuses streams past SSE_MAX_CLIENTS with 503 and Retry-After', async () => {
    a = await startAgent({ SSE_MAX_CLIENTS: '2' });
    await connect();
    const second = await connect();
    const third = await get(a.url + STREAM, { accept: 'text/event-stream' });
    assert.equal(third.status, 503);
    assert.ok(Number(third.headers['retry-after']) > 0);
    assert.match((JSON.parse(third.body) as { message: string }).message, /SSE_MAX_CLIENTS=2/);
    second.close();
    await sleep(50);
    const again = await connect();
    assert.equal(again.status, 200, 'a slot is free again once a client left');
  });

  it('ends open streams when the agent stops, without waiting for the shutdown deadline', async () => {
    a = await startAgent({ SHUTDOWN_TIMEOUT_MS: '5000' });
    const c = await connect();
    await c.next();
    const t0 = performance.now();
    await a.stop();
    assert.ok(performance.now() - t0 < 2000, `stop took ${(performance.now() - t0).toFixed(0)} ms`);
    await c.waitFor(() => c.ended, 1000, 'the stream to end');
  });
});
