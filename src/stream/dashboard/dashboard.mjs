// @ts-check
/**
 * metrics-manager live dashboard: one ES module, no dependencies, no build step.
 *
 * Data flow: an EventSource on `metrics/stream` (delta mode: a full snapshot, then only changed
 * series) feeds a Map of series keyed by `name{labels}`. Nothing touches the DOM while events
 * arrive; one requestAnimationFrame pass applies everything that changed since the last frame.
 * The table is virtualised: only the rows in view (plus a margin) exist, recycled as you scroll,
 * so ten thousand series cost as much DOM as fifty. Sparklines are seeded from
 * `api/v1/query_range` (batched by name, only for series that have been on screen) and extended
 * by live values, capped at SPARK_POINTS points per series.
 *
 * Security: metric names and label values are attacker-controlled. They reach the DOM only
 * through textContent and setAttribute on safe attributes (title, class, SVG geometry). There is
 * no innerHTML, no inline handler and no inline style attribute anywhere; the page's CSP forbids
 * them and enforces Trusted Types.
 *
 * URLs: everything is resolved against this module's own URL (…/dashboard/assets/dashboard.mjs →
 * the mount root two levels up), so the page works at /dashboard, at /metrics/stream and behind
 * any path prefix.
 *
 * The helpers above `start()` are pure and exported for unit tests.
 */

import { createSections, formatUnit, formatWhen, unitFor, whenIdle } from './sections.mjs';

/** Points kept per series for its sparkline. */
export const SPARK_POINTS = 60;
/** Series tracked at most; past it new series are counted, not shown (narrow with ?name=). */
export const MAX_SERIES = 20000;
/** Longest selector the agent accepts is 4096 characters; stay under it when batching names. */
const MAX_SEED_SELECTOR = 3500;

const NO_LABELS = Object.freeze(/** @type {Record<string, string>} */ ({}));
/** @type {ReadonlySet<never>} */
const NO_SERIES = new Set();

// ---------------------------------------------------------------------------------------------
// Pure helpers

/** A value as sent by the agent: a number, or "NaN" / "+Inf" / "-Inf" (JSON has no such numbers). */
export function parseValue(/** @type {unknown} */ v) {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return NaN;
  switch (v) {
    case '+Inf': case 'Inf': case '+Infinity': case 'Infinity': return Infinity;
    case '-Inf': case '-Infinity': return -Infinity;
    case 'NaN': return NaN;
    default: return v.trim() === '' ? NaN : Number(v);
  }
}

/**
 * A plain copy of a labels object with string values, without prototype, sorted by name.
 * @param {unknown} labels
 * @returns {Record<string, string>}
 */
export function cleanLabels(labels) {
  if (!labels || typeof labels !== 'object') return NO_LABELS;
  const rec = /** @type {Record<string, unknown>} */ (labels);
  const names = Object.keys(rec);
  if (names.length === 0) return NO_LABELS;
  // As the agent sends them (sorted, string values), one spread copies them: several times faster
  // than sorting and assigning, which a snapshot of thousands of series pays on the first screen.
  let plain = true;
  for (let i = 0; plain && i < names.length; i++) plain = typeof rec[names[i]] === 'string' && (i === 0 || names[i - 1] < names[i]);
  if (plain) return /** @type {Record<string, string>} */ ({ __proto__: null, ...rec });
  names.sort();
  /** @type {Record<string, string>} */
  const out = Object.create(null);
  for (const k of names) out[k] = String(rec[k]);
  return out;
}

/** The identity of a series: name plus sorted labels (values JSON-quoted, so nothing collides). */
export function seriesKey(/** @type {string} */ name, /** @type {Record<string, string>} */ labels) {
  let s = name + '{';
  for (const k of Object.keys(labels).sort()) s += k + '=' + JSON.stringify(labels[k]) + ',';
  return s + '}';
}

/**
 * The series key of an item's raw labels, as `seriesKey(name, cleanLabels(labels))` gives it, but
 * without copying or sorting when the labels arrive sorted with string values (the agent sends
 * them so): every update of a known series is looked up through this, so none of them re-sorts.
 * @param {string} name @param {unknown} labels
 */
export function itemKey(name, labels) {
  if (!labels || typeof labels !== 'object') return name + '{}';
  const rec = /** @type {Record<string, unknown>} */ (labels);
  let s = name + '{';
  let prev = '';
  let first = true;
  for (const k in rec) {
    if (!Object.prototype.hasOwnProperty.call(rec, k)) continue;
    const v = rec[k];
    if (typeof v !== 'string' || (!first && !(prev < k))) return seriesKey(name, cleanLabels(labels));
    s += k + '=' + JSON.stringify(v) + ',';
    prev = k;
    first = false;
  }
  return s + '}';
}

/** `k=v, k2=v2`, for display, sorting and filtering. */
export function labelText(/** @type {Record<string, string>} */ labels) {
  let s = '';
  for (const k in labels) s += (s === '' ? '' : ', ') + k + '=' + labels[k];
  return s;
}

/**
 * The filter box: whitespace-separated terms, all of which must occur (case-insensitive) in
 * `name {labels}`; a term starting with `-` must not occur.
 * @param {string} text
 */
export function parseFilter(text) {
  /** @type {string[]} */ const include = [];
  /** @type {string[]} */ const exclude = [];
  for (const term of text.toLowerCase().split(/\s+/)) {
    if (term === '' || term === '-') continue;
    if (term.startsWith('-')) exclude.push(term.slice(1));
    else include.push(term);
  }
  return { include, exclude, empty: include.length === 0 && exclude.length === 0 };
}

/** @param {string} haystack lower-case `name {labels}` @param {ReturnType<typeof parseFilter>} f */
export function matchesFilter(haystack, f) {
  for (const t of f.include) if (!haystack.includes(t)) return false;
  for (const t of f.exclude) if (haystack.includes(t)) return false;
  return true;
}

/** Display unit from the metric name (Telegraf and Prometheus naming conventions). */
export function unitOf(/** @type {string} */ name) {
  if (/_bytes(_total)?$/.test(name)) return 'bytes';
  if (/_percent$|^cpu_usage_|_usage_usage$|^npu_utilization$/.test(name)) return '%';
  if (/_celsius$|^npu_temperature$|^temp_temp$/.test(name)) return '°C';
  if (/_watts$|^gpu_power$|^npu_power$/.test(name)) return 'W';
  if (/_joules(_total)?$/.test(name)) return 'J';
  if (/_seconds(_total)?$/.test(name)) return 's';
  if (/_hertz$/.test(name)) return 'Hz';
  if (/_rpm$/.test(name)) return 'rpm';
  return '';
}

// Formatters made once, not looked up again for every number shown.
const INT_FMT = new Intl.NumberFormat('en-US');
const ONE_DECIMAL_FMT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

const SI = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
const IEC = [[2 ** 50, 'Pi'], [2 ** 40, 'Ti'], [2 ** 30, 'Gi'], [2 ** 20, 'Mi'], [2 ** 10, 'Ki']];

/** A number in at most ~6 visible characters of precision, without exponent noise for common values. */
export function formatNumber(/** @type {number} */ v) {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e15 || a < 1e-4) return v.toExponential(2);
  if (a >= 1e6) {
    for (const [f, s] of SI) if (a >= /** @type {number} */ (f)) return trim((v / /** @type {number} */ (f)).toFixed(2)) + s;
  }
  if (Number.isInteger(v)) return INT_FMT.format(v);
  if (a >= 1000) return ONE_DECIMAL_FMT.format(v);
  if (a >= 1) return trim(v.toFixed(2));
  return trim(v.toPrecision(3));
}

function trim(/** @type {string} */ s) {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/**
 * Value and unit for display: the unit from the agent's metadata when known, else the name's
 * suffix (sections.mjs `unitFor`); bytes in IEC units, Hz with SI prefixes.
 * @returns {{ text: string, unit: string }}
 */
export function formatValue(/** @type {number} */ v, /** @type {string} */ name, /** @type {string} */ reported = '') {
  return formatUnit(v, unitFor(name, reported));
}

/** Age of a value, compact: `now`, `12s`, `4m`, `3h`, `2d`. */
export function formatAge(/** @type {number} */ ms) {
  if (!Number.isFinite(ms) || ms < 1500) return 'now';
  const s = Math.floor(ms / 1000);
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm';
  if (s < 86400) return Math.floor(s / 3600) + 'h';
  return Math.floor(s / 86400) + 'd';
}

/**
 * @typedef {{ t: number[], v: number[] }} Ring  sample times (ms) and values, oldest first
 */

/** Appends a point, replacing one with the same time and ignoring older ones; keeps `cap` points. */
export function pushPoint(/** @type {Ring} */ ring, /** @type {number} */ t, /** @type {number} */ v, cap = SPARK_POINTS) {
  const n = ring.t.length;
  if (n > 0) {
    const last = ring.t[n - 1];
    if (t < last) return;
    if (t === last) {
      ring.v[n - 1] = v;
      return;
    }
  }
  ring.t.push(t);
  ring.v.push(v);
  if (ring.t.length > cap) {
    ring.t.splice(0, ring.t.length - cap);
    ring.v.splice(0, ring.v.length - cap);
  }
}

/** Puts history (oldest first) in front of the live points it predates; keeps the newest `cap`. */
export function mergeHistory(/** @type {Ring} */ ring, /** @type {Array<[number, number]>} */ points, cap = SPARK_POINTS) {
  const first = ring.t.length > 0 ? ring.t[0] : Infinity;
  const older = points.filter(([t]) => t < first);
  if (older.length === 0) return;
  ring.t.unshift(...older.map((p) => p[0]));
  ring.v.unshift(...older.map((p) => p[1]));
  if (ring.t.length > cap) {
    ring.t.splice(0, ring.t.length - cap);
    ring.v.splice(0, ring.v.length - cap);
  }
}

/**
 * SVG path data for a sparkline in a `width`×`height` box: the line, and the area under it.
 * x follows time; non-finite values break the line. A flat series sits in the middle.
 * @param {Ring} ring
 * @param {(v: number) => number} [map] value transform (e.g. 100 − idle)
 * @param {{ min?: number, max?: number }} [range] fixed bounds (e.g. 0–100 for percentages)
 */
export function sparkPath(ring, width, height, map = (v) => v, range = {}) {
  const n = ring.t.length;
  if (n === 0) return { line: '', area: '' };
  let lo = Infinity;
  let hi = -Infinity;
  const vs = new Array(n);
  for (let i = 0; i < n; i++) {
    const v = map(ring.v[i]);
    vs[i] = v;
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (lo === Infinity) return { line: '', area: '' };
  if (range.min !== undefined) lo = Math.min(lo, range.min);
  if (range.max !== undefined) hi = Math.max(hi, range.max);
  const t0 = ring.t[0];
  const span = ring.t[n - 1] - t0;
  const pad = 1.5;
  const h = height - 2 * pad;
  const x = (/** @type {number} */ i) => (span > 0 ? ((ring.t[i] - t0) / span) * width : n > 1 ? (i / (n - 1)) * width : width);
  const y = (/** @type {number} */ v) => (hi > lo ? pad + h - ((v - lo) / (hi - lo)) * h : height / 2);
  let line = '';
  let area = '';
  /** @type {number | undefined} */ let runStart;
  let prevX = 0;
  const close = () => {
    if (runStart !== undefined) area += `L${prevX.toFixed(1)} ${height}L${runStart.toFixed(1)} ${height}Z`;
    runStart = undefined;
  };
  for (let i = 0; i < n; i++) {
    const v = vs[i];
    if (!Number.isFinite(v)) {
      close();
      continue;
    }
    const px = x(i);
    const py = y(v).toFixed(1);
    const pxs = px.toFixed(1);
    if (runStart === undefined) {
      runStart = px;
      line += `M${pxs} ${py}`;
      area += `M${pxs} ${height}L${pxs} ${py}`;
      // A single point: draw a short dash so it is visible.
      if (i === n - 1 || !Number.isFinite(vs[i + 1])) line += `h0.01`;
    } else {
      line += `L${pxs} ${py}`;
      area += `L${pxs} ${py}`;
    }
    prevX = px;
  }
  close();
  return { line, area };
}

/** Sort comparators; `labelStr` and `name` break ties so the order is stable. */
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/**
 * @typedef {{
 *   key: string, name: string, labels: Record<string, string>, labelStr: string, haystack: string,
 *   value: number, ts: number, seenAt: number, changedAt: number, flash: boolean, ring: Ring, gen: number,
 *   seed: number, tile: string | undefined,
 * }} Entry
 */

/**
 * Merges two arrays sorted by `cmp` into a new one; on ties `a`'s element comes first.
 * @template T @param {T[]} a @param {T[]} b @param {(x: T, y: T) => number} cmp @returns {T[]}
 */
export function mergeSorted(a, b, cmp) {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = cmp(b[j], a[i]) < 0 ? b[j++] : a[i++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}

/** @param {'name'|'labels'|'value'|'age'} key @param {1|-1} dir */
export function comparator(key, dir) {
  // Most neighbours share a name (a family of series): equal names skip the collator.
  const byName = (/** @type {Entry} */ a, /** @type {Entry} */ b) => (a.name === b.name ? 0 : collator.compare(a.name, b.name)) || collator.compare(a.labelStr, b.labelStr);
  switch (key) {
    case 'labels':
      return (/** @type {Entry} */ a, /** @type {Entry} */ b) => dir * (collator.compare(a.labelStr, b.labelStr) || collator.compare(a.name, b.name));
    case 'value':
      return (/** @type {Entry} */ a, /** @type {Entry} */ b) => {
        const an = Number.isNaN(a.value);
        const bn = Number.isNaN(b.value);
        if (an || bn) return an === bn ? byName(a, b) : an ? 1 : -1; // NaN last either way
        return a.value === b.value ? byName(a, b) : dir * (a.value < b.value ? -1 : 1);
      };
    case 'age': // ascending age = newest first
      return (/** @type {Entry} */ a, /** @type {Entry} */ b) => (a.ts === b.ts ? byName(a, b) : dir * (b.ts - a.ts));
    default:
      return (/** @type {Entry} */ a, /** @type {Entry} */ b) => dir * byName(a, b);
  }
}

/**
 * The stream URL: `metrics/stream` under `root`, delta mode, with the page's own server-side
 * filters (?name=, ?match=, ?source=) passed through.
 */
export function streamUrl(/** @type {URL} */ root, /** @type {string} */ pageSearch) {
  const url = new URL('metrics/stream', root);
  const page = new URLSearchParams(pageSearch);
  for (const p of ['name', 'match', 'source']) for (const v of page.getAll(p)) url.searchParams.append(p, v);
  url.searchParams.set('delta', '1');
  return url;
}

const METRIC_NAME = /^[A-Za-z_:][A-Za-z0-9_:]*$/;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `{__name__=~"a|b"}` for a batch of metric names, or undefined when a name cannot be put in one. */
export function nameSelector(/** @type {string[]} */ names) {
  if (names.length === 0 || names.some((n) => !METRIC_NAME.test(n))) return undefined;
  return `{__name__=~"${names.join('|')}"}`;
}

/** A label value as an exact regex alternative inside a raw (backquoted) selector string. */
function regexLiteral(/** @type {string} */ v) {
  return v.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * Plans one history request (`api/v1/query_range?match=…`) for series waiting for their sparkline.
 * Names with few series are asked for together, by name. A name with many series (more than
 * `wide`) is asked for alone and narrowed by its most selective label, so seeding the rows on
 * screen does not fetch the history of thousands of others.
 *
 * @param {Array<{ name: string, labels: Record<string, string> }>} wanted waiting series, in order
 * @param {(name: string) => ReadonlySet<{ labels: Record<string, string> }>} seriesOf every known series of a name
 * @returns {{ selector: string | undefined, covers: Set<object> }} the selector (undefined: these
 *   series cannot be asked for, give up on them) and which of `wanted` it covers
 */
export function planSeed(wanted, seriesOf, maxLength = MAX_SEED_SELECTOR, wide = 50) {
  /** @type {Set<object>} */
  const covers = new Set();
  if (wanted.length === 0) return { selector: undefined, covers };
  const first = wanted[0];
  const family = seriesOf(first.name);
  if (!METRIC_NAME.test(first.name)) {
    covers.add(first);
    return { selector: undefined, covers };
  }
  if (family.size > wide) {
    // The label with the most distinct values across the name's series tells them apart best.
    /** @type {Map<string, Set<string>>} */
    const distinct = new Map();
    for (const s of family) {
      for (const k of Object.keys(s.labels)) {
        let set = distinct.get(k);
        if (!set) distinct.set(k, (set = new Set()));
        set.add(s.labels[k]);
      }
    }
    let key = '';
    let best = 0;
    for (const [k, set] of distinct) if (set.size > best && LABEL_NAME.test(k)) [key, best] = [k, set.size];
    if (key !== '') {
      const head = `{__name__="${first.name}",${key}=~\``;
      /** @type {Set<string>} */
      const values = new Set();
      let len = head.length + 2;
      for (const w of wanted) {
        if (w.name !== first.name) continue;
        const v = w.labels[key] ?? '';
        if (v.includes('`')) {
          covers.add(w); // cannot be written in a raw string: no history for this one
          continue;
        }
        const lit = regexLiteral(v);
        if (!values.has(lit)) {
          if (len + lit.length + 1 > maxLength && values.size > 0) break;
          values.add(lit);
          len += lit.length + 1;
        }
        covers.add(w);
      }
      if (values.size === 0) return { selector: undefined, covers };
      return { selector: head + [...values].join('|') + '`}', covers };
    }
  }
  // Small names: as many as fit, by name.
  /** @type {string[]} */
  const names = [];
  let len = 20;
  for (const w of wanted) {
    if (!METRIC_NAME.test(w.name) || seriesOf(w.name).size > wide) continue;
    if (!names.includes(w.name)) {
      if (len + w.name.length + 1 > maxLength && names.length > 0) break;
      names.push(w.name);
      len += w.name.length + 1;
    }
    covers.add(w);
  }
  if (names.length === 0) {
    covers.add(first);
    return { selector: undefined, covers };
  }
  return { selector: nameSelector(names), covers };
}

/** Percent level of a tile: ok below 70, warn below 90, crit from 90. */
export function level(/** @type {number} */ pct) {
  if (!Number.isFinite(pct)) return 'none';
  return pct >= 90 ? 'crit' : pct >= 70 ? 'warn' : 'ok';
}

// ---------------------------------------------------------------------------------------------
// Summary tiles: which series feed which tile

/**
 * @typedef {{ tile: string, role: string, order: number, kind: string, title: string }} TileRole
 */

/** Classifies a system series into a summary tile and its role there, or undefined. */
export function tileRole(/** @type {string} */ name, /** @type {Record<string, string>} */ labels) {
  switch (name) {
    case 'cpu_usage_idle':
      if (labels.cpu === 'cpu-total') return { tile: 'cpu', role: 'idle', order: 0, kind: 'cpu', title: 'CPU' };
      if (/^cpu\d+$/.test(labels.cpu ?? '')) return { tile: 'cpu', role: 'core', order: 0, kind: 'cpu', title: 'CPU' };
      return undefined;
    case 'mem_used_percent': return { tile: 'mem', role: 'pct', order: 1, kind: 'mem', title: 'Memory' };
    case 'mem_used': return { tile: 'mem', role: 'used', order: 1, kind: 'mem', title: 'Memory' };
    case 'mem_total': return { tile: 'mem', role: 'total', order: 1, kind: 'mem', title: 'Memory' };
  }
  if (name.startsWith('gpu_') && labels.gpu_id !== undefined) {
    const role = {
      gpu_busy_ratio: 'busy', gpu_engine_usage_usage: 'engine', gpu_power: 'power', gpu_temperature_celsius: 'temp',
      gpu_memory_used_bytes: 'memUsed', gpu_memory_total_bytes: 'memTotal', gpu_frequency: 'freq',
    }[name];
    if (!role) return undefined;
    if (role === 'freq' && labels.type !== 'act_freq') return undefined;
    return { tile: 'gpu:' + labels.gpu_id, role, order: 2, kind: 'gpu', title: 'GPU ' + labels.gpu_id };
  }
  if (name.startsWith('nvidia_gpu_') && labels.gpu !== undefined) {
    const role = {
      nvidia_gpu_utilization_ratio: 'busy', nvidia_gpu_power_watts: 'power', nvidia_gpu_temperature_celsius: 'temp',
      nvidia_gpu_memory_used_bytes: 'memUsed', nvidia_gpu_memory_total_bytes: 'memTotal',
    }[name];
    if (!role) return undefined;
    return { tile: 'nvidia:' + labels.gpu, role, order: 3, kind: 'gpu', title: 'GPU ' + labels.gpu };
  }
  if (name.startsWith('npu_')) {
    const role = {
      npu_utilization: 'busy', npu_power: 'power', npu_temperature: 'temp', npu_frequency_current_hertz: 'freq', npu_info: 'info',
    }[name];
    if (!role) return undefined;
    // The collector reports one NPU per node, without an id label (npu_info carries pci_slot).
    return { tile: 'npu', role, order: 4, kind: 'npu', title: 'NPU' };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The page

/** @template {HTMLElement} T @param {string} id @returns {T} */
function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`dashboard: #${id} missing`);
  return /** @type {T} */ (el);
}

/** @param {string} tag @param {string} [cls] @param {string} [text] */
function h(tag, cls, text) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text !== undefined) el.textContent = text;
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An inline SVG sparkline: `<svg><path class=area/><path class=line/></svg>`. */
function sparkSvg(/** @type {string} */ cls, /** @type {number} */ w, /** @type {number} */ hgt) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('class', cls);
  svg.setAttribute('viewBox', `0 0 ${w} ${hgt}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('aria-hidden', 'true');
  const area = document.createElementNS(SVG_NS, 'path');
  area.setAttribute('class', 'area');
  const line = document.createElementNS(SVG_NS, 'path');
  line.setAttribute('class', 'line');
  line.setAttribute('vector-effect', 'non-scaling-stroke');
  svg.append(area, line);
  return { svg, area, line };
}

/** Sets text only when it changed (cheap to call every frame). */
function setText(/** @type {Element} */ el, /** @type {string} */ text) {
  if (el.textContent !== text) el.textContent = text;
}

const ROW_SPARK_W = 120;
const ROW_SPARK_H = 22;
const TILE_SPARK_W = 200;
const TILE_SPARK_H = 40;

/**
 * The stream the page's inline script opened, with the events that came before this module ran;
 * taken once. Undefined when there is none, it is closed, or its URL is not `href` (then it is
 * closed, so the page keeps one connection).
 * @param {string} href
 * @returns {{ source: EventSource, events: Event[] } | undefined}
 */
function takeEarlyStream(href) {
  const w = /** @type {any} */ (window);
  const early = w.mmEarlyStream;
  w.mmEarlyStream = undefined;
  if (!early || !(early.source instanceof EventSource) || !Array.isArray(early.events)) return undefined;
  if (early.source.url !== href || early.source.readyState === EventSource.CLOSED) {
    early.source.close();
    return undefined;
  }
  early.source.onopen = early.source.onmessage = early.source.onerror = null;
  return { source: early.source, events: early.events };
}

/** A User Timing mark (shows in traces and performance.getEntriesByType('mark')); for the bench. */
const mark = (/** @type {string} */ name) => {
  if (typeof performance !== 'undefined' && typeof performance.mark === 'function') performance.mark(name);
};

function start() {
  mark('mm:start');
  // The mount root, from this module's URL: <root>/dashboard/assets/dashboard.mjs.
  const root = new URL('../../', import.meta.url);

  const el = {
    host: byId('host'),
    statSeries: byId('stat-series'),
    statRate: byId('stat-rate'),
    conn: byId('conn'),
    connLabel: byId('conn-label'),
    connDetail: byId('conn-detail'),
    tiles: byId('tiles'),
    filter: /** @type {HTMLInputElement} */ (byId('filter')),
    shown: byId('shown'),
    pause: byId('pause'),
    scroller: byId('scroller'),
    table: byId('series'),
    rows: byId('rows'),
    empty: byId('empty'),
  };

  // ---- state
  /** @type {Map<string, Entry>} */
  const entries = new Map();
  /** @type {Entry[]} the filtered, sorted rows */
  let view = [];
  let filter = parseFilter('');
  /** @type {'name'|'labels'|'value'|'age'} */
  let sortKey = 'name';
  /** @type {1|-1} */
  let sortDir = 1;
  let paused = false;
  let seriesLimitHit = false;
  let structureDirty = true; // series added/removed, filter or sort changed
  /** Series added since the view was last rebuilt (merged in when nothing else changed). */
  /** @type {Entry[]} */
  let added = [];
  let fullRebuild = true; // series removed, filter or sort changed: sort all again
  let orderDirty = false; // values changed while sorting by value or age
  let lastRebuild = 0;
  let rowsDirty = true;
  let tilesDirty = false;
  let frameRequested = false;
  let rebuildDeferred = false;
  let clockOffsetMs = 0; // server clock − browser clock, from event timestamps
  let retentionMs = 3600_000;
  let nodeHost = '';
  /** Updates applied per second, over the last few seconds. */
  const rateWindow = [0, 0, 0, 0, 0];
  let rateNow = 0;

  const serverNow = () => Date.now() + clockOffsetMs;

  // The sections (charts) read the same series map; they sample it once a second.
  const sections = createSections({ container: byId('sections'), entries, root, serverNow: () => serverNow(), nodeHost: () => nodeHost });
  let sectionsDirty = true;
  let sectionsAt = 0;
  const tickSections = () => {
    if (sectionsDirty) {
      sectionsDirty = false;
      sections.reindex();
    }
    sectionsAt = performance.now();
    sections.tick();
    if (!sectionsMarked && entries.size > 0) {
      sectionsMarked = true;
      mark('mm:sections');
    }
  };
  let sectionsMarked = false;
  let sectionsDeferred = false;

  // ---- hash state: #q=…&sort=value&dir=desc (bookmarkable, stays on the client)
  const readHash = () => {
    const p = new URLSearchParams(location.hash.slice(1));
    const q = p.get('q') ?? '';
    el.filter.value = q;
    filter = parseFilter(q);
    const s = p.get('sort');
    if (s === 'name' || s === 'labels' || s === 'value' || s === 'age') sortKey = s;
    sortDir = p.get('dir') === 'desc' ? -1 : 1;
  };
  const writeHash = () => {
    const p = new URLSearchParams();
    if (el.filter.value) p.set('q', el.filter.value);
    if (sortKey !== 'name') p.set('sort', sortKey);
    if (sortDir === -1) p.set('dir', 'desc');
    const s = p.toString();
    history.replaceState(null, '', s ? '#' + s : location.pathname + location.search);
  };
  readHash();

  // ---- frame scheduling: all DOM writes happen in one animation frame
  const requestFrame = () => {
    if (frameRequested) return;
    frameRequested = true;
    requestAnimationFrame(frame);
  };

  // ---- series intake
  /** @type {Map<string, {role: TileRole, entries: Entry[]}>} */
  const tileSources = new Map();
  /** @type {Map<string, Tile>} */
  const tiles = new Map();

  /** @param {string} name @param {Record<string, string>} labels @param {string} key */
  const createEntry = (name, labels, key) => {
    const labelStr = labelText(labels);
    /** @type {Entry} */
    const e = {
      key, name, labels, labelStr, haystack: '', // the haystack is made when a filter first needs it
      value: NaN, ts: -Infinity, seenAt: 0, changedAt: 0, flash: false, ring: { t: [], v: [] }, gen: 0, seed: 0, tile: undefined,
    };
    let same = seriesByName.get(name);
    if (!same) seriesByName.set(name, (same = new Set()));
    same.add(e);
    const role = tileRole(name, labels);
    if (role) {
      e.tile = role.tile;
      let src = tileSources.get(role.tile + '/' + role.role);
      if (!src) tileSources.set(role.tile + '/' + role.role, (src = { role, entries: [] }));
      src.entries.push(e);
      tilesDirty = true;
      if (!nodeHost && labels.host) {
        nodeHost = labels.host;
        // Rows drop the `host` chip of the node itself (the header shows it): redraw their labels.
        for (const row of pool) row.entry = undefined;
        rowsDirty = true;
      }
    }
    return e;
  };

  /** Applies one `{name, labels, value, timestamp}`; returns the series key, if the item was usable. */
  /** @param {unknown} m @param {number} eventTs @returns {string | undefined} */
  const ingest = (m, eventTs) => {
    if (!m || typeof m !== 'object') return undefined;
    const rec = /** @type {Record<string, unknown>} */ (m);
    if (typeof rec.name !== 'string' || rec.name === '') return undefined;
    const key = itemKey(rec.name, rec.labels);
    let e = entries.get(key);
    if (!e) {
      if (entries.size >= MAX_SERIES) {
        seriesLimitHit = true;
        return undefined;
      }
      e = createEntry(rec.name, cleanLabels(rec.labels), key);
      entries.set(key, e);
      added.push(e);
      structureDirty = true;
      sectionsDirty = true;
    }
    const v = parseValue(rec.value);
    const t = typeof rec.timestamp === 'number' && Number.isFinite(rec.timestamp) ? rec.timestamp : eventTs;
    e.seenAt = Date.now();
    if (t < e.ts || (t === e.ts && Object.is(v, e.value))) return key;
    e.value = v;
    e.ts = t;
    const now = Date.now();
    // Highlight a change after a quiet spell (a push), not every tick of a busy system series.
    e.flash = e.changedAt !== 0 && now - e.changedAt >= 2000;
    e.changedAt = now;
    pushPoint(e.ring, t, v);
    sections.observe(e);
    e.gen++;
    rateNow++;
    rowsDirty = true;
    if (e.tile) tilesDirty = true;
    if (sortKey === 'value' || sortKey === 'age') orderDirty = true;
    return key;
  };

  /** Forgets a series (gone from the agent). */
  const removeEntry = (/** @type {Entry} */ e) => {
    entries.delete(e.key);
    seedQueue.delete(e);
    sectionsDirty = true;
    const same = seriesByName.get(e.name);
    same?.delete(e);
    if (same?.size === 0) seriesByName.delete(e.name);
    structureDirty = true;
    fullRebuild = true;
    if (e.tile) {
      for (const s of tileSources.values()) {
        const i = s.entries.indexOf(e);
        if (i >= 0) s.entries.splice(i, 1);
      }
      tilesDirty = true;
    }
  };

  // ---- connection
  /** @type {'connecting'|'live'|'reconnecting'|'stale'|'error'} */
  let connState = 'connecting';
  let connDetail = '';
  let lastEventAt = 0;
  /** Recent gaps between events, for the expected interval. */
  const gaps = /** @type {number[]} */ ([]);
  /** The first event after (re)connecting says nothing about the pace. */
  let skipGap = true;
  /** @type {EventSource | undefined} */
  let es;
  let retryMs = 1000;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let retryTimer;
  const streamHref = streamUrl(root, location.search);

  const setState = (/** @type {typeof connState} */ s, detail = '') => {
    if (s === connState && detail === connDetail) return;
    connState = s;
    connDetail = detail;
    el.conn.dataset.state = s;
    // Greys out tiles, charts and rows while the data is not live (CSS keys off this).
    document.body.dataset.conn = s;
    rowsDirty = true;
    requestFrame();
    setText(el.connLabel, s);
    setText(el.connDetail, detail);
  };

  /**
   * Expected gap between events: the median of recent gaps (the collection interval on a node with
   * system metrics). Undefined until the stream has shown a cadence: the stream sends events only
   * when something changed, so a quiet stream of pushed metrics alone is not stale.
   */
  const intervalMs = () => {
    if (gaps.length < 5) return undefined;
    const sorted = [...gaps].sort((a, b) => a - b);
    return sorted[sorted.length >> 1];
  };
  /** Stale: no event for 3 × the expected interval (at least 2 s). */
  const staleAfterMs = () => {
    const i = intervalMs();
    return i === undefined ? Infinity : Math.max(3 * i, 2000);
  };

  const connect = () => {
    clearTimeout(retryTimer);
    es?.close();
    // The page's inline script opened the stream before this module was loaded: take it over with
    // the events it kept (the snapshot, usually), unless it is not the stream this page wants.
    const early = takeEarlyStream(streamHref.href);
    const source = early?.source ?? new EventSource(streamHref);
    es = source;
    source.onopen = () => {
      mark('mm:open');
      retryMs = 1000;
      lastEventAt = Date.now();
      gaps.length = 0;
      skipGap = true;
      setState('live');
    };
    source.onmessage = (ev) => onEvent(ev);
    source.onerror = () => {
      if (source !== es) return;
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error or a non-stream answer): find out why, retry with backoff.
        void explainAndRetry();
      } else {
        setState('reconnecting', lastEventAt ? `last event ${formatAge(Date.now() - lastEventAt)} ago` : '');
      }
    };
    if (early) {
      for (const ev of early.events) {
        if (ev.type === 'open') source.onopen(ev);
        else if (ev.type === 'message') source.onmessage(/** @type {MessageEvent} */ (ev));
        else source.onerror(ev);
      }
    }
  };

  /**
   * With `read` in AUTH_REQUIRE the stream answers 401: ask for a token and keep it in a session
   * cookie (EventSource cannot send an Authorization header; the agent reads this cookie for reads
   * only), then load the page again so every request carries it.
   */
  const askForToken = (/** @type {string} */ detail) => {
    setState('error', detail);
    const form = /** @type {HTMLFormElement} */ (byId('token-form'));
    const input = /** @type {HTMLInputElement} */ (byId('token-input'));
    form.hidden = false;
    input.focus();
    form.onsubmit = (ev) => {
      ev.preventDefault();
      const token = input.value.trim();
      if (token === '') return;
      const secure = location.protocol === 'https:' ? '; Secure' : '';
      document.cookie = `mm_token=${encodeURIComponent(token)}; Path=${root.pathname}; SameSite=Strict${secure}`;
      location.reload();
    };
  };

  const explainAndRetry = async () => {
    let detail = '';
    let retry = true;
    try {
      const ctl = new AbortController();
      const res = await fetch(streamHref, { headers: { Accept: 'text/event-stream' }, cache: 'no-store', signal: ctl.signal });
      if (!res.ok) {
        const after = Number(res.headers.get('Retry-After'));
        if (after > 0) retryMs = Math.max(retryMs, Math.min(after * 1000, 30_000));
        const body = await res.text();
        let message = '';
        try {
          message = String(JSON.parse(body).message ?? '');
        } catch {
          message = '';
        }
        detail = `HTTP ${res.status}${message ? ': ' + message : ''}`;
        if (res.status === 401 || res.status === 403) {
          ctl.abort();
          askForToken(detail);
          return;
        }
        // A bad filter will not get better by retrying; everything else (429, 5xx, restarts) may.
        retry = res.status >= 500 || res.status === 429 || res.status === 404;
      }
      ctl.abort();
    } catch {
      detail = 'agent unreachable';
    }
    if (!retry) {
      setState('error', detail);
      return;
    }
    setState('reconnecting', detail);
    retryTimer = setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10_000);
  };

  let firstEvent = false;
  let firstSnapshot = false;
  /** @param {MessageEvent} ev */
  const onEvent = (ev) => {
    const now = Date.now();
    // Bursts (events closer than the shortest collection interval) are not a cadence.
    if (!skipGap && now - lastEventAt >= 90) {
      gaps.push(now - lastEventAt);
      if (gaps.length > 20) gaps.shift();
    }
    skipGap = false;
    lastEventAt = now;
    /** @type {unknown} */
    let msg;
    try {
      if (!firstEvent) {
      firstEvent = true;
      mark('mm:first-event');
    }
    msg = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    const body = /** @type {Record<string, unknown>} */ (msg);
    if (typeof body.error === 'string') {
      setState('live', 'upstream: ' + body.error);
      return;
    }
    if (connState !== 'live' || connDetail) setState('live');
    const eventTs = typeof body.timestamp === 'number' ? body.timestamp : Date.now();
    if (typeof body.timestamp === 'number') clockOffsetMs = body.timestamp - now;
    if (!Array.isArray(body.metrics)) return;
    if (body.kind === 'snapshot') {
      mark('mm:snapshot-parsed');
      // A snapshot holds every series the agent has (for our filter): whatever it lacks is gone,
      // e.g. everything after the agent restarted with an empty store.
      const present = new Set();
      for (const m of body.metrics) present.add(ingest(m, eventTs));
      for (const e of [...entries.values()]) if (!present.has(e.key)) removeEntry(e);
      mark('mm:snapshot-ingested');
      if (!firstSnapshot) {
        // The first snapshot is drawn now rather than in the next animation frame. It has usually
        // come before this module ran, and the module blocks rendering: drawn here, the page is
        // laid out once with its data (the browser lays it out when parsing ends), not empty first.
        firstSnapshot = true;
        frame();
        return;
      }
    } else {
      for (const m of body.metrics) ingest(m, eventTs);
    }
    requestFrame();
  };

  // ---- sparkline seeding from query_range, for series that have been on screen
  /** Series waiting for their history, oldest request first. */
  /** @type {Set<Entry>} */
  const seedQueue = new Set();
  /** @type {Map<string, Set<Entry>>} every known series by name */
  const seriesByName = new Map();
  const seriesOf = (/** @type {string} */ name) => seriesByName.get(name) ?? NO_SERIES;
  let seedBusy = false;
  let seedScheduled = false;
  let seedBackoffUntil = 0;

  const scheduleSeed = (/** @type {number} */ ms) => {
    if (seedScheduled) return;
    seedScheduled = true;
    setTimeout(() => {
      seedScheduled = false;
      void runSeed();
    }, ms);
  };

  const wantSeed = (/** @type {Entry} */ e) => {
    if (e.seed !== 0) return;
    e.seed = 1;
    seedQueue.add(e);
    if (!seedBusy) scheduleSeed(50);
  };

  /** One request at a time; a 429 or an unreachable agent backs off for 5 s. */
  const runSeed = async () => {
    if (seedBusy || seedQueue.size === 0) return;
    const wait = seedBackoffUntil - Date.now();
    if (wait > 0) {
      scheduleSeed(wait);
      return;
    }
    seedBusy = true;
    const plan = planSeed([...seedQueue], seriesOf);
    const covered = /** @type {Set<Entry>} */ (plan.covers);
    for (const e of covered) seedQueue.delete(e);
    let ok = true;
    try {
      if (plan.selector) {
        const url = new URL('api/v1/query_range', root);
        url.searchParams.set('match', plan.selector);
        const res = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' });
        if (res.status === 429 || res.status >= 500) throw new Error(String(res.status));
        if (res.ok) applyHistory(await res.json());
      }
    } catch {
      ok = false;
      seedBackoffUntil = Date.now() + 5000;
    } finally {
      for (const e of covered) {
        if (!ok && entries.get(e.key) === e) seedQueue.add(e); // try again later
        else if (e.seed === 1) e.seed = 2; // asked: whatever came back is all there is
      }
      seedBusy = false;
      if (seedQueue.size > 0) scheduleSeed(ok ? 100 : seedBackoffUntil - Date.now());
    }
  };

  /** @param {any} body the Prometheus matrix answer */
  const applyHistory = (body) => {
    const result = body?.data?.result;
    if (!Array.isArray(result)) return;
    for (const r of result) {
      const metric = r?.metric;
      if (!metric || typeof metric.__name__ !== 'string' || !Array.isArray(r.values)) continue;
      const { __name__: name, ...rest } = metric;
      const e = entries.get(seriesKey(name, cleanLabels(rest)));
      if (!e) continue;
      /** @type {Array<[number, number]>} */
      const points = [];
      for (const p of r.values) if (Array.isArray(p)) points.push([Number(p[0]) * 1000, parseValue(p[1])]);
      mergeHistory(e.ring, points);
      e.seed = 2;
      e.flash = false;
      e.gen++;
      rowsDirty = true;
      if (e.tile) tilesDirty = true;
    }
    requestFrame();
  };

  // ---- the table: virtual rows
  let rowHeight = 30;
  // Until the first measurement: the largest the scroller's CSS height, min(70vh, 720px), can be,
  // and a typical header. Not window.innerHeight: reading it here lays out the empty page.
  let viewportH = 720;
  let headH = 34;
  let scrollTop = 0;
  /** Sizes, reported after layout (never read mid-frame): the scroller, the header row, one row. */
  const sizes = typeof ResizeObserver === 'function'
    ? new ResizeObserver((items) => {
      for (const it of items) {
        const t = /** @type {HTMLElement} */ (it.target);
        if (t === el.scroller) viewportH = t.clientHeight;
        else if (t === el.table.tHead) headH = t.offsetHeight;
        else if (t.offsetHeight > 0) rowHeight = t.offsetHeight;
      }
      rowsDirty = true;
      requestFrame();
    })
    : undefined;
  sizes?.observe(el.scroller);
  if (el.table.tHead) sizes?.observe(el.table.tHead);
  /** @typedef {{ tr: HTMLTableRowElement, name: HTMLElement, labels: HTMLElement, value: HTMLElement, num: HTMLElement, unit: HTMLElement, area: SVGPathElement, line: SVGPathElement, age: HTMLElement, entry: Entry | undefined, gen: number, flip: boolean }} Row */
  /** @type {Row[]} */
  const pool = [];
  const topPad = document.createElement('tr');
  topPad.className = 'pad';
  topPad.append(document.createElement('td'));
  const bottomPad = document.createElement('tr');
  bottomPad.className = 'pad';
  bottomPad.append(document.createElement('td'));
  /** @type {HTMLTableCellElement} */ (topPad.firstChild).colSpan = 5;
  /** @type {HTMLTableCellElement} */ (bottomPad.firstChild).colSpan = 5;
  el.rows.append(topPad, bottomPad);

  const makeRow = () => {
    const tr = document.createElement('tr');
    const name = h('td', 'name');
    const labels = h('td', 'labels');
    const value = h('td', 'value num');
    const num = h('span', 'v');
    const unit = h('span', 'u');
    value.append(num, unit);
    const trend = h('td', 'trend');
    const spark = sparkSvg('spark', ROW_SPARK_W, ROW_SPARK_H);
    trend.append(spark.svg);
    const age = h('td', 'age num');
    tr.append(name, labels, value, trend, age);
    // The name opens the large chart of the series (a button: reachable with Tab, Enter opens).
    name.tabIndex = 0;
    name.setAttribute('role', 'button');
    const openIt = () => {
      const bound = pool.find((r) => r.tr === tr)?.entry;
      if (bound) sections.openSeries(bound);
    };
    tr.addEventListener('click', openIt);
    name.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        openIt();
      }
    });
    return { tr, name, labels, value, num, unit, area: spark.area, line: spark.line, age, entry: undefined, gen: -1, flip: false };
  };

  const bindRow = (/** @type {Row} */ row, /** @type {Entry} */ e, /** @type {number} */ now, /** @type {number} */ oldAfter) => {
    const rebound = row.entry !== e;
    if (rebound) {
      row.entry = e;
      row.gen = -1;
      setText(row.name, e.name);
      row.name.title = e.name;
      row.labels.replaceChildren();
      for (const k of Object.keys(e.labels)) {
        if (k === 'host' && e.labels[k] === nodeHost) continue;
        const chip = h('span', 'chip');
        chip.append(h('span', 'k', k), h('span', 'eq', '='), h('span', 'lv', e.labels[k]));
        row.labels.append(chip);
      }
      row.labels.title = e.labelStr;
      // Phones show the labels under the name (CSS attr()), so no column is cut off.
      row.name.dataset.labels = Object.keys(e.labels).filter((k) => !(k === 'host' && e.labels[k] === nodeHost)).map((k) => k + '=' + e.labels[k]).join(', ');
      row.value.classList.remove('flash-a', 'flash-b');
    }
    if (row.gen !== e.gen) {
      const f = formatValue(e.value, e.name);
      setText(row.num, f.text);
      setText(row.unit, f.unit);
      row.value.title = String(e.value);
      const p = sparkPath(e.ring, ROW_SPARK_W, ROW_SPARK_H);
      row.line.setAttribute('d', p.line);
      row.area.setAttribute('d', p.area);
      if (!rebound && row.gen !== -1 && e.flash) {
        // Restart the highlight by switching between two identical animations (no reflow).
        row.flip = !row.flip;
        row.value.classList.toggle('flash-a', row.flip);
        row.value.classList.toggle('flash-b', !row.flip);
      }
      row.gen = e.gen;
    }
    const age = now - e.ts;
    setText(row.age, formatWhen(e.ts, now));
    row.age.title = Number.isFinite(e.ts) ? new Date(e.ts).toISOString() : '';
    // Stale (not updated for 10 intervals, at least a minute) or stamped in the future: greyed.
    row.tr.classList.toggle('old', age > oldAfter);
    row.tr.classList.toggle('future', age < -1500);
    wantSeed(e);
  };

  const passes = (/** @type {Entry} */ e) => {
    if (filter.empty) return true;
    if (e.haystack === '') e.haystack = (e.name + ' {' + e.labelStr + '}').toLowerCase();
    return matchesFilter(e.haystack, filter);
  };

  const rebuildView = () => {
    const cmp = comparator(sortKey, sortDir);
    if (!fullRebuild && (sortKey === 'name' || sortKey === 'labels')) {
      // Only new series since the last rebuild, in an order that values do not move: sort them
      // alone and merge them in, rather than sorting every series again.
      view = mergeSorted(view, added.filter(passes).sort(cmp), cmp);
    } else {
      const next = [];
      for (const e of entries.values()) if (passes(e)) next.push(e);
      next.sort(cmp);
      view = next;
    }
    added = [];
    fullRebuild = false;
    structureDirty = false;
    orderDirty = false;
    lastRebuild = performance.now();
    rowsDirty = true;
  };

  const renderRows = () => {
    // No layout is read here (that would force one in the middle of the frame): the sizes come from
    // a ResizeObserver and the scroll position from scroll events.
    const overscan = 8;
    const first = Math.max(0, Math.min(view.length, Math.floor((scrollTop - headH) / rowHeight) - overscan));
    const count = Math.ceil(viewportH / rowHeight) + 2 * overscan;
    const last = Math.min(view.length, first + count);
    const want = last - first;
    while (pool.length < want) {
      const row = makeRow();
      if (pool.length === 0) sizes?.observe(row.tr);
      pool.push(row);
      el.rows.insertBefore(row.tr, bottomPad);
    }
    while (pool.length > want) {
      const row = /** @type {Row} */ (pool.pop());
      if (pool.length === 0) sizes?.unobserve(row.tr);
      row.tr.remove();
    }
    const now = serverNow();
    const oldAfter = Math.max(60_000, 10 * (intervalMs() ?? 0));
    for (let i = 0; i < want; i++) {
      bindRow(pool[i], view[first + i], now, oldAfter);
      pool[i].tr.setAttribute('aria-rowindex', String(first + i + 2)); // the header row is 1
    }
    el.table.setAttribute('aria-rowcount', String(view.length + 1));
    /** @type {HTMLElement} */ (topPad.firstChild).style.height = first * rowHeight + 'px';
    /** @type {HTMLElement} */ (bottomPad.firstChild).style.height = (view.length - last) * rowHeight + 'px';
    topPad.hidden = first === 0;
    bottomPad.hidden = last === view.length;

    // Counts and the empty state.
    const total = entries.size;
    setText(el.shown, filter.empty ? `${INT_FMT.format(total)} series` : `${INT_FMT.format(view.length)} of ${INT_FMT.format(total)} series`);
    el.empty.hidden = view.length > 0;
    if (view.length === 0) {
      const push = new URL('api/v1/metrics/simple', root).href;
      let text;
      if (connState === 'error') text = `The stream refused this view: ${connDetail || 'error'}. Fix the ?name=, ?match= or ?source= parameters in the address.`;
      else if (total > 0) text = `No series match “${el.filter.value}”.`;
      else if (connState === 'live') text = `Connected — no metrics yet. Push a first one:\ncurl -X POST ${push} -H 'Content-Type: application/json' -d '{"name": "fps", "value": 30}'`;
      else if (connState === 'reconnecting') text = `Not connected to the agent${connDetail ? ` (${connDetail})` : ''}; retrying…`;
      else text = 'Waiting for metrics…';
      setText(el.empty, text);
    }
    if (seriesLimitHit) setText(el.shown, `${el.shown.textContent} · more not shown: the page tracks at most ${INT_FMT.format(MAX_SERIES)} series (narrow it with ?name=)`);
  };

  // ---- summary tiles
  /**
   * @typedef {{ id: string, kind: string, order: number, root: HTMLElement, title: HTMLElement, tag: HTMLElement,
   *   num: HTMLElement, unit: HTMLElement, fill: HTMLElement, area: SVGPathElement, line: SVGPathElement, sub: HTMLElement, subText: string }} Tile
   */

  const makeTile = (/** @type {TileRole} */ role) => {
    const rootEl = h('article', 'tile');
    rootEl.dataset.kind = role.kind;
    const head = h('header', 'tile-head');
    const title = h('span', 'tile-title', role.title);
    const tag = h('span', 'tile-tag');
    head.append(title, tag);
    const valueEl = h('div', 'tile-value');
    const num = h('span', 'tile-num', '—');
    const unit = h('span', 'tile-unit', '%');
    valueEl.append(num, unit);
    const meter = h('div', 'tile-meter');
    const fill = h('div', 'tile-fill');
    meter.append(fill);
    const spark = sparkSvg('tile-spark', TILE_SPARK_W, TILE_SPARK_H);
    const sub = h('div', 'tile-sub');
    rootEl.append(head, valueEl, spark.svg, meter, sub);
    /** @type {Tile} */
    const tile = { id: role.tile, kind: role.kind, order: role.order, root: rootEl, title, tag, num, unit, fill, area: spark.area, line: spark.line, sub, subText: '' };
    return tile;
  };

  /** The freshest entry of a tile role. */
  const src = (/** @type {string} */ tile, /** @type {string} */ role) => {
    const s = tileSources.get(tile + '/' + role);
    if (!s) return undefined;
    let best = s.entries[0];
    for (const e of s.entries) if (e.ts > best.ts) best = e;
    return best;
  };
  const all = (/** @type {string} */ tile, /** @type {string} */ role) => tileSources.get(tile + '/' + role)?.entries ?? [];
  const maxOf = (/** @type {Entry[]} */ es) => es.reduce((m, e) => (Number.isFinite(e.value) && e.value > m ? e.value : m), -Infinity);

  /** Main percentage, its sparkline source and the detail line for one tile. */
  const tileModel = (/** @type {string} */ id) => {
    /** @type {{ pct: number, ring: Ring | undefined, map: (v: number) => number, sub: string[], tag: string, title?: string }} */
    const m = { pct: NaN, ring: undefined, map: (v) => v, sub: [], tag: '' };
    const fmt = (/** @type {Entry | undefined} */ e, /** @type {number} */ digits, /** @type {string} */ unit) =>
      e && Number.isFinite(e.value) ? e.value.toFixed(digits) + unit : undefined;
    const bytes = (/** @type {Entry | undefined} */ used, /** @type {Entry | undefined} */ total) => {
      if (!used || !Number.isFinite(used.value)) return undefined;
      const u = formatValue(used.value, 'x_bytes');
      if (!total || !Number.isFinite(total.value)) return `${u.text} ${u.unit}`;
      const t = formatValue(total.value, 'x_bytes');
      // Each figure with its own unit: 709.86 MiB / 23.54 GiB, never a bare number.
      return `${u.text} ${u.unit} / ${t.text} ${t.unit}`;
    };
    if (id === 'cpu') {
      const idle = src(id, 'idle');
      if (idle) {
        m.pct = 100 - idle.value;
        m.ring = idle.ring;
        m.map = (v) => 100 - v;
      }
      const cores = all(id, 'core').length;
      if (cores > 0) m.sub.push(`${cores} cores`);
      const leastIdle = all(id, 'core').reduce((lo, e) => (Number.isFinite(e.value) && e.value < lo ? e.value : lo), Infinity);
      if (Number.isFinite(leastIdle)) m.sub.push(`busiest core ${(100 - leastIdle).toFixed(0)}%`);
    } else if (id === 'mem') {
      const pct = src(id, 'pct');
      if (pct) {
        m.pct = pct.value;
        m.ring = pct.ring;
      }
      const b = bytes(src(id, 'used'), src(id, 'total'));
      if (b) m.sub.push(b);
    } else {
      const isRatio = id.startsWith('gpu:') || id.startsWith('nvidia:');
      const busy = all(id, 'busy');
      if (busy.length > 0) {
        const top = maxOf(busy);
        m.pct = isRatio ? top * 100 : top;
        const first = busy[0];
        m.ring = first.ring;
        if (isRatio) m.map = (v) => v * 100;
      } else {
        const engines = all(id, 'engine');
        if (engines.length > 0) {
          m.pct = maxOf(engines);
          m.ring = engines[0].ring;
        }
      }
      const temps = all(id, 'temp');
      const t = maxOf(temps);
      if (Number.isFinite(t)) m.sub.push(`${t.toFixed(0)} °C`);
      const powers = all(id, 'power');
      const power = powers.find((e) => e.labels.type === 'gpu_cur_power') ?? powers.find((e) => e.labels.type === 'pkg_cur_power') ?? powers[0];
      const p = fmt(power, 1, ' W');
      if (p) m.sub.push(p);
      const b = bytes(src(id, 'memUsed'), src(id, 'memTotal'));
      if (b) m.sub.push(b);
      const freq = src(id, 'freq');
      if (freq && Number.isFinite(freq.value)) {
        const f = id === 'npu' ? formatValue(freq.value, 'x_hertz') : formatValue(freq.value * 1e6, 'x_hertz');
        m.sub.push(`${f.text} ${f.unit}`);
      }
      const any = busy[0] ?? temps[0] ?? powers[0] ?? src(id, 'info') ?? src(id, 'memUsed');
      if (any) m.tag = any.labels.driver ?? any.labels.platform ?? src(id, 'info')?.labels.platform ?? any.labels.model ?? '';
    }
    return m;
  };

  const renderTiles = () => {
    // One tile per device that has series; a device whose series are all gone loses its tile.
    /** @type {Map<string, TileRole>} */
    const live = new Map();
    for (const s of tileSources.values()) if (s.entries.length > 0) live.set(s.role.tile, s.role);
    let changed = false;
    for (const [id, role] of live) {
      if (!tiles.has(id)) {
        tiles.set(id, makeTile(role));
        changed = true;
      }
    }
    for (const id of [...tiles.keys()]) {
      if (!live.has(id)) {
        tiles.delete(id);
        changed = true;
      }
    }
    if (changed) {
      const ordered = [...tiles.values()].sort((a, b) => a.order - b.order || collator.compare(a.id, b.id));
      el.tiles.replaceChildren(...ordered.map((t) => t.root));
    }
    el.tiles.hidden = tiles.size === 0;
    let cpuPct = NaN;
    for (const tile of tiles.values()) {
      const m = tileModel(tile.id);
      if (tile.id === 'cpu') cpuPct = m.pct;
      const f = Number.isFinite(m.pct) ? m.pct.toFixed(m.pct >= 99.95 ? 0 : 1) : '—';
      setText(tile.num, f);
      setText(tile.unit, Number.isFinite(m.pct) ? '%' : '');
      setText(tile.tag, m.tag);
      const frac = Number.isFinite(m.pct) ? Math.max(0, Math.min(1, m.pct / 100)) : 0;
      tile.fill.style.transform = `scaleX(${frac.toFixed(4)})`;
      tile.root.dataset.level = level(m.pct);
      const sub = m.sub.join(' · ');
      if (sub !== tile.subText) {
        tile.subText = sub;
        tile.sub.replaceChildren(...m.sub.map((s) => h('span', '', s)));
      }
      if (m.ring) {
        const p = sparkPath(m.ring, TILE_SPARK_W, TILE_SPARK_H, m.map, { min: 0, max: 100 });
        tile.line.setAttribute('d', p.line);
        tile.area.setAttribute('d', p.area);
        const e = src(tile.id, tile.id === 'cpu' ? 'idle' : tile.id === 'mem' ? 'pct' : 'busy');
        if (e) wantSeed(e);
      }
    }
    const host = nodeHost || location.hostname;
    setText(el.host, host);
    const title = Number.isFinite(cpuPct) ? `CPU ${cpuPct.toFixed(0)}% · ${host} — metrics-manager` : `${host} — metrics-manager`;
    if (document.title !== title) document.title = title;
  };

  // ---- the frame
  let rowsMarked = false;
  const frame = () => {
    frameRequested = false;
    const t = performance.now();
    let rebuilt = false;
    if (!paused) {
      // New series show at once (at most 5 rebuilds a second); a value-sorted order settles once a second.
      // The first series to show never wait out the limit (an empty table was just built).
      if (structureDirty && (t - lastRebuild > 200 || view.length === 0)) rebuilt = (rebuildView(), true);
      else if (orderDirty && t - lastRebuild > 1000) rebuilt = (rebuildView(), true);
      else if ((structureDirty || orderDirty) && !rebuildDeferred) {
        rebuildDeferred = true;
        setTimeout(() => {
          rebuildDeferred = false;
          requestFrame();
        }, 200);
      }
      if (rowsDirty) {
        rowsDirty = false;
        renderRows();
        if (!rowsMarked && view.length > 0) {
          rowsMarked = true;
          mark('mm:rows');
        }
      }
    }
    if (tilesDirty) {
      tilesDirty = false;
      renderTiles();
    }
    // New series get their section at once, at most 4 times a second. Later rebuilds of the table
    // keep the frame short (the rows paint first, the charts a frame later); the first data paints
    // its rows and the first screen's charts in one frame, with one layout, however soon it comes
    // after the empty page's own tick.
    if (sectionsDirty && sectionsMarked && t - sectionsAt <= 250) {
      if (!sectionsDeferred) {
        // Not now, but as soon as allowed (not at the next once-a-second tick).
        sectionsDeferred = true;
        setTimeout(() => {
          sectionsDeferred = false;
          requestFrame();
        }, 260 - (t - sectionsAt));
      }
    } else if (sectionsDirty) {
      if (rebuilt && sectionsMarked) requestFrame();
      else tickSections();
    }
    setText(el.statSeries, INT_FMT.format(entries.size));
  };

  // ---- once a second: ages, staleness, rate, retention sweep
  let tick = 0;
  setInterval(() => {
    tick++;
    rateWindow[tick % rateWindow.length] = rateNow;
    rateNow = 0;
    const rate = rateWindow.reduce((a, b) => a + b, 0) / rateWindow.length;
    setText(el.statRate, rate >= 100 ? rate.toFixed(0) : rate.toFixed(1));
    if (connState === 'live' && lastEventAt && Date.now() - lastEventAt > staleAfterMs()) {
      setState('stale', `no event for ${formatAge(Date.now() - lastEventAt)}`);
    } else if (connState === 'stale') {
      setText(el.connDetail, `no event for ${formatAge(Date.now() - lastEventAt)}`);
    }
    if (tick % 10 === 0) {
      // Series the agent no longer has (not seen for its retention) leave the table.
      const cutoff = Date.now() - retentionMs;
      for (const e of [...entries.values()]) if (e.seenAt < cutoff) removeEntry(e);
    }
    rowsDirty = true; // ages move
    if (performance.now() - sectionsAt > 500) tickSections();
    requestFrame();
  }, 1000);

  // ---- controls
  el.filter.addEventListener('input', () => {
    filter = parseFilter(el.filter.value);
    structureDirty = true;
    fullRebuild = true;
    lastRebuild = 0;
    el.scroller.scrollTop = 0;
    scrollTop = 0;
    writeHash();
    requestFrame();
  });
  el.filter.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && el.filter.value) {
      el.filter.value = '';
      el.filter.dispatchEvent(new Event('input'));
    }
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === '/' && document.activeElement !== el.filter && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
      ev.preventDefault();
      el.filter.focus();
      el.filter.select();
    }
  });
  window.addEventListener('hashchange', () => {
    readHash();
    structureDirty = true;
    fullRebuild = true;
    lastRebuild = 0;
    renderSortHeaders();
    requestFrame();
  });

  const headers = /** @type {HTMLElement[]} */ ([...el.table.querySelectorAll('th[data-sort]')]);
  const renderSortHeaders = () => {
    for (const th of headers) {
      const active = th.dataset.sort === sortKey;
      if (active) th.setAttribute('aria-sort', sortDir === 1 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    }
  };
  for (const th of headers) {
    th.querySelector('button')?.addEventListener('click', () => {
      const key = /** @type {typeof sortKey} */ (th.dataset.sort);
      if (key === sortKey) sortDir = sortDir === 1 ? -1 : 1;
      else {
        sortKey = key;
        sortDir = key === 'value' ? -1 : 1; // biggest values first is the useful default
      }
      renderSortHeaders();
      writeHash();
      structureDirty = true;
      fullRebuild = true;
      lastRebuild = 0;
      requestFrame();
    });
  }
  renderSortHeaders();

  el.pause.addEventListener('click', () => {
    paused = !paused;
    el.pause.setAttribute('aria-pressed', String(paused));
    setText(el.pause, paused ? 'Resume' : 'Pause');
    document.body.classList.toggle('paused', paused);
    if (paused) {
      // Freeze a consistent picture: sorted by the values it shows.
      rebuildView();
      rowsDirty = false;
      renderRows();
    } else {
      structureDirty = true;
      rowsDirty = true;
      requestFrame();
    }
  });

  el.scroller.addEventListener('scroll', () => {
    scrollTop = el.scroller.scrollTop;
    rowsDirty = true;
    requestFrame();
  }, { passive: true });
  window.addEventListener('resize', () => {
    rowsDirty = true;
    requestFrame();
  });

  // The agent's retention, so rows of series it dropped leave the table too (first swept after 10 s).
  whenIdle(() => {
    fetch(new URL('api/health', root), { headers: { Accept: 'application/json' }, cache: 'no-store' })
      .then((r) => (r.ok ? r.json() : undefined))
      .then((b) => {
        const s = Number(b?.metrics_store?.retention_seconds);
        if (s > 0) retentionMs = s * 1000;
      })
      .catch(() => {});
  });

  setText(el.host, location.hostname);
  connect();
  requestFrame();
}

if (typeof document !== 'undefined' && typeof window !== 'undefined') start();
