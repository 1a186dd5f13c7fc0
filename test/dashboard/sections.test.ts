/**
 * The dashboard's sections and large chart in a real browser (Debian chromium via playwright-core):
 * agents whose collectors read the fixture hosts, uPlot charts, capabilities-backed explanations,
 * units, rates, honest time and connection states, the phone layout, keyboard use and axe.
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { fixtureDir, type HostCase } from '../collectors/cpu/fixture-host';
import { dashboardHarness, pushLines, pushSimple, sleep, type DashboardPage } from './browser';

// Browser globals used inside page.evaluate callbacks (the test tsconfig has no DOM lib).
declare const document: any, window: any, getComputedStyle: any, requestAnimationFrame: any;

describe('dashboard sections (real browser)', function () {
  this.timeout(60_000);
  const harness = dashboardHarness();
  const agent = harness.agent;

  const onHost = (host: HostCase, env: Record<string, string> = {}) => {
    const d = fixtureDir(host, 't0');
    return agent({ SYSTEM_METRICS_SOURCE: 'builtin', HOST_PROC: path.join(d, 'proc'), HOST_SYS: path.join(d, 'sys'), NVIDIA_SMI_PATH: '/nonexistent/nvidia-smi', COLLECTOR_SCRIPTS_ENABLED: 'false', ...env });
  };
  const open = async (url: string) => {
    const p = await harness.open(url);
    // CSP violations are reported as events in the page: collect them.
    await p.page.evaluate(() => {
      const w = window as { __csp: string[] };
      w.__csp = [];
      document.addEventListener('securitypolicyviolation', (e: any) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    return p;
  };
  const cspViolations = (p: DashboardPage): Promise<string[]> => p.page.evaluate(() => (window as { __csp: string[] }).__csp);
  const chartsIn = (p: DashboardPage, sec: string) => p.page.locator(`#sec-${sec} div.chart`);

  it('dgpu host: CPU, memory and GPU sections drawn with uPlot; a missing NPU is explained from capabilities; axe and CSP clean', async function () {
    this.timeout(180_000); // axe takes tens of seconds on a loaded machine
    const a = await onHost('dgpu');
    const p = await open(`${a.url}/dashboard`);
    await p.waitForState('live');
    await p.page.waitForFunction(() => document.querySelectorAll('#sec-gpu div.chart canvas').length >= 3, null, { timeout: 10_000 });
    // Engine use is rate-derived: its chart appears after the collector's second cycle.
    await p.page.waitForFunction(() => [...document.querySelectorAll('#sec-gpu .chart-name')].some((e) => /engines \(stacked\)$/.test(e.textContent ?? '')), null, { timeout: 10_000 })
      .catch(() => undefined);
    const gpuTitles = await p.page.locator('#sec-gpu .chart-name').allTextContents();
    assert.ok(gpuTitles.some((t) => /^GPU 0 \(xe\): engines \(stacked\)$/.test(t)), gpuTitles.join(' | '));
    assert.ok(gpuTitles.some((t) => /frequency, actual vs requested/.test(t)), gpuTitles.join(' | '));
    assert.ok(gpuTitles.some((t) => /VRAM/.test(t)), gpuTitles.join(' | '));
    // Units on the axes, from the data: the VRAM chart's unit is IEC bytes.
    const vram = p.page.locator('#sec-gpu div.chart', { hasText: 'VRAM' });
    assert.match((await vram.locator('.chart-unit').textContent()) ?? '', /^B$/);
    // The fixture tree does not move, so the CPU collector has no usage to report (it needs two
    // different readings): CPU usage arrives as Telegraf would send it.
    const t = Date.now();
    await pushLines(a.url, [`cpu,cpu=cpu-total,host=n usage_idle=70,usage_user=20,usage_system=10 ${t}`, ...[0, 1, 2, 3].map((c) => `cpu,cpu=cpu${c},host=n usage_idle=${50 + 10 * c} ${t}`)]);
    await p.page.waitForFunction(() => document.querySelectorAll('#sec-cpu div.chart canvas').length >= 1, null, { timeout: 5000 });
    assert.match((await p.page.locator('#sec-cpu .heat .chart-foot').textContent()) ?? '', /4 cores · busiest now 50%/);
    assert.ok((await chartsIn(p, 'mem').count()) >= 1);
    // The per-core view is one heatmap, not a row per core.
    assert.equal(await p.page.locator('#sec-cpu canvas.heat-canvas').count(), 1);
    // No NPU on this host: the section says why, from GET /api/v1/capabilities.
    await p.page.waitForFunction(() => /No NPU: no NPU on this node/.test(document.querySelector('#sec-npu .sec-why')?.textContent ?? ''), null, { timeout: 5000 });
    assert.ok(p.requests.some((u) => u.endsWith('/api/v1/capabilities')));
    // The chart library comes from the agent, never a CDN.
    assert.ok(p.requests.some((u) => /\/dashboard\/assets\/uPlot\.iife\.min\.js\?v=/.test(u)));
    assert.deepEqual(p.requests.filter((u) => !u.startsWith(a.url) && !u.startsWith('data:')), []);

    const axe = await new AxeBuilder({ page: p.page }).analyze();
    const bad = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`), []);
    assert.deepEqual(await cspViolations(p), []);
    assert.deepEqual(p.consoleErrors, []);
  });

  it('lnl-npu host: the NPU section with its generation and runtime state, charts in a fixed order; a missing GPU is explained', async () => {
    // A slow NPU cycle: utilisation is rate-derived, so for the first 6 s only the other NPU charts
    // exist. The runtime state must show from the first reading, and the late utilisation chart
    // must take its place at the head of the section rather than land after its siblings.
    const a = await onHost('lnl-npu', { COLLECTOR_INTEL_NPU_INTERVAL_MS: '6000' });
    const p = await open(`${a.url}/dashboard`);
    await p.waitForState('live');
    await p.page.waitForFunction(() => [...document.querySelectorAll('#sec-npu .chart-name')].some((e) => e.textContent === 'NPU (LNL): frequency vs max'), null, { timeout: 10_000 });
    const foot = async () => (await p.page.locator('#sec-npu .chart-foot').first().textContent())?.trim();
    // t0's power/runtime_status is "active".
    await p.page.waitForFunction(() => /runtime: /.test(document.querySelector('#sec-npu .chart-foot')?.textContent ?? ''), null, { timeout: 3000 })
      .catch(() => undefined);
    assert.equal(await foot(), 'runtime: active', (await p.page.locator('#sec-npu .chart-name').allTextContents()).join(' | '));

    await p.page.waitForFunction(() => [...document.querySelectorAll('#sec-npu .chart-name')].some((e) => e.textContent === 'NPU (LNL): utilisation'), null, { timeout: 15_000 })
      .catch(() => undefined);
    const titles = await p.page.locator('#sec-npu .chart-name').allTextContents();
    assert.deepEqual(titles, ['NPU (LNL): utilisation', 'NPU (LNL): frequency vs max', 'NPU (LNL): power', 'NPU (LNL): memory']);
    assert.equal(await foot(), 'runtime: active');
    await p.page.waitForFunction(() => /No Intel GPU: no Intel GPU on this node/.test(document.querySelector('#sec-gpu .sec-why')?.textContent ?? ''), null, { timeout: 5000 });
    assert.deepEqual(await cspViolations(p), []);
  });

  it('custom metrics: grouped by name with labels as series, counters as rates, units from the name; click opens the large chart with history, range and pause', async () => {
    const a = await agent();
    const t0 = Date.now() - 30_000;
    const lines: string[] = [];
    for (let i = 0; i < 30; i++) {
      const t = t0 + i * 1000;
      for (const cam of ['cam1', 'cam2']) lines.push(`inference_latency_ms,source=${cam} value=${20 + i} ${t}`);
      lines.push(`frames_processed_total,pipeline=detect value=${1000 + 30 * i} ${t}`);
    }
    await pushLines(a.url, lines);
    const p = await open(`${a.url}/dashboard`);
    await p.waitForState('live');
    const latency = p.page.locator('#sec-custom div.chart', { hasText: 'inference_latency_ms' });
    await latency.waitFor({ timeout: 5000 });
    assert.equal((await latency.locator('.chart-unit').textContent())?.trim(), 'ms');
    // Two label sets → two lines in the legend, named by the label that differs.
    await p.page.waitForFunction(() => {
      const fig = [...document.querySelectorAll('#sec-custom div.chart')].find((f: any) => f.textContent.includes('inference_latency_ms'));
      return fig && [...fig.querySelectorAll('.u-legend .u-series th')].map((x: any) => x.textContent).filter((x: string) => /source=cam/.test(x)).length === 2;
    }, null, { timeout: 5000 });
    // A counter is a rate.
    const frames = p.page.locator('#sec-custom div.chart', { hasText: 'frames_processed_total' });
    await frames.waitFor({ timeout: 5000 });
    assert.match((await frames.locator('.chart-name').textContent()) ?? '', /\(rate\)$/);
    assert.equal((await frames.locator('.chart-unit').textContent())?.trim(), '/s');

    // Keyboard: Enter on a focused chart opens the large chart, fed by query_range.
    await latency.focus();
    await p.page.keyboard.press('Enter');
    await p.page.locator('#detail[open]').waitFor({ timeout: 3000 });
    await p.page.waitForFunction(() => document.querySelector('#detail-plot canvas') !== null, null, { timeout: 5000 });
    const hist = p.requests.filter((u) => u.includes('/api/v1/query_range?'));
    assert.ok(hist.length >= 2, 'one history request per line');
    const q = new URL(hist[hist.length - 1]).searchParams;
    assert.match(q.get('match') ?? '', /^\{__name__="inference_latency_ms",source="cam[12]"\}$/);
    assert.ok(Math.abs(Number(q.get('end')) - Number(q.get('start')) - 300) <= 1, 'the 5 m range');
    assert.match((await p.page.locator('#detail-note').textContent()) ?? '', /Last 5 min from the agent's history/);
    // History was plotted: the large chart holds the pushed points (uPlot keeps them on the instance's data).
    // 15 m: a new request over 900 s.
    const before = p.requests.length;
    await p.page.click('#detail button[data-range="900"]');
    await p.page.waitForFunction((n) => document.querySelector('#detail-note')?.textContent?.includes('Last 15 min'), before, { timeout: 5000 });
    const q15 = new URL(p.requests.filter((u) => u.includes('/api/v1/query_range?')).pop()!).searchParams;
    assert.ok(Math.abs(Number(q15.get('end')) - Number(q15.get('start')) - 900) <= 1);
    await p.page.click('#detail-pause');
    assert.equal(await p.page.getAttribute('#detail-pause', 'aria-pressed'), 'true');
    await p.page.keyboard.press('Escape');
    await p.page.waitForFunction(() => !document.querySelector('#detail')?.open);

    // A table row opens its own series.
    await p.row('frames_processed_total').click();
    await p.page.locator('#detail[open]').waitFor({ timeout: 3000 });
    assert.match((await p.page.locator('#detail-title').textContent()) ?? '', /^frames_processed_total \{pipeline=detect\} \(rate\)$/);
    assert.deepEqual(await cspViolations(p), []);
    assert.deepEqual(p.consoleErrors, []);
  });

  it('charts are made when their card comes near the screen; a live page runs no endless animation', async () => {
    const a = await agent();
    const t = Date.now();
    // 24 custom cards (the most the section shows), far more than a screen holds.
    await pushLines(a.url, Array.from({ length: 24 }, (_, i) => `lazy_probe_${String(i).padStart(2, '0')},k=a value=${i} ${t}`));
    const p = await open(`${a.url}/dashboard`);
    await p.waitForState('live');
    await p.page.waitForFunction(() => document.querySelectorAll('#sec-custom div.chart').length === 24 && document.querySelector('#sec-custom div.chart canvas') !== null, null, { timeout: 10_000 });
    await sleep(1500); // a tick or two: off-screen cards keep sampling but stay without a uPlot
    const counts = () => p.page.evaluate(() => ({ cards: document.querySelectorAll('#sec-custom div.chart').length, plots: document.querySelectorAll('#sec-custom div.chart .uplot').length }));
    const before = await counts();
    assert.ok(before.plots > 0 && before.plots < before.cards, JSON.stringify(before));
    const last = p.page.locator('#sec-custom div.chart').last();
    assert.equal(await last.locator('canvas').count(), 0);
    await last.scrollIntoViewIfNeeded();
    await last.locator('canvas').waitFor({ timeout: 5000 });
    assert.ok((await counts()).plots > before.plots);
    // Nothing animates for ever while live (an endless animation repaints the page every frame).
    const endless = await p.page.evaluate(() => document.getAnimations().filter((x: any) => x.effect?.getComputedTiming().iterations === Infinity).map((x: any) => x.animationName ?? String(x.effect?.target?.className)));
    assert.deepEqual(endless, []);
    assert.deepEqual(p.consoleErrors, []);
  });

  it('the first data paints its rows and the first screen\'s charts in the same frame; a card scrolled into view draws what it sampled off screen', async () => {
    const a = await agent();
    const t = Date.now();
    const push = (v: number) => pushLines(a.url, Array.from({ length: 24 }, (_, i) => `first_probe_${String(i).padStart(2, '0')},k=a value=${v + i} ${Date.now()}`));
    await pushLines(a.url, Array.from({ length: 24 }, (_, i) => `first_probe_${String(i).padStart(2, '0')},k=a value=${i} ${t}`));
    const p = await open(`${a.url}/dashboard`);
    // Every animation frame from the start of a fresh load: in the first one that finds a table row,
    // how many section charts have their canvas.
    await p.page.addInitScript(() => {
      const w = window as { __firstFrame?: { charts: number } };
      const check = () => {
        if (document.querySelector('#rows tr:not(.pad) td.name')) w.__firstFrame = { charts: document.querySelectorAll('#sections div.chart canvas').length };
        else requestAnimationFrame(check);
      };
      requestAnimationFrame(check);
    });
    await p.page.reload({ waitUntil: 'load' });
    await p.page.waitForFunction(() => (window as { __firstFrame?: unknown }).__firstFrame !== undefined, null, { timeout: 10_000 });
    const firstFrame = await p.page.evaluate(() => (window as { __firstFrame: { charts: number } }).__firstFrame);
    assert.ok(firstFrame.charts > 0, `charts with a canvas in the first frame with rows: ${firstFrame.charts}`);

    // The last card is far below: no chart yet, but it keeps sampling its series off screen.
    const last = p.page.locator('#sec-custom div.chart').last();
    await p.page.waitForFunction(() => document.querySelectorAll('#sec-custom div.chart').length === 24, null, { timeout: 5000 });
    for (let i = 1; i <= 3; i++) {
      await sleep(1100);
      await push(100 * i);
    }
    assert.equal(await last.locator('canvas').count(), 0);
    await last.scrollIntoViewIfNeeded();
    await last.locator('canvas').first().waitFor({ timeout: 5000 });
    // Its line (the first palette colour, #2dd4bf) is on the canvas: it was drawn with the points
    // sampled before it came into view.
    const lit = () => last.evaluate((card: any) => {
      const c = card.querySelector('canvas');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - 45) < 30 && Math.abs(d[i + 1] - 212) < 30 && Math.abs(d[i + 2] - 191) < 30) n++;
      return n;
    });
    let pixels = await lit();
    for (let i = 0; i < 10 && pixels === 0; i++) {
      await sleep(50);
      pixels = await lit();
    }
    assert.ok(pixels > 20, `line pixels on the card scrolled into view: ${pixels}`);
    assert.deepEqual(p.consoleErrors, []);
  });

  it('histograms: p50 / p90 / p99 of what arrived in the last second, drawn and written out with units', async () => {
    const a = await agent();
    const buckets = (n: number) => ['0.05', '0.1', '0.5', '+Inf'].map((le, i) => `req_latency_seconds_bucket,le=${le} value=${i === 0 ? 0 : n} ${Date.now()}`);
    const totals = (n: number) => [`req_latency_seconds_count value=${n} ${Date.now()}`, `req_latency_seconds_sum value=${0.075 * n} ${Date.now()}`];
    await pushLines(a.url, [...buckets(0), ...totals(0)]);
    const p = await open(`${a.url}/dashboard`);
    await p.waitForState('live');
    const card = p.page.locator('#sec-custom div.chart', { hasText: 'req_latency_seconds (quantiles)' });
    await card.waitFor({ timeout: 5000 });
    const foot = async () => (await card.locator('.chart-foot').textContent())?.trim();
    await p.page.waitForFunction(() => /no observations yet/.test(document.querySelector('#sec-custom div.chart .chart-foot')?.textContent ?? ''), null, { timeout: 3000 });
    // The bucket, count and sum series make one card, not three.
    assert.deepEqual(await p.page.locator('#sec-custom .chart-name').allTextContents(), ['req_latency_seconds (quantiles)']);
    assert.deepEqual(await card.locator('.u-legend .u-series th').allTextContents().then((l) => l.map((x) => x.trim()).filter(Boolean)), ['p50', 'p90', 'p99']);
    await sleep(2200); // the page has read the zero counts at least once
    // Ten observations, all in (0.05 s, 0.1 s]: interpolated inside that bucket.
    await pushLines(a.url, [...buckets(10), ...totals(10)]);
    await p.page.waitForFunction(() => /p50/.test(document.querySelector('#sec-custom div.chart .chart-foot')?.textContent ?? ''), null, { timeout: 5000 })
      .catch(() => undefined);
    assert.equal(await foot(), 'p50 75 ms · p90 95 ms · p99 99.5 ms');
    // A quiet second changes nothing: the last quantiles stay.
    await sleep(1500);
    assert.equal(await foot(), 'p50 75 ms · p90 95 ms · p99 99.5 ms');
    assert.deepEqual(p.consoleErrors, []);
  });

  it('honest states: dates for old and future timestamps, filter errors instead of "waiting", the first-push hint, greyed when disconnected', async () => {
    const a = await agent();
    // An empty agent: the page says how to push a first metric.
    const p0 = await open(`${a.url}/dashboard`);
    await p0.waitForState('live');
    await p0.page.waitForFunction(() => /Push a first one:\s*curl -X POST http:\/\/127\.0\.0\.1:\d+\/api\/v1\/metrics\/simple/.test(document.getElementById('empty')?.textContent ?? ''), null, { timeout: 3000 });

    // A bad ?match=: the error replaces the waiting text.
    const bad = await open(`${a.url}/dashboard?match=${encodeURIComponent('{env="prod"')}`);
    await bad.waitForState('error', 5000);
    // The state shows at once, the text with the next frame (which a loaded machine may delay).
    await bad.page.waitForFunction(() => /refused this view/.test(document.getElementById('empty')?.textContent ?? ''), null, { timeout: 2000 }).catch(() => {});
    const emptyText = (await bad.page.locator('#empty').textContent()) ?? '';
    assert.match(emptyText, /refused this view: HTTP 400: invalid match selector/);
    assert.doesNotMatch(emptyText, /Waiting/);

    const now = Date.now();
    await pushSimple(a.url, 'old_probe', 1, {}, Math.floor((now - 3 * 86_400_000) / 1000));
    await pushSimple(a.url, 'ahead_probe', 1, {}, Math.floor((now + 2 * 86_400_000) / 1000));
    await pushSimple(a.url, 'soon_probe', 1, {}, Math.floor((now + 120_000) / 1000));
    const ageOf = async (name: string) => (await p0.row(name).locator('td.age').textContent())?.trim();
    await p0.row('soon_probe').waitFor({ timeout: 3000 });
    assert.equal(await ageOf('old_probe'), new Date(now - 3 * 86_400_000).toISOString().slice(0, 10));
    assert.equal(await ageOf('ahead_probe'), 'future: ' + new Date(now + 2 * 86_400_000).toISOString().slice(0, 10));
    assert.match((await ageOf('soon_probe')) ?? '', /^in [12]m$/);

    // Disconnected: data is greyed out.
    await a.stop();
    await p0.waitForState('reconnecting', 10_000);
    const opacity = await p0.page.evaluate(() => Number(getComputedStyle(document.getElementById('rows')).opacity));
    assert.ok(opacity < 1, `rows opacity ${opacity} while disconnected`);
  });

  it('a phone: nothing overflows the screen sideways, labels wrap under the name, the memory tile gives each figure its unit', async function () {
    this.timeout(180_000);
    const a = await agent();
    const mem = 709.86 * 2 ** 20;
    await pushLines(a.url, [`mem,host=h used_percent=3.1,used=${mem},total=${23.54 * 2 ** 30} ${Date.now()}`, `fps,pipeline=a-very-long-pipeline-name,source=camera-number-one value=30 ${Date.now()}`]);
    const p = await open(`${a.url}/dashboard`);
    await p.page.setViewportSize({ width: 390, height: 844 });
    await p.waitForState('live');
    await p.page.locator('#tiles .tile').first().waitFor({ timeout: 3000 });
    assert.match((await p.page.locator('#tiles .tile-sub').first().textContent()) ?? '', /709\.86 MiB \/ 23\.54 GiB/);
    await p.row('fps').waitFor({ timeout: 3000 });
    await sleep(300);
    const { scrollW, innerW, after } = await p.page.evaluate(() => {
      const td = [...document.querySelectorAll('#rows td.name')].find((x: any) => x.textContent === 'fps');
      return { scrollW: document.documentElement.scrollWidth, innerW: window.innerWidth, after: getComputedStyle(td, '::after').content };
    });
    assert.ok(scrollW <= innerW, `page is ${scrollW}px wide on a ${innerW}px screen`);
    assert.match(after, /pipeline=a-very-long-pipeline-name, source=camera-number-one/);
    const axe = await new AxeBuilder({ page: p.page }).analyze();
    assert.deepEqual(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id), []);
  });
});
