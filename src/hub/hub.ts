/**
 * The hub: every batch of samples, whatever its source, goes through `accept`. It stores first,
 * then hands the batch to subscribers (stream, sinks). A subscriber must not block or throw: it
 * copies what it needs and returns; its own bounded buffer decides what to drop (and counts it).
 *
 * Two ports, used by every part: producers (HTTP routes, collectors, the Telegraf source) see
 * `HubProducer`, consumers (stream, sinks) see `HubSubscription`. Nothing else writes to or
 * deletes from the store.
 *
 * Durability: a subscriber may return a promise that settles once the batch is safe (a sink with
 * an on-disk spool: appended and fsynced). `accept` then returns it as `durable`, and a push route
 * awaits it before answering 2xx, so what was acknowledged survives a crash. Subscribers that
 * return nothing (the stream, sinks without a spool) cost nothing: `durable` stays undefined.
 */

import type { Origin, Sample } from '../model/sample';
import type { Series, SeriesStore, Tenant, WriteResult } from '../store/series-store';
import type { IngestFormat, SelfMetrics } from '../telemetry/self-metrics';

export interface Batch {
  samples: readonly Sample[];
  origin: Origin;
  format: IngestFormat;
  /** When given, the store appends the key of every series this batch created (a source that deletes only what it created uses it). */
  created?: string[];
  /** The pushing namespace when per-namespace quotas apply: its series are counted and capped. */
  tenant?: Tenant;
}

/**
 * Called synchronously for every batch the store took. Owns nothing after it returns (copy what
 * you keep). May return a promise of durability: it must never reject (report failures yourself).
 */
export type Subscriber = (batch: Batch) => void | Promise<void>;

/** What `accept` tells the caller: the store's counts, and what to await before acknowledging. */
export interface Accepted extends WriteResult {
  /**
   * Set when a subscriber persists the batch (a spooling sink): settles, never rejects, once it
   * is on disk. Answer the client 2xx only after it.
   */
  durable?: Promise<void>;
}

/**
 * What produces data. `accept` stores the batch and fans it out; the result is what the store
 * kept (the caller tells its client). Ownership: the samples (and their label objects) belong to
 * the hub afterwards; do not mutate them. `deleteSeries` removes series of one origin only (a
 * source can never delete what another origin wrote) and returns how many went.
 */
export interface HubProducer {
  accept(batch: Batch): Accepted;
  deleteSeries(origin: Origin, match: (s: Series) => boolean): number;
}

/**
 * What consumes data: `subscribe` registers a callback for every batch the store kept something
 * of, and returns the function that unsubscribes. The batch is shared: read it, never mutate it.
 */
export interface HubSubscription {
  subscribe(s: Subscriber): () => void;
}

export class Hub implements HubProducer, HubSubscription {
  private readonly subscribers = new Set<Subscriber>();

  constructor(
    private readonly store: SeriesStore,
    private readonly metrics: SelfMetrics,
    private readonly onSubscriberError: (err: unknown) => void = () => {},
  ) {}

  /** Stores the batch and fans it out. The returned counts are what the client is told. */
  accept(batch: Batch): Accepted {
    const res = this.store.write(batch.samples, batch.origin, batch.created, batch.tenant);
    this.metrics.samplesReceived(batch.format, res.stored);
    this.metrics.samplesRejected(batch.format, 'type_conflict', res.typeConflicts);
    this.metrics.samplesRejected(batch.format, 'too_old', res.tooOld);
    this.metrics.samplesRejected(batch.format, 'quota', res.quotaRefused);
    if (res.stored === 0) return res;
    // Subscribers (sinks, the stream) never see what a quota refused: the client was told it was not taken.
    if (res.quotaRefusedAt !== undefined) batch = { ...batch, samples: without(batch.samples, res.quotaRefusedAt) };
    let pending: Promise<void>[] | undefined;
    for (const s of this.subscribers) {
      try {
        const p = s(batch);
        if (p !== undefined) (pending ??= []).push(p);
      } catch (err) {
        this.onSubscriberError(err);
      }
    }
    if (pending === undefined) return res;
    // Settles when every subscriber's promise has; one that breaks the contract and rejects is reported.
    const durable = Promise.allSettled(pending).then((all) => {
      for (const r of all) if (r.status === 'rejected') this.onSubscriberError(r.reason);
    });
    return { ...res, durable };
  }

  deleteSeries(origin: Origin, match: (s: Series) => boolean): number {
    return this.store.deleteWhere((s) => s.origin === origin && match(s));
  }

  subscribe(s: Subscriber): () => void {
    this.subscribers.add(s);
    return () => this.subscribers.delete(s);
  }
}

/** `samples` without the ascending indexes `drop`. */
function without(samples: readonly Sample[], drop: readonly number[]): Sample[] {
  const out: Sample[] = [];
  let d = 0;
  for (let i = 0; i < samples.length; i++) {
    if (d < drop.length && drop[d] === i) d++;
    else out.push(samples[i]);
  }
  return out;
}
