import assert from 'node:assert/strict';
import { parsePrometheusText } from '../../src/formats/prometheus/parse';
import { startAgent, type RunningAgent } from '../helpers/agent';
import { startTelegrafStandin } from '../helpers/telegraf-standin';

async function until(cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met in time');
}

describe('agent with SYSTEM_METRICS_SOURCE=telegraf (Telegraf stand-in)', () => {
  let standin: Awaited<ReturnType<typeof startTelegrafStandin>>;
  let a: RunningAgent;
  before(async () => {
    standin = await startTelegrafStandin({
      hostname: 'node-7',
      system: [
        { name: 'cpu_usage_user', labels: { cpu: 'cpu-total' }, value: 12.5 },
        { name: 'mem_used_percent', labels: {}, value: 40 },
      ],
    });
    a = await startAgent({
      SYSTEM_METRICS_SOURCE: 'telegraf',
      PROMETHEUS_TELEGRAF_ENDPOINT: standin.url,
      PROMETHEUS_POLLER_INTERVAL_MS: '100',
      COLLECTOR_INTEL_GPU_ENABLED: 'false',
      COLLECTOR_INTEL_NPU_ENABLED: 'false',
      COLLECTOR_NVIDIA_ENABLED: 'false',
      COLLECTOR_SCRIPTS_ENABLED: 'false',
    });
  });
  after(async () => {
    await a.stop();
    await standin.stop();
  });

  const exposed = async () => {
    const text = await (await fetch(`${a.url}/metrics`)).text();
    return parsePrometheusText(text).families.flatMap((f) => f.samples);
  };

  it("serves Telegraf's system metrics on /metrics with their names and host label", async () => {
    await until(async () => (await exposed()).some((s) => s.name === 'cpu_usage_user'));
    const cpu = (await exposed()).find((s) => s.name === 'cpu_usage_user')!;
    assert.deepEqual(cpu.labels, { cpu: 'cpu-total', host: 'node-7' });
    assert.equal(cpu.value, 12.5);
    const health = (await (await fetch(`${a.url}/api/health`)).json()) as { system_metrics_source: string; telegraf: { status: string } };
    assert.equal(health.system_metrics_source, 'telegraf');
    assert.equal(health.telegraf.status, 'up');
  });

  it('marks Telegraf down in health and self-metrics when it stops answering, and up again', async () => {
    await standin.down();
    await until(async () => ((await (await fetch(`${a.url}/api/health`)).json()) as { telegraf: { status: string } }).telegraf.status === 'down');
    assert.match(await (await fetch(`${a.url}/metrics/self`)).text(), /metrics_manager_health_dependencies_status\{dependency="telegraf"\} 0/);
    await standin.up();
    await until(async () => ((await (await fetch(`${a.url}/api/health`)).json()) as { telegraf: { status: string } }).telegraf.status === 'up', 40_000);
    assert.match(await (await fetch(`${a.url}/metrics/self`)).text(), /metrics_manager_health_dependencies_status\{dependency="telegraf"\} 1/);
  });
});
