import assert from 'node:assert/strict';
import { MemCollector, memoryStats, parseMeminfo, parseZoneinfoLowPages } from '../../../src/collectors/mem';
import { byKey, fixtureFs, near, TempHost, testEnv } from '../cpu/fixture-host';

const KIB = 1024;

describe('mem: parseMeminfo', () => {
  it('converts kB lines to bytes and keeps unitless counts', () => {
    const m = parseMeminfo(
      [
        'MemTotal:       32598512 kB',
        'Active(file):     34180 kB',
        'VmallocTotal:   34359738367 kB',
        'HugePages_Total:       0',
        'Hugepagesize:       2048 kB',
        'garbage line',
        'Broken:        12x kB',
        '',
      ].join('\n'),
    );
    assert.equal(m.get('MemTotal'), 32598512 * KIB);
    assert.equal(m.get('Active(file)'), 34180 * KIB);
    assert.equal(m.get('VmallocTotal'), 34359738367 * KIB);
    assert.equal(m.get('HugePages_Total'), 0);
    assert.equal(m.get('Hugepagesize'), 2048 * KIB);
    assert.equal(m.has('Broken'), false);
    assert.equal(m.size, 5);
  });
});

describe('mem: parseZoneinfoLowPages', () => {
  it('sums the low watermark of every zone', () => {
    const text = [
      'Node 0, zone      DMA',
      '  per-node stats',
      '      nr_inactive_anon 1808',
      '  pages free     3840',
      '        boost    0',
      '        min      11',
      '        low      14',
      '        high     17',
      '        spanned  4095',
      '        protection: (0, 1924, 31854, 31854, 31854)',
      'Node 0, zone    DMA32',
      '  pages free     480000',
      '        min      1390',
      '        low      1737',
      '        high     2084',
      'Node 0, zone   Normal',
      '        min      21700',
      '        low      27125',
      '        high     32550',
      '    nr_free_pages 12345',
    ].join('\n');
    assert.equal(parseZoneinfoLowPages(text), 14 + 1737 + 27125);
    assert.equal(parseZoneinfoLowPages(''), 0);
  });
});

describe('mem: memoryStats', () => {
  it('used = total − MemAvailable (gopsutil ≥ 4.25.8, Telegraf ≥ 1.37)', () => {
    const m = memoryStats(parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 600 kB\nBuffers: 50 kB\nCached: 200 kB\n'))!;
    assert.equal(m.total, 1000 * KIB);
    assert.equal(m.available, 600 * KIB);
    assert.equal(m.used, 400 * KIB);
    near(m.usedPercent, 40, 'used %');
    near(m.availablePercent, 60, 'available %');
    assert.equal(m.availableEstimated, false);
  });

  const OLD_KERNEL = [
    'MemTotal:        2000000 kB',
    'MemFree:          500000 kB',
    'Buffers:           20000 kB',
    'Cached:           300000 kB',
    'Active(file):     120000 kB',
    'Inactive(file):   160000 kB',
    'SReclaimable:      40000 kB',
  ].join('\n');

  it('without MemAvailable, estimates it like gopsutil from the zoneinfo low watermark', () => {
    // low = 1000 pages × 4 KiB = 4000 kB; pagecache = 280000 kB
    // free − low + (pagecache − min(pagecache/2, low)) + (sreclaimable − min(sreclaimable/2, low))
    // = 500000 − 4000 + (280000 − 4000) + (40000 − 4000) = 808000 kB
    const m = memoryStats(parseMeminfo(OLD_KERNEL), 1000 * 4096)!;
    assert.equal(m.available, 808000 * KIB);
    assert.equal(m.used, (2000000 - 808000) * KIB);
    assert.equal(m.availableEstimated, true);
  });

  it('falls back to free + cached + sreclaimable without zoneinfo or file LRU lines', () => {
    assert.equal(memoryStats(parseMeminfo(OLD_KERNEL))!.available, (500000 + 300000 + 40000) * KIB);
    const noLru = OLD_KERNEL.replace(/^Active\(file\).*$/m, '');
    assert.equal(memoryStats(parseMeminfo(noLru), 1000 * 4096)!.available, 840000 * KIB);
  });

  it('never reports available below 0 or above total', () => {
    const m = memoryStats(parseMeminfo(OLD_KERNEL), 10_000_000 * 4096)!;
    assert.equal(m.available, 0);
    near(m.usedPercent, 100, 'used %');
    const over = memoryStats(parseMeminfo('MemTotal: 100 kB\nMemAvailable: 120 kB\n'))!;
    assert.equal(over.available, 100 * KIB);
    assert.equal(over.used, 0);
  });

  it('has no figures without MemTotal', () => {
    assert.equal(memoryStats(parseMeminfo('MemFree: 100 kB\n')), undefined);
    assert.equal(memoryStats(parseMeminfo('MemTotal: 0 kB\nMemAvailable: 0 kB\n')), undefined);
  });
});

describe('mem: MemCollector', () => {
  it('reads the desktop fixture: exact Telegraf mem fields at t0 and t1', async () => {
    const env = testEnv(fixtureFs('desktop', 't0'));
    const c = new MemCollector(env);
    assert.equal(c.name, 'mem');
    assert.equal(c.defaultIntervalMs, 1000);
    const r0 = await c.collect();
    assert.equal(r0.present, true);
    assert.equal(r0.samples.length, 5);
    for (const s of r0.samples) {
      assert.deepEqual(s.labels, {});
      assert.equal(s.type, 'gauge');
    }
    // t0: MemTotal 32598512 kB, MemAvailable 24871236 kB
    let got = byKey(r0.samples);
    assert.equal(got.get('mem_total'), 32598512 * KIB);
    assert.equal(got.get('mem_available'), 24871236 * KIB);
    assert.equal(got.get('mem_used'), 7727276 * KIB);
    near(got.get('mem_used_percent'), (100 * 7727276) / 32598512, 'used %');
    near(got.get('mem_available_percent'), (100 * 24871236) / 32598512, 'available %');

    // t1: MemAvailable 24865012 kB
    env.fs = fixtureFs('desktop', 't1');
    got = byKey((await c.collect()).samples);
    assert.equal(got.get('mem_used'), 7733500 * KIB);
    near(got.get('mem_used_percent'), 23.723, 'used % (≈ 7733500 / 32598512)', 0.001);
  });

  it('reads the VM fixture', async () => {
    const got = byKey((await new MemCollector(testEnv(fixtureFs('vm', 't1'))).collect()).samples);
    // MemTotal 4026512 kB, MemAvailable 2959580 kB
    assert.equal(got.get('mem_used'), (4026512 - 2959580) * KIB);
    near(got.get('mem_available_percent'), (100 * 2959580) / 4026512, 'available %');
  });

  it('reads /proc/zoneinfo only when MemAvailable is missing', async () => {
    const h = new TempHost();
    try {
      h.put('proc', 'meminfo', 'MemTotal: 2000000 kB\nMemFree: 500000 kB\nCached: 300000 kB\nActive(file): 120000 kB\nInactive(file): 160000 kB\nSReclaimable: 40000 kB\n');
      h.put('proc', 'zoneinfo', 'Node 0, zone   Normal\n        min      800\n        low      1000\n        high     1200\n');
      const c = new MemCollector(testEnv(h.fs));
      assert.equal(byKey((await c.collect()).samples).get('mem_available'), 808000 * KIB);
      h.put('proc', 'meminfo', 'MemTotal: 2000000 kB\nMemAvailable: 900000 kB\n');
      h.put('proc', 'zoneinfo', 'not read');
      assert.equal(byKey((await c.collect()).samples).get('mem_available'), 900000 * KIB);
    } finally {
      h.cleanup();
    }
  });

  it('reports present=false without /proc/meminfo or MemTotal', async () => {
    const h = new TempHost();
    try {
      const c = new MemCollector(testEnv(h.fs));
      assert.deepEqual(await c.collect(), { samples: [], present: false });
      h.put('proc', 'meminfo', 'MemFree: 1 kB\n');
      assert.deepEqual(await c.collect(), { samples: [], present: false });
    } finally {
      h.cleanup();
    }
  });

  for (const hostCase of ['dgpu', 'nvidia', 'mtl-npu', 'lnl-npu'] as const) {
    it(`${hostCase}: five consistent series`, async () => {
      const got = byKey((await new MemCollector(testEnv(fixtureFs(hostCase, 't0'))).collect()).samples);
      assert.equal(got.size, 5);
      assert.equal(got.get('mem_used')! + got.get('mem_available')!, got.get('mem_total'));
      near(got.get('mem_used_percent')! + got.get('mem_available_percent')!, 100, 'percent sum', 1e-9);
    });
  }
});
