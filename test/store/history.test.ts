import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CHUNK_POINTS } from '../../src/store/chunk';
import { HistoryArena, SeriesHistory } from '../../src/store/history';

function pointsOf(h: SeriesHistory, from = -Infinity): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  h.forEach(from, (t, v) => {
    out.push([t, v]);
  });
  return out;
}

describe('store: series history (chunk table and arena)', () => {
  it('keeps exactly the points of the window while chunks are added and dropped (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 * CHUNK_POINTS }), fc.integer({ min: 1, max: 12 }), (n, windowChunks) => {
        const arena = new HistoryArena();
        const h = new SeriesHistory(arena);
        const all: Array<[number, number]> = [];
        let minBytes = Infinity;
        // The store keeps its sum from what append says it grew by: it must track `bytes` exactly.
        let sum = h.bytes;
        for (let i = 0; i < n; i++) {
          const t = 1_700_000_000_000 + i * 1000;
          const v = i % 3 === 0 ? i / 10 : i % 3 === 1 ? i * 17 : Math.sin(i);
          sum += h.append(t, v);
          assert.equal(sum, h.bytes, `after point ${i}`);
          all.push([t, v]);
          // Drop chunks that ended more than windowChunks chunks ago, as the store's window does.
          h.dropChunksBefore(t - windowChunks * CHUNK_POINTS * 1000);
          assert.equal(sum, h.bytes, `after dropping at point ${i}`);
          minBytes = Math.min(minBytes, h.bytes);
        }
        const got = pointsOf(h);
        assert.deepEqual(got, all.slice(all.length - got.length));
        assert.equal(got.length, h.length);
        // Nothing newer than the window's start is lost; at most the window plus two chunks is kept.
        assert.ok(got.length >= Math.min(n, windowChunks * CHUNK_POINTS), `${got.length} of ${n} points kept`);
        assert.ok(h.chunks <= windowChunks + 2, `${h.chunks} chunks for a window of ${windowChunks}`);
        assert.equal(h.trimmed, got.length < n);
        // The table is reused, not grown without end: bytes stay bounded by the window.
        assert.ok(h.bytes <= minBytes + 16 * 2 * (windowChunks + 2) + 4096, `bytes ${h.bytes}`);
        h.releaseAll();
        assert.equal(arena.bytes, 0);
        assert.equal(h.chunks, 0);
      }),
      { numRuns: 60 },
    );
  });

  it('reuses its chunk table under a steady window instead of growing it', () => {
    const h = new SeriesHistory(new HistoryArena());
    let steady = 0;
    for (let i = 0; i < 200 * CHUNK_POINTS; i++) {
      h.append(i * 1000, i % 7);
      h.dropChunksBefore(i * 1000 - 3 * CHUNK_POINTS * 1000);
      if (i === 20 * CHUNK_POINTS) steady = h.bytes;
    }
    assert.equal(h.bytes, steady);
    assert.ok(h.chunks <= 4);
  });

  it('skips chunks before the start of a read, and reads from the middle of one', () => {
    const h = new SeriesHistory(new HistoryArena());
    for (let i = 0; i < 5 * CHUNK_POINTS; i++) h.append(i * 1000, i);
    const got = pointsOf(h, 250_500);
    assert.equal(got[0][0], 251_000);
    assert.equal(got.length, 5 * CHUNK_POINTS - 251);
    assert.equal(h.firstTime, 0);
    assert.equal(h.lastTime, (5 * CHUNK_POINTS - 1) * 1000);
    assert.equal(h.oldestChunkEnd, (CHUNK_POINTS - 1) * 1000);
  });
});
