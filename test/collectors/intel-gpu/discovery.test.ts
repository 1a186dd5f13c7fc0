import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { discoverIntelGpus, parseUevent } from '../../../src/collectors/intel-gpu/cards';
import { DrmClientScanner } from '../../../src/collectors/intel-gpu/drm-clients';
import { HostFs } from '../../../src/collectors/host-fs';
import { hostFs, PatchedFs } from './fixture-host';

describe('intel-gpu: card discovery', () => {
  it('finds the i915 iGPU of the desktop and skips its connectors', async () => {
    const cards = await discoverIntelGpus(hostFs('desktop', 't0'));
    assert.equal(cards.length, 1);
    const c = cards[0];
    assert.equal(c.card, 'card0');
    assert.equal(c.driver, 'i915');
    assert.equal(c.pciSlot, '0000:00:02.0');
    assert.equal(c.renderMinor, 128);
    assert.deepEqual(c.labels, { gpu_id: '0', card: 'card0', pci_slot: '0000:00:02.0', driver: 'i915' });
  });

  it('numbers gpu_id by render node like the reference: card1/renderD128 is gpu 0', async () => {
    const cards = await discoverIntelGpus(hostFs('dgpu', 't0'));
    assert.equal(cards.length, 1);
    assert.deepEqual(cards[0].labels, { gpu_id: '0', card: 'card1', pci_slot: '0000:03:00.0', driver: 'xe' });
    assert.equal(cards[0].devDir, 'class/drm/card1/device');
  });

  it('finds nothing in the VM (a non-Intel display adapter) and on an empty tree', async () => {
    assert.deepEqual(await discoverIntelGpus(hostFs('vm', 't0')), []);
    assert.deepEqual(await discoverIntelGpus(new HostFs('/nonexistent/proc', '/nonexistent/sys')), []);
  });

  it('falls back to the uevent file when the kernel links are missing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mm-gpu-'));
    try {
      const put = (rel: string, text: string) => {
        mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        writeFileSync(path.join(dir, rel), text);
      };
      // A copied tree: plain directories, no symlinks, no vendor file.
      put('sys/class/drm/card2/device/uevent', 'DRIVER=xe\nPCI_ID=8086:E20B\nPCI_SLOT_NAME=0000:0A:00.0\n');
      put('sys/class/drm/card3/device/uevent', 'DRIVER=i915\nPCI_ID=1AF4:1050\nPCI_SLOT_NAME=0000:0b:00.0\n');
      put('sys/class/drm/card4/device/uevent', 'DRIVER=amdgpu\nPCI_ID=1002:73BF\nPCI_SLOT_NAME=0000:0c:00.0\n');
      const cards = await discoverIntelGpus(new HostFs(path.join(dir, 'proc'), path.join(dir, 'sys')));
      assert.deepEqual(
        cards.map((c) => c.labels),
        [{ gpu_id: '2', card: 'card2', pci_slot: '0000:0a:00.0', driver: 'xe' }],
        'card3 has a non-Intel vendor, card4 another driver; no render node → gpu_id is the card index',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parses uevent files', () => {
    assert.deepEqual(parseUevent('DRIVER=i915\nPCI_SLOT_NAME=0000:00:02.0\n\nbroken\n'), { DRIVER: 'i915', PCI_SLOT_NAME: '0000:00:02.0' });
  });
});

describe('intel-gpu: DRM client scan', () => {
  const drivers = new Set(['i915', 'xe']);

  it('reads the fdinfo of DRM fds only', async () => {
    const scanner = new DrmClientScanner({ rescanMs: 0, drivers });
    const found = await scanner.scan(hostFs('desktop', 't0'), 0);
    assert.deepEqual(
      found.map((r) => [r.pid, r.fd, r.node, r.info.clientId]),
      [
        [2345, '9', 'renderD128', '11'],
        [2345, '10', 'renderD128', '11'],
        [3456, '12', 'card0', '4'],
        [3456, '13', 'renderD128', '5'],
        [4567, '5', 'renderD128', '11'],
      ],
    );
  });

  it('skips unreadable and vanished entries silently', async () => {
    const scanner = new DrmClientScanner({ rescanMs: 0, drivers });
    const fs = new PatchedFs(hostFs('desktop', 't0'), {
      denied: /^proc:(2345\/fdinfo\/9|3456\/fd)$/, // EACCES on one fdinfo and on a whole fd directory
      vanished: /^proc:(2345\/fd\/10|4567\/fdinfo\/5)$/, // fd closed / process gone mid-scan
    });
    const found = await scanner.scan(fs, 0);
    assert.deepEqual(found, []);
  });

  it('ignores clients of other drivers', async () => {
    const scanner = new DrmClientScanner({ rescanMs: 0, drivers: new Set(['xe']) });
    assert.deepEqual(await scanner.scan(hostFs('desktop', 't0'), 0), []);
  });

  it('lists the fds of a known process only once per rescan period; in between reads the known GPU fds', async () => {
    const scanner = new DrmClientScanner({ rescanMs: 10_000, drivers });
    const fdLists = (fs: PatchedFs) => fs.listed.filter((l) => /^proc:\d+\/fd$/.test(l)).sort();

    const a = new PatchedFs(hostFs('desktop', 't0'));
    await scanner.scan(a, 0);
    assert.deepEqual(fdLists(a), ['proc:1/fd', 'proc:2345/fd', 'proc:3456/fd', 'proc:4567/fd']);

    const b = new PatchedFs(hostFs('desktop', 't1'));
    const found = await scanner.scan(b, 1000);
    assert.deepEqual(fdLists(b), [], 'no fd directory listed within the rescan period');
    assert.equal(found.length, 5, 'the known GPU fds were read all the same');

    const c = new PatchedFs(hostFs('desktop', 't1'));
    await scanner.scan(c, 10_000);
    assert.deepEqual(fdLists(c), ['proc:1/fd', 'proc:2345/fd', 'proc:3456/fd', 'proc:4567/fd'], 'looked at again after rescanMs');
  });

  it('a look whose fd numbers did not change reads no links until idleRescanMs passed since they were all read', async () => {
    class CountingFs extends PatchedFs {
      links = 0;
      override readLinkSync(root: 'proc' | 'sys', rel: string): string | undefined {
        if (root === 'proc') this.links++;
        return super.readLinkSync(root, rel);
      }
    }
    const scanner = new DrmClientScanner({ rescanMs: 10_000, idleRescanMs: 60_000, drivers });
    const first = new CountingFs(hostFs('desktop', 't0'));
    await scanner.scan(first, 0);
    assert.ok(first.links > 0);
    // Looks at 10 s and 30 s (the period doubling) find the same fd numbers: listed, not read link by link.
    for (const at of [10_000, 30_000]) {
      const fs = new CountingFs(hostFs('desktop', 't1'));
      const found = await scanner.scan(fs, at);
      assert.ok(fs.listed.includes('proc:1/fd'), `looked at ${at}`);
      assert.equal(fs.links, 0, `look at ${at}`);
      assert.equal(found.length, 5);
    }
    const later = new CountingFs(hostFs('desktop', 't1'));
    await scanner.scan(later, 70_000);
    assert.equal(later.links, first.links, 'the look 60 s after the last full read reads every link again');
  });

  it('lists a process again on the next cycle when a known GPU fd stops reading as one', async () => {
    const scanner = new DrmClientScanner({ rescanMs: 10_000, drivers });
    const fdLists = (fs: PatchedFs) => fs.listed.filter((l) => /^proc:\d+\/fd$/.test(l)).sort();
    await scanner.scan(new PatchedFs(hostFs('desktop', 't0')), 0);
    // fd 9 of pid 2345 was closed and the number reused for a pipe.
    const b = new PatchedFs(hostFs('desktop', 't1'), { overrides: { 'proc:2345/fdinfo/9': 'pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t7\n' } });
    const found = await scanner.scan(b, 1000);
    assert.equal(found.filter((r) => r.pid === 2345).length, 1, 'only fd 10 still reads as a client');
    const c = new PatchedFs(hostFs('desktop', 't1'));
    await scanner.scan(c, 2000);
    assert.deepEqual(fdLists(c), ['proc:2345/fd']);
  });
});
