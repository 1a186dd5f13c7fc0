// @ts-check
/**
 * The dashboard's sections: CPU, memory, temperatures and frequencies, each GPU and NPU, per-pod
 * accelerator use and custom metrics grouped by name, drawn with uPlot (loaded as a classic script
 * before this module: `globalThis.uPlot`). Plus the large chart of one series or one group, with
 * its history from `api/v1/query_range`, a time range and pause.
 *
 * Data: the sections read the dashboard's series map (`entries`, fed by the one SSE connection);
 * they never open a stream of their own. Every chart samples its series once a second (aligned x
 * for uPlot), and only charts on screen redraw. Counters are shown as per-second rates, histogram
 * buckets as quantiles, and units come from the agent's metadata (OTLP and component-report units,
 * `api/v1/metrics?name=`) or from the name's suffix.
 *
 * Security: names and labels reach the DOM as text only (textContent, uPlot's legend uses text).
 * uPlot draws on canvas and sets positions through CSSOM (`el.style.x = …`), which a strict CSP
 * allows; there is no inline style attribute or HTML parsing anywhere.
 *
 * The helpers above `createSections` are pure and exported for unit tests.
 */

/** Seconds of live points kept per section chart. */
export const WINDOW_S = 300;
/** Series drawn at most in one chart (the rest are counted in its footer). */
export const MAX_LINES = 8;
/** Custom metric cards at most (busiest names first). */
export const MAX_CUSTOM_CARDS = 24;
/** How far outside the viewport a chart is made and kept drawing, px. */
const IO_MARGIN_PX = 200;
/** Time spent making new uPlots in one go (at least one is made), ms. */
const MAKE_BUDGET_MS = 12;

/**
 * Runs `fn` when the page is idle (at most `timeoutMs` later): requests nobody waits for stay off
 * the path to the first data on screen (a page's first fetch() alone costs a few ms to set up).
 * @param {() => void} fn
 */
export function whenIdle(fn, timeoutMs = 1000) {
  if (typeof requestIdleCallback === 'function') requestIdleCallback(() => fn(), { timeout: timeoutMs });
  else setTimeout(fn, 0);
}

// ---------------------------------------------------------------------------------------------
// Units

/**
 * The display unit of a series: the agent's unit when it has one (OTLP / component report /
 * Prometheus UNIT), else the name's suffix. Returns a canonical unit: bytes, s, ms, %, ratio, °C,
 * W, Hz, kHz, MHz, J, rpm, B/s, or the reported unit as is ('items'), or ''.
 * @param {string} name
 * @param {string} [reported]
 */
export function unitFor(name, reported) {
  const r = (reported ?? '').trim();
  if (r !== '') {
    const map = /** @type {Record<string, string>} */ ({
      bytes: 'bytes', By: 'bytes', byte: 'bytes', seconds: 's', s: 's', second: 's', ms: 'ms', milliseconds: 'ms',
      percent: '%', '%': '%', '1': 'ratio', ratio: 'ratio', celsius: '°C', Cel: '°C', watts: 'W', W: 'W', hertz: 'Hz', Hz: 'Hz',
      MHz: 'MHz', joules: 'J', J: 'J', rpm: 'rpm', bytes_per_second: 'B/s', 'By/s': 'B/s', MiB: 'MiB',
    });
    return map[r] ?? r.replace(/^\{(.*)\}$/, '$1');
  }
  const base = name.replace(/_total$/, '');
  if (/_bytes_per_second$/.test(base)) return 'B/s';
  if (/_bytes$/.test(base) || /^mem_(used|total|available|free|cached|buffered|active|inactive)$/.test(name)) return 'bytes';
  if (/_seconds$/.test(base)) return 's';
  if (/_(ms|milliseconds)$/.test(base)) return 'ms';
  if (/_percent$|^cpu_usage_|_usage_usage$|^npu_utilization$/.test(name)) return '%';
  if (/_ratio$/.test(base)) return 'ratio';
  if (/_celsius$|^npu_temperature$|^temp_temp$/.test(name)) return '°C';
  if (/_watts$|^gpu_power$|^npu_power$/.test(name)) return 'W';
  if (/_joules$/.test(base)) return 'J';
  if (/_hertz$/.test(base)) return 'Hz';
  if (name === 'gpu_frequency') return 'MHz';
  if (name === 'cpu_frequency_avg_frequency') return 'kHz';
  if (/_rpm$/.test(base)) return 'rpm';
  return '';
}

const IEC = /** @type {Array<[number, string]>} */ ([[2 ** 50, 'PiB'], [2 ** 40, 'TiB'], [2 ** 30, 'GiB'], [2 ** 20, 'MiB'], [2 ** 10, 'KiB']]);
const SI = /** @type {Array<[number, string]>} */ ([[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']]);

/** Made once, not looked up again for every tick label. */
const INT_FMT = new Intl.NumberFormat('en-US');

function trimNum(/** @type {number} */ v, digits = 2) {
  const s = v.toFixed(digits);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** A compact number: 3 significant digits, SI prefixes from a million. */
function compact(/** @type {number} */ v) {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e15 || a < 1e-4) return v.toExponential(2);
  for (const [f, p] of SI) if (a >= f && a >= 1e6) return trimNum(v / f) + p;
  if (a >= 1000) return INT_FMT.format(Math.round(v));
  if (a >= 100) return trimNum(v, 1);
  if (a >= 1) return trimNum(v, 2);
  return String(Number(v.toPrecision(3)));
}

/**
 * A value with its unit, ready to show: bytes in IEC (KiB, MiB, GiB), Hz with SI prefixes, seconds
 * in ms/µs when small, ratios as percent. `rate` adds "/s" (a counter's per-second rate).
 * @param {number} v @param {string} unit @param {boolean} [rate]
 * @returns {{ text: string, unit: string }}
 */
export function formatUnit(v, unit, rate = false) {
  const per = rate ? '/s' : '';
  if (Number.isNaN(v)) return { text: 'NaN', unit: '' };
  if (!Number.isFinite(v)) return { text: v > 0 ? '+Inf' : '-Inf', unit: '' };
  const a = Math.abs(v);
  switch (unit) {
    case 'bytes':
    case 'B/s': {
      const suffix = unit === 'B/s' ? '/s' : per;
      for (const [f, p] of IEC) if (a >= f) return { text: trimNum(v / f), unit: p + suffix };
      return { text: trimNum(v, 0), unit: 'B' + suffix };
    }
    case 'MiB': return formatUnit(v * 2 ** 20, 'bytes', rate);
    case 'Hz': case 'kHz': case 'MHz': {
      const hz = v * (unit === 'MHz' ? 1e6 : unit === 'kHz' ? 1e3 : 1);
      const ah = Math.abs(hz);
      for (const [f, p] of SI) if (ah >= f) return { text: trimNum(hz / f), unit: p + 'Hz' + per };
      return { text: trimNum(hz), unit: 'Hz' + per };
    }
    case 's': case 'ms': {
      if (rate && unit === 's') return { text: trimNum(v, 2), unit: 's/s' };
      const s = unit === 'ms' ? v / 1000 : v;
      const as = Math.abs(s);
      if (as !== 0 && as < 1e-3) return { text: trimNum(s * 1e6, 1), unit: 'µs' + per };
      if (as < 1) return { text: trimNum(s * 1000, 1), unit: 'ms' + per };
      return { text: trimNum(s, 2), unit: 's' + per };
    }
    case 'ratio': return { text: trimNum(v * 100, a * 100 >= 100 ? 0 : 1), unit: '%' };
    case '%': case '°C': case 'W': return { text: trimNum(v, a >= 100 ? 0 : 1), unit: unit + per };
    case 'J': return rate ? { text: trimNum(v, 1), unit: 'W' } : { text: compact(v), unit: 'J' };
    default: return { text: compact(v), unit: unit + per };
  }
}

/** Axis tick text for a unit (shorter than formatUnit: the axis label carries nothing else). */
export function tickText(/** @type {number} */ v, /** @type {string} */ unit, rate = false) {
  if (v == null || !Number.isFinite(v)) return '';
  const f = formatUnit(v, unit, rate);
  return f.unit ? `${f.text} ${f.unit}` : f.text;
}

/**
 * Age of a sample relative to now, honest about the direction: `now`, `12s ago`, `4m ago`, `3h ago`;
 * older than a day its date; ahead of the clock `in 5s` (or `future: <date>` past a day).
 * @param {number} tsMs sample time @param {number} nowMs
 */
export function formatWhen(tsMs, nowMs) {
  if (!Number.isFinite(tsMs)) return '—';
  const d = nowMs - tsMs;
  const date = () => new Date(tsMs).toISOString().slice(0, 10);
  if (Math.abs(d) < 1500) return 'now';
  if (d < 0) {
    const ahead = -d;
    if (ahead >= 86_400_000) return 'future: ' + (Number.isFinite(new Date(tsMs).getTime()) ? date() : '?');
    return 'in ' + span(ahead);
  }
  if (d >= 86_400_000) return date();
  return span(d) + ' ago';
}

function span(/** @type {number} */ ms) {
  const s = Math.floor(ms / 1000);
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm';
  return Math.floor(s / 3600) + 'h';
}

// ---------------------------------------------------------------------------------------------
// Rates and quantiles

/**
 * Per-second rate between two counter readings; a drop is a reset (the new value counts from 0).
 * @returns {number} NaN when it cannot be told
 */
export function counterRate(/** @type {number} */ prevV, /** @type {number} */ prevT, /** @type {number} */ v, /** @type {number} */ t) {
  if (!(t > prevT) || !Number.isFinite(v) || !Number.isFinite(prevV)) return NaN;
  const inc = v >= prevV ? v - prevV : v;
  return inc / ((t - prevT) / 1000);
}

/**
 * The q-quantile of a histogram from its cumulative buckets (`le` → count), interpolating linearly
 * inside the bucket as Prometheus' histogram_quantile does. NaN without observations.
 * @param {Array<[number, number]>} buckets [le, cumulative count], any order
 * @param {number} q 0..1
 */
export function bucketQuantile(buckets, q) {
  const b = [...buckets].filter(([le, c]) => !Number.isNaN(le) && Number.isFinite(c)).sort((x, y) => x[0] - y[0]);
  if (b.length === 0) return NaN;
  const total = b[b.length - 1][1];
  if (!(total > 0)) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevC = 0;
  for (const [le, c] of b) {
    if (c >= rank) {
      if (le === Infinity) return prevLe; // the +Inf bucket: the highest finite bound
      if (c === prevC) return le;
      return prevLe + (le - prevLe) * ((rank - prevC) / (c - prevC));
    }
    prevLe = le;
    prevC = c;
  }
  return prevLe;
}

/** Whether a metric name belongs to the node's system families (collectors, Telegraf inputs). */
export function isSystemName(/** @type {string} */ name) {
  return /^(cpu_|mem_|temp_|swap_|disk_|diskio_|net_|kernel_|processes_|system_|gpu_|npu_|nvidia_gpu_|cpufreq_|metrics_manager_)/.test(name);
}

/**
 * The label names whose values differ between the series of one metric: what tells its lines apart
 * in a legend (`host`, the same on every line, is left out).
 * @param {Array<{ labels: Record<string, string> }>} es
 */
export function varyingLabels(es) {
  // Per label: its first value, whether another differs, and on how many series it is. No set of
  // values: the first snapshot runs this over every custom series on the way to the first frame.
  /** @type {Map<string, { first: string, differs: boolean, on: number }>} */
  const seen = new Map();
  for (const e of es) {
    for (const k of Object.keys(e.labels)) {
      const v = e.labels[k];
      const s = seen.get(k);
      if (s === undefined) seen.set(k, { first: v, differs: false, on: 1 });
      else {
        s.on++;
        if (v !== s.first) s.differs = true;
      }
    }
  }
  /** @type {string[]} */
  const out = [];
  for (const [k, s] of seen) if (s.differs || (es.length > 1 && s.on < es.length) || (es.length === 1 && k !== 'host')) out.push(k);
  return out.sort();
}

/** A Prometheus selector for exactly one series (double-quoted values, escaped). */
export function exactSelector(/** @type {string} */ name, /** @type {Record<string, string>} */ labels) {
  const esc = (/** @type {string} */ v) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const parts = [`__name__="${esc(name)}"`];
  for (const k of Object.keys(labels).sort()) parts.push(`${k}="${esc(labels[k])}"`);
  return '{' + parts.join(',') + '}';
}

// ---------------------------------------------------------------------------------------------
// DOM helpers (text only)

/** @param {string} tag @param {string} [cls] @param {string} [text] */
function h(tag, cls, text) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text !== undefined) el.textContent = text;
  return el;
}

function setText(/** @type {Element} */ el, /** @type {string} */ text) {
  if (el.textContent !== text) el.textContent = text;
}

const PALETTE = ['#2dd4bf', '#60a5fa', '#fbbf24', '#f472b6', '#a78bfa', '#34d399', '#fb923c', '#94a3b8'];

/**
 * @typedef {{ key: string, name: string, labels: Record<string, string>, value: number, ts: number, seenAt: number }} Entry
 * @typedef {{ label: string, get: () => number, stroke?: string, fill?: string }} Line
 * @typedef {{ id: string, title: string, unit: string, rate?: boolean, stacked?: boolean, range?: [number, number],
 *   lines: () => Line[], series?: () => Entry[], note?: () => string }} ChartSpec
 */

/**
 * Creates the sections inside `container` and the large-chart dialog.
 * @param {{
 *   container: HTMLElement,
 *   entries: Map<string, Entry>,
 *   root: URL,
 *   serverNow: () => number,
 *   nodeHost: () => string,
 * }} deps
 */
export function createSections(deps) {
  const { container, entries, root, serverNow } = deps;
  // uPlot is a classic deferred script placed after the page's module, so the module can open the
  // stream while uPlot is still being compiled: look it up when a chart is made, not now.
  /** @returns {any} */
  const uPlotClass = () => /** @type {any} */ (globalThis).uPlot;
  /** Metadata from the agent, per metric name: type and unit. */
  /** @type {Map<string, { type: string, unit: string } | null>} */
  const meta = new Map();
  /** @type {string[]} */
  const metaQueue = [];
  let metaBusy = false;
  /** Counter state per series key: last reading and its rate. */
  /** @type {Map<string, { v: number, t: number, rate: number }>} */
  const rates = new Map();
  /** @type {any} capabilities answer, or undefined until fetched */
  let caps;

  // A `_total` name is a counter by convention even when it arrived untyped (line protocol, JSON).
  const typeOf = (/** @type {string} */ name) => (name.endsWith('_total') ? 'counter' : meta.get(name)?.type ?? (/_bucket$/.test(name) ? 'histogram' : 'gauge'));
  const unitOfName = (/** @type {string} */ name) => unitFor(name, meta.get(name)?.unit);

  const wantMeta = (/** @type {string} */ name) => {
    if (meta.has(name)) return;
    meta.set(name, null);
    metaQueue.push(name);
    if (!metaBusy) {
      metaBusy = true;
      whenIdle(() => void pumpMeta());
    }
  };
  const pumpMeta = async () => {
    metaBusy = true;
    while (metaQueue.length > 0) {
      const name = /** @type {string} */ (metaQueue.shift());
      try {
        const url = new URL('api/v1/metrics', root);
        url.searchParams.set('name', name);
        url.searchParams.set('limit', '1'); // one series tells the family's type and unit
        const res = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' });
        if (!res.ok) continue;
        const body = await res.json();
        const first = Array.isArray(body?.metrics) ? body.metrics[0] : undefined;
        if (first) meta.set(name, { type: String(first.type ?? 'gauge'), unit: String(first.unit ?? '') });
      } catch {
        // Unreachable now: names keep their suffix-based units.
      }
    }
    metaBusy = false;
  };

  /** A series' value for charts: the rate for counters, else the value. */
  const valueOf = (/** @type {Entry | undefined} */ e) => {
    if (!e) return NaN;
    if (typeOf(e.name) !== 'counter') return e.value;
    return rates.get(e.key)?.rate ?? NaN;
  };

  /** Called for each updated series (from the dashboard's intake). */
  const observe = (/** @type {Entry} */ e) => {
    if (typeOf(e.name) === 'counter') {
      const r = rates.get(e.key);
      if (!r) rates.set(e.key, { v: e.value, t: e.ts, rate: NaN });
      else if (e.ts > r.t) {
        r.rate = counterRate(r.v, r.t, e.value, e.ts);
        r.v = e.value;
        r.t = e.ts;
      }
    }
  };

  // ---- indexes rebuilt when the set of series changes
  /** @type {Map<string, Entry[]>} */
  let byName = new Map();
  /** The labels that tell a custom name's lines apart, per name: kept until the series change. */
  /** @type {Map<string, string[]>} */
  const varyingOf = new Map();
  const reindex = () => {
    byName = new Map();
    varyingOf.clear();
    // The custom names are cached for a second; new series (the first snapshot, say) must show now.
    customCache = { at: -1, list: [] };
    pods = [];
    for (const e of entries.values()) {
      if (e.labels.pod !== undefined && /^(gpu_|npu_|nvidia_gpu_)/.test(e.name)) pods.push(e);
      let l = byName.get(e.name);
      if (!l) byName.set(e.name, (l = []));
      l.push(e);
    }
  };
  const of = (/** @type {string} */ name, /** @type {(l: Record<string, string>) => boolean} */ pred = () => true) => (byName.get(name) ?? []).filter((e) => pred(e.labels));
  const one = (/** @type {string} */ name, /** @type {(l: Record<string, string>) => boolean} */ pred = () => true) => of(name, pred)[0];

  // ---- charts
  /**
   * @typedef {{ spec: ChartSpec, card: HTMLElement, plotEl: HTMLElement, foot: HTMLElement, u: any, labels: string[],
   *   data: number[][], visible: boolean, seen: boolean, lastLen: number }} Chart
   */
  /** @type {Map<string, Chart>} */
  const charts = new Map();
  /** @type {WeakMap<Element, Chart>} */
  const chartOfCard = new WeakMap();
  // A chart's uPlot is made when its card first comes near the screen, and only charts on screen
  // redraw: a page of 30 charts costs what the few in view cost. Cards keep sampling off screen,
  // so a chart scrolled into view shows its last minutes at once.
  const io = typeof IntersectionObserver === 'function'
    ? new IntersectionObserver((items) => {
      const shown = [];
      for (const it of items) {
        const c = chartOfCard.get(it.target);
        if (!c || charts.get(c.spec.id) !== c) continue;
        c.seen = true;
        c.visible = it.isIntersecting;
        if (c.visible) shown.push(c);
      }
      drawShown(shown);
    }, { rootMargin: `${IO_MARGIN_PX}px 0px` })
    : undefined;
  /**
   * Redraws charts near the screen. Those without a uPlot yet are made at once for up to
   * MAKE_BUDGET_MS (at least one), the rest in the next animation frames under the same budget, so
   * the first charts paint with the frame that made their cards and a long page never holds one
   * frame for all of its charts.
   */
  const drawShown = (/** @type {Chart[]} */ shown) => {
    const ready = shown.filter((c) => c.u);
    const widths = widthsOf(ready); // reads first, then the writes
    ready.forEach((c, i) => redraw(c, widths[i]));
    for (const c of shown) if (!c.u && c.labels.length > 0 && !pending.includes(c)) pending.push(c);
    if (pending.length > 0 && !pumping) makePending();
  };
  /** @type {Chart[]} */
  const pending = [];
  let pumping = false;
  const makePending = () => {
    if (!uPlotClass()) {
      // Its deferred script has not run yet: wait for it a frame at a time.
      pumping = true;
      requestAnimationFrame(makePending);
      return;
    }
    // Every width is read before the first chart is made: a new uPlot writes to the page, so a
    // width read after it would lay the whole page out again, once per chart.
    const todo = pending.filter((c) => !c.u && c.visible && charts.get(c.spec.id) === c);
    const widths = widthsOf(todo);
    const t0 = performance.now();
    let made = 0;
    while (made < todo.length && (made === 0 || performance.now() - t0 < MAKE_BUDGET_MS)) {
      redraw(todo[made], widths[made]);
      made++;
    }
    pending.splice(0, pending.length, ...todo.slice(made));
    pumping = pending.length > 0;
    if (pumping) requestAnimationFrame(makePending);
  };
  /**
   * New cards the IntersectionObserver has not reported on yet: those in (or near) the viewport
   * are taken as visible now, so the first screen's charts are made in the frame that made their
   * cards rather than after the observer's first report a frame later. All rects are read before
   * any chart is made (one layout).
   */
  const markInView = (/** @type {Chart[]} */ fresh) => {
    const vh = window.innerHeight;
    const rects = fresh.map((c) => c.card.getBoundingClientRect());
    // Only those on the screen itself: the observer brings the ones near it a frame later.
    fresh.forEach((c, i) => {
      const r = rects[i];
      if (r.width > 0 && r.top < vh && r.bottom > 0) c.visible = true;
    });
  };

  const axisColor = () => getComputedStyle(document.documentElement).getPropertyValue('--muted').trim() || '#8a98ab';
  const gridColor = () => getComputedStyle(document.documentElement).getPropertyValue('--line-soft').trim() || '#1a2330';

  /** uPlot options for a chart of `labels` in `unit`. */
  const plotOpts = (/** @type {ChartSpec} */ spec, /** @type {string[]} */ labels, /** @type {number} */ width, /** @type {number} */ height, legend = false) => {
    const muted = axisColor();
    const grid = gridColor();
    return {
      width,
      height,
      legend: { show: legend, live: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      // One point alone would stretch the time axis over years: show at least the last minute.
      scales: { x: { time: true, range: (/** @type {any} */ _u, /** @type {number} */ lo, /** @type {number} */ hi) => (hi - lo < 60 ? [hi - 60, hi] : [lo, hi]) }, y: spec.range ? { range: spec.range } : { range: (/** @type {any} */ _u, /** @type {number} */ lo, /** @type {number} */ hi) => (lo === hi || lo == null ? [Math.min(0, lo ?? 0), Math.max(1, hi ?? 1)] : [Math.min(0, lo), hi * 1.1]) } },
      axes: [
        { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
        { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 78, values: (/** @type {any} */ _u, /** @type {number[]} */ vals) => vals.map((v) => tickText(v, spec.unit, spec.rate)) },
      ],
      series: [
        {},
        ...labels.map((label, i) => ({
          label,
          stroke: PALETTE[i % PALETTE.length],
          width: 1.5,
          points: { show: false },
          fill: spec.stacked ? PALETTE[i % PALETTE.length] + '55' : undefined,
          value: (/** @type {any} */ _u, /** @type {number} */ v) => tickText(v, spec.unit, spec.rate),
          spanGaps: false,
        })),
      ],
    };
  };

  const makeChart = (/** @type {ChartSpec} */ spec, /** @type {HTMLElement} */ parent) => {
    // A div, not a figure: a figure may not take the button role it needs to be keyboard-operable.
    const card = h('div', 'chart');
    card.tabIndex = 0;
    card.setAttribute('role', 'button');
    card.setAttribute('aria-label', `${spec.title}: open the large chart`);
    const cap = h('div', 'chart-title');
    cap.append(h('span', 'chart-name', spec.title), h('span', 'chart-unit', spec.rate ? `${formatUnit(1, spec.unit, true).unit}` : formatUnit(1, spec.unit).unit));
    const plotEl = h('div', 'plot');
    const foot = h('div', 'chart-foot');
    card.append(cap, plotEl, foot);
    parent.append(card);
    /** @type {Chart} */
    const c = { spec, card, plotEl, foot, u: undefined, labels: [], data: [[]], visible: !io, seen: !io, lastLen: 0 };
    const open = () => openDetail(spec);
    card.addEventListener('click', open);
    card.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        open();
      }
    });
    chartOfCard.set(card, c);
    io?.observe(card);
    charts.set(spec.id, c);
    return c;
  };

  /** Appends the current values of a chart's lines (once a second). */
  const sample = (/** @type {Chart} */ c, /** @type {number} */ tS) => {
    const lines = c.spec.lines().slice(0, MAX_LINES);
    const labels = lines.map((l) => l.label);
    if (labels.join('\u0000') !== c.labels.join('\u0000')) {
      // The set of lines changed: start over (rare: a device or label value appeared).
      c.labels = labels;
      c.data = [[], ...labels.map(() => [])];
      c.u?.destroy();
      c.u = undefined;
    }
    const xs = c.data[0];
    if (xs.length > 0 && xs[xs.length - 1] >= tS) return;
    xs.push(tS);
    let acc = 0;
    lines.forEach((l, i) => {
      let v = l.get();
      if (c.spec.stacked && Number.isFinite(v)) v = acc += v;
      c.data[i + 1].push(Number.isFinite(v) ? v : /** @type {any} */ (null));
    });
    if (xs.length > WINDOW_S) for (const a of c.data) a.splice(0, a.length - WINDOW_S);
    const all = c.spec.series?.().length ?? lines.length;
    setText(c.foot, (c.spec.note?.() ?? '') + (all > MAX_LINES ? `${c.spec.note ? ' · ' : ''}${MAX_LINES} of ${all} series shown` : ''));
  };

  let chartMarked = false;
  const plotWidth = (/** @type {Chart} */ c) => Math.max(160, c.plotEl.clientWidth || 300);
  /**
   * The plot widths of `cs`, one read per grid: its cards share one column width, and a read in
   * a card that content-visibility skips lays that card out on its own.
   */
  const widthsOf = (/** @type {Chart[]} */ cs) => {
    /** @type {Map<Element | null, number>} */
    const perGrid = new Map();
    return cs.map((c) => {
      let w = perGrid.get(c.card.parentElement);
      if (w === undefined) perGrid.set(c.card.parentElement, (w = plotWidth(c)));
      return w;
    });
  };
  /** Draws a chart (creating its uPlot the first time); `w` is its width when already measured. */
  const redraw = (/** @type {Chart} */ c, /** @type {number} */ w = undefined) => {
    const UPlot = uPlotClass();
    if (!UPlot || c.labels.length === 0) return;
    const width = w ?? plotWidth(c);
    if (!c.u) {
      if (!chartMarked) performance.mark('mm:chart-start');
      c.u = new UPlot(plotOpts(c.spec, c.labels, width, 140, true), c.data, c.plotEl);
      c.lastLen = c.data[0].length;
      if (!chartMarked) {
        chartMarked = true;
        performance.mark('mm:chart');
      }
      return;
    }
    if (c.u.width !== width) c.u.setSize({ width, height: 140 });
    c.u.setData(c.data);
  };

  // ---- sections
  /** @typedef {{ id: string, el: HTMLElement, body: HTMLElement, why: HTMLElement, specs: () => ChartSpec[], extra?: (body: HTMLElement) => void, present: () => boolean, explain: () => string }} Section */
  /** @type {Section[]} */
  const sections = [];
  const section = (/** @type {string} */ id, /** @type {string} */ title, /** @type {Omit<Section, 'id'|'el'|'body'|'why'>} */ s) => {
    const el = h('section', 'sec');
    el.id = 'sec-' + id;
    el.setAttribute('aria-labelledby', `sec-${id}-title`);
    const head = h('h2', 'sec-title', title);
    head.id = `sec-${id}-title`;
    const why = h('p', 'sec-why');
    const body = h('div', 'sec-body');
    el.append(head, why, body);
    container.append(el);
    sections.push({ id, el, body, why, ...s });
  };

  const capWhy = (/** @type {string} */ kind, /** @type {string} */ what) => {
    const a = caps?.accelerators?.[kind];
    if (!caps) return `No ${what} series yet.`;
    if (!a) return `No ${what} series.`;
    if (a.available) return `${what} found; waiting for its first readings.`;
    const reasons = /** @type {Record<string, string>} */ ({
      no_device: `no ${what} on this node`, no_driver: 'the driver is not loaded', not_installed: 'its tool is not installed',
      no_permission: 'the agent may not read it (permission denied)', disabled: 'its collector is disabled', failing: 'its collector fails', pending: 'its collector has not run yet',
    });
    return `No ${what}: ${reasons[a.reason] ?? a.reason}${a.detail ? ` (${a.detail})` : ''}.`;
  };
  const collectorWhy = (/** @type {string} */ name, /** @type {string} */ what) => {
    const c = caps?.collectors?.find((/** @type {any} */ x) => x.name === name);
    if (!c) return `No ${what} series yet.`;
    if (c.active) return `Waiting for ${what} readings.`;
    return `No ${what}: ${c.reason}${c.detail ? ` (${c.detail})` : ''}.`;
  };

  const byLabel = (/** @type {Entry[]} */ es, /** @type {(e: Entry) => string} */ label) => es.map((e) => /** @type {Line} */ ({ label: label(e), get: () => valueOf(entries.get(e.key)) }));

  // CPU: total usage split by mode, and a per-core heatmap.
  section('cpu', 'CPU', {
    present: () => byName.has('cpu_usage_idle'),
    explain: () => collectorWhy('cpu', 'CPU'),
    specs: () => [{
      id: 'cpu-usage', title: 'CPU usage by mode', unit: '%', stacked: true, range: [0, 100],
      lines: () => ['user', 'system', 'iowait', 'irq', 'softirq', 'steal', 'nice']
        .map((m) => ({ m, e: one('cpu_usage_' + m, (l) => l.cpu === 'cpu-total') }))
        .filter((x) => x.e)
        .map((x) => ({ label: x.m, get: () => entries.get(/** @type {Entry} */ (x.e).key)?.value ?? NaN })),
    }],
    extra: (body) => heatmap(body),
  });
  section('mem', 'Memory', {
    present: () => byName.has('mem_used') || byName.has('mem_used_percent'),
    explain: () => collectorWhy('mem', 'memory'),
    specs: () => [{
      id: 'mem-bytes', title: 'Memory', unit: 'bytes',
      lines: () => ['used', 'cached', 'buffered', 'available', 'total'].map((m) => one('mem_' + m)).filter(Boolean).map((e) => ({ label: /** @type {Entry} */ (e).name.slice(4), get: () => entries.get(/** @type {Entry} */ (e).key)?.value ?? NaN })),
    }],
  });
  section('thermal', 'Temperatures and frequencies', {
    present: () => byName.has('temp_temp') || byName.has('cpu_frequency_hertz'),
    explain: () => collectorWhy('temp', 'temperature sensors'),
    specs: () => [
      ...(byName.has('temp_temp') ? [{ id: 'temps', title: 'Temperatures', unit: '°C', series: () => of('temp_temp'), lines: () => byLabel(of('temp_temp'), (e) => e.labels.sensor ?? e.key) }] : []),
      ...(byName.has('cpu_frequency_hertz') ? [{
        id: 'cpufreq', title: 'CPU frequency (min / avg / max over cores)', unit: 'Hz',
        lines: () => {
          const cores = of('cpu_frequency_hertz');
          const vals = () => cores.map((e) => entries.get(e.key)?.value ?? NaN).filter(Number.isFinite);
          return [
            { label: 'min', get: () => Math.min(...vals()) },
            { label: 'avg', get: () => { const v = vals(); return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN; } },
            { label: 'max', get: () => Math.max(...vals()) },
          ];
        },
      }] : []),
    ],
  });

  // GPUs: one group of charts per Intel gpu_id and per NVIDIA gpu.
  const gpuIds = () => [...new Set([...(byName.get('gpu_frequency') ?? []), ...(byName.get('gpu_busy_ratio') ?? []), ...(byName.get('gpu_engine_usage_usage') ?? [])].map((e) => e.labels.gpu_id).filter((x) => x !== undefined))].sort();
  const nvIds = () => [...new Set((byName.get('nvidia_gpu_utilization_ratio') ?? []).map((e) => e.labels.gpu))].sort();
  section('gpu', 'GPU', {
    present: () => gpuIds().length > 0 || nvIds().length > 0,
    explain: () => `${capWhy('intel_gpu', 'Intel GPU')} ${capWhy('nvidia_gpu', 'NVIDIA GPU')}`,
    specs: () => [
      ...gpuIds().flatMap((id) => {
        const g = (/** @type {Record<string, string>} */ l) => l.gpu_id === id;
        const gtLabel = (/** @type {Entry} */ e) => (e.labels.gt !== undefined ? `gt${e.labels.gt} ` : '');
        const driver = one('gpu_frequency', g)?.labels.driver ?? one('gpu_busy_ratio', g)?.labels.driver ?? '';
        const name = `GPU ${id}${driver ? ` (${driver})` : ''}`;
        /** @type {ChartSpec[]} */
        const out = [
          { id: `gpu${id}-engines`, title: `${name}: engines (stacked)`, unit: '%', stacked: true, series: () => of('gpu_engine_usage_usage', g), lines: () => byLabel(of('gpu_engine_usage_usage', g), (e) => e.labels.engine ?? e.labels.type ?? '?') },
          { id: `gpu${id}-freq`, title: `${name}: frequency, actual vs requested`, unit: 'MHz', series: () => of('gpu_frequency', (l) => g(l) && (l.type === 'act_freq' || l.type === 'cur_freq' || l.type === 'max_freq')), lines: () => byLabel(of('gpu_frequency', (l) => g(l) && (l.type === 'act_freq' || l.type === 'cur_freq' || l.type === 'max_freq')), (e) => gtLabel(e) + ({ act_freq: 'actual', cur_freq: 'requested', max_freq: 'max' }[e.labels.type] ?? e.labels.type)) },
          { id: `gpu${id}-power`, title: `${name}: power`, unit: 'W', series: () => of('gpu_power', g), lines: () => [...byLabel(of('gpu_power', g), (e) => e.labels.type ?? 'power'), ...byLabel(of('gpu_power_limit_watts', g), (e) => `limit ${e.labels.sensor ?? ''}`)] },
          { id: `gpu${id}-vram`, title: `${name}: VRAM`, unit: 'bytes', lines: () => [...byLabel(of('gpu_memory_used_bytes', g), () => 'used'), ...byLabel(of('gpu_memory_total_bytes', g), () => 'total')] },
          {
            id: `gpu${id}-busy`, title: `${name}: busy and throttling`, unit: 'ratio', range: [0, 1],
            lines: () => [...byLabel(of('gpu_busy_ratio', g), (e) => gtLabel(e) + 'busy'), ...byLabel(of('gpu_throttle_active', g), (e) => gtLabel(e) + 'throttled')],
            note: () => {
              const t = of('gpu_throttle_active', g).filter((e) => entries.get(e.key)?.value === 1);
              return t.length > 0 ? `throttled now: ${t.map((e) => (e.labels.gt !== undefined ? 'gt' + e.labels.gt : 'yes')).join(', ')}` : 'not throttled';
            },
          },
        ];
        return out.filter((s) => s.lines().length > 0);
      }),
      ...nvIds().flatMap((id) => {
        const g = (/** @type {Record<string, string>} */ l) => l.gpu === id;
        const model = one('nvidia_gpu_utilization_ratio', g)?.labels.model ?? '';
        const name = `NVIDIA ${id}${model ? ` (${model})` : ''}`;
        /** @type {ChartSpec[]} */
        const out = [
          { id: `nv${id}-util`, title: `${name}: utilisation`, unit: 'ratio', range: [0, 1], lines: () => [...byLabel(of('nvidia_gpu_utilization_ratio', g), () => 'gpu'), ...byLabel(of('nvidia_gpu_memory_utilization_ratio', g), () => 'memory')] },
          { id: `nv${id}-power`, title: `${name}: power`, unit: 'W', lines: () => [...byLabel(of('nvidia_gpu_power_watts', g), () => 'draw'), ...byLabel(of('nvidia_gpu_power_limit_watts', g), () => 'limit')] },
          { id: `nv${id}-mem`, title: `${name}: memory`, unit: 'bytes', lines: () => [...byLabel(of('nvidia_gpu_memory_used_bytes', g), () => 'used'), ...byLabel(of('nvidia_gpu_memory_total_bytes', g), () => 'total')] },
          { id: `nv${id}-clock`, title: `${name}: clocks`, unit: 'Hz', lines: () => byLabel(of('nvidia_gpu_clock_hertz', g), (e) => e.labels.clock ?? 'clock') },
        ];
        return out.filter((s) => s.lines().length > 0);
      }),
    ],
  });

  section('npu', 'NPU', {
    present: () => byName.has('npu_info') || byName.has('npu_utilization') || byName.has('npu_busy_seconds_total'),
    explain: () => capWhy('intel_npu', 'NPU'),
    specs: () => {
      const gen = one('npu_info')?.labels.platform;
      const name = `NPU${gen && gen !== 'unknown' ? ` (${gen})` : ''}`;
      /** @type {ChartSpec[]} */
      const out = [
        { id: 'npu-util', title: `${name}: utilisation`, unit: '%', range: [0, 100], lines: () => byLabel(of('npu_utilization'), () => 'busy') },
        { id: 'npu-freq', title: `${name}: frequency vs max`, unit: 'Hz', lines: () => [...byLabel(of('npu_frequency_current_hertz'), () => 'current'), ...byLabel(of('npu_workpoint_frequency_hertz'), () => 'work point'), ...byLabel(of('npu_frequency_max_hertz'), () => 'max')] },
        { id: 'npu-power', title: `${name}: power`, unit: 'W', lines: () => byLabel(of('npu_power'), () => 'power') },
        { id: 'npu-mem', title: `${name}: memory`, unit: 'bytes', lines: () => byLabel(of('npu_memory_used_bytes'), () => 'used') },
      ].filter((s) => s.lines().length > 0);
      // The runtime state goes on the section's first chart, whichever it is: utilisation is
      // rate-derived and missing for the collector's first cycle (or for good when busy time is
      // unreadable), while npu_runtime_active is there from the first reading.
      if (out.length > 0) {
        out[0] = {
          ...out[0],
          note: () => {
            const r = one('npu_runtime_active');
            const v = r ? entries.get(r.key)?.value : undefined;
            return v === undefined || Number.isNaN(v) ? '' : v === 1 ? 'runtime: active' : 'runtime: suspended';
          },
        };
      }
      return out;
    },
  });

  // Per pod: accelerator series that carry a pod label.
  section('pods', 'Accelerators per pod', {
    present: () => podEntries().length > 0,
    explain: () => 'No accelerator series carry a pod yet (the agent attributes GPU and NPU use to pods when it knows them).',
    specs: () => {
      /** @type {Map<string, Entry[]>} */
      const byMetric = new Map();
      for (const e of podEntries()) {
        let l = byMetric.get(e.name);
        if (!l) byMetric.set(e.name, (l = []));
        l.push(e);
      }
      return [...byMetric].map(([metric, es]) => ({
        id: 'pod-' + metric, title: metric, unit: unitOfName(metric), rate: typeOf(metric) === 'counter', series: () => es,
        lines: () => byLabel(es, (e) => `${e.labels.namespace ? e.labels.namespace + '/' : ''}${e.labels.pod}${e.labels.container ? '/' + e.labels.container : ''}`),
      }));
    },
  });
  // Recomputed when the set of series changes (reindex), not every second.
  /** @type {Entry[]} */
  let pods = [];
  const podEntries = () => pods;

  // Custom metrics: one card per name (busiest first), labels as series.
  section('custom', 'Custom metrics', {
    present: () => customNames().length > 0,
    explain: () => '',
    specs: () => customNames().slice(0, MAX_CUSTOM_CARDS).map(({ name, es, hist }) => {
      wantMeta(hist ? name + '_bucket' : name);
      const varying = varyingOf.get(name) ?? varyingLabels(es.length > 500 ? es.slice(0, 500) : es);
      varyingOf.set(name, varying);
      const label = (/** @type {Entry} */ e) => varying.map((k) => `${k}=${e.labels[k]}`).join(', ') || name;
      if (hist) return histogramSpec(name, varying);
      const counter = typeOf(name) === 'counter';
      return {
        id: 'custom-' + name, title: counter ? `${name} (rate)` : name, unit: unitOfName(name), rate: counter,
        series: () => byName.get(name) ?? [], lines: () => byLabel((byName.get(name) ?? []).slice(0, MAX_LINES), label),
      };
    }),
  });

  /**
   * Per histogram name, what its quantiles are computed from. It lives here, not in the spec: the
   * section builds its specs anew every tick, and state kept in a spec was lost each second, so
   * the increase was never seen and the lines stayed empty.
   * @type {Map<string, { prev: Map<string, number>, lastQ: Map<string, number[]>, cache: Map<string, number[]>, cacheAt: number }>}
   */
  const histState = new Map();

  /** Histogram: p50/p90/p99 over the buckets' increase since the previous second, per label set. */
  const histogramSpec = (/** @type {string} */ base, /** @type {string[]} */ varying) => {
    let st = histState.get(base);
    if (!st) histState.set(base, (st = { prev: new Map(), lastQ: new Map(), cache: new Map(), cacheAt: 0 }));
    const state = st;
    const { prev, lastQ } = state;
    const groups = () => {
      /** @type {Map<string, Entry[]>} */
      const g = new Map();
      for (const e of byName.get(base + '_bucket') ?? []) {
        const k = varying.filter((x) => x !== 'le').map((x) => e.labels[x]).join(',');
        let l = g.get(k);
        if (!l) g.set(k, (l = []));
        l.push(e);
      }
      return g;
    };
    const quantiles = (/** @type {string} */ k, /** @type {Entry[]} */ es) => {
      /** @type {Array<[number, number]>} */
      const inc = [];
      let any = false;
      for (const e of es) {
        const cur = entries.get(e.key)?.value ?? NaN;
        const p = prev.get(e.key);
        prev.set(e.key, cur);
        const d = p === undefined || cur < p ? NaN : cur - p;
        if (d > 0) any = true;
        inc.push([Number(e.labels.le === '+Inf' ? Infinity : e.labels.le), d]);
      }
      if (any) lastQ.set(k, [0.5, 0.9, 0.99].map((q) => bucketQuantile(inc, q)));
      return lastQ.get(k) ?? [NaN, NaN, NaN];
    };
    const compute = () => {
      const t = Math.floor(serverNow() / 1000);
      if (t !== state.cacheAt) {
        state.cacheAt = t;
        state.cache = new Map();
        for (const [k, es] of groups()) state.cache.set(k, quantiles(k, es));
      }
      return state.cache;
    };
    const unit = unitOfName(base);
    const shown = () => [...groups().keys()].slice(0, 2);
    return {
      id: 'custom-' + base, title: `${base} (quantiles)`, unit,
      lines: () => shown().flatMap((k) => ['p50', 'p90', 'p99'].map((q, i) => ({ label: (k ? k + ' ' : '') + q, get: () => compute().get(k)?.[i] ?? NaN }))),
      // The latest quantiles as text: the figures an operator reads off the chart, with units.
      note: () => shown().map((k) => {
        const q = compute().get(k) ?? [NaN, NaN, NaN];
        const head = k ? `${k}: ` : '';
        if (!q.some(Number.isFinite)) return `${head}no observations yet`;
        return head + ['p50', 'p90', 'p99'].map((n, i) => `${n} ${tickText(q[i], unit)}`).join(' · ');
      }).join(' | '),
    };
  };

  /** Custom metric names with their series, busiest first; histogram buckets folded into their base name. */
  /** @type {{ at: number, list: Array<{ name: string, es: Entry[], hist: boolean, busy: number }> }} */
  let customCache = { at: -1, list: [] };
  const customNames = () => {
    const at = Math.floor(Date.now() / 1000);
    if (customCache.at === at) return customCache.list;
    /** @type {Array<{ name: string, es: Entry[], hist: boolean, busy: number }>} */
    const out = [];
    const now = Date.now();
    for (const [name, es] of byName) {
      if (isSystemName(name)) continue;
      if (/_(sum|count)$/.test(name) && byName.has(name.replace(/_(sum|count)$/, '_bucket'))) continue;
      const hist = /_bucket$/.test(name) && es.every((e) => e.labels.le !== undefined);
      const busy = es.reduce((n, e) => n + (now - e.seenAt < 5000 ? 1 : 0), 0);
      out.push({ name: hist ? name.slice(0, -7) : name, es, hist, busy });
    }
    out.sort((a, b) => b.busy - a.busy || (a.name < b.name ? -1 : 1));
    customCache = { at, list: out };
    return out;
  };

  // ---- the per-core heatmap: one row per core, one column per second, colour = busy %
  /** @type {{ canvas: HTMLCanvasElement, cores: string[], legend: HTMLElement } | undefined} */
  let heat;
  const heatmap = (/** @type {HTMLElement} */ body) => {
    if (heat && heat.canvas.isConnected) return;
    const fig = h('figure', 'chart heat');
    const cap = h('figcaption', 'chart-title');
    cap.append(h('span', 'chart-name', 'Per-core busy (last 5 minutes; brighter = busier)'), h('span', 'chart-unit', '%'));
    const canvas = document.createElement('canvas');
    canvas.width = WINDOW_S;
    canvas.height = 64;
    canvas.className = 'heat-canvas';
    canvas.setAttribute('role', 'img');
    const legend = h('div', 'chart-foot');
    fig.append(cap, canvas, legend);
    body.append(fig);
    heat = { canvas, cores: [], legend };
  };
  const heatTick = () => {
    if (!heat) return;
    const cores = of('cpu_usage_idle', (l) => /^cpu\d+$/.test(l.cpu ?? '')).sort((a, b) => Number(a.labels.cpu.slice(3)) - Number(b.labels.cpu.slice(3)));
    if (cores.length === 0) return;
    const ctx = heat.canvas.getContext('2d');
    if (!ctx) return;
    const H = heat.canvas.height;
    // Shift one column left, draw the newest column at the right edge.
    ctx.drawImage(heat.canvas, -1, 0);
    const rowH = H / cores.length;
    let busiest = 0;
    cores.forEach((e, i) => {
      const busy = Math.max(0, Math.min(100, 100 - (entries.get(e.key)?.value ?? NaN)));
      if (Number.isFinite(busy)) busiest = Math.max(busiest, busy);
      ctx.fillStyle = Number.isFinite(busy) ? `hsl(${170 - busy * 1.7}, 80%, ${12 + busy * 0.5}%)` : '#333';
      ctx.fillRect(heat.canvas.width - 1, i * rowH, 1, Math.ceil(rowH));
    });
    heat.canvas.setAttribute('aria-label', `${cores.length} cores, busiest ${busiest.toFixed(0)}%`);
    setText(heat.legend, `${cores.length} cores · busiest now ${busiest.toFixed(0)}% · rows cpu0 (top) … cpu${cores.length - 1}`);
  };

  // ---- the large chart
  const dlg = /** @type {HTMLDialogElement} */ (document.getElementById('detail'));
  const dTitle = /** @type {HTMLElement} */ (document.getElementById('detail-title'));
  const dPlot = /** @type {HTMLElement} */ (document.getElementById('detail-plot'));
  const dNote = /** @type {HTMLElement} */ (document.getElementById('detail-note'));
  const dPause = /** @type {HTMLButtonElement} */ (document.getElementById('detail-pause'));
  /** @type {{ spec: ChartSpec, u: any, data: number[][], rangeS: number, paused: boolean, entries: Entry[], labels: string[] } | undefined} */
  let detail;
  let detailRangeS = 300;

  /**
   * Opens the large chart: a chart spec (from a section) or a single series (from the table).
   * History comes from query_range for the spec's underlying series (counters turned into rates).
   */
  const openDetail = (/** @type {ChartSpec} */ spec) => {
    if (!dlg || !uPlotClass()) return;
    detail?.u?.destroy();
    const lines = spec.lines().slice(0, MAX_LINES);
    const es = (spec.series?.() ?? []).slice(0, MAX_LINES);
    detail = { spec, u: undefined, data: [[], ...lines.map(() => [])], rangeS: detailRangeS, paused: false, entries: es, labels: lines.map((l) => l.label) };
    setText(dTitle, spec.title);
    setText(dNote, 'Loading history…');
    dPause.setAttribute('aria-pressed', 'false');
    setText(dPause, 'Pause');
    if (!dlg.open) dlg.showModal();
    void loadHistory();
  };

  const loadHistory = async () => {
    const d = detail;
    if (!d) return;
    const now = serverNow();
    const stepS = Math.max(1, Math.round(d.rangeS / 600));
    const start = Math.floor(now / 1000) - d.rangeS;
    const xs = [];
    for (let t = start; t <= Math.floor(now / 1000); t += stepS) xs.push(t);
    /** @type {number[][]} */
    const cols = d.labels.map(() => xs.map(() => /** @type {any} */ (null)));
    // History exists for plain series of the store; derived lines (min/avg/max, quantiles) start live.
    const direct = d.entries.length === d.labels.length ? d.entries : [];
    let note = direct.length > 0 ? '' : 'Derived lines: shown from now on (no stored history to derive them from).';
    for (let i = 0; i < direct.length; i++) {
      const e = direct[i];
      try {
        const url = new URL('api/v1/query_range', root);
        url.searchParams.set('match', exactSelector(e.name, e.labels));
        url.searchParams.set('start', String(start));
        url.searchParams.set('end', String(Math.floor(now / 1000)));
        url.searchParams.set('step', stepS + 's');
        const res = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' });
        if (!res.ok) {
          note = `History unavailable: HTTP ${res.status}`;
          continue;
        }
        const body = await res.json();
        const vals = body?.data?.result?.[0]?.values ?? [];
        const counter = typeOf(e.name) === 'counter';
        /** @type {number | undefined} */ let pv;
        /** @type {number | undefined} */ let pt;
        for (const [t, v] of vals) {
          const idx = Math.round((Number(t) - start) / stepS);
          let y = Number(v);
          if (counter) {
            const r = pv === undefined ? NaN : counterRate(pv, /** @type {number} */ (pt) * 1000, y, Number(t) * 1000);
            pv = y;
            pt = Number(t);
            y = r;
          }
          if (idx >= 0 && idx < xs.length && Number.isFinite(y)) cols[i][idx] = y;
        }
      } catch {
        note = 'History unavailable: agent unreachable';
      }
    }
    if (detail !== d) return;
    if (d.spec.stacked) {
      for (let j = 0; j < xs.length; j++) {
        let acc = 0;
        for (const c of cols) if (c[j] != null) c[j] = acc += c[j];
      }
    }
    d.data = [xs, ...cols];
    const first = xs.length > 0 ? new Date(xs[0] * 1000).toLocaleTimeString() : '';
    setText(dNote, note || `Last ${d.rangeS >= 3600 ? d.rangeS / 3600 + ' h' : d.rangeS / 60 + ' min'} from the agent's history (from ${first}, every ${stepS} s), then live. The store keeps what its history setting allows; older points are not shown.`);
    d.u?.destroy();
    d.u = new (uPlotClass())(plotOpts(d.spec, d.labels, Math.max(280, dPlot.clientWidth || 800), Math.max(220, Math.min(480, window.innerHeight - 260)), true), d.data, dPlot);
  };

  const detailTick = (/** @type {number} */ tS) => {
    const d = detail;
    if (!d || !d.u || d.paused || !dlg.open) return;
    const lines = d.spec.lines().slice(0, MAX_LINES);
    const xs = d.data[0];
    const stepS = Math.max(1, Math.round(d.rangeS / 600));
    if (xs.length > 0 && tS - xs[xs.length - 1] < stepS) return;
    xs.push(tS);
    let acc = 0;
    d.labels.forEach((label, i) => {
      const l = lines.find((x) => x.label === label);
      let v = l ? l.get() : NaN;
      if (d.spec.stacked && Number.isFinite(v)) v = acc += v;
      d.data[i + 1].push(Number.isFinite(v) ? v : /** @type {any} */ (null));
    });
    const keep = Math.ceil(d.rangeS / stepS) + 1;
    if (xs.length > keep) for (const a of d.data) a.splice(0, a.length - keep);
    d.u.setData(d.data);
  };

  if (dlg) {
    for (const b of /** @type {HTMLButtonElement[]} */ ([...dlg.querySelectorAll('button[data-range]')])) {
      b.addEventListener('click', () => {
        detailRangeS = Number(b.dataset.range);
        for (const o of dlg.querySelectorAll('button[data-range]')) o.setAttribute('aria-pressed', String(o === b));
        if (detail) {
          detail.rangeS = detailRangeS;
          void loadHistory();
        }
      });
    }
    dPause.addEventListener('click', () => {
      if (!detail) return;
      detail.paused = !detail.paused;
      dPause.setAttribute('aria-pressed', String(detail.paused));
      setText(dPause, detail.paused ? 'Resume' : 'Pause');
    });
    document.getElementById('detail-close')?.addEventListener('click', () => dlg.close());
    dlg.addEventListener('close', () => {
      detail?.u?.destroy();
      detail = undefined;
    });
  }

  /** The table's rows open a single series. */
  const openSeries = (/** @type {Entry} */ e) => {
    wantMeta(e.name);
    const counter = typeOf(e.name) === 'counter';
    const labelStr = Object.keys(e.labels).map((k) => `${k}=${e.labels[k]}`).join(', ');
    openDetail({
      id: 'series', title: `${e.name}${labelStr ? ' {' + labelStr + '}' : ''}${counter ? ' (rate)' : ''}`, unit: unitOfName(e.name), rate: counter,
      series: () => [e], lines: () => [{ label: e.name, get: () => valueOf(entries.get(e.key)) }],
    });
  };

  // ---- once a second: sample, lay out, redraw what is on screen
  let structure = '';
  const tick = () => {
    const tS = Math.floor(serverNow() / 1000);
    const ids = [];
    for (const s of sections) {
      const present = s.present();
      s.el.dataset.empty = String(!present);
      setText(s.why, present ? '' : s.explain());
      s.why.hidden = present || s.why.textContent === '';
      s.el.hidden = !present && s.why.hidden;
      if (!present) {
        for (const c of [...charts.values()]) if (c.card.parentElement === s.body) drop(c);
        continue;
      }
      s.extra?.(s.body);
      const specs = s.specs();
      const want = new Set(specs.map((x) => x.id));
      for (const c of [...charts.values()]) if (c.card.parentElement === s.body && !want.has(c.spec.id)) drop(c);
      // Cards follow the order of the specs, not the order their series arrived in (a rate-derived
      // chart shows up a cycle late and would otherwise land after its siblings).
      /** @type {Element | null} */
      let prev = s.body.querySelector(':scope > .heat');
      for (const spec of specs) {
        let c = charts.get(spec.id);
        if (!c) c = makeChart(spec, s.body);
        else c.spec = spec;
        const want = prev ? prev.nextElementSibling : s.body.firstElementChild;
        if (want !== c.card) s.body.insertBefore(c.card, want);
        prev = c.card;
        sample(c, tS);
        ids.push(spec.id);
      }
    }
    structure = ids.join(',');
    const fresh = [...charts.values()].filter((c) => !c.seen && !c.visible && !c.u && c.labels.length > 0);
    if (fresh.length > 0) markInView(fresh);
    heatTick();
    // Only charts on screen draw (a resized window reaches the others when they come into view).
    drawShown([...charts.values()].filter((c) => c.visible));
    detailTick(tS);
  };
  const drop = (/** @type {Chart} */ c) => {
    c.u?.destroy();
    io?.unobserve(c.card);
    c.card.remove();
    charts.delete(c.spec.id);
  };

  const loadCaps = () => {
    fetch(new URL('api/v1/capabilities', root), { headers: { Accept: 'application/json' }, cache: 'no-store' })
      .then((r) => (r.ok ? r.json() : undefined))
      .then((b) => {
        if (b) caps = b;
      })
      .catch(() => {});
  };
  whenIdle(loadCaps);
  // Devices come and go rarely; the reasons may change (a collector's first cycle).
  setInterval(loadCaps, 30_000);

  return {
    reindex,
    observe,
    tick,
    openSeries,
    /** For tests and the bench: the chart ids on the page. */
    structure: () => structure,
  };
}
