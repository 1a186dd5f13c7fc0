/** Worker side of harness.ts: runs one target and posts its stats. */

import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { Fuzzer } from './engine';
import { SHARED_INPUT_BYTES, seedFiles, type RunOptions } from './harness';
import { targetByName } from './targets';

const { target: name, execs, seed, shared } = workerData as RunOptions & { shared: SharedArrayBuffer };
const header = new Int32Array(shared, 0, 2);
const bytes = new Uint8Array(shared, 8, SHARED_INPUT_BYTES);
const target = targetByName(name);
const seeds = seedFiles(name).map((f) => fs.readFileSync(f));
const fuzzer = new Fuzzer(target, seeds, seed);
const stats = fuzzer.run(execs, (input) => {
  const n = Math.min(input.length, SHARED_INPUT_BYTES);
  bytes.set(input.subarray(0, n));
  Atomics.store(header, 1, input.length);
  Atomics.add(header, 0, 1);
});
parentPort!.postMessage(stats);
