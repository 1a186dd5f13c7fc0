/**
 * The identity of an authenticated push, stamped on every sample it brings: `namespace`, and
 * `service_account` when the credential names one. Whether a label of the same name sent by the
 * pusher survives is a setting (AUTH_IDENTITY_LABELS): `overwrite` (the default) makes the
 * credential's identity authoritative, so a pod cannot file its series under another namespace;
 * `keep` lets the pusher's own value win and stamps only where the label is missing.
 *
 * Pure; never mutates a labels object (formats share them across samples and requests), only the
 * samples of this request, whose `key` is dropped so the store computes the new series' key.
 */

import type { Labels, Sample } from '../model/sample';
import type { Identity } from './tokens';

export type IdentityLabelPolicy = 'overwrite' | 'keep';

export const NAMESPACE_LABEL = 'namespace';
export const SERVICE_ACCOUNT_LABEL = 'service_account';

function stamped(labels: Labels, id: Identity, policy: IdentityLabelPolicy): Labels {
  const out: Labels = { ...labels };
  if (policy === 'overwrite') {
    out[NAMESPACE_LABEL] = id.namespace;
    // Without a service account in the credential, a claimed one is removed rather than trusted.
    if (id.serviceAccount !== undefined) out[SERVICE_ACCOUNT_LABEL] = id.serviceAccount;
    else delete out[SERVICE_ACCOUNT_LABEL];
  } else {
    if (!(NAMESPACE_LABEL in out)) out[NAMESPACE_LABEL] = id.namespace;
    if (id.serviceAccount !== undefined && !(SERVICE_ACCOUNT_LABEL in out)) out[SERVICE_ACCOUNT_LABEL] = id.serviceAccount;
  }
  return out;
}

/**
 * Stamps `id` on every sample, in place (the samples belong to the request), and returns them.
 * Samples sharing a labels object keep sharing the stamped copy.
 */
export function stampIdentity(samples: Sample[], id: Identity, policy: IdentityLabelPolicy): Sample[] {
  const copies = new Map<Labels, Labels>();
  for (const s of samples) {
    let next = copies.get(s.labels);
    if (next === undefined) {
      next = stamped(s.labels, id, policy);
      copies.set(s.labels, next);
    }
    s.labels = next;
    s.key = undefined;
    s.slot = undefined;
  }
  return samples;
}

/**
 * Samples and series per namespace for self-metrics, with a bounded set of namespace values: the
 * first `maxNamespaces` seen get their own label value, any later one is counted as `other`
 * (and the overflow itself is counted), so a flood of names cannot grow /metrics/self.
 */
export class NamespaceStats {
  static readonly OTHER = 'other';
  private readonly samples = new Map<string, number>();
  /** Samples of namespaces past the bound (counted under `other`). */
  overflowSamples = 0;

  constructor(readonly maxNamespaces: number) {}

  /** The label value a namespace is counted under. */
  labelOf(namespace: string): string {
    if (this.samples.has(namespace)) return namespace;
    return NamespaceStats.OTHER;
  }

  addSamples(namespace: string, n: number): void {
    if (n <= 0) return;
    const cur = this.samples.get(namespace);
    if (cur !== undefined) this.samples.set(namespace, cur + n);
    else if (this.samples.size < this.maxNamespaces && namespace !== NamespaceStats.OTHER) this.samples.set(namespace, n);
    else this.overflowSamples += n;
  }

  /** Samples by label value, `other` included when anything overflowed. */
  samplesByLabel(): Map<string, number> {
    const out = new Map(this.samples);
    if (this.overflowSamples > 0) out.set(NamespaceStats.OTHER, this.overflowSamples);
    return out;
  }

  /** Series per label value, from the `namespace` label of the given series (those without one are not counted). */
  seriesByLabel(series: Iterable<{ readonly labels: Labels }>): Map<string, number> {
    const out = new Map<string, number>();
    for (const s of series) {
      const ns = s.labels[NAMESPACE_LABEL];
      if (ns === undefined) continue;
      const label = this.labelOf(ns);
      out.set(label, (out.get(label) ?? 0) + 1);
    }
    return out;
  }
}
