/**
 * The memory limit of the container (cgroup) this process runs in, read the way the kernel exposes
 * it: cgroup v2 `memory.max`, cgroup v1 `memory.limit_in_bytes`. The process finds its own group in
 * /proc/self/cgroup (v2: the `0::` line; v1: the line listing `memory`) and reads the file under the
 * hierarchy's mount point; inside a container with a cgroup namespace that path is `/`.
 *
 * Parsing is pure; `readContainerMemoryLimit` does the reading through an injected root (tests give
 * it a fixture tree).
 */

import fs from 'node:fs';
import path from 'node:path';

export interface ContainerLimit {
  /** Bytes; undefined when there is no limit (or none could be read). */
  bytes?: number;
  /** Where it came from, for the start log and /api/v1/config: e.g. `cgroup v1 /sys/fs/cgroup/memory/x/memory.limit_in_bytes`. */
  source: string;
}

/** v1 reports "no limit" as a huge page-aligned number (LONG_MAX rounded down); treat ≥ 2^60 as none. */
const UNLIMITED = 2 ** 60;

/** Parses a limit file's content: a byte count, or `max` (v2) / a huge number (v1) for none. */
export function parseLimit(text: string): number | undefined {
  const s = text.trim();
  if (s === 'max' || !/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n > 0 && n < UNLIMITED ? n : undefined;
}

/** The group paths of this process from /proc/self/cgroup: v2's unified path and v1's memory path. */
export function parseProcCgroup(text: string): { v2?: string; v1Memory?: string } {
  const out: { v2?: string; v1Memory?: string } = {};
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') out.v2 = m[3];
    else if (m[2].split(',').includes('memory')) out.v1Memory = m[3];
  }
  return out;
}

/**
 * Reads the limit of this process's cgroup under `root` (`/` in production). The tightest limit on
 * the path up to the hierarchy's root applies, so every ancestor is read too (a pod's limit sits on
 * the pod's group, the container's on its own).
 */
export function readContainerMemoryLimit(root = '/'): ContainerLimit {
  let groups: { v2?: string; v1Memory?: string };
  try {
    groups = parseProcCgroup(fs.readFileSync(path.join(root, 'proc/self/cgroup'), 'utf8'));
  } catch {
    return { source: 'no /proc/self/cgroup' };
  }
  const v1Mount = path.join(root, 'sys/fs/cgroup/memory');
  const v2Mount = path.join(root, 'sys/fs/cgroup');
  const tries: Array<[string, string, string]> = [];
  if (groups.v1Memory !== undefined && fs.existsSync(v1Mount)) tries.push(['cgroup v1', path.join(v1Mount, groups.v1Memory), 'memory.limit_in_bytes']);
  if (groups.v2 !== undefined) tries.push(['cgroup v2', path.join(v2Mount, groups.v2), 'memory.max']);
  for (const [kind, dir, file] of tries) {
    let best: { bytes: number; at: string } | undefined;
    // Walk from the group up to the mount point: the smallest limit wins.
    const top = kind === 'cgroup v1' ? v1Mount : v2Mount;
    for (let d = dir; ; d = path.dirname(d)) {
      const f = path.join(d, file);
      try {
        const n = parseLimit(fs.readFileSync(f, 'utf8'));
        if (n !== undefined && (!best || n < best.bytes)) best = { bytes: n, at: f };
      } catch { /* not every level has the file */ }
      if (d === top || d.length <= top.length) break;
    }
    if (best) return { bytes: best.bytes, source: `${kind} ${best.at.slice(root.length - (root.endsWith('/') ? 1 : 0))}` };
  }
  return { source: 'no cgroup memory limit found' };
}
