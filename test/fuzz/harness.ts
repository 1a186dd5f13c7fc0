/**
 * Runs one fuzz target in a worker thread with a watchdog: the worker copies each input into
 * shared memory before running it, so an input that never returns (an endless loop) is still
 * saved when the watchdog terminates the worker. The watchdog judges by the worker thread's CPU
 * time where Linux shows it (a worker starved of CPU is not hanging). Used by `npm run fuzz`
 * (run.ts) and the smoke test (fuzz.test.ts).
 */

import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { inputName, SLOW_MS, type Failure, type FuzzStats } from './engine';
import { cpuOfThread } from './thread-cpu';

/** The repository root (this file runs from build/test/fuzz/). */
export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const CORPUS_DIR = path.join(ROOT, 'test', 'fuzz', 'corpus');
/** Inputs that once failed: replayed first on every run, kept as regression inputs. */
export const REGRESSIONS_DIR = path.join(ROOT, 'test', 'fuzz', 'regressions');
/** Where new failures are written (not committed; move a fixed one to regressions/). */
export const CRASHES_DIR = path.join(ROOT, 'test-artifacts', 'fuzz-crashes');

/** Bytes of shared memory for the input in flight, after a header (exec count, length, thread id). */
export const SHARED_INPUT_BYTES = 1 << 20;
export const SHARED_HEADER_BYTES = 16;
/** No progress for this much CPU time of the worker means the input in flight hangs. */
const WATCHDOG_MS = Math.max(10 * SLOW_MS, 10_000);
/**
 * No progress for this much wall-clock time is a hang even without CPU use (an input that blocks),
 * or the bound itself where the worker's CPU time cannot be read. Long, because a worker at nice 19
 * on a busy machine can wait minutes for a core.
 */
const WATCHDOG_WALL_MS = 300_000;
/** Loading the modules comes before the first input; on a loaded machine (or at nice 19) that is slow. */
const STARTUP_GRACE_MS = 180_000;

export interface RunOptions {
  target: string;
  execs: number;
  seed: number;
  /** Write failing inputs to CRASHES_DIR. Default true. */
  save?: boolean;
  /** Largest generated input, bytes (engine.ts DEFAULT_MAX_LEN when absent). */
  maxLen?: number;
  /** Stop generating inputs at this time (Date.now() ms). */
  deadline?: number;
  /** Called about every `progressMs` with the executions so far. */
  onProgress?: (execs: number) => void;
  progressMs?: number;
}

export interface RunResult extends FuzzStats {
  /** Files written for the failures. */
  saved: string[];
}

/** Seed files of a target: its corpus, then its regression inputs. */
export function seedFiles(target: string): string[] {
  const out: string[] = [];
  for (const dir of [path.join(CORPUS_DIR, target), path.join(REGRESSIONS_DIR, target)]) {
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir).sort()) out.push(path.join(dir, f));
  }
  return out;
}

export function runFuzz(opts: RunOptions): Promise<RunResult> {
  const shared = new SharedArrayBuffer(SHARED_HEADER_BYTES + SHARED_INPUT_BYTES);
  const header = new Int32Array(shared, 0, 3);
  const { onProgress, ...workerOpts } = opts;
  const worker = new Worker(path.join(__dirname, 'worker.js'), { workerData: { ...workerOpts, shared } });
  return new Promise<RunResult>((resolve, reject) => {
    let lastExecs = 0;
    const started = Date.now();
    let lastChange = started;
    let lastChangeCpu: number | undefined;
    let lastProgress = started;
    let done = false;
    const finish = (stats: FuzzStats): void => {
      if (done) return;
      done = true;
      clearInterval(timer);
      const saved = opts.save === false ? [] : saveFailures(opts.target, stats.failures);
      resolve({ ...stats, saved });
    };
    const timer = setInterval(() => {
      const execs = Atomics.load(header, 0);
      const tid = Atomics.load(header, 2);
      const cpu = tid > 0 ? cpuOfThread(tid) : undefined;
      const now = Date.now();
      if (onProgress && now - lastProgress >= (opts.progressMs ?? 60_000)) {
        lastProgress = now;
        onProgress(execs);
      }
      if (execs !== lastExecs) {
        lastExecs = execs;
        lastChange = now;
        lastChangeCpu = cpu;
        return;
      }
      if (execs === 0 && now - started < STARTUP_GRACE_MS) return;
      const cpuStuck = cpu !== undefined && lastChangeCpu !== undefined ? cpu - lastChangeCpu : undefined;
      const stuck = cpuStuck !== undefined ? cpuStuck >= WATCHDOG_MS || now - lastChange >= WATCHDOG_WALL_MS : now - lastChange >= WATCHDOG_MS;
      if (!stuck) return;
      // Stuck: save the input in flight and stop the worker.
      const len = Atomics.load(header, 1);
      const input = Buffer.from(new Uint8Array(shared, SHARED_HEADER_BYTES, Math.min(len, SHARED_INPUT_BYTES)));
      const spent = cpuStuck !== undefined ? `${Math.round(cpuStuck)} ms of CPU, ${now - lastChange} ms` : `${now - lastChange} ms`;
      const failure: Failure = { kind: 'slow', input, detail: `no result after ${spent} (input of ${len} bytes${len > SHARED_INPUT_BYTES ? ', cut' : ''})` };
      void worker.terminate();
      finish({ target: opts.target, execs, rejected: 0, signatures: 0, corpusSize: 0, slowestMs: now - lastChange, slowDismissed: 0, failures: [failure], seconds: (now - started) / 1000, stoppedAtDeadline: false });
    }, 250);
    timer.unref();
    worker.on('message', (stats: FuzzStats) => {
      for (const f of stats.failures) f.input = Buffer.from(f.input);
      finish(stats);
    });
    worker.on('error', (err) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      reject(err);
    });
    worker.on('exit', (code) => {
      if (!done) {
        done = true;
        clearInterval(timer);
        reject(new Error(`fuzz worker for ${opts.target} exited with code ${code} before reporting`));
      }
    });
  });
}

function saveFailures(target: string, failures: Failure[]): string[] {
  const files: string[] = [];
  for (const f of failures) {
    const dir = path.join(CRASHES_DIR, target);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, inputName(f.kind, f.input));
    fs.writeFileSync(file, f.input);
    fs.writeFileSync(file + '.txt', `${f.detail}\n${f.stack ?? ''}\n`);
    files.push(path.relative(ROOT, file));
  }
  return files;
}
