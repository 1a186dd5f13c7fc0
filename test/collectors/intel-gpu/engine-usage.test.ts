import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EngineUsageTracker, type EngineClientSample } from '../../../src/collectors/intel-gpu/engine-usage';
import type { DrmEngineStats } from '../../../src/collectors/intel-gpu/fdinfo';
import { ReferenceEngineUsageTracker } from './engine-usage-reference';
import { close } from './fixture-host';

function client(key: string, engines: Record<string, DrmEngineStats>): EngineClientSample {
  return { key, engines: new Map(Object.entries(engines)) };
}

const ms = (n: number) => BigInt(n) * 1_000_000n;

describe('intel-gpu: engine utilisation from client counters', () => {
  it('gives nothing on the first scan, then busy ns over elapsed time', () => {
    const t = new EngineUsageTracker();
    assert.equal(t.update('c', [client('a', { render: { busyNs: ms(1000) } })], 10_000), undefined);
    const u = t.update('c', [client('a', { render: { busyNs: ms(1500) } })], 11_000);
    assert.ok(u);
    close(u.get('render')!, 50);
  });

  it('sums clients and divides by the class capacity', () => {
    const t = new EngineUsageTracker();
    const scan = (a: number, b: number) => [
      client('a', { video: { busyNs: ms(a), capacity: 2 } }),
      client('b', { video: { busyNs: ms(b), capacity: 2 } }),
    ];
    t.update('c', scan(0, 0), 0);
    const u = t.update('c', scan(600, 400), 1000)!;
    close(u.get('video')!, 50); // (600 + 400) / (1000 * 2)
  });

  it('uses cycles over total cycles for xe, independent of the wall clock', () => {
    const t = new EngineUsageTracker();
    t.update('c', [client('a', { compute: { cycles: 0n, totalCycles: 1_000_000n } })], 0);
    // 3 s of wall clock, but the GPU timestamp says how long the interval was.
    const u = t.update('c', [client('a', { compute: { cycles: 480_000n, totalCycles: 1_960_000n } })], 3000)!;
    close(u.get('compute')!, 50);
  });

  it('reports the base classes as 0 when no client uses them', () => {
    const t = new EngineUsageTracker();
    t.update('c', [], 0, ['render', 'copy']);
    const u = t.update('c', [], 1000, ['render', 'copy'])!;
    assert.deepEqual([...u.entries()].sort(), [
      ['copy', 0],
      ['render', 0],
    ]);
  });

  it('ignores a client seen for the first time (its baseline is unknown)', () => {
    const t = new EngineUsageTracker();
    t.update('c', [client('a', { render: { busyNs: 0n } })], 0);
    const u = t.update('c', [client('a', { render: { busyNs: ms(100) } }), client('new', { render: { busyNs: ms(900) } })], 1000)!;
    close(u.get('render')!, 10);
  });

  it('keeps the larger previous value when a counter dips, then counts from it', () => {
    const t = new EngineUsageTracker();
    t.update('c', [client('a', { render: { busyNs: ms(1000) } })], 0);
    const dip = t.update('c', [client('a', { render: { busyNs: ms(900) } })], 1000)!;
    assert.equal(dip.get('render'), 0);
    const next = t.update('c', [client('a', { render: { busyNs: ms(1200) } })], 2000)!;
    close(next.get('render')!, 20, 1e-9, 'measured from 1000, not from 900');
  });

  it('gives no value for an xe engine whose GPU timestamp went back', () => {
    const t = new EngineUsageTracker();
    t.update('c', [client('a', { render: { cycles: 100n, totalCycles: 5000n } })], 0);
    const u = t.update('c', [client('a', { render: { cycles: 200n, totalCycles: 10n } })], 1000)!;
    assert.equal(u.get('render'), 0);
  });

  it('clamps to 0..100', () => {
    const t = new EngineUsageTracker();
    t.update('c', [client('a', { render: { busyNs: 0n } }), client('b', { render: { busyNs: 0n } })], 0);
    const u = t.update('c', [client('a', { render: { busyNs: ms(900) } }), client('b', { render: { busyNs: ms(900) } })], 1000)!;
    assert.equal(u.get('render'), 100);
  });

  it('counts a client key once even if handed in twice', () => {
    const t = new EngineUsageTracker();
    t.update('c', [client('a', { render: { busyNs: 0n } })], 0);
    const same = client('a', { render: { busyNs: ms(300) } });
    const u = t.update('c', [same, same], 1000)!;
    close(u.get('render')!, 30);
  });

  it('gives nothing when no time has passed, and keeps cards apart', () => {
    const t = new EngineUsageTracker();
    t.update('c0', [client('a', { render: { busyNs: 0n } })], 0);
    assert.equal(t.update('c0', [client('a', { render: { busyNs: ms(5) } })], 0), undefined);
    assert.equal(t.update('c1', [], 1000), undefined, 'first scan of another card');
    t.retain(new Set(['c1']));
    assert.equal(t.update('c0', [], 2000), undefined, 'a forgotten card starts over');
  });

  it('forgets a class a client stopped showing: when it shows it again, that scan is its new baseline', () => {
    const t = new EngineUsageTracker();
    t.update('c', [client('a', { render: { busyNs: 0n }, copy: { busyNs: 0n } })], 0);
    t.update('c', [client('a', { render: { busyNs: ms(100) } })], 1000);
    const back = t.update('c', [client('a', { render: { busyNs: ms(200) }, copy: { busyNs: ms(1900) } })], 2000)!;
    close(back.get('render')!, 10);
    assert.equal(back.get('copy'), 0, 'no share from a counter last seen two scans ago');
    const next = t.update('c', [client('a', { render: { busyNs: ms(200) }, copy: { busyNs: ms(2400) } })], 3000)!;
    close(next.get('copy')!, 50);
  });

  it('agrees with the tracker that made new objects per scan, on generated scans (dips, wraps, new and vanished clients)', () => {
    const u64 = fc.oneof(fc.bigInt({ min: 0n, max: 3000n }), fc.bigInt({ min: (1n << 64n) - 3000n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));
    const stats = fc.oneof(
      fc.record({ busyNs: u64 }, { requiredKeys: [] }),
      fc.record({ cycles: u64, totalCycles: u64 }, { requiredKeys: [] }),
      fc.record({ cycles: u64, totalCycles: u64, capacity: fc.integer({ min: 1, max: 3 }) }, { requiredKeys: ['cycles', 'totalCycles'] }),
    );
    const engines = fc.dictionary(fc.constantFrom('render', 'copy', 'video'), stats, { maxKeys: 3 });
    const oneClient = fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd'), engines, id: fc.option(fc.bigInt({ min: 0n, max: 20n }), { nil: undefined }), newProcess: fc.boolean() });
    const scan = fc.record({ card: fc.constantFrom('c0', 'c1'), stepMs: fc.constantFrom(0, 500, 1000, 1500), clients: fc.array(oneClient, { maxLength: 5 }), retain: fc.boolean() });
    fc.assert(
      fc.property(fc.array(scan, { minLength: 1, maxLength: 12 }), (scans) => {
        const mine = new EngineUsageTracker();
        const ref = new ReferenceEngineUsageTracker();
        let at = 0;
        for (const sc of scans) {
          at += sc.stepMs;
          const input = () => sc.clients.map((c) => ({ key: c.key, engines: new Map(Object.entries(c.engines)), id: c.id, newProcess: c.newProcess }));
          const f1 = new Map<string, Map<string, number>>();
          const f2 = new Map<string, Map<string, number>>();
          assert.deepStrictEqual(mine.update(sc.card, input(), at, ['render'], f1), ref.update(sc.card, input(), at, ['render'], f2));
          assert.deepStrictEqual(f1, f2);
          assert.deepStrictEqual(mine.capacities(sc.card), ref.capacities(sc.card));
          if (sc.retain) {
            mine.retain(new Set([sc.card]));
            ref.retain(new Set([sc.card]));
          }
        }
      }),
      { numRuns: 1500 },
    );
  });
});
