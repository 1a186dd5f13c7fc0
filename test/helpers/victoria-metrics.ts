/**
 * A REAL VictoriaMetrics (Debian package victoria-metrics) for tests: started on a loopback port
 * with its own data directory, read back through its export API.
 */

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const VM_BIN = '/usr/bin/victoria-metrics';

/** One VictoriaMetrics process; start() and stop() may be repeated (same port, same data). */
export class VictoriaMetrics {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output = '';
  readonly url: string;

  constructor(readonly port: number, readonly dataDir: string) {
    this.url = `http://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    const child = spawn(VM_BIN, [
      `-httpListenAddr=127.0.0.1:${this.port}`,
      `-storageDataPath=${this.dataDir}`,
      '-retentionPeriod=1d',
      '-search.latencyOffset=0s',
      '-search.disableCache',
      '-memory.allowedPercent=5',
      // Line protocol `m value=…` becomes `m`, not `m_value` (see src/sinks/influx/README.md).
      '-influxSkipSingleField',
      '-loggerLevel=ERROR',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    live.add(child);
    child.stdout!.on('data', (c: Buffer) => (this.output = (this.output + c.toString()).slice(-4000)));
    child.stderr!.on('data', (c: Buffer) => (this.output = (this.output + c.toString()).slice(-4000)));
    this.exited = new Promise((resolve) => child.once('exit', () => {
      live.delete(child);
      resolve();
    }));
    const until = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`victoria-metrics exited: ${this.output}`);
      try {
        const r = await fetch(`${this.url}/health`);
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > until) throw new Error(`victoria-metrics not healthy after 15 s: ${this.output}`);
      await sleep(50);
    }
  }

  /** SIGTERM (a graceful stop), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(killer);
  }

  /** Distinct sample timestamps per series of `name` (label set as JSON → sorted timestamps → value). */
  async export(name: string): Promise<Map<string, Map<number, number>>> {
    await fetch(`${this.url}/internal/force_flush`);
    const r = await fetch(`${this.url}/api/v1/export?match[]=${encodeURIComponent(`{__name__="${name}"}`)}`);
    assert.equal(r.status, 200);
    const out = new Map<string, Map<number, number>>();
    for (const line of (await r.text()).split('\n')) {
      if (line.trim() === '') continue;
      const row = JSON.parse(line) as { metric: Record<string, string>; values: number[]; timestamps: number[] };
      const { __name__: _n, ...labels } = row.metric;
      const key = JSON.stringify(Object.fromEntries(Object.entries(labels).sort()));
      const m = out.get(key) ?? new Map<number, number>();
      row.timestamps.forEach((t, i) => m.set(t, row.values[i]));
      out.set(key, m);
    }
    return out;
  }

  /** Polls export until it holds `want` distinct samples of `name` (VM indexes new series with a short delay). */
  async waitForSamples(name: string, want: number, timeoutMs = 15_000): Promise<Map<string, Map<number, number>>> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const got = await this.export(name);
      const n = [...got.values()].reduce((a, m) => a + m.size, 0);
      if (n === want) return got;
      if (n > want) assert.fail(`${name}: VictoriaMetrics holds ${n} samples, more than the ${want} sent`);
      if (Date.now() > until) assert.fail(`${name}: VictoriaMetrics holds ${n} samples after ${timeoutMs} ms, want ${want}`);
      await sleep(200);
    }
  }
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});
