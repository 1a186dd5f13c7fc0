/**
 * bench/RESULTS.md sections owned by one script: replaced whole by every run of it, inserted before
 * "## Latest run" (which bench/run.ts rewrites) when new, and nothing else in the file touched.
 */

import fs from 'node:fs';

/** `heading` is the full heading line ("## …"); `body` starts with it. */
export function replaceSection(file: string, heading: string, body: string): void {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    // a new file
  }
  const block = body.trimEnd() + '\n\n';
  const start = text.indexOf(`\n${heading}\n`);
  if (start >= 0) {
    const next = text.indexOf('\n## ', start + 1);
    text = text.slice(0, start + 1) + block + (next >= 0 ? text.slice(next + 1) : '');
  } else {
    const latest = text.indexOf('\n## Latest run');
    text = latest >= 0 ? text.slice(0, latest + 1) + block + text.slice(latest + 1) : text.trimEnd() + '\n\n' + block;
  }
  fs.writeFileSync(file, text.trimEnd() + '\n');
}

/** The p-th quantile (0..1) of an ascending array, NaN when empty. */
export function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}
