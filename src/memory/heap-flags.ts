/**
 * `node heap-flags.js`: prints what the entry script (bin/metrics-manager) needs to start Node with
 * a heap sized from the container's memory limit: the flags on the first line (space-separated) and, on the second,
 * how it was chosen (for the start log and /api/v1/config). Prints nothing when a size was given
 * (NODE_OPTIONS) or no limit is found; Node's default then applies. A separate program, so the
 * reading of the limit is the agent's own (container-limit.ts), not a shell copy of it.
 */

import { readContainerMemoryLimit } from './container-limit';
import { heapRestart } from './heap-size';

const limit = readContainerMemoryLimit();
const restart = heapRestart({ execArgv: [], nodeOptions: process.env.NODE_OPTIONS, limitBytes: limit.bytes, limitSource: limit.source });
if (restart !== undefined) process.stdout.write(`${restart.nodeArgs.join(' ')}\n${restart.note}\n`);
