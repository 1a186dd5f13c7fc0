/**
 * InfluxDB line protocol → samples. Pure: no I/O, no clock.
 *
 *   measurement[,tag=value...] field=value[,field=value...] [timestamp]
 *
 * Every numeric or boolean field becomes one gauge sample named like Telegraf's prometheus_client
 * v1 output (`fieldSeriesName`); the tags become its labels. String fields are accepted and skipped.
 * A bad line becomes one `ItemError` naming its 1-based line number; the other lines still count.
 * See README.md beside this file for the accepted grammar and where we differ from the reference.
 *
 * Speed matters here (this is the bulk ingestion path), so the scanner works on char codes over the
 * whole body with indexes and allocates nothing per field besides the Sample. Clients send the same
 * series in every request, so a `LineProtocolParser` remembers across calls what it learnt about
 * each distinct `measurement,tags` text and each of its field keys: labels, sample names and series
 * keys. A line of a known series then costs one hash, one in-place compare and the number parsing.
 */

import { checkLabel, fieldSeriesName, LIMITS, sanitizeLabelName, ValidationError } from '../../model/names';
import type { ItemError, Labels, ParseResult, Sample, SeriesSlot } from '../../model/sample';
import { labelsKey, seriesKeyFromParts } from '../../model/series-key';
import { autoMillis, type Precision, toMillis } from '../../model/time';

export interface LineProtocolOptions {
  /** Unit of the timestamps in the body (`?precision=`). Absent: detected per value by magnitude. */
  precision?: Precision;
  /** Timestamp for lines that carry none; undefined leaves it to the store ("now"). */
  defaultTimestampMs?: number;
}

export interface LineProtocolParserOptions {
  /**
   * Bound on the cache, in entries: one per distinct series text (`measurement,tags` as written)
   * plus one per distinct field key seen with it. Default 100_000.
   */
  maxCachedSeries?: number;
  /**
   * Bound on the cache's estimated heap size. The entry bound alone would let a client with
   * kilobytes of tags per series fill gigabytes. Default 16 MiB.
   */
  maxCachedBytes?: number;
  /**
   * A full cache is cleared at most this often (ms), at the start of a `parse` call; in between it
   * keeps what it holds and parses new series texts without it. Default 30 s.
   */
  minResetIntervalMs?: number;
  /** Monotonic clock in ms (tests inject one). Default performance.now. */
  now?: () => number;
}

// Char codes.
const LF = 10;
const CR = 13;
const DEL = 127;
const SPACE = 32;
const QUOTE = 34;
const HASH = 35;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const EQ = 61;
const UPPER_E = 69;
const UPPER_F = 70;
const UPPER_T = 84;
const BACKSLASH = 92;
const LOWER_E = 101;
const LOWER_F = 102;
const LOWER_I = 105;
const LOWER_T = 116;
const LOWER_U = 117;
const PLUS = 43;

/** Exact powers of ten as doubles (10^22 is the largest exact one). */
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

const INT64_MAX = '9223372036854775807';
const INT64_MIN_ABS = '9223372036854775808';
const UINT64_MAX = '18446744073709551615';

/** Largest |ms| a JavaScript Date can hold; anything beyond cannot be a real instant. */
const MAX_ABS_MS = 8.64e15;

/**
 * Default cache bounds: room for e.g. 25k series of 3 fields with short tags (about 16 MB), more
 * than one node's clients send, while a client that puts ids in tags cannot grow it forever.
 */
const DEFAULT_MAX_CACHED_SERIES = 100_000;
const DEFAULT_MIN_RESET_INTERVAL_MS = 30_000;
const DEFAULT_MAX_CACHED_BYTES = 16 * 1024 * 1024;
/**
 * Estimated heap bytes of cache entries besides the characters of their strings (counted one byte
 * each): a series entry with its Map slot and labels object; each label pair; a field entry.
 * Fitted to heapUsed on Node 20 (test/formats/influx/parser-cache.test.ts checks ±25 %); names
 * are counted in the name table, once each, not in the entries that use them.
 */
const SERIES_ENTRY_BYTES = 130;
const LABEL_BYTES = 32;
const FIELD_ENTRY_BYTES = 160;
/** A name in the cache's table of measurement and sample names (its Map entry). */
const NAME_ENTRY_BYTES = 40;
/** A series with more field keys than this gets a hash index of them (else they are searched in a list). */
const FIELDS_WITHOUT_INDEX = 16;
/**
 * The admission filter: one bit per hash of a series text (2^21 bits, 256 KiB), cleared when a
 * quarter of its bits have been set so that false positives stay rare.
 */
const SEEN_BITS_LOG2 = 21;
const SEEN_CLEAR_AFTER = 1 << (SEEN_BITS_LOG2 - 2);

const PRECISIONS: ReadonlySet<string> = new Set(['ns', 'us', 'ms', 's', 'm', 'h']);

/** Labels of a series entry whose text is invalid (never handed out). */
const NO_LABELS: Labels = Object.freeze({});

/**
 * What one distinct `measurement[,tags]` text resolves to. It outlives the body it was read from,
 * so every string in it is detached from that body (see detach).
 */
interface SeriesEntry {
  /** The text as written (escaped), compared against a line to confirm a hash hit. */
  raw: string;
  /** The next entry whose text has the same hash. */
  next: SeriesEntry | null;
  /** Why the text is invalid (every line with it fails with this message), or null. */
  error: string | null;
  measurement: string;
  /** Frozen: every sample of the series gets this object. */
  labels: Labels;
  /** The field seen first on the last line of this series (then FieldEntry.after): the prediction. */
  first: FieldEntry | null;
  /** Every field entry of the series, linked by FieldEntry.sibling, newest first. */
  fields: FieldEntry | null;
  fieldCount: number;
  /** Field key hash → entry (chained by FieldEntry.next), once fieldCount passes FIELDS_WITHOUT_INDEX. */
  index: Map<number, FieldEntry> | null;
  /** Whether the entry is in the cache (and counted), or was resolved for this line only. */
  cached: boolean;
}

/** One field key of one series; also the store's slot for its series (Sample.slot). */
interface FieldEntry extends SeriesSlot {
  /** The key as written (escaped). */
  raw: string;
  /** The sample name: fieldSeriesName(measurement, key). */
  name: string;
  /**
   * The series key: seriesKey(name, labels). Handing out this one string object for every sample
   * of the series is the point of caching it: V8 keeps a string's hash in the string, so the
   * store's Map lookup neither builds nor hashes a key per sample.
   */
  key: string;
  hash: number;
  /** The next field entry of the series (all of them, in no particular order). */
  sibling: FieldEntry | null;
  /** The field that followed this one on the last line of the series: the prediction. */
  after: FieldEntry | null;
  /** The next entry of the series' index whose key has the same hash. */
  next: FieldEntry | null;
  /** Written by the store (SeriesSlot). */
  series: object | null;
  epoch: number;
}

/** What a LineProtocolParser keeps between calls. */
interface SeriesCache {
  series: Map<number, SeriesEntry>;
  /** Series entries plus field entries added since the last reset. */
  entries: number;
  readonly maxEntries: number;
  /** Estimated heap bytes of those entries. */
  bytes: number;
  readonly maxBytes: number;
  resets: number;
  /** When the cache was last cleared (the parser's clock), and how soon it may be again. */
  resetAt: number;
  readonly minResetIntervalMs: number;
  /** Lines parsed without the cache because it was full (a counter). */
  uncached: number;
  /**
   * Measurement and sample names, each held once however many series share it (`m,host=a` and
   * `m,host=b` have one `m`, their `usage_idle` fields one `m_usage_idle`); the store keeps the
   * same strings as its series' and families' names. Cleared with the cache.
   */
  names: Map<string, string>;
  /**
   * Admission filter: bit (hash of a series text) set when the text was seen once. A text enters
   * the cache on its second sight, so series that are pushed once (a backfill, ids in tags) cost
   * one bit instead of an entry, and never push out the ones that repeat.
   */
  seen: Int32Array;
  seenCount: number;
}

/** Per-call state. */
interface Ctx {
  cache: SeriesCache;
  samples: Sample[];
  precision: Precision | undefined;
  defaultTs: number | undefined;
  /** Scratch for the fields of the line being parsed (reused, so no per-line arrays). */
  fields: FieldEntry[];
  values: number[];
  /** Timestamp of the current line, set by parseTimestamp. */
  ts: number | undefined;
  /** The whole body and its length: a string field may run past the end of its physical line. */
  n: number;
  /**
   * Index of the '\n' (or body end) that ends the current point. parseLine moves it past the
   * newlines inside string fields, and `extraLines` counts those newlines.
   */
  lineEnd: number;
  extraLines: number;
}

/**
 * A line protocol parser that keeps what it learnt about each series for later calls. Make one
 * per agent and reuse it for every request; `parse` is synchronous, so sharing it is safe.
 *
 * The cache is bounded by `maxCachedSeries` entries and `maxCachedBytes`, checked before each
 * line (so one line's new entries can pass them; its samples hold the same strings anyway). A full
 * cache stops taking entries and keeps what it holds: with more series than the bounds, that share
 * of the lines still hits (clearing it on every fill, as a client set cycling through the same
 * series would make it, hits none). It is cleared as a whole at most every `minResetIntervalMs`,
 * so series that replace others (new pods) get in; no least-recently-used bookkeeping on the hot
 * path. `cacheResets` counts the clearings and `cacheUncachedLines` the lines that found it full:
 * a count that keeps rising means the bounds are below the clients' working set.
 */
export class LineProtocolParser {
  private readonly cache: SeriesCache;
  private readonly now: () => number;

  constructor(options?: LineProtocolParserOptions) {
    const maxEntries = positiveInteger('maxCachedSeries', options?.maxCachedSeries ?? DEFAULT_MAX_CACHED_SERIES);
    const maxBytes = positiveInteger('maxCachedBytes', options?.maxCachedBytes ?? DEFAULT_MAX_CACHED_BYTES);
    const minResetIntervalMs = options?.minResetIntervalMs ?? DEFAULT_MIN_RESET_INTERVAL_MS;
    if (!(minResetIntervalMs >= 0)) throw new RangeError(`minResetIntervalMs must be a number ≥ 0, got ${String(minResetIntervalMs)}`);
    this.now = options?.now ?? (() => performance.now());
    this.cache = {
      series: new Map(), entries: 0, maxEntries, bytes: 0, maxBytes, resets: 0, resetAt: this.now(), minResetIntervalMs, uncached: 0,
      names: new Map(), seen: new Int32Array(1 << (SEEN_BITS_LOG2 - 5)), seenCount: 0,
    };
  }

  /** How many times the cache was cleared for being full (a counter). */
  get cacheResets(): number {
    return this.cache.resets;
  }

  /** Lines parsed without the cache because it was full and not yet due to be cleared (a counter). */
  get cacheUncachedLines(): number {
    return this.cache.uncached;
  }

  /** Entries in the cache now, series and field keys (a gauge). */
  get cachedEntries(): number {
    return this.cache.entries;
  }

  /** Estimated heap bytes of the cache now (a gauge). */
  get cachedBytes(): number {
    return this.cache.bytes;
  }

  /**
   * Parses a line protocol body. Never throws for bad input: every rejected line is reported in
   * `errors` with its 1-based line number (blank and comment lines count) and the good lines are in
   * `samples`, in input order.
   *
   * Ownership: the returned samples are new objects the caller owns, but their `labels` object and
   * their `name` and `key` strings are the parser's cached ones: every sample of one series text
   * gets the same objects, in this call and in later ones (until a cache reset). The labels objects
   * are frozen. No returned string keeps a reference to `text`. Every sample has `key` set to
   * seriesKey(name, labels) and, when its series text is cached, `slot` to the cache entry of its
   * field key (the store's slot, shared the same way; undefined for a series seen once, which has
   * no entry to keep, so the store holds no slot the cache does not), and every sample has the
   * same shape (`timestampMs` and `slot` are present, possibly undefined).
   */
  parse(text: string, opts?: LineProtocolOptions): ParseResult {
    const samples: Sample[] = [];
    const errors: ItemError[] = [];
    if (typeof text !== 'string') {
      errors.push({ line: 0, message: 'line protocol body must be text' });
      return { samples, errors, points: 0 };
    }
    const precision = opts?.precision;
    if (precision !== undefined && !PRECISIONS.has(precision)) {
      errors.push({ line: 0, message: `precision ${JSON.stringify(String(precision))} is not one of ns, us, ms, s, m, h` });
      return { samples, errors, points: 0 };
    }
    const cache = this.cache;
    if (isFull(cache)) {
      const now = this.now();
      if (now - cache.resetAt >= cache.minResetIntervalMs) resetCache(cache, now);
    }
    const ctx: Ctx = {
      cache,
      samples,
      precision,
      defaultTs: opts?.defaultTimestampMs,
      fields: [],
      values: [],
      ts: undefined,
      n: text.length,
      lineEnd: 0,
      extraLines: 0,
    };

    const n = text.length;
    let pos = 0;
    let line = 0;
    let points = 0;
    while (pos < n) {
      let nl = text.indexOf('\n', pos);
      if (nl < 0) nl = n;
      line++;
      let end = nl;
      if (end > pos && text.charCodeAt(end - 1) === CR) end--;
      // Only spaces separate (as in InfluxDB's decoder): a tab or other control character outside
      // a string field is an error wherever it stands.
      let i = pos;
      while (i < end && text.charCodeAt(i) === SPACE) i++;
      if (i < end) {
        if (text.charCodeAt(i) === HASH) {
          const at = controlAt(text, i, end);
          if (at >= 0) errors.push({ line, message: `comment contains control character ${codePoint(text, at)}` });
        } else {
          ctx.lineEnd = nl;
          ctx.extraLines = 0;
          const err = parseLine(ctx, text, i, end);
          if (err !== null) errors.push({ line, message: err });
          else points++;
          // A point with a multi-line string field ends at the newline after it; an error ends
          // the point at the first newline after where it was found (a later line is a new point).
          nl = ctx.lineEnd;
          line += ctx.extraLines;
        }
      }
      pos = nl + 1;
    }
    return { samples, errors, points };
  }
}

/**
 * Parses a body with a parser of its own, so nothing is remembered between calls; see
 * LineProtocolParser.parse for the result. For one-off bodies and tests: the ingestion path should
 * reuse one LineProtocolParser.
 */
export function parseLineProtocol(text: string, opts?: LineProtocolOptions): ParseResult {
  return new LineProtocolParser().parse(text, opts);
}

/**
 * Parses one point starting at text[start], whose physical line ends at `end` (before its '\n' or
 * '\r\n'). A quoted string field may run on past `end`: then `end`, ctx.lineEnd and
 * ctx.extraLines move to the line where the string closes. Returns an error message or null.
 */
function parseLine(ctx: Ctx, t: string, start: number, end: number): string | null {
  // 1. The series part: measurement and tags, up to the first unescaped space. A hash of its text
  //    finds the cached entry without slicing a string. Control characters are part of the text
  //    here; resolveSeries rejects them (once per distinct text, which is then cached).
  let i = start;
  let hash = 0;
  let escaped = false;
  while (i < end) {
    const c = t.charCodeAt(i);
    if (c === SPACE) break;
    if (c === BACKSLASH) {
      escaped = true;
      if (i + 1 < end && t.charCodeAt(i + 1) === SPACE) {
        hash = (Math.imul(hash, 31) + c) | 0;
        hash = (Math.imul(hash, 31) + SPACE) | 0;
        i += 2;
        continue;
      }
    }
    hash = (Math.imul(hash, 31) + c) | 0;
    i++;
  }
  const seriesEnd = i;
  const len = seriesEnd - start;
  const cache = ctx.cache;
  // The bounds are checked here, before this line adds anything: a full cache is only read.
  const full = isFull(cache);
  let entry = cache.series.get(hash) ?? null;
  while (entry !== null && !(entry.raw.length === len && t.startsWith(entry.raw, start))) entry = entry.next;
  if (entry === null) {
    if (full) cache.uncached++;
    entry = !full && admit(cache, hash) ? addSeries(cache, t, start, seriesEnd, hash, escaped) : transientSeries(t, start, seriesEnd, escaped);
  }
  if (entry.error !== null) return entry.error;
  // New fields of a cached series join it unless the cache is full; then this line's samples go
  // without slots, as a transient series' do.
  const keep = entry.cached && !full;
  let kept = entry.cached;

  while (i < end && t.charCodeAt(i) === SPACE) i++;
  if (i >= end) return 'missing field set';

  // 2. Fields, into the scratch arrays.
  const fields = ctx.fields;
  const values = ctx.values;
  let count = 0;
  // The field before this one on this line (null: none yet), and the one predicted here.
  let before: FieldEntry | null = null;
  let p = entry.first;
  for (;;) {
    const keyStart = i;
    let field: FieldEntry | null = null;
    // Lines of one series nearly always list the same keys in the same order: try the key that
    // came next last time. A cached key never ends in a backslash, so the '=' after it is a real
    // separator and the key needs no scanning.
    if (p !== null) {
      const keyEnd = keyStart + p.raw.length;
      if (keyEnd < end && t.charCodeAt(keyEnd) === EQ && t.startsWith(p.raw, keyStart)) {
        field = p;
        i = keyEnd;
      }
    }
    if (field === null) {
      let keyHash = 0;
      let keyEscaped = false;
      while (i < end) {
        const c = t.charCodeAt(i);
        if (c === EQ || c === COMMA || c === SPACE) break;
        if (c === BACKSLASH && i + 1 < end) {
          keyEscaped = true;
          const d = t.charCodeAt(i + 1);
          if (d === COMMA || d === EQ || d === SPACE) {
            keyHash = (Math.imul(keyHash, 31) + c) | 0;
            keyHash = (Math.imul(keyHash, 31) + d) | 0;
            i += 2;
            continue;
          }
        }
        keyHash = (Math.imul(keyHash, 31) + c) | 0;
        i++;
      }
      if (i >= end || t.charCodeAt(i) !== EQ) {
        if (i === keyStart) return count === 0 && before === null ? 'missing field set' : 'empty field (stray ",")';
        return `missing "=" after field key ${show(t, keyStart, i)}`;
      }
      if (i === keyStart) return 'empty field key';
      const found = fieldEntry(cache, entry, t, keyStart, i, keyHash, keyEscaped, keep);
      if (typeof found === 'string') return found;
      field = found;
      if (kept && !keep) {
        kept = false;
        cache.uncached++;
      }
      // Remember the order of this line for the next one.
      if (!entry.cached || keep) {
        if (before === null) entry.first = field;
        else before.after = field;
      }
    }
    before = field;
    p = field.after;
    // Keys that sanitise to the same name are one series: compare names, not entries.
    const name = field.name;
    const keyEnd = i;
    i++; // '='
    if (i >= end) return `missing value for field ${show(t, keyStart, keyEnd)}`;

    let c = t.charCodeAt(i);
    if (c === QUOTE) {
      // String field: validated and skipped (strings are not samples). Inside the quotes only
      // `\"` and `\\` matter for finding the end; everything else, spaces, commas, control
      // characters and newlines included, is content.
      i++;
      while (i < end) {
        c = t.charCodeAt(i);
        if (c === QUOTE) break;
        if (c === BACKSLASH && i + 1 < end) {
          const d = t.charCodeAt(i + 1);
          if (d === QUOTE || d === BACKSLASH) {
            i += 2;
            continue;
          }
        }
        i++;
      }
      if (i >= end) {
        // Not closed on this physical line: the string goes on over the newline.
        i = closeMultilineString(ctx, t, i);
        if (i < 0) return `unterminated string field ${show(t, keyStart, keyEnd)} (no closing quote before the end of the body)`;
        end = ctx.lineEnd;
        if (end > i + 1 && t.charCodeAt(end - 1) === CR) end--;
      }
      i++; // closing quote
      if (i < end) {
        c = t.charCodeAt(i);
        if (c !== COMMA && c !== SPACE) return `unexpected text after string field ${show(t, keyStart, keyEnd)}`;
      }
      // Last one wins: a string after a number of the same key removes that number.
      for (let k = 0; k < count; k++) {
        if (fields[k].name === name) {
          for (let m = k + 1; m < count; m++) {
            fields[m - 1] = fields[m];
            values[m - 1] = values[m];
          }
          count--;
          break;
        }
      }
    } else {
      const valueStart = i;
      while (i < end) {
        c = t.charCodeAt(i);
        if (c === COMMA || c === SPACE) break;
        i++;
      }
      if (i === valueStart) return `missing value for field ${show(t, keyStart, keyEnd)}`;
      const value = parseValue(t, valueStart, i);
      if (value !== value) return valueError(t, valueStart, i, keyStart, keyEnd);
      let k = 0;
      while (k < count && fields[k].name !== name) k++;
      fields[k] = field; // last one wins
      values[k] = value;
      if (k === count) count++;
    }

    if (i >= end) break;
    if (t.charCodeAt(i) === COMMA) {
      i++;
      continue;
    }
    break; // a space: the timestamp (or trailing spaces) follows
  }

  // 3. Optional timestamp, then nothing but spaces.
  while (i < end && t.charCodeAt(i) === SPACE) i++;
  let ts = ctx.defaultTs;
  if (i < end) {
    const tsStart = i;
    while (i < end && t.charCodeAt(i) !== SPACE) i++;
    const err = parseTimestamp(ctx, t, tsStart, i);
    if (err !== null) return err;
    ts = ctx.ts;
    while (i < end && t.charCodeAt(i) === SPACE) i++;
    if (i < end) return `unexpected text after timestamp: ${show(t, i, end)}`;
  }

  const labels = entry.labels;
  const samples = ctx.samples;
  for (let k = 0; k < count; k++) {
    const f = fields[k];
    samples.push({ name: f.name, labels, value: values[k], timestampMs: ts, type: 'gauge', key: f.key, slot: kept ? f : undefined });
  }
  return null;
}

/**
 * Finds the closing quote of a string field that did not close on its physical line, scanning on
 * from `from` (inside the string) through the rest of the body. Returns the quote's index and sets
 * ctx.lineEnd to the '\n' (or body end) after it, adding the newlines crossed to ctx.extraLines;
 * returns -1 when the body ends first (the whole rest of the body is then this one bad point, as in
 * InfluxDB's decoder: nothing says where a point would start again).
 */
function closeMultilineString(ctx: Ctx, t: string, from: number): number {
  const n = ctx.n;
  let lines = 0;
  let i = from;
  while (i < n) {
    const c = t.charCodeAt(i);
    if (c === QUOTE) break;
    if (c === LF) lines++;
    else if (c === BACKSLASH && i + 1 < n) {
      const d = t.charCodeAt(i + 1);
      if (d === QUOTE || d === BACKSLASH) {
        i += 2;
        continue;
      }
    }
    i++;
  }
  ctx.extraLines += lines;
  if (i >= n) {
    ctx.lineEnd = n;
    return -1;
  }
  const nl = t.indexOf('\n', i + 1);
  ctx.lineEnd = nl < 0 ? n : nl;
  return i;
}

/** Index of the first control character (U+0000–U+001F, U+007F) in t[start, end), or -1. */
function controlAt(t: string, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    const c = t.charCodeAt(i);
    if (c < SPACE || c === DEL) return i;
  }
  return -1;
}

/** `U+0009` for the character at t[i]. */
function codePoint(t: string, i: number): string {
  return 'U+' + t.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0');
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

function isFull(cache: SeriesCache): boolean {
  return cache.entries >= cache.maxEntries || cache.bytes >= cache.maxBytes;
}

/** Drops every cached entry. The old entries are garbage once no sample or line refers to them. */
function resetCache(cache: SeriesCache, now: number): void {
  cache.series.clear();
  cache.names.clear();
  cache.entries = 0;
  cache.bytes = 0;
  cache.resets++;
  cache.resetAt = now;
}

/**
 * Whether a series text not in the cache should enter it: true on its second sight (by the
 * admission filter, so a false positive lets one in on its first).
 */
function admit(cache: SeriesCache, hash: number): boolean {
  const bit = Math.imul(hash, 0x9e3779b1) >>> (32 - SEEN_BITS_LOG2);
  const word = bit >>> 5;
  const mask = 1 << (bit & 31);
  if ((cache.seen[word] & mask) !== 0) return true;
  if (cache.seenCount >= SEEN_CLEAR_AFTER) {
    cache.seen.fill(0);
    cache.seenCount = 0;
  }
  cache.seen[word] |= mask;
  cache.seenCount++;
  return false;
}

function newEntry(raw: string, next: SeriesEntry | null, cached: boolean): SeriesEntry {
  return { raw, next, error: null, measurement: '', labels: NO_LABELS, first: null, fields: null, fieldCount: 0, index: null, cached };
}

/**
 * The table's copy of a name (a measurement or sample name), adding `name` (and counting it) if it
 * is new. `owned` is a string the cache counts already (the series text): a name equal to it is
 * not counted twice.
 */
function internName(cache: SeriesCache, name: string, owned: string): string {
  const known = cache.names.get(name);
  if (known !== undefined) return known;
  cache.names.set(name, name);
  cache.bytes += NAME_ENTRY_BYTES + (name === owned ? 0 : name.length);
  return name;
}

/** Resolves the measurement and labels of a series text for the current line only (not cached). */
function transientSeries(t: string, start: number, end: number, escaped: boolean): SeriesEntry {
  const entry = newEntry('', null, false);
  entry.error = resolveSeries(entry, t, start, end, escaped);
  return entry;
}

/** Resolves and caches the measurement and labels of one distinct series text. */
function addSeries(cache: SeriesCache, t: string, start: number, end: number, hash: number, escaped: boolean): SeriesEntry {
  const entry = newEntry(detach(t.slice(start, end)), cache.series.get(hash) ?? null, true);
  cache.series.set(hash, entry);
  const error = resolveSeries(entry, t, start, end, escaped);
  // Messages quote the body; JSON.stringify copies, but detach makes sure of it.
  if (error !== null) entry.error = detach(error);
  else entry.measurement = internName(cache, entry.measurement, entry.raw);
  cache.entries++;
  let labelChars = 0;
  const labels = entry.labels;
  for (const k in labels) labelChars += labels[k].length;
  // Label names are property keys, shared by every object that has them: not counted.
  cache.bytes +=
    SERIES_ENTRY_BYTES + entry.raw.length + (entry.error?.length ?? 0) +
    labelChars + LABEL_BYTES * Object.keys(labels).length;
  return entry;
}

/** Fills in entry's measurement and labels, or returns why the series text is invalid. */
function resolveSeries(entry: SeriesEntry, t: string, start: number, end: number, escaped: boolean): string | null {
  // Measurement: up to the first unescaped comma; `\,` and `\ ` are its only escapes.
  let i = start;
  while (i < end) {
    const c = t.charCodeAt(i);
    if (c === COMMA) break;
    if (c === BACKSLASH && i + 1 < end) {
      const d = t.charCodeAt(i + 1);
      if (d === COMMA || d === SPACE) {
        i += 2;
        continue;
      }
    }
    i++;
  }
  if (i === start) return 'missing measurement name';
  let bad = controlAt(t, start, i);
  if (bad >= 0) return `measurement name contains control character ${codePoint(t, bad)}`;
  const measurement = escaped ? unescape(t, start, i, false) : t.slice(start, i);
  if (measurement.length > LIMITS.maxNameLength) {
    return `measurement name is ${measurement.length} characters long; the limit is ${LIMITS.maxNameLength}`;
  }

  // Tags: `,key=value` pairs; `\,`, `\=` and `\ ` are escapes in both keys and values. As in
  // InfluxDB's decoder, a value must not be empty or hold an unescaped '=', and no key may repeat.
  const labels: Labels = {};
  // Label name → the tag key it came from, to tell a repeated key from two keys that sanitise alike.
  let keyOf: Map<string, string> | null = null;
  let count = 0;
  while (i < end) {
    i++; // the comma
    const keyStart = i;
    while (i < end) {
      const c = t.charCodeAt(i);
      if (c === EQ || c === COMMA) break;
      if (c === BACKSLASH && i + 1 < end) {
        const d = t.charCodeAt(i + 1);
        if (d === COMMA || d === EQ || d === SPACE) {
          i += 2;
          continue;
        }
      }
      i++;
    }
    if (i === keyStart) return t.charCodeAt(i) === EQ ? 'empty tag key' : 'empty tag (stray ",")';
    if (i >= end || t.charCodeAt(i) !== EQ) return `tag ${show(t, keyStart, i)} has no "=" and value`;
    const keyEnd = i;
    i++; // '='
    const valueStart = i;
    let eqAt = -1;
    while (i < end) {
      const c = t.charCodeAt(i);
      if (c === COMMA) break;
      if (c === BACKSLASH && i + 1 < end) {
        const d = t.charCodeAt(i + 1);
        if (d === COMMA || d === EQ || d === SPACE) {
          i += 2;
          continue;
        }
      }
      if (c === EQ && eqAt < 0) eqAt = i;
      i++;
    }
    bad = controlAt(t, keyStart, keyEnd);
    if (bad >= 0) return `tag key ${show(t, keyStart, keyEnd)} contains control character ${codePoint(t, bad)}`;
    if (valueStart === i) return `tag ${show(t, keyStart, keyEnd)} has an empty value`;
    bad = controlAt(t, valueStart, i);
    if (bad >= 0) return `value of tag ${show(t, keyStart, keyEnd)} contains control character ${codePoint(t, bad)}`;
    if (eqAt >= 0) return `value of tag ${show(t, keyStart, keyEnd)} contains an unescaped "=" (write it as \\=)`;
    const key = escaped ? unescape(t, keyStart, keyEnd, true) : t.slice(keyStart, keyEnd);
    const value = escaped ? unescape(t, valueStart, i, true) : t.slice(valueStart, i);
    try {
      checkLabel(key, value);
    } catch (err) {
      if (err instanceof ValidationError) return err.message;
      throw err;
    }
    const name = detach(sanitizeLabelName(key));
    if (Object.prototype.hasOwnProperty.call(labels, name)) {
      const earlier = keyOf?.get(name) ?? name;
      return earlier === key
        ? `duplicate tag key ${JSON.stringify(key)}`
        : `tag keys ${JSON.stringify(earlier)} and ${JSON.stringify(key)} both become label ${JSON.stringify(name)}`;
    }
    if (name !== key) (keyOf ??= new Map()).set(name, key);
    if (++count > LIMITS.maxLabelsPerSeries) return `more than ${LIMITS.maxLabelsPerSeries} tags`;
    labels[name] = detach(value);
  }
  // A series text without tags is its measurement: one string for both.
  entry.measurement = measurement === entry.raw ? entry.raw : detach(measurement);
  // Frozen because the store keeps it and later samples share it: a write would corrupt them all.
  entry.labels = Object.freeze(labels);
  return null;
}

/**
 * The cached entry of a field key of this series, added on first sight; a message when the key is
 * invalid (not cached: such lines are rejected anyway). `keep`: the series is cached and the
 * cache not full; else a new key is made for this line only.
 */
function fieldEntry(cache: SeriesCache, entry: SeriesEntry, t: string, start: number, end: number, hash: number, escaped: boolean, keep: boolean): FieldEntry | string {
  const len = end - start;
  if (entry.index !== null) {
    for (let e = entry.index.get(hash) ?? null; e !== null; e = e.next) {
      if (e.raw.length === len && t.startsWith(e.raw, start)) return e;
    }
  } else {
    for (let e = entry.fields; e !== null; e = e.sibling) {
      if (e.hash === hash && e.raw.length === len && t.startsWith(e.raw, start)) return e;
    }
  }
  const bad = controlAt(t, start, end);
  if (bad >= 0) return `field key ${show(t, start, end)} contains control character ${codePoint(t, bad)}`;
  const key = escaped ? unescape(t, start, end, true) : t.slice(start, end);
  if (key.length > LIMITS.maxNameLength) return `field key ${show(t, start, end)} is longer than ${LIMITS.maxNameLength} characters`;
  // The field `value` is named after the measurement: then one string serves as both.
  const sanitized = fieldSeriesName(entry.measurement, key);
  const name = sanitized === entry.measurement ? entry.measurement : keep ? internName(cache, flat(sanitized), '') : flat(sanitized);
  const raw = t.slice(start, end);
  const found: FieldEntry = {
    raw: raw === 'value' ? 'value' : detach(raw),
    name,
    // Already a new flat string (join), never a piece of the body. detach would make it a copy:
    // a second string on every series the store keeps. Without tags it is the name itself.
    key: seriesKeyFromParts(name, labelsKey(entry.labels)),
    hash,
    sibling: entry.fields,
    after: null,
    next: null,
    series: null,
    epoch: 0,
  };
  if (entry.cached && !keep) return found;
  entry.fields = found;
  entry.fieldCount++;
  if (entry.index !== null) addToIndex(entry.index, found);
  else if (entry.fieldCount > FIELDS_WITHOUT_INDEX) {
    entry.index = new Map();
    for (let e: FieldEntry | null = found; e !== null; e = e.sibling) addToIndex(entry.index, e);
  }
  if (entry.cached) {
    cache.entries++;
    // Strings shared with the series entry, the name table (counted there) or a literal are not counted again.
    cache.bytes += FIELD_ENTRY_BYTES + (found.raw === 'value' ? 0 : found.raw.length) + (found.key === name ? 0 : found.key.length);
  }
  return found;
}

function addToIndex(index: Map<number, FieldEntry>, e: FieldEntry): void {
  e.next = index.get(e.hash) ?? null;
  index.set(e.hash, e);
}

/**
 * s as one flat string, for concatenations (ropes) of pieces that may be slices of the body.
 * Flattening copies the characters into a new string that the rope then points to; the garbage
 * collector replaces references to a flattened rope by that string. Cheaper than detach's copy.
 */
function flat(s: string): string {
  if (s.length >= 13) s.charCodeAt(0);
  return s;
}

/**
 * Removes the backslash of `\,` and `\ ` (and `\=` when `eq`); a backslash before anything else is
 * an ordinary character, and the character after it is read normally (so `\\,` is a backslash
 * followed by an escaped comma).
 */
function unescape(t: string, start: number, end: number, eq: boolean): string {
  let out = '';
  let from = start;
  for (let i = start; i < end - 1; i++) {
    if (t.charCodeAt(i) !== BACKSLASH) continue;
    const d = t.charCodeAt(i + 1);
    if (d === COMMA || d === SPACE || (eq && d === EQ)) {
      out += t.slice(from, i);
      from = i + 1;
      i++;
    }
  }
  return out + t.slice(from, end);
}

/**
 * A flat copy of s that shares no memory with the request body. V8 represents substrings of 13 or
 * more characters as views into their parent, so a label value kept in the cache or the store would
 * otherwise pin the whole (up to 10 MiB) body in memory for as long as the series lives; and it
 * represents concatenations as trees of their pieces. Shorter strings are always flat copies.
 * JSON's round trip gives a plain sequential string (48 bytes for a 30-character key on Node 20):
 * `(' ' + s).slice(1)` gives a view of a copy, 32 bytes more for every string kept.
 */
function detach(s: string): string {
  return s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string);
}

/**
 * Value of one unquoted field token: float, `12i`, `12u` or boolean. NaN means invalid (valueError
 * then works out why); a valid token never yields NaN.
 */
function parseValue(t: string, start: number, end: number): number {
  const last = t.charCodeAt(end - 1);
  if (last === LOWER_I) return end - start > 1 ? parseInteger(t, start, end - 1, true) : NaN;
  if (last === LOWER_U) return end - start > 1 ? parseInteger(t, start, end - 1, false) : NaN;
  const first = t.charCodeAt(start);
  if (first === LOWER_T || first === UPPER_T || first === LOWER_F || first === UPPER_F) return parseBool(t, start, end);
  return parseFloatToken(t, start, end);
}

function parseBool(t: string, start: number, end: number): number {
  const len = end - start;
  const first = t.charCodeAt(start);
  if (len === 1) return first === LOWER_T || first === UPPER_T ? 1 : 0;
  if (len === 4) {
    if (t.startsWith('true', start) || t.startsWith('True', start) || t.startsWith('TRUE', start)) return 1;
  } else if (len === 5) {
    if (t.startsWith('false', start) || t.startsWith('False', start) || t.startsWith('FALSE', start)) return 0;
  }
  return NaN;
}

/**
 * Decimal float: `-?(digits[.digits*]|.digits)([eE][+-]?digits)?`. Short mantissas are converted
 * exactly by one correctly rounded multiply or divide by an exact power of ten; the rest goes
 * through Number(), which is correctly rounded for this syntax. Overflow to ±Infinity is invalid.
 */
function parseFloatToken(t: string, start: number, end: number): number {
  let i = start;
  let negative = false;
  let c = t.charCodeAt(i);
  if (c === MINUS) {
    negative = true;
    c = t.charCodeAt(++i);
  }
  let mantissa = 0;
  let digits = 0;
  let fraction = 0;
  while (i < end && c >= ZERO && c <= ZERO + 9) {
    mantissa = mantissa * 10 + (c - ZERO);
    digits++;
    c = t.charCodeAt(++i);
  }
  if (i < end && c === DOT) {
    c = t.charCodeAt(++i);
    while (i < end && c >= ZERO && c <= ZERO + 9) {
      mantissa = mantissa * 10 + (c - ZERO);
      digits++;
      fraction++;
      c = t.charCodeAt(++i);
    }
  }
  if (digits === 0) return NaN;
  let exponent = 0;
  if (i < end && (c === LOWER_E || c === UPPER_E)) {
    c = t.charCodeAt(++i);
    let expNegative = false;
    if (c === MINUS || c === PLUS) {
      expNegative = c === MINUS;
      c = t.charCodeAt(++i);
    }
    const expStart = i;
    while (i < end && c >= ZERO && c <= ZERO + 9) {
      if (exponent < 100000) exponent = exponent * 10 + (c - ZERO);
      c = t.charCodeAt(++i);
    }
    if (i === expStart) return NaN;
    if (expNegative) exponent = -exponent;
  }
  if (i !== end) return NaN;
  let value: number;
  const scale = exponent - fraction;
  if (digits <= 15 && scale >= -22 && scale <= 22) {
    value = scale === 0 ? mantissa : scale < 0 ? mantissa / POW10[-scale] : mantissa * POW10[scale];
    if (negative) value = -value;
  } else {
    value = Number(t.slice(start, end));
  }
  return value - value === 0 ? value : NaN;
}

/** Digits in t[start, end) with an optional '-' (signed only), within the 64-bit range. */
function parseInteger(t: string, start: number, end: number, signed: boolean): number {
  let i = start;
  let negative = false;
  if (signed && t.charCodeAt(i) === MINUS) {
    negative = true;
    i++;
  }
  if (i === end) return NaN;
  while (i < end - 1 && t.charCodeAt(i) === ZERO) i++; // leading zeros
  const sigStart = i;
  let value = 0;
  for (; i < end; i++) {
    const d = t.charCodeAt(i) - ZERO;
    if (d < 0 || d > 9) return NaN;
    value = value * 10 + d;
  }
  const digits = end - sigStart;
  if (digits > 15) {
    const limit = signed ? (negative ? INT64_MIN_ABS : INT64_MAX) : UINT64_MAX;
    if (!digitsWithin(t, sigStart, end, limit)) return NaN;
    value = Number(t.slice(sigStart, end));
  }
  return negative && value !== 0 ? -value : value;
}

/** Whether the digit string t[start, end) (no leading zeros) is at most `limit`. */
function digitsWithin(t: string, start: number, end: number, limit: string): boolean {
  const len = end - start;
  if (len !== limit.length) return len < limit.length;
  for (let k = 0; k < len; k++) {
    const a = t.charCodeAt(start + k);
    const b = limit.charCodeAt(k);
    if (a !== b) return a < b;
  }
  return true;
}

/** Works out a readable reason for a token parseValue rejected. */
function valueError(t: string, start: number, end: number, keyStart: number, keyEnd: number): string {
  const token = t.slice(start, end);
  const field = show(t, keyStart, keyEnd);
  const shown = show(t, start, end);
  const last = token.charCodeAt(token.length - 1);
  if ((last === LOWER_I || last === LOWER_U) && /^-?\d+[iu]$/.test(token)) {
    return last === LOWER_I
      ? `integer value ${shown} for field ${field} is outside the int64 range`
      : token.startsWith('-')
        ? `invalid unsigned integer value ${shown} for field ${field} (must not be negative)`
        : `unsigned integer value ${shown} for field ${field} is outside the uint64 range`;
  }
  if (last === LOWER_I && token.length > 1) return `invalid integer value ${shown} for field ${field}`;
  if (last === LOWER_U && token.length > 1) return `invalid unsigned integer value ${shown} for field ${field}`;
  if (/^[-+]?(nan|inf|infinity)$/i.test(token)) {
    return `invalid float value ${shown} for field ${field} (NaN and infinity are not accepted)`;
  }
  if (/^-?(\d+(?:\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(token)) {
    return `float value ${shown} for field ${field} is out of range`;
  }
  if (/^[a-zA-Z]/.test(token)) {
    return `invalid float value ${shown} for field ${field} (strings must be in double quotes; booleans are t, f, true, false)`;
  }
  return `invalid float value ${shown} for field ${field}`;
}

/**
 * Sets ctx.ts from the timestamp token t[start, end) or returns an error message. Digits are
 * converted without first building a double of the whole number, so 19-digit nanosecond stamps keep
 * their sub-millisecond part.
 */
function parseTimestamp(ctx: Ctx, t: string, start: number, end: number): string | null {
  let i = start;
  let negative = false;
  if (t.charCodeAt(i) === MINUS) {
    negative = true;
    i++;
  }
  if (i === end) return `invalid timestamp ${show(t, start, end)}`;
  while (i < end - 1 && t.charCodeAt(i) === ZERO) i++;
  const digits = end - i;
  if (digits > 19) return isDigits(t, i, end) ? `timestamp ${show(t, start, end)} is outside the int64 range` : `invalid timestamp ${show(t, start, end)}`;
  const precision = ctx.precision;
  // The number is read as whole + low / 10^lowDigits so that no part exceeds 2^53: exact for 19
  // digits, which a double of the whole number would not be.
  let lowDigits: number;
  if (precision === undefined) lowDigits = digits <= 15 ? 0 : digits < 19 ? 3 : 6; // as digitsMillis() in model/time.ts
  else if (precision === 'ns') lowDigits = digits <= 15 ? 0 : 6;
  else if (precision === 'us') lowDigits = digits <= 15 ? 0 : 3;
  else lowDigits = 0;
  const split = end - lowDigits;
  let whole = 0;
  let low = 0;
  for (; i < split; i++) {
    const d = t.charCodeAt(i) - ZERO;
    if (d < 0 || d > 9) return `invalid timestamp ${show(t, start, end)}`;
    whole = whole * 10 + d;
  }
  for (; i < end; i++) {
    const d = t.charCodeAt(i) - ZERO;
    if (d < 0 || d > 9) return `invalid timestamp ${show(t, start, end)}`;
    low = low * 10 + d;
  }
  if (digits === 19 && !digitsWithin(t, end - 19, end, negative ? INT64_MIN_ABS : INT64_MAX)) {
    return `timestamp ${show(t, start, end)} is outside the int64 range`;
  }
  let ms: number;
  if (precision === undefined) {
    ms = lowDigits === 0 ? autoMillis(whole) : whole + low / POW10[lowDigits];
  } else if (precision === 'ns') {
    // Divide by the exact 1e6 (one rounding); multiplying by the inexact 1e-6 would add error.
    ms = lowDigits === 0 ? whole / 1e6 : whole + low / 1e6;
  } else if (precision === 'us') {
    ms = lowDigits === 0 ? whole / 1e3 : whole + low / 1e3;
  } else {
    // Past 15 digits `whole` is not exact, but such values are far outside the Date range anyway.
    ms = toMillis(whole, precision);
  }
  if (negative) ms = -ms;
  if (!(Math.abs(ms) <= MAX_ABS_MS)) return `timestamp ${show(t, start, end)} is out of range for precision ${precision ?? 'auto'}`;
  ctx.ts = ms;
  return null;
}

function isDigits(t: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = t.charCodeAt(i);
    if (c < ZERO || c > ZERO + 9) return false;
  }
  return true;
}

/** A piece of the input for an error message: quoted, and cut short when long. */
function show(t: string, start: number, end: number): string {
  const max = 64;
  return JSON.stringify(end - start > max ? t.slice(start, start + max) + '…' : t.slice(start, end));
}
