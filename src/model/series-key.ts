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
  const parts: string[] = [];
  for (let i = 0; i < names.length; i++) {
    parts.push(i > 0 ? ',' : '', names[i], '="', escapeLabelValue(labels[names[i]]), '"');
  }
  // join() yields one flat string; `+=` would leave a rope of pieces that costs several times the
  // key's length for as long as the series lives.
  return parts.join('');
}

export function seriesKey(name: string, labels: Labels): string {
  return seriesKeyFromParts(name, labelsKey(labels));
}

/** Joins a name with an already formatted labels key (flat, see labelsKey). */
export function seriesKeyFromParts(name: string, lk: string): string {
  return lk === '' ? name : [name, '{', lk, '}'].join('');
}

/**
 * The labels of a series key (the inverse of seriesKey), for readers that need them as an object.
 * The store keeps only the key: one string per series instead of a key plus a labels object.
 */
export function labelsOfKey(key: string, nameLength: number): Labels {
  const labels: Labels = {};
  let i = nameLength + 1; // past '{'
  const end = key.length - 1; // the closing '}'
  while (i < end) {
    const eq = key.indexOf('=', i);
    const name = key.slice(i, eq);
    i = eq + 2; // past '="'
    let value = '';
    let start = i;
    for (;;) {
      const c = key.charCodeAt(i);
      if (c === 34 /* " */) break;
      if (c === 92 /* \ */) {
        value += key.slice(start, i) + (key.charCodeAt(i + 1) === 110 ? '\n' : key[i + 1]);
        i += 2;
        start = i;
        continue;
      }
      i++;
    }
    labels[name] = value + key.slice(start, i);
    i += 2; // past '",' or '"}'
  }
  return labels;
}

/** The reference's 2026.2 "latest" key: `name{k=v,k2=v2}`, sorted, no quotes, no escaping. */
export function compactKey(name: string, labels: Labels): string {
  const names = Object.keys(labels).sort();
  if (names.length === 0) return name;
  return name + '{' + names.map((n) => `${n}=${labels[n]}`).join(',') + '}';
}
