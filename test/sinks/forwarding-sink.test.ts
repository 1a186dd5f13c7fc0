import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load';
import { LineProtocolParser } from '../../src/formats/influx/parse';
import { createSinks, ForwardingSink, InfluxV1Sink, InfluxV2Sink, RemoteWriteSink, TelegrafSink, type SinkOptions } from '../../src/sinks';
import { telegrafForwardEnabled, telegrafForwardReason } from '../../src/sinks/index';
import type { Hub } from '../../src/hub/hub';
import type { HubLike } from '../../src/sinks';
import { startTelegrafStandin } from '../helpers/telegraf-standin';
import { decodeWriteRequest, snappyDecompress } from './decoders';
import { assertBalanced, captureLogger, droppedSum, fakeHub, sample, sleep, startReceiver, waitFor, type Receiver } from './helpers';

const parser = new LineProtocolParser();
const valuesOf = (r: Receiver) => r.requests.flatMap((q) => parser.parse(q.body.toString('utf8'), { precision: 'ns' }).samples.map((s) => s.value));

describe('forwarding sinks: sending, debounce, retry, bounds, shutdown', function () {
  this.timeout(20_000);
  let rx: Receiver;
  const sinks: ForwardingSink[] = [];

  beforeEach(async () => {
    rx = await startReceiver();
  });
  afterEach(async () => {
    for (const s of sinks.splice(0)) await s.stop(200);
    await rx.close();
  });

  function influx(over: Partial<SinkOptions> = {}, hub = fakeHub()) {
    const log = captureLogger();
    const sink = new InfluxV1Sink({ url: `${rx.url}/write?db=x`, hub, logger: log.logger, debounceMs: () => 50, backoff: { initialMs: 20, maxMs: 100 }, ...over });
    sinks.push(sink);
    return { sink, hub, log };
  }

  it('posts line protocol to the v1 URL with precision=ns and a User-Agent; counts what it sent', async () => {
    const { sink, hub } = influx();
    await sink.start();
    hub.publish([sample('fps', { app: 'demo' }, 30, 1_700_000_000_000), sample('lat', {}, 0.5, 1_700_000_000_001)]);
    await waitFor(() => rx.requests.length === 1, 2000, 'one request');
    const r = rx.requests[0];
    assert.equal(r.method, 'POST');
    assert.equal(r.url, '/write?db=x&precision=ns');
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
    assert.match(String(r.headers['user-agent']), /^metrics-manager\//);
    assert.equal(r.body.toString(), 'fps,app=demo value=30 1700000000000000000\nlat value=0.5 1700000000001000000\n');
    await waitFor(() => sink.stats().sentRequestsTotal === 1, 1000, 'stats');
    const st = sink.stats();
    assert.equal(st.sentSamplesTotal, 2);
    assert.equal(st.sentBytesTotal, r.body.length);
    assert.equal(st.acceptedSamplesTotal, 2);
    assert.equal(st.queueBytes, 0);
    assert.equal(st.up, 1);
    assert.ok(st.lastSuccessSeconds > 1e9);
  });

  it('gives samples without a timestamp the time they were accepted', async () => {
    const { sink, hub } = influx({ now: () => 1_234_567_890_123 });
    await sink.start();
    hub.publish([sample('a', {}, 1)]);
    await waitFor(() => rx.requests.length === 1, 2000, 'request');
    assert.equal(rx.requests[0].body.toString(), 'a value=1 1234567890123000000\n');
  });

  it('debounce: the first write goes out at once, a burst coalesces into about one request per window plus a trailing one', async () => {
    const { sink, hub } = influx({ debounceMs: () => 100 });
    await sink.start();
    const t0 = performance.now();
    hub.publish([sample('burst', {}, 0)]);
    await waitFor(() => rx.requests.length === 1, 1000, 'leading-edge request');
    assert.ok(rx.requests[0].at - t0 < 90, `leading edge took ${rx.requests[0].at - t0} ms`);
    // 50 batches over ~500 ms.
    for (let i = 1; i <= 50; i++) {
      hub.publish([sample('burst', {}, i)]);
      await sleep(10);
    }
    const last = performance.now();
    await waitFor(() => sink.stats().sentSamplesTotal === 51, 2000, 'all samples');
    const n = rx.requests.length;
    const windows = Math.ceil((last - t0) / 100);
    assert.ok(n >= 3 && n <= windows + 3 && n < 20, `${n} requests for 51 batches in ${Math.round(last - t0)} ms with a 100 ms window`);
    assert.ok(rx.requests[n - 1].at - last < 250, 'trailing flush about one window after the last batch');
    assert.deepEqual(valuesOf(rx), Array.from({ length: 51 }, (_, i) => i), 'in order, nothing lost');
  });

  it('reads the debounce window live: 0 sends every batch on its own', async () => {
    let window = 5000;
    const { sink, hub } = influx({ debounceMs: () => window });
    await sink.start();
    hub.publish([sample('a', {}, 1)]);
    await waitFor(() => rx.requests.length === 1, 1000, 'leading edge');
    window = 0;
    hub.publish([sample('a', {}, 2)]); // a 5 s trailing flush was not scheduled yet: window read now
    await waitFor(() => rx.requests.length === 2, 1000, 'second batch without waiting 5 s');
    for (let i = 3; i <= 6; i++) {
      hub.publish([sample('a', {}, i)]);
      await sleep(20);
    }
    await waitFor(() => rx.requests.length === 6, 1000, 'one request per batch');
  });

  it('5xx and 408/429 are retried until accepted; nothing is lost or duplicated', async () => {
    const statuses = [500, 503, 408, 429, 502];
    rx.respond = (_r, n) => ({ status: n < statuses.length ? statuses[n] : 204 });
    const { sink, hub, log } = influx();
    await sink.start();
    hub.publish([sample('r', {}, 1), sample('r', {}, 2)]);
    await waitFor(() => sink.stats().sentSamplesTotal === 2, 5000, 'delivery after retries');
    assert.equal(rx.requests.length, 6);
    assert.ok(rx.requests.every((r) => r.body.equals(rx.requests[0].body)), 'the same batch each time');
    const st = sink.stats();
    assert.equal(st.failedRequestsTotal, 5);
    assert.equal(st.retriesTotal, 5);
    assert.equal(st.up, 1);
    assert.equal(droppedSum(st.droppedSamplesTotal), 0);
    assert.equal(log.lines.filter((l) => l.message.includes('failing; retrying')).length, 1, 'one lifecycle line for going down');
    assert.equal(log.lines.filter((l) => l.message.includes('reachable again')).length, 1);
  });

  it('4xx (other than 408/429) drops that batch as rejected, logs once, and goes on with the next', async () => {
    rx.respond = (r) => (r.body.toString().includes('bad') ? { status: 400, body: '{"error":"unable to parse"}' } : { status: 204 });
    const { sink, hub, log } = influx({ debounceMs: () => 0 });
    await sink.start();
    hub.publish([sample('bad', {}, 1), sample('bad', {}, 2)]);
    await waitFor(() => sink.stats().droppedSamplesTotal.rejected === 2, 2000, 'rejection');
    hub.publish([sample('bad', {}, 3)]);
    await waitFor(() => sink.stats().droppedSamplesTotal.rejected === 3, 2000, 'second rejection');
    hub.publish([sample('good', {}, 4)]);
    await waitFor(() => sink.stats().sentSamplesTotal === 1, 2000, 'the next batch');
    assert.equal(rx.requests.length, 3, 'a rejected batch is never retried');
    const st = sink.stats();
    assert.equal(st.failedRequestsTotal, 2);
    assert.equal(st.retriesTotal, 0);
    const rejected = log.lines.filter((l) => l.message.includes('rejected'));
    assert.equal(rejected.length, 1, 'logged once per interval');
    assert.equal(rejected[0].status, 400);
    assert.match(String(rejected[0].detail), /unable to parse/);
  });

  it('honours Retry-After', async () => {
    rx.respond = (_r, n) => (n === 0 ? { status: 429, headers: { 'Retry-After': '1' } } : { status: 204 });
    const { sink, hub } = influx({ backoff: { initialMs: 10, maxMs: 10 } });
    await sink.start();
    hub.publish([sample('a', {}, 1)]);
    await waitFor(() => rx.requests.length === 2, 4000, 'the retry');
    const gap = rx.requests[1].at - rx.requests[0].at;
    assert.ok(gap >= 950 && gap < 1600, `retried after ${Math.round(gap)} ms, Retry-After said 1 s`);
  });

  it('backs off exponentially with jitter between retries, bounded by the policy', async () => {
    rx.respond = (_r, n) => ({ status: n < 5 ? 503 : 204 });
    const { sink, hub } = influx({ backoff: { initialMs: 40, maxMs: 200 }, random: () => 0.99 });
    await sink.start();
    hub.publish([sample('a', {}, 1)]);
    await waitFor(() => rx.requests.length === 6, 4000, 'six attempts');
    const gaps = rx.requests.slice(1).map((r, i) => r.at - rx.requests[i].at);
    const ceilings = [40, 80, 160, 200, 200];
    gaps.forEach((g, i) => {
      const expected = Math.floor(0.99 * ceilings[i]);
      assert.ok(g >= expected - 5 && g < expected + 150, `gap ${i}: ${Math.round(g)} ms, expected about ${expected}`);
    });
  });

  it('a request without an answer times out and is retried', async () => {
    rx.respond = (_r, n) => (n === 0 ? { status: 204, delayMs: 1000 } : { status: 204 });
    const { sink, hub } = influx({ timeoutMs: 100 });
    await sink.start();
    hub.publish([sample('a', {}, 1)]);
    await waitFor(() => sink.stats().sentSamplesTotal === 1, 3000, 'delivery after the timeout');
    assert.equal(sink.stats().failedRequestsTotal, 1);
  });

  it('keeps sending oldest-first when the target goes away and comes back', async () => {
    const { sink, hub, log } = influx({ debounceMs: () => 0 });
    await sink.start();
    hub.publish([sample('s', {}, 0)]);
    await waitFor(() => sink.stats().sentSamplesTotal === 1, 2000, 'first');
    await rx.down();
    for (let i = 1; i <= 20; i++) {
      hub.publish([sample('s', {}, i)]);
      await sleep(5);
    }
    await waitFor(() => sink.stats().up === 0, 2000, 'down state');
    await rx.up();
    assert.equal(await sink.drain(5000), true);
    assert.deepEqual(valuesOf(rx), Array.from({ length: 21 }, (_, i) => i));
    assert.equal(sink.stats().up, 1);
    assert.ok(log.lines.some((l) => l.level === 'warn' && l.message.includes('failing')));
  });

  it('past the queue bound drops the OLDEST data, counts it, logs it once; the newest arrives', async () => {
    const { sink, hub, log } = influx({ debounceMs: () => 0, queueMaxBytes: 4000, batchMaxBytes: 1000 });
    await rx.down();
    await sink.start();
    const line = (i: number) => sample('queue_test', { pad: 'x'.repeat(60) }, i, 1_700_000_000_000 + i);
    const total = 200;
    for (let i = 0; i < total; i++) {
      hub.publish([line(i)]);
      if (i % 10 === 9) await sleep(1);
    }
    await sleep(20);
    let st = sink.stats();
    assert.ok(st.droppedSamplesTotal.queue_full > 0, 'some were dropped');
    assert.ok(st.queueBytes <= 4000 + 1000 + 200, `queue holds ${st.queueBytes} bytes`);
    assert.equal(log.lines.filter((l) => l.message.includes('queue full')).length, 1, 'one log line per minute');
    assertBalanced(st);
    await rx.up();
    assert.equal(await sink.drain(5000), true);
    st = sink.stats();
    assert.equal(st.acceptedSamplesTotal, total);
    assert.equal(st.sentSamplesTotal + st.droppedSamplesTotal.queue_full, total, 'every sample sent or counted');
    assertBalanced(st);
    const got = valuesOf(rx);
    assert.equal(got.length, st.sentSamplesTotal);
    // What arrives: the batch that was in flight when the target went away, then a gap (the
    // dropped oldest), then everything up to the newest.
    assert.equal(got[got.length - 1], total - 1);
    const tail = got.slice(got.findIndex((v, i) => i > 0 && v !== got[i - 1] + 1));
    for (let i = 1; i < tail.length; i++) assert.equal(tail[i], tail[i - 1] + 1);
  });

  it('stop() flushes what is pending without waiting for the debounce window', async () => {
    const { sink, hub } = influx({ debounceMs: () => 60_000 });
    await sink.start();
    hub.publish([sample('a', {}, 1)]); // leading edge
    await waitFor(() => rx.requests.length === 1, 1000, 'leading edge');
    hub.publish([sample('a', {}, 2), sample('a', {}, 3)]); // trailing flush would be a minute away
    const t = performance.now();
    await sink.stop();
    assert.ok(performance.now() - t < 1000);
    assert.deepEqual(valuesOf(rx), [1, 2, 3]);
    assert.equal(hub.subscribers, 0, 'unsubscribed');
    hub.publish([sample('a', {}, 4)]);
    assert.equal(sink.stats().acceptedSamplesTotal, 3, 'nothing accepted after stop');
    await sink.stop(); // idempotent
  });

  it('stop() gives up at its deadline and counts the unsent samples as dropped (shutdown)', async () => {
    await rx.down();
    const { sink, hub } = influx({ debounceMs: () => 0 });
    await sink.start();
    hub.publish([sample('a', {}, 1)]);
    await sleep(20);
    hub.publish([sample('a', {}, 2)]);
    const t = performance.now();
    await sink.stop(300);
    const took = performance.now() - t;
    assert.ok(took >= 250 && took < 1000, `stop took ${Math.round(took)} ms`);
    const st = sink.stats();
    assert.equal(st.droppedSamplesTotal.shutdown, 2);
    assert.equal(st.queueSamples, 0);
    assertBalanced(st);
  });

  it('a slow answer at shutdown is aborted at the deadline', async () => {
    rx.respond = () => ({ status: 204, delayMs: 5000 });
    const { sink, hub } = influx({ timeoutMs: 10_000 });
    await sink.start();
    hub.publish([sample('a', {}, 1)]);
    await waitFor(() => rx.requests.length === 1, 1000, 'request in flight');
    const t = performance.now();
    await sink.stop(200);
    assert.ok(performance.now() - t < 1000);
    assert.equal(sink.stats().droppedSamplesTotal.shutdown, 1);
  });

  it('never throws into the hub, whatever the codec does', async () => {
    const { sink, hub, log } = influx();
    await sink.start();
    (sink.codec as unknown as { add: () => boolean }).add = () => {
      throw new Error('boom');
    };
    assert.doesNotThrow(() => hub.publish([sample('a', {}, 1)]));
    assert.ok(log.lines.some((l) => l.level === 'error' && String(l.error).includes('boom')));
  });

  it('counts NaN/Inf as unencodable for line protocol', async () => {
    const { sink, hub } = influx();
    await sink.start();
    hub.publish([sample('a', {}, NaN), sample('a', {}, Infinity), sample('a', {}, 1)]);
    assert.equal(await sink.drain(2000), true);
    assert.deepEqual(valuesOf(rx), [1]);
    assert.equal(sink.stats().droppedSamplesTotal.unencodable, 2);
  });

  it('forwards custom samples only, plus system ones when FORWARD_SYSTEM_METRICS is on (generic sinks)', async () => {
    const a = influx();
    const c = new TelegrafSink({ url: `${rx.url}/telegraf`, hub: a.hub, logger: a.log.logger });
    const withSystem = new InfluxV1Sink({ url: `${rx.url}/sys`, hub: a.hub, logger: a.log.logger, forwardSystemMetrics: true });
    sinks.push(c, withSystem);
    for (const s of [a.sink, c, withSystem]) await s.start();
    a.hub.publish([sample('custom_m', {}, 1)], 'custom');
    a.hub.publish([sample('cpu_usage_user', { cpu: 'cpu-total' }, 2)], 'system');
    for (const s of [a.sink, c, withSystem]) assert.equal(await s.drain(2000), true);
    assert.equal(a.sink.stats().acceptedSamplesTotal, 1);
    assert.equal(c.stats().acceptedSamplesTotal, 1);
    assert.equal(withSystem.stats().acceptedSamplesTotal, 2);
  });

  it('InfluxDB v2: /api/v2/write with org, bucket, precision=ns and a Token header', async () => {
    const hub = fakeHub();
    const sink = new InfluxV2Sink({ url: `${rx.url}/base/`, token: 's3cret', org: 'my org', bucket: 'b1', hub, logger: captureLogger().logger });
    sinks.push(sink);
    await sink.start();
    hub.publish([sample('m', { k: 'v' }, 1, 1000)]);
    await waitFor(() => rx.requests.length === 1, 2000, 'request');
    const r = rx.requests[0];
    assert.equal(r.url, '/base/api/v2/write?org=my+org&bucket=b1&precision=ns');
    assert.equal(r.headers.authorization, 'Token s3cret');
    assert.equal(r.body.toString(), 'm,k=v value=1 1000000000\n');
    assert.ok(!sink.stats().url.includes('s3cret'));
    assert.throws(() => new InfluxV2Sink({ url: rx.url, org: '', bucket: 'b', hub, logger: captureLogger().logger }), /FORWARD_INFLUX_V2_ORG/);
  });

  it('remote write: snappy protobuf with the spec headers, series grouped per request', async () => {
    const hub = fakeHub();
    const sink = new RemoteWriteSink({ url: `${rx.url}/api/v1/write`, hub, logger: captureLogger().logger, debounceMs: () => 200 });
    sinks.push(sink);
    await sink.start();
    hub.publish([sample('lead', {}, 0, 1000)]);
    await waitFor(() => rx.requests.length === 1, 2000, 'leading request');
    hub.publish([sample('fps', { app: 'a' }, 1, 2000), sample('fps', { app: 'b' }, 2, 2000)]);
    hub.publish([sample('fps', { app: 'a' }, 3, 3000)]);
    hub.publish([sample('fps', { app: 'a' }, 4)]); // no timestamp: accept time
    await waitFor(() => rx.requests.length === 2, 2000, 'window request');
    const r = rx.requests[1];
    assert.equal(r.headers['content-type'], 'application/x-protobuf');
    assert.equal(r.headers['content-encoding'], 'snappy');
    assert.equal(r.headers['x-prometheus-remote-write-version'], '0.1.0');
    assert.ok(r.headers['user-agent']);
    const series = decodeWriteRequest(snappyDecompress(r.body));
    assert.equal(series.length, 2);
    const a = series.find((s) => s.labels.some(([k, v]) => k === 'app' && v === 'a'))!;
    assert.deepEqual(a.labels, [['__name__', 'fps'], ['app', 'a']]);
    assert.deepEqual(a.samples.slice(0, 2), [{ value: 1, timestamp: 2000n }, { value: 3, timestamp: 3000n }]);
    assert.ok(Math.abs(Number(a.samples[2].timestamp) - Date.now()) < 5000);
    await waitFor(() => sink.stats().sentRequestsTotal === 2, 1000, 'the answer');
    assert.equal(sink.stats().sentBytesTotal, rx.requests[0].body.length + r.body.length, 'bytes on the wire (compressed)');
  });
});

describe('Telegraf sink against the Telegraf stand-in', function () {
  this.timeout(10_000);

  it('forwards custom metrics as line protocol that Telegraf exposes under the same name and labels', async () => {
    const standin = await startTelegrafStandin({ hostname: 'node-7' });
    const hub = fakeHub();
    const sink = new TelegrafSink({ url: standin.writeUrl, hub, logger: captureLogger().logger });
    try {
      await sink.start();
      hub.publish([
        sample('inference_fps', { model: 'resnet 50', device: 'GPU.0' }, 29.5, Date.now()),
        sample('inference_latency_ms', { model: 'a,b=c\\d"e' }, 12, Date.now()),
        sample('cpu_usage_user', { cpu: 'cpu-total' }, 3, Date.now()),
      ]);
      hub.publish([sample('cpu_usage_user', { cpu: 'cpu0' }, 3)], 'system');
      await standin.waitForLines(3, 3000);
      assert.equal(await sink.drain(2000), true);
      assert.equal(standin.stats().linesRejected, 0);
      const text = standin.render();
      assert.match(text, /^inference_fps\{device="GPU\.0",host="node-7",model="resnet 50"\} 29\.5 \d+$/m);
      assert.match(text, /^inference_latency_ms\{host="node-7",model="a,b=c\\\\d\\"e"\} 12 \d+$/m);
      assert.doesNotMatch(text, /cpu="cpu0"/, 'system samples are not sent to Telegraf');
      assert.equal(sink.stats().sentSamplesTotal, 3);
      // Telegraf down → retried → delivered.
      standin.setFailure(503, 'write');
      hub.publish([sample('inference_fps', { model: 'x' }, 1, Date.now())]);
      await waitFor(() => sink.stats().failedRequestsTotal > 0, 2000, 'a failure');
      standin.setFailure(null);
      assert.equal(await sink.drain(5000), true);
      // (Telegraf's v1 output fills labels missing in a family with "".)
      assert.match(standin.render(), /^inference_fps\{device="",host="node-7",model="x"\} 1 /m);
    } finally {
      await sink.stop(500);
      await standin.stop();
    }
  });
});

describe('createSinks', () => {
  const hub = fakeHub();
  const logger = captureLogger().logger;
  const names = (env: Record<string, string>) => createSinks(loadConfig(env), { hub, logger }).map((s) => s.name);

  it('enables the sinks the config names', () => {
    assert.deepEqual(names({}), []);
    assert.deepEqual(names({ SYSTEM_METRICS_SOURCE: 'telegraf' }), ['telegraf']);
    assert.deepEqual(names({ TELEGRAF_FORWARD: 'true' }), ['telegraf']);
    assert.deepEqual(names({ SYSTEM_METRICS_SOURCE: 'telegraf', TELEGRAF_FORWARD: 'false' }), []);
    assert.deepEqual(names({
      FORWARD_INFLUX_URL: 'http://vm:8428/write',
      FORWARD_INFLUX_V2_URL: 'http://influx:8086', FORWARD_INFLUX_V2_ORG: 'o', FORWARD_INFLUX_V2_BUCKET: 'b',
      FORWARD_REMOTE_WRITE_URL: 'http://vm:8428/api/v1/write',
    }), ['influx-v1', 'influx-v2', 'remote-write']);
    assert.throws(() => names({ FORWARD_INFLUX_V2_URL: 'http://influx:8086' }), /FORWARD_INFLUX_V2_BUCKET/);
    assert.equal(telegrafForwardEnabled({ telegrafForward: 'auto', systemMetricsSource: 'builtin' }), false);
  });

  it('an explicitly set TELEGRAF_HTTP_ENDPOINT forwards; an explicit TELEGRAF_FORWARD=false wins and says why', () => {
    const endpoint = 'http://telegraf.example:8186/write';
    assert.deepEqual(names({ TELEGRAF_HTTP_ENDPOINT: endpoint }), ['telegraf']);
    assert.equal(loadConfig({ TELEGRAF_HTTP_ENDPOINT: endpoint }).telegrafForward, 'true');
    assert.deepEqual(names({ TELEGRAF_HTTP_ENDPOINT: endpoint, TELEGRAF_FORWARD: 'false' }), []);
    assert.deepEqual(names({ TELEGRAF_HTTP_ENDPOINT: endpoint, TELEGRAF_FORWARD: 'auto' }), []);
    assert.match(telegrafForwardReason(loadConfig({ TELEGRAF_HTTP_ENDPOINT: endpoint, TELEGRAF_FORWARD: 'false' })),
      /^TELEGRAF_FORWARD=false; TELEGRAF_HTTP_ENDPOINT=http:\/\/telegraf\.example:8186\/write is not used$/);
    assert.match(telegrafForwardReason(loadConfig({})), /^TELEGRAF_FORWARD=auto and SYSTEM_METRICS_SOURCE=builtin \(no Telegraf assumed\)$/);
    assert.match(telegrafForwardReason(loadConfig({ TELEGRAF_HTTP_ENDPOINT: endpoint })), /TELEGRAF_HTTP_ENDPOINT set/);
  });

  it('reads the debounce window through the live getter', async () => {
    const rx = await startReceiver();
    let cfg = loadConfig({ FORWARD_INFLUX_URL: `${rx.url}/write`, FILE_PERSIST_DEBOUNCE_MS: '5000' });
    const h = fakeHub();
    const [sink] = createSinks(() => cfg, { hub: h, logger });
    try {
      await sink.start();
      h.publish([sample('a', {}, 1)]);
      await waitFor(() => rx.requests.length === 1, 1000, 'leading edge');
      cfg = { ...cfg, persistDebounceMs: 0 };
      h.publish([sample('a', {}, 2)]);
      await waitFor(() => rx.requests.length === 2, 1000, 'no 5 s wait after the live change');
    } finally {
      await sink.stop(200);
      await rx.close();
    }
  });

  it('gives every sink its own spool folder and a share of FORWARD_SPOOL_MAX_BYTES', () => {
    const sinks = createSinks(loadConfig({
      FORWARD_INFLUX_URL: 'http://vm:8428/write', FORWARD_REMOTE_WRITE_URL: 'http://vm:8428/api/v1/write',
      FORWARD_SPOOL_DIR: '/tmp/spool-x', FORWARD_SPOOL_MAX_BYTES: String(64 * 1024 * 1024),
    }), { hub, logger });
    const spools = sinks.map((s) => (s as unknown as { spool: { dir: string; maxBytes: number } }).spool);
    assert.deepEqual(spools.map((s) => s.dir), ['/tmp/spool-x/influx-v1', '/tmp/spool-x/remote-write']);
    assert.deepEqual(spools.map((s) => s.maxBytes), [32 * 1024 * 1024, 32 * 1024 * 1024]);
  });
});

// The real hub fits the interface the sinks subscribe through (a compile-time check).
const hubFits: (h: Hub) => HubLike = (h) => h;
void hubFits;
