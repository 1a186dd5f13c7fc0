/**
 * Reading the store: filters shared by the JSON API, range queries and exposition.
 */

import type { ExpoFamily, ExpoSeries } from '../formats/prometheus/encode';
import type { Family, Series, SeriesStore } from '../store/series-store';
import { matchesSelector, type Selector } from './selector';

export interface SeriesFilter {
  /** Exact series name or family name (`latency` also selects `latency_bucket`, …). */
  name?: string;
  selector?: Selector;
  /** Extra predicate, e.g. "reported through the component API". */
  where?: (s: Series) => boolean;
}

export function matches(s: Series, f: SeriesFilter): boolean {
  if (f.name !== undefined && s.name !== f.name && s.family.name !== f.name) return false;
  if (f.selector && !matchesSelector(f.selector, s.name, s.labels)) return false;
  if (f.where && !f.where(s)) return false;
  return true;
}

export function* selectSeries(store: SeriesStore, f: SeriesFilter): IterableIterator<Series> {
  for (const s of store.all()) if (matches(s, f)) yield s;
}

/**
 * Store families as the exposition encoder wants them, optionally filtered per series, following
 * the Prometheus naming conventions promtool lints (docs/api.md, "Prometheus exposition"):
 * - a family without help text gets a generated one (`exposedHelp`);
 * - a counter series whose name lacks `_total` is exposed with it appended (`jobs` → `jobs_total`),
 *   as the OpenMetrics encoder and OTLP ingestion already name counters;
 * - a gauge whose name ends like a counter or a histogram/summary part (`_total`, `_count`, `_sum`,
 *   `_bucket`) or whose series carry an `le` or `quantile` label is declared untyped, name and
 *   value unchanged: the name was the pusher's choice, and no type is better than a wrong one.
 */
export function* expositionFamilies(store: SeriesStore, where?: (s: Series) => boolean): IterableIterator<ExpoFamily> {
  for (const fam of store.allFamilies()) {
    let type = fam.type;
    if (type === 'gauge' && gaugeLooksLikeOther(fam)) type = 'untyped';
    const series: Iterable<ExpoSeries> = where ? filterFamily(fam, where) : fam.series();
    yield {
      name: fam.name,
      type,
      help: fam.help || exposedHelp(fam),
      unit: fam.unit,
      series: type === 'counter' ? counterNames(series) : series,
    };
  }
}

const OTHER_TYPE_SUFFIX = /_(total|count|sum|bucket)$/;

function gaugeLooksLikeOther(fam: Family): boolean {
  if (OTHER_TYPE_SUFFIX.test(fam.name)) return true;
  for (const s of fam.series()) {
    if (s.name !== fam.name && OTHER_TYPE_SUFFIX.test(s.name)) return true;
    const k = s.key;
    if (k.length > s.name.length && (k.includes('le="', s.name.length) || k.includes('quantile="', s.name.length)) && /[{,](le|quantile)="/.test(k.slice(s.name.length))) return true;
  }
  return false;
}

/** The help line of a family its source described with none. */
export function exposedHelp(fam: Family): string {
  const origin = fam.head?.origin === 'system' ? 'system' : 'custom';
  return `${fam.type} ${fam.name} (${origin}): its source gave no help text`;
}

function* counterNames(series: Iterable<ExpoSeries>): IterableIterator<ExpoSeries> {
  for (const s of series) {
    if (s.name.endsWith('_total') || s.name.endsWith('_created')) {
      yield s;
      continue;
    }
    const name = s.name + '_total';
    yield { name, key: name + s.key.slice(s.name.length), value: s.value, timestampMs: s.timestampMs };
  }
}

function* filterFamily(fam: Family, where: (s: Series) => boolean): IterableIterator<Series> {
  for (const s of fam.series()) if (where(s)) yield s;
}

export interface RangeSeries {
  series: Series;
  points: Array<[number, number]>;
}

/**
 * Points of each matching series within [startMs, endMs]. With a step, one point per step
 * boundary: the newest point in (t − step, t], none when that window is empty.
 */
export function rangeQuery(store: SeriesStore, f: SeriesFilter, startMs: number, endMs: number, stepMs?: number): RangeSeries[] {
  const out: RangeSeries[] = [];
  for (const s of selectSeries(store, f)) {
    let points: Array<[number, number]>;
    if (!stepMs) {
      points = s.points(startMs, endMs);
    } else {
      const all = s.points(startMs - stepMs, endMs);
      points = [];
      let i = 0;
      for (let t = startMs; t <= endMs; t += stepMs) {
        while (i < all.length && all[i][0] <= t) i++;
        const last = all[i - 1];
        if (last && last[0] > t - stepMs) points.push([t, last[1]]);
      }
    }
    if (points.length > 0) out.push({ series: s, points });
  }
  return out;
}
