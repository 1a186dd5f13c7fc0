/**
 * The stream's query parameters → a filter and a mode. Pure: throws ValidationError naming the bad
 * parameter (the route turns it into a 400 before the stream starts).
 *
 *   ?name=cpu_usage_user   exact metric name; repeatable (any of them matches)
 *   ?name=gpu_*            prefix: a trailing `*` matches every name that starts with `gpu_`
 *   ?match={host="n1"}     Prometheus series selector (src/query/selector.ts); repeatable, any of
 *                          them matches; `match[]=` is accepted as well
 *   ?source=system|custom  only metrics read from the node, or only pushed ones
 *   ?delta=1               delta mode (first event a snapshot, then changed series only)
 *
 * Different parameters combine with AND. Other parameters are ignored (cache busters).
 */

import { ValidationError } from '../model/names';
import type { Labels, Origin } from '../model/sample';
import { matchesSelector, parseSelector, type Selector } from '../query/selector';

/** What a filter reads of a series (the store's Series fits). */
export interface FilterableSeries {
  readonly name: string;
  readonly origin: Origin;
  /** Parsed on each read: only touched when a selector needs it. */
  readonly labels: Labels;
}

export interface StreamFilter {
  /** Exact names; empty with no prefixes = any name. */
  readonly names: ReadonlySet<string>;
  readonly prefixes: readonly string[];
  readonly selectors: readonly Selector[];
  readonly source: Origin | undefined;
  readonly delta: boolean;
  /**
   * Canonical text of everything above: clients with the same key see the same events, so an
   * event is serialized once per key, whatever the number of clients.
   */
  readonly key: string;
}

export const MAX_NAME_FILTERS = 100;
export const MAX_MATCH_FILTERS = 20;

const NAME_OR_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*\*?$|^\*$/;
const TRUE = new Set(['', '1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

export function parseStreamQuery(q: URLSearchParams): StreamFilter {
  const names = new Set<string>();
  const prefixes = new Set<string>();
  const rawNames = q.getAll('name');
  if (rawNames.length > MAX_NAME_FILTERS) throw new ValidationError(`too many name filters: ${rawNames.length}; the limit is ${MAX_NAME_FILTERS}`);
  for (const n of rawNames) {
    if (!NAME_OR_PREFIX.test(n)) {
      throw new ValidationError(
        n === '' ? 'name filter is empty; give a metric name or a prefix ending in *'
          : `name filter ${JSON.stringify(n)} is not a metric name or a prefix ending in * (letters, digits, _ and :, not starting with a digit; * only at the end)`,
      );
    }
    if (n.endsWith('*')) prefixes.add(n.slice(0, -1));
    else names.add(n);
  }

  const matchTexts = [...q.getAll('match'), ...q.getAll('match[]')];
  if (matchTexts.length > MAX_MATCH_FILTERS) throw new ValidationError(`too many match filters: ${matchTexts.length}; the limit is ${MAX_MATCH_FILTERS}`);
  const selectors: Selector[] = [];
  for (const text of matchTexts) {
    try {
      selectors.push(parseSelector(text));
    } catch (e) {
      if (e instanceof ValidationError) throw new ValidationError(`invalid match selector: ${e.message}`);
      throw e;
    }
  }

  const sources = q.getAll('source');
  if (sources.length > 1) throw new ValidationError('source must be given once');
  let source: Origin | undefined;
  if (sources.length === 1) {
    const s = sources[0].trim().toLowerCase();
    if (s !== 'system' && s !== 'custom') throw new ValidationError(`source must be "system" or "custom", got ${JSON.stringify(sources[0])}`);
    source = s;
  }

  const deltas = q.getAll('delta');
  if (deltas.length > 1) throw new ValidationError('delta must be given once');
  let delta = false;
  if (deltas.length === 1) {
    const d = deltas[0].trim().toLowerCase();
    if (TRUE.has(d)) delta = true;
    else if (!FALSE.has(d)) throw new ValidationError(`delta must be 1/true or 0/false, got ${JSON.stringify(deltas[0])}`);
  }

  // '*' alone (prefix '') matches every name: the same as no name filter.
  if (prefixes.has('')) {
    names.clear();
    prefixes.clear();
  }
  const key = JSON.stringify([delta, source ?? '', [...names].sort(), [...prefixes].sort(), [...new Set(matchTexts.map((t) => t.trim()))].sort()]);
  return { names, prefixes: [...prefixes], selectors, source, delta, key };
}

/** True when the filter lets nothing out: every series passes. */
export function isUnfiltered(f: StreamFilter): boolean {
  return f.names.size === 0 && f.prefixes.length === 0 && f.selectors.length === 0 && f.source === undefined;
}

export function filterMatches(f: StreamFilter, s: FilterableSeries): boolean {
  if (f.source !== undefined && s.origin !== f.source) return false;
  if (f.names.size > 0 || f.prefixes.length > 0) {
    if (!f.names.has(s.name) && !f.prefixes.some((p) => s.name.startsWith(p))) return false;
  }
  if (f.selectors.length > 0) {
    const labels = s.labels;
    if (!f.selectors.some((sel) => matchesSelector(sel, s.name, labels))) return false;
  }
  return true;
}
