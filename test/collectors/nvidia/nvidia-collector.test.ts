import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CommandRunner } from '../../../src/collectors/collector';
import { NvidiaCollector } from '../../../src/collectors/nvidia';
import { HostFs } from '../../../src/collectors/host-fs';
import { close, find, HOSTS, testEnv, value } from '../intel-gpu/fixture-host';

type RunResult = Awaited<ReturnType<CommandRunner>>;
const recorded = (snap: string) => readFileSync(path.join(HOSTS, 'nvidia', `nvidia-smi.${snap}.csv`), 'utf8');
const ok = (stdout: string): RunResult => ({ code: 0, stdout, stderr: '' });

/** A runner that replays `results` in order (the last one repeats) and records its calls. */
function fakeRunner(results: (RunResult | Error)[]) {
  const calls: { cmd: string; args: string[]; timeoutMs: number }[] = [];
  const run: CommandRunner = async (cmd, args, timeoutMs) => {
    calls.push({ cmd, args, timeoutMs });
    const r = results[Math.min(calls.length - 1, results.length - 1)];
    if (r instanceof Error) throw r;
    return r;
  };
  return { run, calls };
}

function enoent(): Error {
  const e = new Error('spawn nvidia-smi ENOENT') as NodeJS.ErrnoException;
  e.code = 'ENOENT';
  return e;
}

const GPU0 = { gpu: '0', uuid: 'GPU-5a2b0f63-1c9e-4d0a-9f3e-2b7c41d8e901', model: 'NVIDIA A100-SXM4-40GB' };
const GPU1 = { gpu: '1', uuid: 'GPU-9c1d4e7a-3b2f-4a8e-8d6c-7e5f10a2b3c4', model: 'NVIDIA GeForce RTX 3060' };
const noFs = new HostFs('/nonexistent/proc', '/nonexistent/sys');

describe('nvidia collector', () => {
  it('validates its options', () => {
    const env = testEnv(noFs);
    assert.throws(() => new NvidiaCollector(env, { smiPath: '' }), /smiPath/);
    assert.throws(() => new NvidiaCollector(env, { smiPath: 'nvidia-smi', timeoutMs: 0 }), /timeoutMs/);
    const c = new NvidiaCollector(env, { smiPath: 'nvidia-smi' });
    assert.equal(c.name, 'nvidia');
    assert.equal(c.defaultIntervalMs, 1000);
  });

  it('runs the query with a 5 s timeout and emits base units per GPU', async () => {
    const { run, calls } = fakeRunner([ok(recorded('t0')), ok(recorded('t1'))]);
    const env = testEnv(noFs, run);
    const c = new NvidiaCollector(env, { smiPath: '/usr/bin/nvidia-smi' });

    const first = await c.collect();
    assert.equal(first.present, true);
    assert.deepEqual(calls[0], {
      cmd: '/usr/bin/nvidia-smi',
      args: [
        '--query-gpu=index,uuid,name,utilization.gpu,utilization.memory,memory.used,memory.total,temperature.gpu,power.draw,power.limit,clocks.sm,clocks.mem',
        '--format=csv,noheader,nounits',
      ],
      timeoutMs: 5000,
    });
    const s = first.samples;
    close(value(s, 'nvidia_gpu_utilization_ratio', GPU0), 0.87);
    close(value(s, 'nvidia_gpu_memory_utilization_ratio', GPU0), 0.42);
    assert.equal(value(s, 'nvidia_gpu_memory_used_bytes', GPU0), 31245 * 1024 * 1024);
    assert.equal(value(s, 'nvidia_gpu_memory_total_bytes', GPU0), 40960 * 1024 * 1024);
    assert.equal(value(s, 'nvidia_gpu_temperature_celsius', GPU0), 64);
    close(value(s, 'nvidia_gpu_power_watts', GPU0), 312.45);
    assert.equal(value(s, 'nvidia_gpu_power_limit_watts', GPU0), 400);
    assert.equal(value(s, 'nvidia_gpu_clock_hertz', { ...GPU0, clock: 'sm' }), 1.41e9);
    assert.equal(value(s, 'nvidia_gpu_clock_hertz', { ...GPU0, clock: 'mem' }), 1.215e9);
    assert.deepEqual(find(s, 'nvidia_gpu_temperature_celsius', GPU1)[0].labels, GPU1);
    assert.equal(find(s, 'nvidia_gpu_power_watts', GPU1).length, 0, '[N/A] power is left out, not 0');
    assert.equal(find(s, 'nvidia_gpu_power_limit_watts', GPU1).length, 0);
    assert.equal(s.length, 9 + 7);
    for (const x of s) assert.equal(x.labels.host, undefined);

    env.clock.ms += 1000;
    const second = await c.collect();
    assert.equal(value(second.samples, 'nvidia_gpu_clock_hertz', { ...GPU1, clock: 'mem' }), 7.3e9);
    assert.equal(calls.length, 2);
  });

  for (const [what, result] of [
    ['the command is missing (ENOENT)', enoent()],
    ['the shell says 127', { code: 127, stdout: '', stderr: 'sh: nvidia-smi: not found' }],
    ['the driver is not loaded (9)', { code: 9, stdout: 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.', stderr: '' }],
    ['no devices were found (6)', { code: 6, stdout: 'No devices were found', stderr: '' }],
    ['the output has no GPU rows', ok('\n')],
  ] as const) {
    it(`is absent when ${what}, and retries only after a minute`, async () => {
      const { run, calls } = fakeRunner([result]);
      const env = testEnv(noFs, run);
      const c = new NvidiaCollector(env, { smiPath: 'nvidia-smi' });
      for (let i = 0; i < 60; i++) {
        assert.deepEqual(await c.collect(), { samples: [], present: false });
        env.clock.ms += 1000; // the scheduler's 1 s cadence
      }
      assert.equal(calls.length, 1, 'one attempt in the first 60 s, not 60');
      await c.collect();
      assert.equal(calls.length, 2, 'tried again after 60 s');
    });
  }

  it('comes back when the GPU appears later', async () => {
    const { run, calls } = fakeRunner([enoent(), ok(recorded('t0'))]);
    const env = testEnv(noFs, run);
    const c = new NvidiaCollector(env, { smiPath: 'nvidia-smi', absentRetryMs: 5000 });
    assert.equal((await c.collect()).present, false);
    env.clock.ms += 4999;
    assert.equal((await c.collect()).present, false);
    assert.equal(calls.length, 1);
    env.clock.ms += 1;
    assert.equal((await c.collect()).present, true);
    env.clock.ms += 1000;
    assert.equal((await c.collect()).present, true);
    assert.equal(calls.length, 3, 'once present, it runs every cycle');
  });

  it('throws other failures so health shows them, and tries again next cycle', async () => {
    const { run, calls } = fakeRunner([
      { code: 15, stdout: '', stderr: 'Unable to determine the device handle for GPU0000:3B:00.0: GPU is lost.\nReboot the system.' },
      { code: null, stdout: '', stderr: '' },
      Object.assign(new Error('spawn nvidia-smi EACCES'), { code: 'EACCES' }),
    ]);
    const env = testEnv(noFs, run);
    const c = new NvidiaCollector(env, { smiPath: 'nvidia-smi' });
    await assert.rejects(c.collect(), /exited with code 15: Unable to determine the device handle for GPU0000:3B:00.0: GPU is lost\.$/);
    env.clock.ms += 1000;
    await assert.rejects(c.collect(), /killed \(timeout 5000 ms\?\)/);
    env.clock.ms += 1000;
    await assert.rejects(c.collect(), /EACCES/);
    assert.equal(calls.length, 3);
  });
});
