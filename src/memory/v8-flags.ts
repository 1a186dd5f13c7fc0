/**
 * V8 settings the agent runs with, set by main.ts as the agent starts, before it serves anything.
 *
 * `--no-allocation-site-pretenuring`. V8 watches the objects each literal in the code makes
 * (`{…}`, `[]`); when most of them survive a young collection while the young generation is at
 * its largest, it decides that all later objects of that literal go straight to the old
 * generation, for the rest of the process. The first push bodies an agent takes make such a
 * decision likely: their samples, and the arrays and results holding them, are alive while the
 * series they bring are created. From then on every sample, garbage a moment after its request,
 * fills the old generation, and references from those dead objects keep young ones alive until a
 * full collection. Measured with line protocol (30,000 series, 1.5 M samples/s, Node 20 and 24):
 * in about half of the runs the agent ran a full collection every second and ended 100 MiB larger,
 * and with the old space bounded from a container limit it ran several a second. The agent's
 * long-lived objects lose nothing measurable: they are copied once more before promotion.
 *
 * Set at run time, not on Node's command line, so that every way of starting the agent gets it
 * (the image's entry script, `npm start`, `node dist/main.js`). V8 reads this flag each time it
 * weighs its feedback (at young collections) and where it records that feedback; Node documents
 * changing flags after start as unsupported in general, so test/memory/v8-flags.test.ts checks
 * that this one takes effect, on each Node the project runs on.
 */

import v8 from 'node:v8';

export const AGENT_V8_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring'];

/** Applies AGENT_V8_FLAGS to this process; returns them (for /api/v1/config and the start log). */
export function applyAgentV8Flags(): readonly string[] {
  for (const flag of AGENT_V8_FLAGS) v8.setFlagsFromString(flag);
  return AGENT_V8_FLAGS;
}
