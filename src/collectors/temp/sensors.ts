/**
 * Pure helpers for the temp collector: Telegraf's sensor naming (inputs.temp, metric_format v2,
 * the default since Telegraf 1.22.4) and sysfs value parsing. No I/O.
 */

/**
 * Telegraf v2 sensor name of an hwmon channel: the chip's `name`, then `_` and the channel's
 * `temp<N>_label` lower-cased with each space replaced by `_` — `coretemp` + `Package id 0` →
 * `coretemp_package_id_0`, `nvme` + `Composite` → `nvme_composite`. Without a label (acpitz) the
 * chip name alone. A thermal zone's name is its `type`, passed here without a label.
 */
export function sensorName(chip: string, label?: string): string {
  const name = chip.trim();
  const l = (label ?? '').trim().toLowerCase();
  return l === '' ? name : `${name}_${l.replace(/ /g, '_')}`;
}

/** A temperature attribute (m°C, e.g. `45000\n`) in °C; undefined when absent or not a number. */
export function parseMilliCelsius(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const s = text.trim();
  if (!/^-?\d+(?:\.\d+)?$/.test(s)) return undefined;
  return Number(s) / 1000;
}

/** Channel prefixes (`temp1`, `temp2`, …) that have a `_input` file, in numeric order. */
export function tempChannels(entries: readonly string[]): string[] {
  return numbered(entries, /^temp(\d+)_input$/).map((n) => `temp${n}`);
}

/** Names like `hwmon3` or `thermal_zone10` from a directory listing, in numeric order. */
export function numberedDirs(entries: readonly string[], prefix: string): string[] {
  const re = new RegExp(`^${prefix}(\\d+)$`);
  return numbered(entries, re).map((n) => `${prefix}${n}`);
}

function numbered(entries: readonly string[], re: RegExp): number[] {
  const out: number[] = [];
  for (const e of entries) {
    const m = re.exec(e);
    if (m !== null) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}
