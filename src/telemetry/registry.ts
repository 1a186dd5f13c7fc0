/**
 * A small metrics registry for the agent's own metrics (GET /metrics/self): counters, gauges and
 * histograms with fixed label names, written as Prometheus text format 0.0.4.
 *
 * It replaces a general-purpose client library that cost every agent a few MiB of resident memory
 * for features the agent never used (summaries, exemplars, OpenMetrics output, cluster
 * aggregation). The output keeps that library's layout, so scrapes look the same: one block per
 * family (`# HELP`, `# TYPE`, samples), blocks separated by an empty line, label values in the
 * order of `labelNames` (a histogram's `le` first), and an unlabelled counter or gauge shows 0
 * before its first update.
 *
 * Children (one per label set) are never dropped: every label value the agent passes comes from a
 * bounded set (route templates, fixed reasons, collector and sink names, namespaces already capped
 * at their source), so the number of children is bounded by the caller. Keep it that way.
 *
 * Single-threaded and synchronous: `metrics()` runs every `collect` callback, then writes the text.
 */

import { TEXT_CONTENT_TYPE, escapeTextHelp, formatValue } from '../formats/prometheus/encode';
import { escapeLabelValue } from '../model/series-key';

/** Label values by label name; a name left out is left out of the sample too. */
export type LabelValues<N extends string> = { readonly [K in N]?: string | number };

export interface MetricOptions<N extends string, M> {
  name: string;
  help: string;
  labelNames?: readonly N[];
  /** Registers the metric there (names must be unique within a registry). */
  registry?: Registry;
  /** Runs at the start of each exposition, with `this` the metric: sets values read from elsewhere. */
  collect?: (this: M) => void;
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

abstract class Metric<N extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly N[];
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  private readonly collectFn: (() => void) | undefined;

  constructor(opts: MetricOptions<N, any>) {
    if (!NAME_RE.test(opts.name)) throw new Error(`invalid metric name ${JSON.stringify(opts.name)}`);
    for (const l of opts.labelNames ?? []) {
      if (!LABEL_RE.test(l) || l.startsWith('__')) throw new Error(`${opts.name}: invalid label name ${JSON.stringify(l)}`);
    }
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = opts.labelNames ?? [];
    this.collectFn = opts.collect?.bind(this);
    opts.registry?.register(this);
  }

  /** Runs the collect callback, if any. */
  collect(): void {
    this.collectFn?.();
  }

  /** The sample lines, each ending in a line feed; '' when there are none. */
  abstract samples(): string;

  /** `a="x",b="y"` in labelNames order; '' for no labels. */
  protected labelText(labels: LabelValues<N> | undefined): string {
    if (labels === undefined) return '';
    const names = this.labelNames;
    let out = '';
    for (let i = 0; i < names.length; i++) {
      const v = labels[names[i]];
      if (v === undefined) continue;
      out += (out === '' ? '' : ',') + names[i] + '="' + escapeLabelValue(typeof v === 'string' ? v : String(v)) + '"';
    }
    return out;
  }
}

/** Counters and gauges: one number per label set. */
abstract class Scalar<N extends string> extends Metric<N> {
  /** Label text → value; insertion order is output order. */
  protected values = new Map<string, number>();

  constructor(opts: MetricOptions<N, any>) {
    super(opts);
    if (this.labelNames.length === 0) this.values.set('', 0);
  }

  /** Forgets every label set (an unlabelled metric goes back to 0). */
  reset(): void {
    this.values = new Map();
    if (this.labelNames.length === 0) this.values.set('', 0);
  }

  protected add(labels: LabelValues<N> | undefined, n: number): void {
    const key = this.labelText(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + n);
  }

  /** The current value of one label set (undefined if never set); for tests and /api/v1/stats. */
  get(labels?: LabelValues<N>): number | undefined {
    return this.values.get(this.labelText(labels));
  }

  samples(): string {
    let out = '';
    for (const [key, v] of this.values) out += this.name + (key === '' ? ' ' : '{' + key + '} ') + formatValue(v) + '\n';
    return out;
  }
}

export class Counter<N extends string = never> extends Scalar<N> {
  readonly type = 'counter';

  constructor(opts: MetricOptions<N, Counter<N>>) {
    super(opts);
  }

  /** Adds `n` (default 1). A negative or NaN `n` is ignored: a counter only goes up. */
  inc(n?: number): void;
  inc(labels: LabelValues<N>, n?: number): void;
  inc(a?: LabelValues<N> | number, b?: number): void {
    const labels = typeof a === 'object' ? a : undefined;
    const n = typeof a === 'number' ? a : (b ?? 1);
    if (!(n >= 0)) return;
    this.add(labels, n);
  }
}

export class Gauge<N extends string = never> extends Scalar<N> {
  readonly type = 'gauge';

  constructor(opts: MetricOptions<N, Gauge<N>>) {
    super(opts);
  }

  set(v: number): void;
  set(labels: LabelValues<N>, v: number): void;
  set(a: LabelValues<N> | number, b?: number): void {
    if (typeof a === 'number') this.values.set('', a);
    else this.values.set(this.labelText(a), b as number);
  }

  inc(n?: number): void;
  inc(labels: LabelValues<N>, n?: number): void;
  inc(a?: LabelValues<N> | number, b?: number): void {
    if (typeof a === 'object') this.add(a, b ?? 1);
    else this.add(undefined, a ?? 1);
  }

  dec(n?: number): void;
  dec(labels: LabelValues<N>, n?: number): void;
  dec(a?: LabelValues<N> | number, b?: number): void {
    if (typeof a === 'object') this.add(a, -(b ?? 1));
    else this.add(undefined, -(a ?? 1));
  }
}

interface HistogramChild {
  /** Observations per bucket, not cumulative; the last slot is above the highest bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

export interface HistogramOptions<N extends string> extends MetricOptions<N, Histogram<N>> {
  /** Upper bounds, strictly increasing and finite; `+Inf` is implied. */
  buckets: readonly number[];
}

export class Histogram<N extends string = never> extends Metric<N> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];
  /** `le="<bound>"` for each bucket and +Inf, formatted once. */
  private readonly leText: string[];
  private children = new Map<string, HistogramChild>();

  constructor(opts: HistogramOptions<N>) {
    if ((opts.labelNames as readonly string[] | undefined)?.includes('le')) throw new Error(`${opts.name}: le is reserved in histograms`);
    super(opts);
    const b = opts.buckets;
    for (let i = 0; i < b.length; i++) {
      if (!Number.isFinite(b[i]) || (i > 0 && !(b[i] > b[i - 1]))) throw new Error(`${opts.name}: buckets must be finite and increasing`);
    }
    this.buckets = [...b];
    this.leText = [...b.map((x) => `le="${formatValue(x)}"`), 'le="+Inf"'];
    if (this.labelNames.length === 0) this.children.set('', this.newChild());
  }

  observe(v: number): void;
  observe(labels: LabelValues<N>, v: number): void;
  observe(a: LabelValues<N> | number, b?: number): void {
    const key = typeof a === 'number' ? '' : this.labelText(a);
    const v = typeof a === 'number' ? a : (b as number);
    let c = this.children.get(key);
    if (c === undefined) this.children.set(key, (c = this.newChild()));
    const bounds = this.buckets;
    let i = 0;
    // NaN compares false with every bound and lands above them all, with +Inf.
    while (i < bounds.length && !(v <= bounds[i])) i++;
    c.counts[i]++;
    c.sum += v;
    c.count++;
  }

  reset(): void {
    this.children = new Map();
    if (this.labelNames.length === 0) this.children.set('', this.newChild());
  }

  samples(): string {
    let out = '';
    const le = this.leText;
    for (const [key, c] of this.children) {
      const rest = key === '' ? '} ' : ',' + key + '} ';
      let cum = 0;
      for (let i = 0; i < le.length; i++) {
        cum += c.counts[i];
        out += this.name + '_bucket{' + le[i] + rest + formatValue(cum) + '\n';
      }
      const labels = key === '' ? ' ' : '{' + key + '} ';
      out += this.name + '_sum' + labels + formatValue(c.sum) + '\n';
      out += this.name + '_count' + labels + formatValue(c.count) + '\n';
    }
    return out;
  }

  private newChild(): HistogramChild {
    return { counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 };
  }
}

export class Registry {
  /** The content type of `metrics()`. */
  readonly contentType = TEXT_CONTENT_TYPE;
  private readonly byName = new Map<string, Metric<string>>();

  register(m: Metric<any>): void {
    if (this.byName.has(m.name)) throw new Error(`metric ${m.name} is already registered`);
    this.byName.set(m.name, m);
  }

  /**
   * The text exposition: every collect callback runs first (so values set together, such as the
   * CPU times, come from one reading), then each family in registration order.
   */
  metrics(): string {
    for (const m of this.byName.values()) m.collect();
    const blocks: string[] = [];
    for (const m of this.byName.values()) {
      const s = m.samples();
      blocks.push('# HELP ' + m.name + ' ' + escapeTextHelp(m.help) + '\n# TYPE ' + m.name + ' ' + m.type + (s === '' ? '' : '\n' + s.slice(0, -1)));
    }
    return blocks.join('\n\n') + '\n';
  }
}
