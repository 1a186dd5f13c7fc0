/**
 * Test double of the kubelet's PodResources endpoint: a real gRPC server (@grpc/grpc-js) on a unix
 * socket, serving `v1.PodResourcesLister/List` and `/GetAllocatableResources` from a recorded
 * answer (test/fixtures/pod-resources/*.json). A kubelet cannot run here; the transport, framing
 * and protobuf bytes are the real thing. The encoder below is written apart from the agent's
 * decoder (src/collectors/pod-resources/proto.ts) on purpose, so a mistake on one side shows.
 */

import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

interface RecordedDevices {
  resource_name: string;
  device_ids: string[];
}

export interface RecordedAnswer {
  list: { pod_resources: { name: string; namespace: string; containers: { name: string; devices?: RecordedDevices[]; cpu_ids?: number[] }[] }[] };
  allocatable: { devices: RecordedDevices[]; cpu_ids?: number[] };
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** Field `no` with wire type 2 (length-delimited). */
function lenField(no: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([...varint((no << 3) | 2), ...varint(body.length)]), body]);
}

const str = (no: number, s: string) => lenField(no, Buffer.from(s, 'utf8'));
/** Packed repeated int64 (cpu_ids): decoders must skip it. */
const packed = (no: number, ns: number[]) => lenField(no, Buffer.from(ns.flatMap(varint)));

function devices(d: RecordedDevices): Buffer {
  return Buffer.concat([str(1, d.resource_name), ...d.device_ids.map((id) => str(2, id))]);
}

export function encodeList(a: RecordedAnswer['list']): Buffer {
  return Buffer.concat(
    a.pod_resources.map((p) =>
      lenField(1, Buffer.concat([
        str(1, p.name),
        str(2, p.namespace),
        ...p.containers.map((c) => lenField(3, Buffer.concat([str(1, c.name), ...(c.devices ?? []).map((d) => lenField(2, devices(d))), ...(c.cpu_ids ? [packed(3, c.cpu_ids)] : [])]))),
      ])),
    ),
  );
}

export function encodeAllocatable(a: RecordedAnswer['allocatable']): Buffer {
  return Buffer.concat([...a.devices.map((d) => lenField(1, devices(d))), ...(a.cpu_ids ? [packed(2, a.cpu_ids)] : [])]);
}

export function loadRecorded(file: string): RecordedAnswer {
  return JSON.parse(readFileSync(file, 'utf8')) as RecordedAnswer;
}

export class FakeKubeletPodResources {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'mm-kubelet-'));
  readonly socketPath = path.join(this.dir, 'kubelet.sock');
  /** Calls served, by method name. */
  readonly calls = { List: 0, GetAllocatableResources: 0 };
  /** When set, every call fails with this gRPC status. */
  failWith: status | undefined;
  private readonly server = new Server();

  constructor(public answer: RecordedAnswer) {
    const passthrough = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
    const unary = (name: 'List' | 'GetAllocatableResources', encode: () => Buffer) => (_call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
      this.calls[name]++;
      if (this.failWith !== undefined) return cb({ code: this.failWith, details: 'injected failure' });
      cb(null, encode());
    };
    this.server.addService(
      {
        List: { path: '/v1.PodResourcesLister/List', requestStream: false, responseStream: false, ...passthrough },
        GetAllocatableResources: { path: '/v1.PodResourcesLister/GetAllocatableResources', requestStream: false, responseStream: false, ...passthrough },
      },
      {
        List: unary('List', () => encodeList(this.answer.list)),
        GetAllocatableResources: unary('GetAllocatableResources', () => encodeAllocatable(this.answer.allocatable)),
      },
    );
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`unix://${this.socketPath}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
