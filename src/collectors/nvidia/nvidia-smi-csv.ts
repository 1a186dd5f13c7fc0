/**
 * Pure parsing of `nvidia-smi --query-gpu=<NVIDIA_SMI_FIELDS> --format=csv,noheader,nounits`.
 *
 * One line per GPU, fields separated by ", ", no quoting. Values nvidia-smi cannot give are
 * printed in brackets ("[N/A]", "[Not Supported]", "[Unknown Error]", "[GPU requires reset]",
 * "[Insufficient Permissions]") and read as undefined, as does any other non-number. Lines that
 * are not GPU rows (warnings nvidia-smi prints on stdout, blank lines, truncated output) are
 * reported as skipped, never thrown.
 */

import { DECIMAL_RE } from '../../formats/prometheus/number';

/** The query fields, in the order the parser expects them. */
export const NVIDIA_SMI_FIELDS = [
  'index',
  'uuid',
  'name',
  'utilization.gpu',
  'utilization.memory',
  'memory.used',
  'memory.total',
  'temperature.gpu',
  'power.draw',
  'power.limit',
  'clocks.sm',
  'clocks.mem',
] as const;

/** The arguments that produce the CSV this module parses. */
export const NVIDIA_SMI_ARGS: readonly string[] = [`--query-gpu=${NVIDIA_SMI_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];

/** One GPU row, in nvidia-smi's own units (nounits): %, MiB, °C, W, MHz. */
export interface NvidiaGpuReading {
  index: number;
  uuid: string;
  name: string;
  utilizationGpuPercent?: number;
  utilizationMemoryPercent?: number;
  memoryUsedMiB?: number;
  memoryTotalMiB?: number;
  temperatureC?: number;
  powerDrawW?: number;
  powerLimitW?: number;
  clockSmMHz?: number;
  clockMemMHz?: number;
}

export interface NvidiaSmiParseResult {
  gpus: NvidiaGpuReading[];
  /** Non-empty lines that were not GPU rows: 1-based line number and why. */
  skipped: { line: number; reason: string }[];
}

/** A numeric field; undefined for "[N/A]"-style markers and anything else that is not a number. */
export function parseSmiNumber(field: string): number | undefined {
  const s = field.trim();
  if (!DECIMAL_RE.test(s)) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

const NUMERIC_FIELDS = NVIDIA_SMI_FIELDS.length - 3;

export function parseNvidiaSmiCsv(text: string): NvidiaSmiParseResult {
  const gpus: NvidiaGpuReading[] = [];
  const skipped: NvidiaSmiParseResult['skipped'] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '').trim();
    if (line === '') continue;
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length < NVIDIA_SMI_FIELDS.length) {
      skipped.push({ line: i + 1, reason: `expected ${NVIDIA_SMI_FIELDS.length} fields, got ${fields.length}` });
      continue;
    }
    // A product name with a comma in it spreads over several fields: the numeric fields are the
    // last ones, index and uuid the first two, the name everything in between.
    const index = fields[0];
    const uuid = fields[1];
    const name = fields.slice(2, fields.length - NUMERIC_FIELDS).join(', ');
    const nums = fields.slice(fields.length - NUMERIC_FIELDS).map(parseSmiNumber);
    if (!/^\d+$/.test(index)) {
      skipped.push({ line: i + 1, reason: `GPU index ${JSON.stringify(index)} is not a number` });
      continue;
    }
    if (uuid === '' || uuid.startsWith('[') || /\s/.test(uuid)) {
      skipped.push({ line: i + 1, reason: `GPU UUID ${JSON.stringify(uuid)} is not usable` });
      continue;
    }
    const [utilGpu, utilMem, memUsed, memTotal, temp, powerDraw, powerLimit, clockSm, clockMem] = nums;
    gpus.push({
      index: Number(index),
      uuid,
      name,
      utilizationGpuPercent: utilGpu,
      utilizationMemoryPercent: utilMem,
      memoryUsedMiB: memUsed,
      memoryTotalMiB: memTotal,
      temperatureC: temp,
      powerDrawW: powerDraw,
      powerLimitW: powerLimit,
      clockSmMHz: clockSm,
      clockMemMHz: clockMem,
    });
  }
  return { gpus, skipped };
}
