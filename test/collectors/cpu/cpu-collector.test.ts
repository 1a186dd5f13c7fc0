import assert from 'node:assert/strict';
import { CpuCollector } from '../../../src/collectors/cpu';
import { byKey, fixtureFs, near, TempHost, testEnv, type HostCase } from './fixture-host';

const FIELDS = ['user', 'system', 'idle', 'nice', 'iowait', 'irq', 'softirq', 'steal', 'guest', 'guest_nice'];

/** Expected percentages for one CPU, field → value. */
function expectCpu(got: Map<string, number>, cpu: string, want: Record<string, number>): void {
  for (const f of FIELDS) near(got.get(`cpu_usage_${f}{cpu="${cpu}"}`), want[f] ?? 0, `${cpu} ${f}`);
}

describe('cpu: CpuCollector on fixture hosts', () => {
  it('emits nothing on the first collect, then Telegraf-named percentages (desktop, 8 CPUs)', async () => {
    const env = testEnv(fixtureFs('desktop', 't0'));
    const c = new CpuCollector(env);
    assert.equal(c.name, 'cpu');
    assert.equal(c.defaultIntervalMs, 1000);
    const first = await c.collect();
    assert.deepEqual(first, { samples: [], present: true });

    env.fs = fixtureFs('desktop', 't1');
    const { samples, present } = await c.collect();
    assert.equal(present, true);
    assert.equal(samples.length, 9 * 10);
    for (const s of samples) {
      assert.equal(s.type, 'gauge');
      assert.deepEqual(Object.keys(s.labels), ['cpu']); // no host: the scheduler adds it
      assert.equal(s.timestampMs, undefined);
    }
    const got = byKey(samples);
    // cpu-total Δ t0→t1 (ticks): user 160 (guest 5), nice 4 (guest_nice 1), system 43, idle 583,
    // iowait 4, irq 1, softirq 5, steal 0 → denominator 800.
    expectCpu(got, 'cpu-total', {
      user: (100 * 155) / 800, system: (100 * 43) / 800, idle: (100 * 583) / 800, nice: (100 * 3) / 800, iowait: 0.5,
      irq: 0.125, softirq: 0.625, steal: 0, guest: 0.625, guest_nice: 0.125,
    });
    // cpu0 Δ: user 40 (guest 5), nice 3 (guest_nice 1), system 12, idle 40, iowait 2, irq 1, softirq 2 → 100
    expectCpu(got, 'cpu0', { user: 35, nice: 2, system: 12, idle: 40, iowait: 2, irq: 1, softirq: 2, guest: 5, guest_nice: 1 });
    // cpu4 Δ: user 60, system 10, idle 29, softirq 1
    expectCpu(got, 'cpu4', { user: 60, system: 10, idle: 29, softirq: 1 });
  });

  it('reports steal on a VM (2 vCPUs)', async () => {
    const env = testEnv(fixtureFs('vm', 't0'));
    const c = new CpuCollector(env);
    await c.collect();
    env.fs = fixtureFs('vm', 't1');
    const got = byKey((await c.collect()).samples);
    assert.equal(got.size, 3 * 10);
    // total Δ: user 40, system 12, idle 139, iowait 1, softirq 2, steal 6 → 200
    expectCpu(got, 'cpu-total', { user: 20, system: 6, idle: 69.5, iowait: 0.5, softirq: 1, steal: 3 });
    // cpu1 Δ: user 10, system 4, idle 84, softirq 1, steal 1
    expectCpu(got, 'cpu1', { user: 10, system: 4, idle: 84, softirq: 1, steal: 1 });
  });

  it('treats counters that went backwards as a reset: no values, then a fresh baseline', async () => {
    const env = testEnv(fixtureFs('desktop', 't1'));
    const c = new CpuCollector(env);
    await c.collect();
    env.fs = fixtureFs('desktop', 't0'); // every CPU's counters went backwards
    assert.deepEqual((await c.collect()).samples, []);
    env.fs = fixtureFs('desktop', 't1');
    const got = byKey((await c.collect()).samples);
    near(got.get('cpu_usage_user{cpu="cpu0"}'), 35, 'cpu0 user after reset');
  });

  it('handles a CPU going offline and coming back without negative or > 100 values', async () => {
    const h = new TempHost();
    try {
      const env = testEnv(h.fs);
      const c = new CpuCollector(env);
      h.put('proc', 'stat', 'cpu  200 0 100 2000 0 0 0 0 0 0\ncpu0 100 0 50 1000 0 0 0 0 0 0\ncpu1 100 0 50 1000 0 0 0 0 0 0\n');
      await c.collect();
      // cpu1 offline: its idle is now read from a smaller counter, so the aggregate went backwards
      h.put('proc', 'stat', 'cpu  250 0 110 1850 0 0 0 0 0 0\ncpu0 150 0 60 1040 0 0 0 0 0 0\n');
      let got = byKey((await c.collect()).samples);
      assert.deepEqual([...new Set([...got.keys()].map((k) => k.replace(/^.*\{/, '{')))], ['{cpu="cpu0"}']);
      // cpu0 Δ: user 50, system 10, idle 40
      expectCpu(got, 'cpu0', { user: 50, system: 10, idle: 40 });
      // cpu1 back online: no baseline for it yet; the aggregate has one again
      h.put('proc', 'stat', 'cpu  300 0 120 1950 0 0 0 0 0 0\ncpu0 190 0 65 1095 0 0 0 0 0 0\ncpu1 110 0 55 855 0 0 0 0 0 0\n');
      got = byKey((await c.collect()).samples);
      assert.equal(got.has('cpu_usage_user{cpu="cpu1"}'), false);
      // total Δ: user 50, system 10, idle 100 → 160
      expectCpu(got, 'cpu-total', { user: (100 * 50) / 160, system: (100 * 10) / 160, idle: (100 * 100) / 160 });
      for (const v of got.values()) assert.ok(v >= 0 && v <= 100, `value ${v} out of range`);
    } finally {
      h.cleanup();
    }
  });

  it('perCpu=false keeps only cpu-total; totalCpu=false only the cores', async () => {
    for (const [opts, want] of [
      [{ perCpu: false }, ['cpu-total']],
      [{ totalCpu: false }, ['cpu0', 'cpu1']],
    ] as const) {
      const env = testEnv(fixtureFs('vm', 't0'));
      const c = new CpuCollector(env, opts);
      await c.collect();
      env.fs = fixtureFs('vm', 't1');
      const cpus = new Set((await c.collect()).samples.map((s) => s.labels.cpu));
      assert.deepEqual([...cpus], want);
    }
  });

  it('reports present=false without /proc/stat (not an error)', async () => {
    const h = new TempHost();
    try {
      const c = new CpuCollector(testEnv(h.fs));
      assert.deepEqual(await c.collect(), { samples: [], present: false });
      assert.deepEqual(await c.collect(), { samples: [], present: false });
    } finally {
      h.cleanup();
    }
  });

  for (const [hostCase, cpus] of [
    ['dgpu', 12],
    ['nvidia', 16],
    ['mtl-npu', 14],
    ['lnl-npu', 8],
  ] as Array<[HostCase, number]>) {
    it(`${hostCase}: ${cpus} CPUs, every value in [0, 100] and the base states add up to 100`, async () => {
      const env = testEnv(fixtureFs(hostCase, 't0'));
      const c = new CpuCollector(env);
      await c.collect();
      env.fs = fixtureFs(hostCase, 't1');
      const { samples } = await c.collect();
      assert.equal(samples.length, (cpus + 1) * 10);
      const byCpu = new Map<string, number>();
      for (const s of samples) {
        assert.ok(s.value >= 0 && s.value <= 100, `${s.name}${JSON.stringify(s.labels)} = ${s.value}`);
        if (s.name !== 'cpu_usage_guest' && s.name !== 'cpu_usage_guest_nice') {
          byCpu.set(s.labels.cpu, (byCpu.get(s.labels.cpu) ?? 0) + s.value);
        }
      }
      // user excludes guest, so add guest back when summing the eight base states
      for (const s of samples) if (s.name === 'cpu_usage_guest' || s.name === 'cpu_usage_guest_nice') byCpu.set(s.labels.cpu, byCpu.get(s.labels.cpu)! + s.value);
      for (const [cpu, sum] of byCpu) near(sum, 100, `sum for ${cpu}`, 1e-9);
    });
  }
});
