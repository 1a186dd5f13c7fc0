/**
 * The Telegraf stand-in must behave like the Telegraf it replaces (influxdb_listener on /write,
 * prometheus_client v1 on /metrics as telegraf/telegraf.conf sets them up), or tests built on it
 * prove nothing.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { parsePrometheusText } from '../../../src/formats/prometheus/parse';
import { goFloat, startTelegrafStandin, type TelegrafStandin } from '../../helpers/telegraf-standin';
import { requireTool } from '../../helpers/tools';

describe('Telegraf stand-in', () => {
  let standin: TelegrafStandin;
  let clock = 1_700_000_000_500;

  beforeEach(async () => {
    clock = 1_700_000_000_500;
    standin = await startTelegrafStandin({ hostname: 'node-a', now: () => clock });
  });

  afterEach(async () => {
    await standin.stop();
  });

  function post(body: string | Uint8Array, query = '', headers: Record<string, string> = {}): Promise<Response> {
    return fetch(standin.writeUrl + query, { method: 'POST', body, headers });
  }

  it('accepts line protocol on /write (204) and exports it with Telegraf v1 naming, host label, HELP/TYPE and ms timestamps', async () => {
    const res = await post('app_fps,model=yolo value=30,latency_ms=12.5 1700000000123456789\nqueue depth=3i\n');
    assert.equal(res.status, 204);
    assert.deepEqual(standin.received(), ['app_fps,model=yolo value=30,latency_ms=12.5 1700000000123456789', 'queue depth=3i']);
    assert.equal(standin.stats().linesAccepted, 2);

    const text = await (await fetch(standin.metricsUrl)).text();
    assert.equal(text, [
      '# HELP app_fps Telegraf collected metric',
      '# TYPE app_fps untyped',
      'app_fps{host="node-a",model="yolo"} 30 1700000000123',
      '# HELP app_fps_latency_ms Telegraf collected metric',
      '# TYPE app_fps_latency_ms untyped',
      'app_fps_latency_ms{host="node-a",model="yolo"} 12.5 1700000000123',
      '# HELP queue_depth Telegraf collected metric',
      '# TYPE queue_depth untyped',
      // No timestamp in the line: the listener stamps the arrival time.
      'queue_depth{host="node-a"} 3 1700000000500',
      '',
    ].join('\n'));
    assert.equal(standin.scrapes(), 1);
    assert.deepEqual(parsePrometheusText(text).errors, []);
  });

  it('honours ?precision= (default nanoseconds, like Telegraf) and gzip bodies', async () => {
    assert.equal((await post('s_metric value=1 1700000001', '?precision=s')).status, 204);
    assert.equal((await post('u_metric value=1 1700000002000000', '?precision=u')).status, 204);
    assert.equal((await post(gzipSync('z_metric value=2 1700000003000000000\n'), '', { 'content-encoding': 'gzip' })).status, 204);
    const text = standin.render();
    assert.match(text, /^s_metric\{host="node-a"\} 1 1700000001000$/m);
    assert.match(text, /^u_metric\{host="node-a"\} 1 1700000002000$/m);
    assert.match(text, /^z_metric\{host="node-a"\} 2 1700000003000$/m);
  });

  it('answers 400 "partial write" on bad lines and still keeps the good ones; 413 past the body limit', async () => {
    const res = await post('good value=1\nthis is bad\nalso_good value=2\nbad2 value=\n');
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: string };
    assert.match(body.error, /^partial write: line 2: .* \(and 1 other parse error\)$/);
    assert.deepEqual(standin.received(), ['good value=1', 'also_good value=2']);
    assert.equal(standin.stats().linesRejected, 2);
    assert.match(standin.render(), /^also_good\{host="node-a"\} 2 /m);

    const small = await startTelegrafStandin({ maxBodyBytes: 100 });
    try {
      const big = await fetch(small.writeUrl, { method: 'POST', body: 'm value=1\n'.repeat(20) });
      assert.equal(big.status, 413);
      const bomb = await fetch(small.writeUrl, { method: 'POST', body: gzipSync('m value=1\n'.repeat(1000)), headers: { 'content-encoding': 'gzip' } });
      assert.equal(bomb.status, 413);
      assert.equal(small.stats().tooLarge, 2);
      assert.deepEqual(small.received(), []);
    } finally {
      await small.stop();
    }
  });

  it('serves system samples; unions a family\'s labels with "" for missing ones; Go float format', async () => {
    standin.setSystem([
      { name: 'cpu_usage_idle', labels: { cpu: 'cpu1' }, value: 97.5 },
      { name: 'cpu_usage_idle', labels: { cpu: 'cpu-total' }, value: 98 },
      { name: 'mem_total', value: 16_000_000_000, type: 'gauge', timestampMs: 1_699_999_999_000 },
      { name: 'temp_temp', labels: { sensor: 'coretemp_package_id_0' }, value: 48 },
      { name: 'weird', labels: { a: 'x"y\\z\nw' }, value: NaN, timestampMs: null },
      { name: 'weird', labels: { b: '1' }, value: 1e-5, timestampMs: null },
    ]);
    const text = standin.render();
    assert.equal(text, [
      '# HELP cpu_usage_idle Telegraf collected metric',
      '# TYPE cpu_usage_idle untyped',
      'cpu_usage_idle{cpu="cpu-total",host="node-a"} 98 1700000000000',
      'cpu_usage_idle{cpu="cpu1",host="node-a"} 97.5 1700000000000',
      '# HELP mem_total Telegraf collected metric',
      '# TYPE mem_total gauge',
      'mem_total{host="node-a"} 1.6e+10 1699999999000',
      '# HELP temp_temp Telegraf collected metric',
      '# TYPE temp_temp untyped',
      'temp_temp{host="node-a",sensor="coretemp_package_id_0"} 48 1700000000000',
      '# HELP weird Telegraf collected metric',
      '# TYPE weird untyped',
      'weird{a="",b="1",host="node-a"} 1e-05',
      'weird{a="x\\"y\\\\z\\nw",b="",host="node-a"} NaN',
      '',
    ].join('\n'));
    assert.deepEqual(parsePrometheusText(text).errors, []);
  });

  it('output passes promtool check metrics (the Prometheus client parser)', function () {
    if (!requireTool(this, '/usr/bin/promtool', 'prometheus')) return;
    standin.setSystem([
      { name: 'cpu_usage_user', labels: { cpu: 'cpu-total' }, value: 1.25 },
      { name: 'weird', labels: { a: 'x"y\\z\nw' }, value: -Infinity },
      { name: 'big', value: 123456789012 },
    ]);
    const r = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: standin.render(), encoding: 'utf8' });
    // 0 = clean, 3 = lint findings only; 1 = the text could not be parsed.
    assert.ok(r.status === 0 || r.status === 3, `promtool exit ${r.status}: ${r.stdout}${r.stderr}`);
  });

  it('mimics the shipped conf: listener tags mm_origin=custom, the output drops it', async () => {
    const conf = await startTelegrafStandin({ listenerTags: { mm_origin: 'custom' } });
    try {
      conf.setSystem([{ name: 'mem_used_percent', value: 40 }]);
      assert.equal((await fetch(conf.writeUrl, { method: 'POST', body: 'app_fps value=30\n' })).status, 204);
      assert.deepEqual(conf.received(), ['app_fps value=30']);
      const text = conf.render();
      assert.match(text, /^mem_used_percent\{host="standin-node"\} 40 \d+$/m);
      assert.doesNotMatch(text, /app_fps/);
    } finally {
      await conf.stop();
    }
  });

  it('expires received series after expiration_interval', async () => {
    const s = await startTelegrafStandin({ now: () => clock, expirationMs: 10_000 });
    try {
      await fetch(s.writeUrl, { method: 'POST', body: 'm value=1\n' });
      assert.match(s.render(), /^m\{/m);
      clock += 10_001;
      assert.equal(s.render(), '');
    } finally {
      await s.stop();
    }
  });

  it('fails on demand, goes down (connection refused) and comes back on the same port', async () => {
    standin.setFailure(500, 'write');
    assert.equal((await post('m value=1\n')).status, 500);
    assert.equal((await fetch(standin.metricsUrl)).status, 200);
    standin.setFailure(503);
    assert.equal((await fetch(standin.metricsUrl)).status, 503);
    standin.setFailure(null);
    assert.equal((await post('m value=1\n')).status, 204);
    assert.equal(standin.stats().failedRequests, 2);

    await standin.down();
    assert.equal(standin.isUp, false);
    // A client with a pooled connection may first see that connection closing ("other side closed").
    const code = async (): Promise<string> => {
      try {
        await fetch(standin.metricsUrl);
        return 'answered';
      } catch (err) {
        return String(((err as Error).cause as NodeJS.ErrnoException | undefined)?.code);
      }
    };
    const first = await code();
    assert.ok(first === 'ECONNREFUSED' || first === 'UND_ERR_SOCKET', first);
    assert.equal(await code(), 'ECONNREFUSED');
    await standin.up();
    assert.equal((await fetch(standin.metricsUrl)).status, 200);
    assert.equal((await fetch(standin.url + '/ping')).status, 204);
    assert.deepEqual(await (await fetch(standin.url + '/query')).json(), { results: [] });
  });

  it('keeps a bounded list of received lines', async () => {
    const s = await startTelegrafStandin({ maxLines: 3 });
    try {
      await fetch(s.writeUrl, { method: 'POST', body: 'a value=1\nb value=2\nc value=3\nd value=4\ne value=5\n' });
      await s.waitForLines(5, 1000);
      assert.deepEqual(s.received(), ['c value=3', 'd value=4', 'e value=5']);
      assert.equal(s.stats().linesDropped, 2);
      await assert.rejects(s.waitForLines(6, 50), /5 lines after 50 ms/);
    } finally {
      await s.stop();
    }
  });

  it('formats floats like Go\'s strconv.FormatFloat(v, \'g\', -1, 64)', () => {
    const cases: Array<[number, string]> = [
      [0, '0'], [1, '1'], [-2.5, '-2.5'], [123456, '123456'], [1e6, '1e+06'], [1234567, '1.234567e+06'],
      [0.0001, '0.0001'], [0.00001, '1e-05'], [1.5e-7, '1.5e-07'], [1e21, '1e+21'], [1.7976931348623157e308, '1.7976931348623157e+308'],
      [NaN, 'NaN'], [Infinity, '+Inf'], [-Infinity, '-Inf'],
    ];
    for (const [v, want] of cases) assert.equal(goFloat(v), want, String(v));
  });
});
