/**
 * Points → InfluxDB line protocol. Pure: no I/O, no clock.
 *
 * Used to forward custom metrics to Telegraf, so the one hard rule is: never write a line that
 * Telegraf's influx parser (or ours) would reject or read differently from the other. Everything
 * representable is written exactly and reads back unchanged through `parseLineProtocol`.
 *
 * Some strings cannot be carried by line protocol at all. Rather than drop the whole point (losing
 * the numbers) we change the fewest characters possible, the same way in every position:
 *
 * - control characters (U+0000–U+001F, U+007F) in names and tags become a space (then escaped):
 *   InfluxDB's decoder and ours reject them there even when escaped;
 * - a backslash that the reader would take as part of an escape (one at the very end of a string,
 *   one just before `"` in tags and field keys, which Telegraf unescapes, and in measurements and
 *   field keys one that would pair up with the backslash escaping a `,`, `=` or space, because
 *   Telegraf reads backslashes there two at a time) becomes `_`;
 * - a measurement starting with `#` gets `_` instead, since such a line is a comment.
 *
 * Names then sanitise to the same Prometheus name as the original (`\`, `#` and whitespace all
 * become `_` there anyway), and both readers see the same label values. Empty measurements, tag
 * keys, tag values and field keys cannot be written: such a tag or field is left out, and a point
 * with no measurement, no writable field or an invalid timestamp is skipped. `EncodeStats` counts
 * all of it so the caller can expose drop counters.
 */

export type LineFieldValue = number | boolean | string | bigint;

export interface LinePoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, LineFieldValue>;
  /** Keys of number fields to write as integers (`12i`); other numbers are written as floats. */
  intFields?: ReadonlySet<string>;
  /** Integer nanoseconds since the epoch; omitted means the receiver's "now". */
  timestampNs?: bigint | number | string;
}

/** Counters an encoder call adds to (create once, pass to every call, read when exporting metrics). */
export interface EncodeStats {
  /** Lines written (one per written point). */
  lines: number;
  /** Points not written: empty measurement, no writable field, or invalid timestamp. */
  skippedPoints: number;
  /** Fields that cannot be written (NaN, ±Infinity, empty key, unsupported type), counted only
   *  for points that got as far as their fields (not those skipped for measurement or timestamp). */
  droppedFields: number;
  /** Measurement, tag, field-key or string values changed to become writable (see above). */
  alteredStrings: number;
}

export function newEncodeStats(): EncodeStats {
  return { lines: 0, skippedPoints: 0, droppedFields: 0, alteredStrings: 0 };
}

const LF = 10;
const FF = 12;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const HASH = 35;
const COMMA = 44;
const EQ = 61;
const BACKSLASH = 92;
const DEL = 127;

const MEASUREMENT = 0;
const TAG = 1;
const FIELD_KEY = 2;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const TWO_POW_63 = 2 ** 63;

/** The escaped form of a measurement name (`\,` and `\ `), made writable as described above. */
export function escapeMeasurement(s: string): string {
  return escapePart(s, MEASUREMENT, undefined);
}

/** The escaped form of a tag key or value (`\,`, `\=` and `\ `), made writable as described above. */
export function escapeTagKeyOrValue(s: string): string {
  return escapePart(s, TAG, undefined);
}

/**
 * The escaped form of a field key. Same escapes as tags; it differs from `escapeTagKeyOrValue` only
 * for backslashes right before `,`, `=` or space, which Telegraf reads differently in field keys.
 */
export function escapeFieldKey(s: string): string {
  return escapePart(s, FIELD_KEY, undefined);
}

/**
 * The inside of a string field value (without the surrounding quotes): `\` → `\\`, `"` → `\"`; line
 * feed, carriage return and form feed become a space (a string cannot span lines here, and older
 * Telegraf versions reject the other two).
 */
export function escapeStringField(s: string): string {
  return escapeString(s, undefined);
}

/**
 * One line per written point, each ending in '\n'; '' when nothing is writable. Tags are sorted by
 * key. Never throws for odd values: what cannot be written is left out and counted in `stats`.
 */
export function encodeLineProtocol(points: Iterable<LinePoint>, stats?: EncodeStats): string {
  let out = '';
  for (const point of points) {
    const line = encodePoint(point, stats);
    if (line === null) {
      if (stats) stats.skippedPoints++;
      continue;
    }
    out += line;
    if (stats) stats.lines++;
  }
  return out;
}

/** Per-call tally of altered strings; escapePart adds to it. */
interface Tally {
  altered: number;
}

function encodePoint(p: LinePoint, stats: EncodeStats | undefined): string | null {
  if (p == null || typeof p.measurement !== 'string' || p.measurement === '') return null;
  const timestamp = formatTimestamp(p.timestampNs);
  if (timestamp === null) return null;
  const tally: Tally = { altered: 0 };

  // Fields, in the caller's order.
  const fields = p.fields ?? {};
  const fieldKeys = Object.keys(fields);
  const keys: string[] = [];
  const values: string[] = [];
  let keyAltered = false;
  let dropped = 0;
  for (let k = 0; k < fieldKeys.length; k++) {
    const rawKey = fieldKeys[k];
    const value = rawKey === '' ? null : formatFieldValue(fields[rawKey], p.intFields?.has(rawKey) === true, tally);
    if (value === null) {
      dropped++;
      continue;
    }
    const before = tally.altered;
    keys.push(escapePart(rawKey, FIELD_KEY, tally));
    values.push(value);
    if (tally.altered !== before) keyAltered = true;
  }
  // An altered key may now equal another key; both readers keep the last, so keep only that.
  if (keyAltered) dedupeKeepLast(keys, values);
  if (stats) stats.droppedFields += dropped;
  if (keys.length === 0) return null;

  let line = escapePart(p.measurement, MEASUREMENT, tally);

  // Tags, sorted by (raw) key, empty keys and values left out.
  const tags = p.tags ?? {};
  const tagKeys = Object.keys(tags);
  if (tagKeys.length > 1) tagKeys.sort();
  const tk: string[] = [];
  const tv: string[] = [];
  keyAltered = false;
  for (let k = 0; k < tagKeys.length; k++) {
    const rawKey = tagKeys[k];
    const rawValue = tags[rawKey];
    if (rawKey === '' || typeof rawValue !== 'string' || rawValue === '') continue;
    const before = tally.altered;
    tk.push(escapePart(rawKey, TAG, tally));
    if (tally.altered !== before) keyAltered = true;
    tv.push(escapePart(rawValue, TAG, tally));
  }
  if (keyAltered) dedupeKeepLast(tk, tv);
  for (let k = 0; k < tk.length; k++) line += ',' + tk[k] + '=' + tv[k];

  line += ' ' + keys[0] + '=' + values[0];
  for (let k = 1; k < keys.length; k++) line += ',' + keys[k] + '=' + values[k];
  if (timestamp !== '') line += ' ' + timestamp;
  if (stats) stats.alteredStrings += tally.altered;
  return line + '\n';
}

/** Removes earlier entries whose key repeats later, keeping order otherwise. */
function dedupeKeepLast(keys: string[], values: string[]): void {
  const last = new Map<string, number>();
  for (let k = 0; k < keys.length; k++) last.set(keys[k], k);
  if (last.size === keys.length) return;
  let w = 0;
  for (let k = 0; k < keys.length; k++) {
    if (last.get(keys[k]) !== k) continue;
    keys[w] = keys[k];
    values[w] = values[k];
    w++;
  }
  keys.length = w;
  values.length = w;
}

/** A control character: not allowed in names and tags, escaped or not. */
function isLineControl(c: number): boolean {
  return (c >= 0 && c < SPACE) || c === DEL;
}

function isSpecial(c: number, part: number): boolean {
  return c === SPACE || c === COMMA || (c === EQ && part !== MEASUREMENT);
}

function escapePart(s: string, part: number, tally: Tally | undefined): string {
  const n = s.length;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === SPACE || c === COMMA || c === BACKSLASH || isLineControl(c) || (c === EQ && part !== MEASUREMENT)) break;
  }
  if (i === n && !(part === MEASUREMENT && s.charCodeAt(0) === HASH)) return s;

  let out = '';
  let altered = false;
  let run = 0; // backslashes in the run that ends at the current one
  for (i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (isLineControl(c)) {
      c = SPACE;
      altered = true;
    }
    if (i === 0 && part === MEASUREMENT && c === HASH) {
      out += '_';
      altered = true;
      continue;
    }
    if (c === BACKSLASH) {
      run++;
      let next = i + 1 < n ? s.charCodeAt(i + 1) : -1;
      if (isLineControl(next)) next = SPACE;
      if (next === BACKSLASH) {
        out += '\\';
        continue;
      }
      let swallowed: boolean;
      if (next === -1) swallowed = true; // would escape the separator after the string
      else if (next === QUOTE) swallowed = part !== MEASUREMENT; // Telegraf reads `\"` as `"` there
      else if (isSpecial(next, part)) swallowed = part !== TAG && run % 2 === 1; // pairs up in Telegraf
      else swallowed = false;
      if (swallowed) altered = true;
      out += swallowed ? '_' : '\\';
      run = 0;
      continue;
    }
    if (isSpecial(c, part)) out += '\\' + String.fromCharCode(c);
    else out += s[i];
  }
  if (altered && tally) tally.altered++;
  return out;
}

function escapeString(s: string, tally: Tally | undefined): string {
  const n = s.length;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === BACKSLASH || c === QUOTE || c === LF || c === CR || c === FF) break;
  }
  if (i === n) return s;
  let out = s.slice(0, i);
  let altered = false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === BACKSLASH) out += '\\\\';
    else if (c === QUOTE) out += '\\"';
    else if (c === LF || c === CR || c === FF) {
      out += ' ';
      altered = true;
    } else out += s[i];
  }
  if (altered && tally) tally.altered++;
  return out;
}

/** Field value text, or null when it cannot be written. */
function formatFieldValue(v: unknown, asInt: boolean, tally: Tally | undefined): string | null {
  switch (typeof v) {
    case 'number':
      if (v - v !== 0) return null; // NaN, ±Infinity
      if (asInt && Number.isInteger(v) && v >= -TWO_POW_63 && v < TWO_POW_63) {
        // Exact digits: beyond 2^53 String() gives the shortest round-trip form (…388000), which
        // as an int64 would be a different number.
        return (Number.isSafeInteger(v) ? String(v === 0 ? 0 : v) : BigInt(v).toString()) + 'i';
      }
      return formatFloat(v);
    case 'bigint':
      if (v >= INT64_MIN && v <= INT64_MAX) return v.toString() + 'i';
      if (v > INT64_MAX && v <= UINT64_MAX) return v.toString() + 'u';
      {
        const f = Number(v);
        return f - f === 0 ? formatFloat(f) : null;
      }
    case 'boolean':
      return v ? 'true' : 'false';
    case 'string':
      return '"' + escapeString(v, tally) + '"';
    default:
      return null;
  }
}

/**
 * Shortest decimal that reads back to the same double (JavaScript's number printing: `0.1`,
 * `1e-7`, `1e+21`); an integral value is written without a suffix, which line protocol reads as a
 * float. Negative zero keeps its sign.
 */
function formatFloat(v: number): string {
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  return String(v);
}

/** '' for no timestamp, the integer text, or null when the value is not a valid int64. */
function formatTimestamp(ts: bigint | number | string | undefined): string | null {
  if (ts === undefined || ts === null) return '';
  let n: bigint;
  if (typeof ts === 'bigint') {
    n = ts;
  } else if (typeof ts === 'number') {
    if (ts - ts !== 0) return null;
    const rounded = Math.round(ts);
    if (!(rounded >= -TWO_POW_63 && rounded < TWO_POW_63)) return null;
    n = BigInt(rounded);
  } else if (typeof ts === 'string') {
    if (!/^-?\d{1,40}$/.test(ts)) return null;
    n = BigInt(ts);
  } else {
    return null;
  }
  if (n < INT64_MIN || n > INT64_MAX) return null;
  return n.toString();
}

