/**
 * Large JSON answers: every series of a full store is 12 MB of JSON and a third of a second of
 * work (100,000 series). Built in one go, that holds the event loop, so pushes, probes and scrapes
 * wait; built by many clients at once, each holds its text and its gzip job. So an answer of more
 * than ANSWER_SLICE items is built a slice at a time with the event loop let run in between, and
 * one such answer is built and sent at a time; at most MAX_WAITING more wait their turn, the rest
 * get a 503 with Retry-After (counted).
 */

import { HttpError } from './errors';
import { yieldToLoop } from './steps';

/** Items serialised between two turns of the event loop (about 5–10 ms of work). */
export const ANSWER_SLICE = 2000;
/** Large answers that may wait for the one being built. */
export const MAX_WAITING = 4;

/** A lock with a bounded queue: one holder, at most `maxWaiting` waiting, in arrival order. */
export class OneAtATime {
  private held = false;
  private readonly queue: Array<() => void> = [];
  /** Callers refused because the queue was full (a counter). */
  refused = 0;

  constructor(readonly maxWaiting: number = MAX_WAITING) {}

  /** Resolves with the release once it is the caller's turn; throws a 503 when too many wait. */
  async acquire(): Promise<() => void> {
    if (this.held) {
      if (this.queue.length >= this.maxWaiting) {
        this.refused++;
        throw new HttpError(503, 'busy', 'the agent is building other large answers; retry shortly, or narrow the query (name, match, limit)', undefined, 1);
      }
      await new Promise<void>((resolve) => this.queue.push(resolve));
    }
    this.held = true;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) next(); // the lock passes on held
      else this.held = false;
    };
  }

  /** Callers waiting now. */
  get waiting(): number {
    return this.queue.length;
  }
}

/** Calls `fn` on each item in order, yielding to the event loop every ANSWER_SLICE items. */
export async function eachInSlices<T>(items: Iterable<T>, fn: (t: T) => void): Promise<void> {
  let n = 0;
  for (const t of items) {
    if (n > 0 && n % ANSWER_SLICE === 0) await yieldToLoop();
    fn(t);
    n++;
  }
}

/** `items` serialised by `item` and joined with commas, yielding to the event loop every ANSWER_SLICE items. */
export async function joinInSlices<T>(items: Iterable<T>, item: (t: T) => string): Promise<string> {
  const out: string[] = [];
  await eachInSlices(items, (t) => out.push(item(t)));
  return out.join(',');
}

/** Runs a pausing builder (a generator that yields every ANSWER_SLICE items) with the event loop let run at each pause. */
export async function runInSlices<T>(steps: Generator<void, T, void>): Promise<T> {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await yieldToLoop();
  }
}
