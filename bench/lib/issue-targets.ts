/**
 * The issues' measured targets that have bench scripts of their own (per-pod GPU cost, RSS beside
 * the Pushgateway, line protocol in a container's settings, the dashboard in Chromium), run by `npm run bench` one after another as child
 * processes, so one run reports every target with its peer. Each script also runs alone; see its
 * header for what it measures. A script that fails leaves its reason in the report, not a gap.
 */

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { num, table } from './format';

interface Child {
  title: string;
  script: string;
  args: string[];
  /** Turns the script's stdout into report lines (throws when it holds no result). */
  summarize(stdout: string): string[];
}

const CHILDREN: Child[] = [
  {
    title: 'Per-pod GPU attribution cost (issue 12: ≤ 1 % of a core)',
    script: 'gpu-per-pod.js',
    args: [],
    summarize: (out) => {
      const rows = out.split('\n').filter((l) => l.startsWith('|'));
      if (rows.length < 3) throw new Error('no result table');
      return [...rows, '', ...out.split('\n').filter((l) => l.startsWith('Attribution adds'))];
    },
  },
  {
    title: 'RSS for 100,000 single-point series beside the Pushgateway (issue 9: ≤ 0.5×)',
    script: 'store-v2.js',
    args: ['--only=pushgateway'],
    summarize: (out) => {
      const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (!line) throw new Error('no BENCH_RESULT line');
      const p = (JSON.parse(line.slice('BENCH_RESULT '.length)) as { pushgateway: PushgatewayResult }).pushgateway;
      return [
        table(['target', 'RSS before (MiB)', 'RSS with the series (MiB)'], [
          ['agent (Node defaults, no container limit)', num(p.agent.baseRssMiB, 1), num(p.agent.settledRssMiB, 1)],
          ['Prometheus Pushgateway', num(p.pushgateway.baseRssMiB, 1), num(p.pushgateway.settledRssMiB, 1)],
        ]),
        '',
        `Agent / Pushgateway: ${p.ratio.toFixed(2)}× of the RSS, ${p.ratioOfGrowth.toFixed(2)}× of the growth.`,
      ];
    },
  },
  {
    title: 'Line protocol with the V8 flags and memory limit of a 256 / 512 MiB container (issue 9; scenario 1 measures Node defaults)',
    script: 'lp-modes.js',
    args: ['--runs=1', '--limits=256,512'],
    summarize: (out) => {
      const rows = out.split('\n').filter((l) => l.startsWith('|'));
      if (rows.length < 3) throw new Error('no result table');
      return rows;
    },
  },
  {
    title: 'Dashboard in headless Chromium, 2000 live series (issue 13)',
    script: 'dashboard.js',
    args: ['--seconds=20', '--series=2000', '--no-write'],
    summarize: (out) => {
      // The result is the last object printed, pretty-printed: it opens on a line of its own.
      const lines = out.trimEnd().split('\n');
      const start = lines.lastIndexOf('{');
      if (start < 0) throw new Error('no result object');
      const r = JSON.parse(lines.slice(start).join('\n')) as Record<string, number>;
      return [table(['measure', 'value', 'target'], [
        ['main thread busy', `${(r.mainThreadBusyShare * 100).toFixed(1)} % of a core`, '≤ 25 %'],
        ['push → on screen, p99', `${r.latencyP99Ms.toFixed(0)} ms (${r.probes} probes, ${r.probesNotSeen} not seen)`, '≤ 100 ms'],
        ['first render, median / max of 5 loads', `${r.firstRenderMedianMs.toFixed(0)} / ${r.firstRenderMaxMs.toFixed(0)} ms`, '≤ 300 ms'],
      ])];
    },
  },
];

interface PushgatewayResult {
  agent: { baseRssMiB: number; settledRssMiB: number };
  pushgateway: { baseRssMiB: number; settledRssMiB: number };
  ratio: number;
  ratioOfGrowth: number;
}

/** Runs each child bench and returns the report's section for them. `log` reports progress. */
export function issueTargets(benchDir: string, log: (msg: string) => void): string {
  const out = ['### 7. Issue targets measured by their own bench scripts', ''];
  for (const c of CHILDREN) {
    log(`issue targets: ${c.script} ${c.args.join(' ')}`);
    out.push(`#### ${c.title}`, '', `\`node build/bench/${c.script}${c.args.length ? ' ' + c.args.join(' ') : ''}\``, '');
    const r = spawnSync(process.execPath, [path.join(benchDir, c.script), ...c.args], { encoding: 'utf8', timeout: 15 * 60_000, maxBuffer: 64 * 1024 * 1024 });
    try {
      if (r.error) throw r.error;
      if (r.status !== 0) throw new Error(`exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim().split('\n').slice(-1)[0] ?? ''}`);
      out.push(...c.summarize(r.stdout));
    } catch (e) {
      out.push(`**Failed**: ${e instanceof Error ? e.message : String(e)}`);
    }
    out.push('');
  }
  return out.join('\n');
}
