import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DrmClientScanner } from '../../../src/collectors/intel-gpu/drm-clients';
import { PatchedFs } from './fixture-host';
import { HostFs } from '../../../src/collectors/host-fs';

/**
 * When the DRM client scan looks at a process again, on a /proc tree in a temp dir that the tests
 * change between scans (processes opening, closing and reusing fds, starting and ending). One scan
 * per simulated second, as the collector runs by default.
 */

const XE_FDINFO = (id: number, cycles: number) =>
  `pos:\t0\nflags:\t0100002\ndrm-driver:\txe\ndrm-client-id:\t${id}\ndrm-pdev:\t0000:03:00.0\ndrm-cycles-rcs:\t${cycles}\ndrm-total-cycles-rcs:\t${cycles * 10}\n`;
const PIPE_FDINFO = 'pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t7\n';

class Node {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-drm-rescan-'));
  readonly fs = new PatchedFs(new HostFs(path.join(this.dir, 'proc'), path.join(this.dir, 'sys')));

  /** Process `pid` with pipes at fds 0..pipes-1. */
  process(pid: number, pipes: number): void {
    for (const d of ['fd', 'fdinfo']) fs.mkdirSync(path.join(this.dir, 'proc', String(pid), d), { recursive: true });
    for (let fd = 0; fd < pipes; fd++) this.pipe(pid, fd);
  }
  pipe(pid: number, fd: number): void {
    this.set(pid, fd, `pipe:[${pid * 100 + fd}]`, PIPE_FDINFO);
  }
  gpu(pid: number, fd: number, id: number, cycles = 1000): void {
    this.set(pid, fd, '/dev/dri/renderD128', XE_FDINFO(id, cycles));
  }
  /** Closes an fd. A held fixture file would keep its text once deleted (procfs would fail the read): empty it first. */
  close(pid: number, fd: number): void {
    fs.writeFileSync(path.join(this.dir, 'proc', String(pid), 'fdinfo', String(fd)), '');
    fs.rmSync(path.join(this.dir, 'proc', String(pid), 'fd', String(fd)));
    fs.rmSync(path.join(this.dir, 'proc', String(pid), 'fdinfo', String(fd)));
  }
  exit(pid: number): void {
    fs.rmSync(path.join(this.dir, 'proc', String(pid)), { recursive: true });
  }
  /** The processes whose fd directory was listed since the last call. */
  looked(): number[] {
    const pids = this.fs.listed.map((l) => /^proc:(\d+)\/fd$/.exec(l)?.[1]).filter((p): p is string => p !== undefined);
    this.fs.listed.length = 0;
    return pids.map(Number).sort((a, b) => a - b);
  }
  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
  private set(pid: number, fd: number, link: string, fdinfo: string): void {
    const base = path.join(this.dir, 'proc', String(pid));
    fs.rmSync(path.join(base, 'fd', String(fd)), { force: true });
    fs.symlinkSync(link, path.join(base, 'fd', String(fd)));
    fs.writeFileSync(path.join(base, 'fdinfo', String(fd)), fdinfo);
  }
}

describe('intel-gpu: when the DRM client scan looks at a process again', () => {
  const drivers = new Set(['xe']);
  let node: Node;
  let scanner: DrmClientScanner;
  beforeEach(() => {
    node = new Node();
    scanner = new DrmClientScanner({ rescanMs: 10_000, idleRescanMs: 60_000, drivers });
  });
  afterEach(() => {
    scanner.close();
    node.remove();
  });

  /** Scans once per second over [from, to] s; returns the seconds at which `pid`'s fds were listed. */
  async function run(from: number, to: number, pid: number, each?: (s: number, found: Awaited<ReturnType<DrmClientScanner['scan']>>) => void): Promise<number[]> {
    const looks: number[] = [];
    for (let s = from; s <= to; s++) {
      const found = await scanner.scan(node.fs, s * 1000);
      if (node.looked().includes(pid)) looks.push(s);
      each?.(s, found);
    }
    return looks;
  }

  it('a process whose fds stay the same is looked at after 10, 20, 40 s, then every 60 s', async () => {
    node.process(100, 4);
    assert.deepEqual(await run(0, 200, 100), [0, 10, 30, 70, 130, 190]);
  });

  it('the GPU clients of a process with unchanged fds are read every cycle all the same', async () => {
    node.process(100, 3);
    node.gpu(100, 3, 7, 1000);
    await run(0, 100, 100, (s, found) => {
      assert.equal(found.length, 1, `second ${s}`);
      assert.equal(found[0].info.engines.get('rcs')?.cycles, 1000n + BigInt(s), `second ${s}: this cycle's counters`);
      node.gpu(100, 3, 7, 1000 + s + 1); // the driver advances the counters; same fd, same link
    });
    assert.equal(scanner.heldFiles().open, 1);
  });

  it('changed fd numbers bring the period back to rescanMs', async () => {
    node.process(100, 4);
    assert.deepEqual(await run(0, 75, 100), [0, 10, 30, 70]);
    node.pipe(100, 9); // a new fd; seen at the next look (130 s), which starts over
    assert.deepEqual(await run(76, 200, 100), [130, 140, 160, 200]);
  });

  it('a GPU client opened by a process whose fds had not changed is found at its next look, within idleRescanMs', async () => {
    node.process(100, 4);
    await run(0, 75, 100);
    node.gpu(100, 7, 42);
    let firstSeen: number | undefined;
    await run(76, 200, 100, (s, found) => {
      if (firstSeen === undefined && found.length > 0) {
        firstSeen = s;
        assert.equal(found[0].newProcess, false, 'an old process');
        assert.equal(found[0].info.clientId, '42');
      }
    });
    assert.equal(firstSeen, 130);
    assert.ok(firstSeen - 75 <= 60);
  });

  it('a GPU node opened under a just-closed fd number is found when all links are read again', async () => {
    node.process(100, 4);
    await run(0, 71, 100); // links all read at 0 and 70
    node.gpu(100, 2, 43); // fd 2 was a pipe: the fd numbers stay the same
    let firstSeen: number | undefined;
    await run(72, 200, 100, (s, found) => {
      if (firstSeen === undefined && found.length > 0) firstSeen = s;
    });
    assert.equal(firstSeen, 130, 'at the first look 60 s after the last full read');
  });

  it('a new process is looked at in the next cycle, and one that ends has its held files closed', async () => {
    node.process(100, 2);
    await run(0, 40, 100);
    node.process(200, 2);
    node.gpu(200, 2, 50);
    const found = await scanner.scan(node.fs, 41_000);
    assert.deepEqual(node.looked(), [200]);
    assert.deepEqual(
      found.map((r) => [r.pid, r.fd, r.newProcess]),
      [[200, '2', true]],
    );
    assert.equal(scanner.heldFiles().open, 1);
    node.exit(200);
    assert.deepEqual(await scanner.scan(node.fs, 42_000), []);
    assert.equal(scanner.heldFiles().open, 0, 'the ended process’s fdinfo file was closed');
  });

  it('a GPU fd closed by a known process is dropped at once, and the process looked at again next cycle', async () => {
    node.process(100, 3);
    node.gpu(100, 3, 7);
    await run(0, 75, 100);
    node.close(100, 3);
    assert.deepEqual(await scanner.scan(node.fs, 76_000), []);
    node.looked();
    await scanner.scan(node.fs, 77_000);
    assert.deepEqual(node.looked(), [100]);
    assert.equal(scanner.heldFiles().open, 0, 'its held fdinfo file closed at the look');
  });

  it('rejects a negative idleRescanMs', () => {
    assert.throws(() => new DrmClientScanner({ rescanMs: 10_000, idleRescanMs: -1, drivers }), /idleRescanMs/);
  });
});
