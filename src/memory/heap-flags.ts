/**
 * `node heap-flags.js`: prints what the entry script (bin/metrics-manager) needs to start Node with
 * a heap sized from the container's memory limit: the flags on the first line (space-separated) and, on the second,
 * how it was chosen (for the start log and /api/v1/config). Both are empty when a size was given
 * (NODE_OPTIONS) or no limit is found; Node's default then applies. The third line holds the malloc
 * settings to export (malloc-env.ts). A separate program, so the reading of the limit is the
 * agent's own (container-limit.ts), not a shell copy of it.
 */

import { readContainerMemoryLimit } from './container-limit';
import { heapRestart } from './heap-size';
import { mallocExports } from './malloc-env';

const limit = readContainerMemoryLimit();
const restart = heapRestart({ execArgv: [], nodeOptions: process.env.NODE_OPTIONS, limitBytes: limit.bytes, limitSource: limit.source });
process.stdout.write(`${restart?.nodeArgs.join(' ') ?? ''}\n${restart?.note ?? ''}\n${mallocExports(process.env)}\n`);
