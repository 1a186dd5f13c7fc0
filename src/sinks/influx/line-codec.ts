/**
 * Samples → InfluxDB line protocol chunks, for the Telegraf and InfluxDB sinks.
 *
 * A sample is a name, labels and one value, so it maps back onto line protocol as
 *
 *     <name>,<labels sorted by key> value=<float> <timestamp ns>
 *
 * which inverts the store's naming: Telegraf's prometheus_client v1 output (and our own parser)
 * exposes field `value` under the bare measurement name, so the series keeps its name and labels
 * on the way out and back in. Escaping is `encodeLineProtocol`'s (src/formats/influx/encode.ts):
 * every line reads back unchanged through our parser and Telegraf's, and empty tag values are
 * left out. NaN and ±Inf cannot be written in line protocol; such samples are refused (the sink
 * counts them as dropped, reason `unencodable`).
 *
 * Speed: the `<name>,<tags> value=` prefix of a series is encoded once and cached by series key,
 * so a known series costs a map lookup and two number-to-text conversions per sample.
 */

import { encodeLineProtocol, newEncodeStats, type EncodeStats } from '../../formats/influx/encode';
import type { Sample } from '../../model/sample';
import { seriesKey } from '../../model/series-key';
import type { ChunkCodec } from '../core/codec';

/** Bounds of the prefix cache; past either it is cleared and refilled (see the parser's cache). */
const MAX_CACHED_SERIES = 100_000;
const MAX_CACHED_CHARS = 32 * 1024 * 1024;
/** Line protocol timestamps are int64 nanoseconds: about ±292 years around 1970. */
const MAX_ABS_MS = 9.2e12;
const VALUE_SUFFIX = ' value=0\n';

export class LineProtocolCodec implements ChunkCodec {
  /** Escaping statistics of the prefixes encoded so far (once per series, not per sample). */
  readonly encodeStats: EncodeStats = newEncodeStats();
  private text = '';
  private samples = 0;
  private prefixes = new Map<string, string>();
  private prefixChars = 0;

  get openBytes(): number {
    return this.text.length;
  }

  get openSamples(): number {
    return this.samples;
  }

  add(s: Sample, timestampMs: number): boolean {
    const v = s.value;
    if (typeof v !== 'number' || v - v !== 0) return false; // NaN, ±Infinity
    const ts = nanosText(timestampMs);
    if (ts === null) return false;
    const key = s.key ?? seriesKey(s.name, s.labels);
    let prefix = this.prefixes.get(key);
    if (prefix === undefined) {
      prefix = linePrefix(s, this.encodeStats);
      if (this.prefixes.size >= MAX_CACHED_SERIES || this.prefixChars >= MAX_CACHED_CHARS) {
        this.prefixes = new Map();
        this.prefixChars = 0;
      }
      this.prefixes.set(key, prefix);
      this.prefixChars += key.length + prefix.length;
    }
    if (prefix === '') return false;
    this.text += prefix + formatFloat(v) + ' ' + ts + '\n';
    this.samples++;
    return true;
  }

  finish(): Buffer | null {
    if (this.samples === 0) return null;
    const out = Buffer.from(this.text, 'utf8');
    this.text = '';
    this.samples = 0;
    return out;
  }
}

/**
 * `<escaped name>,<escaped tags> value=` for a sample's series, or '' when the point cannot be
 * written at all (empty name). Made by encoding the point with a zero value and no timestamp and
 * cutting the value off, so the escaping is exactly the encoder's.
 */
export function linePrefix(s: Pick<Sample, 'name' | 'labels'>, stats?: EncodeStats): string {
  const line = encodeLineProtocol([{ measurement: s.name, tags: s.labels, fields: { value: 0 } }], stats);
  if (!line.endsWith(VALUE_SUFFIX)) return '';
  return line.slice(0, line.length - 2); // keep ' value='
}

/** The encoder's float format: shortest round-trip text, no `i` suffix, `-0` kept. */
export function formatFloat(v: number): string {
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  return String(v);
}

/** Milliseconds (fractions allowed) → integer nanoseconds as text, or null when out of range. */
export function nanosText(ms: number): string | null {
  if (!(Math.abs(ms) < MAX_ABS_MS)) return null;
  if (Number.isInteger(ms)) return ms === 0 ? '0' : String(ms) + '000000';
  const whole = Math.floor(ms);
  const frac = Math.round((ms - whole) * 1e6);
  if (whole >= 0) {
    if (frac >= 1_000_000) return String(whole + 1) + '000000';
    return whole === 0 ? String(frac) : String(whole) + String(frac).padStart(6, '0');
  }
  return (BigInt(whole) * 1_000_000n + BigInt(frac)).toString();
}
