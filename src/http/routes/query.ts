/**
 * Reading back: JSON views of the store, range queries from the history rings, deletion, and
 * Prometheus exposition of custom metrics.
 */

import { COMPONENT_NAME_LABEL } from '../../formats/component-report/parse';
import { formatValue, OPENMETRICS_CONTENT_TYPE, openMetricsSteps, TEXT_CONTENT_TYPE, textSteps } from '../../formats/prometheus/encode';
import { ValidationError } from '../../model/names';
import { compactKey } from '../../model/series-key';
import { expositionFamilies, matches, rangeQuery, selectSeries, type SeriesFilter } from '../../query/series-query';
import { parseSelector } from '../../query/selector';
import type { Series } from '../../store/series-store';
import type { AppContext } from '../context';
import { badRequest } from '../errors';
import { ANSWER_SLICE, eachInSlices, joinInSlices, OneAtATime, runInSlices } from '../large-answers';
import { JSON_CONTENT_TYPE, sendBody, sendJson, type PlainResponse, type RouteHandlers } from '../respond';

/** One series in the reference's MetricData shape (timestamp in seconds), plus its type. */
export function metricData(s: Series): Record<string, unknown> {
  const d: Record<string, unknown> = {
    name: s.name,
    fields: { value: jsonNumber(s.value) },
    tags: s.labels,
    timestamp: s.timestampMs / 1000,
    type: s.type,
  };
  if (s.family.help) d.help = s.family.help;
  if (s.family.unit) d.unit = s.family.unit;
  return d;
}

/** JSON has no NaN/Infinity: send them as the strings Prometheus uses. */
export function jsonNumber(v: number): number | string {
  return Number.isFinite(v) ? v : formatValue(v);
}

function singleParam(query: URLSearchParams, name: string): string | undefined {
  const all = query.getAll(name);
  if (all.length === 0) return undefined;
  if (all.length > 1) throw badRequest(`query parameter ${name} must be given once`);
  return all[0];
}

/** ?name= and ?match= into a filter; a bad selector is a 400 naming the problem. */
function filterFrom(query: URLSearchParams): SeriesFilter {
  const f: SeriesFilter = {};
  const name = singleParam(query, 'name');
  if (name) f.name = name;
  const match = singleParam(query, 'match') ?? singleParam(query, 'match[]');
  if (match) {
    try {
      f.selector = parseSelector(match);
    } catch (e) {
      if (e instanceof ValidationError) throw badRequest(`invalid match selector: ${e.message}`);
      throw e;
    }
  }
  return f;
}

/** Unix seconds (fractional) or RFC 3339 → ms. */
function timeParam(query: URLSearchParams, name: string, fallbackMs: number): number {
  const v = singleParam(query, name);
  if (v === undefined || v === '') return fallbackMs;
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw badRequest(`${name} must be unix seconds or an RFC 3339 time, got ${JSON.stringify(v)}`);
  return t;
}

const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `15`, `15.5` (seconds) or `15s`, `1m`, `500ms`. */
function durationParam(query: URLSearchParams, name: string): number | undefined {
  const v = singleParam(query, name);
  if (v === undefined || v === '') return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(v);
  if (!m || Number(m[1]) <= 0) throw badRequest(`${name} must be a positive number of seconds or a duration like 15s, got ${JSON.stringify(v)}`);
  return Number(m[1]) * DURATION_MS[m[2] ?? 's'];
}

const MAX_POINTS_PER_SERIES = 11_000;

/**
 * `?limit=N`: at most N series in the answer (a client that wants one series' type and unit need
 * not take a whole family); undefined when absent.
 */
function limitParam(query: URLSearchParams): number | undefined {
  const v = singleParam(query, 'limit');
  if (v === undefined) return undefined;
  if (!/^[1-9]\d{0,8}$/.test(v)) throw badRequest(`limit must be a positive integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** The first `limit` series the filter selects, and whether more were left out. */
function selectLimited(ctx: AppContext, query: URLSearchParams): { series: Series[]; truncated: boolean } {
  const limit = limitParam(query) ?? Infinity;
  const series: Series[] = [];
  for (const s of selectSeries(ctx.store, filterFrom(query))) {
    if (series.length === limit) return { series, truncated: true };
    series.push(s);
  }
  return { series, truncated: false };
}

export function queryRoutes(ctx: AppContext): RouteHandlers {
  const large = new OneAtATime();
  ctx.metrics.watchLargeAnswers(large, ANSWER_SLICE);
  /**
   * Sends the text `text()` makes of `size` series (JSON unless `type` says otherwise): at once when
   * small; else one large answer at a time (src/http/large-answers.ts; `text` then works in
   * slices), the lock held until the text is built and the answer sent or the client gone. Not
   * released when the client goes mid-build: a client that asks and hangs up, again and again,
   * would start a build beside each unfinished one.
   */
  const answer = async (res: PlainResponse, size: number, text: () => Promise<string>, type = JSON_CONTENT_TYPE) => {
    if (size <= ANSWER_SLICE) return sendBody(res, 200, type, await text());
    const release = await large.acquire();
    let built = false;
    let closed = res.destroyed;
    const done = () => {
      if (built && closed) release();
    };
    res.once('close', () => {
      closed = true;
      done();
    });
    try {
      if (!closed) sendBody(res, 200, type, await text());
    } finally {
      built = true;
      done();
    }
  };

  const list = (res: PlainResponse, query: URLSearchParams) => {
    const { series, truncated } = selectLimited(ctx, query);
    return answer(res, series.length, async () => {
      const items = await joinInSlices(series, (s) => JSON.stringify(metricData(s)));
      return `{"metrics":[${items}],"count":${series.length}${truncated ? ',"truncated":true' : ''}}`;
    });
  };

  const latest = (res: PlainResponse, query: URLSearchParams) => {
    const { series, truncated } = selectLimited(ctx, query);
    return answer(res, series.length, async () => {
      // Keyed as an object would be: a later series with the same compact key takes the earlier one's place.
      const byKey = new Map<string, Series>();
      await eachInSlices(series, (s) => byKey.set(compactKey(s.name, s.labels), s));
      const items = await joinInSlices(byKey, ([key, s]) => `${JSON.stringify(key)}:${JSON.stringify(metricData(s))}`);
      return `{"metrics":{${items}}${truncated ? ',"truncated":true' : ''}}`;
    });
  };

  const names = () => {
    const all = ctx.store.names();
    return { names: all, count: all.length };
  };

  const clear = (query: URLSearchParams) => {
    const name = singleParam(query, 'name');
    if (name === '') throw badRequest('name must not be empty; omit it to delete every custom metric');
    const f = filterFrom(query);
    // Custom series only, as the reference documents: the node's own metrics are not the client's to clear.
    const cleared = ctx.hub.deleteSeries('custom', f.name || f.selector ? (s) => matches(s, f) : () => true);
    return { cleared, message: `Cleared ${cleared} metrics` };
  };

  const queryRange = (query: URLSearchParams) => {
    const f = filterFrom(query);
    if (!f.name && !f.selector) throw badRequest('name or match is required');
    const now = ctx.now();
    const end = timeParam(query, 'end', now);
    const cfg = ctx.config.get();
    const start = timeParam(query, 'start', end - (cfg.historySeconds || cfg.retentionSeconds) * 1000);
    if (start > end) throw badRequest('start must not be after end');
    const step = durationParam(query, 'step');
    if (step && (end - start) / step > MAX_POINTS_PER_SERIES) {
      throw badRequest(`too many points per series: (end - start) / step exceeds ${MAX_POINTS_PER_SERIES}; use a larger step`);
    }
    const result = rangeQuery(ctx.store, f, start, end, step).map(({ series, points }) => ({
      metric: { __name__: series.name, ...series.labels },
      values: points.map(([t, v]) => [t / 1000, formatValue(v)]),
    }));
    return { status: 'success', data: { resultType: 'matrix', result } };
  };

  /**
   * Prometheus exposition (OpenMetrics when asked for) of the store's series, or of those `where`
   * keeps: a large answer like the JSON lists, sized by the whole store (the bound holds before
   * the filter has run). Prometheus and its peers scrape one at a time per target.
   */
  const expose = (accept: string | undefined, res: PlainResponse, where?: (s: Series) => boolean) => {
    const om = (accept ?? '').includes('application/openmetrics-text');
    return answer(
      res,
      ctx.store.size,
      () => runInSlices((om ? openMetricsSteps : textSteps)(expositionFamilies(ctx.store, where), {}, ANSWER_SLICE)),
      om ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE,
    );
  };

  // Component report API: read back what components reported.
  const reported = (s: Series) => COMPONENT_NAME_LABEL in s.labels;

  const components = (query: URLSearchParams) => {
    const component = singleParam(query, 'component_name');
    const metricName = singleParam(query, 'metric_name');
    const metrics = [];
    for (const s of selectSeries(ctx.store, { where: reported })) {
      if (component && s.labels[COMPONENT_NAME_LABEL] !== component) continue;
      if (metricName && !s.name.includes(metricName)) continue;
      metrics.push({
        component_name: s.labels[COMPONENT_NAME_LABEL],
        metric_name: s.name,
        metric_type: s.type,
        metric_value: jsonNumber(s.value),
        labels: s.labels,
        help_text: s.family.help ?? null,
        unit: s.family.unit ?? null,
        timestamp: new Date(s.timestampMs).toISOString(),
      });
    }
    return { metrics, count: metrics.length };
  };

  return [
    ['GET /api/v1/metrics', (_req, res, query) => list(res, query)],
    ['GET /api/v1/metrics/latest', (_req, res, query) => latest(res, query)],
    ['GET /api/v1/metrics/names', (_req, res) => sendJson(res, 200, names())],
    ['DELETE /api/v1/metrics', (_req, res, query) => sendJson(res, 200, clear(query))],
    ['GET /api/v1/query_range', (_req, res, query) => sendJson(res, 200, queryRange(query))],
    ['GET /metrics', (req, res) => expose(req.headers.accept, res)],
    ['GET /api/metrics/prometheus', (req, res) => expose(req.headers.accept, res, reported)],
    ['GET /api/metrics/query', (_req, res, query) => sendJson(res, 200, components(query))],
    ['GET /metrics/self', (_req, res) => sendBody(res, 200, ctx.metrics.registry.contentType, ctx.metrics.registry.metrics())],
  ];
}
