import assert from 'node:assert/strict';
import http from 'node:http';
import os from 'node:os';
import { gzipSync } from 'node:zlib';
import { postJson, postText, startAgent, type RunningAgent } from '../helpers/agent';

describe('HTTP ingestion', () => {
  let a: RunningAgent;
  before(async () => {
    a = await startAgent({ RATE_LIMIT_ENABLED: 'false', MAX_BODY_BYTES: '65536' });
  });
  after(() => a.stop());
  beforeEach(() => a.agent.store.clear());

  const latest = async (name: string) => {
    const r = await fetch(`${a.url}/api/v1/metrics?name=${name}`);
    return ((await r.json()) as { metrics: Array<{ name: string; fields: { value: number }; tags: Record<string, string>; timestamp: number }> }).metrics;
  };

  describe('POST /api/v1/metrics/simple', () => {
    it('accepts a metric with tags and timestamp (202, reference shape)', async () => {
      const r = await postJson(`${a.url}/api/v1/metrics/simple`, { name: 'fps', value: 29.97, tags: { source: 'camera1' }, timestamp: 1776947971 });
      assert.equal(r.status, 202);
      assert.deepEqual(await r.json(), { accepted: 1, message: "Accepted metric 'fps'", errors: [] });
      const m = await latest('fps');
      assert.equal(m.length, 1);
      assert.equal(m[0].fields.value, 29.97);
      assert.deepEqual(m[0].tags, { source: 'camera1' });
      assert.equal(m[0].timestamp, 1776947971);
    });

    it('accepts a numeric string value and sanitises the name like Telegraf', async () => {
      const r = await postJson(`${a.url}/api/v1/metrics/simple`, { name: 'my-metric.rate', value: '42' });
      assert.equal(r.status, 202);
      assert.equal((await latest('my_metric_rate'))[0].fields.value, 42);
    });

    for (const [what, body, pattern] of [
      ['a missing value', { name: 'x' }, /value/],
      ['a non-numeric value', { name: 'x', value: 'abc' }, /value/],
      ['"NaN" as value', { name: 'x', value: 'NaN' }, /value/],
      ['an empty name', { name: '', value: 1 }, /name/],
      ['a too long name', { name: 'x'.repeat(257), value: 1 }, /name/],
      ['numeric tag values', { name: 'x', value: 1, tags: { a: 1 } }, /tags/],
      ['a bad timestamp', { name: 'x', value: 1, timestamp: 'soon' }, /timestamp/],
      ['more than 64 labels', { name: 'x', value: 1, tags: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`l${i}`, 'v'])) }, /more than 64 labels/],
      ['a label value over 2 KiB', { name: 'x', value: 1, tags: { big: 'é'.repeat(1025) } }, /longer than 2048 bytes/],
      ['a reserved label name', { name: 'x', value: 1, tags: { __name__: 'y' } }, /reserved/],
    ] as const) {
      it(`rejects ${what} with 422 naming the problem`, async () => {
        const r = await postJson(`${a.url}/api/v1/metrics/simple`, body);
        assert.equal(r.status, 422);
        const j = (await r.json()) as { error: string; message: string };
        assert.equal(j.error, 'invalid_metrics');
        assert.match(j.message, pattern);
      });
    }
  });

  describe('POST /api/v1/metrics (batch)', () => {
    it('maps multi-field points to series by the Telegraf v1 rule', async () => {
      const r = await postJson(`${a.url}/api/v1/metrics`, {
        metrics: [
          { name: 'cpu', fields: { usage_user: 45.2, usage_system: 12.1 }, tags: { host: 'server1' }, timestamp: 1704067200000000000 },
          { name: 'inference', fields: { value: 1, latency_ms: 23.5, ok: true, model_name: 'yolo' }, tags: { model: 'yolov8' }, metric_type: 'gauge' },
        ],
      });
      assert.equal(r.status, 202);
      assert.deepEqual(await r.json(), { accepted: 2, message: 'Accepted 2 metrics', errors: [] });
      const names = ((await (await fetch(`${a.url}/api/v1/metrics/names`)).json()) as { names: string[] }).names.sort();
      assert.deepEqual(names, ['cpu_usage_system', 'cpu_usage_user', 'inference', 'inference_latency_ms', 'inference_ok']);
      const user = (await latest('cpu_usage_user'))[0];
      assert.equal(user.timestamp, 1704067200);
      assert.equal((await latest('inference_ok'))[0].fields.value, 1);
    });

    it('rejects the whole batch naming every invalid item', async () => {
      const r = await postJson(`${a.url}/api/v1/metrics`, { metrics: [{ name: 'ok', fields: { v: 1 } }, { name: 'bad', fields: {} }, { name: 'bad2', fields: { v: null } }] });
      assert.equal(r.status, 422);
      const j = (await r.json()) as { message: string; errors: string[] };
      assert.match(j.message, /2 of 3 metrics are invalid/);
      assert.equal(j.errors.length, 2);
      assert.match(j.errors[0], /metrics\[1\]/);
      assert.match(j.errors[1], /metrics\[2\]/);
      assert.equal((await latest('ok_v')).length, 0, 'nothing stored');
    });

    it('enforces MAX_METRICS_BATCH_SIZE with a 422 naming the limit', async () => {
      const metrics = Array.from({ length: 1001 }, (_, i) => ({ name: 'm', fields: { v: i } }));
      const r = await postJson(`${a.url}/api/v1/metrics`, { metrics });
      assert.equal(r.status, 422);
      assert.match(((await r.json()) as { message: string }).message, /Batch size 1001 exceeds the configured limit of 1000/);
    });
  });

  describe('bad bodies on every JSON route', () => {
    for (const path of ['/api/v1/metrics/simple', '/api/v1/metrics', '/api/metrics/report']) {
      it(`${path}: malformed JSON → 400`, async () => {
        const r = await postText(`${a.url}${path}`, '{"name": ', { 'content-type': 'application/json' });
        assert.equal(r.status, 400);
        assert.equal(((await r.json()) as { error: string }).error, 'invalid_json');
      });
      it(`${path}: wrong content type → 415`, async () => {
        const r = await postText(`${a.url}${path}`, 'name=x', { 'content-type': 'application/x-www-form-urlencoded' });
        assert.equal(r.status, 415);
      });
      it(`${path}: invalid UTF-8 → 400 naming the offset`, async () => {
        const r = await postText(`${a.url}${path}`, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]), { 'content-type': 'application/json' });
        assert.equal(r.status, 400);
        assert.match(((await r.json()) as { message: string }).message, /UTF-8.*offset 2/);
      });
      it(`${path}: body over the limit → 413, also after gunzip`, async () => {
        const big = JSON.stringify({ name: 'x', value: 1, pad: 'a'.repeat(70_000) });
        const r1 = await postText(`${a.url}${path}`, big, { 'content-type': 'application/json' });
        assert.equal(r1.status, 413);
        const r2 = await postText(`${a.url}${path}`, gzipSync(big), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        assert.equal(r2.status, 413);
        assert.match(((await r2.json()) as { message: string }).message, /decompressed/);
      });
      it(`${path}: a JSON array or scalar → 422, not 500`, async () => {
        for (const body of ['[]', '42', 'null', '"x"']) {
          const r = await postText(`${a.url}${path}`, body, { 'content-type': 'application/json' });
          assert.equal(r.status, 422, body);
        }
      });
    }

    it('accepts gzip request bodies', async () => {
      const r = await postText(`${a.url}/api/v1/metrics/simple`, gzipSync(JSON.stringify({ name: 'gz', value: 7 })), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      assert.equal(r.status, 202);
      assert.equal((await latest('gz'))[0].fields.value, 7);
    });

    it('a corrupt gzip body is a 400', async () => {
      const r = await postText(`${a.url}/api/v1/metrics/simple`, Buffer.from('not gzip at all'), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      assert.equal(r.status, 400);
    });

    it('an unknown content encoding is a 415', async () => {
      const r = await postText(`${a.url}/api/v1/metrics/simple`, '{}', { 'content-type': 'application/json', 'content-encoding': 'br' });
      assert.equal(r.status, 415);
    });
  });

  describe('component report API', () => {
    it('stores reported metrics with component labels, help and unit', async () => {
      const r = await postJson(`${a.url}/api/metrics/report`, {
        component_name: 'worker-cpu-01',
        component_type: 'worker_pool',
        metrics: [
          { metric_name: 'noetl_system_cpu_usage_percent', metric_type: 'gauge', metric_value: 45.2, timestamp: '2024-01-01T12:00:00Z', labels: { hostname: 'node-1' }, help_text: 'CPU usage percentage', unit: 'percent' },
          { metric_name: 'custom_work_items_processed', metric_type: 'counter', metric_value: 150, labels: { worker_type: 'batch' }, help_text: 'Items processed', unit: 'items' },
        ],
      });
      assert.equal(r.status, 202);
      const q = (await (await fetch(`${a.url}/api/metrics/query?component_name=worker-cpu-01&metric_name=cpu_usage`)).json()) as { metrics: Array<Record<string, unknown>>; count: number };
      assert.equal(q.count, 1);
      assert.equal(q.metrics[0].metric_name, 'noetl_system_cpu_usage_percent');
      assert.equal(q.metrics[0].metric_value, 45.2);
      assert.equal(q.metrics[0].help_text, 'CPU usage percentage');
      assert.equal(q.metrics[0].unit, 'percent');
      assert.equal(q.metrics[0].timestamp, '2024-01-01T12:00:00.000Z');
      assert.deepEqual(q.metrics[0].labels, { hostname: 'node-1', component_name: 'worker-cpu-01', component_type: 'worker_pool' });
      const none = (await (await fetch(`${a.url}/api/metrics/query?component_name=other`)).json()) as { count: number };
      assert.equal(none.count, 0);

      const text = await (await fetch(`${a.url}/api/metrics/prometheus`)).text();
      assert.match(text, /# HELP noetl_system_cpu_usage_percent CPU usage percentage/);
      assert.match(text, /# UNIT noetl_system_cpu_usage_percent percent/);
      assert.match(text, /# TYPE custom_work_items_processed_total counter\n# UNIT custom_work_items_processed_total items\ncustom_work_items_processed_total\{/);
      assert.match(text, /noetl_system_cpu_usage_percent\{component_name="worker-cpu-01",component_type="worker_pool",hostname="node-1"\} 45.2/);
    });

    it('self-report: records the agent\'s own process and node figures under the component name', async () => {
      const r = await fetch(`${a.url}/api/metrics/self-report?component_name=node-agent&component_type=agent`, { method: 'POST' });
      assert.equal(r.status, 202);
      const body = (await r.json()) as { accepted: number; metrics: string[] };
      assert.equal(body.accepted, body.metrics.length);
      assert.ok(body.metrics.includes('process_resident_memory_bytes') && body.metrics.includes('system_cpu_usage_percent'));
      const q = (await (await fetch(`${a.url}/api/metrics/query?component_name=node-agent`)).json()) as { metrics: Array<{ metric_name: string; metric_value: number; metric_type: string; labels: Record<string, string>; help_text: string | null }> };
      const v = new Map(q.metrics.map((m) => [m.metric_name, m]));
      assert.deepEqual([...v.keys()].sort(), [...body.metrics].sort());
      for (const m of q.metrics) {
        assert.deepEqual(m.labels, { component_name: 'node-agent', component_type: 'agent' });
        assert.ok(m.help_text, `${m.metric_name} has help text`);
      }
      // The agent runs in this process here, so its figures are this process's.
      const rss = process.memoryUsage().rss;
      const reported = v.get('process_resident_memory_bytes')!.metric_value;
      assert.ok(reported > rss / 2 && reported < rss * 2, `rss ${reported} vs ${rss}`);
      assert.ok(v.get('process_heap_used_bytes')!.metric_value > 0);
      assert.equal(v.get('process_cpu_seconds_total')!.metric_type, 'counter');
      assert.ok(v.get('process_cpu_seconds_total')!.metric_value > 0);
      assert.ok(Math.abs(v.get('process_start_time_seconds')!.metric_value - (Date.now() / 1000 - process.uptime())) < 5);
      assert.equal(v.get('system_memory_total_bytes')!.metric_value, os.totalmem());
      assert.equal(v.get('system_cpus')!.metric_value, os.cpus().length);
      const cpu = v.get('system_cpu_usage_percent')!.metric_value;
      assert.ok(cpu >= 0 && cpu <= 100, String(cpu));
      const text = await (await fetch(`${a.url}/api/metrics/prometheus`)).text();
      assert.match(text, /process_resident_memory_bytes\{component_name="node-agent",component_type="agent"\} \d+/);
    });

    it('self-report: 400 without component_name, 422 for an invalid one; nothing stored', async () => {
      const none = await fetch(`${a.url}/api/metrics/self-report`, { method: 'POST' });
      assert.equal(none.status, 400);
      assert.match(((await none.json()) as { message: string }).message, /component_name/);
      const twice = await fetch(`${a.url}/api/metrics/self-report?component_name=a&component_name=b`, { method: 'POST' });
      assert.equal(twice.status, 400);
      const long = await fetch(`${a.url}/api/metrics/self-report?component_name=${'x'.repeat(300)}`, { method: 'POST' });
      assert.equal(long.status, 422);
      assert.match(((await long.json()) as { message: string }).message, /component_name/);
      assert.equal(a.agent.store.size, 0);
      assert.equal((await fetch(`${a.url}/api/metrics/self-report?component_name=a`)).status, 405);
    });

    it('rejects a report without component_name', async () => {
      const r = await postJson(`${a.url}/api/metrics/report`, { metrics: [] });
      assert.equal(r.status, 422);
      assert.match(((await r.json()) as { message: string }).message, /component_name/);
    });
  });
  describe('text bodies decoded chunk by chunk', () => {
    /** Sends `pieces` as separate writes (each its own chunk on the server), waiting between them. */
    const postPieces = (path: string, pieces: Buffer[]): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = http.request(`${a.url}${path}`, { method: 'POST', headers: { 'content-type': 'text/plain' } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        const next = (i: number) => {
          if (i === pieces.length) return req.end();
          req.write(pieces[i], () => setTimeout(() => next(i + 1), 20));
        };
        next(0);
      });

    it('a character split across chunks is decoded whole', async () => {
      const line = Buffer.from('lp_split,room=Zürich€ value=3\n');
      const cut = line.indexOf(0xe2) + 1; // inside the three bytes of €
      const r = await postPieces('/api/v1/metrics/influx', [line.subarray(0, cut), line.subarray(cut)]);
      assert.equal(r.status, 202, r.body);
      assert.equal((await latest('lp_split'))[0]?.tags.room, 'Zürich€');
    });

    it('a bad byte in a later chunk is a 400 naming its offset in the whole body', async () => {
      const first = Buffer.from('lp_bad value=1\n');
      const r = await postPieces('/api/v1/metrics/influx', [first, Buffer.from([0x6c, 0x70, 0xc3, 0x28])]);
      assert.equal(r.status, 400);
      assert.match(r.body, new RegExp(`UTF-8.*offset ${first.length + 2}`));
    });

    it('a sequence cut off at the end of the body is a 400', async () => {
      const r = await postPieces('/api/v1/metrics/influx', [Buffer.from('lp_cut value=1 '), Buffer.from([0xe2, 0x82])]);
      assert.equal(r.status, 400);
      assert.match(r.body, /UTF-8.*offset 15/);
    });
  });
});
