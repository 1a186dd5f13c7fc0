/** Helpers the targets share for building outcome signatures (see engine.ts). */

import { messageShape } from '../engine';

/** Messages looked at for a signature: an input with thousands of bad lines costs no more than 16. */
const MAX_SHAPED = 16;

/** Signature of a list of error messages plus a few counts: distinct shapes, in order, bounded. */
export function outcome(prefix: string, messages: readonly string[], ...counts: number[]): string {
  const distinct = new Set<string>();
  for (let i = 0; i < messages.length && i < MAX_SHAPED && distinct.size < 4; i++) distinct.add(messageShape(messages[i]));
  const shapes = [...distinct].join('|');
  return `${prefix}:${counts.map((c) => (c > 3 ? 'n' : String(c))).join(',')}:${shapes}`;
}

/** JSON.parse that returns undefined for text that is not JSON (the HTTP layer answers 400 there). */
export function parseJson(data: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(data.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

/** Structural check on produced samples: what the store relies on. */
export function checkSamples(samples: ReadonlyArray<{ name: string; value: number; labels: Readonly<Record<string, string>> }>): void {
  for (const s of samples) {
    if (typeof s.name !== 'string' || s.name.length === 0) throw new Error(`sample without a name: ${JSON.stringify(s)}`);
    if (typeof s.value !== 'number') throw new Error(`sample value is not a number: ${JSON.stringify(s)}`);
    for (const k of Object.keys(s.labels)) {
      if (typeof s.labels[k] !== 'string') throw new Error(`label ${k} is not a string`);
    }
  }
}
