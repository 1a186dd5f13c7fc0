import assert from 'node:assert/strict';
import path from 'node:path';
import { HostFs, type Root } from '../../../src/collectors/host-fs';
import { averageKhz, cpuDirs, CpuFreqCollector, parseKhz } from '../../../src/collectors/cpufreq';
import { byKey, fixtureDir, fixtureFs, TempHost, testEnv } from '../cpu/fixture-host';

describe('cpufreq: helpers', () => {
  it('lists cpuN directories in numeric order and nothing else', () => {
    assert.deepEqual(cpuDirs(['cpu10', 'cpufreq', 'cpu2', 'cpuidle', 'cpu0', 'online', 'intel_pstate', 'cpu1x']), ['cpu0', 'cpu2', 'cpu10']);
  });

  it('parses kHz values', () => {
    assert.equal(parseKhz('3600000\n'), 3600000);
    assert.equal(parseKhz('<unknown>\n'), undefined);
    assert.equal(parseKhz('-1'), undefined);
    assert.equal(parseKhz(''), undefined);
    assert.equal(parseKhz(undefined), undefined);
  });

  it('averages with integer truncation like read_cpu_freq.sh', () => {
    assert.equal(averageKhz([1, 2]), 1);
    assert.equal(averageKhz([800000, 799999]), 799999);
    assert.equal(averageKhz([4200000]), 4200000);
    assert.equal(averageKhz([]), undefined);
  });
});

describe('cpufreq: CpuFreqCollector', () => {
  it('desktop: average in kHz (truncated) and per-core hertz at t0 and t1', async () => {
    const env = testEnv(fixtureFs('desktop', 't0'));
    const c = new CpuFreqCollector(env);
    assert.equal(c.name, 'cpufreq');
    assert.equal(c.defaultIntervalMs, 1000);
    const r0 = await c.collect();
    assert.equal(r0.present, true);
    assert.equal(r0.samples.length, 1 + 8);
    let got = byKey(r0.samples);
    // 800000 + 3600000 + 4200000 + 799999 + 2900000 + 3100000 + 800000 + 1200123 = 17400122; / 8 = 2175015.25
    assert.equal(got.get('cpu_frequency_avg_frequency'), 2175015);
    assert.equal(got.get('cpu_frequency_hertz{cpu="cpu0"}'), 800_000_000);
    assert.equal(got.get('cpu_frequency_hertz{cpu="cpu3"}'), 799_999_000);
    assert.equal(got.get('cpu_frequency_hertz{cpu="cpu7"}'), 1_200_123_000);
    const avg = r0.samples.find((s) => s.name === 'cpu_frequency_avg_frequency')!;
    assert.deepEqual(avg.labels, {});
    assert.equal(avg.type, 'gauge');
    const core = r0.samples.find((s) => s.name === 'cpu_frequency_hertz')!;
    assert.equal(core.unit, 'hertz');

    env.fs = fixtureFs('desktop', 't1');
    got = byKey((await c.collect()).samples);
    // 4200000 + 4199871 + 4200000 + 3900000 + 4100000 + 4000012 + 3800000 + 4200000 = 32599883; / 8 = 4074985.375
    assert.equal(got.get('cpu_frequency_avg_frequency'), 4074985);
    assert.equal(got.get('cpu_frequency_hertz{cpu="cpu1"}'), 4_199_871_000);
  });

  it('present=false without cpufreq (VM)', async () => {
    assert.deepEqual(await new CpuFreqCollector(testEnv(fixtureFs('vm', 't0'))).collect(), { samples: [], present: false });
  });

  it('laptops: one series per logical CPU', async () => {
    for (const [hostCase, n, avg] of [
      // 400000+1123456+400000+2800000+1000000+400000+1200000+700000+400000+400000+900000+400000+1100000+700000 = 11923456; /14 = 851675.43
      ['mtl-npu', 14, 851675],
      // 400000+1900000+400000+400000+1000000+400000+3300000+400000 = 8200000; /8 = 1025000
      ['lnl-npu', 8, 1025000],
    ] as const) {
      const got = byKey((await new CpuFreqCollector(testEnv(fixtureFs(hostCase, 't0'))).collect()).samples);
      assert.equal(got.size, n + 1, hostCase);
      assert.equal(got.get('cpu_frequency_avg_frequency'), avg, hostCase);
    }
  });

  it('averages over the cores that have a reading (offline CPU, odd value)', async () => {
    const h = new TempHost();
    try {
      h.put('sys', 'devices/system/cpu/cpu0/cpufreq/scaling_cur_freq', '1000001\n');
      h.put('sys', 'devices/system/cpu/cpu1/cpufreq/scaling_cur_freq', '2000000\n');
      h.put('sys', 'devices/system/cpu/cpu2/online', '0\n'); // offline: no cpufreq link
      h.put('sys', 'devices/system/cpu/cpu3/cpufreq/scaling_cur_freq', '<unknown>\n');
      h.put('sys', 'devices/system/cpu/cpufreq/policy0/scaling_cur_freq', '9999999\n');
      const got = byKey((await new CpuFreqCollector(testEnv(h.fs)).collect()).samples);
      assert.deepEqual(
        got,
        new Map([
          ['cpu_frequency_avg_frequency', 1500000],
          ['cpu_frequency_hertz{cpu="cpu0"}', 1_000_001_000],
          ['cpu_frequency_hertz{cpu="cpu1"}', 2_000_000_000],
        ]),
      );
    } finally {
      h.cleanup();
    }
  });

  it('skips a core whose policy answers EBUSY (inactive), fails on EACCES', async () => {
    class FailingFs extends HostFs {
      constructor(private readonly code: string) {
        const d = fixtureDir('desktop', 't0');
        super(path.join(d, 'proc'), path.join(d, 'sys'));
      }
      override async readText(root: Root, rel: string): Promise<string | undefined> {
        if (rel === 'devices/system/cpu/cpu7/cpufreq/scaling_cur_freq') throw Object.assign(new Error(`${this.code}: read`), { code: this.code });
        return super.readText(root, rel);
      }
    }
    const got = byKey((await new CpuFreqCollector(testEnv(new FailingFs('EBUSY'))).collect()).samples);
    assert.equal(got.size, 1 + 7);
    // 17400122 − 1200123 = 16199999; / 7 = 2314285.57…
    assert.equal(got.get('cpu_frequency_avg_frequency'), 2314285);
    await assert.rejects(new CpuFreqCollector(testEnv(new FailingFs('EACCES'))).collect(), /EACCES/);
  });
});
