import assert from 'node:assert/strict';
import { startAgent, type RunningAgent } from '../helpers/agent';
import { startTelegrafStandin, type TelegrafStandin } from '../helpers/telegraf-standin';
import { sleep, SseClient } from './sse-client';

describe('stream: one upstream scrape per interval, whatever the number of clients', function () {
  let a: RunningAgent | undefined;
  let standin: TelegrafStandin | undefined;
  const clients: SseClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await a?.stop();
    await standin?.stop();
    a = standin = undefined;
  });

  it('50 clients: Telegraf sees ≈ window / PROMETHEUS_POLLER_INTERVAL_MS scrapes, and each client ≤ one system event per interval', async () => {
    const intervalMs = 200;
    standin = await startTelegrafStandin({ system: [{ name: 'cpu_usage_user', labels: { cpu: 'cpu-total' }, value: 1 }] });
    const s = standin;
    a = await startAgent({ SYSTEM_METRICS_SOURCE: 'telegraf', PROMETHEUS_TELEGRAF_ENDPOINT: s.url, PROMETHEUS_POLLER_INTERVAL_MS: String(intervalMs) });

    for (let i = 0; i < 50; i++) clients.push(await SseClient.open(`${a.url}/metrics/stream?source=system`));
    await Promise.all(clients.map((c) => c.waitForEvents(1)));

    // Telegraf's value changes faster than the poll interval: every scrape brings news.
    let v = 1;
    const changer = setInterval(() => s.setSystem([{ name: 'cpu_usage_user', labels: { cpu: 'cpu-total' }, value: ++v }]), 40);
    try {
      const windowMs = 2000;
      const scrapes0 = s.scrapes();
      const events0 = clients.map((c) => c.events.length);
      await sleep(windowMs);
      const scrapes = s.scrapes() - scrapes0;
      const expected = windowMs / intervalMs;
      assert.ok(scrapes >= expected - 3 && scrapes <= expected + 2, `${scrapes} scrapes in ${windowMs} ms at ${intervalMs} ms with 50 clients (expected ≈ ${expected})`);
      for (const [i, c] of clients.entries()) {
        const got = c.events.length - events0[i];
        assert.ok(got >= expected / 2 && got <= expected + 2, `client ${i}: ${got} events in ${windowMs} ms`);
        const last = c.parsed().at(-1)!;
        assert.ok(last.metrics.some((m) => m.name === 'cpu_usage_user' && m.labels.host === 'standin-node'), 'system metrics from Telegraf reach the clients');
      }
      // The clients follow Telegraf's values: the last one seen is recent.
      const seen = clients[0].parsed().at(-1)!.metrics.find((m) => m.name === 'cpu_usage_user')!.value as number;
      assert.ok(v - seen <= (2 * intervalMs) / 40 + 2, `client saw ${seen}, Telegraf has ${v}`);
    } finally {
      clearInterval(changer);
    }
  });
});
