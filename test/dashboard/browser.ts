/**
 * Helpers for the dashboard's real-browser tests: Debian's chromium driven by playwright-core, a
 * page wrapper that records console errors, dialogs and connection states, and a path-prefix proxy.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page, type Response } from 'playwright-core';
import { postJson, startAgent, type RunningAgent } from '../helpers/agent';
import { requireTool } from '../helpers/tools';

// Browser globals used inside page.evaluate callbacks (the test tsconfig has no DOM lib).
declare const document: any, window: any, requestAnimationFrame: any, MutationObserver: any;

export const CHROMIUM = '/usr/bin/chromium';

/** Agents stop fast even with a stream open (the stream must end, but do not wait 10 s if not). */
export const DASHBOARD_AGENT_ENV = { SHUTDOWN_TIMEOUT_MS: '1000' };

export interface DashboardHarness {
  /** An in-process agent (stopped after each test), with `env` over DASHBOARD_AGENT_ENV. */
  agent(env?: Record<string, string>): Promise<RunningAgent>;
  /** A page of the shared browser (closed after each test). */
  open(url: string): Promise<DashboardPage>;
}

/**
 * The setup every real-browser dashboard suite shares, registered with mocha in the calling
 * `describe`: one chromium for the suite (skipped loudly without it, failing under CI=true), and
 * the agents and pages a test opens, closed after it.
 */
export function dashboardHarness(): DashboardHarness {
  let browser: Browser | undefined;
  const agents: RunningAgent[] = [];
  const pages: DashboardPage[] = [];
  before(async function () {
    if (!requireTool(this, CHROMIUM, 'chromium')) return;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    for (const p of pages.splice(0)) await p.close();
    for (const a of agents.splice(0)) await a.stop();
  });
  return {
    async agent(env = {}) {
      const a = await startAgent({ ...DASHBOARD_AGENT_ENV, ...env });
      agents.push(a);
      return a;
    },
    async open(url) {
      if (!browser) throw new Error('no browser: the suite was skipped');
      const p = await browser.open(url);
      pages.push(p);
      return p;
    },
  };
}

export interface Browser {
  /** A fresh page in the shared profile; close it when done. */
  open(url: string): Promise<DashboardPage>;
  close(): Promise<void>;
}

/** A headless chromium with a throw-away profile directory. */
export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'mm-dashboard-chromium-'));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    viewport: { width: 1440, height: 900 },
    colorScheme: 'dark',
    deviceScaleFactor: 1,
  });
  return {
    async open(url: string) {
      const page = await context.newPage();
      const dp = new DashboardPage(page);
      dp.response = await page.goto(url, { waitUntil: 'load' });
      await dp.watchStates();
      return dp;
    },
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export class DashboardPage {
  readonly consoleErrors: string[] = [];
  readonly dialogs: string[] = [];
  readonly requests: string[] = [];
  response: Response | null = null;

  constructor(readonly page: Page) {
    page.on('console', (m) => {
      if (m.type() === 'error') this.consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => this.consoleErrors.push(`pageerror: ${e.message}`));
    page.on('dialog', (d) => {
      this.dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss().catch(() => {});
    });
    page.on('request', (r) => this.requests.push(r.url()));
  }

  /** Records every value of #conn[data-state] into window.__states (test-side instrumentation). */
  async watchStates(): Promise<void> {
    await this.page.waitForSelector('#conn');
    await this.page.evaluate(() => {
      const conn = document.getElementById('conn')!;
      const w = window as unknown as { __states: string[] };
      w.__states = [conn.dataset.state ?? ''];
      new MutationObserver(() => {
        const s = conn.dataset.state ?? '';
        if (w.__states[w.__states.length - 1] !== s) w.__states.push(s);
      }).observe(conn, { attributes: true, attributeFilter: ['data-state'] });
    });
  }

  states(): Promise<string[]> {
    return this.page.evaluate(() => (window as unknown as { __states: string[] }).__states);
  }

  state(): Promise<string | null> {
    return this.page.locator('#conn').getAttribute('data-state');
  }

  async waitForState(state: string, timeoutMs = 10_000): Promise<void> {
    await this.page.waitForFunction((s) => document.getElementById('conn')?.dataset.state === s, state, { timeout: timeoutMs, polling: 20 });
  }

  /** The table row whose name cell is exactly `name` (and whose labels contain `labelText`). */
  row(name: string, labelText?: string) {
    let rows = this.page.locator('#rows tr').filter({ has: this.page.locator('td.name', { hasText: new RegExp(`^${escapeRe(name)}$`) }) });
    if (labelText) rows = rows.filter({ has: this.page.locator('td.labels', { hasText: labelText }) });
    return rows;
  }

  async close(): Promise<void> {
    await this.page.close().catch(() => {});
  }
}

export function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Pushes one value through the simple JSON API. */
export async function pushSimple(base: string, name: string, value: number, tags: Record<string, string> = {}, timestamp?: number): Promise<void> {
  const res = await postJson(`${base}/api/v1/metrics/simple`, { name, value, tags, ...(timestamp === undefined ? {} : { timestamp }) });
  if (res.status !== 202) throw new Error(`push ${name}: ${res.status} ${await res.text()}`);
}

/** Pushes line protocol (ms precision). */
export async function pushLines(base: string, lines: string[]): Promise<void> {
  for (let i = 0; i < lines.length; i += 5000) {
    const res = await fetch(`${base}/api/v1/metrics/influx?precision=ms`, { method: 'POST', body: lines.slice(i, i + 5000).join('\n') });
    if (res.status !== 202) throw new Error(`push lines: ${res.status} ${await res.text()}`);
  }
}

export interface Proxy {
  url: string;
  close(): Promise<void>;
}

/**
 * A reverse proxy serving the agent under `prefix` (as an ingress with a path rewrite would):
 * `/prefix/x` → `target/x`; anything outside the prefix is a 404. Streams both ways (SSE passes).
 */
export async function prefixProxy(prefix: string, target: string): Promise<Proxy> {
  const upstream = new URL(target);
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url !== prefix && !url.startsWith(prefix + '/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`outside ${prefix}: ${url}`);
      return;
    }
    const fwd = http.request({
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: url.slice(prefix.length) || '/',
      headers: { ...req.headers, host: upstream.host, 'x-forwarded-prefix': prefix },
    }, (up) => {
      const headers = { ...up.headers };
      // A redirect the agent makes relative stays relative; an absolute one would escape the prefix.
      res.writeHead(up.statusCode ?? 502, headers);
      up.pipe(res);
    });
    fwd.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    res.on('close', () => fwd.destroy());
    req.pipe(fwd);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${prefix}`,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
