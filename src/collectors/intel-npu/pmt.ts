/**
 * Intel PMT (Platform Monitoring Technology) telemetry → NPU readings. Pure: no I/O, no clock.
 *
 * The kernel exposes each telemetry aggregator as `/sys/class/intel_pmt/telem<N>/` with a `guid`
 * naming its register layout and a binary `telem` file holding the raw register space. Every
 * register we read is a 64-bit little-endian word at a per-platform byte offset; a value is a bit
 * field of that word (bits msb..lsb, inclusive). The layouts below are the ones the reference's NPU
 * reader (itself taken from Intel's npu-monitor-tool) uses; see README.md beside this file.
 */

/** SoC generation whose register layout a PMT GUID announces. */
export type NpuPlatformId = 'MTL' | 'ARL' | 'LNL' | 'PTL';

export interface NpuPlatform {
  id: NpuPlatformId;
  /** Human name, for info labels and logs. */
  name: string;
  /** Byte offset of VPU_ENERGY: bits 63..0, U32.18.14 fixed point joules (cumulative). */
  energyOffset: number;
  /** Byte offset of SOC_TEMPERATURES: bits 47..40 are the NPU temperature in °C. */
  temperatureOffset: number;
  /** Byte offset of VPU_WORKPOINT: bits 7..0 frequency ratio, 15..8 voltage, 23..16 tile config. */
  workpointOffset: number;
  /**
   * Byte offsets of VPU_MEMORY_BW registers: bits 31..0 of each are a cumulative NoC memory
   * traffic counter in kB (10^3 bytes). Empty when the platform has none we know of.
   */
  memoryBwOffsets: readonly number[];
}

const MTL_LAYOUT = { energyOffset: 0x628, temperatureOffset: 0x98, workpointOffset: 0x68, memoryBwOffsets: [] as readonly number[] };

/**
 * Known GUIDs → platform. Arrow Lake's three GUIDs share Meteor Lake's layout.
 *
 * MTL/ARL list no memory-bandwidth register: the reference read offset 0x0 there, which is not a
 * bandwidth counter (Intel's tool has no such register for these parts), so we emit nothing.
 */
const PLATFORMS: ReadonlyMap<number, NpuPlatform> = new Map<number, NpuPlatform>([
  [0x130670b2, { id: 'MTL', name: 'Meteor Lake', ...MTL_LAYOUT }],
  [0x1306a0b3, { id: 'ARL', name: 'Arrow Lake', ...MTL_LAYOUT }],
  [0x1306a0b2, { id: 'ARL', name: 'Arrow Lake-H', ...MTL_LAYOUT }],
  [0x1306a0b4, { id: 'ARL', name: 'Arrow Lake-S', ...MTL_LAYOUT }],
  [0x3072005, { id: 'LNL', name: 'Lunar Lake', energyOffset: 0x5d0, temperatureOffset: 0x70, workpointOffset: 0x18, memoryBwOffsets: [0xc18] }],
  [0x3086000, { id: 'PTL', name: 'Panther Lake', energyOffset: 0x670, temperatureOffset: 0x78, workpointOffset: 0x18, memoryBwOffsets: [0xc18] }],
]);

/**
 * The platform a PMT `guid` attribute names, or undefined for a GUID we do not know. The
 * attribute is hex text (`0x3072005`); case, surrounding space and leading zeros do not matter.
 */
export function platformForGuid(guidText: string): NpuPlatform | undefined {
  const t = guidText.trim();
  if (!/^0x[0-9a-fA-F]{1,8}$/.test(t)) return undefined;
  return PLATFORMS.get(Number.parseInt(t.slice(2), 16));
}

/** Fraction bits of the energy register's U32.18.14 fixed point format. */
export const ENERGY_FRACTION_BITS = 14;
const ENERGY_SCALE = 2 ** ENERGY_FRACTION_BITS;

/** Joules of a raw energy register value (U32.18.14: integer part `v >> 14`, fraction `v & 0x3fff` / 16384). */
export function energyJoules(raw: bigint): number {
  const whole = raw >> BigInt(ENERGY_FRACTION_BITS);
  const frac = raw & BigInt(ENERGY_SCALE - 1);
  return Number(whole) + Number(frac) / ENERGY_SCALE;
}

const TWO_32 = 1n << 32n;
const TWO_64 = 1n << 64n;

/**
 * Raw increase of the energy register from `prev` to `cur`, or undefined when it cannot be known.
 *
 * The layout is U32.18.14, so the counter is expected to live in the low 32 bits and wrap at 2^32
 * raw units (2^18 J, about a day at 3 W), but the reference reads all 64 bits, so we do too:
 * - cur ≥ prev: the difference.
 * - cur < prev and both fit in 32 bits: a 32-bit wrap when the unwrapped increase is at most half
 *   the range (2^17 J); a bigger "wrap" is a reset.
 * - otherwise going backwards is a reset (a 64-bit wrap would take millennia): undefined.
 */
export function energyDelta(prev: bigint, cur: bigint): bigint | undefined {
  if (prev < 0n || cur < 0n || prev >= TWO_64 || cur >= TWO_64) return undefined;
  if (cur >= prev) return cur - prev;
  if (prev < TWO_32 && cur < TWO_32) {
    const d = cur + TWO_32 - prev;
    return d <= TWO_32 / 2n ? d : undefined;
  }
  return undefined;
}

/**
 * Bits msb..lsb (inclusive, 0 = least significant) of the 64-bit little-endian word at byte
 * `offset`, or undefined when the buffer does not hold all eight bytes.
 */
export function readBits(buf: Uint8Array, offset: number, msb: number, lsb: number): bigint | undefined {
  if (!Number.isInteger(offset) || offset < 0 || offset + 8 > buf.length) return undefined;
  if (!(lsb >= 0 && msb >= lsb && msb <= 63)) throw new RangeError(`bad bit range ${msb}..${lsb}`);
  let word = 0n;
  for (let i = 7; i >= 0; i--) word = (word << 8n) | BigInt(buf[offset + i]);
  const width = BigInt(msb - lsb + 1);
  return (word >> BigInt(lsb)) & ((1n << width) - 1n);
}

/**
 * The reference's frequency value for a raw work point ratio: Intel's tool computes
 * `2*raw/3/10` on MTL and `0.05*raw` elsewhere (it calls that "MHz"; it is twice the NPU clock in
 * GHz), then halves it and multiplies by 1000 ("display Hz"). The result is numerically the NPU
 * (DPU) clock in **MHz**: raw 42 on MTL → 1400, raw 78 on LNL → 1950, matching the driver's
 * `npu_current_frequency_mhz` (ratio × 50 MHz × 2/3 on MTL, ratio × 50 MHz / 2 on LNL).
 */
export function referenceFrequency(platform: NpuPlatform, raw: number): number {
  // (2*raw/3/10)*1000/2 = raw*100/3 and (0.05*raw)*1000/2 = raw*25, written so that no binary
  // fraction (0.05, 2.8) creeps in: raw 42 on MTL gives exactly 1400.
  return platform.id === 'MTL' ? (raw * 100) / 3 : raw * 25;
}

/** The NPU clock in Hz for a raw work point ratio: referenceFrequency() MHz × 10^6. */
export function workpointFrequencyHz(platform: NpuPlatform, raw: number): number {
  return platform.id === 'MTL' ? (raw * 1e8) / 3 : raw * 25e6;
}

/** Everything decoded from one telem snapshot. A field is undefined when the buffer is too short. */
export interface PmtReading {
  /** Raw VPU_ENERGY register (bits 63..0). */
  energyRaw?: bigint;
  /** The same in joules. */
  energyJoules?: number;
  /** VPU_WORKPOINT bits 7..0: the frequency ratio. */
  workpointRatio?: number;
  /** Reference-compatible `npu_frequency` value (numerically MHz; see referenceFrequency). */
  referenceFrequency?: number;
  /** NPU clock from the work point, in Hz. */
  workpointFrequencyHz?: number;
  /** VPU_WORKPOINT bits 15..8: voltage, raw (no public conversion; not emitted). */
  voltageRaw?: number;
  /** VPU_WORKPOINT bits 23..16: active tile configuration, raw. */
  tileConfig?: number;
  /** SOC_TEMPERATURES bits 47..40, °C. */
  temperatureCelsius?: number;
  /**
   * VPU_MEMORY_BW bits 31..0 for each of the platform's registers, in the platform's order; each a
   * cumulative 32-bit kB counter. Empty when the platform has none; undefined when the buffer is
   * too short for any of them.
   */
  memoryBwRaw?: number[];
}

/** Decodes one `telem` snapshot with the platform's layout. Never throws for short buffers. */
export function decodePmt(buf: Uint8Array, platform: NpuPlatform): PmtReading {
  const out: PmtReading = {};

  const energy = readBits(buf, platform.energyOffset, 63, 0);
  if (energy !== undefined) {
    out.energyRaw = energy;
    out.energyJoules = energyJoules(energy);
  }

  const ratio = readBits(buf, platform.workpointOffset, 7, 0);
  if (ratio !== undefined) {
    out.workpointRatio = Number(ratio);
    out.referenceFrequency = referenceFrequency(platform, out.workpointRatio);
    out.workpointFrequencyHz = workpointFrequencyHz(platform, out.workpointRatio);
    out.voltageRaw = Number(readBits(buf, platform.workpointOffset, 15, 8));
    out.tileConfig = Number(readBits(buf, platform.workpointOffset, 23, 16));
  }

  const temp = readBits(buf, platform.temperatureOffset, 47, 40);
  if (temp !== undefined) out.temperatureCelsius = Number(temp);

  const bw: number[] = [];
  let bwOk = true;
  for (const off of platform.memoryBwOffsets) {
    const v = readBits(buf, off, 31, 0);
    if (v === undefined) bwOk = false;
    else bw.push(Number(v));
  }
  if (bwOk) out.memoryBwRaw = bw;

  return out;
}

/** Bytes per unit of the VPU_MEMORY_BW counter: the reference divides it by 1e3 to get MB. */
export const MEMORY_BW_UNIT_BYTES = 1000;
