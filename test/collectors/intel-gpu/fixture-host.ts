/**
 * Test helpers for the GPU collectors: fixture host trees, a fake clock, a mutable env, a HostFs
 * that fails on chosen paths, and sample lookups.
 */

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CollectorEnv, CommandRunner } from '../../../src/collectors/collector';
import { HostFs, type HeldFiles, type Root } from '../../../src/collectors/host-fs';
import type { Labels, Sample } from '../../../src/model/sample';

/** The directory holding package.json, found by walking up (works from src and compiled output). */
export function repoRoot(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
}

export const HOSTS = path.join(repoRoot(), 'test', 'fixtures', 'hosts');

export function hostFs(caseName: string, snap: 't0' | 't1'): HostFs {
  const base = path.join(HOSTS, caseName, snap);
  return new HostFs(path.join(base, 'proc'), path.join(base, 'sys'));
}

export interface TestEnv extends CollectorEnv {
  fs: HostFs;
  clock: { ms: number };
}

const noRun: CommandRunner = async () => {
  throw new Error('no command expected');
};

/** An env whose `fs` the test swaps per snapshot and whose monotonic clock it advances by hand. */
export function testEnv(fs: HostFs, run: CommandRunner = noRun): TestEnv {
  const clock = { ms: 5_000_000 };
  return { fs, clock, now: () => 1_750_000_000_000 + clock.ms, monotonic: () => clock.ms, run };
}

function errno(code: string, p: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: simulated, ${p}`) as NodeJS.ErrnoException;
  e.code = code;
  return e;
}

/**
 * A HostFs over a fixture snapshot that throws EACCES for paths matching `denied`, reads
 * `overrides` instead of the files, and counts directory listings.
 */
export class PatchedFs extends HostFs {
  readonly listed: string[] = [];
  constructor(
    base: HostFs,
    private readonly opts: { denied?: RegExp; overrides?: Record<string, string>; vanished?: RegExp } = {},
  ) {
    super(base.procRoot, base.sysRoot);
  }

  private check(root: Root, rel: string): void {
    if (this.opts.denied?.test(`${root}:${rel}`)) throw errno('EACCES', rel);
  }

  override async readText(root: Root, rel: string): Promise<string | undefined> {
    this.check(root, rel);
    const o = this.opts.overrides?.[`${root}:${rel}`];
    if (o !== undefined) return o;
    if (this.opts.vanished?.test(`${root}:${rel}`)) return undefined;
    return super.readText(root, rel);
  }

  override async list(root: Root, rel: string): Promise<string[]> {
    this.check(root, rel);
    this.listed.push(`${root}:${rel}`);
    return super.list(root, rel);
  }

  override async readLink(root: Root, rel: string): Promise<string | undefined> {
    this.check(root, rel);
    if (this.opts.vanished?.test(`${root}:${rel}`)) return undefined;
    return super.readLink(root, rel);
  }

  // The synchronous twins (the DRM client scan uses them) with the same patches.

  override readTextSync(root: Root, rel: string): string | undefined {
    this.check(root, rel);
    const o = this.opts.overrides?.[`${root}:${rel}`];
    if (o !== undefined) return o;
    if (this.opts.vanished?.test(`${root}:${rel}`)) return undefined;
    return super.readTextSync(root, rel);
  }

  override readSmallSync(root: Root, rel: string): string | undefined {
    this.check(root, rel);
    const o = this.opts.overrides?.[`${root}:${rel}`];
    if (o !== undefined) return o;
    if (this.opts.vanished?.test(`${root}:${rel}`)) return undefined;
    return super.readSmallSync(root, rel);
  }

  override readHeldSync(root: Root, rel: string, held: HeldFiles): string | undefined {
    this.check(root, rel);
    const o = this.opts.overrides?.[`${root}:${rel}`];
    if (o !== undefined) return o;
    if (this.opts.vanished?.test(`${root}:${rel}`)) return undefined;
    return super.readHeldSync(root, rel, held);
  }

  override listSync(root: Root, rel: string): string[] {
    this.check(root, rel);
    this.listed.push(`${root}:${rel}`);
    return super.listSync(root, rel);
  }

  override readLinkSync(root: Root, rel: string): string | undefined {
    this.check(root, rel);
    if (this.opts.vanished?.test(`${root}:${rel}`)) return undefined;
    return super.readLinkSync(root, rel);
  }
}

/** Samples named `name` whose labels include every pair of `match`. */
export function find(samples: Sample[], name: string, match: Labels = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** The value of the one sample named `name` matching `match`. */
export function value(samples: Sample[], name: string, match: Labels = {}): number {
  const found = find(samples, name, match);
  assert.equal(found.length, 1, `expected one ${name}${JSON.stringify(match)}, found ${found.length}`);
  return found[0].value;
}

export function close(actual: number, expected: number, eps = 1e-9, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= eps, `${what} ${actual} should be ${expected} (±${eps})`);
}

/** One line per sample, `name{sorted labels} value`, sorted: a stable golden form. */
export function render(samples: Sample[]): string {
  const lines = samples.map((s) => {
    const labels = Object.keys(s.labels)
      .sort()
      .map((k) => `${k}=${JSON.stringify(s.labels[k])}`)
      .join(',');
    return `${s.name}{${labels}} ${Number(s.value.toPrecision(12))}`;
  });
  return lines.sort().join('\n') + '\n';
}
