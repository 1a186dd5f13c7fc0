/**
 * Doing a large request's work in bounded steps. Parsing, converting and storing a 20 MiB body
 * take hundreds of milliseconds; done in one go they hold the event loop, so /health, scrapes and
 * every other client wait behind one push. These helpers cut the work into slices of a few
 * milliseconds and let the event loop run between them (setImmediate: pending I/O first).
 */

import { NAMESPACE_LABEL, NamespaceStats, SERVICE_ACCOUNT_LABEL, stampIdentity } from '../auth/stamp';
import { checkStampedLabelCount, pushStamp, stampSamples } from '../hub/push-labels';
import { ValidationError } from '../model/names';
import type { Identity } from '../auth/tokens';
import type { Sample } from '../model/sample';
import { QuotaExceeded, quotaOf } from '../quota/quotas';
import type { Tenant, WriteResult } from '../store/series-store';
import type { IngestFormat } from '../telemetry/self-metrics';
import type { AppContext } from './context';

/** Longest a slice runs before giving the event loop a turn. */
export const SLICE_MS = 8;

/** Samples written to the hub per slice. */
export const SAMPLES_PER_SLICE = 2000;

export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Tells a loop when its slice is used up: call `due()` after each unit of work (cheap: it reads
 * the clock only every `checkEvery` calls) and `await yieldToLoop()` when it says so.
 */
export class SliceClock {
  private started = performance.now();
  private calls = 0;

  constructor(private readonly checkEvery = 8, private readonly sliceMs = SLICE_MS) {}

  due(): boolean {
    if (++this.calls % this.checkEvery !== 0) return false;
    const now = performance.now();
    if (now - this.started < this.sliceMs) return false;
    this.started = now;
    return true;
  }

  /** Yields when the slice is used up; the restart of the slice is measured after the yield. */
  async pace(): Promise<void> {
    if (!this.due()) return;
    await yieldToLoop();
    this.started = performance.now();
  }
}

/**
 * Hands `samples` to the hub in slices of SAMPLES_PER_SLICE with a yield between them, and sums
 * the results. Each slice is a batch of its own for subscribers (the stream, sinks). Resolves only
 * once every slice a spooling sink took is on disk (Hub `durable`), so the caller may answer 2xx.
 */
export async function acceptInSteps(ctx: AppContext, samples: Sample[], format: IngestFormat, identity?: Identity, address?: string): Promise<WriteResult> {
  const tenant = admitQuota(ctx, identity, samples.length);
  try {
    samples = stampPush(ctx, samples, identity, address);
  } catch (e) {
    if (e instanceof ValidationError) ctx.metrics.samplesRejected(format, 'too_many_labels', samples.length);
    throw e;
  }
  if (samples.length <= SAMPLES_PER_SLICE) {
    const out = ctx.hub.accept({ samples, origin: 'custom', format, tenant });
    if (out.durable !== undefined) await out.durable;
    countPush(ctx, identity, out);
    return out;
  }
  const total: WriteResult = { stored: 0, typeConflicts: 0, tooOld: 0, quotaRefused: 0 };
  const durable: Promise<void>[] = [];
  for (let i = 0; i < samples.length; i += SAMPLES_PER_SLICE) {
    if (i > 0) await yieldToLoop();
    const r = ctx.hub.accept({ samples: samples.slice(i, i + SAMPLES_PER_SLICE), origin: 'custom', format, tenant });
    if (r.durable !== undefined) durable.push(r.durable);
    total.stored += r.stored;
    total.typeConflicts += r.typeConflicts;
    total.tooOld += r.tooOld;
    total.firstConflict ??= r.firstConflict;
    total.quotaRefused += r.quotaRefused;
    total.firstQuota ??= r.firstQuota;
  }
  await Promise.all(durable); // they never reject (Hub contract)
  countPush(ctx, identity, total);
  return total;
}

/**
 * Stamps who sent a push on its samples, before the hub sees them, and counts the push under its
 * namespace. A series the stamp takes past the label bound refuses the push (ValidationError, 422). Two sources (src/hub/push-labels.ts): the pod behind the TCP peer `address` (the
 * node's pod cache, with PUSH_POD_LABELS; PUSH_LABELS_PRECEDENCE decides against the pusher's own
 * labels), then the authenticated identity (src/auth/stamp.ts, AUTH_IDENTITY_LABELS). The identity
 * wins: with one, the address adds only `pod`, and only for a pod of the identity's namespace.
 */
export function stampPush(ctx: AppContext, samples: Sample[], identity: Identity | undefined, address?: string): Sample[] {
  const c = ctx.config.get();
  const stamp = pushStamp(
    { address, authenticatedNamespace: identity?.namespace },
    { byAddress: c.pushPodLabels, sourceOf: ctx.pushSources?.sourceOf, nodeName: ctx.pushSources?.nodeName },
  );
  ctx.metrics.pushFromNamespace(stamp.namespace);
  let labels = stamp.labels;
  if (identity !== undefined && NAMESPACE_LABEL in labels) {
    const { [NAMESPACE_LABEL]: _ns, ...rest } = labels;
    labels = rest;
  }
  let out = stampSamples(samples, labels, c.pushLabelsPrecedence === 'pusher');
  if (identity !== undefined) out = stampIdentity(out, identity, c.authIdentityLabels);
  const stamped = Object.keys(labels);
  if (identity !== undefined) {
    stamped.push(NAMESPACE_LABEL);
    if (identity.serviceAccount !== undefined) stamped.push(SERVICE_ACCOUNT_LABEL);
  }
  // A stamp adds labels after the formats checked the bound: the series must still be within it.
  return checkStampedLabelCount(out, stamped);
}

/** Counts what an authenticated push stored under its namespace, and what its series quota refused. */
function countPush(ctx: AppContext, identity: Identity | undefined, out: WriteResult): void {
  if (identity === undefined) return;
  ctx.namespaces?.addSamples(identity.namespace, out.stored);
  if (out.quotaRefused > 0) ctx.quotas?.count(namespaceLabel(ctx, identity), 'max_series', out.quotaRefused);
}

function namespaceLabel(ctx: AppContext, identity: Identity): string {
  return ctx.namespaces?.labelOf(identity.namespace) ?? NamespaceStats.OTHER;
}

/**
 * Per-namespace quotas (src/quota) of an authenticated push: a 429 with Retry-After when the
 * namespace is over a rate (counted), else the tenant whose series the store counts and caps.
 * Pushes without an identity (AUTH_MODE=none, or an open write scope) have no namespace to bill.
 */
function admitQuota(ctx: AppContext, identity: Identity | undefined, samples: number): Tenant | undefined {
  const gate = ctx.quotas;
  if (gate === undefined || identity === undefined) return undefined;
  const policy = gate.policy();
  if (policy === undefined) return undefined;
  const quota = quotaOf(policy, identity.namespace);
  try {
    gate.admit(identity.namespace, quota, samples);
  } catch (e) {
    if (e instanceof QuotaExceeded) gate.count(namespaceLabel(ctx, identity), e.reason, samples);
    throw e;
  }
  return { name: identity.namespace, maxSeries: quota.maxSeries };
}
