/**
 * Timestamp rules. We store milliseconds as a float so sub-millisecond parts survive.
 *
 * Auto-detection of a bare number's unit (DESIGN.md §4): below 1e12 seconds, below 1e15
 * milliseconds, below 1e18 microseconds, otherwise nanoseconds. Unlike the reference, fractions are
 * kept and microseconds are recognised.
 */

import { ValidationError } from './names';

export type Precision = 'ns' | 'us' | 'ms' | 's' | 'm' | 'h';

/** Multiply for coarse units, divide for fine ones: 1e-3 and 1e-6 are not exact doubles. */
const MS_PER_UNIT: Record<Precision, number> = { ns: 1e6, us: 1e3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Accepts the spellings InfluxDB 1.x and 2.x use for `?precision=`. */
export function parsePrecision(raw: string | undefined): Precision | undefined {
  switch (raw) {
    case undefined: case '': return undefined;
    case 'n': case 'ns': return 'ns';
    case 'u': case 'us': case 'µ': case 'µs': return 'us';
    case 'ms': return 'ms';
    case 's': return 's';
    case 'm': return 'm';
    case 'h': return 'h';
    default: throw new ValidationError(`precision ${JSON.stringify(raw)} is not one of ns, u, ms, s, m, h`);
  }
}

export function toMillis(value: number, precision: Precision): number {
  if (precision === 'ns' || precision === 'us') return value / MS_PER_UNIT[precision];
  return precision === 'ms' ? value : value * MS_PER_UNIT[precision];
}

/** The unit of a bare epoch number, by magnitude. */
export function detectPrecision(value: number): Precision {
  const abs = Math.abs(value);
  if (abs < 1e12) return 's';
  if (abs < 1e15) return 'ms';
  if (abs < 1e18) return 'us';
  return 'ns';
}

/** Epoch number of unknown unit → milliseconds. Throws for non-finite numbers. */
export function autoMillis(value: number): number {
  if (!Number.isFinite(value)) throw new ValidationError('timestamp must be a finite number');
  return toMillis(value, detectPrecision(value));
}

/**
 * A timestamp as it arrives in JSON: a number of unknown unit, a numeric string (int64 nanoseconds
 * do not fit a double exactly, so long digit strings are converted without going through one), or
 * an RFC 3339 date string. undefined/null mean "now".
 */
export function jsonTimestampMillis(raw: unknown): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'number') return autoMillis(raw);
  if (typeof raw === 'string') {
    const s = raw.trim();
    if (/^-?\d+$/.test(s)) return digitsMillis(s);
    if (/^-?\d*\.\d+$|^-?\d+\.\d*$/.test(s)) return autoMillis(Number(s));
    const parsed = Date.parse(s);
    if (Number.isNaN(parsed) || !/^\d{4}-\d{2}-\d{2}/.test(s)) {
      throw new ValidationError(`timestamp ${JSON.stringify(raw.slice(0, 64))} is neither an epoch number nor an RFC 3339 date`);
    }
    return parsed + fractionBeyondMillis(s);
  }
  throw new ValidationError(`timestamp must be a number or a string, got ${typeof raw}`);
}

/** Integer digit string → ms, exact for nanoseconds up to 2^63 by splitting off the low digits. */
export function digitsMillis(digits: string): number {
  const negative = digits.startsWith('-');
  // The unit is chosen by digit count, so leading zeros must not count.
  const d = (negative ? digits.slice(1) : digits).replace(/^0+(?=\d)/, '');
  const sign = negative ? -1 : 1;
  if (d.length <= 15) return sign * autoMillis(Number(d));
  // ≥ 1e15: µs (16–18 digits) or ns (19+). Split so each part is an exact double.
  const unitDigits = d.length >= 19 ? 6 : 3;
  const whole = Number(d.slice(0, d.length - unitDigits));
  const frac = Number(d.slice(d.length - unitDigits)) / 10 ** unitDigits;
  return sign * (whole + frac);
}

/** Date.parse drops digits past milliseconds; keep them. */
function fractionBeyondMillis(s: string): number {
  const m = /\.(\d{4,9})/.exec(s);
  if (!m) return 0;
  return Number('0.' + m[1].slice(3)) ;
}
