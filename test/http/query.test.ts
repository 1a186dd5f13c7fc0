import assert from 'node:assert/strict';
import { postJson, postText, startAgent, type RunningAgent } from '../helpers/agent';
import { requireTool, run } from '../helpers/tools';

describe('HTTP query and exposition', () => {
  let a: RunningAgent;
  before(async () => {
    a = await startAgent({ RATE_LIMIT_ENABLED: 'false', HISTORY_SECONDS: '3600' });
  });
  after(() => a.stop());
  beforeEach(() => a.agent.store.clear());

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const r = await fetch(`${a.url}${path}`, { headers });
    return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
  };
  const json = async <T>(path: string) => JSON.parse((await get(path)).text) as T;

  it('GET /api/v1/metrics: one entry per series, ?name= and ?match=', async () => {
    await postText(`${a.url}/write`, 'fps,source=cam1 value=30\nfps,source=cam2 value=25\nfps,source=cam2 value=26\nother v=1');
    const all = await json<{ metrics: Array<{ name: string; tags: Record<string, string>; fields: { value: number } }>; count: number }>('/api/v1/metrics');
    assert.equal(all.count, 3);
    const fps = await json<{ metrics: Array<{ tags: Record<string, string>; fields: { value: number } }> }>('/api/v1/metrics?name=fps');
    assert.deepEqual(fps.metrics.map((m) => [m.tags.source, m.fields.value]).sort(), [['cam1', 30], ['cam2', 26]]);
    const matched = await json<{ count: number; metrics: Array<{ tags: Record<string, string> }> }>(`/api/v1/metrics?match=${encodeURIComponent('{source=~"cam[2-9]"}')}`);
    assert.equal(matched.count, 1);
    assert.equal(matched.metrics[0].tags.source, 'cam2');
    const bad = await get(`/api/v1/metrics?match=${encodeURIComponent('{source=~"("}')}`);
    assert.equal(bad.status, 400);
    assert.match(bad.text, /invalid match selector/);
  });

  it('?limit=N answers at most N series and says when it left some out; a bad limit is a 400 naming it', async () => {
    await postText(`${a.url}/write`, 'fps,source=cam1 value=30\nfps,source=cam2 value=25\nfps,source=cam3 value=20\nup value=1');
    type L = { metrics: Array<{ name: string; type: string }>; count: number; truncated?: boolean };
    const one = await json<L>('/api/v1/metrics?name=fps&limit=1');
    assert.equal(one.count, 1);
    assert.equal(one.metrics.length, 1);
    assert.equal(one.metrics[0].name, 'fps');
    assert.equal(one.truncated, true);
    const all = await json<L>('/api/v1/metrics?name=fps&limit=3');
    assert.equal(all.count, 3);
    assert.equal(all.truncated, undefined, 'nothing left out');
    const latest = await json<{ metrics: Record<string, unknown>; truncated?: boolean }>('/api/v1/metrics/latest?limit=2');
    assert.equal(Object.keys(latest.metrics).length, 2);
    assert.equal(latest.truncated, true);
    for (const bad of ['0', '-1', '1.5', 'x', '', '1e3', '9999999999']) {
      const r = await get(`/api/v1/metrics?limit=${encodeURIComponent(bad)}`);
      assert.equal(r.status, 400, `limit=${bad}`);
      assert.match(r.text, /limit must be a positive integer/);
    }
    assert.equal((await get('/api/v1/metrics?limit=1&limit=2')).status, 400);
  });

  it('GET /api/v1/metrics/latest is keyed per series, not per name', async () => {
    await postText(`${a.url}/write`, 'fps,source=cam1 value=30\nfps,source=cam2 value=25\nup value=1');
    const j = await json<{ metrics: Record<string, { fields: { value: number } }> }>('/api/v1/metrics/latest');
    assert.deepEqual(Object.keys(j.metrics).sort(), ['fps{source=cam1}', 'fps{source=cam2}', 'up']);
    assert.equal(j.metrics['fps{source=cam2}'].fields.value, 25);
  });

  it('DELETE: by name, by selector, everything; an empty name= is a 400', async () => {
    await postText(`${a.url}/write`, 'a,x=1 value=1\na,x=2 value=1\nb value=1\nc value=1');
    const empty = await fetch(`${a.url}/api/v1/metrics?name=`, { method: 'DELETE' });
    assert.equal(empty.status, 400);
    assert.equal(a.agent.store.size, 4, 'nothing deleted by the empty name');
    const byName = await fetch(`${a.url}/api/v1/metrics?name=a`, { method: 'DELETE' });
    assert.deepEqual(await byName.json(), { cleared: 2, message: 'Cleared 2 metrics' });
    const bySel = await fetch(`${a.url}/api/v1/metrics?match=${encodeURIComponent('{__name__="b"}')}`, { method: 'DELETE' });
    assert.equal(((await bySel.json()) as { cleared: number }).cleared, 1);
    const all = await fetch(`${a.url}/api/v1/metrics`, { method: 'DELETE' });
    assert.equal(((await all.json()) as { cleared: number }).cleared, 1);
    assert.equal(a.agent.store.size, 0);
  });

  it('DELETE and /api/health concern custom series; system series are counted beside them', async () => {
    a.agent.hub.accept({ samples: [{ name: 'cpu_usage_idle', labels: { cpu: 'cpu0' }, value: 90, type: 'gauge' }], origin: 'system', format: 'system' });
    await postText(`${a.url}/write`, 'a value=1\nb value=1');
    type H = { metrics_store: { total_metrics: number; metric_names: string[]; system_metrics: number; max_system_metrics: number } };
    const h = await json<H>('/api/health');
    assert.equal(h.metrics_store.total_metrics, 2);
    assert.deepEqual(h.metrics_store.metric_names, ['a', 'b']);
    assert.equal(h.metrics_store.system_metrics, 1);
    assert.equal(h.metrics_store.max_system_metrics, 20_000);
    const byName = await fetch(`${a.url}/api/v1/metrics?name=cpu_usage_idle`, { method: 'DELETE' });
    assert.equal(((await byName.json()) as { cleared: number }).cleared, 0, 'a system series is not deleted by name');
    const all = await fetch(`${a.url}/api/v1/metrics`, { method: 'DELETE' });
    assert.equal(((await all.json()) as { cleared: number }).cleared, 2);
    assert.equal(a.agent.store.sizeOf('custom'), 0);
    assert.equal(a.agent.store.sizeOf('system'), 1, 'system series survive a clear');
  });

  it('GET /api/v1/query_range returns history points, raw and stepped', async () => {
    const t0 = 1_800_000_000; // seconds
    const lines = Array.from({ length: 10 }, (_, i) => `temp,card=c0 value=${i} ${t0 + i * 10}`).join('\n');
    assert.equal((await postText(`${a.url}/write?precision=s`, lines)).status, 204);
    type Range = { status: string; data: { resultType: string; result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> } };
    const raw = await json<Range>(`/api/v1/query_range?name=temp&start=${t0}&end=${t0 + 95}`);
    assert.equal(raw.status, 'success');
    assert.equal(raw.data.resultType, 'matrix');
    assert.deepEqual(raw.data.result[0].metric, { __name__: 'temp', card: 'c0' });
    assert.equal(raw.data.result[0].values.length, 10);
    assert.deepEqual(raw.data.result[0].values[3], [t0 + 30, '3']);
    const stepped = await json<Range>(`/api/v1/query_range?match=temp&start=${t0 + 5}&end=${t0 + 85}&step=20s`);
    assert.deepEqual(stepped.data.result[0].values, [[t0 + 5, '0'], [t0 + 25, '2'], [t0 + 45, '4'], [t0 + 65, '6'], [t0 + 85, '8']]);
    assert.equal((await get('/api/v1/query_range')).status, 400);
    assert.equal((await get(`/api/v1/query_range?name=temp&step=-1`)).status, 400);
    assert.equal((await get(`/api/v1/query_range?name=temp&start=${t0 + 10}&end=${t0}`)).status, 400);
  });

  it('GET /metrics: text 0.0.4 with TYPE, escaping and NaN/Inf, clean under promtool', async function () {
    await postText(`${a.url}/write`, 'weird,path=C:\\dir\\file,quote="x" value=1\nok,host=h value=2');
    await postJson(`${a.url}/v1/metrics`, { resourceMetrics: [{ scopeMetrics: [{ metrics: [
      { name: 'nan_gauge', gauge: { dataPoints: [{ asDouble: 'NaN' }] } },
      { name: 'inf_gauge', gauge: { dataPoints: [{ asDouble: 'Infinity' }] } },
      { name: 'reqs', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ asInt: '3' }] } },
      { name: 'lat', histogram: { aggregationTemporality: 2, dataPoints: [{ count: '2', sum: 1.5, bucketCounts: ['1', '1'], explicitBounds: [1] }] } },
      { name: 'q', summary: { dataPoints: [{ count: '2', sum: 3, quantileValues: [{ quantile: 0.5, value: 1 }] }] } },
    ] }] }] });
    const r = await get('/metrics');
    assert.match(r.type, /^text\/plain; version=0.0.4/);
    assert.match(r.text, /# TYPE ok gauge\nok\{host="h"\} 2\n/);
    assert.match(r.text, /weird\{path="C:\\\\dir\\\\file",quote="\\"x\\""\} 1/);
    assert.match(r.text, /nan_gauge NaN/);
    assert.match(r.text, /inf_gauge \+Inf/);
    assert.match(r.text, /# TYPE reqs_total counter\nreqs_total 3/);
    assert.match(r.text, /# TYPE lat histogram/);
    assert.match(r.text, /# TYPE q summary/);
    if (!requireTool(this, '/usr/bin/promtool', 'prometheus')) return;
    const check = run('/usr/bin/promtool', ['check', 'metrics'], r.text);
    assert.doesNotMatch(check.stdout + check.stderr, /error/i, check.stdout + check.stderr);

    const om = await get('/metrics', { accept: 'application/openmetrics-text; version=1.0.0' });
    assert.match(om.type, /^application\/openmetrics-text/);
    assert.match(om.text, /# EOF\n$/);
    assert.match(om.text, /reqs_total 3/);
  });

  it('GET /metrics/self exposes the agent\'s own metrics by category', async () => {
    await postText(`${a.url}/write`, 'x value=1\nbad');
    await get('/health');
    const r = await get('/metrics/self');
    for (const name of ['metrics_manager_http_requests_total', 'metrics_manager_http_request_duration_seconds_bucket', 'metrics_manager_events_received_total', 'metrics_manager_events_rejected_total', 'metrics_manager_events_series', 'metrics_manager_events_series_removed_total', 'metrics_manager_rate_limit_rejected_total', 'metrics_manager_connections_active']) {
      assert.ok(r.text.includes(name), `missing ${name}`);
    }
    assert.match(r.text, /metrics_manager_events_received_total\{format="write"\} \d+/);
    assert.match(r.text, /metrics_manager_events_rejected_total\{format="write",reason="parse"\} \d+/);
    assert.match(r.text, /metrics_manager_http_requests_total\{method="GET",route="\/health",status="200"\} \d+/);
  });

  it('health, stats and service info', async () => {
    await postText(`${a.url}/write`, 'x value=1');
    const h = await json<{ status: string; checks: { store: boolean }; uptime_seconds: number; version: string }>('/health');
    assert.equal(h.status, 'healthy');
    assert.equal(h.checks.store, true);
    assert.equal(typeof h.uptime_seconds, 'number');
    const d = await json<{ metrics_store: { total_metrics: number; metric_names: string[]; retention_seconds: number; max_metrics: number } }>('/api/health');
    assert.equal(d.metrics_store.total_metrics, 1);
    assert.deepEqual(d.metrics_store.metric_names, ['x']);
    assert.equal(d.metrics_store.retention_seconds, 300);
    const s = await json<{ requests_total: number; metrics_received_total: number; requests: { total: number }; metrics_ingestion: { by_source: Record<string, number> } }>('/api/v1/stats');
    assert.ok(s.requests_total > 0);
    assert.ok(s.metrics_received_total >= 1);
    assert.ok(s.metrics_ingestion.by_source.write >= 1);
    const info = await json<{ service: string; endpoints: Record<string, unknown> }>('/');
    assert.equal(info.service, 'Metrics Manager');
    assert.ok(info.endpoints.metrics_api);
  });

  it('unknown paths are JSON 404s; wrong methods are 405 with Allow', async () => {
    const nf = await get('/nope');
    assert.equal(nf.status, 404);
    assert.equal(JSON.parse(nf.text).error, 'not_found');
    const r = await fetch(`${a.url}/api/v1/metrics/simple`);
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'POST');
  });

  it('label regexes are RE2: (a+)+b against a×40+"!" answers at once on query, delete and stream', async () => {
    const evil = 'a'.repeat(40) + '!';
    await postText(`${a.url}/write`, `victim,l=${evil} value=1\nvictim,l=aab value=2`);
    const sel = encodeURIComponent('victim{l=~"(a+)+b"}');
    const health = fetch(`${a.url}/health`); // queued behind the query on a backtracking engine
    const started = Date.now();
    const q = await json<{ count: number; metrics: Array<{ tags: Record<string, string> }> }>(`/api/v1/metrics?match=${sel}`);
    assert.equal(q.count, 1);
    assert.equal(q.metrics[0].tags.l, 'aab');
    assert.equal((await health).status, 200);
    const stream = await fetch(`${a.url}/metrics/stream?match=${sel}`, { headers: { Accept: 'text/event-stream' } });
    assert.equal(stream.status, 200);
    await stream.body?.cancel();
    const del = await fetch(`${a.url}/api/v1/metrics?match=${sel}`, { method: 'DELETE' });
    assert.deepEqual(await del.json(), { cleared: 1, message: 'Cleared 1 metrics' });
    // Not a timing assertion of speed, a guard against the minutes a backtracking engine takes.
    assert.ok(Date.now() - started < 10_000);
    assert.equal(a.agent.store.size, 1);
  });

  it('a pattern RE2 refuses is a 400 naming it, on every selector route', async () => {
    const sel = encodeURIComponent('{l=~"x(?=y)"}'); // lookahead: not RE2
    for (const [method, path] of [['GET', '/api/v1/metrics'], ['DELETE', '/api/v1/metrics'], ['GET', '/metrics/stream']]) {
      const r = await fetch(`${a.url}${path}?match=${sel}`, { method, headers: { Accept: 'text/event-stream' } });
      assert.equal(r.status, 400, `${method} ${path}`);
      const body = (await r.json()) as { message: string };
      assert.match(body.message, /invalid regex "x\(\?=y\)" at position 5: /);
    }
  });
});
