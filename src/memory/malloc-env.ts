/**
 * glibc malloc settings the entry script (bin/metrics-manager, through heap-flags.js) starts Node
 * with, each unless already set. glibc gives threads arenas of their own (up to 8 per core); the
 * agent has one JS thread plus libuv's pool and V8's helpers, whose frees of Buffers and typed
 * arrays (request bodies, history slabs) leave memory held in arenas nobody allocates from again.
 * Two arenas: an hour of history in 256 MiB on Node 24 settled ~4 MiB lower with line-protocol
 * ingest unchanged. A fixed mmap threshold (128 KiB, 64 KiB) saved 5–7 MiB more but cost a quarter
 * of the ingest rate (an mmap and page faults per large body): not taken. bench/RESULTS.md, issue 9.
 * Other C libraries (musl) ignore the variable.
 */

export const MALLOC_DEFAULTS: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
};

/** The defaults `env` does not set already, as the entry script exports them: `NAME=value` words. */
export function mallocExports(env: NodeJS.ProcessEnv): string {
  return Object.entries(MALLOC_DEFAULTS)
    .filter(([k]) => env[k] === undefined || env[k] === '')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}
