/**
 * The hub: every batch of samples, whatever its source, goes through `accept`. It stores first,
 * then hands the batch to subscribers (stream, sinks). A subscriber must not block or throw: it
 * copies what it needs and returns; its own bounded buffer decides what to drop (and counts it).
 */

import type { Origin, Sample } from '../model/sample';
import type { SeriesStore, WriteResult } from '../store/series-store';
import type { IngestFormat, SelfMetrics } from '../telemetry/self-metrics';

export interface Batch {
  samples: readonly Sample[];
  origin: Origin;
  format: IngestFormat;
}

export type Subscriber = (batch: Batch) => void;

export class Hub {
  private readonly subscribers = new Set<Subscriber>();

  constructor(
    private readonly store: SeriesStore,
    private readonly metrics: SelfMetrics,
    private readonly onSubscriberError: (err: unknown) => void = () => {},
  ) {}

  /** Stores the batch and fans it out. The returned counts are what the client is told. */
  accept(batch: Batch): WriteResult {
    const res = this.store.write(batch.samples, batch.origin);
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

  subscribe(s: Subscriber): () => void {
    this.subscribers.add(s);
    return () => this.subscribers.delete(s);
  }
}
