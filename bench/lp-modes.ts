/**
 * Line-protocol ingest as the agent runs in a container, and how its collector behaves — not a test.
 *
 *   node build/bench/lp-modes.js [--runs=4] [--limits=none,256,512]
 *
 * Scenario 1 of `npm run bench` (wrk, the same 10 bodies of 1,000 lines × 3 fields = 30,000 series,
 * 2 s warm-up + 10 s measured) on a fresh agent per run, for each limit: `none` is Node's defaults
 * (what run.ts measures); 256 and 512 start the agent with the V8 flags the image's entry script
 * would give it in a container of that many MiB (src/memory/heap-size.ts) and MEMORY_LIMIT_BYTES,
 * so the store budget, the parser cache bound and the memory guard follow as in the container.
 * No cgroup: this measures speed, not the kernel's accounting (store-v2.ts does that).
 *
 * Per run: samples/s acknowledged, p99 latency, agent CPU (cores), RSS at the end, full (major)
 * collections and parser cache resets from /metrics/self. Runs of one limit vary with V8's
 * decisions early in the process (see src/memory/v8-flags.ts), so each limit gets several.
 * Prints a Markdown table; writes nothing.
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { heapRestart } from '../src/memory/heap-size';
import { lineProtocolManifest } from './lib/bodies';
import { mb, num, table } from './lib/format';
import { cpuSeconds, rssBytes, which } from './lib/procs';
import { getText, log, startTarget } from './lib/targets';
import { okCount, runWrk } from './lib/wrk';

const argv = process.argv.slice(2);
const opt = (name: string, def: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def;
const RUNS = Number(opt('runs', '4'));
const LIMITS = opt('limits', 'none,256,512').split(',').filter(Boolean);
const MiB = 1024 * 1024;
const SAMPLES_PER_REQUEST = 3000;

function metric(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`metrics_manager_${name}${labels} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

async function main(): Promise<void> {
  const wrk = which('wrk', ['/usr/bin/wrk']);
  if (!wrk) throw new Error('wrk is not installed (scripts/setup-test-deps.sh --bench installs it)');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-modes-'));
  const manifest = lineProtocolManifest(tmp);
  let window = 0;
  const base = Date.now() - 3600_000;
  const rows: string[][] = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      for (const limit of LIMITS) {
        const bytes = limit === 'none' ? undefined : Number(limit) * MiB;
        const nodeArgs = bytes === undefined ? [] : heapRestart({ execArgv: [], limitBytes: bytes, limitSource: 'lp-modes' })!.nodeArgs;
        const env: Record<string, string> = bytes === undefined ? {} : { MEMORY_LIMIT_BYTES: String(bytes) };
        const t = await startTarget('agent', process.execPath, tmp, { nodeArgs, env, label: `agent-${limit}` });
        try {
          const shape = { wrk, url: t.url, manifest: manifest.file, threads: 1, connections: 4 };
          await runWrk({ ...shape, durationS: 2, timestampBaseMs: base + window++ * 600_000, step: 'warm-up' });
          const c0 = cpuSeconds(t.proc.pid);
          const t0 = process.hrtime.bigint();
          const w = await runWrk({ ...shape, durationS: 10, timestampBaseMs: base + window++ * 600_000, step: 'measure' });
          const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
          const cpu = (cpuSeconds(t.proc.pid) - c0) / wallS;
          const ok = okCount(w);
          const self = await getText(`${t.url}/metrics/self`);
          const row = [
            limit === 'none' ? 'none (Node defaults)' : `${limit} MiB (${nodeArgs.join(' ')})`,
            num((ok * SAMPLES_PER_REQUEST) / w.durationS / 1e6, 2) + ' M',
            num(w.latencyMs.p99, 1),
            num(cpu, 2),
            mb(rssBytes(t.proc.pid)),
            num(metric(self, 'nodejs_gc_duration_seconds_count', '{kind="major"}')),
            num(metric(self, 'events_parser_cache_resets_total')),
          ];
          rows.push(row);
          log(row.join(' | '));
        } finally {
          await t.proc.stop();
        }
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  process.stdout.write(`\n${table(['memory limit (V8 flags)', 'samples/s', 'p99 ms', 'agent CPU', 'RSS MB', 'full GCs', 'parser cache resets'], rows)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
