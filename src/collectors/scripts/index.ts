/**
 * scripts: runs the executables in CUSTOM_METRICS_DIR each cycle and ingests their stdout as
 * InfluxDB line protocol, as custom metrics — the built-in replacement for the reference's
 * Telegraf exec input over /app/custom-metrics. See README.md beside this file.
 *
 * A script that fails, hangs, floods stdout or prints garbage is state in health(), never an
 * exception out of collect(), and never delays the other scripts beyond its own timeout.
 */

import { spawn as nodeSpawn } from 'node:child_process';
import { constants as fsConstants, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { LineProtocolParser } from '../../formats/influx/parse';
import type { Sample } from '../../model/sample';
import type { Collection, Collector } from '../collector';
import { type KillFn, type RunOutcome, runScript, type SpawnFn } from './run-script';

export type { KillFn, RunOutcome, SpawnFn } from './run-script';
import { z } from 'zod/v3';
import { int } from '../../config/env-types';
import { defineCollector, enabledSetting, intervalSetting } from '../definition';

export interface ScriptsCollectorOptions {
  /** The directory to scan (CUSTOM_METRICS_DIR). */
  dir: string;
  /** Deadline of one run of one script (SCRIPT_TIMEOUT_MS). Default 5000. */
  timeoutMs?: number;
  /** The agent's shared line protocol parser. */
  parser: LineProtocolParser;
  /** Scripts run at the same time, at most. Default 4. */
  concurrency?: number;
  /** stdout bound per run; more is an error for that run. Default 4 MiB. */
  maxOutputBytes?: number;
  /** SIGTERM → SIGKILL grace after a timeout. Default 1000. */
  killGraceMs?: number;
  /** Environment of the scripts. Default: the agent's. */
  env?: NodeJS.ProcessEnv;
  /** Injected for tests; default child_process.spawn. */
  spawn?: SpawnFn;
  /** Injected for tests; default process.kill. */
  kill?: KillFn;
  /** Wall clock (ms) for lastRunAtMs. Default Date.now. */
  now?: () => number;
}

/** How the last run of a script ended. */
export type ScriptStatus = 'ok' | 'failed' | 'timeout' | 'running' | 'not-executable' | 'pending';

/** One script's state. health() hands out copies the caller owns. */
export interface ScriptHealth {
  /** File name inside the directory. */
  script: string;
  status: ScriptStatus;
  /** Whether a run is in progress right now. */
  running: boolean;
  runs: number;
  /** Runs that exited non-zero, died of a signal, timed out, overflowed or failed to start. */
  failures: number;
  timeouts: number;
  /** Cycles in which the script was skipped because its previous run had not finished. */
  skippedOverlaps: number;
  /** Lines of its output rejected by the parser, over all runs. */
  linesRejected: number;
  /** Lines accepted and samples produced by the last completed run. */
  lastLinesAccepted: number;
  lastSamples: number;
  lastExitCode: number | null;
  lastSignal: string | null;
  lastDurationMs: number | null;
  lastRunAtMs: number | null;
  /** The last run's problem (exit code, timeout, first rejected line), or null. */
  lastError: string | null;
  /** Last non-empty line the script wrote to stderr in its last run (stderr is otherwise discarded). */
  lastStderr: string | null;
}

/** Totals over every script ever seen, for self-metrics (all counters). */
export interface ScriptsTotals {
  runs: number;
  failures: number;
  timeouts: number;
  skippedOverlaps: number;
  linesRejected: number;
  samples: number;
}

interface ScriptState extends ScriptHealth {
  /** Whether the file was runnable at the last scan. */
  executable: boolean;
  lastOutcome: 'ok' | 'failed' | 'timeout' | null;
}

const DEFAULTS = { timeoutMs: 5000, concurrency: 4, maxOutputBytes: 4 * 1024 * 1024, killGraceMs: 1000 };

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${name} must be a positive number, got ${v}`);
  return v;
}

export class ScriptsCollector implements Collector {
  readonly name = 'scripts';
  readonly defaultIntervalMs = 10_000;

  private readonly dir: string;
  private readonly parser: LineProtocolParser;
  private readonly limits: { timeoutMs: number; maxOutputBytes: number; killGraceMs: number };
  private readonly concurrency: number;
  private readonly spawn: SpawnFn;
  private readonly kill: KillFn;
  private readonly env: NodeJS.ProcessEnv;
  private readonly now: () => number;
  private readonly states = new Map<string, ScriptState>();
  private readonly active = new Set<() => void>();
  private readonly totalsAcc: ScriptsTotals = { runs: 0, failures: 0, timeouts: 0, skippedOverlaps: 0, linesRejected: 0, samples: 0 };

  constructor(opts: ScriptsCollectorOptions) {
    if (typeof opts.dir !== 'string' || opts.dir === '') throw new TypeError('dir must be a non-empty path');
    this.dir = path.resolve(opts.dir);
    this.parser = opts.parser;
    this.limits = {
      timeoutMs: positive('timeoutMs', opts.timeoutMs ?? DEFAULTS.timeoutMs),
      maxOutputBytes: positive('maxOutputBytes', opts.maxOutputBytes ?? DEFAULTS.maxOutputBytes),
      killGraceMs: positive('killGraceMs', opts.killGraceMs ?? DEFAULTS.killGraceMs),
    };
    this.concurrency = Math.floor(positive('concurrency', opts.concurrency ?? DEFAULTS.concurrency));
    this.spawn = opts.spawn ?? (nodeSpawn as SpawnFn);
    this.kill = opts.kill ?? ((pid, signal) => process.kill(pid, signal));
    this.env = opts.env ?? process.env;
    this.now = opts.now ?? Date.now;
  }

  /** Per-script state, sorted by file name. */
  health(): ScriptHealth[] {
    return [...this.states.values()]
      .sort((a, b) => (a.script < b.script ? -1 : a.script > b.script ? 1 : 0))
      .map((s) => {
        const { executable: _e, lastOutcome: _o, ...h } = s;
        return { ...h, status: statusOf(s) };
      });
  }

  /** Health detail for the agent's pipeline health: the per-script states. */
  details(): ScriptHealth[] {
    return this.health();
  }

  totals(): ScriptsTotals {
    return { ...this.totalsAcc };
  }

  async collect(): Promise<Collection> {
    const listed = await this.scan();
    if (listed === undefined) {
      for (const [name, st] of this.states) if (!st.running) this.states.delete(name);
      return { samples: [], present: false, origin: 'custom' };
    }

    // Forget scripts that were removed, unless a run of theirs is still alive: its state is what
    // keeps a re-added file of the same name from starting a second run beside it.
    const names = new Set(listed.map((e) => e.name));
    for (const [name, st] of this.states) if (!names.has(name) && !st.running) this.states.delete(name);

    const toRun: ScriptState[] = [];
    for (const { name, executable } of listed) {
      const st = this.stateFor(name);
      st.executable = executable;
      if (!executable) continue;
      if (st.running) {
        st.skippedOverlaps++;
        this.totalsAcc.skippedOverlaps++;
        continue;
      }
      st.running = true; // claimed before any await, so a concurrent collect() skips it too
      toRun.push(st);
    }

    const results: Sample[][] = new Array(toRun.length);
    let next = 0;
    const worker = async () => {
      while (next < toRun.length) {
        const i = next++;
        results[i] = await this.runOne(toRun[i]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, toRun.length) }, worker));

    const samples: Sample[] = [];
    for (const r of results) for (const s of r) samples.push(s);
    return { samples, present: true, origin: 'custom' };
  }

  /**
   * Sends SIGTERM to the process group of every run in progress (agent shutdown). Idempotent;
   * the runs then end through their normal path and collect() settles.
   */
  stop(): void {
    for (const cancel of this.active) cancel();
  }

  /** Directory entries with whether each may run; undefined when the directory does not exist. */
  private async scan(): Promise<{ name: string; executable: boolean }[] | undefined> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw e;
    }
    const out: { name: string; executable: boolean }[] = [];
    for (const name of names.sort()) {
      // Hidden entries are not scripts: editor swap files, and a ConfigMap volume's `..data` links.
      if (name.startsWith('.')) continue;
      const file = path.join(this.dir, name);
      let isFile = false;
      let executable = false;
      try {
        const st = await fsp.stat(file); // follows symlinks (ConfigMap keys are links)
        isFile = st.isFile();
        if (isFile && (st.mode & 0o111) !== 0) {
          await fsp.access(file, fsConstants.X_OK);
          executable = true;
        }
      } catch {
        // Dangling link, vanished file, no permission: not runnable.
      }
      if (isFile) out.push({ name, executable });
    }
    return out;
  }

  private stateFor(name: string): ScriptState {
    let st = this.states.get(name);
    if (st === undefined) {
      st = {
        script: name, status: 'pending', running: false, runs: 0, failures: 0, timeouts: 0, skippedOverlaps: 0,
        linesRejected: 0, lastLinesAccepted: 0, lastSamples: 0, lastExitCode: null, lastSignal: null,
        lastDurationMs: null, lastRunAtMs: null, lastError: null, lastStderr: null, executable: false, lastOutcome: null,
      };
      this.states.set(name, st);
    }
    return st;
  }

  /** Runs one script and records its outcome. Never throws. */
  private async runOne(st: ScriptState): Promise<Sample[]> {
    const file = path.join(this.dir, st.script);
    st.lastRunAtMs = this.now();
    let outcome: RunOutcome;
    try {
      let cancel: (() => void) | undefined;
      const deps = {
        spawn: this.spawn,
        kill: this.kill,
        env: this.env,
        onStart: (c: () => void) => {
          cancel = c;
          this.active.add(c);
        },
      };
      outcome = await runScript(file, this.dir, this.limits, deps, () => {
        st.running = false;
        if (cancel !== undefined) this.active.delete(cancel);
      });
    } catch (e) {
      // runScript does not reject; this is a guard against a bug, not a path we expect.
      st.running = false;
      outcome = {
        stdout: undefined, exitCode: null, signal: null, timedOut: false, overflowed: false,
        error: `internal error: ${(e as Error).message}`, stderrLastLine: null, durationMs: 0,
      };
    }
    return this.record(st, outcome);
  }

  private record(st: ScriptState, o: RunOutcome): Sample[] {
    st.runs++;
    this.totalsAcc.runs++;
    st.lastExitCode = o.exitCode;
    st.lastSignal = o.signal;
    st.lastDurationMs = o.durationMs;
    st.lastStderr = o.stderrLastLine;

    let samples: Sample[] = [];
    let accepted = 0;
    let parseError: string | null = null;
    if (o.stdout !== undefined && o.stdout !== '') {
      const r = this.parser.parse(o.stdout);
      samples = r.samples;
      accepted = r.points ?? 0;
      if (r.errors.length > 0) {
        st.linesRejected += r.errors.length;
        this.totalsAcc.linesRejected += r.errors.length;
        const first = r.errors[0];
        parseError = `${r.errors.length} line(s) rejected; line ${first.line}: ${first.message}`;
      }
    }
    st.lastLinesAccepted = accepted;
    st.lastSamples = samples.length;
    this.totalsAcc.samples += samples.length;

    let failure: string | null = null;
    if (o.timedOut) {
      failure = `timed out after ${this.limits.timeoutMs} ms; process group killed`;
      if (o.error !== null) failure += ` (${o.error})`;
      st.timeouts++;
      this.totalsAcc.timeouts++;
    } else if (o.error !== null) {
      failure = o.error;
    } else if (o.signal !== null) {
      failure = `killed by ${o.signal}`;
    } else if (o.exitCode !== 0) {
      failure = `exited with code ${o.exitCode}`;
    }
    if (failure !== null) {
      st.failures++;
      this.totalsAcc.failures++;
      if (o.timedOut && st.running) failure += '; still running';
    }
    st.lastOutcome = o.timedOut ? 'timeout' : failure !== null ? 'failed' : 'ok';
    st.lastError = failure !== null && parseError !== null ? `${failure}; ${parseError}` : (failure ?? parseError);
    return samples;
  }
}

function statusOf(s: ScriptState): ScriptStatus {
  if (!s.executable) return 'not-executable';
  if (s.running) return 'running';
  return s.lastOutcome ?? 'pending';
}

/** Registry entry (src/collectors/registry.ts). Runs in every mode: its output is custom metrics. */
export const scriptsCollector = defineCollector({
  name: 'scripts',
  defaultIntervalMs: 10_000,
  settings: {
    customMetricsDir: ['CUSTOM_METRICS_DIR', z.string().default('/app/custom-metrics')],
    collectorScriptsEnabled: enabledSetting('COLLECTOR_SCRIPTS_ENABLED'),
    collectorScriptsIntervalMs: intervalSetting('COLLECTOR_SCRIPTS_INTERVAL_MS', 10_000, 1000),
    scriptTimeoutMs: ['SCRIPT_TIMEOUT_MS', int(100, 600_000).default(5000)],
  },
  enabledKey: 'collectorScriptsEnabled',
  intervalKey: 'collectorScriptsIntervalMs',
  sources: ['builtin', 'telegraf', 'none'],
  create: (s, { parser }) => new ScriptsCollector({ dir: s.customMetricsDir, timeoutMs: s.scriptTimeoutMs, parser }),
});
