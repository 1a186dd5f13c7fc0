import assert from 'node:assert/strict';
import net from 'node:net';
import { startAgent } from '../helpers/agent';

// The deadline is long on purpose: a stop that waits on any of these connections takes all of it,
// one that does not takes milliseconds, so "well under the deadline" cannot pass by luck.
const DEADLINE_MS = 20_000;

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Everything the socket receives until the agent closes it. */
function readToClose(s: net.Socket): Promise<string> {
  let got = '';
  s.on('data', (c: Buffer) => (got += c.toString('latin1')));
  return new Promise((resolve) => s.once('close', () => resolve(got)));
}

/** Resolves with the first complete response on a keep-alive connection (the socket stays open). */
function firstResponse(s: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const onData = (c: Buffer) => {
      got += c.toString('latin1');
      const head = got.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(got);
      if (head >= 0 && len && got.length >= head + 4 + Number(len[1])) {
        s.off('data', onData);
        resolve(got);
      }
    };
    s.on('data', onData);
  });
}

describe('HTTP server close: a stop waits only on requests in flight', () => {
  it('ends at once a connection that never sent a request and an idle keep-alive one', async () => {
    const a = await startAgent({ SHUTDOWN_TIMEOUT_MS: String(DEADLINE_MS) });
    const port = a.agent.port;
    // A preconnect: opened, nothing sent.
    const silent = await connect(port);
    const silentClosed = readToClose(silent);
    // A keep-alive connection whose request is done.
    const kept = await connect(port);
    const answered = firstResponse(kept);
    kept.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(await answered, /^HTTP\/1\.1 200/);
    const keptClosed = readToClose(kept);

    const t0 = Date.now();
    await a.stop();
    const took = Date.now() - t0;
    assert.ok(took < DEADLINE_MS / 4, `stop took ${took} ms, as if it waited for the ${DEADLINE_MS} ms deadline`);
    assert.equal(await silentClosed, '', 'the silent connection is closed without a response');
    assert.equal(await keptClosed, '', 'the idle keep-alive connection is closed without more data');
  });

  it('lets a keep-alive request in flight finish, answers it whole, then closes its connection', async () => {
    const a = await startAgent({ SHUTDOWN_TIMEOUT_MS: String(DEADLINE_MS) });
    const body = JSON.stringify({ name: 'late_push', value: 7 });
    const s = await connect(a.agent.port);
    const all = readToClose(s);
    // Keep-alive (HTTP/1.1, no Connection: close), headers sent, body not yet.
    s.write(`POST /api/v1/metrics/simple HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    s.write(body.slice(0, 4));
    await new Promise((r) => setTimeout(r, 100));

    const t0 = Date.now();
    const stopped = a.stop();
    await new Promise((r) => setTimeout(r, 100));
    s.write(body.slice(4));
    const got = await all;
    await stopped;
    const took = Date.now() - t0;
    assert.match(got, /^HTTP\/1\.1 202/, 'the request in flight is answered');
    const head = got.indexOf('\r\n\r\n');
    const len = Number(/content-length: (\d+)/i.exec(got)?.[1]);
    assert.equal(got.length - head - 4, len, 'the whole response arrives before the close');
    assert.ok(took < DEADLINE_MS / 4, `stop took ${took} ms, as if it waited for the ${DEADLINE_MS} ms deadline`);
  });
});
