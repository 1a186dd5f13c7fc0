/** Number and Markdown formatting for bench/RESULTS.md. */

export function mb(n: number): string {
  return Number.isFinite(n) ? (n / 1048576).toFixed(1) : 'n/a';
}

export function num(n: number | undefined, digits = 0): string {
  if (n === undefined || !Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function rate(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return 'n/a';
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

/** A percentage with enough digits for small values (0.042 %, 1.3 %, 27 %). */
export function pct(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return 'n/a';
  const a = Math.abs(n);
  return `${n.toFixed(a < 0.1 ? 3 : a < 10 ? 2 : 1)} %`;
}

export function passFail(ok: boolean | undefined): string {
  return ok === undefined ? 'n/a' : ok ? 'PASS' : 'FAIL';
}

export function table(head: string[], rows: string[][]): string {
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return 'n/a';
  const r = a / b;
  return `${r.toFixed(r < 0.1 ? 3 : 2)}×`;
}

/** Markdown-safe inline code. */
export function code(s: string): string {
  return `\`${s.replace(/\|/g, '\\|').replace(/`/g, "'")}\``;
}
