#!/usr/bin/env node
/**
 * The command line: `metrics-manager [agent|controller]`. The only place that reads argv and the
 * environment, installs signal handlers and calls process.exit.
 */

import { Agent } from './agent';
import { clusterOptionsFromEnv } from './cluster/options';
import { ConfigError, loadConfig } from './config/load';
import { controllerFromEnv } from './controller';
import { HEAP_SIZED_ENV, heapSizing } from './memory/heap-size';
import { applyAgentV8Flags } from './memory/v8-flags';
import { Top } from './top/top';

const USAGE = 'usage: metrics-manager [agent|controller|top [URL]]';

async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'agent';
  if (command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command === 'controller') return controllerCommand();
  if (command === 'top') return topCommand(argv[1]);
  if (command !== 'agent') {
    process.stderr.write(`unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`metrics-manager: ${e.message}\n`);
      return 78; // EX_CONFIG
    }
    throw e;
  }
  const heap = heapSizing(process.execArgv, process.env.NODE_OPTIONS, process.env[HEAP_SIZED_ENV]);
  const v8Flags = applyAgentV8Flags();
  const agent = new Agent({ config, cluster: clusterOptionsFromEnv(process.env), heapSizing: heap, v8Flags });
  const stop = (signal: string) => {
    agent.logger.info('shutting down', { signal });
    agent.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        agent.logger.error('shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  try {
    await agent.start();
  } catch (e) {
    agent.logger.error('agent failed to start', { error: String(e) });
    return 1;
  }
  return -1; // keep running
}

/** `metrics-manager controller`: runs until SIGTERM/SIGINT, then releases its leader lease and exits. */
function controllerCommand(): number {
  let built;
  try {
    built = controllerFromEnv(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`metrics-manager: ${e.message}\n`);
      return 78; // EX_CONFIG
    }
    throw e;
  }
  const { controller, logger } = built;
  const stop = (signal: string) => {
    logger.info('shutting down', { signal });
    controller.stop().then(() => process.exit(0), (err: unknown) => {
      logger.error('shutdown failed', { error: String(err) });
      process.exit(1);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  controller.start();
  return -1; // keep running
}

/**
 * `metrics-manager top [URL]`: the live terminal view. URL defaults to the local agent
 * (METRICS_PORT, else 9090). Runs until q, Ctrl-C or a signal; the terminal is restored every way.
 */
function topCommand(arg: string | undefined): number {
  const url = arg ?? `http://localhost:${process.env.METRICS_PORT || 9090}`;
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
  } catch {
    process.stderr.write(`metrics-manager top: not an http(s) URL: ${JSON.stringify(url)}\n${USAGE}\n`);
    return 2;
  }
  if (!process.stdout.isTTY) {
    process.stderr.write('metrics-manager top: needs a terminal (for a one-off look use curl -N -H "Accept: text/event-stream" <URL>/metrics/stream)\n');
    return 2;
  }
  const top = new Top({ url, term: { input: process.stdin, output: process.stdout }, onExit: (code) => process.exit(code) });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => top.stop(sig === 'SIGINT' ? 130 : 143));
  top.start();
  return -1; // keep running
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`metrics-manager: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
