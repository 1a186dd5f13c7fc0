import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineSlicer, SliceSizer } from '../../src/http/line-slices';

/** Takes every slice with sizes drawn from `sizes` (cycled). */
function sliceAll(parts: string[], sizes: number[]): string[] {
  const slicer = new LineSlicer(parts);
  const out: string[] = [];
  for (let i = 0; ; i++) {
    const s = slicer.take(sizes[i % sizes.length]);
    if (s === undefined) return out;
    out.push(s);
  }
}

describe('line slices of a body in parts', () => {
  it('gives back the whole text, cut only after line ends, each slice as long as asked', () => {
    const text = fc.array(fc.constantFrom('a', 'b', '\n', 'é', '\u{1F600}'), { maxLength: 300 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(text, fc.array(fc.nat(300), { maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 5 }), (t, cuts, sizes) => {
        const at = [...new Set(cuts.map((c) => Math.min(c, t.length)))].sort((a, b) => a - b);
        const parts = [0, ...at].map((from, i) => t.slice(from, i < at.length ? at[i] : t.length));
        const slices = sliceAll(parts, sizes);
        assert.equal(slices.join(''), t);
        slices.forEach((s, i) => {
          assert.ok(s.length > 0, 'no empty slice');
          if (i < slices.length - 1) {
            assert.ok(s.endsWith('\n'), `slice ${i} ends at a line end`);
            assert.ok(s.length >= sizes[i % sizes.length], `slice ${i} is at least the size asked`);
            assert.ok(!s.slice(sizes[i % sizes.length] - 1, -1).includes('\n'), `slice ${i} is cut at the first line end past the size`);
          }
        });
      }),
    );
  });

  it('follows a line across many parts and ends with a last line that has no newline', () => {
    assert.deepEqual(sliceAll(['a=1\nlong', 'er', 'line', ' v=2\nx'], [2]), ['a=1\n', 'longerline v=2\n', 'x']);
    assert.deepEqual(sliceAll([], [4]), []);
    assert.deepEqual(sliceAll([''], [4]), []);
  });
});

describe('slice sizes', () => {
  it('moves toward the size that takes the target time, at most doubling or halving, within bounds', () => {
    const s = new SliceSizer(16_000, 8, 4_000, 256_000);
    assert.equal(s.took(16_000, 2), 32_000); // 4× faster than the target: doubles only
    assert.equal(s.took(32_000, 8), 32_000); // on target
    assert.equal(s.took(32_000, 10), 25_600); // a little slow
    assert.equal(s.took(25_600, 100), 12_800); // a GC pause inside: halves only
    for (let i = 0; i < 10; i++) s.took(s.size, 0); // free: grows to the cap
    assert.equal(s.size, 256_000);
    for (let i = 0; i < 20; i++) s.took(s.size, 1000);
    assert.equal(s.size, 4_000);
  });
});
