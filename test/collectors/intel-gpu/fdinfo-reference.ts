/**
 * The fdinfo parser as it was before the character-walking one in src/collectors/intel-gpu/fdinfo.ts:
 * line slices, regular expressions, a string per key and value. Kept only as the oracle of the
 * property test in fdinfo.test.ts, which holds the fast parser to the same results. One change from
 * the shipped version: a unit is looked up as an own property (it read `5 toString` as NaN bytes).
 */

import type { DrmEngineStats, DrmFdinfo, DrmRegionStats } from '../../../src/collectors/intel-gpu/fdinfo';

const MEMORY_KINDS = ['total', 'shared', 'resident', 'active', 'purgeable'] as const;
type MemoryKind = (typeof MEMORY_KINDS)[number];

const SIZE_UNITS: Record<string, number> = { '': 1, B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

export function referenceParseDrmSize(value: string): number | undefined {
  if (value === '0') return 0;
  const m = /^(\d+)\s*([A-Za-z]*)$/.exec(value.trim());
  if (!m || !Object.hasOwn(SIZE_UNITS, m[2])) return undefined;
  return Number(m[1]) * SIZE_UNITS[m[2]];
}

function parseCounter(value: string, allowNs: boolean): bigint | undefined {
  if (/^\d+$/.test(value)) return BigInt(value);
  const m = /^(\d+)(?:\s*(ns))?$/.exec(value.trim());
  if (!m || (m[2] !== undefined && !allowNs)) return undefined;
  return BigInt(m[1]);
}

function engine(map: Map<string, DrmEngineStats>, cls: string): DrmEngineStats {
  let e = map.get(cls);
  if (!e) map.set(cls, (e = {}));
  return e;
}

export function referenceParseDrmFdinfo(text: string): DrmFdinfo | undefined {
  let driver: string | undefined;
  let clientId: string | undefined;
  let pdev: string | undefined;
  let clientName: string | undefined;
  const engines = new Map<string, DrmEngineStats>();
  const regions = new Map<string, DrmRegionStats>();
  const legacy = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('drm-')) continue;
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    if (/\s/.test(key)) continue;
    const value = line.slice(colon + 1).trim();
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
      const v = referenceParseDrmSize(value);
      if (v !== undefined && key.length > 11) legacy.set(key.slice(11), v);
    } else {
      const dash = key.indexOf('-', 4);
      const kind = dash < 0 ? '' : key.slice(4, dash);
      if (dash < 0 || dash === key.length - 1 || !(MEMORY_KINDS as readonly string[]).includes(kind)) continue;
      const v = referenceParseDrmSize(value);
      if (v === undefined) continue;
      const region = key.slice(dash + 1);
      let r = regions.get(region);
      if (!r) regions.set(region, (r = {}));
      r[kind as MemoryKind] = v;
    }
  }
  if (driver === undefined) return undefined;
  for (const [region, v] of legacy) {
    let r = regions.get(region);
    if (!r) regions.set(region, (r = {}));
    if (r.resident === undefined) r.resident = v;
  }
  return { driver, clientId, pdev, clientName, engines, regions };
}
