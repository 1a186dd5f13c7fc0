/**
 * `metrics-manager top` in a real terminal: the command runs inside tmux (a detached session of
 * fixed size) against an in-process agent, and the test reads the screen with capture-pane and
 * types with send-keys. The renderer is also checked on its own (pure).
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { MAIN_JS } from '../helpers/agent-process';
import { startAgent, type RunningAgent } from '../helpers/agent';
import { requireTool } from '../helpers/tools';
import { fit, renderScreen, TopModel } from '../../src/top/view';
import { topStreamUrl } from '../../src/top/top';

const TMUX = '/usr/bin/tmux';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tmux(...args: string[]): string {
  const r = spawnSync(TMUX, args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('metrics-manager top (in tmux)', function () {
  this.timeout(40_000);
  let agent: RunningAgent | undefined;
  const session = `mm-top-${process.pid}-${Date.now()}`;
  let started = false;

  before(function () {
    requireTool(this, TMUX, 'tmux');
  });
  afterEach(async () => {
    if (started) spawnSync(TMUX, ['kill-session', '-t', session]);
    started = false;
    await agent?.stop();
    agent = undefined;
  });

  const screen = () => tmux('capture-pane', '-p', '-t', session);
  const waitScreen = async (pred: (s: string) => boolean, what: string, timeoutMs = 10_000) => {
    const until = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < until) {
      last = screen();
      if (pred(last)) return last;
      await sleep(100);
    }
    throw new Error(`screen never showed ${what}; last screen:\n${last}`);
  };
  const push = async (lines: string[]) => {
    const res = await fetch(`${agent!.url}/api/v1/metrics/influx?precision=ms`, { method: 'POST', body: lines.join('\n') });
    assert.equal(res.status, 202, await res.text());
  };

  it('shows the node, accelerators and the busiest custom series live; filters; q restores the terminal', async () => {
    agent = await startAgent();
    const t = Date.now();
    await push([
      `cpu,cpu=cpu-total,host=n7 usage_idle=60 ${t}`,
      `mem,host=n7 used_percent=25,used=${8 * 2 ** 30},total=${32 * 2 ** 30} ${t}`,
      `gpu_busy_ratio,gpu_id=0,card=card1,driver=xe,host=n7 value=0.5 ${t}`,
      `gpu_frequency,gpu_id=0,card=card1,driver=xe,host=n7,type=act_freq value=2400 ${t}`,
      `npu_utilization,host=n7 value=42 ${t}`,
      `npu_info,host=n7,platform=LNL,pci_slot=0000:00:0b.0 value=1 ${t}`,
      `inference,pipeline=detect fps=29.5 ${t}`,
      `queue_depth,stage=decode value=7 ${t}`,
    ]);
    // A shell around top reports its exit status and keeps the pane open, so the terminal's state
    // after top (screen, cursor) can be read as the user would find it.
    tmux('new-session', '-d', '-s', session, '-x', '110', '-y', '32', `sh -c 'node ${MAIN_JS} top ${agent.url}; echo "top exited $?"; sleep 60'`);
    started = true;
    const s1 = await waitScreen((s) => s.includes('inference_fps') && s.includes('GPU 0'), 'the first metrics');
    assert.match(s1, /^metrics-manager top\s+n7/m);
    assert.match(s1, /CPU\s+40\.0%/);
    assert.match(s1, /Memory\s+25\.0%.*8\.00 GiB \/ 32\.00 GiB/);
    assert.match(s1, /GPU 0 \(xe\)\s+busy 50%\s+2\.40 GHz/);
    assert.match(s1, /NPU \(LNL\)\s+util 42%/);
    assert.match(s1, /queue_depth\s+stage=decode\s+7/);
    assert.equal(tmux('display-message', '-p', '-t', session, '#{alternate_on}').trim(), '1', 'top draws on the alternate screen');

    // Live: a new value replaces the old one on screen.
    await push([`inference,pipeline=detect fps=31.25 ${Date.now()}`]);
    await waitScreen((s) => /inference_fps\s+pipeline=detect\s+31\.25/.test(s), 'the updated value');

    // The filter key: only matching custom series stay.
    tmux('send-keys', '-t', session, '/');
    tmux('send-keys', '-t', session, '-l', 'queue');
    tmux('send-keys', '-t', session, 'Enter');
    const s2 = await waitScreen((s) => s.includes('filter: queue') && !s.includes('inference_fps'), 'the filtered list');
    assert.match(s2, /queue_depth/);
    // Esc clears it.
    tmux('send-keys', '-t', session, 'Escape');
    await waitScreen((s) => s.includes('inference_fps'), 'the unfiltered list');

    // q: a clean exit (status 0) and the terminal back on the normal screen.
    tmux('send-keys', '-t', session, 'q');
    await waitScreen((s) => /top exited 0/.test(s), 'the exit status 0');
    assert.equal(tmux('display-message', '-p', '-t', session, '#{alternate_on}').trim(), '0', 'alternate screen left on');
    assert.equal(tmux('display-message', '-p', '-t', session, '#{cursor_flag}').trim(), '1', 'cursor left hidden');
  });

  it('says it is reconnecting while the agent is away, and exits on SIGTERM restoring the terminal', async () => {
    // Nothing listens on this port. A shell around top reports its exit status.
    tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '20', `sh -c 'node ${MAIN_JS} top http://127.0.0.1:9; echo "top exited $?"; sleep 60'`);
    started = true;
    await waitScreen((s) => /reconnecting \(/.test(s), 'the reconnecting state');
    const shell = tmux('display-message', '-p', '-t', session, '#{pane_pid}').trim();
    const child = spawnSync('ps', ['-o', 'pid=', '--ppid', shell], { encoding: 'utf8' }).stdout.trim().split(/\s+/)[0];
    assert.ok(Number(child) > 0, `no child of the pane's shell ${shell}`);
    process.kill(Number(child), 'SIGTERM');
    await waitScreen((s) => /top exited 143/.test(s), 'exit status 143 after SIGTERM');
    assert.equal(tmux('display-message', '-p', '-t', session, '#{alternate_on}').trim(), '0');
    assert.equal(tmux('display-message', '-p', '-t', session, '#{cursor_flag}').trim(), '1');
  });

  it('refuses a URL that is not http(s), and a missing terminal, with exit code 2', () => {
    const bad = spawnSync(process.execPath, [MAIN_JS, 'top', 'ftp://x'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /not an http\(s\) URL/);
    const noTty = spawnSync(process.execPath, [MAIN_JS, 'top', 'http://127.0.0.1:9'], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    assert.equal(noTty.status, 2);
    assert.match(noTty.stderr, /needs a terminal/);
  });
});

describe('top: the screen (pure)', () => {
  it('fits every line to the width, renders control characters in names as ?, keeps a path prefix in the URL', () => {
    const m = new TopModel();
    m.apply(JSON.stringify({ kind: 'snapshot', timestamp: 1000, metrics: [{ name: 'evil', labels: { x: '\u001b[2J<b>' }, value: 1, timestamp: 1000 }] }), 1000);
    const lines = renderScreen(m, { url: 'http://h', status: 'live', filter: '', editing: false, paused: false, nowMs: 2000 }, 60, 20);
    assert.equal(lines.length, 20);
    for (const l of lines) assert.equal([...l].length, 60);
    assert.ok(lines.some((l) => l.includes('x=?[2J<b>')), lines.join('\n'));
    assert.ok(!lines.join('').includes('\u001b'));
    assert.equal(fit('abcdef', 4), 'abc…');
    assert.equal(topStreamUrl('http://h:1/prefix').href, 'http://h:1/prefix/metrics/stream?delta=1');
  });

  it('a snapshot forgets series the agent no longer has; deltas only update', () => {
    const m = new TopModel();
    m.apply(JSON.stringify({ kind: 'snapshot', metrics: [{ name: 'a', labels: {}, value: 1 }, { name: 'b', labels: {}, value: 2 }] }), 0);
    m.apply(JSON.stringify({ kind: 'delta', metrics: [{ name: 'a', labels: {}, value: 3 }] }), 10);
    assert.equal(m.series.size, 2);
    m.apply(JSON.stringify({ kind: 'snapshot', metrics: [{ name: 'b', labels: {}, value: 2 }] }), 20);
    assert.deepEqual([...m.series.values()].map((s) => s.name), ['b']);
    assert.equal(m.apply('not json', 30), false);
  });
});
