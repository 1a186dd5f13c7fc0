/**
 * Admission of ingestion work against a memory budget.
 *
 * A request's byte limit bounds its body, not what decoding it costs: a 64 KB gzip body can inflate
 * to 20 MiB, and decoding plus the samples made from it take several times that again. Each push
 * request therefore holds a `Ticket` while it runs; as its body is read (after decompression) the
 * ticket grows by the bytes read times a cost factor. When the sum over all running requests would
 * pass the budget (INGEST_MEMORY_BUDGET_BYTES), the request that asked is refused with 503 and
 * Retry-After (counted), and its reservation is released; the requests already admitted finish.
 *
 * A second, pluggable check says whether the process as a whole is under memory pressure (e.g. an
 * RSS guard near the container limit). While it answers true, new ingestion requests are refused
 * at once with 503 + Retry-After, before their body is read.
 *
 * Usage (see app.ts): `admit()` when a push request starts, `ticket.grow(n)` as body bytes arrive
 * (it throws the 503 HttpError), `ticket.release()` when the response is done (idempotent).
 */

import { HttpError } from './errors';

/**
 * Answers whether new ingestion must be refused because the process is short of memory. Called
 * once per push request, so it must be cheap (read a cached value; never sample /proc here).
 * Return a number of seconds to suggest in Retry-After, or false/undefined when all is well.
 */
export type MemoryPressureCheck = () => number | false | undefined;

export type AdmissionRefusal = 'budget' | 'pressure';

export interface AdmissionStats {
  /** Estimated bytes reserved by running requests. */
  readonly inUseBytes: number;
  /** Requests running with a ticket. */
  readonly active: number;
  /** Requests refused, by reason. */
  readonly refused: Readonly<Record<AdmissionRefusal, number>>;
}

export interface AdmissionOptions {
  /** Budget in bytes of estimated decoding memory; read live. 0 disables the budget. */
  budgetBytes: () => number;
  /** Estimated working memory per body byte (decoded objects and samples); default 4. */
  costPerByte?: number;
  /** Retry-After, seconds, for a spent budget. Default 1. */
  retryAfterSeconds?: number;
}

/** 503 with a Retry-After, for both refusals. */
export class AdmissionRefused extends HttpError {
  constructor(readonly reason: AdmissionRefusal, message: string, retryAfterSeconds: number) {
    super(503, reason === 'budget' ? 'ingest_budget_exhausted' : 'memory_pressure', message, undefined, retryAfterSeconds);
  }
}

export interface Ticket {
  /** Adds `bodyBytes` of body read so far; throws AdmissionRefused when the budget is spent. */
  grow(bodyBytes: number): void;
  /** Returns the reservation. Idempotent. */
  release(): void;
}

export class Admission implements AdmissionStats {
  inUseBytes = 0;
  active = 0;
  readonly refused: Record<AdmissionRefusal, number> = { budget: 0, pressure: 0 };
  private pressure: MemoryPressureCheck | undefined;
  private readonly costPerByte: number;
  private readonly retryAfterSeconds: number;

  constructor(private readonly opts: AdmissionOptions) {
    this.costPerByte = opts.costPerByte ?? 4;
    this.retryAfterSeconds = opts.retryAfterSeconds ?? 1;
  }

  /** Installs (or with undefined removes) the memory pressure check. */
  setPressureCheck(check: MemoryPressureCheck | undefined): void {
    this.pressure = check;
  }

  /** A ticket for one push request; throws AdmissionRefused while memory pressure is reported. */
  admit(): Ticket {
    const retry = this.pressure?.();
    if (typeof retry === 'number') {
      this.refused.pressure++;
      throw new AdmissionRefused('pressure', 'the agent is short of memory; retry later', Math.max(1, Math.ceil(retry)));
    }
    this.active++;
    let held = 0;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.inUseBytes -= held;
      held = 0;
      this.active--;
    };
    return {
      grow: (bodyBytes: number) => {
        if (released) return;
        const cost = bodyBytes * this.costPerByte;
        const budget = this.opts.budgetBytes();
        // A request running alone is always admitted: its body limit already bounds it.
        if (budget > 0 && this.inUseBytes + cost > budget && this.inUseBytes > held) {
          release();
          this.refused.budget++;
          throw new AdmissionRefused('budget', `concurrent pushes are using the ingestion memory budget (INGEST_MEMORY_BUDGET_BYTES=${budget}); retry later`, this.retryAfterSeconds);
        }
        held += cost;
        this.inUseBytes += cost;
      },
      release,
    };
  }
}
