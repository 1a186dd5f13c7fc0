/**
 * Number spelling shared by the Prometheus text encoder and parser. Pure functions, no state.
 */

/**
 * A sample value as both formats write it: `NaN`, `+Inf`, `-Inf`, otherwise the shortest decimal
 * that reads back to the same double (JavaScript's own number printing, e.g. `0.1`, `1e-7`,
 * `1e+21`). Negative zero keeps its sign. Go's ParseFloat and the OpenMetrics grammar both accept
 * every string this returns.
 */
export function formatValue(v: number): string {
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  // `v - v` is 0 for every finite number and NaN for NaN and ±Infinity.
  if (v - v === 0) return '' + v;
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return 'NaN';
}

/** A decimal with an optional exponent; unambiguous (`\d+(?:\.\d*)?`), so linear on long digit runs. */
export const DECIMAL_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL_RE = /^([+-]?)(?:(inf|infinity)|(nan))$/i;

/**
 * Reads a float the way Go's ParseFloat does for the spellings exporters use: decimals with an
 * optional exponent, and `NaN`, `Inf`, `Infinity` in any case with an optional sign.
 * Returns undefined for anything else (including the empty string and hex, which `Number()` would
 * have accepted).
 */
export function parseFloatToken(token: string): number | undefined {
  if (DECIMAL_RE.test(token)) return Number(token);
  const m = SPECIAL_RE.exec(token);
  if (m === null) return undefined;
  if (m[3] !== undefined) return NaN;
  return m[1] === '-' ? -Infinity : Infinity;
}
