import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { type ScriptHealth, ScriptsCollector, type ScriptsCollectorOptions, type SpawnFn } from '../../../src/collectors/scripts';
import { LineProtocolParser } from '../../../src/formats/influx/parse';
import type { Sample } from '../../../src/model/sample';
import { repoRoot } from '../../fixtures/tools/make-pmt';

const FIXTURES = path.join(repoRoot(__dirname), 'test', 'fixtures', 'scripts');

const tmpRoots: string[] = [];
after(() => {
  for (const d of tmpRoots) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh directory holding copies of the named fixture scripts (modes kept). */
function dirWith(...names: string[]): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'scripts-'));
  tmpRoots.push(d);
  for (const n of names) {
    fs.copyFileSync(path.join(FIXTURES, n), path.join(d, n));
    fs.chmodSync(path.join(d, n), fs.statSync(path.join(FIXTURES, n)).mode & 0o777);
  }
  return d;
}

function collector(dir: string, extra: Partial<ScriptsCollectorOptions> = {}): ScriptsCollector {
  return new ScriptsCollector({ dir, timeoutMs: 5000, killGraceMs: 300, parser: new LineProtocolParser(), ...extra });
}

function healthOf(c: ScriptsCollector, script: string): ScriptHealth {
  const h = c.health().find((x) => x.script === script);
  assert.ok(h, `no health entry for ${script}`);
  return h;
}

/** Whether a process runs. A zombie (dead, not yet reaped: PID 1 of a container may never reap) counts as dead. */
function alive(pid: number): boolean {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return !/^State:\s+[ZX]/m.test(status);
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

/** Waits (polling) until `cond` holds, at most `ms`. */
async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function names(samples: Sample[]): string[] {
  return samples.map((s) => s.name).sort();
}

describe('scripts collector', () => {
  it('has the documented name and interval, and validates its options', () => {
    const c = collector('/nonexistent');
    assert.equal(c.name, 'scripts');
    assert.equal(c.defaultIntervalMs, 10_000);
    assert.throws(() => collector('/tmp', { timeoutMs: 0 }), /timeoutMs/);
    assert.throws(() => collector(''), /dir/);
  });

  it('the fixture scripts keep their modes (git keeps the x bit)', () => {
    for (const n of ['good.sh', 'failing.sh', 'hanging.sh', 'bad-lines.sh', 'slow.sh']) {
      assert.notEqual(fs.statSync(path.join(FIXTURES, n)).mode & 0o111, 0, `${n} must be executable`);
    }
    assert.equal(fs.statSync(path.join(FIXTURES, 'not-executable.sh')).mode & 0o111, 0);
  });

  it('ingests the line protocol a good script prints, as custom metrics', async () => {
    const c = collector(dirWith('good.sh'));
    const r = await c.collect();
    assert.equal(r.present, true);
    assert.equal(r.origin, 'custom');
    assert.deepEqual(names(r.samples), ['inference_fps', 'inference_latency_ms', 'room_temperature']);
    const room = r.samples.find((s) => s.name === 'room_temperature');
    assert.deepEqual({ ...room?.labels }, { room: 'lab', sensor: 't1' });
    assert.equal(room?.value, 21.5);
    assert.equal(room?.timestampMs, undefined, 'no timestamp in the line: the store stamps it');
    const fps = r.samples.find((s) => s.name === 'inference_fps');
    assert.equal(fps?.value, 30);
    assert.equal(fps?.timestampMs, 1_700_000_000_000);
    const h = healthOf(c, 'good.sh');
    assert.equal(h.status, 'ok');
    assert.equal(h.runs, 1);
    assert.equal(h.failures, 0);
    assert.equal(h.lastExitCode, 0);
    assert.equal(h.lastLinesAccepted, 2);
    assert.equal(h.lastSamples, 3);
    assert.equal(h.lastError, null);
    assert.equal(h.running, false);
    assert.ok((h.lastDurationMs ?? -1) >= 0);
  });

  it('runs the whole fixture directory: never throws, ignores the non-executable file', async () => {
    const c = collector(FIXTURES, { timeoutMs: 2000 });
    const started = Date.now();
    const r = await c.collect();
    const took = Date.now() - started;
    assert.equal(r.present, true);
    const got = names(r.samples);
    assert.ok(got.includes('room_temperature'));
    assert.ok(got.includes('slow_metric'));
    assert.ok(got.includes('partial_result'), 'a failing script’s output is still ingested, as in the reference');
    assert.ok(!got.includes('should_not_appear'));
    assert.ok(!got.includes('hang_started'), 'a timed-out run’s output is dropped');
    // The hanging script costs its own timeout, not the others' time on top.
    assert.ok(took < 2000 + 2 * 300 + 1500, `took ${took} ms`);
    assert.equal(healthOf(c, 'not-executable.sh').status, 'not-executable');
    assert.equal(healthOf(c, 'not-executable.sh').runs, 0);
    assert.deepEqual(
      c.health().map((h) => [h.script, h.status]),
      [
        ['bad-lines.sh', 'ok'],
        ['failing.sh', 'failed'],
        ['good.sh', 'ok'],
        ['hanging.sh', 'timeout'],
        ['not-executable.sh', 'not-executable'],
        ['slow.sh', 'ok'],
      ],
    );
  });

  it('a failing script: exit code, failure count and last stderr line in health', async () => {
    const c = collector(dirWith('failing.sh'));
    await c.collect();
    await c.collect();
    const h = healthOf(c, 'failing.sh');
    assert.equal(h.status, 'failed');
    assert.equal(h.runs, 2);
    assert.equal(h.failures, 2);
    assert.equal(h.lastExitCode, 3);
    assert.match(h.lastError ?? '', /exited with code 3/);
    assert.equal(h.lastStderr, 'sensor /dev/fake0 not found');
    assert.equal(c.totals().failures, 2);
  });

  it('counts rejected lines and keeps the good ones', async () => {
    const c = collector(dirWith('bad-lines.sh'));
    const r = await c.collect();
    assert.deepEqual(names(r.samples), ['good_after', 'good_before']);
    const h = healthOf(c, 'bad-lines.sh');
    assert.equal(h.linesRejected, 3);
    assert.equal(h.lastLinesAccepted, 2);
    assert.equal(h.status, 'ok', 'bad lines are not a failed run');
    assert.match(h.lastError ?? '', /3 line\(s\) rejected; line 2/);
    await c.collect();
    assert.equal(healthOf(c, 'bad-lines.sh').linesRejected, 6);
    assert.equal(c.totals().linesRejected, 6);
  });

  it('kills a hanging script’s whole process group at the timeout and counts it', async () => {
    const dir = dirWith('hanging.sh', 'good.sh');
    const pidFile = path.join(dir, '.sleep-pid');
    const c = collector(dir, { timeoutMs: 400, env: { ...process.env, HANG_PID_FILE: pidFile } });
    const started = Date.now();
    const r = await c.collect();
    const took = Date.now() - started;
    assert.ok(took >= 380 && took < 400 + 300 + 1000, `took ${took} ms`);
    assert.deepEqual(names(r.samples), ['inference_fps', 'inference_latency_ms', 'room_temperature']);
    const h = healthOf(c, 'hanging.sh');
    assert.equal(h.status, 'timeout');
    assert.equal(h.timeouts, 1);
    assert.equal(h.failures, 1);
    assert.equal(h.running, false, 'the process group died, so the run is over');
    assert.equal(h.lastSignal, 'SIGTERM');
    assert.match(h.lastError ?? '', /timed out after 400 ms/);
    // The shell's background `sleep 30` was in the group: it is gone too.
    const sleepPid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    assert.ok(sleepPid > 0);
    // The pipes close as the sleep exits; its state turns to Z a moment later on a loaded machine.
    await until(() => !alive(sleepPid), 1000).catch(() => undefined);
    assert.equal(alive(sleepPid), false, `sleep ${sleepPid} should be dead`);
    assert.equal(c.totals().timeouts, 1);
  });

  it('never starts a second run of a script that is still running (overlap skipped and counted)', async () => {
    const c = collector(dirWith('slow.sh', 'good.sh'));
    const first = c.collect();
    await until(() => c.health().some((h) => h.script === 'slow.sh' && h.running));
    // A second cycle while slow.sh (1 s) is still running: it is skipped, good.sh runs.
    const second = await c.collect();
    assert.deepEqual(names(second.samples), ['inference_fps', 'inference_latency_ms', 'room_temperature']);
    assert.equal(healthOf(c, 'slow.sh').skippedOverlaps, 1);
    assert.equal(healthOf(c, 'slow.sh').status, 'running');
    const r1 = await first;
    assert.ok(names(r1.samples).includes('slow_metric'));
    const h = healthOf(c, 'slow.sh');
    assert.equal(h.runs, 1);
    assert.equal(h.status, 'ok');
    assert.equal(c.totals().skippedOverlaps, 1);
  });

  it('a process that survives SIGKILL stays "running" and is skipped next cycle (fake spawn)', async () => {
    const signals: [number, string][] = [];
    let spawned = 0;
    const fake: SpawnFn = () => {
      spawned++;
      const child = new EventEmitter() as unknown as ChildProcess & EventEmitter;
      Object.assign(child, { pid: 424242, stdout: new PassThrough(), stderr: new PassThrough(), kill: () => true });
      return child;
    };
    const dir = dirWith('good.sh');
    const c = collector(dir, { timeoutMs: 100, killGraceMs: 50, spawn: fake, kill: (pid, sig) => void signals.push([pid, sig]) });
    const r = await c.collect();
    assert.deepEqual(r.samples, []);
    assert.deepEqual(signals, [[-424242, 'SIGTERM'], [-424242, 'SIGKILL']], 'signals go to the process group');
    let h = healthOf(c, 'good.sh');
    assert.equal(h.status, 'running');
    assert.equal(h.timeouts, 1);
    assert.match(h.lastError ?? '', /still running/);
    await c.collect();
    h = healthOf(c, 'good.sh');
    assert.equal(h.skippedOverlaps, 1);
    assert.equal(spawned, 1, 'no second process while the first lives');
  });

  it('bounds stdout: a flood is an error for that script, others unaffected', async () => {
    const dir = dirWith('good.sh');
    const flood = path.join(dir, 'flood.sh');
    fs.writeFileSync(flood, '#!/bin/sh\nwhile :; do echo "flood value=1"; done\n', { mode: 0o755 });
    const c = collector(dir, { maxOutputBytes: 64 * 1024 });
    const r = await c.collect();
    assert.deepEqual(names(r.samples), ['inference_fps', 'inference_latency_ms', 'room_temperature']);
    const h = healthOf(c, 'flood.sh');
    assert.equal(h.status, 'failed');
    assert.match(h.lastError ?? '', /output exceeds 65536 bytes/);
    assert.equal(h.running, false);
  });

  it('a script that cannot be executed (no interpreter) is a failure, not an exception', async () => {
    const dir = dirWith('good.sh');
    fs.writeFileSync(path.join(dir, 'broken.sh'), '#!/nonexistent/interpreter\necho x value=1\n', { mode: 0o755 });
    const c = collector(dir);
    const r = await c.collect();
    assert.deepEqual(names(r.samples), ['inference_fps', 'inference_latency_ms', 'room_temperature']);
    const h = healthOf(c, 'broken.sh');
    assert.equal(h.status, 'failed');
    assert.equal(h.failures, 1);
    assert.ok(h.lastError);
  });

  it('runs scripts concurrently, within the concurrency limit', async () => {
    const dir = dirWith();
    for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(dir, `s${i}.sh`), `#!/bin/sh\nsleep 0.5\necho m${i} value=${i}\n`, { mode: 0o755 });
    const t0 = Date.now();
    const r = await collector(dir, { concurrency: 4 }).collect();
    const parallel = Date.now() - t0;
    assert.equal(r.samples.length, 4);
    assert.ok(parallel < 1500, `4 × 0.5 s scripts in parallel took ${parallel} ms`);
    const t1 = Date.now();
    await collector(dir, { concurrency: 1 }).collect();
    const serial = Date.now() - t1;
    assert.ok(serial >= 1900, `with concurrency 1 they run one after another (${serial} ms)`);
  });

  it('skips hidden entries and directories; follows symlinks to executables', async () => {
    const dir = dirWith('good.sh');
    fs.writeFileSync(path.join(dir, '.hidden.sh'), '#!/bin/sh\necho hidden value=1\n', { mode: 0o755 });
    fs.mkdirSync(path.join(dir, 'subdir'));
    fs.symlinkSync(path.join(FIXTURES, 'bad-lines.sh'), path.join(dir, 'linked.sh'));
    const c = collector(dir);
    const r = await c.collect();
    assert.ok(!names(r.samples).includes('hidden'));
    assert.ok(names(r.samples).includes('good_after'), 'the symlinked script ran');
    assert.deepEqual(c.health().map((h) => h.script), ['good.sh', 'linked.sh']);
  });

  it('a missing directory: present=false, no samples; scripts that vanish leave health', async () => {
    const c = collector(path.join(os.tmpdir(), 'no-such-custom-metrics-dir-' + process.pid));
    const r = await c.collect();
    assert.equal(r.present, false);
    assert.deepEqual(r.samples, []);
    assert.deepEqual(c.health(), []);

    const dir = dirWith('good.sh', 'failing.sh');
    const c2 = collector(dir);
    await c2.collect();
    fs.rmSync(path.join(dir, 'failing.sh'));
    await c2.collect();
    assert.deepEqual(c2.health().map((h) => h.script), ['good.sh']);
    assert.equal(c2.totals().runs, 3);
  });

  it('stop() terminates runs in progress', async () => {
    const c = collector(dirWith('hanging.sh'), { timeoutMs: 10_000 });
    const p = c.collect();
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    c.stop();
    await p;
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(healthOf(c, 'hanging.sh').lastSignal, 'SIGTERM');
    assert.equal(healthOf(c, 'hanging.sh').running, false);
  });
});
