/**
 * The agent as a real child process (`node build/src/main.js agent`), for tests that kill it, limit
 * its memory or measure it from outside. In-process agents (helpers/agent.ts) are the default.
 */

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { MemoryCgroup } from './memory-cgroup';
import { freePort } from './tools';

export const MAIN_JS = path.resolve(__dirname, '..', '..', 'src', 'main.js');

export interface AgentProcess {
  child: ChildProcess;
  url: string;
  port: number;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface AgentProcessOptions {
  env?: Record<string, string>;
  /** Run inside this memory cgroup. */
  cgroup?: MemoryCgroup;
  /** Extra node flags (e.g. --max-old-space-size). */
  nodeArgs?: string[];
  /** How long to wait for /health. Default 15 s. */
  startTimeoutMs?: number;
}

/** Starts the agent on a free loopback port and waits until /health answers. */
export async function startAgentProcess(opts: AgentProcessOptions = {}): Promise<AgentProcess> {
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    METRICS_PORT: String(port),
    HOST: '127.0.0.1',
    SYSTEM_METRICS_SOURCE: 'none',
    TELEGRAF_FORWARD: 'false',
    LOG_LEVEL: 'warn',
    ...opts.env,
  };
  const args = [...(opts.nodeArgs ?? []), MAIN_JS, 'agent'];
  const spawnOpts = { env, stdio: ['ignore', 'pipe', 'pipe'] as ('ignore' | 'pipe')[] };
  const child = opts.cgroup ? opts.cgroup.spawn(process.execPath, args, spawnOpts) : spawn(process.execPath, args, spawnOpts);
  let out = '';
  const keep = (c: Buffer) => {
    out += c.toString();
    if (out.length > 1 << 20) out = out.slice(-(1 << 19));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
  for (;;) {
    if (gone) throw new Error(`agent exited before it came up:\n${out}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch { /* not yet */ }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`agent never answered /health:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    url,
    port,
    exited,
    output: () => out,
    async stop(graceMs = 5000) {
      if (gone) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}
