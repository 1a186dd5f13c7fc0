/**
 * Runs one user script as its own process group, with a deadline and a bounded stdout. No shell:
 * the file is executed directly (its `#!` line picks the interpreter).
 */

import type { ChildProcess, SpawnOptions } from 'node:child_process';

/** child_process.spawn's shape, injectable for tests. */
export type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

/** process.kill's shape; a negative pid addresses a process group. Injectable for tests. */
export type KillFn = (pid: number, signal: NodeJS.Signals) => void;

export interface RunLimits {
  timeoutMs: number;
  /** stdout beyond this is an error for the run: its output is dropped and the script killed. */
  maxOutputBytes: number;
  /** After the deadline: SIGTERM to the group, SIGKILL after this, give up waiting after this again. */
  killGraceMs: number;
}

export interface RunDeps {
  spawn: SpawnFn;
  kill: KillFn;
  env: NodeJS.ProcessEnv;
  /** Receives, once the process exists, a function that sends SIGTERM to its group (shutdown). */
  onStart?: (cancel: () => void) => void;
}

export interface RunOutcome {
  /** stdout as text; undefined when the run timed out, overflowed or never started (nothing to ingest). */
  stdout: string | undefined;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  overflowed: boolean;
  /** Why the run failed to start or finish normally; null when it ran to an exit. */
  error: string | null;
  /** Last non-empty stderr line, at most 512 characters. */
  stderrLastLine: string | null;
  durationMs: number;
}

const STDERR_TAIL_CHARS = 4096;
const STDERR_LINE_CHARS = 512;

function lastLine(tail: string): string | null {
  const lines = tail.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  const l = lines.length > 0 ? lines[lines.length - 1] : undefined;
  return l === undefined ? null : l.slice(0, STDERR_LINE_CHARS);
}

/**
 * Runs `file` with `cwd` as working directory. The returned promise never rejects. `onGone` is
 * called once when the process (and everything holding its output pipes) is really gone, which
 * can be later than the promise when a process ignores even SIGKILL for a while (D state): the
 * caller keeps the script marked as running until then.
 */
export function runScript(file: string, cwd: string, limits: RunLimits, deps: RunDeps, onGone: () => void): Promise<RunOutcome> {
  return new Promise<RunOutcome>((resolve) => {
    const started = process.hrtime.bigint();
    const elapsedMs = () => Number(process.hrtime.bigint() - started) / 1e6;
    let settled = false;
    let gone = false;
    const timers: NodeJS.Timeout[] = [];
    const later = (ms: number, fn: () => void) => {
      const t = setTimeout(fn, ms);
      t.unref();
      timers.push(t);
    };
    const markGone = () => {
      if (gone) return;
      gone = true;
      for (const t of timers) clearTimeout(t);
      onGone();
    };

    const chunks: Buffer[] = [];
    let bytes = 0;
    let overflowed = false;
    let timedOut = false;
    let stderrTail = '';
    let error: string | null = null;

    const finish = (exitCode: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      const discard = timedOut || overflowed || error !== null;
      resolve({
        stdout: discard ? undefined : Buffer.concat(chunks).toString('utf8'),
        exitCode,
        signal,
        timedOut,
        overflowed,
        error,
        stderrLastLine: lastLine(stderrTail),
        durationMs: elapsedMs(),
      });
    };

    let child: ChildProcess;
    try {
      child = deps.spawn(file, [], { cwd, env: deps.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, windowsHide: true });
    } catch (e) {
      error = `could not start: ${(e as Error).message}`;
      finish(null, null);
      markGone();
      return;
    }

    const killGroup = (signal: NodeJS.Signals) => {
      const pid = child.pid;
      if (pid === undefined || gone) return;
      try {
        // detached: the child leads its own process group, so its children die with it.
        deps.kill(-pid, signal);
      } catch {
        try {
          child.kill(signal);
        } catch {
          /* already gone */
        }
      }
    };

    deps.onStart?.(() => killGroup('SIGTERM'));

    child.stdout?.on('data', (c: Buffer) => {
      if (overflowed) return;
      bytes += c.length;
      if (bytes > limits.maxOutputBytes) {
        overflowed = true;
        chunks.length = 0;
        error = `output exceeds ${limits.maxOutputBytes} bytes`;
        killGroup('SIGKILL');
      } else {
        chunks.push(c);
      }
    });
    child.stderr?.on('data', (c: Buffer) => {
      stderrTail = (stderrTail + c.toString('utf8')).slice(-STDERR_TAIL_CHARS);
    });
    // A stream error (EPIPE and the like) ends the stream; 'close' still follows.
    child.stdout?.on('error', () => undefined);
    child.stderr?.on('error', () => undefined);

    later(limits.timeoutMs, () => {
      timedOut = true;
      killGroup('SIGTERM');
      later(limits.killGraceMs, () => {
        killGroup('SIGKILL');
        later(limits.killGraceMs, () => {
          // Still not gone: report now, keep the script marked running until it is.
          finish(null, null);
        });
      });
    });

    child.on('error', (e: Error) => {
      if (child.pid === undefined) {
        error = `could not start: ${e.message}`;
        finish(null, null);
        markGone();
      } else if (error === null) {
        error = e.message;
      }
    });
    child.on('exit', (code, signal) => {
      // The process ended but something (a background child) may still hold the pipes open:
      // give it the grace period, then kill the group and stop reading.
      later(limits.killGraceMs, () => {
        if (gone) return;
        if (error === null) error = 'a background process kept the output open after the script exited';
        killGroup('SIGKILL');
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish(code, signal);
        markGone();
      });
    });
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      finish(code, signal);
      markGone();
    });
  });
}
