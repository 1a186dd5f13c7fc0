/**
 * The hub: every batch of samples, whatever its source, goes through `accept`. It stores first,
 * then hands the batch to subscribers (stream, sinks). A subscriber must not block or throw: it
 * copies what it needs and returns; its own bounded buffer decides what to drop (and counts it).
 *
 * Two ports, used by every part: producers (HTTP routes, collectors, the Telegraf source) see
 * `HubProducer`, consumers (stream, sinks) see `HubSubscription`. Nothing else writes to or
 * deletes from the store.
 */

import type { Origin, Sample } from '../model/sample';
import type { Series, SeriesStore, WriteResult } from '../store/series-store';
import type { IngestFormat, SelfMetrics } from '../telemetry/self-metrics';

export interface Batch {
  samples: readonly Sample[];
  origin: Origin;
  format: IngestFormat;
  /** When given, the store appends the key of every series this batch created (a source that deletes only what it created uses it). */
  created?: string[];
}

export type Subscriber = (batch: Batch) => void;

/**
 * What produces data. `accept` stores the batch and fans it out; the result is what the store
 * kept (the caller tells its client). Ownership: the samples (and their label objects) belong to
 * the hub afterwards; do not mutate them. `deleteSeries` removes series of one origin only (a
 * source can never delete what another origin wrote) and returns how many went.
 */
export interface HubProducer {
  accept(batch: Batch): WriteResult;
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
  accept(batch: Batch): WriteResult {
    const res = this.store.write(batch.samples, batch.origin, batch.created);
    this.metrics.samplesReceived(batch.format, res.stored);
    this.metrics.samplesRejected(batch.format, 'type_conflict', res.typeConflicts);
    this.metrics.samplesRejected(batch.format, 'too_old', res.tooOld);
    if (res.stored > 0) {
      for (const s of this.subscribers) {
        try {
          s(batch);
        } catch (err) {
          this.onSubscriberError(err);
        }
      }
    }
    return res;
  }

  deleteSeries(origin: Origin, match: (s: Series) => boolean): number {
    return this.store.deleteWhere((s) => s.origin === origin && match(s));
  }

  subscribe(s: Subscriber): () => void {
    this.subscribers.add(s);
    return () => this.subscribers.delete(s);
  }
}
