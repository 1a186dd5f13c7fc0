/**
 * Which MetricsManagerConfig governs which node. Shared by the controller (status, monitors) and
 * the agent (what to apply), so both always reach the same answer.
 *
 * The rule, documented in docs and the CRD description:
 * 1. A config is a candidate for a node when its spec.nodeSelector matches the node's labels
 *    (an empty or missing selector matches every node). Configs being deleted are not candidates.
 * 2. Among candidates the OLDEST wins: earliest metadata.creationTimestamp; ties (timestamps have
 *    one-second resolution) go to the lexically smaller namespace, then name.
 * 3. The winner governs the whole node: settings are never merged across configs. Whether the
 *    winner's spec is valid does not change who wins: an invalid winner means "nothing new is
 *    applied" on that node, not "fall back to another config".
 * The oldest-wins rule means a newly created config can never take nodes away from one already in
 * force; it only picks up nodes nobody else selects. To hand nodes over, narrow or delete the
 * older config.
 *
 * Pure: no I/O.
 */

import type { LabelSelector, ObjectMeta } from './resources';

export interface SelectableConfig {
  metadata: ObjectMeta;
  spec?: { nodeSelector?: LabelSelector };
}

/** Whether `selector` matches `labels` (Kubernetes LabelSelector semantics). Malformed selectors match nothing. */
export function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[k] !== v) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, req.key);
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
        if (!has || !values.includes(labels[req.key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[req.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function createdMs(c: SelectableConfig): number {
  const t = Date.parse(c.metadata.creationTimestamp ?? '');
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

/** Orders configs by precedence: negative when `a` wins over `b`. */
export function comparePrecedence(a: SelectableConfig, b: SelectableConfig): number {
  const ta = createdMs(a);
  const tb = createdMs(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  const na = a.metadata.namespace ?? '';
  const nb = b.metadata.namespace ?? '';
  if (na !== nb) return na < nb ? -1 : 1;
  const ma = a.metadata.name ?? '';
  const mb = b.metadata.name ?? '';
  return ma < mb ? -1 : ma > mb ? 1 : 0;
}

function live<T extends SelectableConfig>(configs: Iterable<T>): T[] {
  return [...configs].filter((c) => !c.metadata.deletionTimestamp).sort(comparePrecedence);
}

/** The config in force on a node with these labels, or undefined when none selects it. */
export function configForNode<T extends SelectableConfig>(labels: Record<string, string>, configs: Iterable<T>): T | undefined {
  return live(configs).find((c) => selectorMatches(c.spec?.nodeSelector, labels));
}

export interface NodeAssignment<T> {
  /** Nodes this config governs. */
  governs: string[];
  /** Nodes its selector matches but an older config governs, with that config. */
  shadowed: { node: string; by: T }[];
}

/** For every config, the nodes it governs and the nodes it loses to an older config. */
export function assignNodes<T extends SelectableConfig>(nodes: Iterable<{ name: string; labels: Record<string, string> }>, configs: Iterable<T>): Map<T, NodeAssignment<T>> {
  const ordered = live(configs);
  const out = new Map<T, NodeAssignment<T>>(ordered.map((c) => [c, { governs: [], shadowed: [] }]));
  for (const node of nodes) {
    let winner: T | undefined;
    for (const c of ordered) {
      if (!selectorMatches(c.spec?.nodeSelector, node.labels)) continue;
      if (winner === undefined) {
        winner = c;
        out.get(c)!.governs.push(node.name);
      } else {
        out.get(c)!.shadowed.push({ node: node.name, by: winner });
      }
    }
  }
  return out;
}
