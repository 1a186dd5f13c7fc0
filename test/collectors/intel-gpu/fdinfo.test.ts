import assert from 'node:assert/strict';
import fc from 'fast-check';
import { engineDisplayName, isVramRegion, parseDrmFdinfo, parseDrmSize } from '../../../src/collectors/intel-gpu/fdinfo';
import { referenceParseDrmFdinfo, referenceParseDrmSize } from './fdinfo-reference';

// The xe example from Documentation/gpu/xe/xe-drm-usage-stats.rst (shortened), with the tab
// and space alignment the kernel prints.
const XE = `pos:    0
flags:  0100002
mnt_id: 26
ino:    685
drm-driver:     xe
drm-client-id:  3
drm-pdev:       0000:03:00.0
drm-total-system:       0
drm-resident-system:    0
drm-total-gtt:  192 KiB
drm-resident-gtt:       192 KiB
drm-total-vram0:        23992 KiB
drm-shared-vram0:       16 MiB
drm-active-vram0:       0
drm-resident-vram0:     23992 KiB
drm-purgeable-vram0:    0
drm-cycles-rcs: 28257900
drm-total-cycles-rcs:   7655183225
drm-cycles-bcs: 0
drm-total-cycles-bcs:   7655183225
drm-cycles-vcs: 0
drm-total-cycles-vcs:   7655183225
drm-engine-capacity-vcs:        2
drm-cycles-ccs: 0
drm-total-cycles-ccs:   7655183225
drm-engine-capacity-ccs:        4
`;

const I915 = [
  'pos:\t0',
  'flags:\t02100002',
  'mnt_id:\t26',
  'ino:\t1066',
  'drm-driver:\ti915',
  'drm-client-id:\t11',
  'drm-pdev:\t0000:00:02.0',
  'drm-total-system0:\t98304 KiB',
  'drm-resident-system0:\t98304 KiB',
  'drm-total-stolen-system0:\t0',
  'drm-engine-render:\t2000000000 ns',
  'drm-engine-copy:\t0 ns',
  'drm-engine-video:\t90000000000 ns',
  'drm-engine-capacity-video:\t2',
  'drm-engine-video-enhance:\t30000000000 ns',
  '',
].join('\n');

describe('intel-gpu: DRM fdinfo parsing', () => {
  it('reads sizes with and without units', () => {
    assert.equal(parseDrmSize('0'), 0);
    assert.equal(parseDrmSize('4096'), 4096);
    assert.equal(parseDrmSize('192 KiB'), 192 * 1024);
    assert.equal(parseDrmSize('16 MiB'), 16 * 1024 * 1024);
    assert.equal(parseDrmSize('2 GiB'), 2 * 1024 ** 3);
    assert.equal(parseDrmSize('  23992 KiB '), 23992 * 1024);
    assert.equal(parseDrmSize('12 PiB'), undefined);
    assert.equal(parseDrmSize('-1'), undefined);
    assert.equal(parseDrmSize('12.5 MiB'), undefined);
    assert.equal(parseDrmSize('KiB'), undefined);
  });

  it('parses an i915 client: engine ns, capacity, regions', () => {
    const info = parseDrmFdinfo(I915);
    assert.ok(info);
    assert.equal(info.driver, 'i915');
    assert.equal(info.clientId, '11');
    assert.equal(info.pdev, '0000:00:02.0');
    assert.deepEqual(info.engines.get('render'), { busyNs: 2_000_000_000n });
    assert.deepEqual(info.engines.get('video'), { busyNs: 90_000_000_000n, capacity: 2 });
    assert.deepEqual(info.engines.get('video-enhance'), { busyNs: 30_000_000_000n });
    assert.equal(info.engines.has('capacity-video'), false);
    assert.deepEqual(info.regions.get('system0'), { total: 98304 * 1024, resident: 98304 * 1024 });
    assert.deepEqual(info.regions.get('stolen-system0'), { total: 0 });
  });

  it('parses an xe client: cycles and total cycles are engines, not memory regions', () => {
    const info = parseDrmFdinfo(XE);
    assert.ok(info);
    assert.equal(info.driver, 'xe');
    assert.equal(info.clientId, '3');
    assert.deepEqual(info.engines.get('rcs'), { cycles: 28_257_900n, totalCycles: 7_655_183_225n });
    assert.deepEqual(info.engines.get('ccs'), { cycles: 0n, totalCycles: 7_655_183_225n, capacity: 4 });
    assert.equal(info.engines.get('vcs')?.capacity, 2);
    assert.deepEqual([...info.regions.keys()].sort(), ['gtt', 'system', 'vram0']);
    assert.deepEqual(info.regions.get('vram0'), {
      total: 23992 * 1024,
      shared: 16 * 1024 * 1024,
      active: 0,
      resident: 23992 * 1024,
      purgeable: 0,
    });
  });

  it('keeps counters beyond 2^53 exact', () => {
    const info = parseDrmFdinfo('drm-driver:\ti915\ndrm-engine-render:\t18446744073709551615 ns\n');
    assert.equal(info?.engines.get('render')?.busyNs, 18446744073709551615n);
  });

  it('returns undefined for an fd that is not a DRM client', () => {
    assert.equal(parseDrmFdinfo('pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t5\n'), undefined);
    assert.equal(parseDrmFdinfo(''), undefined);
  });

  it('ignores garbage and malformed values instead of failing', () => {
    const info = parseDrmFdinfo(
      [
        'drm-driver:\txe',
        'drm-client-id:\tnot-a-number',
        'drm-engine-render:\tlots ns',
        'drm-cycles-rcs:\t12 ns',
        'drm-cycles-bcs:\t5',
        'drm-total-vram0:\t12 PiB',
        'drm-resident-vram0:\t1 MiB',
        'drm-bad key:\t1',
        'drm-engine-capacity-ccs:\t0',
        'no colon here',
        'drm-maxfreq-rcs:\t2400 MHz',
        'xe-private-key:\t42',
        'drm-cycles-vcs:',
      ].join('\n'),
    );
    assert.ok(info);
    assert.equal(info.clientId, undefined);
    assert.deepEqual([...info.engines.keys()], ['bcs']);
    assert.deepEqual(info.engines.get('bcs'), { cycles: 5n });
    assert.deepEqual(info.regions.get('vram0'), { resident: 1024 * 1024 });
  });

  it('reads the legacy drm-memory-<region> as resident memory', () => {
    const info = parseDrmFdinfo('drm-driver:\ti915\ndrm-memory-local0:\t2048 KiB\ndrm-memory-system0:\t4 KiB\ndrm-resident-system0:\t8 KiB\n');
    assert.equal(info?.regions.get('local0')?.resident, 2048 * 1024);
    assert.equal(info?.regions.get('system0')?.resident, 8 * 1024, 'the standard key wins');
  });

  it('maps xe engine classes to the names users see', () => {
    assert.equal(engineDisplayName('xe', 'rcs'), 'render');
    assert.equal(engineDisplayName('xe', 'bcs'), 'copy');
    assert.equal(engineDisplayName('xe', 'vcs'), 'video');
    assert.equal(engineDisplayName('xe', 'vecs'), 'video-enhance');
    assert.equal(engineDisplayName('xe', 'ccs'), 'compute');
    assert.equal(engineDisplayName('xe', 'other'), 'other');
    assert.equal(engineDisplayName('i915', 'video-enhance'), 'video-enhance');
  });

  it('knows which regions are VRAM', () => {
    for (const r of ['vram0', 'vram1', 'local0']) assert.equal(isVramRegion(r), true, r);
    for (const r of ['system', 'system0', 'gtt', 'stolen', 'stolen-local0', 'vram']) assert.equal(isVramRegion(r), false, r);
  });

  describe('agrees with the earlier regex-based parser', () => {
    // Whitespace of every kind `\s` and trim() know, and some they do not (U+0085, U+200B).
    const space = fc.constantFrom(' ', '\t', '\r', '\v', '\f', '\u00a0', '\u2028', '\u3000', '\ufeff', '\u0085', '\u200b');
    const spaces = fc.array(space, { maxLength: 3 }).map((a) => a.join(''));
    const name = fc.oneof(
      fc.constantFrom('', 'rcs', 'bcs', 'vcs', 'vecs', 'ccs', 'render', 'video-enhance', 'capacity-', 'cycles-', 'vram0', 'system0', 'stolen-system0', 'gtt', '-'),
      fc.string({ unit: fc.constantFrom('a', 'Z', '0', '-', ' ', ':', '\t', 'é'), maxLength: 6 }),
    );
    const key = fc.oneof(
      fc.constantFrom('drm-driver', 'drm-client-id', 'drm-pdev', 'drm-client-name', 'drm-engine-capacity-', 'drm-total-cycles-', 'drm-engine-', 'drm-cycles-', 'drm-memory-', 'drm-', 'drm', 'pos', 'flags'),
      fc.tuple(fc.constantFrom('drm-engine-capacity-', 'drm-engine-', 'drm-total-cycles-', 'drm-cycles-', 'drm-memory-', 'drm-total-', 'drm-shared-', 'drm-resident-', 'drm-active-', 'drm-purgeable-', 'drm-totals-', 'drm-maxfreq-'), name).map(([p, n]) => p + n),
    );
    const digits = fc.oneof(fc.constantFrom('0', '1', '2', '007', '18446744073709551615', '9007199254740993', '123456789012345', '1234567890123456'), fc.string({ unit: fc.constantFrom('0', '1', '9'), maxLength: 22 }));
    const unit = fc.constantFrom('', 'B', 'KiB', 'MiB', 'GiB', 'ns', 'kiB', 'KB', 'toString', 'constructor', 'n', 'nsx', '1e3', 'x');
    const value = fc.oneof(
      fc.tuple(spaces, digits, spaces, unit, spaces).map((p) => p.join('')),
      fc.constantFrom('xe', 'i915', '0000:03:00.0', '0000:0A:00.0', '2.0', '1e1', '0x10', '-1', ' ', '', 'Infinity'),
      fc.string({ maxLength: 8 }),
    );
    const line = fc.oneof(
      { weight: 8, arbitrary: fc.tuple(key, fc.constantFrom(':', ': ', ':\t', '::'), value).map(([k, sep, v]) => k + sep + v) },
      { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
    );
    const text = fc.tuple(fc.boolean(), fc.array(line, { maxLength: 30 }), fc.boolean()).map(([withDriver, lines, nl]) => (withDriver ? ['drm-driver:\txe', ...lines] : lines).join('\n') + (nl ? '\n' : ''));

    it('on generated fdinfo texts', () => {
      fc.assert(
        fc.property(text, (t) => {
          assert.deepStrictEqual(parseDrmFdinfo(t), referenceParseDrmFdinfo(t));
        }),
        { numRuns: 3000 },
      );
    });

    it('on the kernel examples with lines dropped, repeated or cut', () => {
      const lines = [...XE.split('\n'), ...I915.split('\n')];
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.nat(lines.length - 1), fc.nat(40)), { maxLength: 40 }), (picks) => {
          const t = picks.map(([i, cut]) => (cut > 35 ? lines[i].slice(0, cut - 30) : lines[i])).join('\n');
          assert.deepStrictEqual(parseDrmFdinfo(t), referenceParseDrmFdinfo(t));
        }),
      );
      assert.deepStrictEqual(parseDrmFdinfo(XE), referenceParseDrmFdinfo(XE));
      assert.deepStrictEqual(parseDrmFdinfo(I915), referenceParseDrmFdinfo(I915));
    });

    it('on sizes', () => {
      fc.assert(
        fc.property(fc.oneof(fc.tuple(spaces, digits, spaces, unit, spaces).map((p) => p.join('')), fc.string({ maxLength: 10 })), (v) => {
          assert.deepStrictEqual(parseDrmSize(v), referenceParseDrmSize(v));
        }),
        { numRuns: 2000 },
      );
      assert.equal(parseDrmSize('5 toString'), undefined, 'a unit is one of the known ones, not any property name');
    });
  });
});
