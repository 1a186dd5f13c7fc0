/**
 * Lease-based leader election against the fake API server: one leader among candidates, renewal,
 * clean release on stop (immediate takeover), takeover after a crashed leader's lease expires,
 * stepping down when renewals fail past the renew deadline.
 */

import assert from 'node:assert/strict';
import { createKubeApi } from '../../src/kube/client';
import { LeaderElector, type LeaderElectionTimings } from '../../src/kube/leader-election';
import { eventually, fakeKubeConfig, LEASES, startFakeKube, type FakeKubeApiServer } from '../helpers/fake-kube';

const TIMINGS: LeaderElectionTimings = { leaseDurationMs: 1000, renewDeadlineMs: 700, retryPeriodMs: 100 };

interface Candidate {
  elector: LeaderElector;
  events: string[];
}

describe('leader election (coordination.k8s.io/v1 Lease)', () => {
  let fake: FakeKubeApiServer;
  let candidates: Candidate[];

  function candidate(identity: string, timings: Partial<LeaderElectionTimings> = {}): Candidate {
    const events: string[] = [];
    const elector = new LeaderElector({
      api: createKubeApi(fakeKubeConfig(fake, `token-${identity}`)), namespace: 'mm', name: 'controller', identity, timings: { ...TIMINGS, ...timings },
      onStartedLeading: () => events.push('started'), onStoppedLeading: () => events.push('stopped'),
    });
    const c = { elector, events };
    candidates.push(c);
    elector.start();
    return c;
  }

  const lease = () => fake.get(LEASES, 'mm', 'controller')?.spec as { holderIdentity: string; leaseTransitions: number; leaseDurationSeconds: number; acquireTime: string; renewTime: string } | undefined;

  beforeEach(async () => {
    fake = await startFakeKube();
    candidates = [];
  });
  afterEach(async () => {
    await Promise.all(candidates.map((c) => c.elector.stop()));
    await fake.stop();
  });

  it('exactly one of two candidates leads; it keeps renewing the lease', async () => {
    const a = candidate('a');
    const b = candidate('b');
    await eventually(() => a.elector.isLeader() || b.elector.isLeader(), 3000, 'a leader');
    const [leader, other] = a.elector.isLeader() ? [a, b] : [b, a];
    const l = lease()!;
    assert.equal(l.holderIdentity, leader === a ? 'a' : 'b');
    assert.equal(l.leaseDurationSeconds, 1);
    assert.equal(l.leaseTransitions, 0);
    assert.ok(l.acquireTime && l.renewTime);
    const firstRenew = l.renewTime;
    await new Promise((r) => setTimeout(r, 1200)); // longer than the lease: renewals must have kept it
    assert.ok(leader.elector.isLeader() && !other.elector.isLeader(), 'still one leader, no flapping');
    assert.notEqual(lease()!.renewTime, firstRenew, 'renewed');
    assert.equal(lease()!.leaseTransitions, 0);
    assert.deepEqual(leader.events, ['started']);
    assert.deepEqual(other.events, []);
  });

  it('stop() releases the lease and the other candidate takes over at once', async () => {
    const a = candidate('a');
    await eventually(() => a.elector.isLeader(), 3000, 'a to lead');
    const b = candidate('b');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(b.elector.isLeader(), false);
    const t0 = Date.now();
    await a.elector.stop();
    assert.deepEqual(a.events, ['started', 'stopped']);
    await eventually(() => b.elector.isLeader(), 3000, 'b to take over');
    assert.ok(Date.now() - t0 < TIMINGS.leaseDurationMs, `took over in ${Date.now() - t0} ms, before the lease could expire`);
    assert.equal(lease()!.holderIdentity, 'b');
    assert.equal(lease()!.leaseTransitions, 1);
  });

  it('a crashed leader (no release) is replaced once its lease expires', async () => {
    const a = candidate('a');
    await eventually(() => a.elector.isLeader(), 3000, 'a to lead');
    // "Crash": a's renewals stop reaching the server (as if the process were gone).
    fake.failRequests((r) => r.token === 'token-a', 503);
    const b = candidate('b');
    const t0 = Date.now();
    await eventually(() => b.elector.isLeader(), 4000, 'b to take over');
    const waited = Date.now() - t0;
    assert.ok(waited >= TIMINGS.leaseDurationMs - 100, `b waited ${waited} ms for the lease to expire`);
    assert.equal(lease()!.holderIdentity, 'b');
  });

  it('a leader that cannot renew steps down within the renew deadline, before the lease expires', async () => {
    const a = candidate('a');
    await eventually(() => a.elector.isLeader(), 3000, 'a to lead');
    const lastRenew = Date.parse(lease()!.renewTime);
    fake.failRequests((r) => r.path.endsWith('/leases/controller'), 500);
    await eventually(() => !a.elector.isLeader(), 3000, 'a to step down');
    const steppedDownAfter = Date.now() - lastRenew;
    assert.ok(steppedDownAfter < TIMINGS.leaseDurationMs, `stepped down ${steppedDownAfter} ms after the last renewal`);
    assert.deepEqual(a.events, ['started', 'stopped']);
  });
});
