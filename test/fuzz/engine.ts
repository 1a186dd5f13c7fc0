/**
 * A small mutation fuzzer, in process and synchronous: it takes corpus entries, mutates their bytes
 * (bit flips, interesting bytes, deletions, duplications, splices, the target's own tokens, long
 * repeats) or draws inputs from the target's fast-check arbitrary, runs the target and classifies
 * what happened. See test/fuzz/README.md.
 *
 * Guidance without coverage: a target may return a short "signature" of what the input did (e.g.
 * the error message with its quoted parts removed). An input with a signature not seen before
 * joins the live corpus, so inputs that reach new error paths get mutated further. That is cheap
 * and finds much of what coverage would; real coverage guidance (jazzer.js) cannot run here.
 */

import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { toHttpError } from '../../src/http/errors';
import { prng } from '../helpers/prng';
import { threadCpuClock } from './thread-cpu';

export interface FuzzTarget {
  name: string;
  /** One-line description for reports. */
  about: string;
  /**
   * Runs one input. Returns an optional signature of the outcome (see above). Throws for bad input
   * only as the product would at its HTTP edge (a classified 4xx); an assertion failure inside is
   * a finding.
   */
  run(data: Buffer): string | void;
  /** Byte strings worth inserting (separators, keywords, escapes). */
  tokens?: readonly string[];
  /** Structured inputs from fast-check, mixed in with the mutations. */
  arbitrary?: fc.Arbitrary<Buffer>;
  /** Errors besides classified 4xx that are the expected answer to bad input (test-double decoders). */
  expected?(err: unknown): boolean;
}

export interface FuzzOptions {
  /**
   * Largest input to generate, bytes (libFuzzer's -max_len). Short inputs keep executions cheap;
   * a run hunting quadratic paths raises it. Seeds and regression inputs are replayed whole.
   */
  maxLen?: number;
  /**
   * The hang bound's clock: CPU time of this thread in ms (thread-cpu.ts), or undefined to judge by
   * a second wall-clock run. Injected for tests.
   */
  cpuClock?: (() => number) | null;
  /** Stop generating inputs at this time (Date.now() ms) and report what ran. */
  deadline?: number;
}

export type FailureKind = 'crash' | 'slow';

export interface Failure {
  kind: FailureKind;
  input: Buffer;
  /** Error name and message, or the time taken. */
  detail: string;
  stack?: string;
}

export interface FuzzStats {
  target: string;
  execs: number;
  /** Inputs answered with a classified 4xx (or the target's expected error). */
  rejected: number;
  /** Distinct signatures seen. */
  signatures: number;
  corpusSize: number;
  slowestMs: number;
  /** Inputs that took over SLOW_MS of wall-clock time but not of CPU time when run again (load). */
  slowDismissed: number;
  failures: Failure[];
  seconds: number;
  /** CPU time of the fuzzing thread, when a thread clock is available. */
  cpuSeconds?: number;
  /** True when the deadline stopped the run before `execs` inputs. */
  stoppedAtDeadline: boolean;
}

/** An input that takes longer than this (CPU time of the thread) is a finding ("hang"). */
export const SLOW_MS = 1000;
/** Default largest generated input, bytes (libFuzzer's -max_len default). */
export const DEFAULT_MAX_LEN = 4096;
const MAX_CORPUS = 4096;
const MAX_FAILURES = 20;


const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x0a, 0x0d, 0x09, 0x20, 0x22, 0x2c, 0x3d, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x23, 0x2d, 0x2e, 0x30, 0x39];

/** Whether err is the answer the product gives to bad input: a 4xx at its HTTP edge. */
export function isClassified4xx(err: unknown): boolean {
  const status = toHttpError(err).status;
  return status >= 400 && status < 500;
}

export class Fuzzer {
  private readonly rnd: () => number;
  private readonly corpus: Buffer[];
  private readonly tokens: Buffer[];
  private readonly seen = new Set<string>();
  private readonly maxLen: number;
  private readonly cpuClock: (() => number) | undefined;
  private readonly deadline: number;
  private arbQueue: Buffer[] = [];
  private arbSeed: number;
  readonly stats: FuzzStats;

  constructor(private readonly target: FuzzTarget, seeds: Buffer[], seed: number, opts: FuzzOptions = {}) {
    this.rnd = prng(seed);
    this.arbSeed = seed;
    this.corpus = seeds.length > 0 ? [...seeds] : [Buffer.alloc(0)];
    this.tokens = (target.tokens ?? []).map((t) => Buffer.from(t, 'utf8'));
    this.maxLen = opts.maxLen ?? DEFAULT_MAX_LEN;
    if (!(Number.isInteger(this.maxLen) && this.maxLen > 0)) throw new RangeError(`maxLen must be a positive integer, got ${opts.maxLen}`);
    this.cpuClock = opts.cpuClock === undefined ? threadCpuClock() : opts.cpuClock ?? undefined;
    this.deadline = opts.deadline ?? Infinity;
    this.stats = { target: target.name, execs: 0, rejected: 0, signatures: 0, corpusSize: this.corpus.length, slowestMs: 0, slowDismissed: 0, failures: [], seconds: 0, stoppedAtDeadline: false };
  }

  /**
   * Runs one input through the target and records the outcome. `onStart` is called with the input
   * first (the worker copies it where a watchdog can find it if the call never returns).
   */
  exec(input: Buffer, addToCorpus: boolean): void {
    const t0 = performance.now();
    let signature: string | void = undefined;
    let failed = false;
    try {
      signature = this.target.run(input);
    } catch (err) {
      if (isClassified4xx(err) || this.target.expected?.(err)) {
        this.stats.rejected++;
        signature = 'rejected:' + messageShape(err);
      } else {
        failed = true;
        const e = err as Error;
        this.fail({ kind: 'crash', input, detail: `${e?.name ?? typeof err}: ${String(e?.message ?? err).slice(0, 300)}`, stack: e?.stack });
      }
    }
    let ms = performance.now() - t0;
    this.stats.execs++;
    if (ms > SLOW_MS && !failed) {
      ms = this.timeAgain(input);
      if (ms > SLOW_MS) this.fail({ kind: 'slow', input, detail: `${ms.toFixed(0)} ms${this.cpuClock ? ' of CPU' : ''} for one input of ${input.length} bytes` });
      else this.stats.slowDismissed++;
    }
    if (ms > this.stats.slowestMs) this.stats.slowestMs = ms;
    if (addToCorpus && typeof signature === 'string' && !this.seen.has(signature)) {
      this.seen.add(signature);
      this.stats.signatures = this.seen.size;
      const entry = input.length > this.maxLen ? input.subarray(0, this.maxLen) : input;
      if (this.corpus.length < MAX_CORPUS) this.corpus.push(entry);
      else this.corpus[Math.floor(this.rnd() * this.corpus.length)] = entry;
      this.stats.corpusSize = this.corpus.length;
    }
  }

  /**
   * An input over the bound by the wall clock is run once more and timed by the thread's CPU
   * clock: on a loaded machine (or at nice 19) wall-clock time is mostly waiting for a core.
   * Without a thread clock the second run's wall-clock time decides. Timing every input by CPU
   * time would cost a system call per execution; only the suspects pay it.
   */
  private timeAgain(input: Buffer): number {
    const clock = this.cpuClock;
    const t0 = clock ? clock() : performance.now();
    try {
      this.target.run(input);
    } catch {
      // Its outcome was classified on the first run.
    }
    return (clock ? clock() : performance.now()) - t0;
  }

  /** Runs every seed once (a replay), then `execs` generated inputs (fewer if the deadline comes first). */
  run(execs: number, onInput?: (input: Buffer) => void): FuzzStats {
    const t0 = performance.now();
    const c0 = this.cpuClock?.();
    for (const s of [...this.corpus]) {
      onInput?.(s);
      this.exec(s, true);
    }
    for (let k = 0; k < execs && this.stats.failures.length < MAX_FAILURES; k++) {
      if ((k & 1023) === 0 && Date.now() >= this.deadline) {
        this.stats.stoppedAtDeadline = true;
        break;
      }
      const input = this.next();
      onInput?.(input);
      this.exec(input, true);
    }
    this.stats.seconds = (performance.now() - t0) / 1000;
    if (c0 !== undefined) this.stats.cpuSeconds = (this.cpuClock!() - c0) / 1000;
    return this.stats;
  }

  /** The next input: mostly mutations of corpus entries, sometimes fresh from the arbitrary. */
  next(): Buffer {
    if (this.target.arbitrary && this.rnd() < 0.1) return this.fromArbitrary();
    let b = this.pick();
    const rounds = 1 + Math.floor(this.rnd() * this.rnd() * 8);
    for (let r = 0; r < rounds; r++) b = this.mutate(b);
    return b.length > this.maxLen ? b.subarray(0, this.maxLen) : b;
  }

  private fromArbitrary(): Buffer {
    if (this.arbQueue.length === 0) {
      this.arbSeed = (this.arbSeed * 1103515245 + 12345) >>> 0;
      this.arbQueue = fc.sample(this.target.arbitrary!, { numRuns: 64, seed: this.arbSeed });
    }
    return this.arbQueue.pop()!;
  }

  private pick(): Buffer {
    return this.corpus[Math.floor(this.rnd() * this.corpus.length)];
  }

  private int(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  mutate(b: Buffer): Buffer {
    const n = b.length;
    const at = this.int(n + 1);
    switch (this.int(11)) {
      case 0: { // flip a bit
        if (n === 0) return this.insert(b, 0, Buffer.from([this.int(256)]));
        const c = Buffer.from(b);
        c[this.int(n)] ^= 1 << this.int(8);
        return c;
      }
      case 1: { // an interesting byte
        if (n === 0) return Buffer.from([INTERESTING[this.int(INTERESTING.length)]]);
        const c = Buffer.from(b);
        c[this.int(n)] = INTERESTING[this.int(INTERESTING.length)];
        return c;
      }
      case 2: { // delete a range
        const len = 1 + this.int(Math.min(16, n + 1));
        return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(n, at + len))]);
      }
      case 3: { // duplicate a range
        const from = this.int(n + 1);
        const len = this.int(Math.min(64, n - from) + 1);
        return this.insert(b, at, b.subarray(from, from + len));
      }
      case 4: { // random bytes
        const len = 1 + this.int(8);
        const r = Buffer.alloc(len);
        for (let i = 0; i < len; i++) r[i] = this.int(256);
        return this.insert(b, at, r);
      }
      case 5: // splice with another entry
      case 6: {
        const other = this.pick();
        return Buffer.concat([b.subarray(0, at), other.subarray(this.int(other.length + 1))]);
      }
      case 7: // insert a token
      case 8: {
        if (this.tokens.length === 0) return this.insert(b, at, Buffer.from([INTERESTING[this.int(INTERESTING.length)]]));
        return this.insert(b, at, this.tokens[this.int(this.tokens.length)]);
      }
      case 9: { // replace a range with a token
        if (this.tokens.length === 0 || n === 0) return b;
        const len = 1 + this.int(Math.min(8, n));
        return Buffer.concat([b.subarray(0, at), this.tokens[this.int(this.tokens.length)], b.subarray(Math.min(n, at + len))]);
      }
      default: { // repeat a piece many times: long runs find the slow paths
        if (n === 0) return b;
        const from = this.int(n);
        const piece = b.subarray(from, from + 1 + this.int(Math.min(32, n - from)));
        const times = 2 + this.int(Math.max(2, Math.floor(this.maxLen / (piece.length * 4))));
        return this.insert(b, at, Buffer.concat(Array(times).fill(piece)));
      }
    }
  }

  private insert(b: Buffer, at: number, piece: Buffer): Buffer {
    return Buffer.concat([b.subarray(0, at), piece, b.subarray(at)]);
  }

  private fail(f: Failure): void {
    if (this.stats.failures.length < MAX_FAILURES) this.stats.failures.push(f);
  }
}

/** A message with its specifics (quoted text, numbers) removed: the shape of an outcome. */
export function messageShape(err: unknown): string {
  // Bounded first: messages can quote whole lines, and this runs for every input.
  const m = (err instanceof Error ? err.message : String(err)).slice(0, 400);
  return m.replace(/"(?:[^"\\]|\\.)*"/g, '"…"').replace(/\d+/g, '0').slice(0, 120);
}

/** File name of a saved input: its kind and a short hash of its bytes. */
export function inputName(kind: string, input: Buffer): string {
  return `${kind}-${createHash('sha1').update(input).digest('hex').slice(0, 12)}`;
}
