/**
 * The identity of a series: its name plus its sorted labels, written exactly as the Prometheus text
 * format writes a sample's left-hand side: `name{a="x",b="y"}`, or `name` without labels.
 * Using the exposition form as the key means /metrics can print `key + ' ' + value` with no
 * per-scrape formatting, and two label sets can never collide.
 */

import type { Labels } from './sample';

/** Escapes a label value for the text format: backslash, double quote and newline. */
export function escapeLabelValue(v: string): string {
  // Fast path: most values need nothing.
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 92 || c === 34 || c === 10) return v.replace(/[\\"\n]/g, escapeChar);
  }
  return v;
}

function escapeChar(ch: string): string {
  return ch === '\n' ? '\\n' : '\\' + ch;
}

/** `a="x",b="y"` with names sorted; '' for no labels. */
export function labelsKey(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length === 0) return '';
  if (names.length > 1) names.sort();
  let out = '';
  for (let i = 0; i < names.length; i++) {
    if (i > 0) out += ',';
    out += names[i] + '="' + escapeLabelValue(labels[names[i]]) + '"';
  }
  return out;
}

export function seriesKey(name: string, labels: Labels): string {
  const lk = labelsKey(labels);
  return lk === '' ? name : name + '{' + lk + '}';
}

/** Joins a name with an already formatted labels key. */
export function seriesKeyFromParts(name: string, lk: string): string {
  return lk === '' ? name : name + '{' + lk + '}';
}

/** The reference's 2026.2 "latest" key: `name{k=v,k2=v2}`, sorted, no quotes, no escaping. */
export function compactKey(name: string, labels: Labels): string {
  const names = Object.keys(labels).sort();
  if (names.length === 0) return name;
  return name + '{' + names.map((n) => `${n}=${labels[n]}`).join(',') + '}';
}
