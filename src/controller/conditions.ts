/**
 * Status conditions in the Kubernetes API-conventions shape. lastTransitionTime moves only when a
 * condition's status changes; reason, message and observedGeneration may change without moving it.
 */

import type { Condition } from '../kube/resources';

export type DesiredCondition = Omit<Condition, 'lastTransitionTime'>;

/** The conditions to write: `desired` in its order, keeping transition times from `current`. */
export function mergeConditions(current: readonly Condition[] | undefined, desired: readonly DesiredCondition[], nowIso: string): Condition[] {
  return desired.map((d) => {
    const prev = current?.find((c) => c.type === d.type);
    const lastTransitionTime = prev && prev.status === d.status && prev.lastTransitionTime ? prev.lastTransitionTime : nowIso;
    return { type: d.type, status: d.status, reason: d.reason, message: d.message, lastTransitionTime, ...(d.observedGeneration !== undefined ? { observedGeneration: d.observedGeneration } : {}) };
  });
}

/** Kubernetes timestamps (metav1.Time): RFC 3339, second precision. */
export function k8sTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Deep equality for JSON values (status comparison before writing). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
