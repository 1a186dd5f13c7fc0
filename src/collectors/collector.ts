/**
 * What every built-in collector implements. A collector is a folder under src/collectors/ with
 * its code and a README (its config and the metrics it emits); its parsing is pure and tested on
 * fixture trees under test/fixtures/.
 */

import type { Origin, Sample } from '../model/sample';
import type { HostFs } from './host-fs';

/** Runs a command (nvidia-smi); injected so tests replay recorded output. */
export type CommandRunner = (cmd: string, args: string[], timeoutMs: number) => Promise<{ code: number | null; stdout: string; stderr: string }>;

export interface CollectorEnv {
  fs: HostFs;
  /** Wall clock, ms since the epoch: sample timestamps. */
  now: () => number;
  /** Monotonic clock, ms: rate denominators (immune to wall-clock steps). */
  monotonic: () => number;
  run: CommandRunner;
}

/**
 * One collection cycle's result. `samples` carry no `host` label (the scheduler adds it) and no
 * timestamp unless the source has its own. `present` says whether the hardware or data source this
 * collector covers exists on the node: false is reported once as a `_present` gauge and a health
 * entry, never as an error per cycle.
 */
export interface Collection {
  samples: Sample[];
  present: boolean;
  /** 'system' unless said otherwise (user scripts produce custom metrics, as in the reference). */
  origin?: Origin;
}

export interface Collector {
  /** Stable name: used in config (`COLLECTOR_<NAME>_ENABLED`), metrics and health. */
  readonly name: string;
  /** Default interval; the scheduler may be configured otherwise. */
  readonly defaultIntervalMs: number;
  /**
   * Reads once. Keeps whatever state rates need between calls (previous counters). Never called
   * again before the previous call settled. Throws only for unexpected failures (EACCES, a bug);
   * those are counted and shown in health by the scheduler.
   */
  collect(): Promise<Collection>;
  /**
   * What the last cycle found, for GET /api/v1/capabilities: the devices it reads and, when it
   * found none, why. Optional: collectors of node-wide sources (cpu, mem) have nothing to add.
   * Returns a copy the caller owns; never reads the host (it reports the last cycle's view).
   */
  describe?(): CollectorFindings;
  /**
   * Cancels work in progress (child processes, open streams) at agent shutdown. The scheduler
   * calls it once, before it waits for a running collect() to settle. Optional.
   */
  stop?(): void | Promise<void>;
  /** Collector-specific health detail (a copy the caller owns), shown under its name in health. Optional. */
  details?(): unknown;
}

/** Why a collector has nothing to read, in the words of GET /api/v1/capabilities. */
export type AbsentReason = 'no_device' | 'no_driver' | 'not_installed' | 'no_permission';

/** One device a collector reads. Keys are the JSON keys of the capabilities answer. */
export interface DeviceInfo {
  kind: 'intel_gpu' | 'intel_npu' | 'nvidia_gpu';
  /** The label value that identifies it in its series (gpu_id, pci_slot or gpu index). */
  id: string;
  [detail: string]: string | number | boolean | null;
}

export interface CollectorFindings {
  devices: DeviceInfo[];
  /** Set when the collector found nothing to read. */
  absentReason?: AbsentReason;
  /** Human detail: what was looked for, or what is partly missing (e.g. NPU telemetry unreadable). */
  detail?: string;
}
