/**
 * Pure parsing of DRM client usage stats: the `drm-*` lines a DRM driver adds to
 * /proc/<pid>/fdinfo/<fd> for an open GPU device node (Documentation/gpu/drm-usage-stats.rst,
 * Documentation/gpu/xe/xe-drm-usage-stats.rst). No I/O here; `drm-clients.ts` does the reading.
 *
 * The format: one `key:<whitespace>value` pair per line, every standard key starts with `drm-`,
 * numbers may carry a unit (`ns` for engine time, `KiB`/`MiB` for memory). Lines that are not
 * `drm-*` (pos, flags, mnt_id, ino, driver-private keys) are ignored, as are malformed values:
 * a monitoring read must never fail because a driver printed something new.
 */

/** Per engine class, as printed by the driver (i915 names it `render`, xe `rcs`). */
export interface DrmEngineStats {
  /** `drm-engine-<class>`: busy time in ns (i915). Cumulative. */
  busyNs?: bigint;
  /** `drm-cycles-<class>`: busy GPU cycles (xe). Cumulative. */
  cycles?: bigint;
  /** `drm-total-cycles-<class>`: GPU timestamp in the same unit as `cycles` (xe). */
  totalCycles?: bigint;
  /** `drm-engine-capacity-<class>`: identical engines behind this class; absent means 1. */
  capacity?: number;
}

/** Per memory region (i915 `system0`, `local0`, `stolen-system0`; xe `system`, `gtt`, `vram0`, `stolen`). Bytes. */
export interface DrmRegionStats {
  total?: number;
  shared?: number;
  resident?: number;
  active?: number;
  purgeable?: number;
}

export interface DrmFdinfo {
  /** `drm-driver`, e.g. `i915`, `xe`. */
  driver: string;
  /** `drm-client-id`: one per open DRM file; the same id in several fds/processes is one client. */
  clientId?: string;
  /** `drm-pdev`: PCI slot of the device, e.g. `0000:03:00.0`. */
  pdev?: string;
  /** `drm-client-name`, when userspace set one. */
  clientName?: string;
  engines: Map<string, DrmEngineStats>;
  regions: Map<string, DrmRegionStats>;
}

type MemoryKind = 'total' | 'shared' | 'resident' | 'active' | 'purgeable';

/**
 * A memory value with its optional unit (`16 MiB`, `23992 KiB`, `0`) in bytes; undefined when it
 * is not a non-negative integer with a known unit (none, `B`, `KiB`, `MiB`, `GiB`).
 */
export function parseDrmSize(value: string): number | undefined {
  const v = value.trim();
  return v === '' ? undefined : sizeAt(v, 0, v.length);
}

/**
 * Parses one fdinfo file. Returns undefined when the file is not a DRM client's (no
 * `drm-driver` line): most fds of a process are not GPU nodes.
 *
 * A node scan parses a few hundred of these every second, so this walks the text by character
 * code: no array of lines, no string per key or value except the few kept (driver, ids, engine
 * class and region names), numbers of up to 15 digits summed digit by digit. What it accepts is
 * exactly what the rules below say (the property test in fdinfo.test.ts holds it to the earlier,
 * regex-based form): a `drm-` key without whitespace, `:`, a value trimmed of JavaScript
 * whitespace; unknown keys and malformed values are skipped.
 */
export function parseDrmFdinfo(text: string): DrmFdinfo | undefined {
  let driver: string | undefined;
  let clientId: string | undefined;
  let pdev: string | undefined;
  let clientName: string | undefined;
  const engines = new Map<string, DrmEngineStats>();
  const regions = new Map<string, DrmRegionStats>();
  // Legacy `drm-memory-<region>` (resident, per the spec's older text) is used only when the
  // driver printed no `drm-resident-<region>`.
  let legacy: Map<string, number> | undefined;

  const len = text.length;
  for (let start = 0, end = 0; start < len; start = end + 1) {
    end = text.indexOf('\n', start);
    if (end < 0) end = len;
    // `drm-`: d r m -
    if (text.charCodeAt(start) !== 100 || text.charCodeAt(start + 1) !== 114 || text.charCodeAt(start + 2) !== 109 || text.charCodeAt(start + 3) !== 45) continue;
    const colon = text.indexOf(':', start + 4);
    if (colon < 0 || colon > end) continue;
    let spaced = false;
    for (let i = start + 4; i < colon; i++) {
      if (isSpace(text.charCodeAt(i))) {
        spaced = true;
        break;
      }
    }
    if (spaced) continue;
    let vs = colon + 1;
    let ve = end;
    while (vs < ve && isSpace(text.charCodeAt(vs))) vs++;
    while (ve > vs && isSpace(text.charCodeAt(ve - 1))) ve--;
    if (vs === ve) continue;
    const keyLen = colon - start;

    switch (keyLen) {
      case 10:
        if (text.startsWith('drm-driver', start)) {
          driver = text.slice(vs, ve);
          continue;
        }
        break;
      case 13:
        if (text.startsWith('drm-client-id', start)) {
          if (digitsEnd(text, vs, ve) === ve) clientId = text.slice(vs, ve);
          continue;
        }
        break;
      case 8:
        if (text.startsWith('drm-pdev', start)) {
          pdev = text.slice(vs, ve).toLowerCase();
          continue;
        }
        break;
      case 15:
        if (text.startsWith('drm-client-name', start)) {
          clientName = text.slice(vs, ve);
          continue;
        }
        break;
    }

    // Order matters: `drm-engine-capacity-x` is not engine `capacity-x`, and
    // `drm-total-cycles-x` is not the memory region `cycles-x`. The letter after `drm-` rules out
    // most prefixes without comparing them.
    const c4 = text.charCodeAt(start + 4);
    if (c4 === 101 && keyLen > 20 && text.startsWith('drm-engine-capacity-', start)) {
      const d = digitsEnd(text, vs, ve);
      const n = d === ve && ve - vs <= 15 ? digitsValue(text, vs, ve) : Number(text.slice(vs, ve));
      if (Number.isInteger(n) && n > 0) engine(engines, text.slice(start + 20, colon)).capacity = n;
    } else if (c4 === 101 && keyLen > 11 && text.startsWith('drm-engine-', start)) {
      const v = counterAt(text, vs, ve, true);
      if (v !== undefined) engine(engines, text.slice(start + 11, colon)).busyNs = v;
    } else if (c4 === 116 && keyLen > 17 && text.startsWith('drm-total-cycles-', start)) {
      const v = counterAt(text, vs, ve, false);
      if (v !== undefined) engine(engines, text.slice(start + 17, colon)).totalCycles = v;
    } else if (c4 === 99 && keyLen > 11 && text.startsWith('drm-cycles-', start)) {
      const v = counterAt(text, vs, ve, false);
      if (v !== undefined) engine(engines, text.slice(start + 11, colon)).cycles = v;
    } else if (c4 === 109 && text.startsWith('drm-memory-', start)) {
      const v = sizeAt(text, vs, ve);
      if (v !== undefined && keyLen > 11) (legacy ??= new Map()).set(text.slice(start + 11, colon), v);
    } else {
      const dash = text.indexOf('-', start + 4);
      if (dash < 0 || dash >= colon - 1) continue;
      const kind = memoryKindAt(text, start + 4, dash);
      if (kind === undefined) continue;
      const v = sizeAt(text, vs, ve);
      if (v === undefined) continue;
      const region = text.slice(dash + 1, colon);
      let r = regions.get(region);
      if (!r) regions.set(region, (r = {}));
      r[kind] = v;
    }
    // drm-maxfreq-*, drm-curfreq-*, anything newer: not used.
  }

  if (driver === undefined) return undefined;
  if (legacy) {
    for (const [region, v] of legacy) {
      let r = regions.get(region);
      if (!r) regions.set(region, (r = {}));
      if (r.resident === undefined) r.resident = v;
    }
  }
  return { driver, clientId, pdev, clientName, engines, regions };
}

/** What `\s` and String.prototype.trim treat as whitespace (ECMAScript WhiteSpace and LineTerminator). */
function isSpace(c: number): boolean {
  if (c > 32 && c < 127) return false; // printable ASCII: the common case
  return (
    c === 32 ||
    (c >= 9 && c <= 13) ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** The first index in [from, to) that is not an ASCII digit (`to` when all are). */
function digitsEnd(text: string, from: number, to: number): number {
  let i = from;
  while (i < to) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    i++;
  }
  return i;
}

/** The decimal value of the digits in [from, to): exact for up to 15 digits. */
function digitsValue(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + (text.charCodeAt(i) - 48);
  return n;
}

/** An unsigned counter in [from, to) (trimmed), optionally followed by `ns` (engine time); undefined otherwise. */
function counterAt(text: string, from: number, to: number, allowNs: boolean): bigint | undefined {
  const d = digitsEnd(text, from, to);
  if (d === from) return undefined;
  if (d !== to) {
    if (!allowNs) return undefined;
    let u = d;
    while (u < to && isSpace(text.charCodeAt(u))) u++;
    if (to - u !== 2 || text.charCodeAt(u) !== 110 || text.charCodeAt(u + 1) !== 115) return undefined;
  }
  // A number of up to 15 digits is exact, and BigInt of a number is cheaper than of a string.
  return d - from <= 15 ? BigInt(digitsValue(text, from, d)) : BigInt(text.slice(from, d));
}

/** A memory value in [from, to) (trimmed), with its optional unit, in bytes; see parseDrmSize. */
function sizeAt(text: string, from: number, to: number): number | undefined {
  const d = digitsEnd(text, from, to);
  if (d === from) return undefined;
  let u = d;
  while (u < to && isSpace(text.charCodeAt(u))) u++;
  let mult: number;
  switch (to - u) {
    case 0:
      mult = 1;
      break;
    case 1:
      if (text.charCodeAt(u) !== 66) return undefined; // B
      mult = 1;
      break;
    case 3:
      if (text.charCodeAt(u + 1) !== 105 || text.charCodeAt(u + 2) !== 66) return undefined; // ?iB
      switch (text.charCodeAt(u)) {
        case 75: // K
          mult = 1024;
          break;
        case 77: // M
          mult = 1024 ** 2;
          break;
        case 71: // G
          mult = 1024 ** 3;
          break;
        default:
          return undefined;
      }
      break;
    default:
      return undefined;
  }
  return (d - from <= 15 ? digitsValue(text, from, d) : Number(text.slice(from, d))) * mult;
}

/** The memory kind spelled in [from, to), if it is one. */
function memoryKindAt(text: string, from: number, to: number): MemoryKind | undefined {
  switch (to - from) {
    case 5:
      return text.startsWith('total', from) ? 'total' : undefined;
    case 6:
      return text.startsWith('shared', from) ? 'shared' : text.startsWith('active', from) ? 'active' : undefined;
    case 8:
      return text.startsWith('resident', from) ? 'resident' : undefined;
    case 9:
      return text.startsWith('purgeable', from) ? 'purgeable' : undefined;
    default:
      return undefined;
  }
}

function engine(map: Map<string, DrmEngineStats>, cls: string): DrmEngineStats {
  let e = map.get(cls);
  if (!e) map.set(cls, (e = {}));
  return e;
}

/** xe's engine class keys → the i915 uabi names the reference (and intel_gpu_top) show. */
const XE_CLASS_NAMES: Record<string, string> = {
  rcs: 'render',
  bcs: 'copy',
  vcs: 'video',
  vecs: 'video-enhance',
  ccs: 'compute',
};

/**
 * The engine name users see: i915 already prints `render`, `copy`, `video`, `video-enhance`,
 * `compute`; xe's `rcs`, `bcs`, `vcs`, `vecs`, `ccs` are mapped onto those. Anything else (xe's
 * `other`, a future class) keeps the driver's name.
 */
export function engineDisplayName(driver: string, cls: string): string {
  return driver === 'xe' ? (XE_CLASS_NAMES[cls] ?? cls) : cls;
}

/** Regions that are device-local memory (VRAM): xe `vram<N>`, i915 `local<N>`. */
export function isVramRegion(region: string): boolean {
  let v = vramRegions.get(region);
  if (v === undefined) {
    v = /^(?:vram|local)\d+$/.test(region);
    if (vramRegions.size < 256) vramRegions.set(region, v); // a handful of names per driver; bounded anyway
  }
  return v;
}

const vramRegions = new Map<string, boolean>();
