/**
 * CPU time of the calling thread, in milliseconds, for the fuzzer's hang bound: wall-clock time
 * counts the time a thread waits for a core (a shared machine, the fuzzer at nice 19), which made
 * inputs look slow that were not.
 *
 * Node 20 has no thread CPU clock (process.threadCpuUsage arrived in Node 23.9), so on Linux the
 * thread's own /proc/thread-self/schedstat is read (its first field is the time run, ns). The file
 * is opened once per thread: /proc/thread-self resolves to the opening thread.
 */

import fs from 'node:fs';

type ThreadCpuUsage = () => { user: number; system: number };

let clock: (() => number) | null | undefined;

/** A clock of this thread's CPU time (ms), or undefined where none is available. */
export function threadCpuClock(): (() => number) | undefined {
  if (clock === undefined) clock = makeClock();
  return clock ?? undefined;
}

function makeClock(): (() => number) | null {
  const usage = (process as unknown as { threadCpuUsage?: ThreadCpuUsage }).threadCpuUsage;
  if (typeof usage === 'function') {
    return () => {
      const u = usage.call(process);
      return (u.user + u.system) / 1000;
    };
  }
  let fd: number;
  try {
    fd = fs.openSync('/proc/thread-self/schedstat', 'r');
  } catch {
    return null;
  }
  const buf = Buffer.alloc(64);
  const read = (): number => {
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return parseRunNs(buf, n) / 1e6;
  };
  try {
    read();
  } catch {
    fs.closeSync(fd);
    return null;
  }
  return read;
}

/** The first decimal field of a schedstat line (nanoseconds run), without allocating a string. */
export function parseRunNs(buf: Uint8Array, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = buf[i];
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

/** This thread's kernel id (Linux), so another thread can watch its CPU time; undefined elsewhere. */
export function threadId(): number | undefined {
  try {
    const m = /task\/(\d+)$/.exec(fs.readlinkSync('/proc/thread-self'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (ms) of thread `tid` of this process, or undefined when it cannot be read. */
export function cpuOfThread(tid: number): number | undefined {
  try {
    const text = fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8');
    const ns = Number(text.split(' ')[0]);
    return Number.isFinite(ns) ? ns / 1e6 : undefined;
  } catch {
    return undefined;
  }
}
