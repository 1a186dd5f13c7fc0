/**
 * Read-only access to the host's /proc and /sys through injected roots (HOST_PROC, HOST_SYS), so a
 * collector reads the host's files in a DaemonSet (/host/proc, /host/sys), the local machine when
 * run standalone, and fixture trees in tests, with the same code.
 *
 * Absent files are normal (hardware not present, driver too old): they read as `undefined`, not
 * as errors. Other I/O errors (EACCES, EIO) propagate.
 */

import { close, closeSync, open, openSync, promises as fs, read, readFileSync, readSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';

export type Root = 'proc' | 'sys';

const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'ENODEV', 'ENXIO', 'ENODATA']);

function absent(e: unknown): boolean {
  return ABSENT.has((e as NodeJS.ErrnoException).code ?? '');
}

export class HostFs {
  constructor(
    readonly procRoot: string,
    readonly sysRoot: string,
  ) {}

  /** Absolute path of `rel` under a root; `rel` may not climb out of it. */
  resolve(root: Root, rel: string): string {
    const base = root === 'proc' ? this.procRoot : this.sysRoot;
    const p = path.resolve(base, rel.replace(/^\/+/, ''));
    if (p !== base && !p.startsWith(base.endsWith('/') ? base : base + '/')) throw new Error(`path ${rel} escapes ${base}`);
    return p;
  }

  /**
   * The whole file as UTF-8, still off the event loop (a sysfs attribute may wake the device),
   * but with the callback API: open, reads until one returns nothing, close. That is three or four
   * thread-pool hops and about a third of the CPU of fs.promises.readFile (file handle, fstat,
   * promise per step), which matters for collectors reading dozens of attributes per second.
   */
  async readText(root: Root, rel: string): Promise<string | undefined> {
    try {
      return (await readWhole(this.resolve(root, rel))).toString('utf8');
    } catch (e) {
      if (absent(e)) return undefined;
      throw e;
    }
  }

  async readBytes(root: Root, rel: string): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(this.resolve(root, rel));
    } catch (e) {
      if (absent(e)) return undefined;
      throw e;
    }
  }

  /** A sysfs attribute: trimmed text, or undefined when absent. */
  async readAttr(root: Root, rel: string): Promise<string | undefined> {
    return (await this.readText(root, rel))?.trim();
  }

  /** A numeric sysfs attribute; undefined when absent or not a number. */
  async readNumber(root: Root, rel: string): Promise<number | undefined> {
    const s = await this.readAttr(root, rel);
    if (s === undefined || s === '') return undefined;
    const n = Number(s);
    return Number.isFinite(n) ? n : undefined;
  }

  /** Directory entries (names only), [] when the directory is absent. */
  async list(root: Root, rel: string): Promise<string[]> {
    try {
      return await fs.readdir(this.resolve(root, rel));
    } catch (e) {
      if (absent(e)) return [];
      throw e;
    }
  }

  /**
   * Target of a symlink relative to the root's view, e.g. `class/drm/card0/device` →
   * `devices/pci0000:00/0000:00:02.0` (for PCI slots and drivers); undefined when absent.
   */
  async readLink(root: Root, rel: string): Promise<string | undefined> {
    try {
      return await fs.readlink(this.resolve(root, rel));
    } catch (e) {
      if (absent(e) || (e as NodeJS.ErrnoException).code === 'EINVAL') return undefined;
      throw e;
    }
  }

  /*
   * Synchronous twins of readText, list and readLink, for /proc pseudo-files the kernel renders
   * from memory (fdinfo, cgroup, fd links) and that a scan reads by the hundred each cycle: a
   * synchronous read costs about 15 µs of CPU, the promise API 100 µs or more (file handle, four
   * thread-pool round trips). Not for sysfs attributes that talk to hardware (they may sleep),
   * unless the caller knows the device is awake (the Intel GPU collector checks its
   * power/runtime_status), nor for regular files on disk. Same absent-file semantics as the async
   * methods.
   */

  readTextSync(root: Root, rel: string): string | undefined {
    try {
      return readFileSync(this.resolve(root, rel), 'utf8');
    } catch (e) {
      if (absent(e)) return undefined;
      throw e;
    }
  }

  /**
   * A small pseudo-file (fdinfo, a sysfs attribute of kernel memory) read with one open, one read
   * into a shared buffer and one close, decoded as Latin-1 (these files are ASCII): no stat, no
   * per-call buffer, no UTF-8 decoder. Files longer than the buffer are read whole the usual way.
   */
  readSmallSync(root: Root, rel: string): string | undefined {
    let fd: number;
    try {
      fd = openSync(this.resolve(root, rel), 'r');
    } catch (e) {
      if (absent(e)) return undefined;
      throw e;
    }
    try {
      const n = readSync(fd, SMALL, 0, SMALL.length, 0);
      if (n < SMALL.length) return SMALL.toString('latin1', 0, n);
    } catch (e) {
      if (absent(e)) return undefined;
      throw e;
    } finally {
      closeSync(fd);
    }
    return this.readTextSync(root, rel);
  }

  /**
   * readSmallSync through a file descriptor kept open in `held` for the next call. procfs and
   * sysfs render a file afresh on every read from offset 0 (and /proc/<pid>/fdinfo/<fd> looks the
   * fd up again each time, so a closed fd reads as absent, a reused one as its new file), so the
   * open and close, a path walk each, are paid once instead of every cycle. When `held` is full the
   * file is read the usual way and counted. A file that fails to read is closed and forgotten.
   * Regular files (fixture trees) differ in one way: a held file deleted from the tree keeps its
   * old text until the caller closes it.
   */
  readHeldSync(root: Root, rel: string, held: HeldFiles): string | undefined {
    let fd = held.fds.get(rel);
    if (fd === undefined) {
      if (!held.budget.take()) return this.readSmallSync(root, rel);
      try {
        fd = openSync(this.resolve(root, rel), 'r');
      } catch (e) {
        held.budget.give();
        if (absent(e)) return undefined;
        throw e;
      }
      held.fds.set(rel, fd);
    }
    let n: number;
    try {
      n = readSync(fd, SMALL, 0, SMALL.length, 0);
    } catch (e) {
      held.close(rel);
      if (absent(e) || (e as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
      throw e;
    }
    return n < SMALL.length ? SMALL.toString('latin1', 0, n) : this.readTextSync(root, rel);
  }

  listSync(root: Root, rel: string): string[] {
    try {
      return readdirSync(this.resolve(root, rel));
    } catch (e) {
      if (absent(e)) return [];
      throw e;
    }
  }

  readLinkSync(root: Root, rel: string): string | undefined {
    try {
      return readlinkSync(this.resolve(root, rel));
    } catch (e) {
      if (absent(e) || (e as NodeJS.ErrnoException).code === 'EINVAL') return undefined;
      throw e;
    }
  }
}

/** How many files all the HeldFiles sharing it may keep open, and how many reads found it spent. */
export class HeldBudget {
  open = 0;
  /** Reads that could not keep their file open (budget spent): read with open/read/close instead. */
  unheldReads = 0;
  constructor(readonly maxOpen: number) {}
  take(): boolean {
    if (this.open >= this.maxOpen) {
      this.unheldReads++;
      return false;
    }
    this.open++;
    return true;
  }
  give(): void {
    this.open--;
  }
}

/** Files kept open by HostFs.readHeldSync (path → fd); the owner closes them with close/closeAll. */
export class HeldFiles {
  readonly fds = new Map<string, number>();
  constructor(readonly budget: HeldBudget) {}
  close(rel: string): void {
    const fd = this.fds.get(rel);
    if (fd === undefined) return;
    this.fds.delete(rel);
    this.budget.give();
    try {
      closeSync(fd);
    } catch {
      // already closed: nothing to release
    }
  }
  closeAll(): void {
    for (const rel of [...this.fds.keys()]) this.close(rel);
  }
}

/**
 * Reads a file whole without fstat: /proc and /sys report sizes of 0 or 4096 that say nothing, and
 * a short read of a seq_file is not its end, so it reads until a read returns 0 bytes.
 */
function readWhole(file: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    open(file, 'r', (err, fd) => {
      if (err) return reject(err);
      const chunks: Buffer[] = [];
      let total = 0;
      const finish = (e: Error | null) =>
        close(fd, () => {
          if (e) reject(e);
          else resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total));
        });
      const next = (size: number) => {
        const buf = Buffer.allocUnsafe(size);
        read(fd, buf, 0, size, null, (e, n) => {
          if (e) return finish(e);
          if (n === 0) return finish(null);
          chunks.push(n === size ? buf : buf.subarray(0, n));
          total += n;
          next(Math.min(size * 4, 1 << 20));
        });
      };
      next(4096);
    });
  });
}

/** The buffer of readSmallSync: one per process, used only within a synchronous call. */
const SMALL = Buffer.allocUnsafe(16 * 1024);
