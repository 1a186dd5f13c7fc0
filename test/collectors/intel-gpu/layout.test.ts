import assert from 'node:assert/strict';
import { closeSync, cpSync, mkdtempSync, openSync, readFileSync, readSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HeldBudget, HeldFiles, HostFs } from '../../../src/collectors/host-fs';
import { DrmClientScanner } from '../../../src/collectors/intel-gpu/drm-clients';
import { IntelGpuCollector } from '../../../src/collectors/intel-gpu';
import { find, HOSTS, hostFs, PatchedFs, render, testEnv, value } from './fixture-host';

const DEV = 'devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:03:00.0';

/** A writable copy of a fixture snapshot, read through a PatchedFs that records directory listings. */
function copyHost(caseName: string, snap: 't0' | 't1'): { dir: string; fs: () => PatchedFs } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mm-gpu-layout-'));
  cpSync(path.join(HOSTS, caseName, snap), dir, { recursive: true, verbatimSymlinks: true });
  const base = new HostFs(path.join(dir, 'proc'), path.join(dir, 'sys'));
  const one = new PatchedFs(base);
  return { dir, fs: () => one };
}

const sysLists = (fs: PatchedFs) => fs.listed.filter((l) => l.startsWith('sys:') && l !== 'sys:class/drm');

describe('intel-gpu: the cards’ sysfs structure is read once, the values every collection', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('lists tiles, GTs, throttle reasons and hwmon only on the first collection; values still follow the files', async () => {
    const { dir, fs } = copyHost('dgpu', 't0');
    dirs.push(dir);
    const env = testEnv(fs());
    const c = new IntelGpuCollector(env, { scanProcesses: false });
    await c.collect();
    const listedFirst = sysLists(fs()).length;
    assert.ok(listedFirst >= 5, `the first collection lists the structure (${listedFirst} listings)`);

    // Values change in place: the next collections read them without listing any directory again.
    const temp = path.join(dir, 'sys', DEV, 'hwmon/hwmon3/temp2_input');
    writeFileSync(temp, '77000\n');
    writeFileSync(path.join(dir, 'sys', DEV, 'tile0/gt0/freq0/throttle/reason_pl1'), '1\n');
    for (let i = 0; i < 3; i++) {
      env.clock.ms += 1000;
      await c.collect();
    }
    env.clock.ms += 1000;
    const later = await c.collect();
    assert.equal(sysLists(fs()).length, listedFirst, 'no sysfs directory listed after the first collection');
    assert.ok(find(later.samples, 'gpu_temperature_celsius').some((s) => s.value === 77), 'the rewritten temperature is read');
    assert.equal(value(later.samples, 'gpu_throttle_reason_active', { gt: '0', reason: 'pl1' }), 1);
  });

  it('reads the structure again when a listed file goes (hwmon renumbered) and when class/drm changes', async () => {
    const { dir, fs } = copyHost('dgpu', 't0');
    dirs.push(dir);
    const env = testEnv(fs());
    const c = new IntelGpuCollector(env, { scanProcesses: false });
    const before = render((await c.collect()).samples);
    assert.ok(before.includes('gpu_temperature_celsius'));
    const listed0 = sysLists(fs()).length;

    // The driver was reloaded: hwmon3 is now hwmon7. The collection that finds hwmon3 gone reports
    // no hwmon series; the next one reads the new directory.
    renameSync(path.join(dir, 'sys', DEV, 'hwmon/hwmon3'), path.join(dir, 'sys', DEV, 'hwmon/hwmon7'));
    env.clock.ms += 1000;
    const gone = await c.collect();
    assert.equal(find(gone.samples, 'gpu_temperature_celsius').length, 0);
    env.clock.ms += 1000;
    const back = await c.collect();
    assert.ok(sysLists(fs()).length > listed0, 'the structure was listed again');
    assert.ok(find(back.samples, 'gpu_temperature_celsius').length > 0, 'temperatures from hwmon7');
    assert.deepEqual(
      find(back.samples, 'gpu_temperature_celsius').map((s) => s.labels.sensor),
      find((await new IntelGpuCollector(testEnv(fs()), { scanProcesses: false }).collect()).samples, 'gpu_temperature_celsius').map((s) => s.labels.sensor),
    );

    // A second card appears under class/drm (hotplug): found on the very next collection.
    const listed1 = sysLists(fs()).length;
    symlinkSync(readlinkSync(path.join(dir, 'sys/class/drm/card1')), path.join(dir, 'sys/class/drm/card9'));
    env.clock.ms += 1000;
    const hot = await c.collect();
    assert.ok(sysLists(fs()).length > listed1, 'class/drm changed: the structure was read again');
    assert.ok(find(hot.samples, 'gpu_frequency', { card: 'card9' }).length > 0, 'the new card is read at once');
  });

  it('reads the structure again after LAYOUT_REFRESH_COLLECTIONS collections even when nothing signalled a change', async () => {
    const { dir, fs } = copyHost('dgpu', 't0');
    dirs.push(dir);
    const env = testEnv(fs());
    const c = new IntelGpuCollector(env, { scanProcesses: false });
    await c.collect();
    const listed0 = sysLists(fs()).length;
    // A throttle reason file the driver adds without any listed file going (a newer driver build).
    writeFileSync(path.join(dir, 'sys', DEV, 'tile0/gt0/freq0/throttle/reason_prochot'), '1\n');
    let seenAt = -1;
    for (let i = 1; i <= 60 && seenAt < 0; i++) {
      env.clock.ms += 1000;
      const r = await c.collect();
      if (find(r.samples, 'gpu_throttle_reason_active', { gt: '0', reason: 'prochot' }).length > 0) seenAt = i;
    }
    assert.equal(seenAt, 60, 'found by the periodic re-read, not before');
    assert.ok(sysLists(fs()).length > listed0);
  });
});

describe('intel-gpu: value attributes are read synchronously only while the device is awake', () => {
  /** Counts the sysfs reads of each kind. */
  class CountingFs extends PatchedFs {
    asyncReads = 0;
    syncReads = 0;
    override async readText(root: 'proc' | 'sys', rel: string): Promise<string | undefined> {
      if (root === 'sys') this.asyncReads++;
      return super.readText(root, rel);
    }
    override readSmallSync(root: 'proc' | 'sys', rel: string): string | undefined {
      if (root === 'sys') this.syncReads++;
      return super.readSmallSync(root, rel);
    }
  }

  it('power/runtime_status active: no thread-pool reads; suspended or absent: all off the event loop, same values', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mm-gpu-awake-'));
    try {
      cpSync(path.join(HOSTS, 'dgpu', 't0'), dir, { recursive: true, verbatimSymlinks: true });
      const status = path.join(dir, 'sys', DEV, 'power/runtime_status');
      assert.equal(readFileSync(status, 'utf8'), 'active\n', 'the fixture device is awake');
      const fs = new CountingFs(new HostFs(path.join(dir, 'proc'), path.join(dir, 'sys')));
      const env = testEnv(fs);
      const c = new IntelGpuCollector(env, { scanProcesses: false });
      await c.collect(); // reads the structure (asynchronously)

      const collect = async () => {
        fs.asyncReads = 0;
        fs.syncReads = 0;
        env.clock.ms += 1000;
        return render((await c.collect()).samples);
      };
      const awake = await collect();
      assert.equal(fs.asyncReads, 0, 'no asynchronous read while active');
      assert.ok(fs.syncReads > 10, `values read synchronously (${fs.syncReads})`);

      writeFileSync(status, 'suspended\n');
      const asleep = await collect();
      assert.ok(fs.asyncReads > 10, `values read off the event loop (${fs.asyncReads})`);
      assert.equal(fs.syncReads, 1, 'only the status itself');

      rmSync(status);
      const unknown = await collect();
      assert.ok(fs.asyncReads > 10);
      // Same files, same values, except the rates, which the constant fixture gives as 0 either way.
      assert.equal(asleep, awake);
      assert.equal(unknown, awake);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('HostFs.readText', () => {
  it('reads files larger than one read, empty files, and /proc seq files whole', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mm-hostfs-'));
    try {
      const big = 'x'.repeat(4095) + 'é' + 'y'.repeat(70_000) + '\n';
      writeFileSync(path.join(dir, 'big'), big);
      writeFileSync(path.join(dir, 'empty'), '');
      const fs = new HostFs('/proc', dir);
      assert.equal(await fs.readText('sys', 'big'), big);
      assert.equal(await fs.readText('sys', 'empty'), '');
      assert.equal(await fs.readText('sys', 'missing'), undefined);
      // mountinfo is a seq_file: reads may stop short of the end before it.
      const direct = readFileSync('/proc/self/mountinfo', 'utf8');
      const ours = await fs.readText('proc', 'self/mountinfo');
      assert.equal(ours?.split('\n').length, direct.split('\n').length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('HostFs.readHeldSync: fdinfo kept open between reads', () => {
  it('on the real /proc: each read shows the fd as it is now, and a closed fd reads as absent', () => {
    const fs = new HostFs('/proc', '/sys');
    const held = new HeldFiles(new HeldBudget(4));
    const file = openSync('/proc/self/status', 'r');
    try {
      const rel = `${process.pid}/fdinfo/${file}`;
      assert.match(fs.readHeldSync('proc', rel, held) ?? '', /^pos:\s+0$/m);
      assert.equal(held.fds.size, 1, 'kept open');
      readSync(file, Buffer.alloc(10), 0, 10, null); // moves the file position
      assert.match(fs.readHeldSync('proc', rel, held) ?? '', /^pos:\s+10$/m, 'rendered again, not the first text');
      closeSync(file);
      assert.equal(fs.readHeldSync('proc', rel, held), undefined, 'the fd is gone');
      assert.equal(held.fds.size, 0, 'and its held file closed');
      assert.equal(held.budget.open, 0);
    } finally {
      try {
        closeSync(file);
      } catch {
        // closed above
      }
      held.closeAll();
    }
  });

  it('the scanner holds one file per client, reads through them what it read before, closes them, and counts reads beyond its bound', async () => {
    const scanner = new DrmClientScanner({ rescanMs: 10_000, drivers: new Set(['i915', 'xe']) });
    const t0 = await scanner.scan(hostFs('k8s-dgpu', 't0'), 0);
    const pids0 = new Set(t0.map((r) => r.pid));
    assert.equal(scanner.heldFiles().open, t0.length, 'one held fdinfo file per client fd');
    const again = await scanner.scan(hostFs('k8s-dgpu', 't0'), 1000);
    assert.deepEqual(again.map((r) => r.info), t0.map((r) => r.info), 'held files read the same as opened ones');
    scanner.close();
    assert.equal(scanner.heldFiles().open, 0);

    const small = new DrmClientScanner({ rescanMs: 10_000, drivers: new Set(['i915', 'xe']), maxHeldFiles: 1 });
    const s0 = await small.scan(hostFs('k8s-dgpu', 't0'), 0);
    assert.deepEqual(s0.map((r) => r.info), t0.map((r) => r.info), 'same clients with a bound of one');
    assert.equal(small.heldFiles().open, 1);
    assert.equal(small.heldFiles().unheldReadsTotal, t0.length - 1, 'the others read the usual way, counted');
    assert.ok(pids0.size > 1);
    assert.throws(() => new DrmClientScanner({ rescanMs: 1, drivers: new Set(), maxHeldFiles: -1 }), /maxHeldFiles/);
  });
});
