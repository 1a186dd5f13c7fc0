/**
 * Runs the built-in collectors, each on its own interval, never overlapping itself: the next run
 * is scheduled only after the previous one settled. Results enter the hub as system samples with
 * the node's `host` label. Failures and absent hardware are state (health, self-metrics), logged
 * once when they change, never once per cycle.
 */

import type { Hub } from '../hub/hub';
import type { Logger } from '../log/logger';
import { relabeled, type Labels, type Sample, type SeriesSlot } from '../model/sample';
import { seriesKey } from '../model/series-key';
import type { Collector } from './collector';

export interface ScheduledCollector {
  collector: Collector;
  intervalMs: number;
}

export interface CollectorHealth {
  name: string;
  intervalMs: number;
  present: boolean | null;
  runs: number;
  failures: number;
  consecutiveFailures: number;
  lastError: string | null;
  lastDurationMs: number | null;
  lastSuccessMs: number | null;
  samples: number;
}

/** Hooks for self-metrics; all optional so tests can run without a registry. */
export interface SchedulerObserver {
  cycle?(name: string, seconds: number, ok: boolean): void;
  present?(name: string, present: boolean): void;
  /**
   * Labels added to a collector's series before they enter the hub (a device's holding pod, see
   * pod-resources/holders.ts): returns `labels` itself or a new object; must not mutate `labels`.
   */
  join?(collector: string, name: string, labels: Labels): Labels;
}

/**
 * One labels object of a collector, as it enters the hub: with the host label, and the series key
 * and store slot (Sample.slot) of each name seen with it.
 */
interface Hosted {
  labels: Labels;
  slots: Map<string, SeriesSlot>;
}

export class CollectorScheduler {
  private readonly state = new Map<string, CollectorHealth>();
  /**
   * Per collector, by the identity of the labels object it (or the observer's join) handed out last
   * cycle: collectors reuse those objects (collectors/labels.ts), so a series keeps its labels, key
   * and slot from cycle to cycle and the store neither rebuilds its key nor looks it up. Holds only
   * what the latest cycle used.
   */
  private readonly hosted = new Map<string, Map<Labels, Hosted>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<void>>();
  private stopped = true;
  private collectorsStopped = false;

  constructor(
    private readonly collectors: ScheduledCollector[],
    private readonly hub: Hub,
    private readonly host: string,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
    private readonly observer: SchedulerObserver = {},
  ) {
    for (const { collector, intervalMs } of collectors) {
      this.state.set(collector.name, {
        name: collector.name, intervalMs, present: null, runs: 0, failures: 0, consecutiveFailures: 0,
        lastError: null, lastDurationMs: null, lastSuccessMs: null, samples: 0,
      });
    }
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    for (const sc of this.collectors) this.schedule(sc, 0);
  }

  /**
   * Stops scheduling, lets each collector cancel its work in progress (its stop()), and waits for
   * runs in progress. Idempotent.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    if (!this.collectorsStopped) {
      this.collectorsStopped = true;
      for (const { collector } of this.collectors) {
        try {
          await collector.stop?.();
        } catch (e) {
          this.logger.warn('collector stop failed', { collector: collector.name, error: e instanceof Error ? e.message : String(e) });
        }
      }
    }
    await Promise.allSettled([...this.running.values()]);
  }

  /** Collector-specific health details, by collector name (only collectors that have some). */
  details(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const { collector } of this.collectors) if (collector.details) out[collector.name] = collector.details();
    return out;
  }

  health(): CollectorHealth[] {
    return [...this.state.values()].map((h) => ({ ...h }));
  }

  /** Runs every collector once now (tests, and the first cycle). */
  async runOnce(): Promise<void> {
    await Promise.all(this.collectors.map((sc) => this.run(sc)));
  }

  private schedule(sc: ScheduledCollector, delayMs: number): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      const startedAt = Date.now();
      const p = this.run(sc).finally(() => {
        this.running.delete(sc.collector.name);
        // Keep the cadence, but a slow run delays the next one instead of overlapping it.
        this.schedule(sc, Math.max(0, sc.intervalMs - (Date.now() - startedAt)));
      });
      this.running.set(sc.collector.name, p);
    }, delayMs);
    t.unref();
    this.timers.set(sc.collector.name, t);
  }

  private async run(sc: ScheduledCollector): Promise<void> {
    const h = this.state.get(sc.collector.name)!;
    const started = process.hrtime.bigint();
    let ok = false;
    try {
      const { samples, present, origin = 'system' } = await sc.collector.collect();
      if (present !== h.present) {
        if (h.present !== null || !present) {
          this.logger.info(present ? 'collector source present' : 'collector source absent', { collector: h.name });
        }
        h.present = present;
        this.observer.present?.(h.name, present);
      }
      if (samples.length > 0) this.hub.accept({ samples: this.withHost(samples, h.name), origin, format: origin === 'system' ? 'system' : 'script' });
      h.samples = samples.length;
      h.lastSuccessMs = this.now();
      if (h.consecutiveFailures > 0) this.logger.info('collector recovered', { collector: h.name });
      h.consecutiveFailures = 0;
      h.lastError = null;
      ok = true;
    } catch (e) {
      h.failures++;
      h.consecutiveFailures++;
      const msg = e instanceof Error ? e.message : String(e);
      if (h.consecutiveFailures === 1 || msg !== h.lastError) this.logger.warn('collector failed', { collector: h.name, error: msg });
      h.lastError = msg;
    } finally {
      h.runs++;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      h.lastDurationMs = seconds * 1000;
      this.observer.cycle?.(h.name, seconds, ok);
    }
  }

  /**
   * Adds the node's host label (a collector's own `host` label would be overwritten anyway), with
   * each series' key and slot, kept across cycles (see `hosted`).
   */
  private withHost(samples: Sample[], collector: string): Sample[] {
    const prev = this.hosted.get(collector);
    const next = new Map<Labels, Hosted>();
    const join = this.observer.join;
    const out: Sample[] = new Array<Sample>(samples.length);
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i];
      const own = join ? join(collector, s.name, s.labels) : s.labels;
      let h = next.get(own);
      if (h === undefined) {
        h = prev?.get(own) ?? { labels: { ...own, host: this.host }, slots: new Map() };
        next.set(own, h);
      }
      let slot = h.slots.get(s.name);
      if (slot === undefined) {
        slot = { key: seriesKey(s.name, h.labels), series: null, epoch: 0 };
        h.slots.set(s.name, slot);
      }
      out[i] = relabeled(s, h.labels, slot.key, slot);
    }
    this.hosted.set(collector, next);
    return out;
  }
}
