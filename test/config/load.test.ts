import assert from 'node:assert/strict';
import { ConfigError, LiveConfig, loadConfig } from '../../src/config/load';

describe('config', () => {
  it('has the reference defaults', () => {
    const c = loadConfig({});
    assert.equal(c.port, 9090);
    assert.equal(c.retentionSeconds, 300);
    assert.equal(c.maxSeries, 100_000);
    assert.equal(c.maxBatchSize, 1000);
    assert.equal(c.rateLimitPerMinute, 1000);
    assert.equal(c.rateLimitBurst, 100);
    assert.equal(c.pollerIntervalMs, 500);
    assert.equal(c.persistDebounceMs, 100);
    assert.deepEqual(c.corsOrigins, ['*']);
    assert.equal(c.telegrafHttpEndpoint, 'http://localhost:8186/write');
    assert.equal(c.maxBodyBytes, 10 * 1024 * 1024);
    assert.equal(c.otlpMaxBodyBytes, 20 * 1024 * 1024);
  });

  it('reads env names case-insensitively and coerces types', () => {
    const c = loadConfig({ metrics_retention_seconds: '60', RATE_LIMIT_ENABLED: 'false', CORS_ORIGINS: 'http://a, http://b' });
    assert.equal(c.retentionSeconds, 60);
    assert.equal(c.rateLimitEnabled, false);
    assert.deepEqual(c.corsOrigins, ['http://a', 'http://b']);
    assert.deepEqual(loadConfig({ CORS_ORIGINS: '["http://x"]' }).corsOrigins, ['http://x']);
  });

  for (const [name, value] of [
    ['METRICS_RETENTION_SECONDS', '5'],
    ['METRICS_RETENTION_SECONDS', '12abc'],
    ['MAX_METRICS_BATCH_SIZE', '10001'],
    ['METRICS_PORT', '70000'],
    ['RATE_LIMIT_ENABLED', 'maybe'],
    ['PROMETHEUS_POLLER_INTERVAL_MS', '50'],
    ['TELEGRAF_HTTP_ENDPOINT', 'not a url'],
    ['FILE_PERSIST_DEBOUNCE_MS', '-1'],
  ]) {
    it(`rejects ${name}=${value} naming the variable`, () => {
      assert.throws(() => loadConfig({ [name]: value }), (e: unknown) => e instanceof ConfigError && e.message.includes(name));
    });
  }

  it('refuses credentials with a wildcard origin', () => {
    assert.throws(() => loadConfig({ CORS_ALLOW_CREDENTIALS: 'true' }), /CORS/);
    assert.equal(loadConfig({ CORS_ALLOW_CREDENTIALS: 'true', CORS_ORIGINS: 'http://a' }).corsAllowCredentials, true);
  });

  it('LiveConfig validates updates and notifies listeners; a bad update changes nothing', () => {
    const live = new LiveConfig(loadConfig({}));
    const seen: number[] = [];
    live.onChange((next) => seen.push(next.retentionSeconds));
    live.update({ retentionSeconds: 42 });
    assert.equal(live.get().retentionSeconds, 42);
    assert.throws(() => live.update({ retentionSeconds: 1 }), ConfigError);
    assert.equal(live.get().retentionSeconds, 42);
    assert.deepEqual(seen, [42]);
  });
});
