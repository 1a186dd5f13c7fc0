/** Families used by several Prometheus format tests, and a strict OpenMetrics structure check. */

import type { Labels, MetricType } from '../../../src/model/sample';
import { seriesKey } from '../../../src/model/series-key';
import type { ExpoFamily, ExpoSeries } from '../../../src/formats/prometheus/encode';

export function series(name: string, labels: Labels, value: number, timestampMs?: number): ExpoSeries {
  return { key: seriesKey(name, labels), name, value, timestampMs };
}

export function family(name: string, type: MetricType, s: ExpoSeries[], help?: string, unit?: string): ExpoFamily {
  return { name, type, help, unit, series: s };
}

/** Label values that exercise every escape and a few characters that need none. */
export const NASTY = {
  quote: 'say "hi"',
  backslash: 'C:\\path\\',
  newline: 'two\nlines',
  mix: '\\"\n\\n',
  unicode: 'zürich ☃ 😀',
  tab: 'a\tb',
  braces: '{x="y"},',
  hash: '# not a comment',
} as const;

export const TS = 1_700_000_000_123;

/**
 * One family of every type, help and units everywhere, nasty labels, NaN and ±Inf; every series has
 * a timestamp. Names follow the conventions promtool lints for.
 */
export function everyType(): ExpoFamily[] {
  return [
    family('http_requests', 'counter', [
      series('http_requests_total', { code: '200', path: NASTY.quote }, 1027, TS),
      series('http_requests_total', { code: '500', path: NASTY.backslash }, 3, TS),
      series('http_requests_total', { code: '503', path: NASTY.mix }, 0, TS),
    ], 'Requests served, "quoted" and \\ back\\slashed\nover two lines.'),
    family('node_temperature_celsius', 'gauge', [
      series('node_temperature_celsius', { zone: NASTY.unicode }, 41.5, TS),
      series('node_temperature_celsius', { zone: NASTY.newline }, NaN, TS),
      series('node_temperature_celsius', { zone: NASTY.tab }, Infinity, TS),
      series('node_temperature_celsius', { zone: NASTY.braces }, -Infinity, TS),
      series('node_temperature_celsius', { zone: NASTY.hash }, -0.000001, TS),
      series('node_temperature_celsius', {}, 1e21, TS),
    ], 'Temperature.', 'celsius'),
    family('request_duration_seconds', 'histogram', [
      series('request_duration_seconds_bucket', { le: '0.1', route: NASTY.quote }, 3, TS),
      series('request_duration_seconds_bucket', { le: '1', route: NASTY.quote }, 5, TS),
      series('request_duration_seconds_bucket', { le: '+Inf', route: NASTY.quote }, 6, TS),
      series('request_duration_seconds_sum', { route: NASTY.quote }, 7.25, TS),
      series('request_duration_seconds_count', { route: NASTY.quote }, 6, TS),
      series('request_duration_seconds_bucket', { le: '0.1' }, 0, TS),
      series('request_duration_seconds_bucket', { le: '1' }, 0, TS),
      series('request_duration_seconds_bucket', { le: '+Inf' }, 0, TS),
      series('request_duration_seconds_sum', {}, 0, TS),
      series('request_duration_seconds_count', {}, 0, TS),
    ], 'Request latency.', 'seconds'),
    family('rpc_duration_seconds', 'summary', [
      series('rpc_duration_seconds', { quantile: '0.5', service: NASTY.newline }, 0.012, TS),
      series('rpc_duration_seconds', { quantile: '0.99', service: NASTY.newline }, NaN, TS),
      series('rpc_duration_seconds_sum', { service: NASTY.newline }, 17.5, TS),
      series('rpc_duration_seconds_count', { service: NASTY.newline }, 1200, TS),
    ], 'RPC latency.', 'seconds'),
    family('legacy_value', 'untyped', [
      series('legacy_value', { source: NASTY.backslash }, 42, TS),
      series('legacy_value', { source: 'x' }, -Infinity, TS),
    ], 'Something without a type.'),
  ];
}

const OM_TYPES = new Map<string, string[]>([
  ['counter', ['_total', '_created']],
  ['gauge', ['']],
  ['histogram', ['_bucket', '_sum', '_count', '_created']],
  ['summary', ['', '_sum', '_count', '_created']],
  ['unknown', ['']],
]);
const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const ESCAPED = '(?:[^"\\\\\\n]|\\\\["n\\\\])*';
const LABELS = `\\{(?:[a-zA-Z_][a-zA-Z0-9_]*="${ESCAPED}"(?:,[a-zA-Z_][a-zA-Z0-9_]*="${ESCAPED}")*)?\\}`;
const NUMBER = '(?:[+-]?(?:\\d+(?:\\.\\d*)?(?:[eE][+-]?\\d+)?|\\.\\d+(?:[eE][+-]?\\d+)?)|[+-]?[Ii]nf|NaN)';
const REAL = '[+-]?(?:\\d+(?:\\.\\d*)?(?:[eE][+-]?\\d+)?|\\.\\d+(?:[eE][+-]?\\d+)?)';
const SAMPLE_RE = new RegExp(`^(${NAME})(${LABELS})? (${NUMBER})(?: (${REAL}))?$`);
const META_RE = new RegExp(`^# (TYPE|UNIT|HELP) (${NAME}) (.*)$`);

/**
 * The OpenMetrics 1.0 rules Prometheus' own parser does not enforce: grammar of every line, unique
 * non-interleaved families, counter suffixes, UNIT as a name suffix, one Metric's samples together.
 * Returns one message per problem; [] means valid.
 */
export function openMetricsProblems(text: string): string[] {
  const problems: string[] = [];
  if (!text.endsWith('# EOF\n')) problems.push('does not end with "# EOF\\n"');
  if (text.includes('\r')) problems.push('contains a carriage return');
  const lines = text.split('\n');
  lines.pop(); // after the final \n
  if (lines.pop() !== '# EOF') return problems;

  const seenFamilies = new Set<string>();
  let fam = '';
  let type = 'unknown';
  let meta = new Set<string>();
  let sampled = false;
  let metric = '';
  const seenMetrics = new Set<string>();

  lines.forEach((line, idx) => {
    const at = `line ${idx + 1}`;
    const m = META_RE.exec(line);
    if (m) {
      const [, kw, name, rest] = m;
      if (name !== fam || sampled) {
        if (seenFamilies.has(name)) problems.push(`${at}: family ${name} appears twice`);
        seenFamilies.add(name);
        fam = name;
        type = 'unknown';
        meta = new Set();
        sampled = false;
        seenMetrics.clear();
        metric = '';
      }
      if (meta.has(kw)) problems.push(`${at}: second ${kw} for ${name}`);
      meta.add(kw);
      if (kw === 'TYPE') {
        if (!OM_TYPES.has(rest)) problems.push(`${at}: bad type ${rest}`);
        type = rest;
        if (type === 'counter' && name.endsWith('_total')) problems.push(`${at}: counter family ${name} ends in _total`);
      } else if (kw === 'UNIT') {
        if (!name.endsWith('_' + rest)) problems.push(`${at}: unit ${rest} is not a suffix of ${name}`);
      } else if (!new RegExp(`^${ESCAPED}$`).test(rest)) {
        problems.push(`${at}: HELP is not an escaped string`);
      }
      return;
    }
    const s = SAMPLE_RE.exec(line);
    if (!s) {
      problems.push(`${at}: not a metadata or sample line: ${JSON.stringify(line)}`);
      return;
    }
    const [, name, labels = ''] = s;
    const suffix = name.startsWith(fam) ? name.slice(fam.length) : undefined;
    if (suffix === undefined || !(OM_TYPES.get(type) ?? []).includes(suffix)) {
      problems.push(`${at}: sample ${name} does not belong to ${type} family ${fam}`);
      return;
    }
    sampled = true;
    const key = labels.replace(/([{,])(?:le|quantile)="[^"]*"([,}])/, (_x, a: string, b: string) => (a === '{' ? (b === '}' ? '' : '{') : b));
    if (key !== metric) {
      if (seenMetrics.has(key)) problems.push(`${at}: samples of ${fam}${key} are interleaved with another Metric`);
      seenMetrics.add(key);
      metric = key;
    }
  });
  return problems;
}
