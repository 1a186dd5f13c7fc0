/**
 * Shared set-up for the Telegraf source tests: a real SeriesStore and Hub (built as src/agent.ts
 * builds them), a logger that records lines, timers that can be counted, and a polling wait.
 */

import { Hub, type Batch } from '../../../src/hub/hub';
import { SeriesStore } from '../../../src/store/series-store';
import { SelfMetrics } from '../../../src/telemetry/self-metrics';
import { TelegrafSource, type FetchLike, type SourceTimers, type TelegrafSourceOptions, type TelegrafSourceState } from '../../../src/sources/telegraf';

let sharedMetrics: SelfMetrics | undefined;
let currentStore: SeriesStore | undefined;

export interface LogLine {
  level: 'info' | 'warn';
  message: string;
  meta?: Record<string, unknown>;
}

/** Timers that remember which are still pending, to show that stop() leaves none behind. */
export class CountingTimers implements SourceTimers {
  readonly live = new Set<NodeJS.Timeout>();
  created = 0;
  set(fn: () => void, ms: number): unknown {
    this.created++;
    const t = setTimeout(() => {
      this.live.delete(t);
      fn();
    }, ms);
    t.unref();
    this.live.add(t);
    return t;
  }
  clear(handle: unknown): void {
    clearTimeout(handle as NodeJS.Timeout);
    this.live.delete(handle as NodeJS.Timeout);
  }
}

/** The global fetch, counting calls, their start times and the most ever in flight at once. */
export class CountingFetch {
  calls = 0;
  startedAt: number[] = [];
  active = 0;
  maxActive = 0;
  readonly fn: FetchLike = async (url, init) => {
    this.calls++;
    this.startedAt.push(performance.now());
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      const res = await fetch(url, init);
      // Count the body read as part of the request: hold "active" until it is consumed.
      const body = await res.arrayBuffer();
      return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    } finally {
      this.active--;
    }
  };
}

export interface Harness {
  store: SeriesStore;
  hub: Hub;
  batches: Batch[];
  logs: LogLine[];
  timers: CountingTimers;
  states: TelegrafSourceState[];
  source(opts: Partial<TelegrafSourceOptions> & { endpoint: string }): TelegrafSource;
}

export function harness(): Harness {
  const store = new SeriesStore(() => ({ retentionSeconds: 300, maxSeries: 100_000, maxSystemSeries: 20_000, maxStoreBytes: 256 * 1024 * 1024, historySeconds: 3600 }));
  currentStore = store;
  // One registry for the whole file: each SelfMetrics registers the process metrics anew.
  sharedMetrics ??= new SelfMetrics({ series: () => currentStore?.size ?? 0, bytes: () => currentStore?.bytes ?? 0 });
  const hub = new Hub(store, sharedMetrics);
  const batches: Batch[] = [];
  hub.subscribe((b) => {
    batches.push(b);
  });
  const logs: LogLine[] = [];
  const timers = new CountingTimers();
  const states: TelegrafSourceState[] = [];
  return {
    store, hub, batches, logs, timers, states,
    source(opts) {
      return new TelegrafSource({
        intervalMs: () => 100,
        hub,
        timers,
        logger: {
          info: (message, meta) => logs.push({ level: 'info', message, meta }),
          warn: (message, meta) => logs.push({ level: 'warn', message, meta }),
        },
        onStateChange: (s) => states.push(s),
        ...opts,
      });
    },
  };
}

/** Polls `pred` every 5 ms; rejects with `what` after timeoutMs. */
export async function waitUntil(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
