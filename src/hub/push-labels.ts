/**
 * Labels that say who sent a push, stamped on its samples just before they enter the hub. Every
 * push route (JSON, line protocol, OTLP, component report) hands its samples to the hub through
 * `acceptPush` (src/http/steps.ts), which calls `pushStamp` then `stampSamples` from here, so the
 * rule is the same whatever the format.
 *
 * Two sources of identity:
 *   - an authenticated identity's namespace (auth, when it is on), and
 *   - the node's pod cache by the TCP peer address (PUSH_POD_LABELS): a pod on the pod network
 *     gives `namespace` and `pod`; the node itself (a host-network pod, or one of the addresses the
 *     kubelet reports as the node's) gives `node=<node name>`; an unknown address gives nothing.
 * The authenticated identity wins: its namespace is stamped, and the pod found by address is
 * added only when it lives in that same namespace (a token of one namespace used from another
 * namespace's pod gets no `pod` label). Forwarded headers are never used for this: anyone can
 * write them.
 *
 * `pusherWins` decides a conflict with the pusher's own labels: false (the default) overwrites
 * them with the stamp, so a pod cannot pass itself off as another; true keeps a label the pusher
 * set and stamps only the missing ones.
 */

import { LIMITS, ValidationError } from '../model/names';
import { relabeled, type Labels, type Sample } from '../model/sample';

/** Who has an address: a pod, the node itself, or nobody known (src/cluster/pod-cache.ts). */
export type AddressOwner = { kind: 'pod'; namespace: string; pod: string } | { kind: 'node' };

export interface PushStampInput {
  /** The TCP peer address of the request. */
  address?: string;
  /** The namespace of an authenticated identity, when auth is on and the request carried one. */
  authenticatedNamespace?: string;
}

export interface PushStampSources {
  /** Whether to look the address up (PUSH_POD_LABELS, in a cluster). */
  byAddress: boolean;
  sourceOf?(address: string): AddressOwner | undefined;
  /** The node's name, for pushes from the node itself. */
  nodeName?: string;
}

/** The labels to stamp on one push, and the namespace it is counted under (undefined: none known). */
export interface PushStamp {
  labels: Labels;
  namespace?: string;
}

const NONE: PushStamp = { labels: {} };

/**
 * Decides the stamp of one push. Pure apart from the lookup it is given. Without `byAddress`
 * nothing is stamped here (an authenticated identity is then the auth layer's to stamp), but the
 * push is still counted under the authenticated namespace.
 */
export function pushStamp(input: PushStampInput, sources: PushStampSources): PushStamp {
  const auth = input.authenticatedNamespace || undefined;
  if (!sources.byAddress) return auth !== undefined ? { labels: {}, namespace: auth } : NONE;
  const owner = input.address && sources.sourceOf ? sources.sourceOf(input.address) : undefined;
  if (auth !== undefined) {
    if (owner?.kind === 'pod' && owner.namespace === auth) return { labels: { namespace: auth, pod: owner.pod }, namespace: auth };
    return { labels: { namespace: auth }, namespace: auth };
  }
  if (!owner) return NONE;
  if (owner.kind === 'pod') return { labels: { namespace: owner.namespace, pod: owner.pod }, namespace: owner.namespace };
  return sources.nodeName ? { labels: { node: sources.nodeName } } : NONE;
}

/**
 * The samples with `stamp` merged into their labels (new label objects, one per distinct input
 * object; the inputs are shared with parser caches and are never mutated). Precomputed series keys
 * are dropped, since the series changed. Returns `samples` itself when there is nothing to stamp.
 */
export function stampSamples(samples: Sample[], stamp: Labels, pusherWins: boolean): Sample[] {
  const keys = Object.keys(stamp);
  if (keys.length === 0) return samples;
  const cache = new Map<Labels, Labels>();
  const out = new Array<Sample>(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    let labels = cache.get(s.labels);
    if (!labels) {
      labels = pusherWins ? { ...stamp, ...s.labels } : { ...s.labels, ...stamp };
      cache.set(s.labels, labels);
    }
    out[i] = relabeled(s, labels);
  }
  return out;
}

/**
 * Refuses a push when a stamp takes one of its series past LIMITS.maxLabelsPerSeries: the formats
 * checked the pusher's own labels, but stamped labels can make an accepted series exceed the bound.
 * The whole push is refused (a 422 naming the series, the count and the stamped labels) rather than
 * storing some of it silently. `stamped` names the labels the stamp may add. Returns the samples.
 */
export function checkStampedLabelCount(samples: Sample[], stamped: readonly string[]): Sample[] {
  if (stamped.length === 0) return samples;
  const max = LIMITS.maxLabelsPerSeries;
  const checked = new Set<Labels>();
  for (const s of samples) {
    if (checked.has(s.labels)) continue;
    checked.add(s.labels);
    let n = 0;
    for (const k in s.labels) if (Object.prototype.hasOwnProperty.call(s.labels, k)) n++;
    if (n > max) {
      throw new ValidationError(
        `series ${s.name} would have ${n} labels with the labels this agent adds to a push (${stamped.join(', ')}); the limit is ${max} per series, so send it with fewer labels of its own`,
      );
    }
  }
  return samples;
}

/**
 * Counts pushes by namespace over a bounded set of label values: the first `maxNamespaces` seen
 * keep their own value, later ones count under `other`; pushes with no namespace count under
 * `none`.
 */
export class NamespaceCounter {
  private readonly counts = new Map<string, number>();

  constructor(private readonly maxNamespaces = 100) {}

  add(namespace: string | undefined): void {
    let k = namespace === undefined || namespace === '' ? 'none' : namespace;
    if (!this.counts.has(k) && k !== 'none' && k !== 'other' && this.named >= this.maxNamespaces) k = 'other';
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }

  /** Namespaces with their own value (not `none` or `other`). */
  private get named(): number {
    let n = this.counts.size;
    if (this.counts.has('none')) n--;
    if (this.counts.has('other')) n--;
    return n;
  }

  /** A copy: label value → pushes. */
  snapshot(): Map<string, number> {
    return new Map(this.counts);
  }
}
