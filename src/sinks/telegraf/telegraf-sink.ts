/**
 * Custom metrics to Telegraf's http_listener_v2 (TELEGRAF_HTTP_ENDPOINT, default
 * http://localhost:8186/write) as line protocol: what the reference's "persistence" did, with
 * retry, a bounded queue and a flush at shutdown. Telegraf reads its own system inputs, so only
 * custom samples are forwarded. No `precision` parameter: http_listener_v2 reads line protocol
 * timestamps as nanoseconds, which is what the codec writes.
 */

import { ForwardingSink, type SinkOptions } from '../core/forwarding-sink';
import { LINE_PROTOCOL_CONTENT_TYPE } from '../influx/influx-sinks';
import { LineProtocolCodec } from '../influx/line-codec';

export interface TelegrafSinkOptions extends SinkOptions {
  /** TELEGRAF_HTTP_ENDPOINT. */
  url: string;
}

export class TelegrafSink extends ForwardingSink {
  readonly codec: LineProtocolCodec;

  constructor(opts: TelegrafSinkOptions) {
    const codec = new LineProtocolCodec();
    super({ name: 'telegraf', url: opts.url, headers: { 'Content-Type': LINE_PROTOCOL_CONTENT_TYPE }, codec, origins: ['custom'] }, opts);
    this.codec = codec;
  }
}
