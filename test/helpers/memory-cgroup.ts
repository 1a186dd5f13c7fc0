/**
 * A real memory cgroup for tests that must hold under a pod-like limit (the chart gives the agent
 * 512 MiB). Needs root. Works with cgroup v2 (memory in /sys/fs/cgroup/cgroup.controllers) and with
 * cgroup v1's memory controller (this machine mounts it at /sys/fs/cgroup/memory).
 *
 * The child is put into the group before it execs (a shell writes its own pid to cgroup.procs, then
 * execs the command), so every allocation of the process is charged to the group from the start.
 *
 * Note for code that reads "its own" limit: there is no cgroup namespace here, so a process in the
 * group sees the host's hierarchy; it finds its group from /proc/self/cgroup (v1: the `memory`
 * line; v2: the `0::` line) and reads the files under `<mount>/<that path>`.
 */

import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export type CgroupVersion = 1 | 2;

export interface MemoryCgroupSupport {
  ok: boolean;
  version?: CgroupVersion;
  /** The hierarchy's mount point (v2: /sys/fs/cgroup; v1: /sys/fs/cgroup/memory). */
  root?: string;
  /** Why not, when !ok. */
  why?: string;
}

const V2_ROOT = '/sys/fs/cgroup';
const V1_ROOT = '/sys/fs/cgroup/memory';

/** Whether this process can create memory cgroups here, and which version. */
export function memoryCgroupSupport(): MemoryCgroupSupport {
  if (process.getuid?.() !== 0) return { ok: false, why: 'tests are not running as root' };
  try {
    const controllers = fs.readFileSync(path.join(V2_ROOT, 'cgroup.controllers'), 'utf8');
    if (controllers.split(/\s+/).includes('memory')) return { ok: true, version: 2, root: V2_ROOT };
  } catch { /* not a v2 root */ }
  if (fs.existsSync(path.join(V1_ROOT, 'memory.limit_in_bytes'))) return { ok: true, version: 1, root: V1_ROOT };
  return { ok: false, why: `no memory controller: neither ${V2_ROOT}/cgroup.controllers lists memory nor ${V1_ROOT} is mounted` };
}

/**
 * Skips the test loudly when memory cgroups are unavailable; under CI=true that is a failure.
 * Returns the support record when the test can go on.
 */
export function requireMemoryCgroup(ctx: Mocha.Context): MemoryCgroupSupport {
  const s = memoryCgroupSupport();
  if (s.ok) return s;
  const msg = `memory cgroups unavailable: ${s.why}`;
  if (process.env.CI === 'true') throw new Error(msg);
  console.warn(`\n  !!! SKIPPED: ${msg}\n`);
  ctx.skip();
  return s;
}

export class MemoryCgroup {
  readonly dir: string;

  private constructor(readonly version: CgroupVersion, root: string, name: string, readonly limitBytes: number) {
    this.dir = path.join(root, name);
  }

  /**
   * Creates `<root>/<name>` with a hard limit of `limitBytes` (and no swap). `name` should be
   * unique per test run (parallel suites on one machine): a pid and a counter are added.
   */
  static create(name: string, limitBytes: number): MemoryCgroup {
    const s = memoryCgroupSupport();
    if (!s.ok) throw new Error(`memory cgroups unavailable: ${s.why}`);
    const unique = `${name}-${process.pid}-${++seq}`;
    const cg = new MemoryCgroup(s.version!, s.root!, unique, limitBytes);
    fs.mkdirSync(cg.dir);
    try {
      if (cg.version === 2) {
        cg.write('memory.max', String(limitBytes));
        try { cg.write('memory.swap.max', '0'); } catch { /* no swap accounting */ }
      } else {
        cg.write('memory.limit_in_bytes', String(limitBytes));
        try { cg.write('memory.memsw.limit_in_bytes', String(limitBytes)); } catch { /* no swap accounting */ }
      }
    } catch (err) {
      fs.rmdirSync(cg.dir);
      throw err;
    }
    return cg;
  }

  /** Spawns `command args` inside the group (charged from its first allocation). */
  spawn(command: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const procs = path.join(this.dir, 'cgroup.procs');
    return spawn('/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', procs, command, ...args], opts);
  }

  /** Bytes charged now. */
  usageBytes(): number {
    return this.readNumber(this.version === 2 ? 'memory.current' : 'memory.usage_in_bytes');
  }

  /** Highest bytes charged since creation (v2 needs memory.peak, kernel ≥ 5.19; else undefined). */
  peakBytes(): number | undefined {
    try {
      return this.readNumber(this.version === 2 ? 'memory.peak' : 'memory.max_usage_in_bytes');
    } catch {
      return undefined;
    }
  }

  /** Processes the kernel's OOM killer killed in this group. */
  oomKills(): number {
    const text = this.read(this.version === 2 ? 'memory.events' : 'memory.oom_control');
    const m = /^oom_kill\s+(\d+)/m.exec(text);
    return m ? Number(m[1]) : 0;
  }

  pids(): number[] {
    return this.read('cgroup.procs').split('\n').filter(Boolean).map(Number);
  }

  /** Kills whatever is left in the group and removes it. Idempotent. */
  remove(): void {
    if (!fs.existsSync(this.dir)) return;
    for (let attempt = 0; attempt < 50; attempt++) {
      const left = this.pids();
      for (const pid of left) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
      try {
        fs.rmdirSync(this.dir);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
    throw new Error(`could not remove ${this.dir}: processes still in it`);
  }

  private write(file: string, value: string): void {
    fs.writeFileSync(path.join(this.dir, file), value);
  }

  private read(file: string): string {
    return fs.readFileSync(path.join(this.dir, file), 'utf8');
  }

  private readNumber(file: string): number {
    return Number(this.read(file).trim());
  }
}

let seq = 0;
