/**
 * The Dockerfile, checked without a container engine: what it copies exists (and is not excluded
 * by .dockerignore), the final stage has production dependencies only and a numeric non-root user,
 * and the commands it runs work — the entry command starts the agent from a foreign working
 * directory, the HEALTHCHECK command passes against it (and fails without it), and the chart's
 * `helm test` script passes against it too.
 */

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHART_DIR, ROOT } from './chart';
import { freePort } from '../helpers/tools';

interface Instruction { cmd: string; args: string; line: number }
interface Stage { from: string; name?: string; instructions: Instruction[] }

/** Dockerfile → stages of instructions (continuations joined, comments and parser directives dropped). */
export function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const lines = text.split('\n');
  const out: Instruction[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    const start = i + 1;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, ' ');
      i++;
      if (!/^\s*#/.test(lines[i]!)) line += lines[i]!.trim();
    }
    const m = /^\s*(\w+)\s+([\s\S]*)$/.exec(line);
    if (m) out.push({ cmd: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
  }
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of out) {
    if (ins.cmd === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)!;
      stages.push({ from: m[1]!, name: m[2], instructions: [] });
    } else if (stages.length === 0) {
      if (ins.cmd === 'ARG') {
        const [k, v] = ins.args.split('=');
        globalArgs[k!] = v ?? '';
      }
    } else stages.at(-1)!.instructions.push(ins);
  }
  return { args: globalArgs, stages };
}

/** .dockerignore semantics (last match wins, `!` re-includes, a pattern matching a parent excludes the child). */
function dockerIgnored(rel: string, patterns: string[]): boolean {
  const toRe = (p: string) => new RegExp(`^${p.replace(/\/$/, '').split('/').map((seg) => (seg === '**' ? '.*' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))).join('/')}$`);
  let ignored = false;
  const parts = rel.split('/');
  for (const raw of patterns) {
    const neg = raw.startsWith('!');
    const re = toRe(neg ? raw.slice(1) : raw);
    for (let n = 1; n <= parts.length; n++) {
      if (re.test(parts.slice(0, n).join('/'))) {
        ignored = !neg;
        break;
      }
    }
  }
  return ignored;
}


/** Runs a command asynchronously (the agent under test runs in this process's event loop too). */
function runAsync(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Processes whose parent is `ppid`, from /proc (state: R, S, Z, …). */
/** The executable of a process, resolved; undefined once it is gone (a script's `sleep` may exit meanwhile) or a zombie. */
function exeOf(pid: number): string | undefined {
  try {
    return realpathSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

function childrenOf(ppid: number): { pid: number; state: string; comm: string }[] {
  const out: { pid: number; state: string; comm: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid …; comm may hold spaces and parentheses.
    const close = stat.lastIndexOf(')');
    const [state, parent] = stat.slice(close + 2).split(' ');
    if (Number(parent) === ppid) out.push({ pid: Number(d), state: state!, comm: stat.slice(stat.indexOf('(') + 1, close) });
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The program a process runs (Node 24 renames its main thread, so /proc/<pid>/comm is no help). */
function program(pid: number): string {
  return path.basename(readlinkSync(`/proc/${pid}/exe`));
}

/** The compiled main.js of the same build as this test (dist/main.js in the image). */
const MAIN_JS = path.resolve(__dirname, '..', '..', 'src', 'main.js');
/** The image's entry script, and where it finds this build (it defaults to the image's dist/). */
const ENTRY_SCRIPT = path.join(ROOT, 'bin', 'metrics-manager');
const ENTRY_DIST = path.dirname(MAIN_JS);

describe('Dockerfile', function () {
  const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const { args: globalArgs, stages } = parseDockerfile(text);
  const final = stages.at(-1)!;
  const ignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; license: string; dependencies: Record<string, string> };
  const instr = (s: Stage, cmd: string) => s.instructions.filter((i) => i.cmd === cmd);
  const workdir = (s: Stage) => instr(s, 'WORKDIR').at(-1)?.args ?? '/';

  it('is multi-stage: build with dev dependencies, runtime from a slim Node 24 (LTS) image', function () {
    assert.ok(stages.length >= 2);
    assert.match(globalArgs.NODE_IMAGE ?? '', /^node:24(\.[\d.]+)?-(bookworm-)?slim$/);
    const engines = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    assert.match(engines, /\^24\./, 'package.json engines names the Node the image ships');
    for (const s of stages) assert.equal(s.from, '${NODE_IMAGE}');
    const build = stages.find((s) => instr(s, 'RUN').some((r) => /\btsc\b/.test(r.args)));
    assert.ok(build, 'a stage compiles TypeScript');
    assert.ok(instr(build, 'RUN').some((r) => /npm ci(?![^&]*--omit=dev)/.test(r.args)), 'the build stage installs dev dependencies');
  });

  it('copies only files that exist and that .dockerignore lets into the context', function () {
    const names = new Map(stages.map((s) => [s.name, s]));
    for (const s of stages) {
      for (const c of instr(s, 'COPY')) {
        const parts = c.args.split(/\s+/);
        const fromFlag = parts.find((p) => p.startsWith('--from='));
        const paths = parts.filter((p) => !p.startsWith('--'));
        const sources = paths.slice(0, -1);
        assert.ok(sources.length > 0, `line ${c.line}: COPY needs a source`);
        if (fromFlag) {
          const from = names.get(fromFlag.slice('--from='.length));
          assert.ok(from, `line ${c.line}: stage ${fromFlag} exists`);
          for (const src of sources) {
            assert.ok(src.startsWith(`${workdir(from)}/`), `line ${c.line}: ${src} is under the stage's WORKDIR ${workdir(from)}`);
            const rel = src.slice(workdir(from).length + 1);
            if (rel === 'node_modules') assert.ok(instr(from, 'RUN').some((r) => /npm ci/.test(r.args)), `line ${c.line}: ${fromFlag} installs node_modules`);
            else if (rel === 'dist') {
              const tsconfig = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: { outDir: string } };
              assert.equal(tsconfig.compilerOptions.outDir, 'dist', 'tsc writes dist/');
              assert.ok(instr(from, 'RUN').some((r) => /tsc -p tsconfig\.json/.test(r.args)), `line ${c.line}: ${fromFlag} compiles into dist/`);
            } else assert.ok(existsSync(path.join(ROOT, rel)), `line ${c.line}: ${rel} exists in the repository`);
          }
        } else {
          for (const src of sources) {
            assert.ok(existsSync(path.join(ROOT, src)), `line ${c.line}: COPY source ${src} exists`);
            assert.ok(!dockerIgnored(src.replace(/\/$/, ''), ignore), `line ${c.line}: ${src} is not excluded by .dockerignore`);
          }
        }
      }
    }
    for (const heavy of ['node_modules', 'dist', 'build', '.git', '.tmp', 'test', 'charts']) assert.ok(dockerIgnored(heavy, ignore), `${heavy} stays out of the build context`);
  });

  it('ships the dashboard assets and package.json the agent looks them up from', function () {
    const copies = instr(final, 'COPY').map((c) => c.args);
    assert.ok(copies.some((a) => /^src\/stream\/dashboard\s/.test(a)), 'src/stream/dashboard is copied');
    assert.ok(copies.some((a) => /^package\.json\s/.test(a)), 'package.json is copied');
    for (const f of ['index.html', 'dashboard.mjs', 'dashboard.css']) assert.ok(existsSync(path.join(ROOT, 'src', 'stream', 'dashboard', f)), f);
  });

  it('has production dependencies only in the final stage', function () {
    for (const r of instr(final, 'RUN')) assert.doesNotMatch(r.args, /\bnpm (install|i|ci)\b|\byarn\b|\bpnpm\b/, `line ${r.line}: no package installs in the runtime stage`);
    const nm = instr(final, 'COPY').find((c) => /\bnode_modules\b/.test(c.args));
    assert.ok(nm, 'node_modules comes from a stage');
    const from = stages.find((s) => s.name === /--from=(\S+)/.exec(nm.args)?.[1]);
    assert.ok(from && instr(from, 'RUN').some((r) => /npm ci\b[^&]*--omit=dev/.test(r.args)), 'that stage installs with --omit=dev');
    assert.ok(!instr(final, 'COPY').some((c) => /--from=\S+\s+\S*\/src\s/.test(c.args) || /^src\s/.test(c.args)), 'no TypeScript sources in the image');
  });

  it('runs as a numeric non-root user', function () {
    const user = instr(final, 'USER').at(-1)?.args;
    assert.ok(user, 'USER is set');
    const [uid, gid] = user.split(':');
    assert.match(uid!, /^\d+$/, 'numeric uid (Kubernetes runAsNonRoot can verify it)');
    assert.notEqual(Number(uid), 0);
    if (gid !== undefined) assert.match(gid, /^\d+$/);
    const chartUid = /runAsUser: (\d+)/.exec(readFileSync(path.join(CHART_DIR, 'templates', '_helpers.tpl'), 'utf8'))?.[1];
    assert.equal(chartUid, uid, 'the chart runs the same uid');
  });

  it('carries OCI labels matching package.json', function () {
    const labels = instr(final, 'LABEL').map((l) => l.args).join(' ');
    for (const k of ['title', 'description', 'version', 'revision', 'created', 'licenses']) assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${k}=`), k);
    assert.match(labels, new RegExp(`licenses="${pkg.license}"`));
    const versionArg = instr(final, 'ARG').find((a) => a.args.startsWith('VERSION='))?.args.split('=')[1];
    assert.equal(versionArg, pkg.version, 'ARG VERSION default = package.json version');
  });

  it('has one entry for agent and controller: tini, then bin/metrics-manager (node dist/main.js, heap sized), agent by default', function () {
    assert.deepEqual(JSON.parse(instr(final, 'ENTRYPOINT').at(-1)!.args), ['/usr/bin/tini', '--', '/app/bin/metrics-manager']);
    assert.ok(instr(final, 'COPY').some((c) => /^bin\s+\.\/bin$/.test(c.args.trim())), 'the runtime stage copies bin/');
    assert.match(readFileSync(ENTRY_SCRIPT, 'utf8'), /exec node \$flags "\$dist\/main\.js" "\$@"/);
    assert.ok(instr(final, 'RUN').some((r) => /apt-get install\b[^&]*\btini\b/.test(r.args)), 'the runtime stage installs Debian\'s tini');
    assert.deepEqual(JSON.parse(instr(final, 'CMD').at(-1)!.args), ['agent']);
    assert.equal(workdir(final), '/app');
    const r = spawnSync(process.execPath, [MAIN_JS, '--help'], { encoding: 'utf8', cwd: os.tmpdir() });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /agent/);
    assert.match(r.stdout, /controller/);
  });

  describe('with the agent running as the image runs it', function () {
    let port: number;
    let child: ReturnType<typeof spawn> | undefined;
    let cwd: string;
    let logs = '';

    before(async function () {
      port = await freePort();
      cwd = mkdtempSync(path.join(os.tmpdir(), 'mm-image-'));
      const envs = instr(final, 'ENV').map((e) => e.args);
      const imageEnv = Object.fromEntries(envs.flatMap((e) => e.split(/\s+/).map((kv) => kv.split('=') as [string, string])));
      child = spawn(process.execPath, [MAIN_JS, ...JSON.parse(instr(final, 'CMD').at(-1)!.args) as string[]], {
        cwd,
        env: { PATH: process.env.PATH, ...imageEnv, METRICS_PORT: String(port), HOST: '127.0.0.1', SYSTEM_METRICS_SOURCE: 'none', TELEGRAF_FORWARD: 'false', LOG_LEVEL: 'warning', CUSTOM_METRICS_DIR: path.join(cwd, 'none') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
      const deadline = Date.now() + 15_000;
      for (;;) {
        try {
          if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break;
        } catch { /* not yet */ }
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the agent did not come up:\n${logs}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    });

    after(async function () {
      if (child && child.exitCode === null) {
        const exited = new Promise((r) => child!.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      if (cwd) rmSync(cwd, { recursive: true, force: true });
    });

    it('serves /health and the dashboard from its install directory', async function () {
      const dash = await fetch(`http://127.0.0.1:${port}/dashboard`);
      assert.equal(dash.status, 200, 'the dashboard assets are found from the package root');
      assert.match(await dash.text(), /<html/i);
    });

    it('passes the HEALTHCHECK command, which fails when the agent is not there', async function () {
      const hc = instr(final, 'HEALTHCHECK').at(-1)!.args;
      assert.doesNotMatch(hc, /curl|wget/, 'no curl in the image');
      const cmd = JSON.parse(/CMD\s+(\[.*\])\s*$/.exec(hc)![1]!) as string[];
      assert.equal(cmd[0], 'node');
      const up = await runAsync(process.execPath, cmd.slice(1), { env: { METRICS_PORT: String(port) } });
      assert.equal(up.code, 0, up.stderr);
      const down = await runAsync(process.execPath, cmd.slice(1), { env: { METRICS_PORT: String(await freePort()) } });
      assert.equal(down.code, 1);
    });

    it('passes the chart\'s `helm test` script (push through the API, read it back)', async function () {
      const script = readFileSync(path.join(CHART_DIR, 'files', 'helm-test-push.js'), 'utf8');
      const r = await runAsync(process.execPath, ['-e', script], { env: { TARGET_URL: `http://127.0.0.1:${port}` } });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /PASS/);
      const gone = await (await fetch(`http://127.0.0.1:${port}/api/v1/metrics?name=helm_test_probe`)).json() as { metrics: unknown[] };
      assert.deepEqual(gone.metrics, [], 'the probe cleans up after itself');
    });

    it('fails the `helm test` script when no agent answers', async function () {
      const script = readFileSync(path.join(CHART_DIR, 'files', 'helm-test-push.js'), 'utf8');
      const r = await runAsync(process.execPath, ['-e', script], { env: { TARGET_URL: `http://127.0.0.1:${await freePort()}` } });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /FAIL: cannot reach/);
    });

    it('stops cleanly on SIGTERM (what the kubelet sends)', async function () {
      const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
      child!.kill('SIGTERM');
      assert.equal(await exited, 0, logs);
    });
  });

  describe('PID 1 as in the container (a PID namespace): the entry command\'s tini reaps script orphans', function () {
    const TINI = '/usr/bin/tini';
    let dir: string;

    before(function () {
      if (!existsSync(TINI)) {
        const msg = `${TINI} is missing (Debian package tini); run scripts/setup-test-deps.sh as root`;
        if (process.env.CI === 'true') throw new Error(msg);
        console.warn(`\n  !!! SKIPPED: ${msg}\n`);
        this.skip();
      }
      if (process.getuid?.() !== 0) {
        // A PID namespace needs CAP_SYS_ADMIN.
        if (process.env.CI === 'true') throw new Error('unshare --pid needs root');
        console.warn('\n  !!! SKIPPED: unshare --pid needs root\n');
        this.skip();
      }
      dir = mkdtempSync(path.join(os.tmpdir(), 'mm-init-'));
      mkdirSync(path.join(dir, 'scripts'));
      // Leaves two short-lived background processes behind each run: their parent shell exits
      // first, so they are re-parented to PID 1 of the namespace, which must wait for them.
      const script = path.join(dir, 'scripts', 'orphans.sh');
      writeFileSync(script, '#!/bin/sh\n(sleep 0.1 >/dev/null 2>&1 &)\n(sleep 0.1 >/dev/null 2>&1 &)\necho "orphan_probe value=1"\n');
      chmodSync(script, 0o755);
    });
    after(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** Runs argv as PID 1 of a new PID namespace; resolves once the agent has run the script 3 times. */
    async function runAsPid1(argv: string[]): Promise<{ ns: ReturnType<typeof spawn>; init: number; port: number; exit: Promise<number | null>; logs: () => string }> {
      const port = await freePort();
      const ns = spawn('unshare', ['--pid', '--fork', '--kill-child', '--', ...argv], {
        cwd: dir,
        env: {
          PATH: process.env.PATH, NODE_ENV: 'production', METRICS_PORT: String(port), HOST: '127.0.0.1', SYSTEM_METRICS_SOURCE: 'none',
          TELEGRAF_FORWARD: 'false', LOG_LEVEL: 'warning', CUSTOM_METRICS_DIR: path.join(dir, 'scripts'), COLLECTOR_SCRIPTS_INTERVAL_MS: '1000',
          METRICS_MANAGER_DIST: ENTRY_DIST,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let logs = '';
      ns.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
      ns.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
      const exit = new Promise<number | null>((r) => ns.once('exit', (code) => r(code)));
      const deadline = Date.now() + 20_000;
      let first = 0;
      for (;;) {
        if (Date.now() > deadline || ns.exitCode !== null) {
          ns.kill('SIGKILL');
          throw new Error(`the agent did not run the script:\n${logs}`);
        }
        try {
          const body = (await (await fetch(`http://127.0.0.1:${port}/api/v1/metrics?name=orphan_probe`)).json()) as { metrics: unknown[] };
          if (body.metrics.length > 0) {
            first ||= Date.now();
            if (Date.now() - first >= 3000) break;
          }
        } catch { /* not up yet */ }
        await sleep(100);
      }
      const init = childrenOf(ns.pid!)[0];
      assert.ok(init, 'unshare has forked PID 1 of the namespace');
      return { ns, init: init.pid, port, exit, logs: () => logs };
    }

    function entryArgv(): string[] {
      const entry = JSON.parse(instr(final, 'ENTRYPOINT').at(-1)!.args) as string[];
      const cmd = JSON.parse(instr(final, 'CMD').at(-1)!.args) as string[];
      // The image's entry script → this checkout's (it runs this build, METRICS_MANAGER_DIST).
      return [...entry, ...cmd].map((a) => (a === '/app/bin/metrics-manager' ? ENTRY_SCRIPT : a));
    }

    it('leaves no zombies, and stops with exit 0 when SIGTERM reaches PID 1', async function () {
      this.timeout(60_000);
      const argv = entryArgv();
      assert.equal(argv[0], TINI);
      const run = await runAsPid1(argv);
      try {
        assert.equal(program(run.init), 'tini');
        // An orphan may be between its exit and tini's wait for a moment; none stays.
        let zombies = childrenOf(run.init).filter((p) => p.state === 'Z');
        for (let i = 0; i < 20 && zombies.length > 0; i++) {
          await sleep(100);
          zombies = childrenOf(run.init).filter((p) => p.state === 'Z');
        }
        assert.deepEqual(zombies, [], 'tini reaped every orphan');
        // The script runs every cycle, so live orphans (its `sleep`s) may be tini's children at any
        // moment; what matters is that none stays a zombie and that the agent runs under tini.
        assert.ok(childrenOf(run.init).map((p) => exeOf(p.pid)).includes(realpathSync(process.execPath)), 'the agent is a child of tini');
        process.kill(run.init, 'SIGTERM'); // what the kubelet sends PID 1
        assert.equal(await run.exit, 0, run.logs());
      } finally {
        run.ns.kill('SIGKILL');
      }
    });

    it('without the init, node as PID 1 collects the zombies (what the check above guards against)', async function () {
      this.timeout(60_000);
      const argv = entryArgv();
      const run = await runAsPid1(argv.slice(argv.indexOf('--') + 1));
      try {
        assert.equal(realpathSync(`/proc/${run.init}/exe`), realpathSync(process.execPath));
        await sleep(500);
        const zombies = childrenOf(run.init).filter((p) => p.state === 'Z');
        assert.ok(zombies.length >= 2, `zombies under node: ${JSON.stringify(zombies)}`);
        assert.ok(zombies.every((z) => z.comm === 'sleep'));
      } finally {
        run.ns.kill('SIGKILL');
        await run.exit;
      }
    });
  });
});
