/**
 * Large, valid OTLP protobuf requests for overload tests and the bench: one resourceMetrics of
 * about 692 bytes (a resource with the attributes an SDK sends, one scope, a gauge and a
 * cumulative sum with attributed points) repeated N times. Hand-encoded with the protobuf wire
 * format, so the bytes are exactly what the request says, whatever the SDK version.
 */

import { gzipSync } from 'node:zlib';

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

/** Protobuf wire helpers, shared with bench/store-v2.ts: a length-delimited field, a string, a varint, fixed64, double. */
export const len = (field: number, payload: Buffer): Buffer => Buffer.concat([Buffer.from([...varint((field << 3) | 2), ...varint(payload.length)]), payload]);
export const str = (field: number, s: string): Buffer => len(field, Buffer.from(s, 'utf8'));
const u64 = (field: number, v: number): Buffer => Buffer.from([...varint(field << 3), ...varint(v)]);
export function fixed64(field: number, v: bigint): Buffer {
  const b = Buffer.alloc(9);
  b[0] = (field << 3) | 1;
  b.writeBigUInt64LE(v, 1);
  return b;
}
export function double(field: number, v: number): Buffer {
  const b = Buffer.alloc(9);
  b[0] = (field << 3) | 1;
  b.writeDoubleLE(v, 1);
  return b;
}

/** An OTLP KeyValue with a string value. */
export const keyValue = (k: string, v: string): Buffer => Buffer.concat([str(1, k), len(2, str(1, v))]);

/** One resourceMetrics; `variant` changes the resource's instance id (a new set of series per variant). */
export function resourceMetrics(variant = 0, timeMs = Date.now()): Buffer {
  const t = BigInt(Math.round(timeMs)) * 1_000_000n;
  const resource = Buffer.concat([
    len(1, keyValue('service.name', 'inference-pipeline')),
    len(1, keyValue('service.version', '2026.1.0')),
    len(1, keyValue('service.instance.id', `instance-${variant}`)),
    len(1, keyValue('host.name', 'gpu-node-07.example')),
    len(1, keyValue('k8s.namespace.name', 'video-analytics')),
    len(1, keyValue('k8s.pod.name', 'pipeline-x2x4q')),
    len(1, keyValue('telemetry.sdk.language', 'nodejs')),
  ]);
  const point = (stream: string, value: number) => Buffer.concat([
    len(7, keyValue('stream', stream)),
    len(7, keyValue('device', 'GPU.0')),
    fixed64(2, t - 60_000_000_000n),
    fixed64(3, t),
    double(4, value),
  ]);
  const gauge = Buffer.concat([
    str(1, 'pipeline_fps'),
    str(3, '{frame}/s'),
    len(5, Buffer.concat([len(1, point('cam-1', 29.97)), len(1, point('cam-2', 25))])),
  ]);
  const sum = Buffer.concat([
    str(1, 'pipeline_frames'),
    str(2, 'Frames processed'),
    str(3, '{frame}'),
    len(7, Buffer.concat([len(1, point('cam-1', 123456)), len(1, point('cam-2', 98765)), u64(2, 2), u64(3, 1)])),
  ]);
  const scope = Buffer.concat([
    len(1, Buffer.concat([str(1, '@example/inference-metrics'), str(2, '1.4.2')])),
    len(2, gauge),
    len(2, sum),
  ]);
  return Buffer.concat([len(1, resource), len(2, scope), str(3, 'https://opentelemetry.io/schemas/1.24.0')]);
}

/** ExportMetricsServiceRequest with `count` copies of one resourceMetrics (the same series each time). */
export function repeatedRequest(count: number, timeMs = Date.now()): { raw: Buffer; gzip: Buffer; resourceBytes: number } {
  const one = len(1, resourceMetrics(0, timeMs));
  const raw = Buffer.allocUnsafe(one.length * count);
  for (let i = 0; i < count; i++) one.copy(raw, i * one.length);
  return { raw, gzip: gzipSync(raw), resourceBytes: one.length };
}
