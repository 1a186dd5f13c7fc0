/**
 * Request bodies for the load scenarios, written to a temp dir with a manifest that
 * bench/wrk/rotate.lua reads (first line Content-Type, then METHOD<TAB>PATH<TAB>FILE per request).
 * Deterministic (fixed-seed generator), so every run and every target gets the same bytes.
 */

import fs from 'node:fs';
import path from 'node:path';

/** Marker replaced by rotate.lua with a nanosecond timestamp, increasing from request to request. */
export const TS_MARKER = '@TS@';

export const LP_LINES_PER_BODY = 1000;
export const LP_FIELDS_PER_LINE = 3;
export const LP_BODIES = 10; // × 1000 lines = LP_TAG_SETS
/**
 * Distinct tag sets: 100 hosts × 100 CPUs = 10,000 series in InfluxDB's sense (measurement + tag
 * set), 30,000 in Prometheus' (one per field). Each body holds 1000 of them and no two bodies
 * share one, so with fewer connections than bodies no two requests in flight touch the same series
 * and every series sees increasing timestamps, as from Telegraf.
 */
const LP_HOSTS = 100;
const LP_CPUS = 100;
export const LP_TAG_SETS = LP_HOSTS * LP_CPUS;
export const LP_SERIES = LP_TAG_SETS * LP_FIELDS_PER_LINE;

export interface Manifest {
  file: string;
  requests: number;
  /** Bytes of the first body (for the report). */
  bodyBytes: number;
}

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 4294967296;
  };
}

interface CpuLine {
  host: string;
  cpu: string;
  user: string;
  system: string;
  idle: string;
}

/** Body b, line i: tag set b·1000 + i. */
function cpuLines(b: number): CpuLine[] {
  const rnd = rng(b + 1);
  const out: CpuLine[] = [];
  for (let i = 0; i < LP_LINES_PER_BODY; i++) {
    const k = b * LP_LINES_PER_BODY + i;
    out.push({
      host: `node-${Math.floor(k / LP_CPUS)}`,
      cpu: `cpu${k % LP_CPUS}`,
      user: (rnd() * 100).toFixed(2),
      system: (rnd() * 10).toFixed(3),
      idle: (rnd() * 100).toFixed(1),
    });
  }
  return out;
}

function writeManifest(dir: string, name: string, contentType: string, reqs: Array<{ method: string; path: string; body: string }>): Manifest {
  const lines = [contentType];
  reqs.forEach((r, i) => {
    const f = path.join(dir, `${name}-${i}.body`);
    fs.writeFileSync(f, r.body);
    lines.push(`${r.method}\t${r.path}\t${f}`);
  });
  const file = path.join(dir, `${name}.manifest`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return { file, requests: reqs.length, bodyBytes: Buffer.byteLength(reqs[0].body) };
}

/** Scenario 1: line protocol bodies (agent and VictoriaMetrics), POST /write, timestamps filled in per request. */
export function lineProtocolManifest(dir: string): Manifest {
  const reqs = [];
  for (let b = 0; b < LP_BODIES; b++) {
    const body = cpuLines(b)
      .map((l) => `cpu,host=${l.host},cpu=${l.cpu} usage_user=${l.user},usage_system=${l.system},usage_idle=${l.idle} ${TS_MARKER}\n`)
      .join('');
    reqs.push({ method: 'POST', path: '/write', body });
  }
  return writeManifest(dir, 'lp', 'text/plain; charset=utf-8', reqs);
}

/**
 * Scenario 1 for the Pushgateway: the same samples as Prometheus text (3000 sample lines, grouped
 * by family as the format requires), no timestamps (the Pushgateway refuses them), one group per body.
 */
export function promTextManifest(dir: string): Manifest {
  const reqs = [];
  for (let b = 0; b < LP_BODIES; b++) {
    const lines = cpuLines(b);
    let body = '';
    for (const field of ['user', 'system', 'idle'] as const) {
      body += `# TYPE cpu_usage_${field} gauge\n`;
      for (const l of lines) body += `cpu_usage_${field}{host="${l.host}",cpu="${l.cpu}"} ${l[field]}\n`;
    }
    reqs.push({ method: 'PUT', path: `/metrics/job/bench/instance/${b}`, body });
  }
  return writeManifest(dir, 'prom', 'text/plain; version=0.0.4', reqs);
}

const SOURCES = ['cam1', 'cam2', 'cam3', 'cam4'];

/** Scenario 2: one small push per request, the source rotating among four cameras. */
export function smallPushManifest(dir: string, target: 'agent' | 'victoria-metrics' | 'pushgateway'): Manifest {
  switch (target) {
    case 'agent':
      return writeManifest(
        dir,
        'small-agent',
        'application/json',
        SOURCES.map((s) => ({ method: 'POST', path: '/api/v1/metrics/simple', body: JSON.stringify({ name: 'fps', value: 29.97, tags: { source: s } }) })),
      );
    case 'victoria-metrics':
      return writeManifest(dir, 'small-vm', 'text/plain; charset=utf-8', SOURCES.map((s) => ({ method: 'POST', path: '/write', body: `fps,source=${s} value=29.97\n` })));
    case 'pushgateway':
      return writeManifest(dir, 'small-pgw', 'text/plain; version=0.0.4', SOURCES.map((s) => ({ method: 'POST', path: '/metrics/job/bench', body: `fps{source="${s}"} 29.97\n` })));
  }
}

/** Realistic push series i (name + 3 labels), distinct for i < 100·50·20 = 100000. */
const PUSH_NAMES = [
  'inference_fps', 'inference_latency_ms', 'inference_frames_total', 'inference_dropped_frames_total', 'decode_latency_ms',
  'preprocess_latency_ms', 'postprocess_latency_ms', 'gpu_utilization_percent', 'gpu_memory_used_bytes', 'npu_utilization_percent',
  'pipeline_queue_depth', 'pipeline_objects_detected', 'pipeline_restarts_total', 'stream_bitrate_kbps', 'stream_jitter_ms',
  'model_load_seconds', 'batch_size', 'power_watts', 'temperature_celsius', 'throughput_items_per_second',
];
const DEVICES = ['GPU.0', 'GPU.1', 'NPU'];

export function pushSeries(i: number): { name: string; tags: Record<string, string> } {
  const q = Math.floor(i / PUSH_NAMES.length);
  const pipeline = Math.floor(q / 50);
  return {
    name: PUSH_NAMES[i % PUSH_NAMES.length],
    tags: { node: `node-${q % 50}`, pipeline: `pipeline-${pipeline}`, device: DEVICES[pipeline % DEVICES.length] },
  };
}

/** JSON batch body (POST /api/v1/metrics) for series [from, to), one `value` field each. */
export function pushBatchJson(from: number, to: number, value: (i: number) => number, timestampMs?: number): string {
  const metrics = [];
  for (let i = from; i < to; i++) {
    const s = pushSeries(i);
    metrics.push({ name: s.name, fields: { value: value(i) }, tags: s.tags, ...(timestampMs !== undefined ? { timestamp: timestampMs } : {}) });
  }
  return JSON.stringify({ metrics });
}
