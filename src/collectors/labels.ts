import type { Labels } from '../model/sample';

/**
 * One labels object per label value, reused across cycles: the store and the scheduler key their
 * caches by object identity, so handing out the same object each cycle keeps them cheap.
 */
export class LabelCache {
  private readonly byValue = new Map<string, Labels>();

  constructor(private readonly name: string) {}

  get(value: string): Labels {
    let l = this.byValue.get(value);
    if (l === undefined) {
      l = { [this.name]: value };
      this.byValue.set(value, l);
    }
    return l;
  }

  /** Forgets values not in `keep` (devices that went away). */
  retain(keep: { has(value: string): boolean }): void {
    for (const k of this.byValue.keys()) if (!keep.has(k)) this.byValue.delete(k);
  }
}
