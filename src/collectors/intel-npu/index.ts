/**
 * Intel NPU (driver `intel_vpu`) collector: utilisation, frequency, runtime state and memory from
 * the driver's sysfs attributes; power, energy, work point frequency, temperature, tile
 * configuration and NoC memory bandwidth from Intel PMT telemetry. See README.md beside this file
 * for every metric, its unit and where it differs from the reference's npu_reader.
 *
 * Reads go through the injected HostFs (HOST_SYS); the decoding of the PMT snapshot is pure
 * (pmt.ts). Rates need two cycles: the first cycle emits no utilisation, power or bandwidth.
 */

import path from 'node:path';
import type { Labels, MetricType, Sample } from '../../model/sample';
import type { Collection, Collector, CollectorEnv, CollectorFindings } from '../collector';
import type { HostFs } from '../host-fs';
import { CounterTracker } from '../rate';
import { decodePmt, energyDelta, energyJoules, MEMORY_BW_UNIT_BYTES, type NpuPlatform, platformForGuid } from './pmt';

export { decodePmt, energyDelta, energyJoules, platformForGuid, readBits, referenceFrequency, workpointFrequencyHz } from './pmt';
export type { NpuPlatform, NpuPlatformId, PmtReading } from './pmt';
import { defineCollector, enabledSetting, intervalSetting } from '../definition';

const DRIVER_DIR = 'bus/pci/drivers/intel_vpu';
const ACCEL_CLASS = 'class/accel';
const PMT_CLASS = 'class/intel_pmt';
const PCI_ADDRESS = /^[0-9a-fA-F]{4,}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/;

/** How the PMT side of the last cycle went; `ok` means the PMT metrics were emitted. */
export type NpuTelemetryState = 'ok' | 'no-pmt' | 'unknown-guid' | 'unreadable';

/** What the collector found last cycle, for health pages. Owned by the caller (a copy). */
export interface IntelNpuStatus {
  /** PCI address of the NPU, or null when there is none. */
  device: string | null;
  /** Platform of the matched PMT GUID (MTL, ARL, LNL, PTL), or null. */
  platform: string | null;
  /** PMT telemetry state; null when there is no NPU. */
  telemetry: NpuTelemetryState | null;
  /** Why telemetry is not `ok` (GUIDs seen, the read error), or null. */
  detail: string | null;
}

export interface NpuDevice {
  /** sysfs path of the PCI device directory, relative to the sys root. */
  rel: string;
  /** PCI address, e.g. 0000:00:0b.0. */
  slot: string;
}

interface PmtSource {
  /** `class/intel_pmt/telemN` */
  dir: string;
  guid: string;
  platform: NpuPlatform;
}

type Telemetry =
  | { state: 'ok'; source: PmtSource; buf: Buffer }
  | { state: Exclude<NpuTelemetryState, 'ok'>; detail: string };

const NO_LABELS: Labels = Object.freeze({}) as Labels;

function sample(name: string, type: MetricType, value: number, unit: string, help: string, labels: Labels = NO_LABELS): Sample {
  const s: Sample = { name, labels, value, type, help };
  if (unit !== '') s.unit = unit;
  return s;
}

/** Read errors that mean "no reading now" (device going away, driver busy), not a broken collector. */
const ATTR_READ_ERRORS = new Set(['EBUSY', 'EIO', 'EAGAIN', 'EINVAL', 'ENOSYS', 'EOPNOTSUPP', 'ETIMEDOUT']);

async function tolerant<T>(p: Promise<T | undefined>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (ATTR_READ_ERRORS.has((e as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw e;
  }
}

/** Numeric suffix order: telem2 before telem10. */
function byIndex(a: string, b: string): number {
  const na = Number(a.replace(/^\D+/, ''));
  const nb = Number(b.replace(/^\D+/, ''));
  return na - nb || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * The NPU's PCI device directory: the first PCI entry under the intel_vpu driver, else the first
 * `class/accel/accel*` device bound to intel_vpu (or, without a driver link, one that has the
 * NPU's busy-time attribute).
 */
export async function findNpuDevice(fs: HostFs): Promise<NpuDevice | undefined> {
  const bound = (await fs.list('sys', DRIVER_DIR)).filter((e) => PCI_ADDRESS.test(e)).sort();
  if (bound.length > 0) return { rel: `${DRIVER_DIR}/${bound[0]}`, slot: bound[0] };

  const accels = (await fs.list('sys', ACCEL_CLASS)).filter((e) => /^accel\d+$/.test(e)).sort(byIndex);
  for (const a of accels) {
    const rel = `${ACCEL_CLASS}/${a}/device`;
    const driver = await fs.readLink('sys', `${rel}/driver`);
    if (driver !== undefined) {
      if (path.posix.basename(driver) !== 'intel_vpu') continue;
    } else if ((await fs.readAttr('sys', `${rel}/npu_busy_time_us`)) === undefined) {
      continue;
    }
    const target = await fs.readLink('sys', rel);
    const base = target === undefined ? '' : path.posix.basename(target);
    return { rel, slot: PCI_ADDRESS.test(base) ? base : a };
  }
  return undefined;
}

function isPermissionError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EACCES' || code === 'EPERM';
}

export class IntelNpuCollector implements Collector {
  readonly name = 'intel_npu';
  /** The driver recommends reading npu_busy_time_us at most once a second. */
  readonly defaultIntervalMs = 1000;

  private readonly counters = new CounterTracker();
  private device: string | null = null;
  private pmt: PmtSource | undefined;
  private prevEnergy: { raw: bigint; atMs: number; dir: string } | undefined;
  private last: IntelNpuStatus = { device: null, platform: null, telemetry: null, detail: null };

  /** `env.fs` is read at every cycle, so a test may swap the host tree between cycles. */
  constructor(private readonly env: CollectorEnv) {}

  /** What the last cycle found (device, platform, why telemetry is missing). */
  status(): IntelNpuStatus {
    return { ...this.last };
  }

  describe(): CollectorFindings {
    const s = this.last;
    if (s.device === null) return { devices: [], absentReason: 'no_device', detail: `no PCI device bound to intel_vpu (${DRIVER_DIR}, ${ACCEL_CLASS})` };
    return {
      devices: [{ kind: 'intel_npu', id: s.device, pci_slot: s.device, generation: s.platform, telemetry: s.telemetry }],
      // Present but partial: power, temperature and work point need PMT telemetry.
      ...(s.detail !== null ? { detail: `telemetry ${s.telemetry}: ${s.detail}` } : {}),
    };
  }

  async collect(): Promise<Collection> {
    const fs = this.env.fs;
    const dev = await findNpuDevice(fs);
    if (!dev) {
      this.forgetAll();
      this.last = { device: null, platform: null, telemetry: null, detail: null };
      return { samples: [], present: false };
    }
    if (dev.slot !== this.device) {
      this.forgetAll();
      this.device = dev.slot;
    }

    const attr = (name: string) => `${dev.rel}/${name}`;
    const [busyUs, curMhz, maxMhz, runtime, memBytes] = await Promise.all([
      tolerant(fs.readNumber('sys', attr('npu_busy_time_us'))),
      tolerant(fs.readNumber('sys', attr('npu_current_frequency_mhz'))),
      tolerant(fs.readNumber('sys', attr('npu_max_frequency_mhz'))),
      tolerant(fs.readAttr('sys', attr('power/runtime_status'))),
      tolerant(fs.readNumber('sys', attr('npu_memory_utilization'))),
    ]);
    const telemetry = await this.readTelemetry(fs);
    // One instant for every rate of this cycle, taken after the reads it describes.
    const at = this.env.monotonic();

    const samples: Sample[] = [];
    const keep = new Set<string>();

    // --- sysfs ---------------------------------------------------------------------------------
    if (busyUs !== undefined && busyUs >= 0) {
      samples.push(sample('npu_busy_seconds_total', 'counter', busyUs / 1e6, 'seconds', 'Time the NPU spent executing jobs (npu_busy_time_us).'));
      keep.add('busy');
      const d = this.counters.delta('busy', busyUs, at);
      if (d !== undefined && d.elapsedMs > 0) {
        const pct = Math.min(100, (100 * d.delta) / (d.elapsedMs * 1000));
        samples.push(sample('npu_utilization', 'gauge', pct, 'percent', 'NPU busy time over the last interval, percent (0-100).'));
      }
    }
    if (curMhz !== undefined) {
      samples.push(sample('npu_frequency_current_hertz', 'gauge', curMhz * 1e6, 'hertz', 'Current NPU clock from sysfs; 0 while the NPU is runtime-suspended (see npu_runtime_active).'));
    }
    if (maxMhz !== undefined) {
      samples.push(sample('npu_frequency_max_hertz', 'gauge', maxMhz * 1e6, 'hertz', 'Maximum NPU clock from sysfs.'));
    }
    if (runtime !== undefined && runtime !== '') {
      samples.push(sample('npu_runtime_active', 'gauge', runtime === 'active' ? 1 : 0, '', 'Whether the NPU is runtime-active (1) or suspended or in transition (0), from power/runtime_status.'));
      samples.push(sample('npu_runtime_error', 'gauge', runtime === 'error' ? 1 : 0, '', 'Whether the kernel holds the NPU in runtime power-management error (1): a suspend or resume failed and the device stays unusable until it is reset or its driver rebound; from power/runtime_status.'));
    }
    if (memBytes !== undefined && memBytes >= 0) {
      samples.push(sample('npu_memory_used_bytes', 'gauge', memBytes, 'bytes', 'Memory of resident NPU buffer objects (npu_memory_utilization).'));
      samples.push(sample('npu_memory_mb', 'gauge', memBytes / 1024 / 1024, 'MiB', 'NPU memory in use in MB (bytes/1024/1024), as the reference named it.'));
    }

    // --- PMT telemetry -------------------------------------------------------------------------
    if (telemetry.state === 'ok') {
      const { source, buf } = telemetry;
      const r = decodePmt(buf, source.platform);

      if (r.energyRaw !== undefined && r.energyJoules !== undefined) {
        samples.push(sample('npu_energy_joules_total', 'counter', r.energyJoules, 'joules', 'NPU energy counter from PMT VPU_ENERGY (wraps with the hardware register).'));
        const prev = this.prevEnergy;
        this.prevEnergy = { raw: r.energyRaw, atMs: at, dir: source.dir };
        if (prev !== undefined && prev.dir === source.dir && at > prev.atMs) {
          const d = energyDelta(prev.raw, r.energyRaw);
          if (d !== undefined) {
            const watts = energyJoules(d) / ((at - prev.atMs) / 1000);
            samples.push(sample('npu_power', 'gauge', watts, 'watts', 'NPU power in W: energy increase over the last interval.'));
          }
        }
      } else {
        this.prevEnergy = undefined;
      }

      if (r.referenceFrequency !== undefined && r.workpointFrequencyHz !== undefined) {
        samples.push(sample('npu_frequency', 'gauge', r.referenceFrequency, '', "NPU work point clock as the reference reported it (its 'display Hz'; numerically MHz)."));
        samples.push(sample('npu_workpoint_frequency_hertz', 'gauge', r.workpointFrequencyHz, 'hertz', 'NPU clock from the PMT work point.'));
      }
      if (r.tileConfig !== undefined) {
        samples.push(sample('npu_tile_config', 'gauge', r.tileConfig, '', 'Active NPU tile configuration (raw PMT work point field).'));
      }
      if (r.temperatureCelsius !== undefined) {
        samples.push(sample('npu_temperature', 'gauge', r.temperatureCelsius, 'celsius', 'NPU temperature in °C from PMT SOC_TEMPERATURES.'));
      }

      if (r.memoryBwRaw !== undefined && r.memoryBwRaw.length > 0) {
        let units = 0;
        let elapsedMs = 0;
        let complete = true;
        r.memoryBwRaw.forEach((v, i) => {
          const key = `bw:${source.dir}:${i}`;
          keep.add(key);
          const d = this.counters.delta(key, v, at, { wrapBits: 32 });
          if (d === undefined || d.elapsedMs <= 0) complete = false;
          else {
            units += d.delta;
            elapsedMs = d.elapsedMs;
          }
        });
        if (complete) {
          const seconds = elapsedMs / 1000;
          const bytesPerSecond = (units * MEMORY_BW_UNIT_BYTES) / seconds;
          samples.push(sample('npu_memory_bandwidth_bytes_per_second', 'gauge', bytesPerSecond, 'bytes_per_second', 'NPU NoC memory traffic over the last interval.'));
          samples.push(sample('npu_bandwidth', 'gauge', bytesPerSecond / 1e6, 'MB/s', 'NPU NoC memory bandwidth in MB/s (10^6 bytes per second).'));
        }
      }
    } else {
      this.prevEnergy = undefined;
    }
    this.counters.retain(keep);

    const platform = telemetry.state === 'ok' ? telemetry.source.platform : undefined;
    samples.push(sample('npu_telemetry_present', 'gauge', telemetry.state === 'ok' ? 1 : 0, '', 'Whether PMT telemetry with a known GUID was read (power, temperature and work point metrics need it).'));
    samples.push(
      sample('npu_info', 'gauge', 1, '', 'The NPU this collector reads; value is always 1.', {
        pci_slot: dev.slot,
        platform: platform?.id ?? 'unknown',
      }),
    );

    this.last = {
      device: dev.slot,
      platform: platform?.id ?? null,
      telemetry: telemetry.state,
      detail: telemetry.state === 'ok' ? null : telemetry.detail,
    };
    return { samples, present: true };
  }

  private forgetAll(): void {
    this.device = null;
    this.pmt = undefined;
    this.prevEnergy = undefined;
    this.counters.retain(new Set());
  }

  /** Finds (or re-checks) the PMT aggregator with a known GUID and reads its snapshot. */
  private async readTelemetry(fs: HostFs): Promise<Telemetry> {
    if (this.pmt !== undefined) {
      const guid = await fs.readAttr('sys', `${this.pmt.dir}/guid`);
      if (guid !== this.pmt.guid) this.pmt = undefined;
    }
    if (this.pmt === undefined) {
      const found = await this.discoverPmt(fs);
      if ('state' in found) return found;
      this.pmt = found;
    }
    const source = this.pmt;
    let buf: Buffer | undefined;
    try {
      buf = await fs.readBytes('sys', `${source.dir}/telem`);
    } catch (e) {
      // telem is 0440 root:root: an unprivileged agent cannot read it. That is a state, not a
      // failure; so is a transient read error of the device.
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (isPermissionError(e) || ATTR_READ_ERRORS.has(code)) return { state: 'unreadable', detail: `${source.dir}/telem: ${(e as Error).message}` };
      throw e;
    }
    if (buf === undefined) {
      this.pmt = undefined;
      return { state: 'no-pmt', detail: `${source.dir}/telem disappeared` };
    }
    return { state: 'ok', source, buf };
  }

  private async discoverPmt(fs: HostFs): Promise<PmtSource | { state: 'no-pmt' | 'unknown-guid'; detail: string }> {
    const dirs = (await fs.list('sys', PMT_CLASS)).filter((e) => /^telem\d+$/.test(e)).sort(byIndex);
    const seen: string[] = [];
    for (const d of dirs) {
      const dir = `${PMT_CLASS}/${d}`;
      const files = new Set(await fs.list('sys', dir));
      if (!['guid', 'telem', 'size', 'offset'].every((f) => files.has(f))) continue;
      const guid = await fs.readAttr('sys', `${dir}/guid`);
      if (guid === undefined) continue;
      const platform = platformForGuid(guid);
      if (platform !== undefined) return { dir, guid, platform };
      seen.push(`${d}=${guid}`);
    }
    if (seen.length === 0) return { state: 'no-pmt', detail: `no PMT telemetry under ${PMT_CLASS}` };
    return { state: 'unknown-guid', detail: `no known NPU telemetry GUID (seen ${seen.join(', ')})` };
  }
}

/** Registry entry (src/collectors/registry.ts). */
export const intelNpuCollector = defineCollector({
  name: 'intel_npu',
  defaultIntervalMs: 1000,
  settings: {
    collectorIntelNpuEnabled: enabledSetting('COLLECTOR_INTEL_NPU_ENABLED'),
    // The driver recommends reading busy time at most once a second.
    collectorIntelNpuIntervalMs: intervalSetting('COLLECTOR_INTEL_NPU_INTERVAL_MS', 1000, 1000),
  },
  enabledKey: 'collectorIntelNpuEnabled',
  intervalKey: 'collectorIntelNpuIntervalMs',
  // Telegraf has no Intel NPU input: the agent reads it in both modes.
  sources: ['builtin', 'telegraf'],
  create: (_s, { env }) => new IntelNpuCollector(env),
});
