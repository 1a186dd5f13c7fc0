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
 * delta, no double count). A drop by more than half the u64 range is a wrap of the 64-bit
 * counter and is unwrapped. A card's first scan yields no utilisation at all.
 *
 * A client seen for the first time usually contributes nothing in that scan (its baseline is
 * unknown): it may be old and merely unseen until now. The exception is a client that must have
 * been created since the previous scan: it lives in a process born since then (`newProcess`) and
 * its `drm-client-id` is above every id seen on the card before (ids are handed out in increasing
 * order). Its counters started at zero, so they are its use within this interval: i915 busy ns
 * over the interval's length; xe cycles over the interval's GPU ticks, taken from an older client
 * of the same class (no older client of that class: nothing).
 */

import type { DrmEngineStats } from './fdinfo';

/** One deduplicated DRM client of a card, engines keyed by display name (render, copy, …). */
export interface EngineClientSample {
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
export function advanceU64(prev: bigint, cur: bigint): { delta: bigint; keep: bigint } {
  if (cur >= prev) return { delta: cur - prev, keep: cur };
  if (prev - cur > HALF_U64) return { delta: cur + U64 - prev, keep: cur };
  return { delta: 0n, keep: prev };
}

/** advanceU64's `delta` alone (no result object: this runs per client and engine every second). */
function deltaU64(prev: bigint, cur: bigint): bigint {
  if (cur >= prev) return cur - prev;
  if (prev - cur > HALF_U64) return cur + U64 - prev;
  return 0n;
}

/** advanceU64's `keep`, for counters either side may lack. */
function remember(prev: bigint | undefined, cur: bigint | undefined): bigint | undefined {
  if (prev === undefined) return cur;
  if (cur === undefined) return prev;
  if (cur >= prev || prev - cur > HALF_U64) return cur;
  return prev;
}

export class EngineUsageTracker {
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
      // The client's remembered counters are updated in place: no new objects per client and second.
      let prev = card.clients.get(client.key);
      const known = prev !== undefined;
      if (!prev) card.clients.set(client.key, (prev = { atMs, engines: new Map() }));
      const elapsed = atMs - prev.atMs;
      for (const [cls, cur] of client.engines) {
        const cap = cur.capacity ?? 1;
        if ((card.capacity.get(cls) ?? 0) < cap) card.capacity.set(cls, cap);
        const p = prev.engines.get(cls);
        if (!p) {
          prev.engines.set(cls, { busyNs: cur.busyNs, cycles: cur.cycles, totalCycles: cur.totalCycles });
          continue;
        }
        if (known) {
          const fraction = this.fraction(p, cur, elapsed, cls, intervalTicks);
          if (fraction !== undefined) add(client.key, cls, fraction);
        }
        p.busyNs = remember(p.busyNs, cur.busyNs);
        p.cycles = remember(p.cycles, cur.cycles);
        p.totalCycles = remember(p.totalCycles, cur.totalCycles);
      }
      // A class the client no longer shows is forgotten (its counters would span a gap otherwise).
      if (prev.engines.size !== client.engines.size) for (const cls of prev.engines.keys()) if (!client.engines.has(cls)) prev.engines.delete(cls);
      prev.atMs = atMs;
      if (!known && client.newProcess && client.id !== undefined && card.maxId !== undefined && client.id > card.maxId) fresh.push(client);
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
      const dt = deltaU64(prev.totalCycles, cur.totalCycles);
      if (dt <= 0n) return undefined; // GPU timestamp went back (reset) or stood still: no value this time
      if (!intervalTicks.has(cls)) intervalTicks.set(cls, dt);
      return Number(deltaU64(prev.cycles, cur.cycles)) / Number(dt);
    }
    if (cur.busyNs !== undefined && prev.busyNs !== undefined) {
      if (elapsedMs <= 0) return undefined;
      return Number(deltaU64(prev.busyNs, cur.busyNs)) / (elapsedMs * 1e6);
    }
    return undefined;
  }
}
