/**
 * Starting the processes the benchmark measures (the agent, VictoriaMetrics, the Pushgateway,
 * prometheus-node-exporter) on free loopback ports, and the small HTTP/Prometheus-text helpers
 * every scenario uses.
 */

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, Proc, StepError, waitReady } from './procs';
import { MALLOC_DEFAULTS } from '../../src/memory/malloc-env';

/** The repository root (this file runs as build/bench/lib/targets.js). */
export const ROOT = path.resolve(__dirname, '..', '..', '..');

export function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

export type TargetName = 'agent' | 'victoria-metrics' | 'pushgateway' | 'node-exporter';

export interface Started {
  proc: Proc;
  url: string;
}

export interface StartOptions {
  /** Agent: extra environment (on top of the harness defaults). */
  env?: Record<string, string>;
  /** Agent: node options before the script (--cpu-prof …). */
  nodeArgs?: string[];
  /** Peers: extra command-line flags. */
  args?: string[];
  /** Process name in messages (default: the target name). */
  label?: string;
}

/**
 * A minimal environment for the children, so settings in the caller's shell (MAX_STORE_BYTES,
 * NODE_OPTIONS, …) cannot change what is measured: the agent runs with its defaults plus what
 * the harness sets.
 */
export function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR']) if (process.env[k] !== undefined) env[k] = process.env[k];
  return env;
}

export async function startTarget(name: TargetName, bin: string, tmp: string, extra: StartOptions = {}): Promise<Started> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const label = extra.label ?? name;
  let proc: Proc;
  let ready: string;
  switch (name) {
    case 'agent':
      proc = new Proc({
        name: label,
        cmd: process.execPath,
        args: [...(extra.nodeArgs ?? []), path.join(ROOT, 'dist', 'main.js'), 'agent'],
        cwd: ROOT,
        // The malloc settings the image's entry script starts the agent with.
        env: { ...baseEnv(), ...MALLOC_DEFAULTS, METRICS_PORT: String(port), HOST: '127.0.0.1', RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'error', ...extra.env },
      });
      ready = `${url}/health`;
      break;
    case 'victoria-metrics': {
      const data = fs.mkdtempSync(path.join(tmp, 'vm-data-'));
      proc = new Proc({
        name: label,
        cmd: bin,
        env: baseEnv(),
        args: [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${data}`, '-retentionPeriod=1d', '-memory.allowedPercent=20', '-loggerLevel=ERROR', ...(extra.args ?? [])],
      });
      ready = `${url}/health`;
      break;
    }
    case 'pushgateway':
      proc = new Proc({ name: label, cmd: bin, env: baseEnv(), args: [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file=', '--log.level=error', ...(extra.args ?? [])] });
      ready = `${url}/-/ready`;
      break;
    case 'node-exporter':
      proc = new Proc({ name: label, cmd: bin, env: baseEnv(), args: [`--web.listen-address=127.0.0.1:${port}`, '--log.level=error', ...(extra.args ?? [])] });
      ready = `${url}/`; // the landing page: readiness without a scrape
      break;
  }
  await waitReady(proc, ready);
  return { proc, url };
}

export function checkAlive(step: string, p: Proc): void {
  if (!p.running) throw new StepError(step, `${p.opts.name} ${p.describeExit()} during the run`, p.tail());
}

export async function getText(url: string, timeoutMs = 10_000): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return text;
}

/** Sum of a counter's samples in a Prometheus text page whose labels contain `labelMatch`. */
export function counterSum(page: string, name: string, labelMatch: string): number {
  let sum = 0;
  for (const line of page.split('\n')) {
    if (!line.startsWith(name + '{') || !line.includes(labelMatch)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Sample lines (not comments, not blank) of a Prometheus text page. */
export function sampleLines(page: string): number {
  let n = 0;
  for (const line of page.split('\n')) if (line !== '' && line[0] !== '#') n++;
  return n;
}

export function describeError(e: unknown, p?: Proc): string {
  if (e instanceof StepError) return `step "${e.step}": ${e.message}${e.detail ? `\n--- output tail ---\n${e.detail}` : ''}`;
  const msg = e instanceof Error ? e.message : String(e);
  const tail = p ? p.tail() : '';
  return `${msg}${tail ? `\n--- ${p!.opts.name} output tail ---\n${tail}` : ''}`;
}

export function versionOf(cmd: string, args: string[]): string {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
    return out.split('\n')[0].trim();
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return (err.stdout || err.stderr || '').split('\n')[0].trim();
  }
}

export function debVersion(pkg: string): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/**
 * Runs one of the harness's in-process scripts (<build>/bench/<script>.js, beside run.js) in a fresh node and
 * returns the JSON of its `BENCH_RESULT {…}` line; throws with its output tail otherwise.
 */
export async function runBenchScript<T>(step: string, script: string, args: string[], opts: { nodeArgs?: string[]; timeoutMs?: number } = {}): Promise<T> {
  const proc = new Proc({ name: script, cmd: process.execPath, args: [...(opts.nodeArgs ?? []), path.resolve(__dirname, '..', `${script}.js`), ...args], cwd: ROOT, env: baseEnv() });
  let out = '';
  proc.child.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const killer = setTimeout(() => void proc.stop(), opts.timeoutMs ?? 120_000);
  await proc.exited;
  clearTimeout(killer);
  await proc.stop();
  const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  if (proc.exitCode !== 0 || !line) throw new StepError(step, `${script}.js ${proc.describeExit()} without a result`, proc.tail());
  return JSON.parse(line.slice('BENCH_RESULT '.length)) as T;
}
