/**
 * temp: temperatures from hwmon (thermal zones as a fallback), as Telegraf's inputs.temp names them
 * (`temp_temp{sensor="coretemp_package_id_0"}`), filtered by sensor name. See README.md.
 */

import type { Labels, Sample } from '../../model/sample';
import type { Collection, Collector, CollectorEnv } from '../collector';
import type { HostFs } from '../host-fs';
import { numberedDirs, parseMilliCelsius, sensorName, tempChannels } from './sensors';

export { numberedDirs, parseMilliCelsius, sensorName, tempChannels } from './sensors';
import { z } from 'zod/v3';
import { isRegex } from '../../config/env-types';
import { defineCollector, enabledSetting, intervalSetting } from '../definition';

/** The reference's Starlark filter: package temperatures only (one series per CPU package). */
export const DEFAULT_TEMP_SENSOR_FILTER = '^coretemp_package_id_';

export interface TempCollectorOptions {
  /** Sensors whose name matches are emitted. Default: new RegExp(DEFAULT_TEMP_SENSOR_FILTER). */
  sensorFilter?: RegExp;
}

/** Read errors of a single sensor that mean "no reading now" (sleeping device, bus error). */
const SENSOR_READ_ERRORS = new Set(['EIO', 'EAGAIN', 'EBUSY', 'EINVAL', 'ETIMEDOUT', 'EOPNOTSUPP', 'ENOSYS']);

const HELP = 'Temperature in degrees Celsius (Telegraf temp input; sensor as Telegraf names it)';

/**
 * Collections between two walks of hwmon for its layout: a device loaded later (a GPU driver's
 * hwmon) shows within this many cycles, a minute at the default interval.
 */
export const TEMP_REWALK_CYCLES = 60;

/** A sensor that passes the filter: its name and the file that holds its reading. */
interface Channel {
  sensor: string;
  input: string;
}

/**
 * Where the readings are. Finding them takes a listing of every hwmon directory and a read of
 * every chip name and channel label (about 30 reads on a desktop, a few ms of threadpool work a
 * cycle); the layout changes only when a driver comes or goes, so it is kept and each cycle reads
 * only the values that pass the filter.
 */
interface Layout {
  /** In walk order; a name may repeat (unlabeled channels): the first with a reading wins. */
  channels: Channel[];
  cycles: number;
  /** A kept file was gone at the last read (a driver reloaded, hwmon renumbered): walk again. */
  stale: boolean;
}

export class TempCollector implements Collector {
  readonly name = 'temp';
  readonly defaultIntervalMs = 1000;
  private readonly filter: RegExp;
  private readonly labels = new Map<string, Labels>();
  /** Per host tree: tests and the cost bench switch `env.fs` between snapshots. */
  private readonly layouts = new WeakMap<HostFs, Layout>();

  /** `env.fs` is read at every collect, so it may be replaced between calls. */
  constructor(
    private readonly env: CollectorEnv,
    opts: TempCollectorOptions = {},
  ) {
    const f = opts.sensorFilter ?? new RegExp(DEFAULT_TEMP_SENSOR_FILTER);
    // A global or sticky RegExp keeps lastIndex between test() calls; use a stateless copy.
    this.filter = f.global || f.sticky ? new RegExp(f.source, f.flags.replace(/[gy]/g, '')) : f;
  }

  async collect(): Promise<Collection> {
    const fs = this.env.fs;
    let layout = this.layouts.get(fs);
    if (layout === undefined || layout.stale || ++layout.cycles >= TEMP_REWALK_CYCLES) {
      layout = { channels: await this.walk(fs), cycles: 0, stale: false };
      this.layouts.set(fs, layout);
    }
    const readings = new Map<string, number>();
    for (const c of layout.channels) {
      if (readings.has(c.sensor)) continue;
      const text = await tolerant(fs.readText('sys', c.input));
      if (text === null) layout.stale = true;
      const v = parseMilliCelsius(text ?? undefined);
      if (v !== undefined) readings.set(c.sensor, v);
    }
    const samples: Sample[] = [];
    for (const [sensor, value] of readings) {
      samples.push({ name: 'temp_temp', labels: this.labelsFor(sensor), value, type: 'gauge', help: HELP });
    }
    for (const k of this.labels.keys()) if (!readings.has(k)) this.labels.delete(k);
    return { samples, present: samples.length > 0 };
  }

  /** The channels that pass the filter: hwmon's, or the thermal zones' when hwmon has no temperature at all (as Telegraf). */
  private async walk(fs: HostFs): Promise<Channel[]> {
    const channels: Channel[] = [];
    const hwmonChannels = await this.hwmon(fs, channels);
    if (hwmonChannels === 0) await this.thermalZones(fs, channels);
    return channels;
  }

  /** Adds the matching hwmon channels; returns how many temperature channels there are in all. */
  private async hwmon(fs: HostFs, out: Channel[]): Promise<number> {
    let all = 0;
    for (const hw of numberedDirs(await fs.list('sys', 'class/hwmon'), 'hwmon')) {
      let dir = `class/hwmon/${hw}`;
      let temps = tempChannels(await fs.list('sys', dir));
      if (temps.length === 0) {
        // Old kernels (CentOS 7) put the attributes under the device directory.
        dir = `${dir}/device`;
        temps = tempChannels(await fs.list('sys', dir));
        if (temps.length === 0) continue;
      }
      all += temps.length;
      const chip = (await fs.readAttr('sys', `${dir}/name`)) ?? lastSegment(await fs.readLink('sys', `class/hwmon/${hw}/device`)) ?? hw;
      for (const t of temps) {
        const sensor = sensorName(chip, await fs.readAttr('sys', `${dir}/${t}_label`));
        if (this.filter.test(sensor)) out.push({ sensor, input: `${dir}/${t}_input` });
      }
    }
    return all;
  }

  private async thermalZones(fs: HostFs, out: Channel[]): Promise<void> {
    for (const z of numberedDirs(await fs.list('sys', 'class/thermal'), 'thermal_zone')) {
      const type = await fs.readAttr('sys', `class/thermal/${z}/type`);
      if (type === undefined || type === '') continue;
      const sensor = sensorName(type);
      if (this.filter.test(sensor)) out.push({ sensor, input: `class/thermal/${z}/temp` });
    }
  }

  private labelsFor(sensor: string): Labels {
    let l = this.labels.get(sensor);
    if (l === undefined) {
      l = { sensor };
      this.labels.set(sensor, l);
    }
    return l;
  }
}

/**
 * A sensor that cannot be read right now gives no reading (undefined) instead of failing the
 * cycle; a file that is gone gives null.
 */
async function tolerant(p: Promise<string | undefined>): Promise<string | undefined | null> {
  try {
    return (await p) ?? null;
  } catch (e) {
    if (SENSOR_READ_ERRORS.has((e as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw e;
  }
}

function lastSegment(p: string | undefined): string | undefined {
  if (p === undefined) return undefined;
  const s = p.replace(/\/+$/, '').split('/').pop();
  return s === undefined || s === '' ? undefined : s;
}

/** Registry entry (src/collectors/registry.ts). */
export const tempCollector = defineCollector({
  name: 'temp',
  defaultIntervalMs: 1000,
  settings: {
    collectorTempEnabled: enabledSetting('COLLECTOR_TEMP_ENABLED'),
    collectorTempIntervalMs: intervalSetting('COLLECTOR_TEMP_INTERVAL_MS', 1000),
    tempSensorFilter: ['TEMP_SENSOR_FILTER', z.string().default(DEFAULT_TEMP_SENSOR_FILTER).refine(isRegex, 'must be a valid regular expression')],
  },
  enabledKey: 'collectorTempEnabled',
  intervalKey: 'collectorTempIntervalMs',
  sources: ['builtin'],
  create: (s, { env }) => new TempCollector(env, { sensorFilter: new RegExp(s.tempSensorFilter) }),
});
