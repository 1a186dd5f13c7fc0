import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CHUNK_POINTS, ChunkWriter, chunkCount, chunkFirstTime, readChunk } from '../../src/store/chunk';

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** The 64 bits of a double as a hex string (so NaN payloads and -0 compare exactly). */
function bitsOf(x: number): string {
  f64[0] = x;
  return u32[1].toString(16).padStart(8, '0') + u32[0].toString(16).padStart(8, '0');
}

function fromBits(hi: number, lo: number): number {
  u32[1] = hi;
  u32[0] = lo;
  return f64[0];
}

function roundTrip(points: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const w = new ChunkWriter(8);
  for (const [t, v] of points) w.append(t, v);
  // Decode from a copy at an offset, as the arena holds it.
  const copy = new Uint8Array(w.byteLength + 5);
  copy.set(w.buf.subarray(0, w.byteLength), 5);
  assert.equal(chunkCount(copy, 5), points.length);
  const out: Array<[number, number]> = [];
  readChunk(copy, 5, (t, v) => {
    out.push([t, v]);
  });
  if (points.length > 0) assert.equal(bitsOf(chunkFirstTime(copy, 5)), bitsOf(points[0][0]));
  return out;
}

function assertSame(got: ReadonlyArray<readonly [number, number]>, want: ReadonlyArray<readonly [number, number]>): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    assert.equal(bitsOf(got[i][0]), bitsOf(want[i][0]), `timestamp ${i}: ${got[i][0]} vs ${want[i][0]}`);
    assert.equal(bitsOf(got[i][1]), bitsOf(want[i][1]), `value ${i}: ${got[i][1]} vs ${want[i][1]}`);
  }
}

/** Any 64-bit pattern: NaNs with payloads, subnormals, ±0, ±Inf. */
const anyBits = fc.tuple(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff })).map(([hi, lo]) => fromBits(hi, lo));
/** Values a metric really has: repeats, small wanders, counters, then anything. */
const value = fc.oneof(
  fc.constantFrom(0, -0, 1, NaN, Infinity, -Infinity, 0.1, 1e300, -5e-324),
  fc.integer({ min: -1000, max: 1000 }),
  fc.double(),
  anyBits,
);
/** Steps between timestamps: regular, jittered, huge, fractional. */
const step = fc.oneof(
  fc.constantFrom(1000, 1000, 15_000, 1),
  fc.integer({ min: 1, max: 10_000 }),
  fc.integer({ min: 1, max: 2 ** 40 }),
  fc.double({ min: 1e-3, max: 1e6, noNaN: true }),
);
/** Decimals as parsed from text: mantissa × 10^-k, at small and extreme scales, near the 2^50 bound. */
const decimal = fc.oneof(
  fc.tuple(fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.integer({ min: 0, max: 6 })).map(([m, k]) => m / 10 ** k),
  fc.tuple(fc.maxSafeInteger(), fc.integer({ min: 0, max: 17 })).map(([m, k]) => m / 10 ** k),
  fc.tuple(fc.integer({ min: -20, max: 20 }), fc.constantFrom(2 ** 50, -(2 ** 50), 2 ** 53, 1e15, 2 ** 50 / 1e15), fc.integer({ min: 0, max: 16 })).map(([d, m, k]) => (m + d) / 10 ** k),
  fc.constantFrom(0.1, 0.2, 0.3, 0.1 + 0.2, 1e-15, 5e-16, 123.456, 1e21, 2 ** -1074, 2 ** -1022),
);
/** Streams that stay decimal for a while (a wandering gauge, a counter), interrupted by anything. */
const mixedStream = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: fc.tuple(fc.constant('walk' as const), fc.integer({ min: -50, max: 50 }), fc.integer({ min: 0, max: 3 })) },
      { weight: 2, arbitrary: fc.tuple(fc.constant('value' as const), decimal, fc.constant(0)) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('value' as const), value, fc.constant(0)) },
    ),
    { minLength: 0, maxLength: 3 * CHUNK_POINTS },
  )
  .map((ops) => {
    // A walk moves an integer count of 10^-k steps; the value is that count over 10^k, as text gives.
    let tenths = 1000;
    return ops.map(([op, x, k]) => (op === 'walk' ? (tenths += x) / 10 ** k : x));
  });
const start = fc.oneof(fc.constant(1_700_000_000_000), fc.integer({ min: -(2 ** 50), max: 2 ** 50 }), fc.double({ min: -1e15, max: 1e15, noNaN: true }), fc.constant(-0));

describe('store: compressed chunks (delta-of-delta timestamps, decimal or XOR values)', () => {
  it('reads back every point bit for bit (property)', () => {
    fc.assert(
      fc.property(start, fc.array(fc.tuple(step, value), { minLength: 0, maxLength: CHUNK_POINTS }), (t0, steps) => {
        const pts: Array<[number, number]> = [];
        let t = t0;
        for (const [dt, v] of steps) {
          pts.push([t, v]);
          t += dt;
        }
        assertSame(roundTrip(pts), pts);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads back mixed decimal and non-decimal streams bit for bit, across chunks of one writer (property)', () => {
    fc.assert(
      fc.property(start, mixedStream, fc.array(fc.integer({ min: 1, max: CHUNK_POINTS }), { minLength: 1, maxLength: 8 }), (t0, values, sizes) => {
        // One writer for every chunk, as a series' history reuses it: the predictor it learns carries over.
        const w = new ChunkWriter(8);
        let i = 0;
        let c = 0;
        while (i < values.length) {
          const n = Math.min(sizes[c++ % sizes.length], values.length - i);
          const pts: Array<[number, number]> = [];
          for (let j = 0; j < n; j++, i++) pts.push([t0 + i * 1000, values[i]]);
          w.reset();
          for (const [t, v] of pts) w.append(t, v);
          const out: Array<[number, number]> = [];
          readChunk(w.buf, 0, (t, v) => {
            out.push([t, v]);
          });
          assertSame(out, pts);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('reads back decimals at the edges of the mantissa and scale ranges', () => {
    const values = [
      2 ** 50, -(2 ** 50), 2 ** 50 + 1, 2 ** 53, -(2 ** 53), 2 ** 50 / 1e15, 1e-15, 1.5e-15, 0.1 + 0.2, 0.3,
      5, 5.5, 5.55, 5.555, -0, 0, 1e15, 1e16, 123456789.123456, 1, 2 ** -1074, -(2 ** -1022), NaN, 7, Infinity, 8, 9,
      fromBits(0x7ff80000, 0xbeef), 10, -Infinity, 11.25,
    ];
    const pts = values.map((v, i): [number, number] => [1_700_000_000_000 + i * 1000, v]);
    assertSame(roundTrip(pts), pts);
    // Every scale from 0 to 15, up and back down, within one chunk.
    const scales = Array.from({ length: 32 }, (_, i): [number, number] => [i, 7 / 10 ** (i < 16 ? i : 31 - i)]);
    assertSame(roundTrip(scales), scales);
  });

  it('keeps NaN payloads, -0 and infinities exactly', () => {
    const pts: Array<[number, number]> = [
      [0, fromBits(0x7ff80000, 1)],
      [1, fromBits(0x7ff00000, 0xdead)], // signalling-NaN pattern with a payload
      [2, fromBits(0xfff80000, 0)],
      [3, -0],
      [4, 0],
      [5, Infinity],
      [6, -Infinity],
      [7, NaN],
    ];
    const got = roundTrip(pts);
    assertSame(got, pts);
    // The test itself can tell payloads apart (guards against a bitsOf that canonicalises).
    assert.notEqual(bitsOf(pts[0][1]), bitsOf(pts[7][1]));
  });

  it('spends bits where values change: a constant 1 s series costs under half a byte a point', () => {
    // Bounds on the encoded size (deterministic, not timing): what the format is for.
    const cases: Array<[string, (i: number) => number, number]> = [
      ['constant', () => 42, 0.5],
      ['counter', (i) => i * 17, 2.5],
      ['wandering one-decimal gauge', (i) => Math.round(500 + 100 * Math.sin(i / 10)) / 10, 1.2],
      ['two-decimal gauge, ±0.05 steps', (i) => (5000 + ((i * 7919) % 11) - 5) / 100, 1],
      ['counter with a varying rate', (i) => i * 1000 + ((i * i * 37) % 200), 2.2],
    ];
    for (const [name, f, max] of cases) {
      const w = new ChunkWriter();
      for (let i = 0; i < CHUNK_POINTS; i++) w.append(1_700_000_000_000 + i * 1000, f(i));
      const perPoint = w.byteLength / CHUNK_POINTS;
      assert.ok(perPoint <= max, `${name}: ${perPoint.toFixed(2)} B/point`);
    }
  });

  it('stops early when the reader says so, and reuses its buffer after reset', () => {
    const w = new ChunkWriter();
    for (let i = 0; i < 10; i++) w.append(i * 1000, i);
    const seen: number[] = [];
    readChunk(w.buf, 0, (t) => {
      seen.push(t);
      return seen.length < 3;
    });
    assert.deepEqual(seen, [0, 1000, 2000]);
    w.reset();
    assert.equal(w.count, 0);
    w.append(5, NaN);
    w.append(6, 7);
    const out: number[][] = [];
    readChunk(w.buf, 0, (t, v) => {
      out.push([t, v]);
    });
    assert.deepEqual(out, [[5, NaN], [6, 7]]);
  });
});
