/**
 * Label-matcher regexes with RE2 semantics (linear time, Go/Prometheus syntax), on the RE2 build of
 * the `re2-wasm` package.
 *
 * Why not `new RE2(pattern, 'u')` from the package's front door: that class (1) rewrites the
 * pattern from JavaScript syntax to RE2 syntax, while our users write RE2 syntax already (PromQL),
 * and (2) never frees the C++ objects it creates (its finalizer hook looks for the pre-standard
 * `FinalizationGroup`, absent from Node). The module's heap is a fixed 16 MiB that cannot grow, so
 * about 9,000 constructions exhaust it and every later compile aborts. We therefore drive the
 * package's `WrappedRE2` directly and own every object's lifetime:
 *
 * - Compiled programs live only in one bounded LRU cache keyed by pattern; evicting frees the C++
 *   object. A `LabelRegex` holds the pattern text, not the program, and looks the program up on each
 *   test (recompiling after an eviction), so nothing outside this file can hold a freed object.
 * - A pattern whose program does not fit the heap (e.g. `\pL{300}`) makes the module abort. We then
 *   drop the whole module instance (the garbage collector frees it with its heap) and load a fresh
 *   one; the pattern is refused as a ValidationError naming it. Resets are counted.
 *
 * - Compiling is the expensive part of this build (Unicode classes especially: `\pL` alone takes
 *   ~150 ms, `\pL{30}` seconds, `.{600}` a quarter of a second and 600 KB), and it runs on the event
 *   loop. `compileCost` estimates a pattern's program size before RE2 sees it, and patterns above
 *   MAX_REGEX_COST are refused; the LRU cache makes a repeated pattern free.
 *
 * The engine is per process on purpose: the wasm heap it manages is a process-wide resource.
 */

import { ValidationError } from '../model/names';

interface WrappedRE2 {
  ok(): boolean;
  error(): string;
  match(input: string, start: number, getCapturingGroups: boolean): { index: number };
  delete(): void;
}

interface Re2Module {
  WrappedRE2: new (pattern: string, ignoreCase: boolean, multiline: boolean, dotAll: boolean) => WrappedRE2;
}

/** RE2 refused a pattern; `reason` is RE2's own words (or why it did not fit). */
export class RegexError extends ValidationError {
  constructor(readonly pattern: string, readonly reason: string) {
    super(`invalid regex ${JSON.stringify(pattern)}: ${reason}`);
  }
}

/** What the module throws when its heap runs out (our TypeScript lib settings omit WebAssembly's types). */
const WasmRuntimeError = (globalThis as unknown as { WebAssembly: { RuntimeError: ErrorConstructor } }).WebAssembly.RuntimeError;

const MODULE_PATH = require.resolve('re2-wasm/build/wasm/re2');

/** Compiled programs kept at once (a typical selector regex costs about 2 KB of the 16 MiB heap). */
export const MAX_COMPILED_REGEXES = 256;

/**
 * Largest estimated program size accepted (see compileCost): `.{60}`, `[a-z]{500}` or `\pL{4}` pass,
 * `.{100}` or `\pL{10}` do not.
 */
export const MAX_REGEX_COST = 600;

/** Atoms that compile to many UTF-8 byte ranges: Unicode properties, and negated or any-char classes. */
const PROPERTY_COST = 150;
const WIDE_COST = 10;

/**
 * A rough size estimate of the RE2 program for `pattern`: each atom weighs 1 (a Unicode property
 * 150, `.` / a negated class / \W \S \D 10) times the repetition counts around it. Only counted
 * repetition multiplies (`*`, `+`, `?` do not grow the program). Never throws: a malformed pattern
 * is estimated as well as it goes and RE2 then names the error.
 */
export function compileCost(pattern: string): number {
  // Stack of [cost of the finished atoms of this group, cost of the last atom].
  const stack: Array<{ total: number; last: number }> = [{ total: 0, last: 0 }];
  const top = () => stack[stack.length - 1];
  const atom = (cost: number) => { const t = top(); t.total += cost; t.last = cost; };
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\') {
      const e = pattern[i + 1] ?? '';
      if (e === 'p' || e === 'P') {
        if (pattern[i + 2] === '{') {
          const k = pattern.indexOf('}', i + 3);
          i = k < 0 ? pattern.length : k + 1;
        } else i += 3;
        atom(PROPERTY_COST);
        continue;
      }
      atom(e === 'W' || e === 'S' || e === 'D' ? WIDE_COST : 1);
      i += 2;
      continue;
    }
    if (c === '[') {
      // A class: to its closing bracket (a leading ] or ^] is literal; [:name:] inside is skipped).
      let j = i + 1;
      const negated = pattern[j] === '^';
      if (negated) j++;
      if (pattern[j] === ']') j++;
      let property = false;
      while (j < pattern.length && pattern[j] !== ']') {
        if (pattern[j] === '\\') { if (pattern[j + 1] === 'p' || pattern[j + 1] === 'P') property = true; j += 2; continue; }
        if (pattern[j] === '[' && pattern[j + 1] === ':') { const k = pattern.indexOf(':]', j + 2); j = k < 0 ? j + 1 : k + 2; continue; }
        j++;
      }
      i = j + 1;
      atom(property ? PROPERTY_COST : negated ? WIDE_COST : 1);
      continue;
    }
    if (c === '(') {
      stack.push({ total: 0, last: 0 });
      i++;
      continue;
    }
    if (c === ')') {
      const inner = stack.length > 1 ? stack.pop()!.total : 0;
      atom(inner);
      i++;
      continue;
    }
    if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i, i + 24));
      if (m) {
        const n = Math.max(Number(m[1]), m[3] ? Number(m[3]) : m[2] ? Number(m[1]) + 1 : 0);
        const t = top();
        t.total += t.last * (n - 1);
        t.last *= n;
        i += m[0].length;
        continue;
      }
    }
    if (c === '.') atom(WIDE_COST);
    else if (c === '|' || c === '*' || c === '+' || c === '?' || c === '^' || c === '$') { /* no atom */ }
    else atom(1);
    i++;
  }
  let total = 0;
  for (const g of stack) total += g.total;
  return total;
}

/** Counters for self-metrics. */
export interface RegexEngineStats {
  /** Module instances replaced after the RE2 heap ran out. */
  readonly resets: number;
  /** Programs compiled (cache misses). */
  readonly compiles: number;
  /** Programs currently compiled. */
  readonly cached: number;
}

class Engine implements RegexEngineStats {
  private mod: Re2Module | undefined;
  private readonly cache = new Map<string, WrappedRE2>();
  resets = 0;
  compiles = 0;

  get cached(): number {
    return this.cache.size;
  }

  /**
   * The RE2 module, loaded at first use: about 4 MiB of resident memory (code and the touched part
   * of its heap) that an agent never asked for a regex does not pay. The first load compiles the
   * wasm, about 90 ms on the event loop (longer on a busy machine), once per process.
   */
  private module(): Re2Module {
    if (this.mod === undefined) {
      // A fresh require evaluates the emscripten glue again: a new instance with its own heap.
      delete require.cache[MODULE_PATH];
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      this.mod = require(MODULE_PATH) as Re2Module;
    }
    return this.mod;
  }

  /** Forgets the current instance and everything compiled on it (the GC frees its heap). */
  private reset(): void {
    this.mod = undefined;
    this.cache.clear();
    this.resets++;
  }

  /**
   * The compiled program of `anchored`; throws ValidationError when RE2 rejects it or it does
   * not fit the heap. `shown` is the pattern as the user wrote it, for messages.
   */
  program(anchored: string, shown: string): WrappedRE2 {
    const hit = this.cache.get(anchored);
    if (hit !== undefined) {
      this.cache.delete(anchored);
      this.cache.set(anchored, hit); // most recently used last
      return hit;
    }
    let w: WrappedRE2;
    try {
      w = new (this.module().WrappedRE2)(anchored, false, false, false);
    } catch (e) {
      if (!(e instanceof WasmRuntimeError)) throw e;
      this.reset();
      throw new RegexError(shown, "too large for the matcher's memory; use smaller repetition counts or character classes");
    }
    if (!w.ok()) {
      const why = w.error();
      w.delete();
      throw new RegexError(shown, why);
    }
    this.compiles++;
    if (this.cache.size >= MAX_COMPILED_REGEXES) {
      const [oldKey, old] = this.cache.entries().next().value as [string, WrappedRE2];
      this.cache.delete(oldKey);
      old.delete();
    }
    this.cache.set(anchored, w);
    return w;
  }

  /** Whole-string match; an exhausted heap during matching resets the engine and retries once. */
  test(anchored: string, shown: string, value: string): boolean {
    for (let attempt = 0; ; attempt++) {
      const w = this.program(anchored, shown);
      try {
        return w.match(value, 0, false).index >= 0;
      } catch (e) {
        if (!(e instanceof WasmRuntimeError) || attempt > 0) {
          if (e instanceof WasmRuntimeError) {
            this.reset();
            throw new RegexError(shown, 'needs more memory than the matcher has');
          }
          throw e;
        }
        this.reset();
      }
    }
  }
}

const engine = new Engine();

/** The process's regex engine counters (for /metrics/self). */
export function regexEngineStats(): RegexEngineStats {
  return engine;
}

/** A compiled, anchored label regex. Immutable; safe to share and keep (it holds no native object). */
export class LabelRegex {
  /** The RE2 pattern actually run: `^(?s:pattern)$`. */
  readonly anchored: string;

  /**
   * Validates `pattern` as RE2 and anchors it as Prometheus does (whole value, `.` matches a line
   * feed). Throws ValidationError naming the pattern when RE2 rejects it (a RegexError).
   */
  constructor(readonly pattern: string) {
    const cost = compileCost(pattern);
    if (cost > MAX_REGEX_COST) {
      throw new RegexError(pattern, `too expensive to compile (estimated size ${cost}, limit ${MAX_REGEX_COST}); use smaller repetition counts, fewer Unicode classes or "." under counted repetition`);
    }
    // A pattern with parentheses is compiled alone first, so that errors quote it as written and
    // only a balanced one is anchored (`a)|(b` would close the anchoring group early).
    if (pattern.includes('(') || pattern.includes(')')) engine.program(pattern, pattern);
    this.anchored = '^(?s:' + pattern + ')$';
    engine.program(this.anchored, pattern);
  }

  test(value: string): boolean {
    return engine.test(this.anchored, this.pattern, value);
  }
}
