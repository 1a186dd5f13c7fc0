/**
 * Per-engine-class utilisation of one GPU from its DRM clients' cumulative counters. Pure state:
 * the caller hands in the clients seen in one scan and the scan's monotonic time; no I/O.
 *
 * Per client and engine class the busy fraction of the interval is
 *   - i915 (`drm-engine-<class>` ns):      Δbusy_ns / Δt_ns, Δt from the monotonic clock;
 *   - xe   (`drm-cycles-<class>` and
 *           `drm-total-cycles-<class>`):   Δcycles / Δtotal_cycles, both in GPU clock ticks.
 * The fractions of all clients are summed per class and divided by the class's capacity (the
 * number of identical engines, e.g. 2 video engines), so 100 % means every engine of the class
 * was busy for the whole interval; the result is clamped to 0–100.
 *
 * Counters are cumulative per client. The spec allows a value to dip below a value read
 * earlier; then the larger previous value is kept until the counter catches up (no negative
 * delta, no double count). A client seen for the first time contributes nothing in that scan
 * (its baseline is unknown), and a card's first scan yields no utilisation at all.
 */

import type { DrmEngineStats } from './fdinfo';

/** One deduplicated DRM client of a card, engines keyed by display name (render, copy, …). */
export interface EngineClientSample {
  /** Stable per client and card, e.g. `0000:03:00.0|17`. */
  key: string;
  engines: Map<string, DrmEngineStats>;
}

interface PrevEngine {
  busyNs?: bigint;
  cycles?: bigint;
  totalCycles?: bigint;
}

interface PrevClient {
  atMs: number;
  engines: Map<string, PrevEngine>;
}

interface CardState {
  lastScanMs?: number;
  /** Engine classes seen on this card, with their capacity. */
  capacity: Map<string, number>;
  clients: Map<string, PrevClient>;
}

function maxBig(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a > b ? a : b;
}

export class EngineUsageTracker {
  private readonly cards = new Map<string, CardState>();

  /**
   * Feeds one scan of `cardKey`'s clients taken at monotonic `atMs`. Returns percent per engine
   * class (every class in `baseClasses` and every class ever seen on the card), or undefined on
   * the card's first scan or when no time has passed.
   */
  update(cardKey: string, clients: EngineClientSample[], atMs: number, baseClasses: readonly string[] = []): Map<string, number> | undefined {
    let card = this.cards.get(cardKey);
    if (!card) this.cards.set(cardKey, (card = { capacity: new Map(), clients: new Map() }));
    for (const cls of baseClasses) if (!card.capacity.has(cls)) card.capacity.set(cls, 1);

    const busy = new Map<string, number>();
    const seen = new Set<string>();
    for (const client of clients) {
      if (seen.has(client.key)) continue; // the caller dedupes; be safe anyway
      seen.add(client.key);
      const prev = card.clients.get(client.key);
      const next: PrevClient = { atMs, engines: new Map() };
      for (const [cls, cur] of client.engines) {
        const cap = cur.capacity ?? 1;
        if ((card.capacity.get(cls) ?? 0) < cap) card.capacity.set(cls, cap);
        const p = prev?.engines.get(cls);
        const fraction = p && prev ? this.fraction(p, cur, atMs - prev.atMs) : undefined;
        if (fraction !== undefined) busy.set(cls, (busy.get(cls) ?? 0) + fraction);
        next.engines.set(cls, {
          busyNs: maxBig(p?.busyNs, cur.busyNs),
          cycles: maxBig(p?.cycles, cur.cycles),
          totalCycles: cur.totalCycles ?? p?.totalCycles,
        });
      }
      card.clients.set(client.key, next);
    }
    for (const k of card.clients.keys()) if (!seen.has(k)) card.clients.delete(k);

    const last = card.lastScanMs;
    card.lastScanMs = atMs;
    if (last === undefined || atMs <= last) return undefined;

    const out = new Map<string, number>();
    for (const [cls, cap] of card.capacity) {
      const pct = ((busy.get(cls) ?? 0) / cap) * 100;
      out.set(cls, Math.min(100, Math.max(0, pct)));
    }
    return out;
  }

  /** Forgets cards not in `keep` (unplugged, driver unbound). */
  retain(keep: Set<string>): void {
    for (const k of this.cards.keys()) if (!keep.has(k)) this.cards.delete(k);
  }

  private fraction(prev: PrevEngine, cur: DrmEngineStats, elapsedMs: number): number | undefined {
    if (cur.cycles !== undefined && cur.totalCycles !== undefined && prev.cycles !== undefined && prev.totalCycles !== undefined) {
      const dt = cur.totalCycles - prev.totalCycles;
      if (dt <= 0n) return undefined; // GPU timestamp went back (reset): no value this time
      const dc = cur.cycles > prev.cycles ? cur.cycles - prev.cycles : 0n;
      return Number(dc) / Number(dt);
    }
    if (cur.busyNs !== undefined && prev.busyNs !== undefined) {
      if (elapsedMs <= 0) return undefined;
      const d = cur.busyNs > prev.busyNs ? cur.busyNs - prev.busyNs : 0n;
      return Number(d) / (elapsedMs * 1e6);
    }
    return undefined;
  }
}
