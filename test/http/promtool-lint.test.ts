/**
 * `promtool check metrics` on the agent's real /metrics: an agent process with its built-in
 * collectors on (reading this host's /proc and /sys), fed every push format with the names users
 * actually send (gauges named like counters, counters without `_total`, Telegraf-style `_count`
 * fields and `le` tags, no help text), must expose text that promtool finds nothing to lint in.
 * The naming rules applied are the ones docs/api.md ("Prometheus exposition") states.
 */

import assert from 'node:assert/strict';
import { startAgentProcess, type AgentProcess } from '../helpers/agent-process';
import { repeatedRequest } from '../helpers/otlp-body';
import { requireTool, run } from '../helpers/tools';

const PROMTOOL = '/usr/bin/promtool';

async function post(url: string, body: string | Uint8Array, type: string): Promise<void> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': type }, body });
  assert.ok(r.status === 200 || r.status === 202 || r.status === 204, `${url}: ${r.status} ${await r.text()}`);
}

describe('/metrics is clean under promtool check metrics', function () {
  this.timeout(60_000);
  let a: AgentProcess | undefined;

  before(async function () {
    requireTool(this, PROMTOOL, 'prometheus');
    a = await startAgentProcess({ env: { SYSTEM_METRICS_SOURCE: 'builtin', RATE_LIMIT_ENABLED: 'false' } });
  });
  after(async () => {
    await a?.stop();
  });

  it('for every push format, with names promtool would otherwise lint', async () => {
    const u = a!.url;
    const json = 'application/json';
    await post(`${u}/api/v1/metrics/simple`, JSON.stringify({ name: 'camera_fps', value: 29.97, tags: { source: 'cam1' } }), json);
    await post(`${u}/api/v1/metrics`, JSON.stringify({ metrics: [
      { name: 'inference', fields: { latency_seconds: 0.02, requests: 5 }, tags: { model: 'resnet' } },
      { name: 'frames_dropped', fields: { value: 3 }, metric_type: 'counter' },
    ] }), json);
    await post(`${u}/api/v1/metrics/influx`, 'disk_io,dev=sda reads_total=12i,writes_total=4i,util=0.5\n', 'text/plain');
    await post(`${u}/write`, 'http_requests_total,code=200 value=7i\nlatency_hist,le=0.5 bucket=3i,count=9i,sum=2.5\n', 'text/plain');
    await post(`${u}/api/v2/write?org=o&bucket=b`, 'queue,q=jobs depth=2i\n', 'text/plain');
    await post(`${u}/v1/metrics`, new Uint8Array(repeatedRequest(1).raw), 'application/x-protobuf');
    await post(`${u}/api/v1/metrics/otlp`, JSON.stringify({ resourceMetrics: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] }, scopeMetrics: [{ metrics: [
      { name: 'rpc.calls', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ asInt: '3' }] } },
      { name: 'pending', sum: { aggregationTemporality: 2, isMonotonic: false, dataPoints: [{ asInt: '1' }] } },
      { name: 'rpc.duration', unit: 's', histogram: { aggregationTemporality: 2, dataPoints: [{ count: '2', sum: 1.5, bucketCounts: ['1', '1'], explicitBounds: [1] }] } },
      { name: 'rpc.size', summary: { dataPoints: [{ count: '2', sum: 3, quantileValues: [{ quantile: 0.5, value: 1 }] }] } },
      { name: 'temperature', gauge: { dataPoints: [{ asDouble: 'NaN' }] } },
    ] }] }] }), json);
    await post(`${u}/api/metrics/report`, JSON.stringify({ component_name: 'worker-1', component_type: 'worker_pool', metrics: [
      { metric_name: 'work_items', metric_type: 'counter', metric_value: 150 },
      { metric_name: 'tasks_total', metric_type: 'gauge', metric_value: 2 },
      { metric_name: 'batch_size', metric_type: 'histogram', metric_value: 8, help_text: 'Batch size.' },
    ] }), json);
    await post(`${u}/api/metrics/self-report?component_name=agent`, '', 'text/plain');

    // The built-in collectors have written at least once (mem_total is a gauge named like a counter).
    let text = '';
    for (let i = 0; i < 100 && !/^mem_total\{/m.test(text); i++) {
      text = await (await fetch(`${u}/metrics`)).text();
      if (!/^mem_total\{/m.test(text)) await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(text, /^mem_total\{/m, 'the mem collector wrote nothing');

    const check = run(PROMTOOL, ['check', 'metrics'], text);
    assert.deepEqual({ code: check.code, findings: (check.stdout + check.stderr).trim() }, { code: 0, findings: '' });

    // The documented rules, one by one.
    assert.match(text, /# HELP camera_fps gauge camera_fps \(custom\): its source gave no help text\n# TYPE camera_fps gauge\n/);
    assert.match(text, /# TYPE frames_dropped_total counter\nframes_dropped_total 3\n/);
    assert.match(text, /# TYPE work_items_total counter\nwork_items_total\{component_name="worker-1",component_type="worker_pool"\} 150\n/);
    assert.match(text, /# TYPE tasks_total untyped\ntasks_total\{/);
    assert.match(text, /# TYPE http_requests_total untyped\nhttp_requests_total\{code="200"\} 7\n/);
    assert.match(text, /# TYPE latency_hist_bucket untyped\nlatency_hist_bucket\{le="0.5"\} 3\n/);
    assert.match(text, /# TYPE latency_hist_count untyped\n/);
    assert.match(text, /# TYPE mem_total untyped\n/);
    assert.match(text, /# HELP mem_total Total usable memory/);
    assert.match(text, /# TYPE process_resident_memory_bytes gauge\n/);
    assert.match(text, /# HELP rpc_duration histogram rpc_duration \(custom\): its source gave no help text\n# TYPE rpc_duration histogram\n/);

    // Control: the same text without the generated help and with the original names is what
    // promtool complained about, so the check above can fail.
    const raw = text
      .replace(/^# HELP .* its source gave no help text\n/gm, '')
      .replace(/^# TYPE (\S+) untyped\n/gm, '# TYPE $1 gauge\n')
      .replace(/work_items_total/g, 'work_items');
    const before = run(PROMTOOL, ['check', 'metrics'], raw);
    assert.equal(before.code, 3, before.stdout + before.stderr);
    const findings = before.stdout + before.stderr;
    assert.match(findings, /camera_fps no help text/);
    assert.match(findings, /mem_total non-counter metrics should not have "_total" suffix/);
    assert.match(findings, /work_items counter metrics should have "_total" suffix/);
    assert.match(findings, /latency_hist_bucket non-histogram metrics should not have "_bucket" suffix/);
  });
});
