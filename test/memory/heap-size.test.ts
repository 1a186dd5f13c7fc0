/**
 * V8's heap sized from the container's limit by the image's entry script (bin/metrics-manager):
 * the rule itself, then the real thing — the entry script started inside real memory cgroups of
 * 256 and 512 MiB, with the agent reporting its own heap limit (v8 heap_size_limit) in
 * /api/v1/config.
 */

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { heapRestart, heapSizeGiven, heapSizing, oldSpaceMiB, semiSpaceMiB } from '../../src/memory/heap-size';
import { MALLOC_DEFAULTS, mallocExports } from '../../src/memory/malloc-env';
import { MAIN_JS } from '../helpers/agent-process';
import { MemoryCgroup, requireMemoryCgroup } from '../helpers/memory-cgroup';
import { freePort } from '../helpers/tools';

const MiB = 1024 * 1024;
const ROOT = path.resolve(__dirname, '..', '..', '..');
const ENTRY = path.join(ROOT, 'bin', 'metrics-manager');
/** What `npm start` runs once the build is done (its build step is not run here: tsc takes a minute). */
const BUILD_STEP = 'npm run build --silent && ';

describe('heap sized from the container limit', () => {
  describe('the rule', () => {
    it('gives 70 % of the limit minus 32 MiB to the old space, at least 32 MiB', () => {
      assert.equal(oldSpaceMiB(256 * MiB), 147);
      assert.equal(oldSpaceMiB(512 * MiB), 326);
      assert.equal(oldSpaceMiB(64 * MiB), 32);
    });

    it('bounds the semi-space to 1/256 of the limit, 1 to 16 MiB', () => {
      assert.equal(semiSpaceMiB(256 * MiB), 1);
      assert.equal(semiSpaceMiB(512 * MiB), 2);
      assert.equal(semiSpaceMiB(1024 * MiB), 4);
      assert.equal(semiSpaceMiB(64 * MiB), 1);
      assert.equal(semiSpaceMiB(4096 * MiB), 16);
      assert.equal(semiSpaceMiB(64 * 1024 * MiB), 16);
    });

    it('leaves a size given in node flags or NODE_OPTIONS alone, and never restarts twice', () => {
      assert.equal(heapSizeGiven(['--max-old-space-size=100'], undefined), true);
      assert.equal(heapSizeGiven([], '--enable-source-maps --max_old_space_size=100'), true);
      assert.equal(heapSizeGiven(['--max-semi-space-size=16'], '--inspect'), false);
      const base = { execArgv: [], limitBytes: 256 * MiB, limitSource: 'cgroup v2 /sys/fs/cgroup/x/memory.max' };
      assert.deepEqual(heapRestart(base), {
        nodeArgs: ['--max-old-space-size=147', '--max-semi-space-size=1'],
        note: '--max-old-space-size=147 --max-semi-space-size=1 from a memory limit of 256 MiB (cgroup v2 /sys/fs/cgroup/x/memory.max)',
      });
      assert.equal(heapRestart({ ...base, nodeOptions: '--max-old-space-size=50' }), undefined);
      assert.equal(heapRestart({ ...base, alreadySized: 'x' }), undefined);
      assert.equal(heapRestart({ ...base, limitBytes: undefined }), undefined);
      assert.equal(heapSizing([], undefined, undefined), 'Node default (no memory limit found)');
      assert.match(heapSizing([], '--max-old-space-size=50', undefined), /^given/);
    });
  });

  it('malloc settings: the defaults not set already, as NAME=value words', () => {
    assert.equal(mallocExports({}), Object.entries(MALLOC_DEFAULTS).map(([k, v]) => `${k}=${v}`).join(' '));
    assert.equal(mallocExports({ MALLOC_ARENA_MAX: '' }), `MALLOC_ARENA_MAX=${MALLOC_DEFAULTS.MALLOC_ARENA_MAX}`, 'an empty value counts as unset');
    assert.equal(mallocExports({ MALLOC_ARENA_MAX: '4' }), '');
    assert.equal(mallocExports({ ...MALLOC_DEFAULTS }), '');
  });

  describe('the entry script inside a real memory cgroup', function () {
    this.timeout(120_000);
    const groups: MemoryCgroup[] = [];
    const children: ChildProcess[] = [];
    before(function () {
      requireMemoryCgroup(this);
    });
    after(() => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      for (const g of groups) g.remove();
    });

    /** Starts bin/metrics-manager in a new group of `limitMiB`; returns what /api/v1/config says about memory. */
    type MemoryView = { heap_limit_bytes: number; heap_sizing: string; limit_bytes: number; v8_flags: string[]; malloc: Record<string, string | null> };
    async function runIn(limitMiB: number, extraEnv: Record<string, string> = {}, cmd: [string, string[]] = [ENTRY, ['agent']]): Promise<MemoryView & { environ: string[] }> {
      const g = MemoryCgroup.create(`mm-heap-${process.pid}-${groups.length}`, limitMiB * MiB);
      groups.push(g);
      const port = await freePort();
      const child = g.spawn(cmd[0], cmd[1], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin', METRICS_MANAGER_DIST: path.dirname(MAIN_JS), METRICS_PORT: String(port), HOST: '127.0.0.1',
          SYSTEM_METRICS_SOURCE: 'none', TELEGRAF_FORWARD: 'false', LOG_LEVEL: 'info', ...extraEnv,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/api/v1/config`);
          if (r.ok) {
            const body = (await r.json()) as { memory: MemoryView };
            // The start log names the value too.
            for (let i = 0; i < 50 && !out.includes('"heap_sizing"'); i++) await new Promise((res) => setTimeout(res, 100));
            assert.ok(out.includes(`"heap_sizing":${JSON.stringify(body.memory.heap_sizing)}`), out);
            // The shell exec'd Node: the child's pid is the agent's, and its environment is what Node started with.
            const environ = fs.readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
            child.kill('SIGTERM');
            return { ...body.memory, environ };
          }
        } catch { /* not up yet */ }
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the agent did not come up:\n${out}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    }

    it('follows the limit: 256 MiB and 512 MiB give old spaces of 147 and 326 MiB; a size in NODE_OPTIONS wins', async () => {
      const nodeDefault = Number(execFileSync(process.execPath, ['-p', 'v8.getHeapStatistics().heap_size_limit'], { encoding: 'utf8', env: { PATH: process.env.PATH } }));
      const small = await runIn(256);
      const large = await runIn(512);
      assert.equal(small.limit_bytes, 256 * MiB);
      // main.ts sets the agent's run-time V8 flags however it was started (test/memory/v8-flags.test.ts checks that they take).
      assert.deepEqual(small.v8_flags, ['--no-allocation-site-pretenuring']);
      assert.match(small.heap_sizing, /^--max-old-space-size=147 --max-semi-space-size=1 from a memory limit of 256 MiB \(cgroup v[12] /);
      assert.match(large.heap_sizing, /^--max-old-space-size=326 --max-semi-space-size=2 from a memory limit of 512 MiB/);
      // heap_size_limit = old space + the young generation (three semi-spaces on Node 20's V8; Node's default here would add 48 MiB).
      for (const [m, old, semi] of [[small, 147, 1], [large, 326, 2]] as const) {
        assert.ok(m.heap_limit_bytes >= (old + 2 * semi) * MiB && m.heap_limit_bytes <= (old + 3 * semi) * MiB, `heap limit ${m.heap_limit_bytes / MiB} MiB for old space ${old} MiB, semi-space ${semi} MiB`);
      }
      assert.ok(small.heap_limit_bytes < 256 * MiB && nodeDefault > 512 * MiB, `sized ${small.heap_limit_bytes / MiB} MiB vs Node's default ${nodeDefault / MiB} MiB here`);

      const given = await runIn(256, { NODE_OPTIONS: '--max-old-space-size=100' });
      assert.match(given.heap_sizing, /^given/);
      assert.ok(given.heap_limit_bytes >= 100 * MiB && given.heap_limit_bytes <= 164 * MiB, String(given.heap_limit_bytes / MiB));
    });

    it('starts Node with the malloc settings of malloc-env.ts, those already set winning, and /api/v1/config shows them', async () => {
      const plain = await runIn(256);
      for (const [k, v] of Object.entries(MALLOC_DEFAULTS)) assert.ok(plain.environ.includes(`${k}=${v}`), `${k}=${v} in ${plain.environ.filter((e) => e.startsWith('MALLOC_')).join(' ')}`);
      assert.deepEqual(plain.malloc, MALLOC_DEFAULTS);
      const given = await runIn(256, { MALLOC_ARENA_MAX: '8' });
      assert.deepEqual(given.malloc, { ...MALLOC_DEFAULTS, MALLOC_ARENA_MAX: '8' });
      assert.deepEqual(given.environ.filter((e) => e.startsWith('MALLOC_ARENA_MAX=')), ['MALLOC_ARENA_MAX=8'], 'set once, the operator\'s');
    });

    it('npm start goes through the entry script: a standalone agent in a 256 MiB container is sized like the image', async () => {
      const start = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
      assert.ok(start.startsWith(BUILD_STEP), start);
      // The rest of the script, run as npm runs it (sh -c, from the package root), on the test build.
      const m = await runIn(256, {}, ['/bin/sh', ['-c', start.slice(BUILD_STEP.length)]]);
      assert.match(m.heap_sizing, /^--max-old-space-size=147 --max-semi-space-size=1 from a memory limit of 256 MiB/);
      assert.ok(m.heap_limit_bytes >= (147 + 2 * 1) * MiB && m.heap_limit_bytes <= (147 + 3 * 1) * MiB, String(m.heap_limit_bytes / MiB));
    });
  });
});
