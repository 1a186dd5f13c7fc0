import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../helpers/tools';

const MAIN = path.resolve(__dirname, '../../src/main.js');


function startProcess(env: Record<string, string>) {
  const child = spawn(process.execPath, [MAIN, 'agent'], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c));
  child.stderr.on('data', (c: Buffer) => (out += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => out };
}

async function waitUp(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} never came up`);
}

describe('agent process lifecycle', () => {
  it('an invalid env value stops the agent at start, naming the variable', async () => {
    const p = startProcess({ METRICS_RETENTION_SECONDS: 'forever' });
    const code = await p.exited;
    assert.notEqual(code, 0);
    assert.match(p.output(), /METRICS_RETENTION_SECONDS/);
  });

  it('SIGTERM: finishes the in-flight request, then exits 0 quickly', async () => {
    const port = await freePort();
    const p = startProcess({ METRICS_PORT: String(port), HOST: '127.0.0.1' });
    const url = `http://127.0.0.1:${port}`;
    await waitUp(`${url}/health`);
    // An upload still in flight when SIGTERM arrives: headers sent, body trickling.
    const body = JSON.stringify({ name: 'late', value: 1 });
    const inflight = new Promise<number>((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1', () => {
        sock.write(`POST /api/v1/metrics/simple HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
        sock.write(body.slice(0, 5));
        setTimeout(() => {
          p.child.kill('SIGTERM');
          setTimeout(() => sock.write(body.slice(5)), 200);
        }, 100);
      });
      let resp = '';
      sock.on('data', (c) => (resp += c));
      sock.on('end', () => resolve(Number(/^HTTP\/1.1 (\d+)/.exec(resp)?.[1] ?? 0)));
      sock.on('error', reject);
    });
    const t0 = Date.now();
    assert.equal(await inflight, 202);
    assert.equal(await p.exited, 0);
    assert.ok(Date.now() - t0 < 10_000);
    // New connections are refused after shutdown.
    await assert.rejects(fetch(`${url}/health`));
  });
});
