/**
 * GET /api/v1/capabilities on real agents whose collectors read the fixture hosts (the trees the
 * collector tests use), plus the pure builder for the cases a fixture cannot produce (a permission
 * error while running as root, a collector that has not finished a cycle).
 */

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildCapabilities, type Capabilities } from '../../src/capabilities/capabilities';
import type { CollectorHealth } from '../../src/collectors/scheduler';
import { loadConfig } from '../../src/config/load';
import { fixtureDir, repoRoot, type HostCase } from '../collectors/cpu/fixture-host';
import { startAgent, type RunningAgent } from '../helpers/agent';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('GET /api/v1/capabilities', function () {
  this.timeout(20_000);
  const agents: RunningAgent[] = [];
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'mm-caps-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.stop();
  });

  /** An agent whose built-in collectors read a fixture host; nvidia-smi replays its recording when it has one. */
  const onHost = async (host: HostCase, env: Record<string, string> = {}) => {
    const d = fixtureDir(host, 't0');
    const csv = path.join(repoRoot(), 'test', 'fixtures', 'hosts', host, 'nvidia-smi.t0.csv');
    const smi = path.join(tmp, `nvidia-smi-${host}`);
    // A stand-in executable: the recorded output where there is one, else "no devices" (exit 6).
    writeFileSync(smi, host === 'nvidia' ? `#!/bin/sh\ncat '${csv}'\n` : '#!/bin/sh\necho "No devices were found"\nexit 6\n');
    chmodSync(smi, 0o755);
    const a = await startAgent({
      SYSTEM_METRICS_SOURCE: 'builtin', HOST_PROC: path.join(d, 'proc'), HOST_SYS: path.join(d, 'sys'),
      NVIDIA_SMI_PATH: smi, COLLECTOR_SCRIPTS_ENABLED: 'false', ...env,
    });
    agents.push(a);
    return a;
  };

  /** The answer once every scheduled collector finished a first cycle. */
  const settled = async (a: RunningAgent): Promise<Capabilities> => {
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${a.url}/api/v1/capabilities`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const body = (await res.json()) as Capabilities;
      if (!body.collectors.some((c) => c.reason === 'pending')) return body;
      await sleep(50);
    }
    throw new Error('collectors never finished a cycle');
  };
  const col = (c: Capabilities, name: string) => c.collectors.find((x) => x.name === name)!;

  it('dgpu: the xe card with its driver and PCI slot; no NPU, no NVIDIA, and why', async () => {
    const c = await settled(await onHost('dgpu'));
    const gpus = c.devices.filter((d) => d.kind === 'intel_gpu');
    assert.deepEqual(gpus, [{ category: 'dgpu', present: true, kind: 'intel_gpu', id: '0', card: 'card1', pci_slot: '0000:03:00.0', driver: 'xe' }]);
    assert.deepEqual(c.platform.device_summary, { igpu: 0, dgpu: 1, npu: 0 });
    assert.equal(c.platform.interface_channel, 'rest');
    assert.ok(Math.abs(Date.parse(c.generated_at) - Date.now()) < 10_000, c.generated_at);
    assert.equal(col(c, 'intel_gpu').active, true);
    assert.equal(c.accelerators.intel_gpu.available, true);
    assert.deepEqual({ ...c.accelerators.intel_npu, detail: undefined }, { available: false, collector: 'intel_npu', reason: 'no_device', detail: undefined });
    assert.match(c.accelerators.intel_npu.detail ?? '', /intel_vpu/);
    assert.equal(c.accelerators.nvidia_gpu.reason, 'no_device');
    assert.match(c.accelerators.nvidia_gpu.detail ?? '', /exited with code 6: No devices were found/);
    for (const name of ['cpu', 'mem']) assert.equal(col(c, name).active, true, name);
    // This host's tree has no hwmon or thermal zone: absent, not failing.
    assert.equal(col(c, 'temp').reason, 'no_device');
    assert.equal(c.system_metrics_source, 'builtin');
  });

  it('lnl-npu: the NPU with its generation (LNL) and telemetry state', async () => {
    const c = await settled(await onHost('lnl-npu'));
    const npus = c.devices.filter((d) => d.kind === 'intel_npu');
    assert.equal(npus.length, 1);
    assert.equal(npus[0].generation, 'LNL');
    assert.equal(npus[0].pci_slot, '0000:00:0b.0');
    assert.equal(npus[0].telemetry, 'ok');
    assert.equal(npus[0].category, 'npu');
    assert.equal(c.platform.device_summary.npu, 1);
    assert.equal(c.accelerators.intel_npu.available, true);
    assert.equal(c.accelerators.intel_gpu.reason, 'no_device');
  });

  it('desktop: the integrated i915 GPU', async () => {
    const c = await settled(await onHost('desktop'));
    assert.deepEqual(c.devices.filter((d) => d.kind === 'intel_gpu').map((d) => [d.id, d.driver, d.pci_slot, d.category]), [['0', 'i915', '0000:00:02.0', 'igpu']]);
  });

  it('nvidia: both GPUs from nvidia-smi, with model and uuid', async () => {
    const c = await settled(await onHost('nvidia'));
    const gpus = c.devices.filter((d) => d.kind === 'nvidia_gpu');
    assert.deepEqual(gpus.map((g) => [g.id, g.model]), [['0', 'NVIDIA A100-SXM4-40GB'], ['1', 'NVIDIA GeForce RTX 3060']]);
    assert.match(String(gpus[0].uuid), /^GPU-/);
    assert.equal(c.accelerators.nvidia_gpu.available, true);
  });

  it('says not_installed when nvidia-smi does not exist, and disabled (naming the variable) for what config turned off', async () => {
    const c = await settled(await onHost('desktop', { NVIDIA_SMI_PATH: path.join(tmp, 'no-such-nvidia-smi'), COLLECTOR_TEMP_ENABLED: 'false', FORWARD_REMOTE_WRITE_URL: 'http://127.0.0.1:9/api/v1/write', TELEGRAF_FORWARD: 'auto' }));
    assert.equal(c.accelerators.nvidia_gpu.reason, 'not_installed');
    assert.deepEqual(col(c, 'temp'), { name: 'temp', covers: 'system', active: false, reason: 'disabled', detail: 'COLLECTOR_TEMP_ENABLED=false' });
    assert.deepEqual(col(c, 'scripts').detail, 'COLLECTOR_SCRIPTS_ENABLED=false');
    const rw = c.sinks.find((s) => s.name === 'remote-write')!;
    assert.equal(rw.active, true);
    assert.equal(rw.url, 'http://127.0.0.1:9/api/v1/write');
    assert.deepEqual(c.sinks.find((s) => s.name === 'influx-v1'), { name: 'influx-v1', active: false, reason: 'disabled', detail: 'FORWARD_INFLUX_URL is not set' });
    assert.equal(c.sources.find((s) => s.name === 'telegraf')?.reason, 'disabled');
    assert.equal(c.sinks.find((s) => s.name === 'telegraf')?.detail, 'TELEGRAF_FORWARD=auto and SYSTEM_METRICS_SOURCE=builtin (no Telegraf assumed)');
  });

  it('SYSTEM_METRICS_SOURCE=none: every collector disabled, naming the setting; other methods get 405', async () => {
    const a = await startAgent({ SYSTEM_METRICS_SOURCE: 'none', COLLECTOR_SCRIPTS_ENABLED: 'false' });
    agents.push(a);
    const c = await settled(a);
    assert.deepEqual(c.devices, []);
    for (const x of c.collectors) assert.equal(x.active, false, x.name);
    assert.equal(col(c, 'intel_gpu').detail, 'SYSTEM_METRICS_SOURCE=none');
    assert.equal(c.accelerators.intel_gpu.reason, 'disabled');
    // The reference's profiles: minimal (default) and expanded; anything else is a 422 naming it.
    const expanded = (await (await fetch(`${a.url}/api/v1/capabilities?profile=expanded`)).json()) as Capabilities;
    assert.equal(expanded.profile, 'expanded');
    assert.equal(c.profile, 'minimal');
    const bad = await fetch(`${a.url}/api/v1/capabilities?profile=full`);
    assert.equal(bad.status, 422);
    assert.match(((await bad.json()) as { message: string }).message, /profile must be minimal or expanded, got "full"/);
    const post = await fetch(`${a.url}/api/v1/capabilities`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET');
  });
});

describe('buildCapabilities (pure)', () => {
  const health = (name: string, over: Partial<CollectorHealth> = {}): CollectorHealth => ({
    name, intervalMs: 1000, present: true, runs: 1, failures: 0, consecutiveFailures: 0, lastError: null, lastDurationMs: 1, lastSuccessMs: 1, samples: 1, ...over,
  });
  const config = loadConfig({ SYSTEM_METRICS_SOURCE: 'telegraf' });

  it('a permission error is no_permission, another error failing, no cycle yet pending', () => {
    const c = buildCapabilities({
      config,
      nowMs: 0,
      hostname: 'n1',
      collectors: [
        { health: health('intel_gpu', { present: null, consecutiveFailures: 2, lastError: "EACCES: permission denied, scandir '/sys/class/drm'" }) },
        { health: health('intel_npu', { present: null }) },
        { health: health('nvidia', { consecutiveFailures: 1, lastError: 'nvidia-smi exited with code 15: GPU is lost' }) },
      ],
      telegraf: { status: 'down', url: 'http://t:9273/metrics', lastError: 'ECONNREFUSED', lastErrorMs: 1, lastSuccessMs: null, downSinceMs: 1, consecutiveFailures: 3, scrapesTotal: 3, scrapesFailed: 3, scrapesOversize: 0 } as never,
      sinks: [{ name: 'telegraf', url: 'http://t:8186/write', up: 0 }],
    });
    assert.equal(c.accelerators.intel_gpu.reason, 'no_permission');
    assert.equal(c.accelerators.intel_npu.reason, 'pending');
    assert.equal(c.accelerators.nvidia_gpu.reason, 'failing');
    assert.match(c.accelerators.nvidia_gpu.detail ?? '', /GPU is lost/);
    // Telegraf mode: node-wide collectors are Telegraf's job.
    assert.match(c.collectors.find((x) => x.name === 'cpu')?.detail ?? '', /SYSTEM_METRICS_SOURCE=telegraf/);
    assert.deepEqual(c.sources[0], { name: 'telegraf', active: false, url: config.telegrafPrometheusEndpoint, status: 'down', reason: 'failing', detail: 'ECONNREFUSED' });
    assert.deepEqual(c.sinks[0], { name: 'telegraf', active: true, url: 'http://t:8186/write', up: false });
  });

  it('an NPU without readable telemetry is active, with the telemetry state in its detail', () => {
    const c = buildCapabilities({
      config: loadConfig({}),
      nowMs: 0,
      hostname: 'n1',
      collectors: [{ health: health('intel_npu'), findings: { devices: [{ kind: 'intel_npu', id: '0000:00:0b.0', generation: null, telemetry: 'unreadable' }], detail: 'telemetry unreadable: EACCES' } }],
      sinks: [],
    });
    const npu = c.collectors.find((x) => x.name === 'intel_npu')!;
    assert.equal(npu.active, true);
    assert.equal(npu.devices, 1);
    assert.match(npu.detail ?? '', /unreadable/);
    assert.equal(c.accelerators.intel_npu.available, true);
  });
});
