import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CHUNK_POINTS } from '../../src/store/chunk';
import { BufferPool, HistoryArena, POOL_BLOCK_BYTES, SeriesHistory } from '../../src/store/history';

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

  it('histories sharing one arena keep their points apart while their open buffers grow, move and come back (property)', () => {
    fc.assert(
      // Few histories and many points each, many of them full-mantissa values: open chunks outgrow
      // V8's on-heap size and move through the pool's sizes.
      // An op of 0 now and then ends a history (its series removed) and starts a fresh one in its place.
      fc.property(fc.array(fc.tuple(fc.nat({ max: 60 }), fc.nat({ max: 7 }), fc.oneof(fc.double(), fc.integer().map((i) => i / 7))), { minLength: 1, maxLength: 3000 }), (writes) => {
        const arena = new HistoryArena();
        const hs = Array.from({ length: 8 }, () => new SeriesHistory(arena));
        const want: Array<Array<[number, number]>> = hs.map(() => []);
        writes.forEach(([op, k, v], i) => {
          if (op === 0) {
            hs[k].releaseAll();
            hs[k] = new SeriesHistory(arena);
            want[k] = [];
            return;
          }
          const t = 1_700_000_000_000 + i * 1000;
          hs[k].append(t, v);
          want[k].push([t, v]);
        });
        hs.forEach((h, k) => assert.deepEqual(pointsOf(h), want[k], `history ${k}`));
        for (const h of hs) h.releaseAll();
        assert.equal(arena.openBuffers.inUseBytes, 0);
        assert.equal(arena.bytes, 0);
      }),
      { numRuns: 40 },
    );
  });
});

describe('store: open chunks\' buffer pool', () => {
  it('hands out zeroed views of one size per block, reuses those given back, and frees a block with its last one', () => {
    const pool = new BufferPool();
    const perBlock = POOL_BLOCK_BYTES / 256;
    const got = Array.from({ length: perBlock + 1 }, () => pool.take(256));
    assert.ok(got.every((b) => b.length === 256 && b.every((x) => x === 0)));
    const ids = new Map<ArrayBufferLike, number>();
    const idOf = (b: Uint8Array) => ids.get(b.buffer) ?? ids.set(b.buffer, ids.size).get(b.buffer)!;
    assert.equal(new Set(got.map((b) => `${idOf(b)}:${b.byteOffset}`)).size, perBlock + 1, 'no two views alike');
    assert.equal(pool.bytes, 2 * POOL_BLOCK_BYTES);
    assert.equal(pool.inUseBytes, (perBlock + 1) * 256);
    // A buffer of the full first block comes back dirty: the next take of that size gets it, zeroed.
    got[3].fill(7);
    pool.give(got[3]);
    const again = pool.take(256);
    assert.equal(again.buffer, got[0].buffer);
    assert.equal(again.byteOffset, got[3].byteOffset);
    assert.ok(again.every((x) => x === 0));
    // Other sizes come from blocks of their own.
    const big = pool.take(1024);
    assert.notEqual(big.buffer, got[0].buffer);
    assert.notEqual(big.buffer, got[perBlock].buffer);
    assert.equal(pool.bytes, 3 * POOL_BLOCK_BYTES);
    // Blocks go when their last buffer does.
    pool.give(big);
    assert.equal(pool.bytes, 2 * POOL_BLOCK_BYTES);
    pool.give(got[perBlock]);
    assert.equal(pool.bytes, POOL_BLOCK_BYTES);
    for (const b of [...got.slice(0, perBlock).filter((_, i) => i !== 3), again]) pool.give(b);
    assert.equal(pool.bytes, 0);
    assert.equal(pool.inUseBytes, 0);
    assert.throws(() => pool.give(new Uint8Array(256)), /not a buffer of this pool/);
  });
});
