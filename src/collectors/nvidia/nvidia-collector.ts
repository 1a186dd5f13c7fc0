/**
 * NVIDIA collector: runs `nvidia-smi --query-gpu=… --format=csv,noheader,nounits` through the
 * injected command runner and turns the CSV into per-GPU series in Prometheus base units.
 *
 * Absent is normal: on a node without nvidia-smi (ENOENT, exit 127), without the driver (exit 9),
 * without NVML (exit 12) or without GPUs (exit 6, "No devices were found") the collector reports
 * present=false and does not run the command again for `absentRetryMs` (60 s) — no process spawn
 * per second on the many nodes that have no NVIDIA GPU. Any other failure (timeout, a GPU fallen
 * off the bus, exit 15) is thrown, so the scheduler counts it and shows it in health.
 */

import type { Labels, MetricType, Sample } from '../../model/sample';
import type { AbsentReason, Collection, Collector, CollectorEnv, CollectorFindings, DeviceInfo } from '../collector';
import { NVIDIA_SMI_ARGS, parseNvidiaSmiCsv, type NvidiaGpuReading } from './nvidia-smi-csv';

export interface NvidiaCollectorOptions {
  /** Path or name (looked up in PATH) of nvidia-smi. */
  smiPath: string;
  /** Kill nvidia-smi after this long (ms). Default 5000. */
  timeoutMs?: number;
  /** After finding no NVIDIA stack, try again after this long (ms). Default 60 000. */
  absentRetryMs?: number;
}

/** Exit codes that mean "no NVIDIA GPU here" rather than "something broke". */
const ABSENT_EXIT_CODES = new Set([6, 9, 12, 127]);

interface MetricDef {
  type: MetricType;
  unit?: string;
  help: string;
}

export const NVIDIA_METRICS = {
  nvidia_gpu_utilization_ratio: { type: 'gauge', unit: 'ratio', help: 'Share of the last sample period during which a kernel was running on the GPU (utilization.gpu).' },
  nvidia_gpu_memory_utilization_ratio: { type: 'gauge', unit: 'ratio', help: 'Share of the last sample period during which device memory was read or written (utilization.memory).' },
  nvidia_gpu_memory_used_bytes: { type: 'gauge', unit: 'bytes', help: 'Device memory in use (memory.used).' },
  nvidia_gpu_memory_total_bytes: { type: 'gauge', unit: 'bytes', help: 'Device memory size (memory.total).' },
  nvidia_gpu_temperature_celsius: { type: 'gauge', unit: 'celsius', help: 'Core GPU temperature (temperature.gpu).' },
  nvidia_gpu_power_watts: { type: 'gauge', unit: 'watts', help: 'Power draw of the board (power.draw).' },
  nvidia_gpu_power_limit_watts: { type: 'gauge', unit: 'watts', help: 'Software power limit (power.limit).' },
  nvidia_gpu_clock_hertz: { type: 'gauge', unit: 'hertz', help: 'Current clock by domain: sm (streaming multiprocessor), mem (memory).' },
} as const satisfies Record<string, MetricDef>;

type NvidiaMetric = keyof typeof NVIDIA_METRICS;

const MIB = 1024 * 1024;

export class NvidiaCollector implements Collector {
  readonly name = 'nvidia';
  readonly defaultIntervalMs = 1000;

  private readonly smiPath: string;
  private readonly timeoutMs: number;
  private readonly absentRetryMs: number;
  /** Monotonic time before which the command is not run again (after it was found absent). */
  private retryAtMs = -Infinity;
  /** What the last run found (capabilities). */
  private findings: CollectorFindings = { devices: [] };

  constructor(
    private readonly env: CollectorEnv,
    opts: NvidiaCollectorOptions,
  ) {
    if (typeof opts?.smiPath !== 'string' || opts.smiPath === '') throw new TypeError('smiPath must be a non-empty string');
    this.smiPath = opts.smiPath;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.absentRetryMs = opts.absentRetryMs ?? 60_000;
    if (!(this.timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${this.timeoutMs}`);
    if (!(this.absentRetryMs >= 0)) throw new RangeError(`absentRetryMs must be >= 0, got ${this.absentRetryMs}`);
  }

  async collect(): Promise<Collection> {
    if (this.env.monotonic() < this.retryAtMs) return { samples: [], present: false };

    let res: Awaited<ReturnType<CollectorEnv['run']>>;
    try {
      res = await this.env.run(this.smiPath, [...NVIDIA_SMI_ARGS], this.timeoutMs);
    } catch (e) {
      if ((e as NodeJS.ErrnoException)?.code === 'ENOENT') return this.absent('not_installed', `${this.smiPath} not found`);
      throw e;
    }
    if (res.code !== null && ABSENT_EXIT_CODES.has(res.code)) {
      const why = firstLine(res.stderr) || firstLine(res.stdout);
      const reason: AbsentReason = res.code === 127 ? 'not_installed' : res.code === 6 ? 'no_device' : 'no_driver';
      return this.absent(reason, `${this.smiPath} exited with code ${res.code}${why ? `: ${why}` : ''}`);
    }
    if (res.code !== 0) {
      const why = firstLine(res.stderr) || firstLine(res.stdout);
      throw new Error(res.code === null ? `${this.smiPath} was killed (timeout ${this.timeoutMs} ms?)` : `${this.smiPath} exited with code ${res.code}${why ? `: ${why}` : ''}`);
    }

    const { gpus } = parseNvidiaSmiCsv(res.stdout);
    if (gpus.length === 0) return this.absent('no_device', `${this.smiPath} listed no GPU`);
    this.retryAtMs = -Infinity;
    this.findings = { devices: gpus.map((g): DeviceInfo => ({ kind: 'nvidia_gpu', id: String(g.index), uuid: g.uuid, model: g.name })) };
    const samples: Sample[] = [];
    for (const gpu of gpus) toSamples(gpu, samples);
    return { samples, present: true };
  }

  describe(): CollectorFindings {
    return { ...this.findings, devices: this.findings.devices.map((d) => ({ ...d })) };
  }

  private absent(reason: AbsentReason, detail: string): Collection {
    this.findings = { devices: [], absentReason: reason, detail };
    this.retryAtMs = this.env.monotonic() + this.absentRetryMs;
    return { samples: [], present: false };
  }
}

/** The series of one GPU row, in base units; fields nvidia-smi could not give are left out. */
export function toSamples(gpu: NvidiaGpuReading, out: Sample[] = []): Sample[] {
  const labels: Labels = { gpu: String(gpu.index), uuid: gpu.uuid, model: gpu.name };
  const add = (name: NvidiaMetric, value: number | undefined, l: Labels = labels) => {
    if (value === undefined) return;
    const def: MetricDef = NVIDIA_METRICS[name];
    out.push({ name, labels: l, value, type: def.type, help: def.help, unit: def.unit });
  };
  add('nvidia_gpu_utilization_ratio', percentToRatio(gpu.utilizationGpuPercent));
  add('nvidia_gpu_memory_utilization_ratio', percentToRatio(gpu.utilizationMemoryPercent));
  add('nvidia_gpu_memory_used_bytes', scale(gpu.memoryUsedMiB, MIB));
  add('nvidia_gpu_memory_total_bytes', scale(gpu.memoryTotalMiB, MIB));
  add('nvidia_gpu_temperature_celsius', gpu.temperatureC);
  add('nvidia_gpu_power_watts', gpu.powerDrawW);
  add('nvidia_gpu_power_limit_watts', gpu.powerLimitW);
  add('nvidia_gpu_clock_hertz', scale(gpu.clockSmMHz, 1e6), { ...labels, clock: 'sm' });
  add('nvidia_gpu_clock_hertz', scale(gpu.clockMemMHz, 1e6), { ...labels, clock: 'mem' });
  return out;
}

function scale(v: number | undefined, by: number): number | undefined {
  return v === undefined ? undefined : v * by;
}

function percentToRatio(v: number | undefined): number | undefined {
  return v === undefined ? undefined : v / 100;
}

function firstLine(s: string): string {
  return s.trim().split('\n', 1)[0]?.trim().slice(0, 200) ?? '';
}
