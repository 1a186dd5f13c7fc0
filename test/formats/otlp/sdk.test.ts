/**
 * Real OTLP bytes from the OpenTelemetry JS SDK (sdk-metrics 2.x + otlp-transformer, the same
 * serializers the OTLP/HTTP exporters use), decoded and converted.
 */

import assert from 'node:assert/strict';
import { ValueType, type Meter } from '@opentelemetry/api';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  AggregationType,
  MeterProvider,
  MetricReader,
  type MetricReaderOptions,
  type ResourceMetrics,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import type { Sample } from '../../../src/model/sample';
import { otlpToSamples } from '../../../src/formats/otlp/convert';
import { decodeExportMetricsRequest } from '../../../src/formats/otlp/protobuf';

class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

interface Collected {
  resourceMetrics: ResourceMetrics;
  proto: Uint8Array;
  json: unknown;
}

async function collect(
  record: (meter: Meter) => void,
  options: { reader?: MetricReaderOptions; views?: ViewOptions[] } = {},
): Promise<Collected> {
  const reader = new CollectingReader(options.reader);
  const provider = new MeterProvider({
    resource: resourceFromAttributes({
      'service.name': 'inference-svc',
      'host.name': 'node-1',
      'telemetry.sdk.name': 'opentelemetry',
      'telemetry.sdk.language': 'nodejs',
    }),
    readers: [reader],
    views: options.views ?? [],
  });
  record(provider.getMeter('test-meter', '1.0.0'));
  const { resourceMetrics, errors } = await reader.collect();
  assert.deepEqual(errors, []);
  await provider.shutdown();
  const proto = ProtobufMetricsSerializer.serializeRequest(resourceMetrics);
  const jsonBytes = JsonMetricsSerializer.serializeRequest(resourceMetrics);
  assert.ok(proto && jsonBytes);
  return { resourceMetrics, proto, json: JSON.parse(Buffer.from(jsonBytes).toString('utf8')) };
}

/** The resource attributes every series carries (telemetry.sdk.* left out). */
const RES = { host_name: 'node-1', service_name: 'inference-svc' };

function key(name: string, labels: Record<string, string>): string {
  return `${name}{${Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',')}}`;
}

function byKey(samples: Sample[]): Map<string, Sample> {
  const out = new Map<string, Sample>();
  for (const s of samples) out.set(key(s.name, s.labels), s);
  return out;
}

/** The sample of `name` with the resource labels plus `labels`. */
function get(map: Map<string, Sample>, name: string, labels: Record<string, string> = {}): Sample {
  const k = key(name, { ...RES, ...labels });
  const s = map.get(k);
  assert.ok(s, `missing ${k}; have:\n${[...map.keys()].join('\n')}`);
  return s;
}

const value = (map: Map<string, Sample>, name: string, labels: Record<string, string> = {}): number => get(map, name, labels).value;

describe('otlp from the OpenTelemetry JS SDK', () => {
  let cumulative: Collected;

  before(async () => {
    cumulative = await collect(
      (meter) => {
        const requests = meter.createCounter('inference.requests', { description: 'Inference requests', unit: '{request}' });
        requests.add(5, { model: 'resnet' });
        requests.add(2, { model: 'resnet' });
        requests.add(1, { model: 'bert' });
        meter.createCounter('frames', { valueType: ValueType.INT }).add(3);
        const latency = meter.createHistogram('inference.latency', {
          unit: 's',
          advice: { explicitBucketBoundaries: [0.01, 0.1, 1] },
        });
        for (const v of [0.005, 0.05, 0.5, 5, 0.05]) latency.record(v, { model: 'resnet' });
        const temp = meter.createGauge('gpu.temperature', { unit: 'Cel' });
        temp.record(71.5, { device: 'gpu0' });
        temp.record(65, { device: 'gpu1' });
        meter.createObservableGauge('npu.busy', { valueType: ValueType.INT }).addCallback((r) => r.observe(3, { npu: '0' }));
        const depth = meter.createUpDownCounter('queue.depth');
        depth.add(5);
        depth.add(-2);
        meter.createGauge('typed').record(1, { str: 'a', int: 7, dbl: 1.5, bool: true, arr: ['x', 'y'] });
        const sizes = meter.createHistogram('payload.size', { unit: 'By' });
        for (const v of [0, 3, 10, 100, 1000, 1000]) sizes.record(v);
      },
      { views: [{ instrumentName: 'payload.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 40 } } }] },
    );
  });

  it('decodes the protobuf request with resource attributes and 64-bit values as strings', () => {
    const req = decodeExportMetricsRequest(cumulative.proto);
    const rm = req.resourceMetrics![0];
    const keys = rm.resource!.attributes!.map((a) => a.key);
    assert.ok(keys.includes('service.name') && keys.includes('telemetry.sdk.name'), keys.join());
    assert.equal(rm.scopeMetrics![0].scope!.name, 'test-meter');
    const frames = rm.scopeMetrics![0].metrics!.find((m) => m.name === 'frames')!;
    assert.equal(frames.sum!.dataPoints![0].asInt, '3');
    assert.equal(frames.sum!.aggregationTemporality, 2);
    assert.equal(frames.sum!.isMonotonic, true);
    assert.match(String(frames.sum!.dataPoints![0].timeUnixNano), /^\d{19}$/);
  });

  it('converts counters to _total series with their attributes', () => {
    const r = otlpToSamples(decodeExportMetricsRequest(cumulative.proto));
    assert.deepEqual(r.errors, []);
    assert.equal(r.rejectedDataPoints, 0);
    const m = byKey(r.samples);
    assert.equal(value(m, 'inference_requests_total', { model: 'resnet' }), 7);
    assert.equal(value(m, 'inference_requests_total', { model: 'bert' }), 1);
    const s = get(m, 'inference_requests_total', { model: 'resnet' });
    assert.equal(s.type, 'counter');
    assert.equal(s.family, 'inference_requests');
    assert.equal(s.help, 'Inference requests');
    assert.equal(s.unit, '{request}');
    assert.equal(value(m, 'frames_total'), 3);
    assert.ok(r.samples.every((x) => !Object.keys(x.labels).some((k) => k.startsWith('telemetry_sdk'))));
  });

  it('converts explicit-bucket histograms to cumulative buckets', () => {
    const m = byKey(otlpToSamples(decodeExportMetricsRequest(cumulative.proto)).samples);
    assert.equal(value(m, 'inference_latency_bucket', { le: '0.01', model: 'resnet' }), 1);
    assert.equal(value(m, 'inference_latency_bucket', { le: '0.1', model: 'resnet' }), 3);
    assert.equal(value(m, 'inference_latency_bucket', { le: '1', model: 'resnet' }), 4);
    assert.equal(value(m, 'inference_latency_bucket', { le: '+Inf', model: 'resnet' }), 5);
    assert.ok(Math.abs(value(m, 'inference_latency_sum', { model: 'resnet' }) - 5.605) < 1e-12);
    assert.equal(value(m, 'inference_latency_count', { model: 'resnet' }), 5);
    const bucket = get(m, 'inference_latency_bucket', { le: '1', model: 'resnet' });
    assert.deepEqual([bucket.type, bucket.family, bucket.unit], ['histogram', 'inference_latency', 's']);
  });

  it('converts gauges, observable int gauges and up-down counters', () => {
    const m = byKey(otlpToSamples(decodeExportMetricsRequest(cumulative.proto)).samples);
    assert.equal(value(m, 'gpu_temperature', { device: 'gpu0' }), 71.5);
    assert.equal(value(m, 'gpu_temperature', { device: 'gpu1' }), 65);
    assert.equal(get(m, 'gpu_temperature', { device: 'gpu0' }).type, 'gauge');
    assert.equal(value(m, 'npu_busy', { npu: '0' }), 3);
    assert.equal(value(m, 'queue_depth'), 3);
    assert.equal(get(m, 'queue_depth').type, 'gauge');
    assert.equal(value(m, 'typed', { arr: '["x","y"]', bool: 'true', dbl: '1.5', int: '7', str: 'a' }), 1);
  });

  it('converts an exponential histogram into buckets that agree with the recorded values', () => {
    const recorded = [0, 3, 10, 100, 1000, 1000];
    const samples = otlpToSamples(decodeExportMetricsRequest(cumulative.proto)).samples.filter((s) => s.family === 'payload_size');
    const buckets = samples.filter((s) => s.name === 'payload_size_bucket');
    assert.ok(buckets.length > 3, `${buckets.length} buckets`);
    let previous = -Infinity;
    for (const b of buckets) {
      const le = b.labels.le === '+Inf' ? Infinity : Number(b.labels.le);
      assert.ok(le > previous);
      previous = le;
      assert.equal(b.value, recorded.filter((v) => v <= le).length, `le=${b.labels.le}`);
    }
    assert.equal(samples.find((s) => s.name === 'payload_size_count')!.value, 6);
    assert.equal(samples.find((s) => s.name === 'payload_size_sum')!.value, 2113);
  });

  it('stamps samples with the SDK data point end time', () => {
    const samples = otlpToSamples(decodeExportMetricsRequest(cumulative.proto)).samples;
    const point = cumulative.resourceMetrics.scopeMetrics[0].metrics.find((x) => x.descriptor.name === 'gpu.temperature')!.dataPoints[0];
    const expected = point.endTime[0] * 1000 + point.endTime[1] / 1e6;
    const s = samples.find((x) => x.name === 'gpu_temperature')!;
    assert.ok(Math.abs(s.timestampMs! - expected) < 1e-3, `${s.timestampMs} vs ${expected}`);
  });

  it('gives identical samples from the OTLP/JSON serializer and from protobuf', () => {
    const fromProto = otlpToSamples(decodeExportMetricsRequest(cumulative.proto));
    const fromJson = otlpToSamples(cumulative.json);
    assert.deepEqual(fromJson, fromProto);
    assert.ok(fromProto.samples.length > 20);
  });

  it('rejects delta temporality from a delta-configured SDK, counting the points', async () => {
    const delta = await collect(
      (meter) => {
        meter.createCounter('c').add(1, { a: '1' });
        meter.createCounter('c').add(1, { a: '2' });
        meter.createHistogram('h').record(1);
        meter.createUpDownCounter('u').add(1);
        meter.createGauge('g').record(4);
      },
      { reader: { aggregationTemporalitySelector: () => AggregationTemporality.DELTA } },
    );
    for (const input of [decodeExportMetricsRequest(delta.proto), delta.json]) {
      const r = otlpToSamples(input);
      assert.deepEqual(r.samples.map((s) => [s.name, s.value]), [['g', 4]]);
      assert.equal(r.rejectedDataPoints, 4);
      assert.equal(r.errors.length, 3);
      for (const e of r.errors) assert.match(e.message, /^metric "[chu]": delta aggregation temporality is not supported/);
    }
  });
});
