/**
 * `metrics-manager top`: the model and the screen, both pure. `TopModel` takes the SSE events of
 * GET /metrics/stream (delta mode) and keeps the latest value and an update rate per series;
 * `renderScreen` turns it into exactly `height` lines of at most `width` columns. No I/O, no clock:
 * times come in as arguments, so tests render a screen from recorded events.
 */

export interface TopSeries {
  name: string;
  labels: Record<string, string>;
  value: number;
  ts: number;
  /** Updates seen in the current and previous 5-second windows (a cheap, bounded rate). */
  cur: number;
  prev: number;
}

/** Series kept at most; past it new ones are counted, not kept (the agent's own bound is the real one). */
export const MAX_TOP_SERIES = 50_000;

export class TopModel {
  readonly series = new Map<string, TopSeries>();
  dropped = 0;
  events = 0;
  lastEventMs = 0;
  private windowStart = 0;

  /** Applies one event's `data` (JSON text); returns false when it was not a metrics event. */
  apply(data: string, nowMs: number): boolean {
    let body: unknown;
    try {
      body = JSON.parse(data);
    } catch {
      return false;
    }
    if (!body || typeof body !== 'object' || !Array.isArray((body as { metrics?: unknown }).metrics)) return false;
    this.roll(nowMs);
    this.events++;
    this.lastEventMs = nowMs;
    const ev = body as { kind?: string; timestamp?: number; metrics: unknown[] };
    const seen = ev.kind === 'snapshot' ? new Set<string>() : undefined;
    for (const m of ev.metrics) {
      if (!m || typeof m !== 'object') continue;
      const r = m as { name?: unknown; labels?: unknown; value?: unknown; timestamp?: unknown };
      if (typeof r.name !== 'string') continue;
      const labels: Record<string, string> = {};
      if (r.labels && typeof r.labels === 'object') for (const k of Object.keys(r.labels).sort()) labels[k] = String((r.labels as Record<string, unknown>)[k]);
      const key = r.name + JSON.stringify(labels);
      seen?.add(key);
      let s = this.series.get(key);
      if (!s) {
        if (this.series.size >= MAX_TOP_SERIES) {
          this.dropped++;
          continue;
        }
        s = { name: r.name, labels, value: NaN, ts: 0, cur: 0, prev: 0 };
        this.series.set(key, s);
      }
      s.value = typeof r.value === 'number' ? r.value : Number(r.value === '+Inf' ? Infinity : r.value === '-Inf' ? -Infinity : NaN);
      s.ts = typeof r.timestamp === 'number' ? r.timestamp : (ev.timestamp ?? nowMs);
      s.cur++;
    }
    // A snapshot lists every series the agent has: forget the others (an agent restart).
    if (seen) for (const k of [...this.series.keys()]) if (!seen.has(k)) this.series.delete(k);
    return true;
  }

  /** Updates per second of a series over the last 5–10 s. */
  rate(s: TopSeries, nowMs: number): number {
    this.roll(nowMs);
    const span = 5 + (nowMs - this.windowStart) / 1000;
    return (s.cur + s.prev) / span;
  }

  private roll(nowMs: number): void {
    if (this.windowStart === 0) this.windowStart = nowMs;
    if (nowMs - this.windowStart < 5000) return;
    const skipped = nowMs - this.windowStart >= 10_000;
    for (const s of this.series.values()) {
      s.prev = skipped ? 0 : s.cur;
      s.cur = 0;
    }
    this.windowStart = nowMs;
  }
}

export interface ScreenState {
  url: string;
  /** live, connecting, reconnecting, or an error text. */
  status: string;
  filter: string;
  /** True while the user types a filter. */
  editing: boolean;
  paused: boolean;
  nowMs: number;
}

const IEC: Array<[number, string]> = [[2 ** 40, 'TiB'], [2 ** 30, 'GiB'], [2 ** 20, 'MiB'], [2 ** 10, 'KiB']];

export function bytes(v: number): string {
  if (!Number.isFinite(v)) return '—';
  for (const [f, u] of IEC) if (Math.abs(v) >= f) return `${(v / f).toFixed(2)} ${u}`;
  return `${Math.round(v)} B`;
}

export function hertz(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)} GHz`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(0)} MHz`;
  return `${v.toFixed(0)} Hz`;
}

export function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e12 || a < 1e-3)) return v.toExponential(2);
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (Number.isInteger(v)) return String(v);
  return a >= 100 ? v.toFixed(1) : v.toFixed(a >= 1 ? 2 : 3);
}

function bar(pct: number, width: number): string {
  if (!Number.isFinite(pct)) return ' '.repeat(width);
  const n = Math.round((Math.max(0, Math.min(100, pct)) / 100) * width);
  return '█'.repeat(n) + '░'.repeat(width - n);
}

/** Cuts or pads to exactly `w` columns (names and labels are attacker text: control characters become '?'). */
export function fit(text: string, w: number): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  const chars = [...clean];
  if (chars.length > w) return chars.slice(0, Math.max(0, w - 1)).join('') + (w > 0 ? '…' : '');
  return clean + ' '.repeat(w - chars.length);
}

const SYSTEM = /^(cpu_|mem_|temp_|swap_|disk|net_|kernel_|processes_|system_|gpu_|npu_|nvidia_gpu_|metrics_manager_)/;

/** The screen: exactly `height` lines, each exactly `width` columns. */
export function renderScreen(m: TopModel, st: ScreenState, width: number, height: number): string[] {
  const find = (name: string, pred: (l: Record<string, string>) => boolean = () => true) => {
    for (const s of m.series.values()) if (s.name === name && pred(s.labels)) return s;
    return undefined;
  };
  const all = (name: string) => [...m.series.values()].filter((s) => s.name === name);
  const lines: string[] = [];
  const host = find('cpu_usage_idle')?.labels.host ?? find('mem_used')?.labels.host ?? '';
  const clock = new Date(st.nowMs).toISOString().slice(11, 19);
  lines.push(`metrics-manager top  ${host ? host + '  ' : ''}${st.url}`);
  lines.push(`${st.paused ? 'PAUSED' : st.status}  ${clock} UTC  ${m.series.size} series${m.dropped ? ` (${m.dropped} not kept)` : ''}   q quit  / filter  p pause`);
  lines.push('');

  // Node summary.
  const idle = find('cpu_usage_idle', (l) => l.cpu === 'cpu-total');
  const cores = all('cpu_usage_idle').filter((s) => /^cpu\d+$/.test(s.labels.cpu ?? ''));
  const busiest = cores.reduce((mx, s) => Math.max(mx, 100 - s.value), -Infinity);
  if (idle) lines.push(`CPU    ${fit((100 - idle.value).toFixed(1) + '%', 7)} ${bar(100 - idle.value, 20)}  ${cores.length} cores${Number.isFinite(busiest) ? `, busiest ${busiest.toFixed(0)}%` : ''}`);
  const memPct = find('mem_used_percent');
  const used = find('mem_used');
  const total = find('mem_total');
  if (memPct) lines.push(`Memory ${fit(memPct.value.toFixed(1) + '%', 7)} ${bar(memPct.value, 20)}  ${used ? bytes(used.value) : '—'} / ${total ? bytes(total.value) : '—'}`);
  const temps = all('temp_temp').map((s) => s.value).filter(Number.isFinite);
  if (temps.length > 0) lines.push(`Temp   max ${Math.max(...temps).toFixed(0)} °C over ${temps.length} sensors`);
  if (!idle && !memPct) lines.push('No node metrics (SYSTEM_METRICS_SOURCE=none, or not read yet).');
  lines.push('');

  // Accelerators.
  const acc: string[] = [];
  const gpuIds = [...new Set([...m.series.values()].filter((s) => s.name.startsWith('gpu_') && s.labels.gpu_id !== undefined).map((s) => s.labels.gpu_id))].sort();
  for (const id of gpuIds) {
    const g = (l: Record<string, string>) => l.gpu_id === id;
    const busy = [...m.series.values()].filter((s) => s.name === 'gpu_busy_ratio' && g(s.labels)).reduce((mx, s) => Math.max(mx, s.value * 100), -Infinity);
    const freq = find('gpu_frequency', (l) => g(l) && l.type === 'act_freq');
    const power = find('gpu_power', (l) => g(l) && l.type === 'gpu_cur_power') ?? find('gpu_power', g);
    const temp = find('gpu_temperature_celsius', g);
    const vu = find('gpu_memory_used_bytes', g);
    const vt = find('gpu_memory_total_bytes', g);
    const driver = (freq ?? temp ?? power)?.labels.driver ?? '';
    acc.push(`GPU ${id}${driver ? ` (${driver})` : ''}`.padEnd(14) + [
      Number.isFinite(busy) ? `busy ${busy.toFixed(0)}%` : 'busy —',
      freq ? hertz(freq.value * 1e6) : '',
      power ? `${power.value.toFixed(1)} W` : '',
      temp ? `${temp.value.toFixed(0)} °C` : '',
      vu ? `VRAM ${bytes(vu.value)}${vt ? ' / ' + bytes(vt.value) : ''}` : '',
    ].filter(Boolean).join('  '));
  }
  for (const s of all('nvidia_gpu_utilization_ratio')) {
    const g = (l: Record<string, string>) => l.gpu === s.labels.gpu;
    const p = find('nvidia_gpu_power_watts', g);
    const mu = find('nvidia_gpu_memory_used_bytes', g);
    const mt = find('nvidia_gpu_memory_total_bytes', g);
    acc.push(`NVIDIA ${s.labels.gpu}`.padEnd(14) + [`util ${(s.value * 100).toFixed(0)}%`, p ? `${p.value.toFixed(0)} W` : '', mu ? `mem ${bytes(mu.value)}${mt ? ' / ' + bytes(mt.value) : ''}` : '', s.labels.model ?? ''].filter(Boolean).join('  '));
  }
  const npu = find('npu_utilization') ?? find('npu_info');
  if (npu) {
    const gen = find('npu_info')?.labels.platform;
    const util = find('npu_utilization');
    const f = find('npu_frequency_current_hertz');
    const fmax = find('npu_frequency_max_hertz');
    const p = find('npu_power');
    const rt = find('npu_runtime_active');
    acc.push(`NPU${gen && gen !== 'unknown' ? ` (${gen})` : ''}`.padEnd(14) + [
      util ? `util ${util.value.toFixed(0)}%` : 'util —',
      f ? `${hertz(f.value)}${fmax ? ' / ' + hertz(fmax.value) : ''}` : '',
      p ? `${p.value.toFixed(2)} W` : '',
      rt ? (rt.value === 1 ? 'active' : 'suspended') : '',
    ].filter(Boolean).join('  '));
  }
  lines.push('Accelerators');
  if (acc.length === 0) lines.push('  none reported (see GET /api/v1/capabilities for why)');
  for (const a of acc) lines.push('  ' + a);
  lines.push('');

  // The busiest custom series, filtered.
  const terms = st.filter.toLowerCase().split(/\s+/).filter(Boolean);
  const custom = [...m.series.values()].filter((s) => !SYSTEM.test(s.name)).filter((s) => {
    if (terms.length === 0) return true;
    const hay = (s.name + ' ' + Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(' ')).toLowerCase();
    return terms.every((t) => (t.startsWith('-') ? !hay.includes(t.slice(1)) : hay.includes(t)));
  });
  const rated = custom.map((s) => ({ s, r: m.rate(s, st.nowMs) })).sort((a, b) => b.r - a.r || (a.s.name < b.s.name ? -1 : 1));
  lines.push(`Busiest custom series (${custom.length})${st.filter || st.editing ? `   filter: ${st.filter}${st.editing ? '▏' : ''}` : ''}`);
  const nameW = Math.max(12, Math.floor((width - 24) * 0.4));
  const labelW = Math.max(8, width - nameW - 24);
  lines.push(`  ${fit('NAME', nameW)}${fit('LABELS', labelW)}${'VALUE'.padStart(12)}${'UPD/S'.padStart(8)}`);
  const room = Math.max(0, height - lines.length);
  if (custom.length === 0 && room > 0) {
    lines.push(st.filter ? '  no custom series match the filter' : '  none yet: push one, e.g. curl -X POST …/api/v1/metrics/simple -d \'{"name":"fps","value":30}\'');
  }
  for (const { s, r } of rated.slice(0, Math.max(0, height - lines.length))) {
    const labels = Object.entries(s.labels).filter(([k, v]) => !(k === 'host' && v === host)).map(([k, v]) => `${k}=${v}`).join(',');
    lines.push(`  ${fit(s.name, nameW)}${fit(labels, labelW)}${num(s.value).padStart(12)}${r.toFixed(1).padStart(8)}`);
  }
  while (lines.length < height) lines.push('');
  return lines.slice(0, height).map((l) => fit(l, width));
}
