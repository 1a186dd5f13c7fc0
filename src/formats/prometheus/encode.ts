/**
 * Encoders for the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text.
 *
 * Pure: the caller hands in families and series and gets one string back. The caller still owns the
 * objects it passed; nothing is kept after the call returns.
 *
 * Input contract (the store guarantees it; the encoders only check what is cheap):
 * - `ExpoSeries.key` is `seriesKey(name, labels)` from src/model/series-key.ts: the series name
 *   followed by its sorted, escaped label set, so it can be printed as is.
 * - Family names are expected to be unique. If the same name does come twice, the blocks are
 *   merged: later series are appended under the first family's metadata (type, help, unit), so the
 *   output stays valid, but the second family's metadata is lost.
 */

import type { MetricType } from '../../model/sample';
import { formatValue, parseFloatToken } from './number';

export { formatValue } from './number';

/** Content type of `encodeText` output. */
export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** Content type of `encodeOpenMetrics` output. */
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export interface ExpoSeries {
  /** `name{a="x",b="y"}` exactly as seriesKey() builds it. */
  key: string;
  /** The series name, i.e. the part of `key` before `{` (e.g. `lat_bucket`, `reqs_total`). */
  name: string;
  value: number;
  /** Milliseconds since the epoch; printed only with `timestamps: true`. */
  timestampMs?: number;
}

export interface ExpoFamily {
  /** Family name: `lat` for `lat_bucket`/`lat_sum`/`lat_count`, `reqs` (or `reqs_total`) for `reqs_total`. */
  name: string;
  type: MetricType;
  help?: string;
  /** Unit such as `seconds`; see the encoders for when it is printed. */
  unit?: string;
  series: Iterable<ExpoSeries>;
}

export interface EncodeOptions {
  /** Print each series' timestamp when it has one. Default false: the scraper stamps the samples. */
  timestamps?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Text format 0.0.4

interface TextBlock {
  header: string;
  body: string;
}

/**
 * Prometheus text format 0.0.4 (`TEXT_CONTENT_TYPE`).
 *
 * Per block: `# HELP` (when help is non-empty), `# TYPE`, `# UNIT` (when unit is set; parsers of
 * 0.0.4 read it as a comment), then `key value [timestamp-ms]` lines.
 *
 * The name on the metadata lines is the one 0.0.4 parsers match samples against: the family name
 * for histograms and summaries (whose samples carry `_bucket`/`_sum`/`_count`), and the series name
 * for every other type. So a counter family `reqs` whose series is `reqs_total` is written
 * `# TYPE reqs_total counter` / `reqs_total 3`, as client_golang and prom-client do; `# TYPE reqs
 * counter` above `reqs_total` would leave the samples untyped for Prometheus and promtool.
 *
 * `_created` series of counters, histograms and summaries (an OpenMetrics notion) get a gauge block
 * of their own. Families without series print nothing. Timestamps are rounded to whole milliseconds.
 */
export function encodeText(families: Iterable<ExpoFamily>, opts: EncodeOptions = {}): string {
  return runToEnd(textSteps(families, opts, Infinity));
}

/**
 * `encodeText` that pauses (yields) after every `every` series, for a caller that lets other work
 * run in between; its return value is the text. See `pausable` for what it reads when.
 */
export function* textSteps(families: Iterable<ExpoFamily>, opts: EncodeOptions, every: number): Generator<void, string, void> {
  const withTimestamps = opts.timestamps === true;
  const blocks = new Map<string, TextBlock>();
  let lastTs = NaN;
  let lastTsText = '';
  let left = every;

  for (const fam of pausable(families, every)) {
    const byFamilyName = fam.type === 'histogram' || fam.type === 'summary';
    let block: TextBlock | undefined;
    let lastName: string | undefined;
    for (const s of pausable(fam.series, every)) {
      if (--left === 0) {
        left = every;
        yield;
      }
      // The block depends only on the series name, and series of one name usually come together.
      if (block === undefined || s.name !== lastName) {
        lastName = s.name;
        let metaName = byFamilyName ? fam.name : s.name;
        let type = fam.type;
        let unit = fam.unit;
        if (fam.type !== 'gauge' && fam.type !== 'untyped' && s.name !== fam.name && s.name.endsWith('_created')) {
          // 0.0.4 has no created samples: expose them as a gauge of their own, as client_python does.
          metaName = s.name;
          type = 'gauge';
          unit = undefined;
        }
        block = blocks.get(metaName);
        if (block === undefined) {
          block = { header: textHeader(metaName, type, fam.help, unit), body: '' };
          blocks.set(metaName, block);
        }
      }
      const ts = s.timestampMs;
      if (withTimestamps && ts !== undefined && ts - ts === 0) {
        // Series collected together share a timestamp; printing a large double is the slow part.
        if (ts !== lastTs) {
          lastTs = ts;
          lastTsText = ' ' + Math.round(ts) + '\n';
        }
        block.body += s.key + ' ' + formatValue(s.value) + lastTsText;
      } else {
        block.body += s.key + ' ' + formatValue(s.value) + '\n';
      }
    }
  }

  let out = '';
  for (const b of blocks.values()) out += b.header + b.body;
  return out;
}

/**
 * What a pausing encoder iterates: the families, and each family's series when its turn comes, are
 * copied first, so a pause never resumes inside a live collection the store changes meanwhile (a
 * series deleted and pushed again would be visited twice: a duplicate sample fails the whole
 * scrape). Values are read when each series is written. Without pauses, the iterable itself.
 */
function pausable<T>(items: Iterable<T>, every: number): Iterable<T> {
  return every === Infinity ? items : Array.from(items);
}

/** Runs an encoder's steps without pausing; returns what it returns. */
function runToEnd<T>(steps: Generator<void, T, void>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

function textHeader(name: string, type: MetricType, help: string | undefined, unit: string | undefined): string {
  let h = '';
  if (help !== undefined && help !== '') h += '# HELP ' + name + ' ' + escapeTextHelp(help) + '\n';
  h += '# TYPE ' + name + ' ' + type + '\n';
  if (unit !== undefined && unit !== '') h += '# UNIT ' + name + ' ' + unit + '\n';
  return h;
}

/** 0.0.4 HELP text escapes only backslash and line feed. */
export function escapeTextHelp(help: string): string {
  return /[\\\n]/.test(help) ? help.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\')) : help;
}

// ---------------------------------------------------------------------------------------------
// OpenMetrics 1.0

type OmType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'unknown';

interface OmLine {
  line: string;
  /** The label set without `le`/`quantile`: lines sharing it form one Metric and stay together. */
  metric: string;
  /** Bucket bound for `_bucket` lines of a histogram, used to order buckets. */
  le?: number;
}

interface OmBlock {
  name: string;
  type: OmType;
  help?: string;
  unit?: string;
  lines: OmLine[];
}

/**
 * OpenMetrics 1.0 text (`OPENMETRICS_CONTENT_TYPE`), ending with `# EOF\n`.
 *
 * Differences from `encodeText`, all required by the OpenMetrics grammar:
 * - `untyped` is written as `unknown`.
 * - A counter's family name never ends in `_total`; its samples are `<family>_total` (and
 *   `<family>_created` when the store has one). A counter series named without `_total` gets it
 *   appended to the name part of its key: `reqs{a="b"}` → `reqs_total{a="b"}`.
 * - `# UNIT` is printed only when the family name ends in `_<unit>`; otherwise it would make the
 *   exposition invalid, so it is left out.
 * - HELP also escapes `"`; metadata order is TYPE, UNIT, HELP.
 * - Samples of one Metric (same labels apart from `le`/`quantile`) are written together, histogram
 *   buckets in ascending `le` order first, as OpenMetrics forbids interleaving.
 * - Timestamps are seconds since the epoch, with the milliseconds as a fraction.
 *
 * Values are written as they are; the store is responsible for counter semantics (OpenMetrics wants
 * counters non-negative and not NaN).
 */
export function encodeOpenMetrics(families: Iterable<ExpoFamily>, opts: EncodeOptions = {}): string {
  return runToEnd(openMetricsSteps(families, opts, Infinity));
}

/** `encodeOpenMetrics` that pauses after every `every` series (as `textSteps`). */
export function* openMetricsSteps(families: Iterable<ExpoFamily>, opts: EncodeOptions, every: number): Generator<void, string, void> {
  const withTimestamps = opts.timestamps === true;
  const blocks = new Map<string, OmBlock>();
  let lastTs = NaN;
  let lastTsText = '';
  let left = every;

  for (const fam of pausable(families, every)) {
    const type: OmType = fam.type === 'untyped' ? 'unknown' : fam.type;
    const counterBase = type === 'counter' ? stripSuffix(fam.name, '_total') : '';
    const totalName = counterBase + '_total';
    const createdName = counterBase + '_created';
    let block: OmBlock | undefined;
    for (const s of pausable(fam.series, every)) {
      if (--left === 0) {
        left = every;
        yield;
      }
      let blockName: string;
      let key = s.key;
      if (type === 'counter') {
        let sampleName = s.name;
        if (s.name === totalName || s.name === createdName) {
          blockName = counterBase;
        } else if (s.name === counterBase) {
          blockName = counterBase;
          sampleName = totalName;
        } else {
          // A series whose name does not fit its family: give it a family of its own.
          blockName = stripSuffix(s.name, '_total');
          sampleName = blockName + '_total';
        }
        if (sampleName !== s.name) key = sampleName + s.key.slice(s.name.length);
      } else if (type === 'histogram' || type === 'summary') {
        blockName = fam.name;
      } else {
        blockName = s.name;
      }

      if (block === undefined || block.name !== blockName) {
        block = blocks.get(blockName);
        if (block === undefined) {
          block = { name: blockName, type, help: fam.help, unit: fam.unit, lines: [] };
          blocks.set(blockName, block);
        }
      }

      let line: string;
      const ts = s.timestampMs;
      if (withTimestamps && ts !== undefined && ts - ts === 0) {
        if (ts !== lastTs) {
          lastTs = ts;
          lastTsText = ' ' + formatValue(ts / 1000) + '\n';
        }
        line = key + ' ' + formatValue(s.value) + lastTsText;
      } else {
        line = key + ' ' + formatValue(s.value) + '\n';
      }

      if (block.type === 'gauge' || block.type === 'unknown') {
        block.lines.push({ line, metric: '' }); // one sample per Metric: nothing to group
      } else {
        const labelsPart = s.key.slice(s.name.length);
        if (block.type === 'histogram') {
          const om: OmLine = { line, metric: withoutLabel(labelsPart, LE_PAIR_RE) };
          if (s.name === block.name + '_bucket') om.le = bucketBound(labelsPart);
          block.lines.push(om);
        } else if (block.type === 'summary') {
          block.lines.push({ line, metric: withoutLabel(labelsPart, QUANTILE_PAIR_RE) });
        } else {
          block.lines.push({ line, metric: labelsPart });
        }
      }
    }
  }

  let out = '';
  for (const b of blocks.values()) out += omHeader(b) + omBody(b);
  return out + '# EOF\n';
}

function omHeader(b: OmBlock): string {
  let h = '# TYPE ' + b.name + ' ' + b.type + '\n';
  if (b.unit !== undefined && b.unit !== '' && b.name.endsWith('_' + b.unit)) h += '# UNIT ' + b.name + ' ' + b.unit + '\n';
  if (b.help !== undefined && b.help !== '') h += '# HELP ' + b.name + ' ' + escapeOpenMetricsHelp(b.help) + '\n';
  return h;
}

function omBody(b: OmBlock): string {
  if (b.type === 'gauge' || b.type === 'unknown') return joinLines(b.lines);
  // Group the lines of each Metric, keeping first-appearance order of Metrics and of lines.
  const groups = new Map<string, OmLine[]>();
  for (const l of b.lines) {
    const g = groups.get(l.metric);
    if (g === undefined) groups.set(l.metric, [l]);
    else g.push(l);
  }
  if (groups.size === b.lines.length && b.type !== 'histogram') return joinLines(b.lines);
  let out = '';
  for (const g of groups.values()) {
    if (b.type === 'histogram') {
      const buckets = g.filter((l) => l.le !== undefined).sort(compareLe);
      out += joinLines(buckets) + joinLines(g.filter((l) => l.le === undefined));
    } else {
      out += joinLines(g);
    }
  }
  return out;
}

function joinLines(lines: OmLine[]): string {
  let out = '';
  for (const l of lines) out += l.line;
  return out;
}

/** Ascending bound; a missing or unreadable bound (NaN) goes last. Array.sort is stable. */
function compareLe(a: OmLine, b: OmLine): number {
  const x = a.le as number;
  const y = b.le as number;
  if (x !== x) return y !== y ? 0 : 1;
  if (y !== y) return -1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** OpenMetrics HELP is an escaped-string: backslash, line feed and double quote are escaped. */
export function escapeOpenMetricsHelp(help: string): string {
  return /[\\\n"]/.test(help) ? help.replace(/[\\\n"]/g, (c) => (c === '\n' ? '\\n' : '\\' + c)) : help;
}

function stripSuffix(s: string, suffix: string): string {
  return s.endsWith(suffix) && s.length > suffix.length ? s.slice(0, -suffix.length) : s;
}

// In an escaped label set a `"` inside a value is always preceded by a backslash, so `{le="` or
// `,le="` can only be the start of a real `le` pair, never text inside another label's value.
const LE_PAIR_RE = /([{,])le="((?:[^"\\]|\\.)*)"([,}])/s;
const QUANTILE_PAIR_RE = /([{,])quantile="((?:[^"\\]|\\.)*)"([,}])/s;

/** `{a="x",le="1"}` → `{a="x"}`; `{le="1"}` → `` (so it equals the `_sum` line's empty set). */
function withoutLabel(labelsPart: string, re: RegExp): string {
  if (labelsPart === '') return '';
  return labelsPart.replace(re, (_m, pre: string, _v: string, post: string) => (pre === '{' ? (post === '}' ? '' : '{') : post));
}

function bucketBound(labelsPart: string): number {
  const m = LE_PAIR_RE.exec(labelsPart);
  return m === null ? NaN : (parseFloatToken(m[2]) ?? NaN);
}
