import assert from 'node:assert/strict';
import net from 'node:net';
import type { Sample } from '../../src/model/sample';
import { startAgent, type RunningAgent } from '../helpers/agent';
import { sleep, SseClient } from './sse-client';

/** A client that sends the request and then never reads: its socket stays paused. */
function stalledClient(port: number): Promise<{ sock: net.Socket; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    let closed = false;
    const sock = net.connect(port, '127.0.0.1', () => {
      sock.write('GET /metrics/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
      sock.pause();
      resolve({ sock, closed: () => closed });
    });
    sock.on('close', () => (closed = true));
    sock.on('error', () => (closed = true));
    sock.once('error', reject);
  });
}

describe('stream: slow consumers', function () {
  let a: RunningAgent;
  afterEach(async () => {
    await a?.stop();
  });

  it('disconnects a client that does not read once its buffer passes the bound, counts it, and keeps memory flat', async () => {
    const bound = 256 * 1024;
    a = await startAgent({ SSE_CLIENT_BUFFER_BYTES: String(bound), SSE_HEARTBEAT_INTERVAL_MS: '300000' });
    // ~2,000 series with long labels: each full-mode event is ~0.5 MB.
    const pad = 'x'.repeat(200);
    const samples: Sample[] = [];
    for (let i = 0; i < 2000; i++) samples.push({ name: 'load', labels: { i: String(i), pad }, value: i, type: 'gauge' });
    a.agent.hub.accept({ origin: 'custom', format: 'simple', samples });

    const healthy = await SseClient.open(`${a.url}/metrics/stream`);
    const stalled = await stalledClient(a.agent.port);
    await healthy.next(5000);
    await sleep(50);
    assert.equal(a.agent.stream.clientCount, 2);

    let maxBuffered = 0;
    let pushes = 0;
    const t0 = Date.now();
    // Keep changing one series: every ≥ 50 ms both clients are due a whole snapshot.
    while (a.agent.stream.stats().slowDisconnects === 0 && Date.now() - t0 < 10_000) {
      a.agent.hub.accept({ origin: 'custom', format: 'simple', samples: [{ name: 'load', labels: { i: '0', pad }, value: pushes++, type: 'gauge' }] });
      await sleep(55);
      maxBuffered = Math.max(maxBuffered, a.agent.stream.stats().bufferedBytes);
    }
    const st = a.agent.stream.stats();
    assert.equal(st.slowDisconnects, 1, `the stalled client was cut after ${pushes} pushes, ${st.bytesSent} bytes sent in all`);
    assert.equal(st.clients, 1, 'the healthy client stays');
    // Never more than the bound plus one event per client was held for the clients.
    const eventBytes = healthy.events.at(-1)!.data.length + 64;
    assert.ok(maxBuffered <= 2 * (bound + eventBytes), `at most ${maxBuffered} bytes buffered (bound ${bound}, event ${eventBytes})`);

    // More events after the cut: nothing accumulates for the dead client.
    for (let i = 0; i < 5; i++) {
      a.agent.hub.accept({ origin: 'custom', format: 'simple', samples: [{ name: 'load', labels: { i: '0', pad }, value: 1000 + i, type: 'gauge' }] });
      await sleep(55);
    }
    assert.ok(a.agent.stream.stats().bufferedBytes <= bound + eventBytes);
    await healthy.waitFor(() => healthy.parsed().at(-1)!.metrics.some((m) => m.labels.i === '0' && m.value === 1004), 5000, 'the healthy client keeps up');

    const self = await (await fetch(`${a.url}/metrics/self`)).text();
    assert.match(self, /^metrics_manager_sse_slow_consumer_disconnects_total 1$/m);
    assert.match(self, /^metrics_manager_connections_active\{type="sse"\} 1$/m);

    // The stalled socket was closed by the agent: reading now ends it.
    stalled.sock.resume();
    const deadline = Date.now() + 5000;
    while (!stalled.closed() && Date.now() < deadline) await sleep(20);
    assert.ok(stalled.closed(), 'the agent closed the stalled connection');
    healthy.close();
  });
});
