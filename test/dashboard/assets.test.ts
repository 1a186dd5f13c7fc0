/**
 * The dashboard's HTTP side (routes, headers, relative URLs) and the page module's pure helpers,
 * without a browser.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startAgent, type RunningAgent } from '../helpers/agent';
import { matchesSelector, parseSelector } from '../../src/query/selector';
import { createHash } from 'node:crypto';
import { DASHBOARD_CSP, dashboardCsp, dashboardDir, inlineScriptHashes, packageRoot } from '../../src/stream/dashboard/router';

const DIR = dashboardDir();

/** The page module's exports (plain ES module, loaded as the browser would). */
type Ring = { t: number[]; v: number[] };
interface PageModule {
  parseValue(v: unknown): number;
  cleanLabels(l: unknown): Record<string, string>;
  seriesKey(name: string, labels: Record<string, string>): string;
  itemKey(name: string, labels: unknown): string;
  labelText(labels: Record<string, string>): string;
  mergeSorted<T>(a: T[], b: T[], cmp: (x: T, y: T) => number): T[];
  parseFilter(text: string): { include: string[]; exclude: string[]; empty: boolean };
  matchesFilter(haystack: string, f: { include: string[]; exclude: string[] }): boolean;
  formatValue(v: number, name: string): { text: string; unit: string };
  formatNumber(v: number): string;
  formatAge(ms: number): string;
  pushPoint(ring: Ring, t: number, v: number, cap?: number): void;
  mergeHistory(ring: Ring, points: Array<[number, number]>, cap?: number): void;
  sparkPath(ring: Ring, w: number, h: number, map?: (v: number) => number, range?: { min?: number; max?: number }): { line: string; area: string };
  streamUrl(root: URL, search: string): URL;
  nameSelector(names: string[]): string | undefined;
  tileRole(name: string, labels: Record<string, string>): { tile: string; role: string } | undefined;
  planSeed(
    wanted: Array<{ name: string; labels: Record<string, string> }>,
    seriesOf: (name: string) => ReadonlySet<{ labels: Record<string, string> }>,
    maxLength?: number,
    wide?: number,
  ): { selector: string | undefined; covers: Set<object> };
  SPARK_POINTS: number;
}

describe('dashboard assets and routes', () => {
  let a: RunningAgent;
  before(async () => {
    a = await startAgent();
  });
  after(async () => {
    await a.stop();
  });

  it('finds its folder from the package root, wherever the code runs (src, dist, build)', () => {
    assert.equal(DIR, path.join(packageRoot(__dirname), 'src', 'stream', 'dashboard'));
    assert.ok(readFileSync(path.join(DIR, 'index.html'), 'utf8').includes('<table'));
  });

  for (const [mount, accept] of [['/dashboard', 'text/html'], ['/metrics/stream', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8']] as const) {
    it(`GET ${mount} (Accept: ${accept.split(',')[0]}) serves the page with a strict CSP and relative URLs`, async () => {
      const res = await fetch(a.url + mount, { headers: { accept } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      const html = await res.text();
      // One inline script (it opens the stream early), allowed by its own hash and nothing wider.
      const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
      assert.equal(inline.length, 1);
      assert.equal([...html.matchAll(/<script(?![^>]*\bsrc=)/g)].length, 1, 'every other script has a src');
      const hash = createHash('sha256').update(inline[0], 'utf8').digest('base64');
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.deepEqual(inlineScriptHashes(html), [hash]);
      assert.equal(csp, dashboardCsp([hash]));
      assert.equal(csp, DASHBOARD_CSP.replace("script-src 'self'", `script-src 'self' 'sha256-${hash}'`));
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|unsafe-hashes/);
      assert.match(inline[0], new RegExp(`new URL\\('${mount === '/dashboard' ? '\\./' : '\\.\\./'}metrics/stream'`));
      // No absolute URL and no inline style or handler anywhere.
      assert.doesNotMatch(html, /(?:src|href)="\//);
      assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i);
      // Each asset resolves back to /dashboard/assets/ from the page's own location.
      const refs = [...html.matchAll(/(?:src|href)="([^"]+\/assets\/[^"]+)"/g)].map((m) => m[1]);
      // The page's module (and the module it imports, preloaded) and stylesheet, and uPlot's script
      // and stylesheet (served from its npm package).
      assert.equal(refs.length, 5);
      for (const ref of refs) {
        const u = new URL(ref, a.url + mount);
        assert.match(u.pathname, /^\/dashboard\/assets\/(dashboard\.(mjs|css)|sections\.mjs|uPlot\.(iife\.min\.js|min\.css))$/);
        const asset = await fetch(u);
        assert.equal(asset.status, 200);
        assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
        assert.equal(asset.headers.get('x-content-type-options'), 'nosniff');
        assert.match(asset.headers.get('content-type') ?? '', /\.m?js$/.test(u.pathname) ? /^text\/javascript; charset=utf-8$/ : /^text\/css; charset=utf-8$/);
      }
    });
  }

  it('the module imports its sibling by a versioned URL, the one the page preloads, cached for good', async () => {
    const html = await (await fetch(`${a.url}/dashboard`)).text();
    const entry = html.match(/src="(\.\/dashboard\/assets\/dashboard\.mjs\?v=[0-9a-f]+)"/)?.[1];
    const preload = html.match(/<link rel="modulepreload" href="(\.\/dashboard\/assets\/sections\.mjs\?v=([0-9a-f]+))">/);
    assert.ok(entry && preload, html);
    const entryUrl = new URL(entry, `${a.url}/dashboard`);
    const js = await (await fetch(entryUrl)).text();
    const spec = js.match(/from '(\.\/sections\.mjs[^']*)'/)?.[1];
    assert.equal(spec, `./sections.mjs?v=${preload[2]}`);
    assert.equal(new URL(spec, entryUrl).href, new URL(preload[1], `${a.url}/dashboard`).href);
    const mod = await fetch(new URL(spec, entryUrl));
    assert.equal(mod.status, 200);
    assert.equal(mod.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(mod.headers.get('etag'), `"${preload[2]}"`);
    // The version is the sibling's content hash, so the entry's own hash changes with it.
    assert.deepEqual(Buffer.from(await mod.arrayBuffer()), readFileSync(path.join(DIR, 'sections.mjs')));
  });

  it('leaves event-stream requests on /metrics/stream to the stream', async () => {
    const ctl = new AbortController();
    const res = await fetch(`${a.url}/metrics/stream`, { headers: { accept: 'text/event-stream' }, signal: ctl.signal });
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    ctl.abort();
  });

  it('revalidates assets by ETag, and without the current ?v= hash they are not cached for long', async () => {
    const first = await fetch(`${a.url}/dashboard/assets/dashboard.css`);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('cache-control'), 'no-cache');
    const etag = first.headers.get('etag');
    assert.ok(etag);
    const again = await fetch(`${a.url}/dashboard/assets/dashboard.css`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    const page = await fetch(`${a.url}/dashboard`);
    const again2 = await fetch(`${a.url}/dashboard`, { headers: { 'if-none-match': page.headers.get('etag')! } });
    assert.equal(again2.status, 304);
  });

  it('404s unknown assets and redirects /dashboard/ relatively', async () => {
    assert.equal((await fetch(`${a.url}/dashboard/assets/../../package.json`)).status, 404);
    assert.equal((await fetch(`${a.url}/dashboard/assets/index.html`)).status, 404);
    assert.equal((await fetch(`${a.url}/dashboard/assets/router.ts`)).status, 404);
    const res = await fetch(`${a.url}/dashboard/?q=1`, { redirect: 'manual' });
    assert.equal(res.status, 308);
    assert.equal(res.headers.get('location'), '../dashboard?q=1');
  });

  it('renders names and labels through DOM text APIs only (no HTML sinks in the assets)', () => {
    for (const file of ['dashboard.mjs', 'sections.mjs']) {
    const js = readFileSync(path.join(DIR, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function', 'setAttribute(\'style', 'srcdoc', 'createContextualFragment']) {
      assert.ok(!js.includes(sink), `${file} uses ${sink}`);
    }
    // Attributes set from data are limited to safe ones.
    for (const m of js.matchAll(/setAttribute\('([^']+)'/g)) {
      assert.ok(['class', 'viewBox', 'preserveAspectRatio', 'aria-hidden', 'vector-effect', 'd', 'aria-sort', 'aria-pressed', 'aria-rowindex', 'aria-rowcount', 'role', 'aria-label', 'aria-labelledby'].includes(m[1]), `${file}: setAttribute('${m[1]}')`);
    }
    }
  });

  it('serves uPlot from its npm package, byte for byte, and the sections module', async () => {
    const js = await fetch(`${a.url}/dashboard/assets/uPlot.iife.min.js`);
    assert.equal(js.status, 200);
    assert.deepEqual(Buffer.from(await js.arrayBuffer()), readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js')));
    const mod = await fetch(`${a.url}/dashboard/assets/sections.mjs`);
    assert.equal(mod.status, 200);
    assert.match(mod.headers.get('content-type') ?? '', /^text\/javascript/);
  });
});

describe('dashboard page helpers', () => {
  let m: PageModule;
  before(async () => {
    m = (await import(pathToFileURL(path.join(DIR, 'dashboard.mjs')).href)) as PageModule;
  });

  it('reads the values the agent sends, NaN and ±Inf included', () => {
    assert.equal(m.parseValue(1.5), 1.5);
    assert.ok(Number.isNaN(m.parseValue('NaN')));
    assert.equal(m.parseValue('+Inf'), Infinity);
    assert.equal(m.parseValue('-Inf'), -Infinity);
    assert.equal(m.parseValue('42'), 42);
    assert.ok(Number.isNaN(m.parseValue(null)));
    assert.equal(m.formatValue(NaN, 'x').text, 'NaN');
    assert.equal(m.formatValue(Infinity, 'x').text, '+Inf');
  });

  it('keys series by name and sorted labels, without collisions or prototype keys', () => {
    assert.equal(m.seriesKey('a', { y: '1', x: '2' }), m.seriesKey('a', { x: '2', y: '1' }));
    assert.notEqual(m.seriesKey('a', { x: '1,y=2' }), m.seriesKey('a', { x: '1', y: '2' }));
    const l = m.cleanLabels(JSON.parse('{"__proto__": "p", "b": 1}'));
    assert.deepEqual(Object.keys(l), ['__proto__', 'b']);
    assert.equal(l.b, '1');
    assert.equal(Object.getPrototypeOf(l), null);
    // Sorted string labels (as the agent sends them) take the copying fast path: the same result.
    const src = JSON.parse('{"__proto__": "p", "b": "1"}');
    const fast = m.cleanLabels(src);
    assert.deepEqual(Object.entries(fast), [['__proto__', 'p'], ['b', '1']]);
    assert.equal(Object.getPrototypeOf(fast), null);
    src.b = 'changed';
    assert.equal(fast.b, '1', 'a copy, not the item itself');
    assert.deepEqual(Object.keys(m.cleanLabels({ b: '1', a: '2' })), ['a', 'b']);
    assert.equal(m.labelText(m.cleanLabels({ b: '1', a: '2' })), 'a=2, b=1');
  });

  it('keys a stream item as seriesKey(cleanLabels) does, whatever order and types its labels come in', () => {
    const cases: unknown[] = [
      { a: '1', b: '2' }, // sorted strings: the fast path
      { b: '2', a: '1' }, // unsorted
      { a: 1, b: true }, // not strings
      { a: '1', b: '"x", c="y' }, // quotes in a value
      JSON.parse('{"__proto__": "p", "b": "1"}'),
      JSON.parse('{"b": "1", "__proto__": "p"}'),
      { 10: 'x', 9: 'y' }, // integer-like keys, which objects enumerate numerically
      {}, undefined, null, 'labels', ['x', 'y'],
    ];
    for (const l of cases) assert.equal(m.itemKey('n', l), m.seriesKey('n', m.cleanLabels(l)), JSON.stringify(l));
  });

  it('merges sorted arrays into one sorted array, the first array winning ties', () => {
    const cmp = (x: { k: number }, y: { k: number }) => x.k - y.k;
    const a = [{ k: 1, s: 'a' }, { k: 3, s: 'a' }, { k: 5, s: 'a' }];
    const b = [{ k: 0, s: 'b' }, { k: 3, s: 'b' }, { k: 9, s: 'b' }];
    assert.deepEqual(m.mergeSorted(a, b, cmp).map((x) => `${x.k}${x.s}`), ['0b', '1a', '3a', '3b', '5a', '9b']);
    assert.equal(m.mergeSorted(a, [], cmp), a);
    assert.deepEqual(m.mergeSorted([], b, cmp), b);
  });

  it('filters by all terms, with -term excluding', () => {
    const f = m.parseFilter('GPU  -copy');
    assert.deepEqual(f, { include: ['gpu'], exclude: ['copy'], empty: false });
    assert.ok(m.matchesFilter('gpu_engine_usage_usage {engine=render}', f));
    assert.ok(!m.matchesFilter('gpu_engine_usage_usage {engine=copy}', f));
    assert.ok(m.parseFilter('  ').empty);
  });

  it('formats values with units from the name', () => {
    assert.deepEqual(m.formatValue(12884901888, 'gpu_memory_total_bytes'), { text: '12', unit: 'GiB' });
    assert.deepEqual(m.formatValue(1.95e9, 'npu_frequency_max_hertz'), { text: '1.95', unit: 'GHz' });
    assert.deepEqual(m.formatValue(42.123, 'mem_used_percent'), { text: '42.1', unit: '%' });
    assert.deepEqual(m.formatValue(54, 'gpu_temperature_celsius'), { text: '54', unit: '°C' });
    assert.deepEqual(m.formatValue(29.97, 'fps'), { text: '29.97', unit: '' });
    assert.equal(m.formatNumber(123456789), '123.46M');
    assert.equal(m.formatNumber(0.000012), '1.20e-5');
    assert.equal(m.formatAge(500), 'now');
    assert.equal(m.formatAge(75_000), '1m');
  });

  it('keeps at most SPARK_POINTS points, puts history before live points, breaks lines at NaN', () => {
    const ring: Ring = { t: [], v: [] };
    for (let i = 0; i < 100; i++) m.pushPoint(ring, 1000 + i, i);
    assert.equal(ring.t.length, m.SPARK_POINTS);
    assert.equal(ring.t[ring.t.length - 1], 1099);
    m.pushPoint(ring, 500, -1); // older than the newest: ignored
    assert.equal(ring.v[ring.v.length - 1], 99);

    const live: Ring = { t: [10_000, 11_000], v: [5, 6] };
    m.mergeHistory(live, [[8000, 3], [9000, 4], [10_000, 99]]);
    assert.deepEqual(live, { t: [8000, 9000, 10_000, 11_000], v: [3, 4, 5, 6] });

    const p = m.sparkPath({ t: [0, 1, 2, 3, 4], v: [1, 2, NaN, 3, 4] }, 100, 20);
    assert.equal(p.line.split('M').length - 1, 2, p.line);
    assert.deepEqual(m.sparkPath({ t: [], v: [] }, 100, 20), { line: '', area: '' });
  });

  it('builds relative stream and history URLs', () => {
    const root = new URL('http://h/prefix/');
    assert.equal(m.streamUrl(root, '?name=gpu_*&x=1').href, 'http://h/prefix/metrics/stream?name=gpu_*&delta=1');
    assert.equal(m.nameSelector(['a', 'b:c']), '{__name__=~"a|b:c"}');
    assert.equal(m.nameSelector(['a"b']), undefined);
  });

  it('plans history requests: small names together, a wide name narrowed by its most selective label', () => {
    const series = (name: string, labels: Record<string, string>) => ({ name, labels });
    const family = new Map<string, Set<{ name: string; labels: Record<string, string> }>>();
    const add = (s: { name: string; labels: Record<string, string> }) => {
      if (!family.has(s.name)) family.set(s.name, new Set());
      family.get(s.name)!.add(s);
      return s;
    };
    const fps = add(series('fps', { cam: '1' }));
    const temp = add(series('temp', {}));
    const wide = Array.from({ length: 100 }, (_, i) => add(series('load', { shard: String(i % 3), idx: `${i}.x|y` })));
    const of = (n: string) => family.get(n) ?? new Set();

    const small = m.planSeed([fps, temp, wide[0]], of, 3500, 50);
    assert.equal(small.selector, '{__name__=~"fps|temp"}');
    assert.deepEqual([...small.covers], [fps, temp]);

    const narrowed = m.planSeed([wide[5], wide[7], fps], of, 3500, 50);
    assert.equal(narrowed.selector, '{__name__="load",idx=~`5\\.x\\|y|7\\.x\\|y`}');
    assert.deepEqual([...narrowed.covers], [wide[5], wide[7]]);

    // The selector parses, and matches exactly the wanted series.
    const sel = parseSelector(narrowed.selector!);
    assert.deepEqual(wide.filter((s) => matchesSelector(sel, s.name, s.labels)), [wide[5], wide[7]]);

    // Bounded length: a long batch is split over several requests.
    const many = m.planSeed(wide, of, 200, 50);
    assert.ok(many.selector!.length <= 200 + 20, many.selector);
    assert.ok(many.covers.size > 1 && many.covers.size < wide.length);
  });

  it('maps system series to summary tiles', () => {
    assert.deepEqual(pick(m.tileRole('cpu_usage_idle', { cpu: 'cpu-total' })), { tile: 'cpu', role: 'idle' });
    assert.equal(m.tileRole('cpu_usage_user', { cpu: 'cpu-total' }), undefined);
    assert.deepEqual(pick(m.tileRole('gpu_busy_ratio', { gpu_id: '1' })), { tile: 'gpu:1', role: 'busy' });
    assert.deepEqual(pick(m.tileRole('nvidia_gpu_utilization_ratio', { gpu: '0' })), { tile: 'nvidia:0', role: 'busy' });
    assert.deepEqual(pick(m.tileRole('npu_utilization', {})), { tile: 'npu', role: 'busy' });
    assert.deepEqual(pick(m.tileRole('npu_info', { pci_slot: '0000:00:0b.0' })), { tile: 'npu', role: 'info' });
    assert.equal(m.tileRole('gpu_frequency', { gpu_id: '0', type: 'max_freq' }), undefined);
  });
});

function pick(r: { tile: string; role: string } | undefined) {
  return r && { tile: r.tile, role: r.role };
}

/** The sections module's pure helpers (it touches the DOM only inside createSections). */
interface SectionsModule {
  unitFor(name: string, reported?: string): string;
  formatUnit(v: number, unit: string, rate?: boolean): { text: string; unit: string };
  formatWhen(tsMs: number, nowMs: number): string;
  counterRate(prevV: number, prevT: number, v: number, t: number): number;
  bucketQuantile(buckets: Array<[number, number]>, q: number): number;
  varyingLabels(es: Array<{ labels: Record<string, string> }>): string[];
  exactSelector(name: string, labels: Record<string, string>): string;
}

describe('dashboard section helpers', () => {
  let s: SectionsModule;
  before(async () => {
    s = (await import(pathToFileURL(path.join(DIR, 'sections.mjs')).href)) as SectionsModule;
  });

  it('quantiles from cumulative buckets, interpolated inside the bucket, in any order, +Inf and empty cases', () => {
    const b: Array<[number, number]> = [[Infinity, 10], [0.05, 0], [0.5, 10], [0.1, 10]];
    assert.ok(Math.abs(s.bucketQuantile(b, 0.5) - 0.075) < 1e-12);
    assert.ok(Math.abs(s.bucketQuantile(b, 0.99) - 0.0995) < 1e-12);
    // Half the observations above the highest finite bound: the upper quantiles are that bound.
    assert.equal(s.bucketQuantile([[1, 5], [Infinity, 10]], 0.9), 1);
    // The first bucket interpolates from 0.
    assert.equal(s.bucketQuantile([[2, 4], [Infinity, 4]], 0.5), 1);
    assert.ok(Number.isNaN(s.bucketQuantile([[1, 0], [Infinity, 0]], 0.5)));
    assert.ok(Number.isNaN(s.bucketQuantile([], 0.5)));
    // Buckets whose increase could not be told (NaN) are left out.
    assert.ok(Math.abs(s.bucketQuantile([[0.1, NaN], [1, 10], [Infinity, 10]], 0.5) - 0.5) < 1e-12);
  });

  it('counter rates per second, a drop read as a reset', () => {
    assert.equal(s.counterRate(100, 0, 160, 2000), 30);
    assert.equal(s.counterRate(100, 0, 40, 2000), 20);
    assert.ok(Number.isNaN(s.counterRate(100, 2000, 160, 2000)));
  });

  it('units from the agent first, else from the name; IEC bytes, SI hertz, small seconds in ms', () => {
    assert.equal(s.unitFor('x', 'By'), 'bytes');
    assert.equal(s.unitFor('x', '{items}'), 'items');
    assert.equal(s.unitFor('req_latency_seconds'), 's');
    assert.equal(s.unitFor('inference_latency_ms'), 'ms');
    assert.equal(s.unitFor('rx_bytes_total'), 'bytes');
    assert.deepEqual(s.formatUnit(709.86 * 2 ** 20, 'bytes'), { text: '709.86', unit: 'MiB' });
    assert.deepEqual(s.formatUnit(1.5e9, 'Hz'), { text: '1.5', unit: 'GHz' });
    assert.deepEqual(s.formatUnit(0.075, 's'), { text: '75', unit: 'ms' });
    assert.deepEqual(s.formatUnit(2048, 'bytes', true), { text: '2', unit: 'KiB/s' });
  });

  it('ages honest about the direction of time', () => {
    const now = Date.UTC(2026, 0, 10);
    assert.equal(s.formatWhen(now - 500, now), 'now');
    assert.equal(s.formatWhen(now - 12_000, now), '12s ago');
    assert.equal(s.formatWhen(now + 5_000, now), 'in 5s');
    assert.equal(s.formatWhen(now - 3 * 86_400_000, now), '2026-01-07');
    assert.equal(s.formatWhen(now + 2 * 86_400_000, now), 'future: 2026-01-12');
  });

  it('legends name lines by the labels that differ; exact selectors escape values', () => {
    assert.deepEqual(s.varyingLabels([{ labels: { host: 'n', source: 'cam1' } }, { labels: { host: 'n', source: 'cam2' } }]), ['source']);
    // A label on some lines only tells them apart too; one line keeps its labels but the host.
    assert.deepEqual(s.varyingLabels([{ labels: { z: '1', gpu: '0' } }, { labels: { z: '1' } }, { labels: { z: '1', gpu: '0' } }]), ['gpu']);
    assert.deepEqual(s.varyingLabels([{ labels: { host: 'n', b: '1', a: '2' } }]), ['a', 'b']);
    assert.deepEqual(s.varyingLabels([{ labels: { a: '1' } }, { labels: { a: '1' } }]), []);
    assert.deepEqual(s.varyingLabels([]), []);
    assert.equal(s.exactSelector('m', { b: 'say "hi"\\', a: '1' }), '{__name__="m",a="1",b="say \\"hi\\"\\\\"}');
  });
});
