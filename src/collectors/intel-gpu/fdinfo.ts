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

const MEMORY_KINDS = ['total', 'shared', 'resident', 'active', 'purgeable'] as const;
type MemoryKind = (typeof MEMORY_KINDS)[number];

const SIZE_UNITS: Record<string, number> = { '': 1, B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/**
 * A memory value with its optional unit (`16 MiB`, `23992 KiB`, `0`) in bytes; undefined when it
 * is not a non-negative integer with a known unit.
 */
export function parseDrmSize(value: string): number | undefined {
  if (value === '0') return 0; // most regions of most clients
  const m = /^(\d+)\s*([A-Za-z]*)$/.exec(value.trim());
  if (!m) return undefined;
  const mult = SIZE_UNITS[m[2]];
  if (mult === undefined) return undefined;
  return Number(m[1]) * mult;
}

const WHITESPACE = /\s/;
const DIGITS = /^\d+$/;

/** An unsigned counter, optionally followed by `ns` (engine time); undefined otherwise. */
function parseCounter(value: string, allowNs: boolean): bigint | undefined {
  if (DIGITS.test(value)) return BigInt(value); // the common case, without a capture
  const m = /^(\d+)(?:\s*(ns))?$/.exec(value.trim());
  if (!m || (m[2] !== undefined && !allowNs)) return undefined;
  return BigInt(m[1]);
}

function engine(map: Map<string, DrmEngineStats>, cls: string): DrmEngineStats {
  let e = map.get(cls);
  if (!e) map.set(cls, (e = {}));
  return e;
}

/**
 * Parses one fdinfo file. Returns undefined when the file is not a DRM client's (no
 * `drm-driver` line): most fds of a process are not GPU nodes.
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
  const legacy = new Map<string, number>();

  // Walks the lines by index: no array of lines, no string for the non-`drm-` ones.
  for (let start = 0, end = 0; start < text.length; start = end + 1) {
    end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (!text.startsWith('drm-', start)) continue;
    const colon = text.indexOf(':', start);
    if (colon < 0 || colon > end) continue;
    const key = text.slice(start, colon);
    if (WHITESPACE.test(key)) continue;
    const value = text.slice(colon + 1, end).trim();
    if (value === '') continue;

    switch (key) {
      case 'drm-driver':
        driver = value;
        continue;
      case 'drm-client-id':
        if (/^\d+$/.test(value)) clientId = value;
        continue;
      case 'drm-pdev':
        pdev = value.toLowerCase();
        continue;
      case 'drm-client-name':
        clientName = value;
        continue;
    }

    // Prefix tests, not a regex per key: a node scan parses a few hundred of these per second.
    // Order matters: `drm-engine-capacity-x` is not engine `capacity-x`, and
    // `drm-total-cycles-x` is not the memory region `cycles-x`.
    if (key.startsWith('drm-engine-capacity-') && key.length > 20) {
      const n = Number(value);
      if (Number.isInteger(n) && n > 0) engine(engines, key.slice(20)).capacity = n;
    } else if (key.startsWith('drm-engine-') && key.length > 11) {
      const v = parseCounter(value, true);
      if (v !== undefined) engine(engines, key.slice(11)).busyNs = v;
    } else if (key.startsWith('drm-total-cycles-') && key.length > 17) {
      const v = parseCounter(value, false);
      if (v !== undefined) engine(engines, key.slice(17)).totalCycles = v;
    } else if (key.startsWith('drm-cycles-') && key.length > 11) {
      const v = parseCounter(value, false);
      if (v !== undefined) engine(engines, key.slice(11)).cycles = v;
    } else if (key.startsWith('drm-memory-')) {
      const v = parseDrmSize(value);
      if (v !== undefined && key.length > 11) legacy.set(key.slice(11), v);
    } else {
      const dash = key.indexOf('-', 4);
      const kind = dash < 0 ? '' : key.slice(4, dash);
      if (dash < 0 || dash === key.length - 1 || !(MEMORY_KINDS as readonly string[]).includes(kind)) continue;
      const v = parseDrmSize(value);
      if (v === undefined) continue;
      const region = key.slice(dash + 1);
      let r = regions.get(region);
      if (!r) regions.set(region, (r = {}));
      r[kind as MemoryKind] = v;
    }
    // drm-maxfreq-*, drm-curfreq-*, anything newer: not used.
  }

  if (driver === undefined) return undefined;
  for (const [region, v] of legacy) {
    let r = regions.get(region);
    if (!r) regions.set(region, (r = {}));
    if (r.resident === undefined) r.resident = v;
  }
  return { driver, clientId, pdev, clientName, engines, regions };
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
  return /^(?:vram|local)\d+$/.test(region);
}
