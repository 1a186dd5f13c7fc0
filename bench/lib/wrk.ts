/**
 * Runs wrk (a separate process, its own process group) with bench/wrk/rotate.lua and parses the
 * `BENCH_RESULT` line its done() hook prints.
 */

import path from 'node:path';
import { Proc, StepError } from './procs';

export interface WrkResult {
  durationS: number;
  requests: number;
  reqPerS: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  /** HTTP status → count. */
  codes: Record<string, number>;
  /** First error responses: "status body…". */
  failures: string[];
}

export interface WrkOptions {
  wrk: string;
  url: string;
  manifest: string;
  threads: number;
  connections: number;
  durationS: number;
  /** Base for the ms timestamps rotate.lua puts in @TS@ markers. */
  timestampBaseMs?: number;
  step: string;
}

const SCRIPT = path.resolve(__dirname, '..', '..', '..', 'bench', 'wrk', 'rotate.lua');

export async function runWrk(o: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${o.threads}`,
    `-c${o.connections}`,
    `-d${o.durationS}s`,
    '--timeout', '10s',
    '-s', SCRIPT,
    o.url,
    '--',
    o.manifest,
    String(Math.round(o.timestampBaseMs ?? 0)),
  ];
  const proc = new Proc({ name: 'wrk', cmd: o.wrk, args });
  let out = '';
  proc.child.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const killer = setTimeout(() => void proc.stop(), (o.durationS + 30) * 1000);
  await proc.exited;
  clearTimeout(killer);
  await proc.stop();
  const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  if (proc.exitCode !== 0 || !line) {
    throw new StepError(o.step, `wrk ${proc.describeExit()} without a result (wrk ${args.join(' ')})`, proc.tail());
  }
  const r = JSON.parse(line.slice('BENCH_RESULT '.length)) as {
    duration_us: number;
    requests: number;
    bytes: number;
    errors: WrkResult['errors'];
    latency_us: { mean: number; p50: number; p90: number; p99: number; max: number };
    codes: Record<string, number>;
    failures: string[];
  };
  const durationS = r.duration_us / 1e6;
  const ms = (us: number) => us / 1000;
  return {
    durationS,
    requests: r.requests,
    reqPerS: r.requests / durationS,
    bytes: r.bytes,
    errors: r.errors,
    latencyMs: { mean: ms(r.latency_us.mean), p50: ms(r.latency_us.p50), p90: ms(r.latency_us.p90), p99: ms(r.latency_us.p99), max: ms(r.latency_us.max) },
    codes: r.codes,
    failures: r.failures,
  };
}

/** Requests that did not get a 2xx (error responses plus socket errors), and a one-line description. */
export function failureSummary(r: WrkResult): { bad: number; text: string } {
  const non2xx = Object.entries(r.codes).filter(([c]) => !c.startsWith('2'));
  const socket = r.errors.connect + r.errors.read + r.errors.write + r.errors.timeout;
  const bad = non2xx.reduce((n, [, v]) => n + v, 0) + socket;
  if (bad === 0) return { bad, text: '' };
  const parts = non2xx.map(([c, v]) => `${v}× HTTP ${c}`);
  for (const k of ['connect', 'read', 'write', 'timeout'] as const) if (r.errors[k] > 0) parts.push(`${r.errors[k]} socket ${k} errors`);
  const first = r.failures.length ? `; first: ${r.failures.map((f) => JSON.stringify(f)).join(', ')}` : '';
  return { bad, text: parts.join(', ') + first };
}

/** Requests answered 2xx. */
export function okCount(r: WrkResult): number {
  return Object.entries(r.codes).reduce((n, [c, v]) => (c.startsWith('2') ? n + v : n), 0);
}
