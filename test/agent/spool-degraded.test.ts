/**
 * A forward spool directory the agent cannot use does not stop it: it starts, warns, reports the
 * spool as failed in /api/health and /metrics/self, and keeps ingesting and forwarding from memory.
 *
 * The read-only case uses a real read-only file system: a tmpfs mounted `-o ro` by the test (tests
 * run as root, and root ignores permission bits, so chmod would prove nothing). Where mounting is
 * not allowed the case is skipped loudly (a failure under CI=true). The portable case puts a
 * regular file where the directory should be.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent } from '../../src/agent';
import { loadConfig } from '../../src/config/load';
import { captureLogger, startReceiver, waitFor, type Receiver } from '../sinks/helpers';

describe('agent with an unusable forward spool directory', function () {
  this.timeout(20_000);
  let tmp: string;
  let rx: Receiver;
  let agent: Agent | undefined;
  let mounted: string | undefined;

  beforeEach(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-spool-ro-'));
    rx = await startReceiver();
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await rx.close();
    if (mounted) spawnSync('umount', [mounted]);
    mounted = undefined;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function run(spoolDir: string): Promise<{ url: string; log: ReturnType<typeof captureLogger> }> {
    const log = captureLogger();
    const config = loadConfig({
      METRICS_PORT: '0', HOST: '127.0.0.1', SYSTEM_METRICS_SOURCE: 'none', TELEGRAF_FORWARD: 'false',
      FORWARD_REMOTE_WRITE_URL: `${rx.url}/api/v1/write`, FORWARD_SPOOL_DIR: spoolDir, FILE_PERSIST_DEBOUNCE_MS: '0',
    });
    agent = new Agent({ config, logger: log.logger });
    await agent.start(); // must not throw
    return { url: `http://127.0.0.1:${agent.port}`, log };
  }

  async function checkDegraded(url: string, log: ReturnType<typeof captureLogger>, errorPattern: RegExp): Promise<void> {
    const warned = log.lines.filter((l) => l.level === 'warn' && l.message.includes('forward spool cannot be opened'));
    assert.equal(warned.length, 1, 'one warning');
    assert.match(String(warned[0].error), errorPattern);

    const push = await fetch(`${url}/api/v1/metrics/simple`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'still_ingesting', value: 42 }) });
    assert.equal(push.status, 202, 'ingestion keeps working');
    await waitFor(() => rx.requests.length > 0, 5000, 'the sample forwarded from memory');

    const health = (await (await fetch(`${url}/api/health`)).json()) as {
      status: string; forward_spool: { status: string; failed: Record<string, string> }; sinks: Array<{ name: string; spoolState: string; sentSamplesTotal: number }>;
    };
    assert.equal(health.forward_spool.status, 'memory_only');
    assert.match(health.forward_spool.failed['remote-write'], errorPattern);
    assert.equal(health.sinks[0].spoolState, 'failed');
    const self = await (await fetch(`${url}/metrics/self`)).text();
    assert.match(self, /^metrics_manager_forward_spool_failed\{sink="remote-write"\} 1$/m);
  }

  it('a spool directory on a read-only file system (tmpfs mounted ro): the agent starts, warns, reports it, and forwards from memory', async function () {
    const ro = path.join(tmp, 'ro');
    fs.mkdirSync(ro);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro], { encoding: 'utf8' });
    if (m.status !== 0) {
      const msg = `cannot mount a read-only tmpfs here (${m.stderr.trim() || m.error?.message}); run the tests as root`;
      if (process.env.CI === 'true') throw new Error(msg);
      console.warn(`\n  !!! SKIPPED: ${msg}\n`);
      this.skip();
    }
    mounted = ro;
    assert.throws(() => fs.mkdirSync(path.join(ro, 'probe')), /EROFS/, 'the mount is read-only even for root');
    const { url, log } = await run(path.join(ro, 'spool'));
    // A recursive mkdir on a read-only file system reports ENOENT for the missing parent (the
    // issue's exact failure), a plain one EROFS.
    await checkDegraded(url, log, /EROFS|ENOENT/);
  });

  it('a regular file where the spool directory should be: the agent starts, warns, reports it, and forwards from memory', async () => {
    const file = path.join(tmp, 'file');
    fs.writeFileSync(file, 'not a directory');
    const { url, log } = await run(file);
    await checkDegraded(url, log, /EEXIST|ENOTDIR/);
  });

  it('a working spool is reported ok', async () => {
    const { url } = await run(path.join(tmp, 'spool'));
    const health = (await (await fetch(`${url}/api/health`)).json()) as { forward_spool: { status: string } };
    assert.equal(health.forward_spool.status, 'ok');
    const self = await (await fetch(`${url}/metrics/self`)).text();
    assert.match(self, /^metrics_manager_forward_spool_failed\{sink="remote-write"\} 0$/m);
  });
});
