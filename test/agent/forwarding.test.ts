import assert from 'node:assert/strict';
import { postJson, postText, startAgent, type RunningAgent } from '../helpers/agent';
import { startTelegrafStandin } from '../helpers/telegraf-standin';

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
