/**
 * Runs one fuzz target in a worker thread with a watchdog: the worker copies each input into
 * shared memory before running it, so an input that never returns (an endless loop) is still
 * saved when the watchdog terminates the worker. Used by `npm run fuzz` (run.ts) and the smoke
 * test (fuzz.test.ts).
 */

import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { inputName, SLOW_MS, type Failure, type FuzzStats } from './engine';

/** The repository root (this file runs from build/test/fuzz/). */
export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const CORPUS_DIR = path.join(ROOT, 'test', 'fuzz', 'corpus');
/** Inputs that once failed: replayed first on every run, kept as regression inputs. */
export const REGRESSIONS_DIR = path.join(ROOT, 'test', 'fuzz', 'regressions');
/** Where new failures are written (not committed; move a fixed one to regressions/). */
export const CRASHES_DIR = path.join(ROOT, 'test-artifacts', 'fuzz-crashes');

/** Bytes of shared memory for the input in flight: header (exec count, length) + the input. */
export const SHARED_INPUT_BYTES = 1 << 20;
/** No progress for this long means the input in flight hangs. */
const WATCHDOG_MS = Math.max(10 * SLOW_MS, 10_000);
/** Loading the modules comes before the first input; on a loaded machine (or at nice 19) that is slow. */
const STARTUP_GRACE_MS = 180_000;

export interface RunOptions {
  target: string;
  execs: number;
  seed: number;
  /** Write failing inputs to CRASHES_DIR. Default true. */
  save?: boolean;
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
  const shared = new SharedArrayBuffer(SHARED_INPUT_BYTES + 8);
  const header = new Int32Array(shared, 0, 2);
  const worker = new Worker(path.join(__dirname, 'worker.js'), { workerData: { ...opts, shared } });
  return new Promise<RunResult>((resolve, reject) => {
    let lastExecs = 0;
    const started = Date.now();
    let lastChange = started;
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
      if (execs !== lastExecs) {
        lastExecs = execs;
        lastChange = Date.now();
        return;
      }
      if (execs === 0 && Date.now() - started < STARTUP_GRACE_MS) return;
      if (Date.now() - lastChange < WATCHDOG_MS) return;
      // Stuck: save the input in flight and stop the worker.
      const len = Atomics.load(header, 1);
      const input = Buffer.from(new Uint8Array(shared, 8, Math.min(len, SHARED_INPUT_BYTES)));
      const failure: Failure = { kind: 'slow', input, detail: `no result after ${WATCHDOG_MS} ms (input of ${len} bytes${len > SHARED_INPUT_BYTES ? ', cut' : ''})` };
      void worker.terminate();
      finish({ target: opts.target, execs, rejected: 0, signatures: 0, corpusSize: 0, slowestMs: WATCHDOG_MS, failures: [failure], seconds: 0 });
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
