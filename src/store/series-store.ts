/**
 * The bounded in-memory series store.
 *
 * A series is name + sorted labels (its key is the Prometheus text form, see model/series-key.ts).
 * Custom (pushed) and system (collector, Telegraf) series live in two partitions with their own
 * bounds (`maxSeries`, `maxSystemSeries`): a write only ever evicts series of its own origin, so a
 * big node's collectors cannot push out what apps pushed, and a flood of pushes cannot push out the
 * node's own metrics. Each partition keeps its series in a least-recently-updated list, so
 * retention (from the last update), the series-count bound and the byte budget are all enforced by
 * popping from a list's head: O(1) per series removed, never a full scan. Families (the `# TYPE` unit of exposition) keep their
 * own intrusive list so /metrics can print series grouped without sorting.
 */

import type { Labels, MetricType, Origin, Sample, SeriesSlot } from '../model/sample';
import { labelsKey, labelsOfKey, seriesKeyFromParts } from '../model/series-key';
import { HistoryArena, SeriesHistory } from './history';

/** Read at use time, so changes to the live config apply on the next call. */
export interface StoreLimits {
  retentionSeconds: number;
  /** Bound on custom (pushed) series. */
  maxSeries: number;
  /** Bound on system (collector, Telegraf) series. */
  maxSystemSeries: number;
  /** Byte budget; 0 = none. */
  maxStoreBytes: number;
  /** History kept per series, by time; 0 keeps the latest point only. */
  historySeconds: number;
}

export type RemovalReason = 'expired' | 'max_series' | 'max_bytes' | 'deleted';

/** Why history chunks were dropped: past the time window, or to stay within the byte budget. */
export type TrimReason = 'window' | 'max_bytes';

/**
 * Fixed per-series cost estimate: the Series object (14 fields, 136 B) with its two boxed numbers
 * (32 B), its Map entry and the key string's header. Measured in an agent process over HTTP
 * (bench/store-v2.ts --only=accounting: 100,000 new series as line protocol, JSON or OTLP) at
 * 216–218 B per series besides the key's characters, whatever the format, before the slot field
 * (8 B) was added.
 */
const SERIES_OVERHEAD_BYTES = 224;

const MAX_TICK = 2 ** 30;
/** Epochs are unique across stores, so a slot one store filled is never trusted by another. */
let nextEpoch = 1;
/** After a rebase the newest write sits here, leaving the retention window (≤ 1 day) below it. */
const REBASED_TICK = 2 ** 28;

export class Series {
  value = 0;
  /** Sample time, ms since epoch. */
  timestampMs = 0;
  /**
   * Time of the last write in ms since the store's epoch (see SeriesStore.tick): drives retention.
   * Kept small so V8 stores it inline as a small integer instead of boxing a double per series.
   */
  updatedTick = 0;
  /** Points older than the latest, compressed; null until the series has a second point. */
  history: SeriesHistory | null = null;
  prev: Series | null = null;
  next: Series | null = null;
  famPrev: Series | null = null;
  famNext: Series | null = null;
  /** The namespace whose push created it, when quotas count it (see SeriesStore.write). */
  tenant: string | undefined = undefined;
  /**
   * The one slot (Sample.slot) that points here, if any: cleared when the series is removed, so a
   * parser's cache never keeps a removed series alive, and moved when another slot takes it over.
   */
  slot: SeriesSlot | null = null;

  constructor(
    /** Flat string (see model/series-key.ts); the labels live only in here. */
    readonly key: string,
    readonly name: string,
    readonly family: Family,
    readonly origin: Origin,
  ) {}

  /** A new object each call, parsed from the key: copy it if you need it twice. */
  get labels(): Labels {
    return this.key.length === this.name.length ? {} : labelsOfKey(this.key, this.name.length);
  }

  /** Estimated bytes held (the store's byte budget). */
  get bytes(): number {
    return SERIES_OVERHEAD_BYTES + this.key.length + (this.history ? this.history.bytes : 0);
  }

  get type(): MetricType {
    return this.family.type;
  }

  /** Points held with fromMs ≤ t ≤ toMs, oldest first (the latest point included). */
  points(fromMs = -Infinity, toMs = Infinity): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    this.history?.forEach(fromMs, (t, v) => {
      if (t > toMs) return false;
      out.push([t, v]);
      return true;
    });
    if (this.timestampMs >= fromMs && this.timestampMs <= toMs) out.push([this.timestampMs, this.value]);
    return out;
  }
}

export class Family {
  help?: string;
  unit?: string;
  head: Series | null = null;
  tail: Series | null = null;
  size = 0;
  constructor(readonly name: string, readonly type: MetricType) {}

  *series(): IterableIterator<Series> {
    for (let s = this.head; s; s = s.famNext) yield s;
  }
}

export interface WriteResult {
  /** Samples written (new series or updates). */
  stored: number;
  /** Samples refused because their family already exists with another type. */
  typeConflicts: number;
  firstConflict?: string;
  /** Samples not newer than the newest history point (out of order) or, without history, older than the latest: counted, not kept. */
  tooOld: number;
  /** Samples refused because they would have created a series past their tenant's maxSeries. */
  quotaRefused: number;
  firstQuota?: string;
  /** Indexes (into the written samples) of those refused for the quota, ascending; set only when there are any. */
  quotaRefusedAt?: number[];
}

/** Who a write is for, when per-namespace quotas apply (src/quota). */
export interface Tenant {
  name: string;
  /** Series this tenant may hold; 0 = no cap (still counted). */
  maxSeries: number;
}

export type RemovalListener = (reason: RemovalReason, count: number, origin: Origin) => void;
export type TrimListener = (reason: TrimReason, chunks: number) => void;

/** The series of one origin, least recently updated first. */
class Partition {
  head: Series | null = null;
  tail: Series | null = null;
  size = 0;
  bytes = 0;
  constructor(readonly origin: Origin) {}
}

export class SeriesStore {
  private readonly byKey = new Map<string, Series>();
  /** Series per tenant (namespace) written with one: the quota's count. */
  private readonly tenants = new Map<string, number>();
  private readonly families = new Map<string, Family>();
  private readonly custom = new Partition('custom');
  private readonly system = new Partition('system');
  private readonly removed: Record<RemovalReason, number> = { expired: 0, max_series: 0, max_bytes: 0, deleted: 0 };
  private readonly trims: Record<TrimReason, number> = { window: 0, max_bytes: 0 };
  private readonly arena = new HistoryArena();
  /**
   * This store's mark on the slots it fills (Sample.slot): a slot with another epoch was filled by
   * another store (or never) and is looked up by key. A slot with this epoch names a live series:
   * at most one slot points to a series (Series.slot) and removing the series clears it.
   */
  private readonly epoch = nextEpoch++;

  /** Ticks count ms from here; rebased before they outgrow V8's small integers (every ~12 days). */
  private epochMs: number;

  constructor(
    private readonly limits: () => StoreLimits,
    private readonly now: () => number = Date.now,
    private readonly onRemove?: RemovalListener,
    private readonly onTrim?: TrimListener,
  ) {
    this.epochMs = now();
  }

  /** Wall-clock ms → tick. Clock steps backwards give negative ticks, which compare correctly. */
  private tick(ms: number): number {
    let t = Math.floor(ms - this.epochMs);
    if (t >= MAX_TICK) {
      this.rebase(t);
      t = Math.floor(ms - this.epochMs);
    }
    return t;
  }

  private rebase(t: number): void {
    const shift = t - REBASED_TICK;
    this.epochMs += shift;
    for (const p of [this.custom, this.system]) for (let s = p.head; s; s = s.next) s.updatedTick -= shift;
  }

  private part(origin: Origin): Partition {
    return origin === 'system' ? this.system : this.custom;
  }

  private boundOf(p: Partition, limits: StoreLimits): number {
    return p === this.system ? limits.maxSystemSeries : limits.maxSeries;
  }

  /** Series held, both origins. */
  get size(): number {
    return this.byKey.size;
  }

  /** Series held of one origin. */
  sizeOf(origin: Origin): number {
    return this.part(origin).size;
  }

  /** Estimated bytes held: both origins' series and the shared history chunks. */
  get bytes(): number {
    return this.custom.bytes + this.system.bytes + this.arena.bytes;
  }

  /** Bytes of completed history chunks (part of `bytes`). */
  get historyBytes(): number {
    return this.arena.bytes;
  }

  /** History chunks dropped so far, by reason. */
  get historyTrims(): Readonly<Record<TrimReason, number>> {
    return this.trims;
  }

  bytesOf(origin: Origin): number {
    return this.part(origin).bytes;
  }

  get removals(): Readonly<Record<RemovalReason, number>> {
    return this.removed;
  }

  /** Series a tenant (namespace) holds, as counted for its quota. */
  tenantSeries(name: string): number {
    return this.tenants.get(name) ?? 0;
  }

  get(key: string): Series | undefined {
    return this.byKey.get(key);
  }

  /**
   * Writes a batch. Ownership: the store keeps references to the samples' label objects, so the
   * caller must not mutate them afterwards. Never takes the store past its bounds: the
   * least-recently-updated series are evicted (and counted) to make room.
   */
  write(samples: readonly Sample[], origin: Origin, created?: string[], tenant?: Tenant): WriteResult {
    const limits = this.limits();
    const now = this.now();
    this.expire(now, limits);
    const tick = this.tick(now);
    const result: WriteResult = { stored: 0, typeConflicts: 0, tooOld: 0, quotaRefused: 0 };
    // Fields of one line protocol point share a labels object: format its key part once.
    let lastLabels: Labels | null = null;
    let lastLabelsKey = '';
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i];
      let key = s.key;
      if (key === undefined) {
        if (s.labels !== lastLabels) {
          lastLabels = s.labels;
          lastLabelsKey = labelsKey(s.labels);
        }
        key = seriesKeyFromParts(s.name, lastLabelsKey);
      }
      const t = s.timestampMs ?? now;
      // A known series from its slot: no hash lookup (in the line-protocol path that lookup was a
      // quarter of the agent's CPU). A slot for another key (labels stamped since) is ignored.
      const slot = s.slot !== undefined && s.slot.key === key ? s.slot : undefined;
      let series = slot !== undefined && slot.epoch === this.epoch && slot.series !== null ? (slot.series as Series) : this.byKey.get(key);
      if (series === undefined) {
        if (tenant !== undefined && tenant.maxSeries > 0 && (this.tenants.get(tenant.name) ?? 0) >= tenant.maxSeries) {
          // At its cap a tenant's new series are refused; evicting its own or another's would let one push starve others.
          result.quotaRefused++;
          (result.quotaRefusedAt ??= []).push(i);
          result.firstQuota ??= `namespace ${JSON.stringify(tenant.name)} holds its quota of ${tenant.maxSeries} series; new series are refused (existing ones still update)`;
          continue;
        }
        const family = this.familyFor(s, result);
        if (!family) continue;
        series = this.create(key, s, family, origin, limits);
        if (tenant !== undefined) {
          series.tenant = tenant.name;
          this.tenants.set(tenant.name, (this.tenants.get(tenant.name) ?? 0) + 1);
        }
        series.timestampMs = t;
        series.value = s.value;
        created?.push(key);
      } else if (s.type !== series.family.type) {
        this.conflict(result, s, series.family);
        continue;
      } else {
        if (s.help) series.family.help = s.help;
        if (s.unit) series.family.unit = s.unit;
        this.touch(series, tick);
        if (!this.record(series, t, s.value, limits)) result.tooOld++;
      }
      series.updatedTick = tick;
      result.stored++;
      if (slot !== undefined && slot.series !== series) this.bindSlot(slot, series);
    }
    this.enforceBytes(limits, this.part(origin), now);
    return result;
  }

  /** Points `slot` at `series`; a slot that pointed there before lets go, so one slot at most holds a series. */
  private bindSlot(slot: SeriesSlot, series: Series): void {
    const old = series.slot;
    if (old !== null && old !== slot && old.series === series) old.series = null;
    slot.series = series;
    slot.epoch = this.epoch;
    series.slot = slot;
  }

  private familyFor(s: Sample, result: WriteResult): Family | undefined {
    const famName = s.family ?? s.name;
    let family = this.families.get(famName);
    if (family === undefined) {
      family = new Family(famName, s.type);
      this.families.set(famName, family);
    } else if (family.type !== s.type) {
      this.conflict(result, s, family);
      return undefined;
    }
    if (s.help) family.help = s.help;
    if (s.unit) family.unit = s.unit;
    return family;
  }

  private conflict(result: WriteResult, s: Sample, family: Family): void {
    result.typeConflicts++;
    result.firstConflict ??= `metric "${s.name}" is a ${s.type} but family "${family.name}" is already a ${family.type}`;
  }

  private create(key: string, s: Sample, family: Family, origin: Origin, limits: StoreLimits): Series {
    const p = this.part(origin);
    const bound = this.boundOf(p, limits);
    while (p.size >= bound && p.head) this.remove(p.head, 'max_series');
    // Most series are named like their family: share that string instead of keeping a copy each.
    const series = new Series(key, s.name === family.name ? family.name : s.name, family, origin);
    p.bytes += series.bytes;
    p.size++;
    this.byKey.set(key, series);
    this.appendLru(p, series);
    // Append to the family list.
    series.famPrev = family.tail;
    if (family.tail) family.tail.famNext = series;
    else family.head = series;
    family.tail = series;
    family.size++;
    return series;
  }

  /**
   * Stores one more point of an existing series; returns false if it was too old to keep. The
   * latest point (newest in time, not last written) stays on the series; older ones go to history,
   * which is append-only: a point not newer than the newest history point is refused.
   */
  private record(series: Series, t: number, v: number, limits: StoreLimits): boolean {
    const windowMs = limits.historySeconds * 1000;
    if (t > series.timestampMs) {
      if (windowMs > 0) this.appendHistory(series, series.timestampMs, series.value, t - windowMs);
      else if (series.history !== null) this.dropHistory(series);
      series.timestampMs = t;
      series.value = v;
      return true;
    }
    if (t === series.timestampMs) {
      series.value = v; // same instant: last write wins
      return true;
    }
    const h = series.history;
    if (windowMs > 0 && (h === null || t > h.lastTime)) {
      this.appendHistory(series, t, v, series.timestampMs - windowMs);
      return true;
    }
    return false;
  }

  private appendHistory(series: Series, t: number, v: number, cutoff: number): void {
    const p = this.part(series.origin);
    let h = series.history;
    if (h === null) {
      h = series.history = new SeriesHistory(this.arena);
      p.bytes += h.bytes;
    }
    p.bytes += h.append(t, v);
    // Dropping chunks leaves the history's own bytes as they are (its table keeps its capacity).
    if (h.oldestChunkEnd < cutoff) this.trimmed('window', h.dropChunksBefore(cutoff));
  }

  private dropHistory(series: Series): void {
    const h = series.history!;
    this.part(series.origin).bytes -= h.bytes;
    h.releaseAll();
    series.history = null;
  }

  private trimmed(reason: TrimReason, chunks: number): void {
    if (chunks <= 0) return;
    this.trims[reason] += chunks;
    this.onTrim?.(reason, chunks);
  }

  /**
   * Drops completed history chunks oldest-first (by time, across every series of both origins)
   * until the store is within `maxBytes` or no completed chunk is left. Each pass drops what ended
   * in the oldest eighth of the time span held, so a store hovering at its budget trims in steps
   * rather than on every write. O(series) per pass.
   */
  private trimHistory(maxBytes: number, now: number): void {
    while (this.bytes > maxBytes && this.arena.bytes > 0) {
      let oldest = Infinity;
      for (const s of this.byKey.values()) {
        const h = s.history;
        if (h !== null && h.oldestChunkEnd < oldest) oldest = h.oldestChunkEnd;
      }
      if (oldest === Infinity) return;
      const cutoff = oldest + Math.max((now - oldest) / 8, 1);
      let n = 0;
      for (const s of this.byKey.values()) {
        const h = s.history;
        if (h === null || h.oldestChunkEnd >= cutoff) continue;
        const before = h.bytes;
        n += h.dropChunksBefore(cutoff);
        this.part(s.origin).bytes += h.bytes - before;
      }
      this.trimmed('max_bytes', n);
    }
  }

  /** Removes series not updated within the retention window, oldest first; stops at the first fresh one. */
  expire(now = this.now(), limits = this.limits()): number {
    const cutoff = now - limits.retentionSeconds * 1000;
    let n = 0;
    const cutoffTick = this.tick(cutoff);
    for (const p of [this.custom, this.system]) {
      while (p.head && p.head.updatedTick < cutoffTick) {
        this.remove(p.head, 'expired');
        n++;
      }
      // A lowered bound applies without waiting for new series.
      const bound = this.boundOf(p, limits);
      while (p.size > bound && p.head) this.remove(p.head, 'max_series');
    }
    // A lowered budget: the partition holding more bytes gives them back.
    this.enforceBytes(limits, this.custom.bytes >= this.system.bytes ? this.custom : this.system, now);
    return n;
  }

  /**
   * History goes first (oldest first); then series are evicted from `p` only (the writer's origin):
   * one origin never evicts the other's series. Keeps at least the most recent series even if it
   * alone is over budget (budget ≥ 1 MiB in config).
   */
  private enforceBytes(limits: StoreLimits, p: Partition, now: number): void {
    const max = limits.maxStoreBytes;
    // 0 means no byte bound here (the agent replaces the config's 0 by the derived budget).
    if (max <= 0 || this.bytes <= max) return;
    this.trimHistory(max, now);
    while (this.bytes > max && p.head && p.head !== p.tail) {
      this.remove(p.head, 'max_bytes');
    }
  }

  /** Deletes the series for which `pred` holds; returns how many. */
  deleteWhere(pred: (s: Series) => boolean): number {
    let n = 0;
    for (const s of this.byKey.values()) {
      if (pred(s)) {
        this.remove(s, 'deleted');
        n++;
      }
    }
    return n;
  }

  clear(): number {
    return this.deleteWhere(() => true);
  }

  /** Deletes every series of one origin; returns how many. */
  clearOrigin(origin: Origin): number {
    const p = this.part(origin);
    let n = 0;
    while (p.head) {
      this.remove(p.head, 'deleted');
      n++;
    }
    return n;
  }

  /** Live series in creation order. Expired ones are purged first. */
  *all(): IterableIterator<Series> {
    this.expire();
    yield* this.byKey.values();
  }

  /**
   * Series written at or after the wall-clock time `sinceMs` (this store's clock, 1 ms resolution,
   * so a series written in that very millisecond is included), most recently written first.
   * O(series returned): walks the least-recently-updated list from its newest end. The stream uses
   * it for deltas and resume (src/stream). Do not write to the store while iterating.
   */
  *updatedSince(sinceMs: number): IterableIterator<Series> {
    const t = Math.floor(sinceMs - this.epochMs);
    // Merge the two partitions' lists from their newest ends.
    let a = this.custom.tail;
    let b = this.system.tail;
    if (a !== null && a.updatedTick < t) a = null;
    if (b !== null && b.updatedTick < t) b = null;
    while (a !== null || b !== null) {
      let s: Series;
      if (b === null || (a !== null && a.updatedTick >= b.updatedTick)) {
        s = a!;
        a = s.prev;
        if (a !== null && a.updatedTick < t) a = null;
      } else {
        s = b;
        b = s.prev;
        if (b !== null && b.updatedTick < t) b = null;
      }
      yield s;
    }
  }

  /** Series removed so far for any reason (expired, evicted, deleted). */
  get removedTotal(): number {
    const r = this.removed;
    return r.expired + r.max_series + r.max_bytes + r.deleted;
  }

  /** Families with at least one series, for exposition. */
  *allFamilies(): IterableIterator<Family> {
    this.expire();
    yield* this.families.values();
  }

  /** Distinct series names, in first-seen order; of one origin when given. */
  names(origin?: Origin): string[] {
    const seen = new Set<string>();
    for (const s of this.all()) if (origin === undefined || s.origin === origin) seen.add(s.name);
    return [...seen];
  }

  private remove(s: Series, reason: RemovalReason): void {
    const p = this.part(s.origin);
    this.byKey.delete(s.key);
    this.unlinkLru(p, s);
    const f = s.family;
    if (s.famPrev) s.famPrev.famNext = s.famNext;
    else f.head = s.famNext;
    if (s.famNext) s.famNext.famPrev = s.famPrev;
    else f.tail = s.famPrev;
    s.famPrev = s.famNext = null;
    if (--f.size === 0) this.families.delete(f.name);
    p.bytes -= s.bytes;
    s.history?.releaseAll();
    s.history = null;
    // The slot's next sample looks the key up again (and creates the series anew if it comes back).
    const slot = s.slot;
    if (slot !== null) {
      if (slot.series === s) slot.series = null;
      s.slot = null;
    }
    if (s.tenant !== undefined) {
      const n = (this.tenants.get(s.tenant) ?? 1) - 1;
      if (n > 0) this.tenants.set(s.tenant, n);
      else this.tenants.delete(s.tenant);
    }
    p.size--;
    this.removed[reason]++;
    this.onRemove?.(reason, 1, s.origin);
  }

  private touch(s: Series, tick: number): void {
    s.updatedTick = tick;
    const p = this.part(s.origin);
    if (s === p.tail) return;
    this.unlinkLru(p, s);
    this.appendLru(p, s);
  }

  private appendLru(p: Partition, s: Series): void {
    s.prev = p.tail;
    s.next = null;
    if (p.tail) p.tail.next = s;
    else p.head = s;
    p.tail = s;
  }

  private unlinkLru(p: Partition, s: Series): void {
    if (s.prev) s.prev.next = s.next;
    else p.head = s.next;
    if (s.next) s.next.prev = s.prev;
    else p.tail = s.prev;
    s.prev = s.next = null;
  }
}
