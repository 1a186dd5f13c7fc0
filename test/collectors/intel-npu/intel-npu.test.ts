import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CollectorEnv } from '../../../src/collectors/collector';
import { HostFs } from '../../../src/collectors/host-fs';
import { IntelNpuCollector } from '../../../src/collectors/intel-npu';
import {
  decodePmt,
  energyDelta,
  energyJoules,
  type NpuPlatform,
  platformForGuid,
  readBits,
  referenceFrequency,
  workpointFrequencyHz,
} from '../../../src/collectors/intel-npu/pmt';
import type { Sample } from '../../../src/model/sample';
import { repoRoot, SCENARIOS, writeNpuFixtures } from '../../fixtures/tools/make-pmt';

const ROOT = repoRoot(__dirname);
const HOSTS = path.join(ROOT, 'test', 'fixtures', 'hosts');

function platform(guid: string): NpuPlatform {
  const p = platformForGuid(guid);
  assert.ok(p, `GUID ${guid} should be known`);
  return p;
}
const MTL = () => platform('0x130670b2');
const ARL = () => platform('0x1306a0b3');
const LNL = () => platform('0x3072005');
const PTL = () => platform('0x3086000');

/** A 64-bit little-endian word written by hand (independent of the fixture generator). */
function word(buf: Buffer, offset: number, value: bigint): void {
  for (let i = 0; i < 8; i++) buf[offset + i] = Number((value >> BigInt(8 * i)) & 0xffn);
}

function close(actual: number | undefined, expected: number, eps = 1e-9, what = ''): void {
  assert.ok(actual !== undefined, `${what} missing`);
  assert.ok(Math.abs(actual - expected) <= eps * Math.max(1, Math.abs(expected)), `${what}: ${actual} is not ${expected}`);
}

describe('intel-npu: PMT decoding (pure)', () => {
  it('extracts bit fields msb..lsb of a little-endian 64-bit word', () => {
    const buf = Buffer.alloc(24, 0xee);
    word(buf, 8, 0x0123456789abcdefn);
    assert.equal(readBits(buf, 8, 63, 0), 0x0123456789abcdefn);
    assert.equal(readBits(buf, 8, 7, 0), 0xefn);
    assert.equal(readBits(buf, 8, 15, 8), 0xcdn);
    assert.equal(readBits(buf, 8, 23, 16), 0xabn);
    assert.equal(readBits(buf, 8, 47, 40), 0x45n);
    assert.equal(readBits(buf, 8, 31, 0), 0x89abcdefn);
    assert.equal(readBits(buf, 8, 63, 56), 0x01n);
    // A word that does not fit in the buffer reads as absent, not as garbage or an exception.
    assert.equal(readBits(buf, 17, 7, 0), undefined);
    assert.equal(readBits(buf, -1, 7, 0), undefined);
  });

  it('reads energy as U32.18.14 fixed point joules', () => {
    assert.equal(energyJoules(0n), 0);
    assert.equal(energyJoules(1n << 14n), 1);
    assert.equal(energyJoules((3n << 14n) | 0x2000n), 3.5); // 0x2000 / 16384 = 0.5
    assert.equal(energyJoules((12345n << 14n) | 4096n), 12345.25);
    assert.equal(energyJoules(1n), 1 / 16384);
    // The integer part keeps all its bits: 2^40 J + 0.75 J.
    assert.equal(energyJoules((1n << 54n) | 0x3000n), 2 ** 40 + 0.75);
  });

  it('takes energy deltas across a 32-bit wrap and treats other backward steps as resets', () => {
    assert.equal(energyDelta(100n, 164n), 64n);
    assert.equal(energyDelta(100n, 100n), 0n);
    // 32-bit wrap: 0xffff_ff00 → 0x100 is 0x200 raw units.
    assert.equal(energyDelta(0xffffff00n, 0x100n), 0x200n);
    // Backwards by a small amount is a reset, not a wrap of nearly 2^32.
    assert.equal(energyDelta(5000n, 4000n), undefined);
    // Backwards on a counter that uses more than 32 bits: a reset.
    assert.equal(energyDelta(1n << 40n, 5n), undefined);
  });

  it('computes the reference frequency and the work point clock per platform', () => {
    // MTL: 2*raw/3/10 then *1000/2 — raw 42 → 1400 ("display Hz", numerically MHz), 1.4 GHz.
    assert.equal(referenceFrequency(MTL(), 42), 1400);
    assert.equal(workpointFrequencyHz(MTL(), 42), 1.4e9);
    close(referenceFrequency(MTL(), 35), 1166.6666666666667, 1e-12, 'MTL raw 35');
    close(workpointFrequencyHz(MTL(), 35), 1166666666.6666667, 1e-12, 'MTL raw 35 Hz');
    // LNL/PTL (and ARL, as the reference computes it): 0.05*raw then *1000/2 — raw 78 → 1950.
    assert.equal(referenceFrequency(LNL(), 78), 1950);
    assert.equal(workpointFrequencyHz(LNL(), 78), 1.95e9);
    assert.equal(referenceFrequency(PTL(), 40), 1000);
    assert.equal(referenceFrequency(ARL(), 42), 1050);
    // Same numbers as the reference's own arithmetic, for every raw byte.
    for (let raw = 0; raw < 256; raw++) {
      close(referenceFrequency(MTL(), raw), ((2 * raw) / 3 / 10) * 1000 / 2, 1e-12, `MTL ${raw}`);
      close(referenceFrequency(LNL(), raw), (0.05 * raw * 1000) / 2, 1e-12, `LNL ${raw}`);
      close(workpointFrequencyHz(LNL(), raw), referenceFrequency(LNL(), raw) * 1e6, 1e-12, `LNL Hz ${raw}`);
    }
  });

  it('decodes an LNL snapshot built by hand', () => {
    const buf = Buffer.alloc(0xc40, 0xa5); // filler: a wrong offset or mask would show
    word(buf, 0x5d0, (5210n << 14n) | 0x3000n); // 5210.75 J
    word(buf, 0x70, 0x00_2b_2c_31_2f_2e_2d_2an); // bits 47..40 = 0x2c = 44 °C
    word(buf, 0x18, 0xffff_ffff_ff_02_48_4en); // tile 2, voltage 0x48, ratio 0x4e = 78
    word(buf, 0xc18, 0x0001_f2a3_fff1_3d80n); // bits 31..0 = 4294000000
    const r = decodePmt(buf, LNL());
    assert.equal(r.energyRaw, (5210n << 14n) | 0x3000n);
    assert.equal(r.energyJoules, 5210.75);
    assert.equal(r.temperatureCelsius, 44);
    assert.equal(r.workpointRatio, 78);
    assert.equal(r.voltageRaw, 0x48);
    assert.equal(r.tileConfig, 2);
    assert.equal(r.referenceFrequency, 1950);
    assert.equal(r.workpointFrequencyHz, 1.95e9);
    assert.deepEqual(r.memoryBwRaw, [4_294_000_000]);
  });

  it('decodes an MTL snapshot at MTL offsets and has no bandwidth register there', () => {
    const buf = Buffer.alloc(0x700, 0x5a);
    word(buf, 0x628, 2n << 14n);
    word(buf, 0x98, 0x0000_3000_0000_0000n); // 0x30 = 48 °C
    word(buf, 0x68, 0x0000_0000_0003_522an); // tile 3, voltage 0x52, ratio 42
    const r = decodePmt(buf, MTL());
    assert.equal(r.energyJoules, 2);
    assert.equal(r.temperatureCelsius, 48);
    assert.equal(r.workpointRatio, 42);
    assert.equal(r.tileConfig, 3);
    assert.equal(r.workpointFrequencyHz, 1.4e9);
    assert.deepEqual(r.memoryBwRaw, []);
  });

  it('leaves fields out of a truncated snapshot instead of throwing', () => {
    const r = decodePmt(Buffer.alloc(0x20), LNL()); // holds only the work point
    assert.equal(r.energyRaw, undefined);
    assert.equal(r.temperatureCelsius, undefined);
    assert.equal(r.memoryBwRaw, undefined);
    assert.equal(r.workpointRatio, 0);
    assert.deepEqual(decodePmt(Buffer.alloc(0), MTL()), { memoryBwRaw: [] }); // MTL has no bandwidth register at all
    assert.deepEqual(decodePmt(Buffer.alloc(0), LNL()), {});
  });

  it('matches GUIDs whatever their case or leading zeros, and knows all six', () => {
    assert.equal(platformForGuid('0x130670B2\n')?.id, 'MTL');
    assert.equal(platformForGuid('0x03072005')?.id, 'LNL');
    assert.equal(platformForGuid('0x1306a0b2')?.id, 'ARL');
    assert.equal(platformForGuid('0x1306a0b4')?.id, 'ARL');
    assert.equal(platformForGuid('0x3086000')?.id, 'PTL');
    assert.equal(platformForGuid('0x12345678'), undefined);
    assert.equal(platformForGuid('garbage'), undefined);
    assert.equal(PTL().energyOffset, 0x670);
    assert.equal(ARL().workpointOffset, 0x68);
  });
});

// ---------------------------------------------------------------------------------------------

interface Env extends CollectorEnv {
  tick(ms: number): void;
}

function hostFs(sysRoot: string): HostFs {
  return new HostFs(path.join(path.dirname(sysRoot), 'proc'), sysRoot);
}

function makeEnv(sysRoot: string): Env {
  let mono = 50_000;
  const env: Env = {
    fs: hostFs(sysRoot),
    now: () => 1_700_000_000_000,
    monotonic: () => mono,
    run: async () => ({ code: 0, stdout: '', stderr: '' }),
    tick: (ms: number) => {
      mono += ms;
    },
  };
  return env;
}

function byName(samples: Sample[]): Map<string, Sample> {
  const m = new Map<string, Sample>();
  for (const s of samples) {
    assert.ok(!m.has(s.name), `duplicate ${s.name}`);
    m.set(s.name, s);
  }
  return m;
}

function value(m: Map<string, Sample>, name: string): number | undefined {
  return m.get(name)?.value;
}

const sys = (host: string, snap: string) => path.join(HOSTS, host, snap, 'sys');

/** Collects t0, then t1 one (fake monotonic) second later. */
async function twoCycles(host: string, t0 = sys(host, 't0'), t1 = sys(host, 't1')) {
  const env = makeEnv(t0);
  const c = new IntelNpuCollector(env);
  const first = await c.collect();
  env.tick(1000);
  env.fs = hostFs(t1);
  const second = await c.collect();
  return { c, first, second, a: byName(first.samples), b: byName(second.samples) };
}

function tmpCopy(host: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'npu-fixture-'));
  fs.cpSync(path.join(HOSTS, host), path.join(dir, host), { recursive: true, verbatimSymlinks: true });
  return path.join(dir, host);
}

const PMT_METRICS = ['npu_power', 'npu_energy_joules_total', 'npu_frequency', 'npu_workpoint_frequency_hertz', 'npu_temperature', 'npu_tile_config', 'npu_bandwidth', 'npu_memory_bandwidth_bytes_per_second'];

describe('intel-npu: collector on fixture hosts', () => {
  const tmpDirs: string[] = [];
  after(() => {
    for (const d of tmpDirs) fs.rmSync(path.dirname(d), { recursive: true, force: true });
  });
  const copy = (host: string) => {
    const d = tmpCopy(host);
    tmpDirs.push(d);
    return d;
  };

  it('has the documented name and interval', () => {
    const c = new IntelNpuCollector(makeEnv('/nonexistent'));
    assert.equal(c.name, 'intel_npu');
    assert.equal(c.defaultIntervalMs, 1000);
  });

  it('MTL: first cycle has no rates; second gives 25 % utilisation and 2.5 W', async () => {
    const { first, second, a, b, c } = await twoCycles('mtl-npu');
    assert.equal(first.present, true);
    assert.equal(second.present, true);
    assert.equal(first.origin ?? 'system', 'system');

    // First sample: counters and gauges, but no fake 0 for anything derived from a delta.
    assert.equal(a.has('npu_utilization'), false);
    assert.equal(a.has('npu_power'), false);
    close(value(a, 'npu_busy_seconds_total'), 48.123456, 1e-12, 'busy seconds');
    close(value(a, 'npu_energy_joules_total'), 12345.25, 1e-12, 'energy');
    close(value(a, 'npu_frequency'), 1166.6666666666667, 1e-12, 'npu_frequency t0');
    assert.equal(value(a, 'npu_frequency_current_hertz'), 1166e6);
    assert.equal(value(a, 'npu_temperature'), 48);

    close(value(b, 'npu_utilization'), 25, 1e-12, 'utilization');
    close(value(b, 'npu_power'), 2.5, 1e-12, 'power');
    close(value(b, 'npu_busy_seconds_total'), 48.373456, 1e-12, 'busy seconds t1');
    assert.equal(value(b, 'npu_energy_joules_total'), 12347.75);
    assert.equal(value(b, 'npu_frequency'), 1400);
    assert.equal(value(b, 'npu_workpoint_frequency_hertz'), 1.4e9);
    assert.equal(value(b, 'npu_frequency_current_hertz'), 1.4e9);
    assert.equal(value(b, 'npu_frequency_max_hertz'), 1.4e9);
    assert.equal(value(b, 'npu_runtime_active'), 1);
    assert.equal(value(b, 'npu_temperature'), 51);
    assert.equal(value(b, 'npu_tile_config'), 3);
    // Memory is read on MTL too (the reference's PTL-only gate was a bug).
    assert.equal(value(b, 'npu_memory_used_bytes'), 75_497_472);
    assert.equal(value(b, 'npu_memory_mb'), 72);
    // No bandwidth register on MTL: nothing rather than the reference's read of offset 0.
    assert.equal(b.has('npu_bandwidth'), false);
    assert.equal(b.has('npu_memory_bandwidth_bytes_per_second'), false);
    assert.equal(value(b, 'npu_telemetry_present'), 1);
    assert.deepEqual(b.get('npu_info')?.labels, { pci_slot: '0000:00:0b.0', platform: 'MTL' });

    assert.equal(b.get('npu_energy_joules_total')?.type, 'counter');
    assert.equal(b.get('npu_busy_seconds_total')?.type, 'counter');
    assert.equal(b.get('npu_power')?.type, 'gauge');
    for (const s of second.samples) {
      assert.equal('host' in s.labels, false, `${s.name} must not carry host`);
      if (s.name !== 'npu_info') assert.deepEqual(s.labels, {}, `${s.name} has no labels`);
      assert.ok(Number.isFinite(s.value), `${s.name} is finite`);
    }
    assert.deepEqual(c.status(), { device: '0000:00:0b.0', platform: 'MTL', telemetry: 'ok', detail: null });
  });

  it('LNL: 40 % utilisation, 1.25 W, bandwidth across a 32-bit wrap, then suspended', async () => {
    const { a, b } = await twoCycles('lnl-npu');
    assert.equal(value(a, 'npu_runtime_active'), 1);
    assert.equal(value(a, 'npu_frequency_current_hertz'), 1.95e9);
    assert.equal(value(a, 'npu_workpoint_frequency_hertz'), 1.95e9);
    assert.equal(value(a, 'npu_frequency'), 1950);
    assert.equal(value(a, 'npu_temperature'), 44);
    assert.equal(value(a, 'npu_tile_config'), 2);
    assert.equal(a.has('npu_bandwidth'), false);

    close(value(b, 'npu_utilization'), 40, 1e-12, 'utilization');
    close(value(b, 'npu_power'), 1.25, 1e-12, 'power');
    // 1 500 000 kB in 1 s, although the raw counter went from 4 294 000 000 down to 532 704.
    close(value(b, 'npu_memory_bandwidth_bytes_per_second'), 1.5e9, 1e-12, 'bandwidth B/s');
    close(value(b, 'npu_bandwidth'), 1500, 1e-12, 'bandwidth MB/s');
    // Runtime-suspended: the driver reads 0 MHz; runtime_active explains it.
    assert.equal(value(b, 'npu_frequency_current_hertz'), 0);
    assert.equal(value(b, 'npu_runtime_active'), 0);
    assert.equal(value(b, 'npu_runtime_error'), 0, 'suspended is not an error');
    assert.equal(value(b, 'npu_frequency_max_hertz'), 1.95e9);
    assert.equal(value(b, 'npu_workpoint_frequency_hertz'), 0);
    assert.equal(value(b, 'npu_temperature'), 42);
    assert.equal(value(b, 'npu_memory_mb'), 120);
    assert.deepEqual(b.get('npu_info')?.labels, { pci_slot: '0000:00:0b.0', platform: 'LNL' });
  });

  it('divides by the real elapsed time, not an assumed second', async () => {
    const env = makeEnv(sys('mtl-npu', 't0'));
    const c = new IntelNpuCollector(env);
    await c.collect();
    env.tick(2000);
    env.fs = hostFs(sys('mtl-npu', 't1'));
    const b = byName((await c.collect()).samples);
    close(value(b, 'npu_utilization'), 12.5, 1e-12, 'utilization over 2 s');
    close(value(b, 'npu_power'), 1.25, 1e-12, 'power over 2 s');
  });

  it('gives no rate when counters go backwards (driver reload, energy reset)', async () => {
    const { b } = await twoCycles('mtl-npu', sys('mtl-npu', 't1'), sys('mtl-npu', 't0'));
    assert.equal(b.has('npu_utilization'), false);
    assert.equal(b.has('npu_power'), false);
    assert.ok(b.has('npu_energy_joules_total'));
  });

  it('unknown GUID: sysfs metrics still emitted, PMT metrics absent, state reported', async () => {
    const host = copy('mtl-npu');
    for (const snap of ['t0', 't1']) fs.writeFileSync(path.join(host, snap, 'sys/class/intel_pmt/telem1/guid'), '0x12345678\n');
    const { b, second, c } = await twoCycles('mtl-npu', path.join(host, 't0/sys'), path.join(host, 't1/sys'));
    assert.equal(second.present, true);
    close(value(b, 'npu_utilization'), 25, 1e-12, 'utilization');
    assert.equal(value(b, 'npu_frequency_current_hertz'), 1.4e9);
    for (const n of PMT_METRICS) assert.equal(b.has(n), false, `${n} should be absent`);
    assert.equal(value(b, 'npu_telemetry_present'), 0);
    assert.deepEqual(b.get('npu_info')?.labels, { pci_slot: '0000:00:0b.0', platform: 'unknown' });
    const st = c.status();
    assert.equal(st.telemetry, 'unknown-guid');
    assert.match(st.detail ?? '', /0x12345678/);
  });

  it('runtime power-management error: npu_runtime_error 1, runtime_active 0, the rest still read', async () => {
    const host = copy('mtl-npu');
    fs.writeFileSync(path.join(host, 't1', 'sys/devices/pci0000:00/0000:00:0b.0/power/runtime_status'), 'error\n');
    const { a, b } = await twoCycles('mtl-npu', path.join(host, 't0/sys'), path.join(host, 't1/sys'));
    assert.equal(value(a, 'npu_runtime_error'), 0);
    assert.equal(value(b, 'npu_runtime_error'), 1);
    assert.equal(value(b, 'npu_runtime_active'), 0);
    close(value(b, 'npu_utilization'), 25, 1e-12, 'utilization');
  });

  it('unreadable telem (an unprivileged agent): PMT metrics absent, no exception', async () => {
    class NoTelem extends HostFs {
      override async readBytes(root: 'proc' | 'sys', rel: string): Promise<Buffer | undefined> {
        if (rel.endsWith('/telem')) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
        return super.readBytes(root, rel);
      }
    }
    const env = makeEnv(sys('lnl-npu', 't0'));
    env.fs = new NoTelem(path.join(HOSTS, 'lnl-npu/t0/proc'), sys('lnl-npu', 't0'));
    const c = new IntelNpuCollector(env);
    const r = await c.collect();
    const m = byName(r.samples);
    assert.equal(r.present, true);
    assert.ok(m.has('npu_busy_seconds_total'));
    for (const n of PMT_METRICS) assert.equal(m.has(n), false, `${n} should be absent`);
    assert.equal(c.status().telemetry, 'unreadable');
  });

  it('no NPU: present=false and no samples, without throwing', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'npu-none-'));
    tmpDirs.push(path.join(empty, 'x'));
    const c = new IntelNpuCollector(makeEnv(empty));
    for (let i = 0; i < 2; i++) {
      const r = await c.collect();
      assert.equal(r.present, false);
      assert.deepEqual(r.samples, []);
    }
    assert.equal(c.status().device, null);
  });

  it('finds the NPU through class/accel when the driver directory is not visible', async () => {
    const host = copy('lnl-npu');
    fs.rmSync(path.join(host, 't0/sys/bus'), { recursive: true, force: true });
    const c = new IntelNpuCollector(makeEnv(path.join(host, 't0/sys')));
    const r = await c.collect();
    assert.equal(r.present, true);
    assert.deepEqual(byName(r.samples).get('npu_info')?.labels, { pci_slot: '0000:00:0b.0', platform: 'LNL' });
  });

  it('emits no memory metrics (rather than -1) when npu_memory_utilization is absent', async () => {
    const host = copy('mtl-npu');
    fs.rmSync(path.join(host, 't0/sys/devices/pci0000:00/0000:00:0b.0/npu_memory_utilization'));
    const r = byName((await new IntelNpuCollector(makeEnv(path.join(host, 't0/sys'))).collect()).samples);
    assert.equal(r.has('npu_memory_mb'), false);
    assert.equal(r.has('npu_memory_used_bytes'), false);
    assert.ok(r.has('npu_busy_seconds_total'));
  });

  it('the committed fixtures are what the generator makes', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'npu-gen-'));
    tmpDirs.push(path.join(out, 'x'));
    writeNpuFixtures(out);
    let compared = 0;
    const walk = (rel: string) => {
      const genPath = path.join(out, rel);
      for (const e of fs.readdirSync(genPath, { withFileTypes: true })) {
        const r = path.join(rel, e.name);
        const committed = path.join(ROOT, 'test', 'fixtures', r);
        if (e.isSymbolicLink()) {
          assert.equal(fs.readlinkSync(committed), fs.readlinkSync(path.join(out, r)), r);
        } else if (e.isDirectory()) {
          walk(r);
        } else {
          assert.ok(fs.readFileSync(committed).equals(fs.readFileSync(path.join(out, r))), `${r} differs; run make-pmt`);
        }
        compared++;
      }
    };
    walk('hosts');
    assert.ok(compared > 40, `compared ${compared} entries`);
    assert.deepEqual(SCENARIOS.map((s) => s.host), ['mtl-npu', 'lnl-npu']);
  });
});
