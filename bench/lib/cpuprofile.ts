/**
 * Summarises a V8 .cpuprofile (written by `node --cpu-prof`): self time per function, the
 * functions grouped by name + script + line, largest first.
 */

import fs from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
  /** Samples per source line (1-based) of this node's own code. */
  positionTicks?: Array<{ line: number; ticks: number }>;
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTime {
  fn: string;
  where: string;
  selfMs: number;
  percent: number;
}

export interface HotLine {
  /** Where the sampled code is: the TypeScript source when a source map says so. */
  where: string;
  fn: string;
  percent: number;
  code: string;
}

export function summariseProfile(file: string, root: string, top = 25): { totalMs: number; rows: SelfTime[]; lines: HotLine[] } {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  // Time per sample: the delta to the next sample (as DevTools does), attributed to that node.
  const selfUs = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const dt = i + 1 < deltas.length ? deltas[i + 1] : 0;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, dt));
  }
  const groups = new Map<string, SelfTime>();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    totalUs += us;
    const cf = n.callFrame;
    const fn = cf.functionName || (cf.url ? '(anonymous)' : '(native/vm)');
    const where = cf.url ? `${shorten(cf.url, root)}:${cf.lineNumber + 1}` : '';
    const key = `${fn}\u0000${where}`;
    const g = groups.get(key) ?? { fn, where, selfMs: 0, percent: 0 };
    g.selfMs += us / 1000;
    groups.set(key, g);
  }
  const rows = [...groups.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  for (const r of rows) r.percent = totalUs > 0 ? (r.selfMs * 1000 * 100) / totalUs : 0;
  return { totalMs: totalUs / 1000, rows, lines: hotLines(p, root, top) };
}

/** Lines of the project's own code (not node_modules or node internals) with the most ticks. */
function hotLines(p: Profile, root: string, top: number): HotLine[] {
  let total = 0;
  for (const n of p.nodes) total += n.hitCount ?? 0;
  const ticks = new Map<string, { url: string; line: number; fn: string; ticks: number }>();
  for (const n of p.nodes) {
    const url = n.callFrame.url;
    if (!url.startsWith('file://') || url.includes('/node_modules/')) continue;
    for (const pt of n.positionTicks ?? []) {
      // Ticks of code inlined from another script carry that script's line numbers; the ones
      // before the function's own first line are surely such (line 0 = not attributable here).
      const line = pt.line >= n.callFrame.lineNumber + 1 ? pt.line : 0;
      const k = `${url}:${line}:${line === 0 ? n.callFrame.functionName : ''}`;
      const e = ticks.get(k) ?? { url, line, fn: n.callFrame.functionName || '(anonymous)', ticks: 0 };
      e.ticks += pt.ticks;
      ticks.set(k, e);
    }
  }
  const maps = new Map<string, { js: string[]; map?: SourceMap; sources: Map<string, string[]> }>();
  return [...ticks.values()]
    .sort((a, b) => b.ticks - a.ticks)
    .slice(0, top)
    .map((e) => {
      const file = fileURLToPath(e.url);
      let m = maps.get(file);
      if (!m) {
        m = { js: readLines(file), sources: new Map() };
        try {
          m.map = new SourceMap(JSON.parse(fs.readFileSync(file + '.map', 'utf8')) as SourceMapPayload);
        } catch {
          // No source map: report the JavaScript line.
        }
        maps.set(file, m);
      }
      if (e.line === 0) {
        return { where: `${shorten(e.url, root)} (callee inlined from another file)`, fn: e.fn, percent: total > 0 ? (e.ticks * 100) / total : 0, code: '' };
      }
      const jsLine = m.js[e.line - 1] ?? '';
      let where = `${shorten(e.url, root)}:${e.line}`;
      let code = jsLine.trim();
      const col = Math.max(0, jsLine.search(/\S/));
      const entry = m.map?.findEntry(e.line - 1, col) as { originalSource?: string; originalLine?: number } | undefined;
      if (entry?.originalSource !== undefined && entry.originalLine !== undefined) {
        const src = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : path.resolve(path.dirname(file), entry.originalSource);
        let lines = m.sources.get(src);
        if (!lines) m.sources.set(src, (lines = readLines(src)));
        where = `${path.relative(root, src)}:${entry.originalLine + 1}`;
        code = (lines[entry.originalLine] ?? code).trim();
        // Others may edit src/ while the bench runs: then the line shown may not be the one profiled.
        if (mtimeMs(src) > mtimeMs(file)) code = `(source edited since the build) ${code}`;
      }
      return { where, fn: e.fn, percent: total > 0 ? (e.ticks * 100) / total : 0, code: code.length > 110 ? code.slice(0, 107) + '…' : code };
    });
}

function mtimeMs(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function readLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n');
  } catch {
    return [];
  }
}

function shorten(url: string, root: string): string {
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(root + path.sep)) u = u.slice(root.length + 1);
  return u.replace(/^.*\/node_modules\//, 'node_modules/');
}

export interface AreaTime {
  /** Project folder (`collectors/temp`, `store`), else the node module or V8 pseudo-frame. */
  area: string;
  ms: number;
  /** Of the busy (non-idle) time. */
  percent: number;
}

export interface BusyProfile {
  /** Sampled time after `skipFirstMs`, idle excluded. */
  busyMs: number;
  idleMs: number;
  /** Each busy sample charged to the nearest frame of the project's own code on its stack. */
  areas: AreaTime[];
  /** Self time per function, idle excluded; percent of busy time. */
  rows: SelfTime[];
}

/**
 * Where a mostly idle process spends its CPU: samples after `skipFirstMs` (start-up excluded),
 * `(idle)` left out, self time per function and time per project area (the folder of the nearest
 * project frame on the stack, `dist/` or `build/src/` stripped; samples with no project frame go
 * to the nearest module, e.g. `node:internal/fs/promises`, which is where an awaited read resumes).
 */
export function summariseBusy(file: string, root: string, opts: { skipFirstMs?: number; top?: number } = {}): BusyProfile {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  const from = p.startTime + (opts.skipFirstMs ?? 0) * 1000;
  const areaCache = new Map<number, string>();
  const areaOf = (id: number): string => {
    const hit = areaCache.get(id);
    if (hit !== undefined) return hit;
    let firstModule = '';
    let area = '';
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur)?.callFrame;
      if (!cf) break;
      const url = cf.url;
      if (url.startsWith('file://') && !url.includes('/node_modules/')) {
        // collectors/cpu/proc-stat.js → collectors/cpu; collectors/host-fs.js → collectors/host-fs
        const rel = shorten(url, root).replace(/^(dist|build\/src|build)\//, '').replace(/\.js$/, '');
        const parts = rel.split('/');
        area = parts.length > 2 ? parts.slice(0, 2).join('/') : rel;
        break;
      }
      if (!firstModule && url) firstModule = url.includes('/node_modules/') ? shorten(url, root).replace(/^node_modules\/((@[^/]+\/)?[^/]+).*$/, 'node_modules/$1') : url;
    }
    if (!area) area = firstModule || byId.get(id)?.callFrame.functionName || '(unknown)';
    areaCache.set(id, area);
    return area;
  };
  const self = new Map<string, SelfTime>();
  const areas = new Map<string, number>();
  let busyUs = 0;
  let idleUs = 0;
  let t = p.startTime;
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
    if (t < from) continue;
    const dt = Math.max(0, i + 1 < deltas.length ? deltas[i + 1] : 0);
    const n = byId.get(samples[i]);
    if (!n) continue;
    const cf = n.callFrame;
    if (cf.functionName === '(idle)') {
      idleUs += dt;
      continue;
    }
    busyUs += dt;
    const fn = cf.functionName || (cf.url ? '(anonymous)' : '(native/vm)');
    const where = cf.url ? `${shorten(cf.url, root)}:${cf.lineNumber + 1}` : '';
    const key = `${fn}\u0000${where}`;
    const g = self.get(key) ?? { fn, where, selfMs: 0, percent: 0 };
    g.selfMs += dt / 1000;
    self.set(key, g);
    const a = areaOf(n.id);
    areas.set(a, (areas.get(a) ?? 0) + dt);
  }
  const top = opts.top ?? 15;
  const pctOf = (us: number) => (busyUs > 0 ? (us * 100) / busyUs : 0);
  const rows = [...self.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  for (const r of rows) r.percent = pctOf(r.selfMs * 1000);
  const areaRows = [...areas.entries()].map(([area, us]) => ({ area, ms: us / 1000, percent: pctOf(us) })).sort((a, b) => b.ms - a.ms).slice(0, top);
  return { busyMs: busyUs / 1000, idleMs: idleUs / 1000, areas: areaRows, rows };
}
