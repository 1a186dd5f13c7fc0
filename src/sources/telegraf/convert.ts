/**
 * Prometheus text families (as parsePrometheusText returns them) → samples for the hub. Pure: no
 * I/O, no clock.
 *
 * Every sample keeps its name and labels exactly as Telegraf exported them. Its type comes from
 * its family; histogram and summary parts (`x_bucket`, `x_sum`, `x_count`) carry their family name
 * so exposition groups them again. Timestamps are kept as given (milliseconds); a sample without
 * one gets none, so the store stamps it on arrival.
 */

import type { Sample } from '../../model/sample';
import { seriesKey } from '../../model/series-key';
import type { ParsedFamily } from '../../formats/prometheus/parse';

/** The tag Telegraf's listener adds to what the agent forwards (see telegraf/telegraf.conf). */
export const ORIGIN_TAG = 'mm_origin';
export const CUSTOM_ORIGIN = 'custom';

/**
 * The HELP text Telegraf's prometheus_client v1 output writes for every family. It says nothing
 * about the metric, so it is not stored (a built-in collector's real HELP would be overwritten).
 */
export const TELEGRAF_GENERIC_HELP = 'Telegraf collected metric';

export interface ConvertedScrape {
  /** Every sample has `key` set to seriesKey(name, labels). */
  samples: Sample[];
  /** Samples dropped because they carry `mm_origin="custom"` (our own custom metrics, re-exported). */
  customDropped: number;
}

/**
 * Converts parsed families. Ownership: the samples reuse the families' label objects, so the caller
 * must not mutate the families afterwards.
 */
export function familiesToSamples(families: readonly ParsedFamily[]): ConvertedScrape {
  const samples: Sample[] = [];
  let customDropped = 0;
  for (const fam of families) {
    const help = fam.help !== undefined && fam.help !== TELEGRAF_GENERIC_HELP ? fam.help : undefined;
    for (const p of fam.samples) {
      if (p.labels[ORIGIN_TAG] === CUSTOM_ORIGIN) {
        customDropped++;
        continue;
      }
      const s: Sample = { name: p.name, labels: p.labels, value: p.value, type: fam.type, key: seriesKey(p.name, p.labels) };
      if (p.timestampMs !== undefined) s.timestampMs = p.timestampMs;
      if (p.name !== fam.name) s.family = fam.name;
      if (help !== undefined) s.help = help;
      if (fam.unit !== undefined) s.unit = fam.unit;
      samples.push(s);
    }
  }
  return { samples, customDropped };
}
