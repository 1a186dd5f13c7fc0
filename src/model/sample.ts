/**
 * The unit every ingestion format produces and every consumer reads.
 * Imports nothing internal: formats, store, exposition and sinks all depend on this file.
 */

export type MetricType = 'gauge' | 'counter' | 'histogram' | 'summary' | 'untyped';
export const METRIC_TYPES: readonly MetricType[] = ['gauge', 'counter', 'histogram', 'summary', 'untyped'];

/** Where a sample came from: pushed by a client, or read from the node itself. */
export type Origin = 'custom' | 'system';

/** Label name → value. Never contains `__name__`. Treat as immutable once handed over. */
export type Labels = Record<string, string>;

/** Same names with the same values (the order of the keys does not matter). */
export function sameLabels(a: Labels, b: Labels): boolean {
  if (a === b) return true;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * One value of one series at one instant.
 * `name` is the final series name (e.g. `latency_bucket`); `family` is the metric family it belongs
 * to when that differs (`latency` for histogram parts), so exposition can group `# TYPE` lines.
 * Samples that share a `labels` object across fields of one point are allowed (and faster).
 */
export interface Sample {
  name: string;
  labels: Labels;
  value: number;
  /** Milliseconds since the epoch (fractions allowed); undefined means "now" at ingestion. */
  timestampMs?: number;
  type: MetricType;
  family?: string;
  help?: string;
  unit?: string;
  /**
   * Precomputed series key; when set it must equal seriesKey(name, labels). Formats that cache
   * parsed series hand the same string object back for the same series, so the store's map lookup
   * reuses its hash instead of building and hashing a new string per sample.
   */
  key?: string;
  /**
   * Where the store remembers which of its series `key` names, so later samples with the same slot
   * skip the store's map lookup. Set only together with `key` (slot.key is that string); whoever
   * changes a sample's labels or name clears both.
   */
  slot?: SeriesSlot;
}

/**
 * `s` with other labels, and the key and slot that go with them (or none), as one object shape
 * for every sample whoever made it: a spread copy keeps each producer's own shape, and the store's
 * writes of such copies were several times slower (measured on system samples). Every field of
 * Sample is listed here, so a new one is copied or left out on purpose.
 */
export function relabeled(s: Sample, labels: Labels, key?: string, slot?: SeriesSlot): Sample {
  return { name: s.name, labels, value: s.value, timestampMs: s.timestampMs, type: s.type, family: s.family, help: s.help, unit: s.unit, key, slot };
}

/**
 * A format that caches parsed series (the line-protocol parser) hands one slot object out with
 * every sample of a series, request after request. The store alone writes `series` and `epoch`:
 * it clears `series` when it removes that series (so a cache of slots never keeps removed series
 * alive) and trusts only slots carrying its own epoch, so a foreign or cleared slot costs a map
 * lookup, never a wrong series.
 */
export interface SeriesSlot {
  readonly key: string;
  /** The store's series for `key`, opaque to everyone else. */
  series: object | null;
  /** The epoch of the store that wrote `series` (one per store); 0 = never. */
  epoch: number;
}

/** A problem with one item of a request (line of line protocol, point of OTLP, …). */
export interface ItemError {
  /** 1-based line number for text formats, item index for JSON formats; 0 when not applicable. */
  line: number;
  message: string;
}

/** What a parser hands to the hub: the good samples and one error per rejected item. */
export interface ParseResult {
  samples: Sample[];
  errors: ItemError[];
  /** Items (lines, points) accepted; one item may give several samples, or none (string fields). */
  points?: number;
}
