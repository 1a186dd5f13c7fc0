/** Worker side of harness.ts: runs one target and posts its stats. */

import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { Fuzzer } from './engine';
import { SHARED_HEADER_BYTES, SHARED_INPUT_BYTES, seedFiles, type RunOptions } from './harness';
import { targetByName } from './targets';
import { threadId } from './thread-cpu';

const { target: name, execs, seed, maxLen, deadline, shared } = workerData as RunOptions & { shared: SharedArrayBuffer };
const header = new Int32Array(shared, 0, 3);
const bytes = new Uint8Array(shared, SHARED_HEADER_BYTES, SHARED_INPUT_BYTES);
// The watchdog reads this thread's CPU time by its kernel id.
Atomics.store(header, 2, threadId() ?? 0);
const target = targetByName(name);
const seeds = seedFiles(name).map((f) => fs.readFileSync(f));
const fuzzer = new Fuzzer(target, seeds, seed, { maxLen, deadline });
const stats = fuzzer.run(execs, (input) => {
  const n = Math.min(input.length, SHARED_INPUT_BYTES);
  bytes.set(input.subarray(0, n));
  Atomics.store(header, 1, input.length);
  Atomics.add(header, 0, 1);
});
parentPort!.postMessage(stats);
