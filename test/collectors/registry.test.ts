/**
 * The collector registry: every folder's definition is consistent with its collector, the config
 * schema is built from the definitions, the enabled set follows SYSTEM_METRICS_SOURCE, and
 * settings that used to be unreachable (per-core CPU series) can be set.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Collection, Collector } from '../../src/collectors/collector';
import { createCollectors } from '../../src/collectors';
import type { CollectorDefinition, SettingsFragment } from '../../src/collectors/definition';
import { COLLECTOR_SETTINGS, COLLECTORS } from '../../src/collectors/registry';
import { CollectorScheduler } from '../../src/collectors/scheduler';
import { loadConfig, parseConfig } from '../../src/config/load';
import { SETTINGS } from '../../src/config/schema';
import { LineProtocolParser } from '../../src/formats/influx/parse';
import { Hub } from '../../src/hub/hub';
import { createLogger } from '../../src/log/logger';
import { SeriesStore } from '../../src/store/series-store';
import { SelfMetrics } from '../../src/telemetry/self-metrics';
import { fixtureFs, repoRoot, testEnv } from './cpu/fixture-host';

const defs = COLLECTORS as unknown as CollectorDefinition<SettingsFragment>[];
const parser = new LineProtocolParser();
const logger = createLogger({ level: 'error', format: 'json', service: 't', version: 't', silent: true });

describe('collectors: registry', () => {
  it('each definition names its collector, its switch and interval settings, and the interval default', () => {
    const config = parseConfig({});
    const values = config as unknown as Record<string, unknown>;
    const env = testEnv(fixtureFs('desktop', 't0'));
    assert.equal(new Set(defs.map((d) => d.name)).size, defs.length, 'names are unique');
    for (const d of defs) {
      assert.ok(d.enabledKey in d.settings && d.intervalKey in d.settings, d.name);
      assert.equal(values[d.intervalKey], d.defaultIntervalMs, `${d.name}: interval default`);
      const c = d.create(config as never, { env, parser });
      assert.equal(c.name, d.name);
      assert.equal(c.defaultIntervalMs, d.defaultIntervalMs, `${d.name}: collector and definition agree`);
    }
  });

  it('the config schema holds every collector setting, with its env name, once', () => {
    const envNames = new Map<string, string>();
    for (const [key, [env]] of Object.entries(SETTINGS as Record<string, readonly [string, unknown]>)) {
      assert.ok(!envNames.has(env), `${env} is used by ${envNames.get(env)} and ${key}`);
      envNames.set(env, key);
    }
    for (const d of defs) {
      for (const [key, [env]] of Object.entries(d.settings)) {
        assert.equal(envNames.get(env), key, `${d.name}: ${env} → ${key}`);
        assert.ok(key in COLLECTOR_SETTINGS);
      }
    }
    // An invalid collector setting is reported with its variable, like any other.
    assert.throws(() => loadConfig({ COLLECTOR_CPU_PERCPU: 'sometimes' }), /COLLECTOR_CPU_PERCPU/);
    assert.throws(() => loadConfig({ COLLECTOR_INTEL_NPU_INTERVAL_MS: '500' }), /COLLECTOR_INTEL_NPU_INTERVAL_MS/);
  });

  it('docs/configuration.md lists every collector setting', () => {
    const doc = readFileSync(path.join(repoRoot(), 'docs', 'configuration.md'), 'utf8');
    const generic = /COLLECTOR_<NAME>_(ENABLED|INTERVAL_MS)/;
    for (const d of defs) {
      for (const [key, [env]] of Object.entries(d.settings)) {
        if (key === d.enabledKey || key === d.intervalKey) {
          assert.match(doc, generic);
          assert.ok(doc.includes(d.name.toUpperCase()), `${d.name} named in the COLLECTOR_<NAME> row`);
        } else {
          assert.ok(doc.includes(`\`${env}\``), `${env} documented`);
        }
      }
    }
  });

  it('the enabled set follows SYSTEM_METRICS_SOURCE and the switches', () => {
    const env = testEnv(fixtureFs('desktop', 't0'));
    const names = (e: Record<string, string>) => createCollectors(loadConfig(e), env, parser).map((s) => s.collector.name);
    assert.deepEqual(names({}), ['cpu', 'mem', 'temp', 'cpufreq', 'intel_gpu', 'intel_npu', 'nvidia', 'pod_resources', 'scripts']);
    assert.deepEqual(names({ SYSTEM_METRICS_SOURCE: 'telegraf' }), ['intel_gpu', 'intel_npu', 'nvidia', 'pod_resources', 'scripts']);
    assert.deepEqual(names({ SYSTEM_METRICS_SOURCE: 'none' }), ['scripts']);
    assert.deepEqual(names({ COLLECTOR_MEM_ENABLED: 'false', COLLECTOR_SCRIPTS_ENABLED: 'no' }), ['cpu', 'temp', 'cpufreq', 'intel_gpu', 'intel_npu', 'nvidia', 'pod_resources']);
    const intervals = createCollectors(loadConfig({ COLLECTOR_TEMP_INTERVAL_MS: '2500' }), env, parser).map((s) => [s.collector.name, s.intervalMs]);
    assert.deepEqual(intervals.find(([n]) => n === 'temp'), ['temp', 2500]);
  });

  it('COLLECTOR_CPU_PERCPU and COLLECTOR_CPU_TOTALCPU reach the cpu collector', async () => {
    const series = async (e: Record<string, string>) => {
      const env = testEnv(fixtureFs('desktop', 't0'));
      const cpu = createCollectors(loadConfig({ ...e, SYSTEM_METRICS_SOURCE: 'builtin' }), env, parser).find((s) => s.collector.name === 'cpu')!.collector;
      await cpu.collect();
      env.fs = fixtureFs('desktop', 't1');
      return new Set((await cpu.collect()).samples.map((s) => s.labels.cpu));
    };
    const all = await series({});
    assert.ok(all.has('cpu-total') && all.has('cpu0'), [...all].join());
    assert.deepEqual([...(await series({ COLLECTOR_CPU_PERCPU: 'false' }))], ['cpu-total']);
    const perCore = await series({ COLLECTOR_CPU_TOTALCPU: 'false' });
    assert.ok(!perCore.has('cpu-total') && perCore.has('cpu0'));
  });

  it('the scheduler stops each collector once and shows collector details under its name', async () => {
    const stops: string[] = [];
    const make = (name: string, details?: unknown): Collector => ({
      name,
      defaultIntervalMs: 1000,
      collect: async (): Promise<Collection> => ({ samples: [], present: true }),
      stop: () => void stops.push(name),
      ...(details !== undefined ? { details: () => details } : {}),
    });
    const config = parseConfig({});
    const store = new SeriesStore(() => config, Date.now);
    const hub = new Hub(store, new SelfMetrics({ series: () => store.size, bytes: () => store.bytes }));
    const s = new CollectorScheduler([{ collector: make('a', [{ x: 1 }]), intervalMs: 1000 }, { collector: make('b'), intervalMs: 1000 }], hub, 'h', logger);
    s.start();
    assert.deepEqual(s.details(), { a: [{ x: 1 }] });
    await s.stop();
    await s.stop();
    assert.deepEqual(stops, ['a', 'b']);
  });
});
