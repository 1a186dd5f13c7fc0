/**
 * temp: temperatures from hwmon (thermal zones as a fallback), as Telegraf's inputs.temp names them
 * (`temp_temp{sensor="coretemp_package_id_0"}`), filtered by sensor name. See README.md.
 */

import type { Labels, Sample } from '../../model/sample';
import type { Collection, Collector, CollectorEnv } from '../collector';
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

export class TempCollector implements Collector {
  readonly name = 'temp';
  readonly defaultIntervalMs = 1000;
  private readonly filter: RegExp;
  private readonly labels = new Map<string, Labels>();

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
    const readings = new Map<string, number>();
    const hwmonChannels = await this.hwmon(readings);
    // Telegraf reads thermal zones only when hwmon has no temperature channel at all.
    if (hwmonChannels === 0) await this.thermalZones(readings);
    const samples: Sample[] = [];
    for (const [sensor, value] of readings) {
      samples.push({ name: 'temp_temp', labels: this.labelsFor(sensor), value, type: 'gauge', help: HELP });
    }
    for (const k of this.labels.keys()) if (!readings.has(k)) this.labels.delete(k);
    return { samples, present: samples.length > 0 };
  }

  /** Adds matching hwmon readings (first of a duplicated name wins); returns channels seen. */
  private async hwmon(out: Map<string, number>): Promise<number> {
    const fs = this.env.fs;
    let channels = 0;
    for (const hw of numberedDirs(await fs.list('sys', 'class/hwmon'), 'hwmon')) {
      let dir = `class/hwmon/${hw}`;
      let temps = tempChannels(await fs.list('sys', dir));
      if (temps.length === 0) {
        // Old kernels (CentOS 7) put the attributes under the device directory.
        dir = `${dir}/device`;
        temps = tempChannels(await fs.list('sys', dir));
        if (temps.length === 0) continue;
      }
      channels += temps.length;
      const chip = (await fs.readAttr('sys', `${dir}/name`)) ?? lastSegment(await fs.readLink('sys', `class/hwmon/${hw}/device`)) ?? hw;
      for (const t of temps) {
        const sensor = sensorName(chip, await fs.readAttr('sys', `${dir}/${t}_label`));
        if (out.has(sensor) || !this.filter.test(sensor)) continue;
        const v = parseMilliCelsius(await tolerant(fs.readText('sys', `${dir}/${t}_input`)));
        if (v !== undefined) out.set(sensor, v);
      }
    }
    return channels;
  }

  private async thermalZones(out: Map<string, number>): Promise<void> {
    const fs = this.env.fs;
    for (const z of numberedDirs(await fs.list('sys', 'class/thermal'), 'thermal_zone')) {
      const type = await fs.readAttr('sys', `class/thermal/${z}/type`);
      if (type === undefined || type === '') continue;
      const sensor = sensorName(type);
      if (out.has(sensor) || !this.filter.test(sensor)) continue;
      const v = parseMilliCelsius(await tolerant(fs.readText('sys', `class/thermal/${z}/temp`)));
      if (v !== undefined) out.set(sensor, v);
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

/** A sensor that cannot be read right now gives no reading instead of failing the cycle. */
async function tolerant(p: Promise<string | undefined>): Promise<string | undefined> {
  try {
    return await p;
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
