/**
 * zod types for settings that arrive as environment strings. Shared by the core schema
 * (schema.ts) and the collectors' settings fragments, so a value is parsed the same way wherever
 * its setting is declared.
 */

import { z } from 'zod/v3';

/** Env strings → booleans, strictly: anything else is an error naming the variable. */
export const bool = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'off'].includes(s)) return false;
  return v;
}, z.boolean());

/** Env strings → integers; '' and '12abc' are errors, not NaN or 12. */
export function int(min: number, max: number) {
  return z.preprocess((v) => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v), z.number().int().min(min).max(max));
}

export function isRegex(s: string): boolean {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
}
