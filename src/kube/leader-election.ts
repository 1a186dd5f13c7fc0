/**
 * Leader election on a coordination.k8s.io/v1 Lease (client-node has no elector; this follows the
 * protocol of client-go's, written from the Lease API's semantics).
 *
 * - Candidate: every `retryPeriodMs` (jittered) read the Lease. Take it when it does not exist
 *   (create), when its holder is empty (a clean release), or when its record has not changed for
 *   `leaseDurationSeconds` as measured on OUR clock since we first saw that record (so clock skew
 *   between replicas does not matter). Taking it writes holderIdentity, acquireTime, renewTime,
 *   leaseDurationSeconds and leaseTransitions+1 with the read resourceVersion: of two candidates
 *   racing, one gets 409 Conflict and stays a candidate.
 * - Leader: renew (renewTime) every `retryPeriodMs`. When no renewal has succeeded for
 *   `renewDeadlineMs` (< lease duration), step down: stop leader work before anyone else may
 *   consider the lease expired.
 * - `stop()` (SIGTERM) releases the lease: holderIdentity "", leaseDurationSeconds 1, renewTime now,
 *   so another replica takes over at its next retry instead of waiting for expiry.
 */

import type { Logger } from '../log/logger';
import { errorText, httpStatus } from './client';
import { Sleeper } from './sleeper';

export interface LeaseApi {
  getLease(namespace: string, name: string): Promise<Record<string, unknown>>;
  createLease(namespace: string, body: object): Promise<Record<string, unknown>>;
  replaceLease(namespace: string, name: string, body: object): Promise<Record<string, unknown>>;
}

export interface LeaderElectionTimings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** client-go's defaults. */
export const DEFAULT_LEADER_ELECTION_TIMINGS: LeaderElectionTimings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

export interface LeaderElectorOptions {
  api: LeaseApi;
  namespace: string;
  name: string;
  identity: string;
  timings?: Partial<LeaderElectionTimings>;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  logger?: Logger;
  now?: () => number;
  random?: () => number;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export class LeaderElector {
  private readonly t: LeaderElectionTimings;
  private readonly now: () => number;
  private readonly random: () => number;
  private leader = false;
  private stopped = false;
  private running: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly sleeper = new Sleeper();
  /** The last lease record seen and when (our clock) it was first seen. */
  private observed = { record: '', atMs: 0 };
  private lastRenewMs = 0;

  constructor(private readonly opts: LeaderElectorOptions) {
    this.t = { ...DEFAULT_LEADER_ELECTION_TIMINGS, ...opts.timings };
    if (!(this.t.renewDeadlineMs < this.t.leaseDurationMs)) throw new Error('leader election: renewDeadline must be shorter than leaseDuration');
    if (!(this.t.retryPeriodMs < this.t.renewDeadlineMs)) throw new Error('leader election: retryPeriod must be shorter than renewDeadline');
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Stops campaigning; a leader releases the lease first. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.stopped = true;
    this.sleeper.stop();
    await this.running;
    if (this.leader) {
      this.leader = false;
      await this.release();
      this.opts.onStoppedLeading();
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (!this.leader) {
        if (await this.tryAcquireOrRenew()) {
          if (this.stopped) {
            await this.release();
            return;
          }
          this.leader = true;
          this.lastRenewMs = this.now();
          this.opts.logger?.info('became leader', { lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity });
          this.opts.onStartedLeading();
          continue;
        }
        await this.sleeper.sleep(this.t.retryPeriodMs * (1 + 0.2 * this.random()));
        continue;
      }
      await this.sleeper.sleep(this.t.retryPeriodMs);
      if (this.stopped) return;
      const ok = await this.withDeadline(this.tryAcquireOrRenew(), this.lastRenewMs + this.t.renewDeadlineMs - this.now());
      if (ok) {
        this.lastRenewMs = this.now();
      } else if (this.now() - this.lastRenewMs >= this.t.renewDeadlineMs) {
        this.leader = false;
        this.opts.logger?.warn('lost leadership: lease not renewed within the renew deadline', { lease: `${this.opts.namespace}/${this.opts.name}`, renew_deadline_ms: this.t.renewDeadlineMs });
        this.opts.onStoppedLeading();
      }
    }
  }

  /** Resolves false once `ms` pass (the attempt itself is left to finish in the background). */
  private withDeadline(p: Promise<boolean>, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), Math.max(0, ms));
      timer.unref();
      p.then((v) => {
        clearTimeout(timer);
        resolve(v);
      }, () => resolve(false));
    });
  }

  private micro(ms: number): string {
    return new Date(ms).toISOString();
  }

  /** One attempt to take or keep the lease. Never throws. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name, identity } = this.opts;
    const now = this.now();
    const durationSeconds = Math.max(1, Math.ceil(this.t.leaseDurationMs / 1000));
    let lease: Record<string, unknown>;
    try {
      lease = await api.getLease(namespace, name);
    } catch (err) {
      if (httpStatus(err) !== 404) {
        this.opts.logger?.warn('reading the leader lease failed', { lease: `${namespace}/${name}`, error: errorText(err) });
        return false;
      }
      try {
        await api.createLease(namespace, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: this.micro(now), renewTime: this.micro(now), leaseTransitions: 0 },
        });
        return true;
      } catch (e) {
        if (httpStatus(e) !== 409) this.opts.logger?.warn('creating the leader lease failed', { lease: `${namespace}/${name}`, error: errorText(e) });
        return false;
      }
    }

    const meta = (lease.metadata ?? {}) as { resourceVersion?: string };
    const spec = (lease.spec ?? {}) as LeaseSpec;
    const holder = spec.holderIdentity ?? '';
    const record = JSON.stringify([holder, spec.renewTime ?? '', spec.leaseDurationSeconds ?? 0, spec.leaseTransitions ?? 0]);
    if (record !== this.observed.record) this.observed = { record, atMs: now };
    const heldDurationMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (holder !== '' && holder !== identity && now < this.observed.atMs + heldDurationMs) return false;
    // When we think we lead but the lease says otherwise, someone took it: do not fight back.
    if (this.leader && holder !== identity) return false;

    const mine = holder === identity;
    const next: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: mine && spec.acquireTime ? spec.acquireTime : this.micro(now),
      renewTime: this.micro(now),
      leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
    };
    try {
      await api.replaceLease(namespace, name, { ...lease, metadata: { ...(lease.metadata as object), resourceVersion: meta.resourceVersion }, spec: { ...spec, ...next } });
      return true;
    } catch (err) {
      if (httpStatus(err) !== 409) this.opts.logger?.warn('updating the leader lease failed', { lease: `${namespace}/${name}`, error: errorText(err) });
      return false;
    }
  }

  private async release(): Promise<void> {
    const { api, namespace, name, identity } = this.opts;
    try {
      const lease = await api.getLease(namespace, name);
      const spec = (lease.spec ?? {}) as LeaseSpec;
      if (spec.holderIdentity !== identity) return;
      const now = this.micro(this.now());
      await api.replaceLease(namespace, name, { ...lease, spec: { ...spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now } });
      this.opts.logger?.info('released leadership', { lease: `${namespace}/${name}`, identity });
    } catch (err) {
      this.opts.logger?.warn('releasing the leader lease failed; it will expire', { lease: `${namespace}/${name}`, error: errorText(err) });
    }
  }
}
