/**
 * Parser for the Prometheus text exposition format 0.0.4, which also reads OpenMetrics 1.0 text.
 *
 * Pure: string in, families and errors out; it never throws. A line it cannot read becomes an
 * ItemError with its 1-based line number and is skipped; the rest of the text is still parsed.
 * The returned objects belong to the caller.
 *
 * Leniency, in the spirit of Prometheus' own scrape parser:
 * - blanks and tabs between any tokens, CRLF line ends, a leading BOM, blank lines, comments;
 * - a trailing comma in a label set;
 * - unknown escape sequences in label values and HELP are kept verbatim (`\q` stays `\q`);
 *   `\\`, `\"` and `\n` are decoded everywhere;
 * - labels with an empty value are dropped, as Prometheus treats them as absent;
 * - `unknown`, `gaugehistogram`, `stateset` and `info` TYPE values are accepted and mapped onto our
 *   MetricType (`untyped`, or `gauge` for the last three);
 * - samples of one family may be interleaved with others.
 * Errors are lines that cannot be read, a second HELP/TYPE/UNIT line for a name, a TYPE line after
 * samples of that name, duplicate label names and the reserved label name `__name__`.
 */

import type { ItemError, Labels, MetricType } from '../../model/sample';
import { parseFloatToken } from './number';

export interface ParsedSample {
  /** The sample's own name, e.g. `lat_bucket`, `reqs_total`. */
  name: string;
  labels: Labels;
  value: number;
  /** Milliseconds since the epoch (OpenMetrics seconds are converted). */
  timestampMs?: number;
}

export interface ParsedFamily {
  /** Name from the metadata lines (`lat`), or the sample name for samples without metadata. */
  name: string;
  /** `untyped` when the text has no TYPE line for the family. */
  type: MetricType;
  help?: string;
  unit?: string;
  /** In text order. A family declared only by metadata has none. */
  samples: ParsedSample[];
}

export interface ParsedText {
  /** In order of first appearance. */
  families: ParsedFamily[];
  errors: ItemError[];
}

export interface ParseTextOptions {
  /**
   * `text` (0.0.4: timestamps in milliseconds), `openmetrics` (timestamps in seconds, exemplars
   * ignored, nothing may follow `# EOF`), or `auto` (default): OpenMetrics when the last non-blank
   * line is `# EOF`.
   */
  format?: 'text' | 'openmetrics' | 'auto';
}

/** Declared types we accept, and what they become. */
const TYPES = new Map<string, MetricType>([
  ['counter', 'counter'],
  ['gauge', 'gauge'],
  ['histogram', 'histogram'],
  ['summary', 'summary'],
  ['untyped', 'untyped'],
  ['unknown', 'untyped'],
  ['gaugehistogram', 'gauge'],
  ['stateset', 'gauge'],
  ['info', 'gauge'],
]);

/** Sample-name suffixes that attach a sample `<family><suffix>` to a family of the declared type. */
const SUFFIXES = new Map<string, readonly string[]>([
  ['counter', ['_total', '_created']],
  ['histogram', ['_bucket', '_sum', '_count', '_created']],
  ['summary', ['_sum', '_count', '_created']],
  ['gaugehistogram', ['_bucket', '_gcount', '_gsum']],
  ['info', ['_info']],
]);
const NO_SUFFIXES: readonly string[] = [];

const DECIMAL_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER_RE = /^[+-]?\d+$/;

interface FamilyState {
  fam: ParsedFamily;
  suffixes: readonly string[];
  typed: boolean;
  helpSeen: boolean;
  unitSeen: boolean;
}

/**
 * Thrown inside the parser only, caught per line. Not an Error on purpose: capturing a stack trace
 * cost more than parsing the line, for every bad line of a scrape. Anything else thrown is a bug
 * and is not caught.
 */
class LineError {
  constructor(readonly message: string) {}
}

export function parsePrometheusText(text: string, opts: ParseTextOptions = {}): ParsedText {
  const lines = text.split('\n');
  const format = opts.format ?? 'auto';
  const openMetrics = format === 'openmetrics' || (format === 'auto' && lastLineIsEof(lines));
  const parser = new TextParser(openMetrics);
  const errors: ItemError[] = [];

  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (i === 0 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    if (parser.eof) {
      if (line.trim() !== '') {
        errors.push({ line: i + 1, message: 'text after "# EOF"; the rest is ignored' });
        break;
      }
      continue;
    }
    try {
      parser.line(line);
    } catch (err) {
      if (!(err instanceof LineError)) throw err;
      errors.push({ line: i + 1, message: err.message });
    }
  }
  return { families: parser.families, errors };
}

function lastLineIsEof(lines: string[]): boolean {
  for (let i = lines.length - 1; i >= 0; i--) {
    const t = lines[i].trim();
    if (t !== '') return t === '# EOF';
  }
  return false;
}

class TextParser {
  readonly families: ParsedFamily[] = [];
  eof = false;
  private readonly byName = new Map<string, FamilyState>();

  constructor(private readonly openMetrics: boolean) {}

  line(line: string): void {
    const i = skipBlanks(line, 0);
    if (i === line.length) return;
    if (line.charCodeAt(i) === 35 /* # */) this.comment(line, i + 1);
    else this.sample(line, i);
  }

  private comment(line: string, start: number): void {
    let i = skipBlanks(line, start);
    const kwStart = i;
    i = skipToken(line, i);
    const keyword = line.slice(kwStart, i);
    if (keyword === 'EOF' && this.openMetrics) {
      this.eof = true;
      return;
    }
    if (keyword !== 'HELP' && keyword !== 'TYPE' && keyword !== 'UNIT') return; // a plain comment

    i = skipBlanks(line, i);
    const nameStart = i;
    i = skipToken(line, i);
    const name = line.slice(nameStart, i);
    if (name === '') throw new LineError(`# ${keyword} line has no metric name`);
    if (!isMetricName(name)) throw new LineError(`# ${keyword} line: ${JSON.stringify(name)} is not a valid metric name`);
    i = skipBlanks(line, i);

    if (keyword === 'HELP') {
      const st = this.family(name);
      if (st.helpSeen) throw new LineError(`second # HELP line for ${name}`);
      st.helpSeen = true;
      const help = unescape(trimEndBlanks(line.slice(i)));
      if (help !== '') st.fam.help = help;
      return;
    }

    const valueStart = i;
    i = skipToken(line, i);
    const value = line.slice(valueStart, i);
    if (skipBlanks(line, i) !== line.length) {
      throw new LineError(`# ${keyword} line for ${name} has extra text at column ${skipBlanks(line, i) + 1}`);
    }

    if (keyword === 'UNIT') {
      const st = this.family(name);
      if (st.unitSeen) throw new LineError(`second # UNIT line for ${name}`);
      st.unitSeen = true;
      if (value !== '') st.fam.unit = value;
      return;
    }

    // TYPE
    const type = TYPES.get(value);
    if (type === undefined) {
      throw new LineError(`# TYPE line for ${name}: ${JSON.stringify(value)} is not a metric type`);
    }
    const st = this.family(name);
    if (st.typed) throw new LineError(`second # TYPE line for ${name}`);
    if (st.fam.samples.length > 0) throw new LineError(`# TYPE line for ${name} comes after its samples`);
    st.typed = true;
    st.fam.type = type;
    st.suffixes = SUFFIXES.get(value) ?? NO_SUFFIXES;
  }

  private sample(line: string, start: number): void {
    let i = start;
    if (!isMetricNameStart(line.charCodeAt(i))) {
      throw new LineError(`expected a metric name at column ${i + 1}, found ${JSON.stringify(line[i])}`);
    }
    while (i < line.length && isMetricNameChar(line.charCodeAt(i))) i++;
    const name = line.slice(start, i);

    const labels: Labels = {};
    let j = skipBlanks(line, i);
    if (line.charCodeAt(j) === 123 /* { */) {
      j = parseLabels(line, j + 1, labels);
    } else if (j === i && j < line.length) {
      throw new LineError(`unexpected ${JSON.stringify(line[j])} after metric name at column ${j + 1}`);
    }

    i = skipBlanks(line, j);
    const valueStart = i;
    i = skipToken(line, i);
    const token = line.slice(valueStart, i);
    if (token === '') throw new LineError(`sample ${name} has no value`);
    const value = parseFloatToken(token);
    if (value === undefined) throw new LineError(`value ${JSON.stringify(token)} of ${name} is not a number`);

    let timestampMs: number | undefined;
    i = skipBlanks(line, i);
    if (i < line.length && !this.exemplarAt(line, i)) {
      const tsStart = i;
      i = skipToken(line, i);
      timestampMs = this.timestamp(line.slice(tsStart, i), name);
      i = skipBlanks(line, i);
      if (i < line.length && !this.exemplarAt(line, i)) {
        throw new LineError(`unexpected text after the timestamp of ${name} at column ${i + 1}`);
      }
    }

    const s: ParsedSample = timestampMs === undefined ? { name, labels, value } : { name, labels, value, timestampMs };
    this.familyOfSample(name).fam.samples.push(s);
  }

  /** OpenMetrics exemplars (` # {…} value [ts]`) are allowed after a sample and ignored. */
  private exemplarAt(line: string, i: number): boolean {
    return this.openMetrics && line.charCodeAt(i) === 35;
  }

  private timestamp(token: string, name: string): number {
    if (this.openMetrics) {
      if (!DECIMAL_RE.test(token)) throw new LineError(`timestamp ${JSON.stringify(token)} of ${name} is not a number of seconds`);
      const ms = secondsToMillis(token);
      if (!Number.isFinite(ms)) throw new LineError(`timestamp ${JSON.stringify(token)} of ${name} is out of range`);
      return ms;
    }
    if (!INTEGER_RE.test(token)) throw new LineError(`timestamp ${JSON.stringify(token)} of ${name} is not an integer of milliseconds`);
    const ms = Number(token);
    if (!Number.isFinite(ms)) throw new LineError(`timestamp ${JSON.stringify(token)} of ${name} is out of range`);
    return ms;
  }

  private family(name: string): FamilyState {
    let st = this.byName.get(name);
    if (st === undefined) {
      st = { fam: { name, type: 'untyped', samples: [] }, suffixes: NO_SUFFIXES, typed: false, helpSeen: false, unitSeen: false };
      this.byName.set(name, st);
      this.families.push(st.fam);
    }
    return st;
  }

  /** The family with the sample's exact name, else `<base>` when `<base>` is typed to own the suffix. */
  private familyOfSample(name: string): FamilyState {
    const exact = this.byName.get(name);
    if (exact !== undefined) return exact;
    const cut = name.lastIndexOf('_');
    if (cut > 0) {
      const base = this.byName.get(name.slice(0, cut));
      if (base !== undefined && base.suffixes.includes(name.slice(cut))) return base;
    }
    return this.family(name);
  }
}

/** Parses `a="x", b="y"}` from just after `{`; returns the index after `}`. */
function parseLabels(line: string, start: number, labels: Labels): number {
  const seen: string[] = [];
  let i = start;
  for (;;) {
    i = skipBlanks(line, i);
    if (i >= line.length) throw new LineError('label set is not closed with "}"');
    if (line.charCodeAt(i) === 125 /* } */) return i + 1;

    const nameStart = i;
    if (!isLabelNameStart(line.charCodeAt(i))) {
      throw new LineError(`expected a label name or "}" at column ${i + 1}, found ${JSON.stringify(line[i])}`);
    }
    while (i < line.length && isLabelNameChar(line.charCodeAt(i))) i++;
    const label = line.slice(nameStart, i);

    i = skipBlanks(line, i);
    if (line.charCodeAt(i) !== 61 /* = */) throw new LineError(`expected "=" after label name ${label} at column ${i + 1}`);
    i = skipBlanks(line, i + 1);
    if (line.charCodeAt(i) !== 34 /* " */) throw new LineError(`expected a quoted value for label ${label} at column ${i + 1}`);
    i++;

    let value = '';
    let segment = i;
    for (;;) {
      if (i >= line.length) throw new LineError(`value of label ${label} is not closed with '"'`);
      const c = line.charCodeAt(i);
      if (c === 34) break;
      if (c === 92 /* \ */) {
        if (i + 1 >= line.length) throw new LineError(`value of label ${label} is not closed with '"'`);
        value += line.slice(segment, i) + unescapeChar(line[i + 1]);
        i += 2;
        segment = i;
      } else {
        i++;
      }
    }
    value += line.slice(segment, i);
    i++;

    if (label === '__name__') throw new LineError('label name __name__ is reserved');
    if (label === '__proto__') throw new LineError('label name __proto__ is not allowed');
    if (seen.includes(label)) throw new LineError(`label ${label} appears twice`);
    seen.push(label);
    if (value !== '') labels[label] = value;

    i = skipBlanks(line, i);
    const c = line.charCodeAt(i);
    if (c === 44 /* , */) i++;
    else if (c !== 125) {
      throw new LineError(i >= line.length ? 'label set is not closed with "}"' : `expected "," or "}" at column ${i + 1}, found ${JSON.stringify(line[i])}`);
    }
  }
}

/**
 * Shifts the decimal point instead of multiplying, so `1.001` seconds become exactly
 * 1001 (`1.001 * 1000` is 1000.9999999999999). `token` matched DECIMAL_RE.
 */
function secondsToMillis(token: string): number {
  const e = token.search(/[eE]/);
  if (e < 0) return Number(token + 'e3');
  return Number(token.slice(0, e) + 'e' + (Number(token.slice(e + 1)) + 3));
}

function unescapeChar(ch: string): string {
  switch (ch) {
    case 'n': return '\n';
    case '\\': return '\\';
    case '"': return '"';
    default: return '\\' + ch;
  }
}

/** Decodes `\\`, `\n` and `\"`; keeps other backslashes verbatim. */
function unescape(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\(.)/gs, (_m, ch: string) => unescapeChar(ch));
}

function skipBlanks(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9) break;
    i++;
  }
  return i;
}

function skipToken(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9) break;
    i++;
  }
  return i;
}

function trimEndBlanks(s: string): string {
  let end = s.length;
  while (end > 0 && (s.charCodeAt(end - 1) === 32 || s.charCodeAt(end - 1) === 9)) end--;
  return s.slice(0, end);
}

function isLabelNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

function isLabelNameChar(c: number): boolean {
  return isLabelNameStart(c) || (c >= 48 && c <= 57);
}

function isMetricNameStart(c: number): boolean {
  return isLabelNameStart(c) || c === 58;
}

function isMetricNameChar(c: number): boolean {
  return isLabelNameChar(c) || c === 58;
}

function isMetricName(s: string): boolean {
  if (!isMetricNameStart(s.charCodeAt(0))) return false;
  for (let i = 1; i < s.length; i++) if (!isMetricNameChar(s.charCodeAt(i))) return false;
  return true;
}
