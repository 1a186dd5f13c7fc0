/**
 * Sizing V8's heap from the container's memory limit. Node picks its old-space limit from the
 * machine's memory, not the cgroup's (about half of 512 MiB inside a 512 MiB container, a few GiB
 * on a big node whatever the pod's limit), so the agent would die of "heap out of memory" long
 * before the pod limit or run past the limit into the OOM killer. The old space can only be set
 * when V8 starts, so the image's entry script (bin/metrics-manager) asks `heap-flags.ts` for the
 * flags first (old space and semi-space) and then execs Node with them: one process in the
 * container, whatever the Node version.
 *
 * Pure: the caller hands in the limit, argv and NODE_OPTIONS.
 */

const MiB = 1024 * 1024;

/** Share of the limit given to V8's old space, after a fixed part for code, Buffers and the young generation. */
export const OLD_SPACE_SHARE = 0.7;
export const FIXED_HEADROOM_MIB = 32;
export const MIN_OLD_SPACE_MIB = 32;
export const MIN_SEMI_SPACE_MIB = 1;
export const MAX_SEMI_SPACE_MIB = 16;

/** Set in the restarted process's environment: how its heap was sized (also guards against a loop). */
export const HEAP_SIZED_ENV = 'METRICS_MANAGER_HEAP_SIZED';

/** Old-space size in MiB for a memory limit: 70 % of it minus 32 MiB (256 MiB → 147, 512 MiB → 326). */
export function oldSpaceMiB(limitBytes: number): number {
  return Math.max(MIN_OLD_SPACE_MIB, Math.floor((limitBytes / MiB) * OLD_SPACE_SHARE - FIXED_HEADROOM_MIB));
}

/**
 * Largest semi-space in MiB for a memory limit: 1/256 of it, 1 to 16 MiB (256 MiB → 1, 512 MiB → 2,
 * 1 GiB → 4). V8 grows its young generation to three semi-spaces of 16 MiB under a steady stream
 * of pushes whatever the old space's size, 48 MiB that stay resident: a fifth of a 256 MiB
 * container. With the old space bounded as well (it always is here), a small young generation
 * costs no measurable CPU and lowers RSS (bench/RESULTS.md, issue 9); without that bound it does
 * the opposite (short-lived samples promoted into an old space that grows freely), so the two
 * are only ever set together.
 */
export function semiSpaceMiB(limitBytes: number): number {
  return Math.min(MAX_SEMI_SPACE_MIB, Math.max(MIN_SEMI_SPACE_MIB, Math.floor(limitBytes / MiB / 256)));
}

/** Whether the heap size was chosen by whoever started us (node flags or NODE_OPTIONS). */
export function heapSizeGiven(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const given = (a: string) => /^--max[-_]old[-_]space[-_]size(=|$)/.test(a);
  return execArgv.some(given) || (nodeOptions ?? '').split(/\s+/).some(given);
}

export interface HeapRestart {
  /** Node arguments for the restarted process (before the script). */
  nodeArgs: string[];
  /** Value of HEAP_SIZED_ENV in the restarted process. */
  note: string;
}

/**
 * The restart that sizes the heap, or undefined when none is due: a size was given, the process
 * is already the restarted one, or no limit is known.
 */
export function heapRestart(input: {
  execArgv: readonly string[];
  nodeOptions?: string;
  alreadySized?: string;
  limitBytes?: number;
  limitSource: string;
}): HeapRestart | undefined {
  if (input.alreadySized !== undefined || input.limitBytes === undefined) return undefined;
  if (heapSizeGiven(input.execArgv, input.nodeOptions)) return undefined;
  const mib = oldSpaceMiB(input.limitBytes);
  const semi = semiSpaceMiB(input.limitBytes);
  return {
    nodeArgs: [...input.execArgv, `--max-old-space-size=${mib}`, `--max-semi-space-size=${semi}`],
    note: `--max-old-space-size=${mib} --max-semi-space-size=${semi} from a memory limit of ${Math.round(input.limitBytes / MiB)} MiB (${input.limitSource})`,
  };
}

/** How the heap was sized, for the start log and /api/v1/config. */
export function heapSizing(execArgv: readonly string[], nodeOptions: string | undefined, sizedNote: string | undefined): string {
  if (sizedNote !== undefined) return sizedNote;
  if (heapSizeGiven(execArgv, nodeOptions)) return 'given by --max-old-space-size (node flags or NODE_OPTIONS)';
  return 'Node default (no memory limit found)';
}
