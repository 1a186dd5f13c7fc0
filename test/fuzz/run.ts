/**
 * `npm run fuzz`: every target (or those named) for a set number of executions, one after another,
 * each in a worker with a watchdog. Prints a Markdown table for FUZZING.md and exits 1 on failures.
 *
 *   node build/test/fuzz/run.js [--execs=N] [--seed=S] [target ...]
 */

import os from 'node:os';
import { runFuzz } from './harness';
import { TARGETS } from './targets';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const execs = Number(args.find((a) => a.startsWith('--execs='))?.slice(8) ?? 1_000_000);
  const seed = Number(args.find((a) => a.startsWith('--seed='))?.slice(7) ?? Date.now() % 2 ** 31);
  const names = args.filter((a) => !a.startsWith('--'));
  const targets = names.length > 0 ? names : TARGETS.map((t) => t.name);
  const started = new Date().toISOString();
  const rows: string[] = [];
  let failed = 0;
  for (const target of targets) {
    const r = await runFuzz({ target, execs, seed });
    failed += r.failures.length;
    const line = `| ${target} | ${r.execs.toLocaleString('en')} | ${r.seconds.toFixed(0)} | ${r.execs > 0 && r.seconds > 0 ? Math.round(r.execs / r.seconds).toLocaleString('en') : '–'} | ${r.rejected.toLocaleString('en')} | ${r.signatures} | ${r.slowestMs.toFixed(1)} | ${r.failures.length === 0 ? 'none' : r.failures.map((f) => `${f.kind}: ${f.detail}`).join('; ')} |`;
    rows.push(line);
    console.error(line);
    for (const f of r.saved) console.error(`  saved ${f}`);
  }
  console.log(`\n${started} · seed ${seed} · ${execs.toLocaleString('en')} executions per target · node ${process.version} · ${os.cpus().length} cores · load average ${os.loadavg()[0].toFixed(1)} at the end\n`);
  console.log('| target | executions | seconds | execs/s | rejected (4xx) | outcome signatures | slowest input (ms) | failures |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  return failed > 0 ? 1 : 0;
}

main().then((code) => process.exit(code), (err) => {
  console.error(err);
  process.exit(2);
});
