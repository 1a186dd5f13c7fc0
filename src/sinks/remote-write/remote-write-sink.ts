/**
 * Prometheus remote write 1.0: snappy-compressed protobuf WriteRequests POSTed to
 * FORWARD_REMOTE_WRITE_URL (VictoriaMetrics `/api/v1/write`, Prometheus
 * `/api/v1/write` with --web.enable-remote-write-receiver, Mimir, Thanos receive, …).
 */

import { ForwardingSink, type SinkOptions } from '../core/forwarding-sink';
import { genericOrigins } from '../influx/influx-sinks';
import { snappyCompress } from './snappy';
import { RemoteWriteCodec } from './write-request';

export const REMOTE_WRITE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'application/x-protobuf',
  'Content-Encoding': 'snappy',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
};

export interface RemoteWriteSinkOptions extends SinkOptions {
  url: string;
  /** Forward system metrics too (FORWARD_SYSTEM_METRICS). Default false. */
  forwardSystemMetrics?: boolean;
  /** Extra headers, e.g. Authorization for a hosted receiver. */
  headers?: Record<string, string>;
}

export class RemoteWriteSink extends ForwardingSink {
  readonly codec: RemoteWriteCodec;

  constructor(opts: RemoteWriteSinkOptions) {
    const codec = new RemoteWriteCodec();
    super({
      name: 'remote-write',
      url: opts.url,
      headers: { ...opts.headers, ...REMOTE_WRITE_HEADERS },
      codec,
      encodeBody: snappyCompress,
      origins: genericOrigins(opts.forwardSystemMetrics),
    }, opts);
    this.codec = codec;
  }
}
