import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as JsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { parsePrometheusText } from '../../src/formats/prometheus/parse';
import { postJson, postText, startAgent, type RunningAgent } from '../helpers/agent';
import { freePort } from '../helpers/tools';

/** Drives the real SDK: counter, histogram and gauge, exported once through `exporter`. */
async function pushWithSdk(exporter: PushMetricExporter, service: string): Promise<void> {
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
  const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': service }), readers: [reader] });
  const meter = provider.getMeter('test-meter');
  const requests = meter.createCounter('inference.requests', { description: 'Inference requests', unit: '1' });
  const latency = meter.createHistogram('inference.latency', { description: 'Latency', unit: 's', advice: { explicitBucketBoundaries: [0.01, 0.1, 1] } });
  const temp = meter.createGauge('gpu.temperature', { unit: 'Cel' });
  requests.add(5, { model: 'yolo' });
  requests.add(2, { model: 'yolo' });
  latency.record(0.05, { model: 'yolo' });
  latency.record(0.5, { model: 'yolo' });
  latency.record(5, { model: 'yolo' });
  temp.record(61.5, { card: 'card0' });
  await reader.forceFlush();
  await provider.shutdown();
}

function sampleMap(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of parsePrometheusText(text).families) {
    for (const s of f.samples) {
      const labels = Object.entries(s.labels).filter(([k]) => k !== 'service_name').sort().map(([k, v]) => `${k}=${v}`).join(',');
      out.set(`${s.name}{${labels}}`, s.value);
    }
  }
  return out;
}

describe('HTTP OTLP', () => {
  let a: RunningAgent;
  before(async () => {
    a = await startAgent({ RATE_LIMIT_ENABLED: 'false' });
  });
  after(() => a.stop());
  beforeEach(() => a.agent.store.clear());

  for (const [kind, make] of [
    ['protobuf', (url: string) => new ProtoExporter({ url })],
    ['JSON', (url: string) => new JsonExporter({ url })],
  ] as const) {
    it(`the OpenTelemetry JS SDK pushes counter, histogram and gauge over ${kind}; /metrics shows them`, async () => {
      await pushWithSdk(make(`${a.url}/v1/metrics`), `svc-${kind}`);
      const text = await (await fetch(`${a.url}/metrics`)).text();
      const m = sampleMap(text);
      assert.equal(m.get('inference_requests_total{model=yolo}'), 7);
      assert.equal(m.get('inference_latency_bucket{le=0.01,model=yolo}'), 0);
      assert.equal(m.get('inference_latency_bucket{le=0.1,model=yolo}'), 1);
      assert.equal(m.get('inference_latency_bucket{le=1,model=yolo}'), 2);
      assert.equal(m.get('inference_latency_bucket{le=+Inf,model=yolo}'), 3);
      assert.equal(m.get('inference_latency_count{model=yolo}'), 3);
      assert.ok(Math.abs(m.get('inference_latency_sum{model=yolo}')! - 5.55) < 1e-9);
      assert.equal(m.get('gpu_temperature{card=card0}'), 61.5);
      assert.match(text, /# TYPE inference_requests_total counter/);
      assert.match(text, /# TYPE inference_latency histogram/);
      assert.match(text, new RegExp(`service_name="svc-${kind}"`));
    });
  }

  it('gzip protobuf bodies work on /api/v1/metrics/otlp too (202)', async () => {
    // Reuse the SDK's own encoding through a capturing exporter is overkill: post JSON gzip here.
    const body = { resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'g', gauge: { dataPoints: [{ asDouble: 1.5 }] } }] }] }] };
    const r = await postText(`${a.url}/api/v1/metrics/otlp`, gzipSync(JSON.stringify(body)), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    assert.equal(r.status, 202);
    assert.equal(((await r.json()) as { accepted: number }).accepted, 1);
  });

  it('JSON with int64 strings and asDouble: 0 keeps both values', async () => {
    const body = {
      resourceMetrics: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
        scopeMetrics: [{ metrics: [
          { name: 'zero', gauge: { dataPoints: [{ asDouble: 0, timeUnixNano: '1704067200000000000' }] } },
          { name: 'big', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ asInt: '9007199254740993', timeUnixNano: '1704067200000000000' }] } },
        ] }],
      }],
    };
    const r = await postJson(`${a.url}/v1/metrics`, body);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), {});
    const m = sampleMap(await (await fetch(`${a.url}/metrics`)).text());
    assert.equal(m.get('zero{}'), 0);
    assert.equal(m.get('big_total{}'), 9007199254740992);
  });

  it('delta temporality is rejected in partial_success, the rest is stored', async () => {
    const body = { resourceMetrics: [{ scopeMetrics: [{ metrics: [
      { name: 'ok', gauge: { dataPoints: [{ asDouble: 1 }] } },
      { name: 'd', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ asInt: '1' }, { asInt: '2' }] } },
    ] }] }] };
    const r = await postJson(`${a.url}/v1/metrics`, body);
    assert.equal(r.status, 200);
    const j = (await r.json()) as { partialSuccess: { rejectedDataPoints: string; errorMessage: string } };
    assert.equal(j.partialSuccess.rejectedDataPoints, '2');
    assert.match(j.partialSuccess.errorMessage, /delta/i);
  });

  it('malformed structures are 400s, never 500s', async () => {
    for (const body of ['{"resourceMetrics": "x"}', '[1,2]', '{"resourceMetrics":[{"scopeMetrics":"str"}]}', '{"resourceMetrics":[{"resource":{"attributes":[{"key":"a","value":null}]},"scopeMetrics":[{"metrics":[{"name":"","gauge":{"dataPoints":[{"asDouble":1}]}}]}]}]}', 'not json']) {
      const r = await postText(`${a.url}/api/v1/metrics/otlp`, body, { 'content-type': 'application/json' });
      assert.ok(r.status >= 400 && r.status < 500, `${body}: ${r.status}`);
    }
  });

  it('garbage protobuf is a 400 with a protobuf Status body', async () => {
    const r = await postText(`${a.url}/v1/metrics`, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), { 'content-type': 'application/x-protobuf' });
    assert.equal(r.status, 400);
    assert.equal(r.headers.get('content-type'), 'application/x-protobuf');
    const buf = Buffer.from(await r.arrayBuffer());
    assert.equal(buf[0], 0x08); // field 1 (code), varint
  });

  it('an unsupported content type is a 415', async () => {
    const r = await postText(`${a.url}/v1/metrics`, 'x', { 'content-type': 'text/plain' });
    assert.equal(r.status, 415);
  });

  it('answers on OTLP_HTTP_PORT too when it is set', async () => {
    const port = await freePort();
    const b = await startAgent({ OTLP_HTTP_PORT: String(port) });
    try {
      const r = await postJson(`http://127.0.0.1:${port}/v1/metrics`, { resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'via_4318', gauge: { dataPoints: [{ asDouble: 4 }] } }] }] }] });
      assert.equal(r.status, 200);
      assert.equal(b.agent.store.get('via_4318')?.value, 4);
    } finally {
      await b.stop();
    }
  });

  it('OTLP bodies over 20 MiB are a 413', async () => {
    const r = await postText(`${a.url}/v1/metrics`, Buffer.alloc(21 * 1024 * 1024, 0x20), { 'content-type': 'application/json' });
    assert.equal(r.status, 413);
  });
});
