import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The repository root, found from a build directory (build/ or .tmp/<x>/) by its package.json. */
export function repoRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'metrics-manager') return dir;
    if (path.dirname(dir) === dir) throw new Error(`repository root not found above ${from}`);
  }
}
