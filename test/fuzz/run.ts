/**
 * `npm run fuzz`: every target (or those named) for a set number of executions, each in a worker
 * with a watchdog, `--jobs` of them at a time. Prints a Markdown table for FUZZING.md and exits 1
 * on failures.
 *
 *   node build/test/fuzz/run.js [--execs=N] [--seed=S] [--max-len=BYTES] [--jobs=N]
 *                               [--until=ISO-TIME] [target ...]
 */

import os from 'node:os';
import { DEFAULT_MAX_LEN } from './engine';
import { runFuzz, type RunResult } from './harness';
import { TARGETS } from './targets';

function option(args: string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function positiveInt(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${what} must be a positive integer, got "${text}"`);
  return n;
}

export function row(target: string, r: RunResult | Error): string {
  if (r instanceof Error) return `| ${target} | – | – | – | – | – | – | – | – | error: ${r.message} |`;
  const fmt = (n: number): string => Math.round(n).toLocaleString('en');
  const cpu = r.cpuSeconds;
  const failures = r.failures.length === 0 ? 'none' : r.failures.map((f) => `${f.kind}: ${f.detail}`).join('; ');
  return `| ${target} | ${fmt(r.execs)}${r.stoppedAtDeadline ? ' (deadline)' : ''} | ${fmt(r.seconds)} | ${cpu === undefined ? '–' : fmt(cpu)} | ${cpu ? fmt(r.execs / cpu) : '–'} | ${fmt(r.rejected)} | ${r.signatures} | ${r.slowestMs.toFixed(1)} | ${r.slowDismissed} | ${failures} |`;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const execs = positiveInt(option(args, 'execs'), 1_000_000, '--execs');
  const seedText = option(args, 'seed');
  const seed = seedText === undefined ? Date.now() % 2 ** 31 : Number(seedText);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer, got "${seedText}"`);
  const maxLen = positiveInt(option(args, 'max-len'), DEFAULT_MAX_LEN, '--max-len');
  const jobs = positiveInt(option(args, 'jobs'), 1, '--jobs');
  const until = option(args, 'until');
  const deadline = until === undefined ? undefined : Date.parse(until);
  if (deadline !== undefined && Number.isNaN(deadline)) throw new Error(`--until must be a date and time, got "${until}"`);
  const names = args.filter((a) => !a.startsWith('--'));
  const targets = names.length > 0 ? names : TARGETS.map((t) => t.name);
  const started = new Date().toISOString();
  const rows = new Map<string, string>();
  let failed = 0;
  const queue = [...targets];
  const worker = async (): Promise<void> => {
    for (let target = queue.shift(); target !== undefined; target = queue.shift()) {
      const name = target;
      let r: RunResult | Error;
      try {
        r = await runFuzz({ target: name, execs, seed, maxLen, deadline, onProgress: (n) => console.error(`${new Date().toISOString()} ${name}: ${n.toLocaleString('en')} executions`) });
        failed += r.failures.length;
        for (const f of r.saved) console.error(`  saved ${f}`);
      } catch (err) {
        r = err instanceof Error ? err : new Error(String(err));
        failed++;
      }
      rows.set(name, row(name, r));
      console.error(rows.get(name));
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, targets.length) }, () => worker()));
  console.log(`\n${started} to ${new Date().toISOString()} · seed ${seed} · ${execs.toLocaleString('en')} executions per target · max-len ${maxLen} · ${jobs} at a time · node ${process.version} · ${os.cpus().length} cores · load average ${os.loadavg()[0].toFixed(1)} at the end\n`);
  console.log('| target | executions | seconds | CPU seconds | execs per CPU second | rejected (4xx) | outcome signatures | slowest input (ms) | wall-clock slow, dismissed | failures |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const t of targets) console.log(rows.get(t));
  return failed > 0 ? 1 : 0;
}

if (require.main === module) {
  main().then((code) => process.exit(code), (err) => {
    console.error(err);
    process.exit(2);
  });
}
