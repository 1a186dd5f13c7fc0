import { Agent } from '../../src/agent';
import { loadConfig } from '../../src/config/load';
import { createLogger } from '../../src/log/logger';

export interface RunningAgent {
  agent: Agent;
  url: string;
  stop(): Promise<void>;
}

/** An in-process agent on a free loopback port, with env-style overrides and silent logs. */
export async function startAgent(env: Record<string, string> = {}): Promise<RunningAgent> {
  // No collectors or forwarding unless a test asks: assertions on /metrics see only what they push.
  const config = loadConfig({ METRICS_PORT: '0', HOST: '127.0.0.1', SYSTEM_METRICS_SOURCE: 'none', TELEGRAF_FORWARD: 'false', ...env });
  const logger = createLogger({ level: 'error', format: 'json', service: 'test', version: 'test', silent: true });
  const agent = new Agent({ config, logger });
  await agent.start();
  return { agent, url: `http://127.0.0.1:${agent.port}`, stop: () => agent.stop() };
}

/** fetch with a JSON body. */
export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

export function postText(url: string, body: string | Uint8Array, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain', ...headers }, body });
}
