/**
 * A client of the kubelet's PodResources API v1 over its unix socket (gRPC, @grpc/grpc-js with
 * hand-written (de)serialisers, see proto.ts). One channel for the agent's lifetime; each call has
 * a deadline. Errors are the gRPC status errors of grpc-js (code UNAVAILABLE when the socket is
 * missing or the kubelet is down); the caller decides what they mean.
 */

import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { ALLOCATABLE_METHOD, decodeAllocatableResponse, decodeListResponse, LIST_METHOD, type ContainerDevices, type PodResources } from './proto';

const EMPTY = Buffer.alloc(0);

export interface PodResourcesClientOptions {
  /** Path of the kubelet's socket, e.g. /var/lib/kubelet/pod-resources/kubelet.sock. */
  socketPath: string;
  /** Deadline of one call. Default 5000 ms. */
  timeoutMs?: number;
  /** Largest response accepted. Default 16 MiB (a node with 110 pods answers in a few KiB). */
  maxResponseBytes?: number;
}

export class PodResourcesClient {
  private readonly client: Client;
  private readonly timeoutMs: number;

  constructor(opts: PodResourcesClientOptions) {
    if (!opts.socketPath) throw new TypeError('socketPath must be a non-empty path');
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.client = new Client(`unix://${opts.socketPath}`, credentials.createInsecure(), {
      'grpc.max_receive_message_length': opts.maxResponseBytes ?? 16 * 1024 * 1024,
    });
  }

  /** Every pod of the node with the devices its containers hold. */
  list(): Promise<PodResources[]> {
    return this.call(LIST_METHOD, decodeListResponse);
  }

  /** Every device the kubelet can hand out (allocated or not). */
  allocatable(): Promise<ContainerDevices[]> {
    return this.call(ALLOCATABLE_METHOD, decodeAllocatableResponse);
  }

  /** Closes the channel. Idempotent. */
  close(): void {
    this.client.close();
  }

  private call<T>(method: string, decode: (b: Uint8Array) => T): Promise<T> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        method,
        () => EMPTY,
        (b: Buffer) => b,
        new Metadata(),
        { deadline: Date.now() + this.timeoutMs },
        (err: ServiceError | null, res?: Buffer) => {
          if (err) return reject(err);
          try {
            resolve(decode(res ?? EMPTY));
          } catch (e) {
            reject(e);
          }
        },
      );
    });
  }
}
