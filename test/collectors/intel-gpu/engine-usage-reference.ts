/**
 * EngineUsageTracker as it was before it updated its remembered counters in place (a new object per
 * client, engine and scan). Kept only as the oracle of the property test in engine-usage.test.ts.
 */

import type { DrmEngineStats } from '../../../src/collectors/intel-gpu/fdinfo';

/** One deduplicated DRM client of a card, engines keyed by display name (render, copy, …). */
interface EngineClientSample {
  /** Stable per client and card, e.g. `0000:03:00.0|17`. */
  key: string;
  engines: Map<string, DrmEngineStats>;
  /** Numeric `drm-client-id`, when the driver prints one. */
  id?: bigint;
  /** True when every process holding the client was born after the previous scan. */
  newProcess?: boolean;
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
  /** Highest drm-client-id seen on the card. */
  maxId?: bigint;
  /** Engine classes seen on this card, with their capacity. */
  capacity: Map<string, number>;
  clients: Map<string, PrevClient>;
}

const U64 = 1n << 64n;
const HALF_U64 = 1n << 63n;

/**
 * How far a u64 counter advanced from `prev` to `cur`, and the value to remember. A small drop is
 * the spec's allowed dip (no advance, keep the larger previous value); a drop by more than half
 * the range is a wrap.
 */
function advanceU64(prev: bigint, cur: bigint): { delta: bigint; keep: bigint } {
  if (cur >= prev) return { delta: cur - prev, keep: cur };
  if (prev - cur > HALF_U64) return { delta: cur + U64 - prev, keep: cur };
  return { delta: 0n, keep: prev };
}

function remember(prev: bigint | undefined, cur: bigint | undefined): bigint | undefined {
  if (prev === undefined) return cur;
  if (cur === undefined) return prev;
  return advanceU64(prev, cur).keep;
}

export class ReferenceEngineUsageTracker {
  private readonly cards = new Map<string, CardState>();

  /**
   * Feeds one scan of `cardKey`'s clients taken at monotonic `atMs`. Returns percent per engine
   * class (every class in `baseClasses` and every class ever seen on the card), or undefined on
   * the card's first scan or when no time has passed. When `fractions` is given, it receives each
   * client's busy fraction of the interval per class (before the capacity division), for
   * per-owner sums.
   */
  update(
    cardKey: string,
    clients: EngineClientSample[],
    atMs: number,
    baseClasses: readonly string[] = [],
    fractions?: Map<string, Map<string, number>>,
  ): Map<string, number> | undefined {
    let card = this.cards.get(cardKey);
    if (!card) this.cards.set(cardKey, (card = { capacity: new Map(), clients: new Map() }));
    for (const cls of baseClasses) if (!card.capacity.has(cls)) card.capacity.set(cls, 1);
    const last = card.lastScanMs;
    const elapsedMs = last === undefined ? 0 : atMs - last;

    const busy = new Map<string, number>();
    const add = (key: string, cls: string, f: number) => {
      busy.set(cls, (busy.get(cls) ?? 0) + f);
      if (fractions) {
        let m = fractions.get(key);
        if (!m) fractions.set(key, (m = new Map()));
        m.set(cls, (m.get(cls) ?? 0) + f);
      }
    };
    const seen = new Set<string>();
    /** GPU ticks of this interval per class, from clients with a baseline (xe). */
    const intervalTicks = new Map<string, bigint>();
    const fresh: EngineClientSample[] = [];
    let maxId = card.maxId;
    for (const client of clients) {
      if (seen.has(client.key)) continue; // the caller dedupes; be safe anyway
      seen.add(client.key);
      if (client.id !== undefined && (maxId === undefined || client.id > maxId)) maxId = client.id;
      const prev = card.clients.get(client.key);
      const next: PrevClient = { atMs, engines: new Map() };
      for (const [cls, cur] of client.engines) {
        const cap = cur.capacity ?? 1;
        if ((card.capacity.get(cls) ?? 0) < cap) card.capacity.set(cls, cap);
        const p = prev?.engines.get(cls);
        if (p && prev) {
          const fraction = this.fraction(p, cur, atMs - prev.atMs, cls, intervalTicks);
          if (fraction !== undefined) add(client.key, cls, fraction);
        }
        next.engines.set(cls, {
          busyNs: remember(p?.busyNs, cur.busyNs),
          cycles: remember(p?.cycles, cur.cycles),
          totalCycles: remember(p?.totalCycles, cur.totalCycles),
        });
      }
      if (!prev && client.newProcess && client.id !== undefined && card.maxId !== undefined && client.id > card.maxId) fresh.push(client);
      card.clients.set(client.key, next);
    }
    // Clients created within the interval: their counters count from zero.
    if (last !== undefined && elapsedMs > 0) {
      for (const client of fresh) {
        for (const [cls, cur] of client.engines) {
          let f: number | undefined;
          if (cur.cycles !== undefined && cur.totalCycles !== undefined) {
            const ticks = intervalTicks.get(cls);
            if (ticks !== undefined && ticks > 0n) f = Number(cur.cycles) / Number(ticks);
          } else if (cur.busyNs !== undefined) {
            f = Number(cur.busyNs) / (elapsedMs * 1e6);
          }
          if (f !== undefined) add(client.key, cls, f);
        }
      }
    }
    for (const k of card.clients.keys()) if (!seen.has(k)) card.clients.delete(k);
    card.maxId = maxId;

    card.lastScanMs = atMs;
    if (last === undefined || atMs <= last) return undefined;

    const out = new Map<string, number>();
    for (const [cls, cap] of card.capacity) {
      const pct = ((busy.get(cls) ?? 0) / cap) * 100;
      out.set(cls, Math.min(100, Math.max(0, pct)));
    }
    return out;
  }

  /** Engines per class on the card (1 unless a client said otherwise); empty for an unknown card. */
  capacities(cardKey: string): ReadonlyMap<string, number> {
    return this.cards.get(cardKey)?.capacity ?? new Map();
  }

  /** Forgets cards not in `keep` (unplugged, driver unbound). */
  retain(keep: Set<string>): void {
    for (const k of this.cards.keys()) if (!keep.has(k)) this.cards.delete(k);
  }

  private fraction(prev: PrevEngine, cur: DrmEngineStats, elapsedMs: number, cls: string, intervalTicks: Map<string, bigint>): number | undefined {
    if (cur.cycles !== undefined && cur.totalCycles !== undefined && prev.cycles !== undefined && prev.totalCycles !== undefined) {
      const dt = advanceU64(prev.totalCycles, cur.totalCycles).delta;
      if (dt <= 0n) return undefined; // GPU timestamp went back (reset) or stood still: no value this time
      if (!intervalTicks.has(cls)) intervalTicks.set(cls, dt);
      return Number(advanceU64(prev.cycles, cur.cycles).delta) / Number(dt);
    }
    if (cur.busyNs !== undefined && prev.busyNs !== undefined) {
      if (elapsedMs <= 0) return undefined;
      return Number(advanceU64(prev.busyNs, cur.busyNs).delta) / (elapsedMs * 1e6);
    }
    return undefined;
  }
}
