/**
 * Kubernetes names and label values made from user input (config names, release names) so the
 * API server never answers 422: label values are at most 63 characters of [A-Za-z0-9-_.] starting
 * and ending alphanumeric; object names are DNS-1123 subdomains of at most 253 characters. A value
 * that fits is kept as it is; one that does not is cut and given a stable hash suffix of the
 * whole input, so two long inputs that share a prefix still get different results. Pure.
 */

import { createHash } from 'node:crypto';

export const MAX_LABEL_VALUE = 63;
export const MAX_NAME = 253;
const HASH_CHARS = 10;

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A short, stable hex hash of `s` (not for security: only to keep cut names apart). */
export function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, HASH_CHARS);
}

export function isLabelValue(v: string): boolean {
  return v.length <= MAX_LABEL_VALUE && LABEL_VALUE.test(v);
}

export function isDnsSubdomain(v: string): boolean {
  return v.length > 0 && v.length <= MAX_NAME && DNS_SUBDOMAIN.test(v);
}

/** `s` as a valid label value: unchanged when valid, else cleaned and cut with a hash of `s`. */
export function labelValue(s: string): string {
  if (isLabelValue(s)) return s;
  const cleaned = s.replace(/[^-A-Za-z0-9_.]/g, '-');
  const head = cleaned.slice(0, MAX_LABEL_VALUE - HASH_CHARS - 1).replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
  return head ? `${head}-${shortHash(s)}` : shortHash(s);
}

/**
 * A DNS-1123 subdomain name of at most `max` characters: `base` + `suffix` when that fits and is
 * valid, else `base` cleaned (lower case, only [-a-z0-9.]) and cut to leave room for a hash of
 * the input and the suffix.
 */
export function objectName(base: string, suffix = '', max = MAX_NAME): string {
  const whole = `${base}${suffix}`;
  if (whole.length <= max && DNS_SUBDOMAIN.test(whole)) return whole;
  const cleaned = base.toLowerCase().replace(/[^-a-z0-9.]/g, '-').replace(/\.{2,}/g, '.');
  const room = max - suffix.length - HASH_CHARS - 1;
  const head = cleaned.slice(0, Math.max(0, room)).replace(/^[^a-z0-9]+/, '').replace(/[^a-z0-9]+$/, '');
  return `${head ? `${head}-` : ''}${shortHash(whole)}${suffix}`;
}
