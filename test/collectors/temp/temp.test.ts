import assert from 'node:assert/strict';
import { HostFs, type Root } from '../../../src/collectors/host-fs';
import { DEFAULT_TEMP_SENSOR_FILTER, numberedDirs, parseMilliCelsius, sensorName, TEMP_REWALK_CYCLES, tempChannels, TempCollector } from '../../../src/collectors/temp';
import { byKey, fixtureDir, fixtureFs, TempHost, testEnv } from '../cpu/fixture-host';
import { renameSync } from 'node:fs';
import path from 'node:path';

const ALL = /.*/;

describe('temp: naming and parsing', () => {
  it('names sensors like Telegraf inputs.temp v2', () => {
    assert.equal(sensorName('coretemp', 'Package id 0'), 'coretemp_package_id_0');
    assert.equal(sensorName('coretemp', 'Core 12'), 'coretemp_core_12');
    assert.equal(sensorName('nvme', 'Sensor 1'), 'nvme_sensor_1');
    assert.equal(sensorName('nvme', 'Composite\n'), 'nvme_composite');
    assert.equal(sensorName('acpitz'), 'acpitz');
    assert.equal(sensorName('acpitz', '  '), 'acpitz');
    assert.equal(sensorName('x86_pkg_temp'), 'x86_pkg_temp');
    assert.equal(sensorName('amdgpu', 'Tctl  A'), 'amdgpu_tctl__a'); // every space becomes _
  });

  it('parses m°C into °C', () => {
    assert.equal(parseMilliCelsius('45000\n'), 45);
    assert.equal(parseMilliCelsius('38850'), 38.85);
    assert.equal(parseMilliCelsius('-273150\n'), -273.15);
    assert.equal(parseMilliCelsius(''), undefined);
    assert.equal(parseMilliCelsius('N/A'), undefined);
    assert.equal(parseMilliCelsius(undefined), undefined);
  });

  it('lists channels and numbered directories in numeric order', () => {
    assert.deepEqual(tempChannels(['temp10_input', 'temp2_input', 'temp2_label', 'temp1_max', 'in0_input', 'temp1_input', 'name']), ['temp1', 'temp2', 'temp10']);
    assert.deepEqual(numberedDirs(['hwmon10', 'hwmon2', 'hwmonX', 'thermal_zone1'], 'hwmon'), ['hwmon2', 'hwmon10']);
    assert.deepEqual(numberedDirs(['thermal_zone1', 'cooling_device0', 'thermal_zone0'], 'thermal_zone'), ['thermal_zone0', 'thermal_zone1']);
  });
});

describe('temp: TempCollector', () => {
  it('by default keeps only coretemp package sensors (the reference filter)', async () => {
    assert.equal(DEFAULT_TEMP_SENSOR_FILTER, '^coretemp_package_id_');
    const env = testEnv(fixtureFs('desktop', 't0'));
    const c = new TempCollector(env);
    assert.equal(c.name, 'temp');
    assert.equal(c.defaultIntervalMs, 1000);
    const r0 = await c.collect();
    assert.equal(r0.present, true);
    assert.deepEqual(
      r0.samples.map((s) => [s.name, s.labels, s.value, s.type]),
      [['temp_temp', { sensor: 'coretemp_package_id_0' }, 45, 'gauge']],
    );
    env.fs = fixtureFs('desktop', 't1');
    assert.deepEqual(byKey((await c.collect()).samples), new Map([['temp_temp{sensor="coretemp_package_id_0"}', 52]]));
  });

  it('reads every hwmon sensor with a match-all filter; thermal zones are not read when hwmon has sensors', async () => {
    const got = byKey((await new TempCollector(testEnv(fixtureFs('desktop', 't0')), { sensorFilter: ALL }).collect()).samples);
    assert.deepEqual(
      got,
      new Map([
        ['temp_temp{sensor="acpitz"}', 27.8],
        ['temp_temp{sensor="nvme_composite"}', 38.85],
        ['temp_temp{sensor="nvme_sensor_1"}', 38.85],
        ['temp_temp{sensor="nvme_sensor_2"}', 44.85],
        ['temp_temp{sensor="coretemp_package_id_0"}', 45],
        ['temp_temp{sensor="coretemp_core_0"}', 43],
        ['temp_temp{sensor="coretemp_core_1"}', 44],
        ['temp_temp{sensor="coretemp_core_2"}', 41],
        ['temp_temp{sensor="coretemp_core_3"}', 42],
      ]),
    );
  });

  it('applies a custom filter, and a global RegExp gives the same result every cycle', async () => {
    const c = new TempCollector(testEnv(fixtureFs('desktop', 't1')), { sensorFilter: /^nvme_|core_3$/g });
    for (let i = 0; i < 3; i++) {
      const got = byKey((await c.collect()).samples);
      assert.deepEqual([...got.keys()].sort(), [
        'temp_temp{sensor="coretemp_core_3"}',
        'temp_temp{sensor="nvme_composite"}',
        'temp_temp{sensor="nvme_sensor_1"}',
        'temp_temp{sensor="nvme_sensor_2"}',
      ]);
      assert.equal(got.get('temp_temp{sensor="nvme_sensor_1"}'), 39.85);
    }
  });

  it('present=false when no sensor matches or there are none (VM)', async () => {
    assert.deepEqual(await new TempCollector(testEnv(fixtureFs('desktop', 't0')), { sensorFilter: /^k10temp_/ }).collect(), { samples: [], present: false });
    assert.deepEqual(await new TempCollector(testEnv(fixtureFs('vm', 't0')), { sensorFilter: ALL }).collect(), { samples: [], present: false });
  });

  it('falls back to thermal zones (type as the sensor name) when hwmon has no temperature', async () => {
    const h = new TempHost();
    try {
      h.put('sys', 'class/hwmon/hwmon0/name', 'BAT0\n');
      h.put('sys', 'class/hwmon/hwmon0/in0_input', '12800\n');
      h.put('sys', 'class/thermal/thermal_zone0/type', 'acpitz\n');
      h.put('sys', 'class/thermal/thermal_zone0/temp', '25000\n');
      h.put('sys', 'class/thermal/thermal_zone1/type', 'x86_pkg_temp\n');
      h.put('sys', 'class/thermal/thermal_zone1/temp', '47500\n');
      h.put('sys', 'class/thermal/thermal_zone2/type', 'iwlwifi_1\n'); // no temp: interface down
      h.put('sys', 'class/thermal/cooling_device0/type', 'Processor\n');
      const got = byKey((await new TempCollector(testEnv(h.fs), { sensorFilter: ALL }).collect()).samples);
      assert.deepEqual(got, new Map([['temp_temp{sensor="acpitz"}', 25], ['temp_temp{sensor="x86_pkg_temp"}', 47.5]]));
      // the default filter matches no zone name
      assert.equal((await new TempCollector(testEnv(h.fs)).collect()).present, false);
    } finally {
      h.cleanup();
    }
  });

  it('copes with unlabeled duplicates, a missing name, device/ layouts and unreadable values', async () => {
    const h = new TempHost();
    try {
      // two unlabeled channels of one chip share a name: the first wins
      h.put('sys', 'class/hwmon/hwmon0/name', 'acpitz\n');
      h.put('sys', 'class/hwmon/hwmon0/temp1_input', '27800\n');
      h.put('sys', 'class/hwmon/hwmon0/temp2_input', '29800\n');
      // no name file: the hwmon directory name stands in
      h.put('sys', 'class/hwmon/hwmon1/temp1_input', '30000\n');
      // old kernels: attributes under device/
      h.put('sys', 'class/hwmon/hwmon2/device/name', 'coretemp\n');
      h.put('sys', 'class/hwmon/hwmon2/device/temp1_label', 'Physical id 0\n');
      h.put('sys', 'class/hwmon/hwmon2/device/temp1_input', '51000\n');
      // a value that is not a number is skipped, not reported as 0 (Telegraf would)
      h.put('sys', 'class/hwmon/hwmon3/name', 'nvme\n');
      h.put('sys', 'class/hwmon/hwmon3/temp1_label', 'Composite\n');
      h.put('sys', 'class/hwmon/hwmon3/temp1_input', '\n');
      const got = byKey((await new TempCollector(testEnv(h.fs), { sensorFilter: ALL }).collect()).samples);
      assert.deepEqual(
        got,
        new Map([
          ['temp_temp{sensor="acpitz"}', 27.8],
          ['temp_temp{sensor="hwmon1"}', 30],
          ['temp_temp{sensor="coretemp_physical_id_0"}', 51],
        ]),
      );
    } finally {
      h.cleanup();
    }
  });

  it('skips a sensor whose read fails with EIO (sleeping device) but fails on EACCES', async () => {
    class FailingFs extends HostFs {
      constructor(private readonly code: string) {
        const d = fixtureDir('desktop', 't0');
        super(path.join(d, 'proc'), path.join(d, 'sys'));
      }
      override async readText(root: Root, rel: string): Promise<string | undefined> {
        if (rel === 'class/hwmon/hwmon1/temp1_input') throw Object.assign(new Error(`${this.code}: read`), { code: this.code });
        return super.readText(root, rel);
      }
    }
    const got = byKey((await new TempCollector(testEnv(new FailingFs('EIO')), { sensorFilter: /^nvme/ }).collect()).samples);
    assert.deepEqual([...got.keys()], ['temp_temp{sensor="nvme_sensor_1"}', 'temp_temp{sensor="nvme_sensor_2"}']);
    await assert.rejects(new TempCollector(testEnv(new FailingFs('EACCES')), { sensorFilter: /^nvme/ }).collect(), /EACCES/);
  });

  it('walks hwmon once, then reads only the values that pass the filter; walks again every TEMP_REWALK_CYCLES collections and after a kept file is gone', async () => {
    const h = new TempHost();
    /** Test double: the real HostFs over a temporary tree, recording each call. */
    class CountingFs extends HostFs {
      calls: string[] = [];
      override list(root: Root, rel: string) {
        this.calls.push(`list ${rel}`);
        return super.list(root, rel);
      }
      override readAttr(root: Root, rel: string) {
        this.calls.push(`readAttr ${rel}`);
        return super.readAttr(root, rel);
      }
      override readText(root: Root, rel: string) {
        this.calls.push(`readText ${rel}`);
        return super.readText(root, rel);
      }
      override readLink(root: Root, rel: string) {
        this.calls.push(`readLink ${rel}`);
        return super.readLink(root, rel);
      }
    }
    try {
      const chip = (hw: string, pkg: string, milli: number) => {
        h.put('sys', `class/hwmon/${hw}/name`, 'coretemp\n');
        h.put('sys', `class/hwmon/${hw}/temp1_label`, `Package id ${pkg}\n`);
        h.put('sys', `class/hwmon/${hw}/temp1_input`, `${milli}\n`);
        h.put('sys', `class/hwmon/${hw}/temp2_label`, 'Core 0\n');
        h.put('sys', `class/hwmon/${hw}/temp2_input`, '40000\n');
      };
      chip('hwmon0', '0', 45000);
      const fs = new CountingFs(path.join(h.dir, 'proc'), path.join(h.dir, 'sys'));
      const c = new TempCollector(testEnv(fs));
      const sensors = async () => [...byKey((await c.collect()).samples)];

      assert.deepEqual(await sensors(), [['temp_temp{sensor="coretemp_package_id_0"}', 45]]);
      assert.ok(fs.calls.includes('readAttr class/hwmon/hwmon0/temp2_label'), 'the first collection walks hwmon');
      fs.calls = [];
      h.put('sys', 'class/hwmon/hwmon0/temp1_input', '46000\n');
      assert.deepEqual(await sensors(), [['temp_temp{sensor="coretemp_package_id_0"}', 46]]);
      assert.deepEqual(fs.calls, ['readText class/hwmon/hwmon0/temp1_input'], 'between walks, one read per kept sensor');

      // A device that comes later shows at the next walk: TEMP_REWALK_CYCLES collections after the last.
      chip('hwmon1', '1', 50000);
      for (let i = 2; i < TEMP_REWALK_CYCLES; i++) assert.equal((await sensors()).length, 1, `collection ${i + 1}`);
      assert.deepEqual(await sensors(), [['temp_temp{sensor="coretemp_package_id_0"}', 46], ['temp_temp{sensor="coretemp_package_id_1"}', 50]]);

      // hwmon renumbered (a driver reloaded): the kept file is gone, so the next collection walks again.
      renameSync(path.join(h.dir, 'sys/class/hwmon/hwmon0'), path.join(h.dir, 'sys/class/hwmon/hwmon7'));
      assert.deepEqual(await sensors(), [['temp_temp{sensor="coretemp_package_id_1"}', 50]]);
      fs.calls = [];
      assert.deepEqual(await sensors(), [['temp_temp{sensor="coretemp_package_id_1"}', 50], ['temp_temp{sensor="coretemp_package_id_0"}', 46]]);
      assert.ok(fs.calls.includes('list class/hwmon'), 'walked again');
    } finally {
      h.cleanup();
    }
  });

  for (const [hostCase, pkg0, pkg1] of [
    ['mtl-npu', 56, 61],
    ['lnl-npu', 48, 55],
  ] as const) {
    it(`${hostCase}: one package sensor with the default filter`, async () => {
      const env = testEnv(fixtureFs(hostCase, 't0'));
      const c = new TempCollector(env);
      assert.deepEqual(byKey((await c.collect()).samples), new Map([['temp_temp{sensor="coretemp_package_id_0"}', pkg0]]));
      env.fs = fixtureFs(hostCase, 't1');
      assert.deepEqual(byKey((await c.collect()).samples), new Map([['temp_temp{sensor="coretemp_package_id_0"}', pkg1]]));
    });
  }
});
