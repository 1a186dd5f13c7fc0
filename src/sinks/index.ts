/**
 * The forwarding sinks enabled by the config. See README.md beside this file.
 */

import path from 'node:path';
import { DEFAULT_TELEGRAF_HTTP_ENDPOINT, type Config } from '../config/schema';
import type { Logger } from '../log/logger';
import { ForwardingSink, type FetchLike, type HubLike, type SinkOptions } from './core/forwarding-sink';
import { InfluxV1Sink, InfluxV2Sink, influxV2Settings } from './influx/influx-sinks';
import { RemoteWriteSink } from './remote-write/remote-write-sink';
import { TelegrafSink } from './telegraf/telegraf-sink';

export { ForwardingSink, DROP_REASONS, type DropReason, type SinkStats, type SinkOptions, type HubLike, type FetchLike } from './core/forwarding-sink';
export { TelegrafSink } from './telegraf/telegraf-sink';
export { InfluxV1Sink, InfluxV2Sink } from './influx/influx-sinks';
export { RemoteWriteSink } from './remote-write/remote-write-sink';

export interface SinkDeps {
  hub: HubLike;
  logger: Logger;
  /** Wall clock, ms since the epoch. Default Date.now. */
  now?: () => number;
  /** HTTP client. Default: the global fetch. */
  fetch?: FetchLike;
  /** Jitter source. Default Math.random. */
  random?: () => number;
}

/**
 * Whether the Telegraf sink runs: TELEGRAF_FORWARD=true (which an explicitly set
 * TELEGRAF_HTTP_ENDPOINT implies, see loadConfig), or auto while Telegraf is the system source.
 */
export function telegrafForwardEnabled(c: Pick<Config, 'telegrafForward' | 'systemMetricsSource'>): boolean {
  return c.telegrafForward === 'true' || (c.telegrafForward === 'auto' && c.systemMetricsSource === 'telegraf');
}

/** Why the Telegraf sink runs or not, for the start log: an operator who set an endpoint learns why it is unused. */
export function telegrafForwardReason(c: Pick<Config, 'telegrafForward' | 'systemMetricsSource' | 'telegrafHttpEndpoint'>): string {
  if (c.telegrafForward === 'true') return 'TELEGRAF_FORWARD=true, or TELEGRAF_HTTP_ENDPOINT set without TELEGRAF_FORWARD';
  const custom = c.telegrafHttpEndpoint !== DEFAULT_TELEGRAF_HTTP_ENDPOINT ? `; TELEGRAF_HTTP_ENDPOINT=${c.telegrafHttpEndpoint} is not used` : '';
  if (c.telegrafForward === 'false') return `TELEGRAF_FORWARD=false${custom}`;
  return c.systemMetricsSource === 'telegraf'
    ? 'TELEGRAF_FORWARD=auto and SYSTEM_METRICS_SOURCE=telegraf'
    : `TELEGRAF_FORWARD=auto and SYSTEM_METRICS_SOURCE=${c.systemMetricsSource} (no Telegraf assumed)${custom}`;
}

/**
 * Builds the enabled sinks (not started). `config` is the config, or a getter of the live config:
 * FILE_PERSIST_DEBOUNCE_MS is read through it at every use, so pass the getter
 * (`() => liveConfig.get()`) for it to follow CR updates. Every other setting is read once here.
 *
 * FORWARD_QUEUE_MAX_BYTES bounds each sink's memory queue; FORWARD_SPOOL_MAX_BYTES bounds the
 * whole spool directory, so each enabled sink gets an equal share of it.
 *
 * Throws (an Error naming the variables) for inconsistent settings, e.g. an InfluxDB v2 URL
 * without org or bucket.
 */
export function createSinks(config: Config | (() => Config), deps: SinkDeps): ForwardingSink[] {
  const get = typeof config === 'function' ? config : () => config;
  const c = get();
  const wanted: Array<(o: SinkOptions) => ForwardingSink> = [];
  const names: string[] = [];
  if (telegrafForwardEnabled(c)) {
    names.push('telegraf');
    wanted.push((o) => new TelegrafSink({ ...o, url: c.telegrafHttpEndpoint }));
  }
  if (c.forwardInfluxUrl) {
    names.push('influx-v1');
    wanted.push((o) => new InfluxV1Sink({ ...o, url: c.forwardInfluxUrl, forwardSystemMetrics: c.forwardSystemMetrics }));
  }
  if (c.forwardInfluxV2Url) {
    names.push('influx-v2');
    wanted.push((o) => new InfluxV2Sink({ ...o, ...influxV2Settings(c), forwardSystemMetrics: c.forwardSystemMetrics }));
  }
  if (c.forwardRemoteWriteUrl) {
    names.push('remote-write');
    wanted.push((o) => new RemoteWriteSink({ ...o, url: c.forwardRemoteWriteUrl, forwardSystemMetrics: c.forwardSystemMetrics }));
  }
  const spoolShare = wanted.length > 0 ? Math.floor(c.forwardSpoolMaxBytes / wanted.length) : 0;
  return wanted.map((make, i) => make({
    hub: deps.hub,
    logger: deps.logger,
    now: deps.now,
    fetch: deps.fetch,
    random: deps.random,
    debounceMs: () => get().persistDebounceMs,
    queueMaxBytes: c.forwardQueueMaxBytes,
    batchMaxBytes: c.forwardBatchMaxBytes,
    timeoutMs: c.forwardTimeoutMs,
    spoolDir: c.forwardSpoolDir ? path.join(c.forwardSpoolDir, names[i]) : '',
    spoolMaxBytes: spoolShare,
    stopTimeoutMs: Math.max(100, Math.floor(c.shutdownTimeoutMs / 2)),
  }));
}
