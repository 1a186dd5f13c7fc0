/**
 * Finds the DRM clients of the node: open file descriptors of processes under HOST_PROC that
 * point at a DRM device node (`/dev/dri/renderD<N>` or `/dev/dri/card<N>`), and reads their
 * `fdinfo`. Thin I/O around `parseDrmFdinfo`.
 *
 * Cost control: a full pass over every fd of every process each second would be the most
 * expensive thing the agent does (async file operations cost tens of µs of CPU each). So the fd
 * directory of a process is listed when the process is new and otherwise once per `rescanMs`;
 * between those, only the fdinfo of the DRM fds found last time is read (one read per client per
 * cycle). A process whose fd numbers were the same at the last look is looked at less and less
 * often (the period doubles per unchanged look, up to `idleRescanMs`): most processes of a node
 * keep their fds for hours, and listing them is most of a scan's cost. A changed fd set brings the
 * period back to `rescanMs`. A known fd that stops reading as a DRM client (closed, reused) makes
 * the process be looked at again on the next cycle; a GPU fd opened later by a known process is
 * found at its next look: within `rescanMs` of the last change to its fds, within `idleRescanMs`
 * for a process whose fds had not changed for a while.
 *
 * The reads are synchronous (HostFs.*Sync): these /proc files are rendered from kernel memory,
 * and a few hundred promise-based reads per second would cost more CPU than everything else the
 * collector does.
 *
 * Reading another process's fd links and fdinfo needs ptrace read access (root with
 * CAP_SYS_PTRACE, or the same user). Whatever cannot be read (EACCES, a process or fd that
 * vanished mid-scan) is skipped silently: that is normal on a busy node, not an error.
 */

import { HeldBudget, HeldFiles, type HostFs } from '../host-fs';
import { parseProcCgroup, type CgroupOwner } from './cgroup';
import { parseDrmFdinfo, type DrmFdinfo } from './fdinfo';
import { parseProcStartTime } from './proc-stat';

export interface DrmClientRecord {
  pid: number;
  fd: string;
  /** Device node the fd points at: `renderD128`, `card0`. */
  node: string;
  info: DrmFdinfo;
  /** The pod and container of the process (from its cgroup); undefined for a host process. */
  owner?: CgroupOwner;
  /** The process was first seen in this scan (born since the previous one). */
  newProcess: boolean;
}

export interface DrmClientScannerOptions {
  /** A known process has its fd directory listed again after this long (ms). */
  rescanMs: number;
  /**
   * Longest period between two looks at a process whose fd numbers stay the same (ms); also how
   * often all its links are read even when the numbers did not change. Default 60 000 (at least
   * `rescanMs`).
   */
  idleRescanMs?: number;
  /** `drm-driver` values whose clients are kept (e.g. i915, xe). */
  drivers: ReadonlySet<string>;
  /** Longest run of synchronous reads between two yields to the event loop (ms). Default 2. */
  sliceMs?: number;
  /** Read /proc/<pid>/cgroup of processes with DRM fds (pod attribution). Default true. */
  owners?: boolean;
  /**
   * fdinfo files of DRM fds kept open between cycles (read again from offset 0, saving an open
   * and a close each per cycle); reads beyond it open and close the file. Default 1024.
   */
  maxHeldFiles?: number;
}

interface PidState {
  /** fd → device node */
  drmFds: Map<string, string>;
  checkedAtMs: number;
  /** The fd numbers at the last look, joined: an unchanged set is not read link by link again. */
  fdSet?: string;
  /** When all its links were last read. */
  linksReadAtMs?: number;
  /** Looks in a row that found the same fd numbers: the next look waits rescanMs × 2^idleLooks (capped). */
  idleLooks?: number;
  /** Its pod and container, read once when it first shows DRM fds (null: a host process). */
  owner?: CgroupOwner | null;
  /** A known DRM fd no longer reads as one: list the links again next cycle. */
  stale?: boolean;
  /** fd → its last fdinfo text and parse: an idle client prints the same text, which is not parsed again. */
  parsed?: Map<string, { text: string; info: DrmFdinfo }>;
  /** Start time (/proc/<pid>/stat field 22) of the process whose owner was read: pid + start name one process. */
  start?: string;
  /** Its DRM fds' fdinfo files kept open; closed whenever the process is looked at again. */
  held?: HeldFiles;
}

/** The link text of a DRM fd ends in `dri/renderD128` or `dri/card0`. */
const DRM_NODE_RE = /(?:^|\/)dri\/(renderD\d+|card\d+)$/;

/** A /proc entry that names a process: digits only. */
function isPid(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

export class DrmClientScanner {
  private readonly pids = new Map<string, PidState>();
  private readonly sliceMs: number;
  private readonly idleRescanMs: number;
  private scans = 0;
  private readonly budget: HeldBudget;
  /** The HostFs the held files were opened through: another one (a test's next snapshot) closes them. */
  private heldFs: HostFs | undefined;

  constructor(private readonly opts: DrmClientScannerOptions) {
    this.sliceMs = Math.max(0, opts.sliceMs ?? 2);
    const idle = opts.idleRescanMs ?? 60_000;
    if (!Number.isFinite(idle) || idle < 0) throw new RangeError(`idleRescanMs must be >= 0, got ${idle}`);
    this.idleRescanMs = Math.max(opts.rescanMs, idle);
    const maxHeld = opts.maxHeldFiles ?? 1024;
    if (!Number.isInteger(maxHeld) || maxHeld < 0) throw new RangeError(`maxHeldFiles must be an integer >= 0, got ${maxHeld}`);
    this.budget = new HeldBudget(maxHeld);
  }

  /** fdinfo files held open now, and reads that found the bound spent (a counter). */
  heldFiles(): { open: number; unheldReadsTotal: number } {
    return { open: this.budget.open, unheldReadsTotal: this.budget.unheldReads };
  }

  /** Closes every held file (agent shutdown). The scanner stays usable: the next scan reopens them. */
  close(): void {
    for (const state of this.pids.values()) state.held?.closeAll();
  }

  /** Every readable DRM client fd of a kept driver, ordered by pid then fd. */
  async scan(fs: HostFs, atMs: number): Promise<DrmClientRecord[]> {
    let entries: string[];
    try {
      entries = fs.listSync('proc', '');
    } catch {
      return [];
    }
    const live = new Set<string>();
    for (const e of entries) if (isPid(e)) live.add(e);
    if (this.heldFs !== fs) {
      this.close();
      this.heldFs = fs;
    }
    for (const [pid, state] of this.pids) {
      if (live.has(pid)) continue;
      state.held?.closeAll();
      this.pids.delete(pid);
    }

    const out: DrmClientRecord[] = [];
    // On the very first scan every process is "new" only to us, not born since a previous scan.
    const firstScan = this.scans++ === 0;
    // Let other work run once a stretch of reads took sliceMs (a rescan of a busy node reads
    // thousands of links); a cycle that only reads the known clients' fdinfo seldom needs to.
    let sliceStart = performance.now();
    let n = 0;
    for (const pid of live) {
      this.scanPid(fs, pid, atMs, out, firstScan);
      if ((++n & 15) === 0 && performance.now() - sliceStart >= this.sliceMs) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
    return out.sort((a, b) => a.pid - b.pid || Number(a.fd) - Number(b.fd));
  }

  /**
   * Reads the DRM clients of one process into `out`. The owner (pod) is read once per process, so
   * a pid the kernel hands to another process must not inherit it: the pid's identity (its start
   * time) is checked again whenever what the scanner knew stops matching, which a reused pid
   * always causes: a known DRM fd that is gone or no longer a DRM node (the process is listed
   * again), or one that shows another `drm-client-id` (a new open of the device). A match costs
   * nothing per cycle; a mismatch costs one read of /proc/<pid>/stat.
   */
  private scanPid(fs: HostFs, pid: string, atMs: number, out: DrmClientRecord[], firstScan: boolean): void {
    let state = this.pids.get(pid);
    let newProcess = state === undefined && !firstScan;
    if (state?.stale && !this.sameProcess(fs, pid, state)) {
      state.held?.closeAll();
      state = undefined;
      newProcess = true;
    }
    if (!state || state.stale || atMs - state.checkedAtMs >= this.period(state)) {
      // Held files are reopened after each look: on a fixture tree (regular files) that is when a
      // deleted fdinfo file stops reading; procfs needs no such help.
      state?.held?.closeAll();
      state = this.look(fs, pid, atMs, state);
      this.pids.set(pid, state);
    }
    if (state.drmFds.size > 0 && state.owner === undefined && this.opts.owners !== false) {
      state.start = this.startTime(fs, pid);
      state.owner = this.owner(fs, pid);
    }
    const owner = state.owner ?? undefined;
    const found: DrmClientRecord[] = [];
    for (const [fd, node] of state.drmFds) {
      let text: string | undefined;
      try {
        text = fs.readHeldSync('proc', `${pid}/fdinfo/${fd}`, (state.held ??= new HeldFiles(this.budget)));
      } catch {
        state.stale = true;
        continue; // EACCES, or the process is exiting
      }
      const last = state.parsed?.get(fd);
      const info = text === undefined ? undefined : last?.text === text ? last.info : parseDrmFdinfo(text);
      if (info && last && info.clientId !== last.info.clientId && !this.sameProcess(fs, pid, state)) {
        // Another process under the same pid, with a DRM client at the same fd number: start over.
        state.held?.closeAll();
        this.pids.delete(pid);
        this.scanPid(fs, pid, atMs, out, false);
        return;
      }
      if (text !== undefined && info && last?.info !== info) (state.parsed ??= new Map()).set(fd, { text, info });
      if (!info) {
        state.stale = true; // fd closed or reused since the links were read
        continue;
      }
      if (this.opts.drivers.has(info.driver)) found.push({ pid: Number(pid), fd, node, info, owner, newProcess });
    }
    for (const r of found) out.push(r);
  }

  /** Time between two looks at a known process: doubles with each look that found the same fd numbers. */
  private period(state: PidState): number {
    const idle = state.idleLooks ?? 0;
    return idle === 0 ? this.opts.rescanMs : Math.min(this.opts.rescanMs * 2 ** Math.min(idle, 30), this.idleRescanMs);
  }

  /** Whether the pid still names the process whose owner was read (true when no owner was read yet). */
  private sameProcess(fs: HostFs, pid: string, state: PidState): boolean {
    return state.owner === undefined || this.startTime(fs, pid) === state.start;
  }

  private startTime(fs: HostFs, pid: string): string | undefined {
    try {
      const text = fs.readSmallSync('proc', `${pid}/stat`);
      return text !== undefined ? parseProcStartTime(text) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The process's pod from its cgroup file; null for a host process or an unreadable file. */
  private owner(fs: HostFs, pid: string): CgroupOwner | null {
    try {
      const text = fs.readTextSync('proc', `${pid}/cgroup`);
      return (text !== undefined ? parseProcCgroup(text) : undefined) ?? null;
    } catch {
      return null;
    }
  }

  /**
   * Lists the process's fds. A look whose fd numbers are exactly those of the last one keeps the
   * links it knew (no readlink per fd) unless idleRescanMs passed since they were all read (an fd
   * closed and reopened under the same number as a GPU node is found then), and lengthens the
   * period to the next look; other numbers mean all links are read and the period starts over.
   */
  private look(fs: HostFs, pid: string, atMs: number, prev: PidState | undefined): PidState {
    let fds: string[];
    try {
      fds = fs.listSync('proc', `${pid}/fd`);
    } catch {
      return { drmFds: new Map(), checkedAtMs: atMs, owner: prev?.owner, start: prev?.start, parsed: prev?.parsed }; // not ours to read; looked at again after rescanMs
    }
    const fdSet = fds.join(',');
    const same = prev !== undefined && !prev.stale && prev.fdSet === fdSet;
    const idleLooks = same ? (prev.idleLooks ?? 0) + 1 : 0;
    if (same && prev.linksReadAtMs !== undefined && atMs - prev.linksReadAtMs < this.idleRescanMs) {
      return { ...prev, checkedAtMs: atMs, idleLooks };
    }
    return { drmFds: this.drmFds(fs, pid, fds), checkedAtMs: atMs, owner: prev?.owner, start: prev?.start, parsed: prev?.parsed, fdSet, linksReadAtMs: atMs, idleLooks };
  }

  private drmFds(fs: HostFs, pid: string, fds: string[]): Map<string, string> {
    const found = new Map<string, string>();
    for (const fd of fds) {
      let link: string | undefined;
      try {
        link = fs.readLinkSync('proc', `${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = link !== undefined ? DRM_NODE_RE.exec(link) : null;
      if (m) found.set(fd, m[1]);
    }
    return found;
  }
}
