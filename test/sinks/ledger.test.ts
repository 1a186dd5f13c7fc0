import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseLedger } from '../../src/sinks/ledger/ledger';
import { startAgentProcess, type AgentProcess } from '../helpers/agent-process';

describe('forward ledger (FORWARD_STATE_FILE)', () => {
  describe('parseLedger', () => {
    const good = { version: 1, pid: 42, startedAt: 1, updatedAt: 2, clean: false, unsent: { 'remote-write': 7 } };
    it('reads what a run wrote', () => {
      assert.deepEqual(parseLedger(JSON.stringify(good)), good);
    });
    it('refuses anything else without throwing', () => {
      const bad: unknown[] = [
        'not json', 'null', '[]', { ...good, version: 2 }, { ...good, clean: 'no' }, { ...good, pid: 1.5 },
        { ...good, unsent: { 'remote-write': -1 } }, { ...good, unsent: { 'Bad Name{}': 1 } }, { ...good, unsent: null },
        { ...good, unsent: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`s${i}`, 1])) },
      ];
      for (const b of bad) assert.equal(parseLedger(typeof b === 'string' ? b : JSON.stringify(b)), undefined, JSON.stringify(b));
    });
  });

  describe('the agent counts at start what a killed run left unsent', function () {
    this.timeout(60_000);
    let dir: string;
    let target: http.Server;
    let targetUrl: string;
    const agents: AgentProcess[] = [];

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-ledger-'));
      // A remote-write target that is down (503): everything acknowledged stays in the sink's memory queue.
      target = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => res.writeHead(503, { 'retry-after': '60' }).end());
      });
      await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
      targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/api/v1/write`;
    });
    after(async () => {
      await Promise.all(agents.map((a) => a.stop()));
      await new Promise<void>((r) => target.close(() => r()));
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const start = async (file: string) => {
      const a = await startAgentProcess({ env: { FORWARD_REMOTE_WRITE_URL: targetUrl, FORWARD_STATE_FILE: file, RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '2000' } });
      agents.push(a);
      return a;
    };
    const push = async (a: AgentProcess, n: number) => {
      const metrics = Array.from({ length: n }, (_, i) => ({ name: 'ledger_probe', fields: { value: i }, tags: { i: String(i) } }));
      const r = await fetch(`${a.url}/api/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metrics }) });
      assert.equal(r.status, 202, await r.text());
    };
    const previous = async (a: AgentProcess) => ((await (await fetch(`${a.url}/api/health`)).json()) as { forward_previous_run?: { clean: boolean; lost_samples: number } }).forward_previous_run;
    /** Waits until the ledger file says `unsent` for remote-write (it is rewritten about once a second). */
    const ledgerSays = async (file: string, unsent: number) => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const l = fs.existsSync(file) ? parseLedger(fs.readFileSync(file, 'utf8')) : undefined;
        if (l?.unsent['remote-write'] === unsent) return;
        if (Date.now() > deadline) throw new Error(`ledger never said ${unsent}: ${fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : 'no file'}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    it('after kill -9: the next run reports the acknowledged samples it lost, in health, a metric and the log', async () => {
      const file = path.join(dir, 'killed.state');
      const first = await start(file);
      await push(first, 120);
      await push(first, 80);
      await ledgerSays(file, 200);
      first.child.kill('SIGKILL');
      await first.exited;

      const second = await start(file);
      assert.deepEqual(await previous(second), { clean: false, pid: first.child.pid, as_of: (await previous(second) as unknown as { as_of: string }).as_of, unsent_samples: { 'remote-write': 200 }, lost_samples: 200 });
      const text = await (await fetch(`${second.url}/metrics/self`)).text();
      assert.match(text, /^metrics_manager_forward_previous_run_unsent_samples\{sink="remote-write",clean="false"\} 200$/m);
      assert.match(second.output(), /previous run \(pid \d+\) ended without a graceful stop.*remote-write 200/);
    });

    it('after a graceful stop: nothing is reported lost', async () => {
      const file = path.join(dir, 'graceful.state');
      const first = await start(file);
      await push(first, 30);
      await ledgerSays(file, 30);
      await first.stop(15_000); // the sinks give up on the down target after SHUTDOWN_TIMEOUT_MS/2
      const second = await start(file);
      const p = await previous(second);
      assert.equal(p?.clean, true);
      assert.equal(p?.lost_samples, 0);
      assert.doesNotMatch(second.output(), /without a graceful stop/);
    });
  });
});
