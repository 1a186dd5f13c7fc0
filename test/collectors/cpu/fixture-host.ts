/**
 * Test helper for the system collectors (cpu, mem, temp, cpufreq): finds the repository root from
 * wherever the compiled test runs (build/, .tmp/…-build/), builds HostFs/CollectorEnv objects over
 * fixture snapshots (test/fixtures/hosts/<case>/<t0|t1>/{proc,sys}) or temporary trees.
 */

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CollectorEnv } from '../../../src/collectors/collector';
import { HostFs } from '../../../src/collectors/host-fs';
import type { Sample } from '../../../src/model/sample';

/** The nearest ancestor of this file's directory that holds package.json. */
export function repoRoot(from: string = __dirname): string {
  let dir = path.resolve(from);
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
}

export type HostCase = 'desktop' | 'vm' | 'dgpu' | 'mtl-npu' | 'lnl-npu' | 'nvidia' | 'k8s-igpu' | 'k8s-dgpu';
export type Snapshot = 't0' | 't1';

export function fixtureDir(hostCase: HostCase, snap: Snapshot): string {
  return path.join(repoRoot(), 'test', 'fixtures', 'hosts', hostCase, snap);
}

/** A HostFs whose proc and sys roots are a fixture snapshot. */
export function fixtureFs(hostCase: HostCase, snap: Snapshot): HostFs {
  const d = fixtureDir(hostCase, snap);
  return new HostFs(path.join(d, 'proc'), path.join(d, 'sys'));
}

/** A CollectorEnv over `fs`; swap `env.fs` between collects to move to the next snapshot. */
export function testEnv(fs: HostFs): CollectorEnv {
  let mono = 0;
  return {
    fs,
    now: () => 1_767_000_000_000,
    monotonic: () => (mono += 1000),
    run: () => Promise.reject(new Error('no commands in collector tests')),
  };
}

/** A throw-away host tree; write files with `put`, remove it with `cleanup`. */
export class TempHost {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'mm-host-'));
  readonly fs = new HostFs(path.join(this.dir, 'proc'), path.join(this.dir, 'sys'));

  constructor() {
    mkdirSync(path.join(this.dir, 'proc'));
    mkdirSync(path.join(this.dir, 'sys'));
  }

  /** Writes `text` at `<root>/<rel>`, creating directories. */
  put(root: 'proc' | 'sys', rel: string, text: string): void {
    const p = path.join(this.dir, root, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, text);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `name{k="v",…}` → value, for compact assertions; throws on a duplicated series. */
export function byKey(samples: readonly Sample[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of samples) {
    const l = Object.keys(s.labels)
      .sort()
      .map((k) => `${k}="${s.labels[k]}"`)
      .join(',');
    const key = l === '' ? s.name : `${s.name}{${l}}`;
    if (m.has(key)) throw new Error(`duplicate series ${key}`);
    m.set(key, s.value);
  }
  return m;
}

/** Asserts |actual − expected| ≤ eps (floating percentages). */
export function near(actual: number | undefined, expected: number, what: string, eps = 1e-9): void {
  if (actual === undefined || !(Math.abs(actual - expected) <= eps)) {
    throw new Error(`${what}: expected ${expected}, got ${actual}`);
  }
}
