import assert from 'node:assert/strict';
import { Hub } from '../../src/hub/hub';
import { SeriesStore } from '../../src/store/series-store';
import { SelfMetrics } from '../../src/telemetry/self-metrics';

describe('hub: durability of accepted batches', () => {
  const make = () => {
    const store = new SeriesStore(() => ({ retentionSeconds: 300, maxSeries: 1000, maxSystemSeries: 1000, maxStoreBytes: 64 * 1024 * 1024, historySeconds: 60 }));
    const errors: unknown[] = [];
    const hub = new Hub(store, new SelfMetrics({ series: () => store.size, bytes: () => store.bytes }), (e) => errors.push(e));
    return { hub, errors };
  };
  const batch = (v: number) => ({ samples: [{ name: 'm', labels: {}, value: v, type: 'gauge' as const }], origin: 'custom' as const, format: 'json' as const });

  it('subscribers that return nothing leave nothing to await', () => {
    const { hub } = make();
    let seen = 0;
    hub.subscribe(() => {
      seen++;
    });
    const out = hub.accept(batch(1));
    assert.equal(out.stored, 1);
    assert.equal(out.durable, undefined);
    assert.equal(seen, 1);
  });

  it('a subscriber promise is returned as durable and settles only when every such promise has', async () => {
    const { hub, errors } = make();
    const release: Array<() => void> = [];
    hub.subscribe(() => new Promise<void>((r) => release.push(r)));
    hub.subscribe(() => Promise.reject(new Error('disk on fire'))); // breaks the contract: reported, not thrown
    hub.subscribe(() => undefined);
    const out = hub.accept(batch(2));
    assert.ok(out.durable instanceof Promise);
    let settled = false;
    void out.durable.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'waits for the pending subscriber');
    release[0]();
    await out.durable;
    assert.equal(settled, true);
    assert.equal(errors.length, 1);
  });

  it('a batch the store refused entirely is not handed out', () => {
    const { hub } = make();
    hub.subscribe(() => Promise.resolve());
    hub.accept(batch(1));
    const conflicting = { ...batch(3), samples: [{ name: 'm', labels: {}, value: 3, type: 'counter' as const }] };
    const out = hub.accept(conflicting);
    assert.equal(out.stored, 0);
    assert.equal(out.durable, undefined);
  });
});
