import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { IntelGpuCollector } from '../../../src/collectors/intel-gpu';
import { INTEL_GPU_METRICS } from '../../../src/collectors/intel-gpu/metrics';
import type { Sample } from '../../../src/model/sample';
import { close, find, hostFs, PatchedFs, render, repoRoot, testEnv, value } from './fixture-host';

const IGPU = { gpu_id: '0', card: 'card0', pci_slot: '0000:00:02.0', driver: 'i915' };
const DGPU = { gpu_id: '0', card: 'card1', pci_slot: '0000:03:00.0', driver: 'xe' };

/** Collects t0, then t1 one second (monotonic) later. */
async function twoSnapshots(caseName: string) {
  const env = testEnv(hostFs(caseName, 't0'));
  const c = new IntelGpuCollector(env);
  const first = await c.collect();
  env.clock.ms += 1000;
  env.fs = hostFs(caseName, 't1');
  const second = await c.collect();
  return { env, c, first, second };
}

function names(samples: Sample[]): Set<string> {
  return new Set(samples.map((s) => s.name));
}

describe('intel-gpu collector', () => {
  it('has a stable name and interval', () => {
    const c = new IntelGpuCollector(testEnv(hostFs('vm', 't0')));
    assert.equal(c.name, 'intel_gpu');
    assert.equal(c.defaultIntervalMs, 1000);
    assert.throws(() => new IntelGpuCollector(testEnv(hostFs('vm', 't0')), { processRescanMs: -1 }), /processRescanMs/);
    assert.throws(() => new IntelGpuCollector(testEnv(hostFs('vm', 't0')), { processIdleRescanMs: -1 }), /processIdleRescanMs/);
  });

  it('reports absent hardware on the VM, without samples', async () => {
    const c = new IntelGpuCollector(testEnv(hostFs('vm', 't0')));
    assert.deepEqual(await c.collect(), { samples: [], present: false });
    assert.deepEqual(await c.collect(), { samples: [], present: false });
  });

  describe('desktop: i915 iGPU', () => {
    it('first collect: gauges and counters, but no rate-derived values', async () => {
      const { first } = await twoSnapshots('desktop');
      assert.equal(first.present, true);
      const s = first.samples;
      assert.equal(value(s, 'gpu_frequency', { type: 'act_freq' }), 300);
      assert.equal(value(s, 'gpu_frequency', { type: 'cur_freq' }), 350);
      assert.equal(value(s, 'gpu_frequency', { type: 'min_freq' }), 300);
      assert.equal(value(s, 'gpu_frequency', { type: 'max_freq' }), 1550);
      assert.equal(value(s, 'gpu_idle_residency_seconds_total'), 5234.1);
      assert.equal(value(s, 'gpu_throttle_active'), 0);
      assert.equal(value(s, 'gpu_drm_clients'), 3, 'clients 4, 5 and 11; 11 is in three fds');
      for (const n of ['gpu_busy_ratio', 'gpu_engine_usage_usage', 'gpu_power']) assert.equal(find(s, n).length, 0, n);
    });

    it('second collect: busy ratio from RC6 and engine usage from fdinfo', async () => {
      const { second } = await twoSnapshots('desktop');
      const s = second.samples;
      // RC6 residency grew 750 ms in 1000 ms.
      close(value(s, 'gpu_busy_ratio'), 0.25);
      assert.equal(value(s, 'gpu_frequency', { type: 'act_freq' }), 700);
      // render: client 4 +150 ms, client 11 +50 ms (counted once although it sits in 3 fds of 2 processes)
      close(value(s, 'gpu_engine_usage_usage', { engine: 'render' }), 20);
      close(value(s, 'gpu_engine_usage_usage', { engine: 'copy' }), 1); // client 5 +10 ms
      close(value(s, 'gpu_engine_usage_usage', { engine: 'video' }), 30); // 600 ms over 2 video engines
      close(value(s, 'gpu_engine_usage_usage', { engine: 'video-enhance' }), 20);
      assert.equal(find(s, 'gpu_engine_usage_usage', { engine: 'compute' }).length, 0, 'ADL has no compute engine');
    });

    it('labels: one set per card, the reference engine/type pair, no host, no gt on single-GT parts', async () => {
      const { second } = await twoSnapshots('desktop');
      for (const s of second.samples) {
        assert.equal(s.labels.host, undefined);
        for (const [k, v] of Object.entries(IGPU)) assert.equal(s.labels[k], v, `${s.name} ${k}`);
        assert.equal(s.labels.gt, undefined);
        assert.equal(s.type, INTEL_GPU_METRICS[s.name as keyof typeof INTEL_GPU_METRICS].type, s.name);
      }
      const e = find(second.samples, 'gpu_engine_usage_usage', { engine: 'video' })[0];
      assert.deepEqual(e.labels, { ...IGPU, engine: 'video', type: 'video' });
      assert.ok(!names(second.samples).has('gpu_memory_used_bytes'), 'an iGPU has no VRAM');
      assert.ok(!names(second.samples).has('gpu_power'), 'no hwmon on an iGPU');
    });

    it('skips unreadable fdinfo silently', async () => {
      const env = testEnv(new PatchedFs(hostFs('desktop', 't0'), { denied: /^proc:(2345|4567)\// }));
      const c = new IntelGpuCollector(env);
      await c.collect();
      env.clock.ms += 1000;
      env.fs = new PatchedFs(hostFs('desktop', 't1'), { denied: /^proc:(2345|4567)\// });
      const { samples, present } = await c.collect();
      assert.equal(present, true);
      assert.equal(value(samples, 'gpu_drm_clients'), 2);
      close(value(samples, 'gpu_engine_usage_usage', { engine: 'render' }), 15);
      close(value(samples, 'gpu_engine_usage_usage', { engine: 'video' }), 0);
    });

    it('reports no busy ratio when RC6 is disabled', async () => {
      const off = { 'sys:class/drm/card0/gt/gt0/rc6_enable': '0\n' };
      const env = testEnv(new PatchedFs(hostFs('desktop', 't0'), { overrides: off }));
      const c = new IntelGpuCollector(env);
      await c.collect();
      env.clock.ms += 1000;
      env.fs = new PatchedFs(hostFs('desktop', 't1'), { overrides: off });
      const { samples } = await c.collect();
      assert.equal(find(samples, 'gpu_busy_ratio').length, 0);
      assert.equal(find(samples, 'gpu_idle_residency_seconds_total').length, 1);
    });

    it('can leave /proc alone', async () => {
      const env = testEnv(hostFs('desktop', 't0'));
      const c = new IntelGpuCollector(env, { scanProcesses: false });
      await c.collect();
      env.clock.ms += 1000;
      env.fs = hostFs('desktop', 't1');
      const { samples } = await c.collect();
      assert.equal(find(samples, 'gpu_engine_usage_usage').length, 0);
      assert.equal(find(samples, 'gpu_drm_clients').length, 0);
      close(value(samples, 'gpu_busy_ratio'), 0.25);
    });
  });

  describe('dgpu: xe discrete GPU', () => {
    it('first collect: per-GT frequencies, hwmon, VRAM; no power yet', async () => {
      const { first } = await twoSnapshots('dgpu');
      const s = first.samples;
      assert.equal(first.present, true);
      assert.equal(value(s, 'gpu_frequency', { gt: '0', type: 'act_freq' }), 1850);
      assert.equal(value(s, 'gpu_frequency', { gt: '1', type: 'max_freq' }), 1500);
      assert.deepEqual(find(s, 'gpu_frequency', { gt: '1', type: 'cur_freq' })[0].labels, { ...DGPU, tile: '0', gt: '1', type: 'cur_freq' });
      assert.equal(value(s, 'gpu_idle_residency_seconds_total', { gt: '0' }), 8000);
      close(value(s, 'gpu_energy_joules_total', { sensor: 'card' }), 123456.789012, 1e-6);
      close(value(s, 'gpu_energy_joules_total', { sensor: 'pkg' }), 98765.4321, 1e-6);
      assert.equal(value(s, 'gpu_power_limit_watts', { sensor: 'card' }), 190);
      assert.equal(find(s, 'gpu_power_limit_watts', { sensor: 'pkg' }).length, 0, 'power2_max 0 = disabled');
      assert.equal(value(s, 'gpu_temperature_celsius', { sensor: 'pkg' }), 52);
      assert.equal(value(s, 'gpu_temperature_celsius', { sensor: 'vram' }), 58);
      assert.equal(value(s, 'gpu_fan_speed_rpm', { fan: '1' }), 1250);
      assert.equal(value(s, 'gpu_memory_total_bytes'), 12 * 1024 ** 3);
      // client 3 (4 GiB, in two processes) once + client 5 (16 MiB)
      assert.equal(value(s, 'gpu_memory_used_bytes'), 4 * 1024 ** 3 + 16 * 1024 ** 2);
      for (const n of ['gpu_busy_ratio', 'gpu_engine_usage_usage', 'gpu_power']) assert.equal(find(s, n).length, 0, n);
    });

    it('second collect: busy per GT, power in W, engine usage from cycles', async () => {
      const { second } = await twoSnapshots('dgpu');
      const s = second.samples;
      close(value(s, 'gpu_busy_ratio', { gt: '0' }), 0.6);
      close(value(s, 'gpu_busy_ratio', { gt: '1' }), 0.1);
      close(value(s, 'gpu_power', { type: 'gpu_cur_power' }), 99, 1e-9);
      close(value(s, 'gpu_power', { type: 'pkg_cur_power' }), 85, 1e-9);
      assert.deepEqual(find(s, 'gpu_power', { type: 'gpu_cur_power' })[0].labels, { ...DGPU, type: 'gpu_cur_power' });
      close(value(s, 'gpu_engine_usage_usage', { engine: 'render' }), 10); // client 5: 1.92M of 19.2M cycles
      close(value(s, 'gpu_engine_usage_usage', { engine: 'copy' }), 5);
      close(value(s, 'gpu_engine_usage_usage', { engine: 'compute' }), 80); // 75 % + 5 %
      close(value(s, 'gpu_engine_usage_usage', { engine: 'video' }), 0);
      close(value(s, 'gpu_engine_usage_usage', { engine: 'video-enhance' }), 0);
      assert.equal(value(s, 'gpu_memory_used_bytes'), 4.5 * 1024 ** 3 + 16 * 1024 ** 2);
      assert.equal(value(s, 'gpu_drm_clients'), 2);
    });

    it('a counter reset gives no power and no busy ratio for that interval, then recovers', async () => {
      const { env, c } = await twoSnapshots('dgpu');
      const reset = {
        'sys:class/drm/card1/device/hwmon/hwmon3/energy1_input': '1000\n',
        'sys:class/drm/card1/device/tile0/gt0/gtidle/idle_residency_ms': '10\n',
      };
      env.clock.ms += 1000;
      env.fs = new PatchedFs(hostFs('dgpu', 't1'), { overrides: reset });
      const third = (await c.collect()).samples;
      assert.equal(find(third, 'gpu_power', { type: 'gpu_cur_power' }).length, 0);
      assert.equal(find(third, 'gpu_busy_ratio', { gt: '0' }).length, 0);
      close(value(third, 'gpu_power', { type: 'pkg_cur_power' }), 0, 1e-9, 'unchanged counter: 0 W, not absent');
      close(value(third, 'gpu_busy_ratio', { gt: '1' }), 1, 1e-9, 'no idle time at all');

      env.clock.ms += 2000;
      env.fs = new PatchedFs(hostFs('dgpu', 't1'), {
        overrides: {
          'sys:class/drm/card1/device/hwmon/hwmon3/energy1_input': `${1000 + 100_000_000}\n`,
          'sys:class/drm/card1/device/tile0/gt0/gtidle/idle_residency_ms': '1510\n',
        },
      });
      const fourth = (await c.collect()).samples;
      close(value(fourth, 'gpu_power', { type: 'gpu_cur_power' }), 50, 1e-9, '100 J in 2 s');
      close(value(fourth, 'gpu_busy_ratio', { gt: '0' }), 0.25);
    });

    it('the xe tile/gt labels appear only on multi-GT parts', async () => {
      const single = new PatchedFs(hostFs('dgpu', 't0'));
      const env = testEnv(single);
      // Hide gt1: a single-GT xe part.
      const orig = single.list.bind(single);
      single.list = async (root, rel) => (await orig(root, rel)).filter((e) => !(rel.endsWith('tile0') && e === 'gt1'));
      const { samples } = await new IntelGpuCollector(env).collect();
      const f = find(samples, 'gpu_frequency', { type: 'act_freq' });
      assert.equal(f.length, 1);
      assert.deepEqual(f[0].labels, { ...DGPU, type: 'act_freq' });
    });
  });

  describe('golden output (UPDATE_GOLDEN=1 rewrites)', () => {
    for (const caseName of ['desktop', 'dgpu']) {
      it(`${caseName}: second collect matches golden/${caseName}.txt`, async () => {
        const { second } = await twoSnapshots(caseName);
        const file = path.join(repoRoot(), 'test', 'collectors', 'intel-gpu', 'golden', `${caseName}.txt`);
        const got = render(second.samples);
        if (process.env.UPDATE_GOLDEN === '1') {
          mkdirSync(path.dirname(file), { recursive: true });
          writeFileSync(file, got);
        }
        assert.equal(got, readFileSync(file, 'utf8'));
      });
    }
  });
});
