/** Spec validation with the agent's config schema, and the spec → live config mapping. */

import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load';
import { configSchema, LIVE_SETTINGS } from '../../src/config/schema';
import { parseQuotaPolicy } from '../../src/quota/quotas';
import { livePatch, SPEC_SETTINGS, specSettingsAreLive, validateSpec } from '../../src/kube/spec';

describe('MetricsManagerConfig spec', () => {
  it('maps only live settings, each from one spec field', () => {
    assert.equal(specSettingsAreLive(), true, `not live: ${SPEC_SETTINGS.filter((f) => !LIVE_SETTINGS.includes(f.key)).map((f) => f.key).join(', ')}`);
    assert.equal(new Set(SPEC_SETTINGS.map((f) => f.key)).size, SPEC_SETTINGS.length);
  });

  it('a full spec is accepted; its settings and monitoring defaults come back', () => {
    const v = validateSpec({
      nodeSelector: { matchExpressions: [{ key: 'intel.feature.node.kubernetes.io/gpu', operator: 'In', values: ['true'] }] },
      retention: { seconds: 600, maxSeries: 5000 },
      rateLimit: { enabled: true, requestsPerMinute: 60, burst: 5 },
      cors: { origins: ['https://a.example'], allowCredentials: true },
      stream: { intervalMs: 250 },
      forwarding: { debounceMs: 0 },
      monitoring: { serviceMonitor: { labels: { release: 'kps' } } },
    });
    assert.ok(v.ok, v.ok ? '' : v.message);
    assert.deepEqual(v.settings, {
      retentionSeconds: 600, maxSeries: 5000, rateLimitEnabled: true, rateLimitPerMinute: 60, rateLimitBurst: 5,
      corsOrigins: ['https://a.example'], corsAllowCredentials: true, pollerIntervalMs: 250, persistDebounceMs: 0,
    });
    assert.deepEqual(v.monitoring, { serviceMonitor: { mode: 'Auto', interval: '15s', labels: { release: 'kps' } }, vmServiceScrape: { mode: 'Auto', interval: '15s', labels: {} } });
  });

  it('retention.maxSystemSeries and retention.historySeconds reach the agent like the other store settings', () => {
    const v = validateSpec({ retention: { maxSeries: 5000, maxSystemSeries: 800, historySeconds: 0 } });
    assert.ok(v.ok, v.ok ? '' : v.message);
    assert.deepEqual(v.settings, { maxSeries: 5000, maxSystemSeries: 800, historySeconds: 0 });
    const patch = livePatch(loadConfig({ MAX_SYSTEM_METRICS_IN_MEMORY: '3000', HISTORY_SECONDS: '600' }), { historySeconds: 7200 });
    assert.equal(patch.historySeconds, 7200);
    assert.equal(patch.maxSystemSeries, 3000);
    const bad = validateSpec({ retention: { historySeconds: 86_401 } });
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.match(bad.message, /spec\.retention\.historySeconds/);
  });

  it('problems name the spec field, in spec terms', () => {
    const cases: [unknown, string, RegExp][] = [
      [{ rateLimit: { requestsPerMinute: 0 } }, 'spec.rateLimit.requestsPerMinute', /greater than or equal to 1\b/],
      [{ retention: { seconds: 'long' } }, 'spec.retention.seconds', /number/],
      [{ stream: { intervalMs: 50 } }, 'spec.stream.intervalMs', /greater than or equal to 100\b/],
      [{ cors: { allowCredentials: true } }, 'spec.cors.origins', /spec\.cors\.allowCredentials=true needs explicit spec\.cors\.origins/],
      [{ rateLimit: { requestPerMinute: 5 } }, 'spec.rateLimit', /requestPerMinute/],
      [{ nodeSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } }, 'spec.nodeSelector.matchExpressions[0].values', /must not be empty/],
      [{ monitoring: { vmServiceScrape: { mode: 'Sometimes' } } }, 'spec.monitoring.vmServiceScrape.mode', /Auto/],
      [{ monitoring: { serviceMonitor: { labels: { 'bad key!': 'x' } } } }, 'spec.monitoring.serviceMonitor.labels', /label key/],
      [{ ingest: { quotas: { default: { maxSeries: -1 } } } }, 'spec.ingest.quotas', /default\.maxSeries/],
    ];
    for (const [spec, field, message] of cases) {
      const v = validateSpec(spec);
      assert.equal(v.ok, false, JSON.stringify(spec));
      if (v.ok) continue;
      const p = v.problems.find((x) => x.field.startsWith(field));
      assert.ok(p, `${JSON.stringify(spec)} → ${v.message}`);
      assert.match(p.message, message, v.message);
      assert.ok(v.message.startsWith('spec.'), v.message);
    }
  });

  it('spec.ingest.quotas (an object) becomes the agent\'s QUOTAS policy', () => {
    const quotas = { default: { maxSeries: 100 }, namespaces: { 'team-b': { samplesPerSecond: 50 } } };
    const v = validateSpec({ ingest: { quotas } });
    assert.ok(v.ok, v.ok ? '' : v.message);
    const live = configSchema.parse({ ...loadConfig({}), ...livePatch(loadConfig({}), v.settings) });
    assert.deepEqual(parseQuotaPolicy(live.quotas), { default: { maxSeries: 100, samplesPerSecond: 0, requestsPerSecond: 0 }, namespaces: { 'team-b': { maxSeries: 0, samplesPerSecond: 50, requestsPerSecond: 0 } } });
  });

  it('livePatch: fields left out fall back to the node\'s own settings', () => {
    const base = loadConfig({ METRICS_RETENTION_SECONDS: '900', RATE_LIMIT_BURST: '7' });
    const patch = livePatch(base, { rateLimitBurst: 50 });
    assert.equal(patch.rateLimitBurst, 50);
    assert.equal(patch.retentionSeconds, 900);
    assert.deepEqual(Object.keys(patch).sort(), SPEC_SETTINGS.map((f) => f.key).sort());
  });
});
