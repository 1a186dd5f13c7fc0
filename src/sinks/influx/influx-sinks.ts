/**
 * InfluxDB line protocol sinks: v1 `/write` and v2 `/api/v2/write`. Both POST the same body
 * (see line-codec.ts); they differ only in URL and authentication. VictoriaMetrics accepts the
 * v1 form on its `/write` endpoint.
 */

import type { Config } from '../../config/schema';
import { ForwardingSink, type SinkOptions } from '../core/forwarding-sink';
import { LineProtocolCodec } from './line-codec';

export const LINE_PROTOCOL_CONTENT_TYPE = 'text/plain; charset=utf-8';

/** Which origins a generic sink forwards: custom always, system when FORWARD_SYSTEM_METRICS is on. */
export function genericOrigins(forwardSystemMetrics: boolean | undefined): Array<'custom' | 'system'> {
  return forwardSystemMetrics ? ['custom', 'system'] : ['custom'];
}

export interface InfluxV1SinkOptions extends SinkOptions {
  /** The full write URL (FORWARD_INFLUX_URL), e.g. http://host:8086/write?db=metrics or http://vm:8428/write. */
  url: string;
  /** Forward system metrics too (FORWARD_SYSTEM_METRICS). Default false. */
  forwardSystemMetrics?: boolean;
}

/**
 * POST {url} with `precision=ns` added (unless the URL sets a precision). Credentials, if any,
 * go in the URL as InfluxDB 1.x expects (`u=`/`p=` or user info); logs show them redacted.
 */
export class InfluxV1Sink extends ForwardingSink {
  readonly codec: LineProtocolCodec;

  constructor(opts: InfluxV1SinkOptions) {
    const codec = new LineProtocolCodec();
    const u = new URL(opts.url);
    if (!u.searchParams.has('precision')) u.searchParams.set('precision', 'ns');
    super({
      name: 'influx-v1',
      url: u.toString(),
      headers: { 'Content-Type': LINE_PROTOCOL_CONTENT_TYPE },
      codec,
      origins: genericOrigins(opts.forwardSystemMetrics),
    }, opts);
    this.codec = codec;
  }
}

export interface InfluxV2SinkOptions extends SinkOptions {
  /** Base URL of the InfluxDB 2 server (FORWARD_INFLUX_V2_URL), e.g. http://influxdb:8086. */
  url: string;
  /** API token (FORWARD_INFLUX_V2_TOKEN); empty sends no Authorization header. */
  token?: string;
  org: string;
  bucket: string;
  forwardSystemMetrics?: boolean;
}

/** POST {url}/api/v2/write?org=…&bucket=…&precision=ns with `Authorization: Token …`. */
export class InfluxV2Sink extends ForwardingSink {
  readonly codec: LineProtocolCodec;

  constructor(opts: InfluxV2SinkOptions) {
    if (!opts.org || !opts.bucket) {
      throw new Error('FORWARD_INFLUX_V2_ORG and FORWARD_INFLUX_V2_BUCKET must both be set when FORWARD_INFLUX_V2_URL is');
    }
    const codec = new LineProtocolCodec();
    const u = new URL(opts.url);
    u.pathname = u.pathname.replace(/\/+$/, '') + '/api/v2/write';
    u.searchParams.set('org', opts.org);
    u.searchParams.set('bucket', opts.bucket);
    u.searchParams.set('precision', 'ns');
    const headers: Record<string, string> = { 'Content-Type': LINE_PROTOCOL_CONTENT_TYPE };
    if (opts.token) headers.Authorization = `Token ${opts.token}`;
    super({ name: 'influx-v2', url: u.toString(), headers, codec, origins: genericOrigins(opts.forwardSystemMetrics) }, opts);
    this.codec = codec;
  }
}

/** Sink options from the config for the v2 sink (used by createSinks). */
export function influxV2Settings(c: Config): Pick<InfluxV2SinkOptions, 'url' | 'token' | 'org' | 'bucket'> {
  return { url: c.forwardInfluxV2Url, token: c.forwardInfluxV2Token, org: c.forwardInfluxV2Org, bucket: c.forwardInfluxV2Bucket };
}
