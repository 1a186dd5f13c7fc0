/**
 * A bounded, time-ordered ring of (timestamp ms, value) points: 16 bytes a point, grown on demand
 * so a series that is written once costs nothing here.
 */

const INITIAL_CAPACITY = 4;

export class HistoryRing {
  private times: Float64Array;
  private values: Float64Array;
  /** Index of the oldest point. */
  private start = 0;
  private count = 0;

  constructor(private max: number) {
    const cap = Math.min(INITIAL_CAPACITY, max);
    this.times = new Float64Array(cap);
    this.values = new Float64Array(cap);
  }

  /** The bound on points held. */
  get maxPoints(): number {
    return this.max;
  }

  get length(): number {
    return this.count;
  }

  get capacity(): number {
    return this.times.length;
  }

  /** Bytes held by the typed arrays (for the store's byte budget). */
  get bytes(): number {
    return this.times.length * 16;
  }

  /** Timestamp of point i (0 = oldest). */
  timeAt(i: number): number {
    return this.times[(this.start + i) % this.times.length];
  }

  valueAt(i: number): number {
    return this.values[(this.start + i) % this.values.length];
  }

  /**
   * Adds a point keeping time order. Same timestamp as an existing point: last write wins.
   * Returns false when the point is older than everything a full ring holds (it cannot be kept).
   */
  add(t: number, v: number): boolean {
    const n = this.count;
    if (n > 0) {
      const lastT = this.timeAt(n - 1);
      if (t === lastT) {
        this.values[(this.start + n - 1) % this.values.length] = v;
        return true;
      }
      if (t < lastT) return this.insertOutOfOrder(t, v);
    }
    this.push(t, v);
    return true;
  }

  /** Drops the oldest point when full; grows (×2, capped at maxPoints) before that. */
  private push(t: number, v: number): void {
    let cap = this.times.length;
    if (this.count === cap && cap < this.max) {
      this.resize(Math.min(cap * 2, this.max));
      cap = this.times.length;
    }
    if (this.count === cap) {
      this.start = (this.start + 1) % cap;
      this.count--;
    }
    const i = (this.start + this.count) % cap;
    this.times[i] = t;
    this.values[i] = v;
    this.count++;
  }

  private insertOutOfOrder(t: number, v: number): boolean {
    // Find the first point newer than t (rings are small; a linear scan from the end is fine).
    let pos = this.count - 1;
    while (pos >= 0 && this.timeAt(pos) > t) pos--;
    if (pos >= 0 && this.timeAt(pos) === t) {
      this.values[(this.start + pos) % this.values.length] = v;
      return true;
    }
    const full = this.count === this.times.length && this.times.length >= this.max;
    if (full && pos < 0) return false;
    // Linearise, splice, and write back: rare path, clarity over speed.
    const ts: number[] = [];
    const vs: number[] = [];
    for (let i = 0; i < this.count; i++) {
      ts.push(this.timeAt(i));
      vs.push(this.valueAt(i));
    }
    ts.splice(pos + 1, 0, t);
    vs.splice(pos + 1, 0, v);
    if (full) {
      ts.shift();
      vs.shift();
    }
    const cap = Math.max(this.times.length, Math.min(ts.length, this.max));
    if (cap !== this.times.length) {
      this.times = new Float64Array(cap);
      this.values = new Float64Array(cap);
    }
    this.times.set(ts);
    this.values.set(vs);
    this.start = 0;
    this.count = ts.length;
    return true;
  }

  private resize(cap: number): void {
    const times = new Float64Array(cap);
    const values = new Float64Array(cap);
    for (let i = 0; i < this.count; i++) {
      times[i] = this.timeAt(i);
      values[i] = this.valueAt(i);
    }
    this.times = times;
    this.values = values;
    this.start = 0;
  }

  /** Changes the bound; shrinking keeps the newest points. */
  setMaxPoints(maxPoints: number): void {
    if (maxPoints === this.max) return;
    this.max = maxPoints;
    if (this.times.length > maxPoints) {
      const drop = Math.max(0, this.count - maxPoints);
      this.start = (this.start + drop) % this.times.length;
      this.count -= drop;
      this.resize(maxPoints);
    }
  }

  /** Index of the first point with time ≥ t (binary search). */
  lowerBound(t: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timeAt(mid) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
