/**
 * Child processes for the benchmark: each runs in its own process group (so its children die with
 * it), keeps the tail of its output for error messages, and is stopped by the harness no matter
 * how the run ends (normal end, exception, Ctrl-C).
 */

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { statusBytes } from '../../src/memory/memory-guard';

const TAIL_BYTES = 4096;

export class StepError extends Error {
  constructor(
    readonly step: string,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

export interface ProcOptions {
  /** Short name used in messages ("agent", "victoria-metrics"). */
  name: string;
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** A spawned child in its own process group. */
export class Proc {
  readonly child: ChildProcess;
  private tailBuf = '';
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  readonly exited: Promise<void>;

  constructor(readonly opts: ProcOptions) {
    this.child = spawn(opts.cmd, opts.args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true, // own process group: kill(-pid) reaches its children too
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      this.tailBuf = (this.tailBuf + chunk.toString('utf8')).slice(-TAIL_BYTES);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise<void>((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
      this.child.once('error', (err) => {
        this.tailBuf += `\nspawn failed: ${err.message}`;
        this.exitCode = -1;
        resolve();
      });
    });
    live.add(this);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitCode === null && this.exitSignal === null && this.child.pid !== undefined;
  }

  /** The last few KB of stdout+stderr. */
  tail(lines = 20): string {
    return this.tailBuf.split('\n').slice(-lines).join('\n').trim();
  }

  describeExit(): string {
    if (this.running) return 'still running';
    return this.exitSignal ? `killed by ${this.exitSignal}` : `exited with code ${this.exitCode}`;
  }

  /** SIGTERM to the group, SIGKILL after `graceMs`. Idempotent. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.running) {
      signalGroup(this.pid, 'SIGTERM');
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
      if ((await Promise.race([this.exited.then(() => 'exited' as const), timer])) === 'timeout') {
        signalGroup(this.pid, 'SIGKILL');
        await this.exited;
      }
    }
    // Whatever the leader did, leave nothing of its group behind.
    signalGroup(this.pid, 'SIGKILL');
    live.delete(this);
  }
}

const live = new Set<Proc>();

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // ESRCH: the group is gone already.
  }
}

/** Synchronous last resort (process exit, signals): SIGKILL every group still alive. */
export function killAllSync(): void {
  for (const p of live) signalGroup(p.pid, 'SIGKILL');
  live.clear();
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()));
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 2xx; fails early, with the child's output, if the child exits. */
export async function waitReady(proc: Proc, url: string, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (!proc.running) {
      throw new StepError(`start ${proc.opts.name}`, `${proc.opts.name} ${proc.describeExit()} before it was ready`, proc.tail());
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(100);
  }
  throw new StepError(`start ${proc.opts.name}`, `${proc.opts.name} not ready at ${url} after ${timeoutMs} ms (${last})`, proc.tail());
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

let clkTck = 0;

/** utime+stime of a process (all threads) in seconds, from /proc/<pid>/stat; NaN when unreadable. */
export function cpuSeconds(pid: number): number {
  if (clkTck === 0) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / clkTck; // fields 14 and 15
  } catch {
    return NaN;
  }
}

/** VmRSS split: anonymous (heap, malloc: what a memory limit is really up against) and file-backed (mostly the `node` binary's pages, shared and reclaimable), in bytes. */
export function rssParts(pid: number): { anon: number; file: number } {
  try {
    const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return { anon: statusBytes(st, 'RssAnon') ?? NaN, file: statusBytes(st, 'RssFile') ?? NaN };
  } catch {
    return { anon: NaN, file: NaN };
  }
}

/** Resident set size in bytes from /proc/<pid>/status; NaN when unreadable. */
export function rssBytes(pid: number): number {
  try {
    return statusBytes(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS') ?? NaN;
  } catch {
    return NaN;
  }
}

/** Absolute path of a command on PATH (or the given fallback paths), or undefined. */
export function which(cmd: string, fallbacks: string[] = []): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    const p = `${dir}/${cmd}`;
    if (isExecutable(p)) return p;
  }
  return fallbacks.find(isExecutable);
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * CPU time of a process in seconds with finer resolution than the 10 ms ticks of /proc/<pid>/stat:
 * the sum of the run time (ns) in /proc/<pid>/task/<tid>/schedstat over its live threads (threads
 * that exited are missing, so compare deltas with cpuSeconds()). NaN when unavailable.
 */
export function cpuSecondsFine(pid: number): number {
  try {
    let ns = 0;
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread exited meanwhile
      }
    }
    return ns > 0 ? ns / 1e9 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * The entry point of a bench script: children it started are killed on Ctrl-C (130) and at exit;
 * a failure is printed with its stack (exit 1); a number returned by `main` is the exit code.
 */
export function runBench(name: string, main: () => Promise<number | void>): void {
  process.once('SIGINT', () => {
    killAllSync();
    process.exit(130);
  });
  process.once('exit', killAllSync);
  main().then(
    async (code) => {
      await stopAll();
      process.exit(code ?? 0);
    },
    (err: unknown) => {
      process.stderr.write(`bench/${name}: failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      killAllSync();
      process.exit(1);
    },
  );
}
