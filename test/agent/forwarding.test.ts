import assert from 'node:assert/strict';
import { Agent } from '../../src/agent';
import { loadConfig } from '../../src/config/load';
import { postJson, postText, startAgent, type RunningAgent } from '../helpers/agent';
import { startTelegrafStandin } from '../helpers/telegraf-standin';
import { captureLogger } from '../sinks/helpers';

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not met in time');
}

describe('agent forwarding custom metrics to Telegraf (Telegraf stand-in)', () => {
  let standin: Awaited<ReturnType<typeof startTelegrafStandin>>;
  let a: RunningAgent;
  before(async () => {
    standin = await startTelegrafStandin({});
    a = await startAgent({ TELEGRAF_FORWARD: 'true', TELEGRAF_HTTP_ENDPOINT: standin.writeUrl, FILE_PERSIST_DEBOUNCE_MS: '50', RATE_LIMIT_ENABLED: 'false' });
  });
  after(async () => {
    await a.stop();
    await standin.stop();
  });

  it('forwards every pushed format as line protocol that round-trips, with exact escaping', async () => {
    await postJson(`${a.url}/api/v1/metrics/simple`, { name: 'fps', value: 29.97, tags: { source: 'cam 1, "left"' } });
    await postText(`${a.url}/write`, 'inference,model=yolo latency_ms=23.5,frames=42i');
    await until(() => standin.received().length >= 3);
    const lines = standin.received().join('\n');
    assert.match(lines, /^fps,source=cam\\ 1\\,\\ "left" value=29\.97 \d+$/m);
    assert.match(lines, /^inference_latency_ms,model=yolo value=23\.5 \d+$/m);
    assert.match(lines, /^inference_frames,model=yolo value=42 \d+$/m);
    const self = await (await fetch(`${a.url}/metrics/self`)).text();
    assert.match(self, /metrics_manager_forward_samples_sent_total\{sink="telegraf"\} 3/);
  });

  it('keeps data while Telegraf is down and delivers it when it is back; health shows the sink', async () => {
    await standin.down();
    await postJson(`${a.url}/api/v1/metrics/simple`, { name: 'while_down', value: 1 });
    await until(async () => {
      const h = (await (await fetch(`${a.url}/api/health`)).json()) as { sinks: Array<{ name: string; up: number }> };
      return h.sinks.find((s) => s.name === 'telegraf')?.up === 0;
    });
    await standin.up();
    await until(() => standin.received().some((l) => l.startsWith('while_down ')), 40_000);
  });
});

describe('agent with TELEGRAF_HTTP_ENDPOINT set and TELEGRAF_FORWARD unset (Telegraf stand-in)', () => {
  it('forwards, and says so at start with the reason', async () => {
    const standin = await startTelegrafStandin({});
    const log = captureLogger();
    const config = loadConfig({ METRICS_PORT: '0', HOST: '127.0.0.1', SYSTEM_METRICS_SOURCE: 'none', TELEGRAF_HTTP_ENDPOINT: standin.writeUrl, FILE_PERSIST_DEBOUNCE_MS: '50' });
    const agent = new Agent({ config, logger: log.logger });
    await agent.start();
    try {
      const started = log.lines.find((l) => l.message === 'forwarding custom metrics to Telegraf') as Record<string, unknown> | undefined;
      assert.ok(started, JSON.stringify(log.lines.map((l) => l.message)));
      assert.equal(started.endpoint, standin.writeUrl);
      assert.match(String(started.reason), /TELEGRAF_HTTP_ENDPOINT set without TELEGRAF_FORWARD/);
      await postJson(`http://127.0.0.1:${agent.port}/api/v1/metrics/simple`, { name: 'explicit_endpoint', value: 1 });
      await until(() => standin.received().some((l) => l.startsWith('explicit_endpoint ')));
    } finally {
      await agent.stop();
      await standin.stop();
    }
  });

  it('with TELEGRAF_FORWARD=false too: forwards nothing and logs why at start', async () => {
    const log = captureLogger();
    const config = loadConfig({ METRICS_PORT: '0', HOST: '127.0.0.1', SYSTEM_METRICS_SOURCE: 'none', TELEGRAF_HTTP_ENDPOINT: 'http://127.0.0.1:9/write', TELEGRAF_FORWARD: 'false' });
    const agent = new Agent({ config, logger: log.logger });
    await agent.start();
    try {
      const line = log.lines.find((l) => l.message === 'not forwarding to Telegraf') as Record<string, unknown> | undefined;
      assert.ok(line);
      assert.equal(line.reason, 'TELEGRAF_FORWARD=false; TELEGRAF_HTTP_ENDPOINT=http://127.0.0.1:9/write is not used');
      const health = (await (await fetch(`http://127.0.0.1:${agent.port}/api/health`)).json()) as { sinks?: Array<{ name: string }> };
      assert.deepEqual((health.sinks ?? []).map((s) => s.name), []);
    } finally {
      await agent.stop();
    }
  });
});
