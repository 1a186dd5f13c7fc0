/**
 * Reading the store: filters shared by the JSON API, range queries and exposition.
 */

import type { ExpoFamily } from '../formats/prometheus/encode';
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

/** Store families as the exposition encoder wants them, optionally filtered per series. */
export function* expositionFamilies(store: SeriesStore, where?: (s: Series) => boolean): IterableIterator<ExpoFamily> {
  for (const fam of store.allFamilies()) {
    yield {
      name: fam.name,
      type: fam.type,
      help: fam.help,
      unit: fam.unit,
      series: where ? filterFamily(fam, where) : fam.series(),
    };
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
