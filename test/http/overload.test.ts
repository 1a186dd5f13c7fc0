import assert from 'node:assert/strict';
import http from 'node:http';
import { startAgentProcess, type AgentProcess } from '../helpers/agent-process';
import { MemoryCgroup, requireMemoryCgroup } from '../helpers/memory-cgroup';
import { repeatedRequest } from '../helpers/otlp-body';
import { postText, startAgent, type RunningAgent } from '../helpers/agent';

const MiB = 1024 * 1024;

/** POST a body with headers; resolves with status, headers and text. */
function post(url: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('latin1') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Polls /health every `everyMs` until stopped; returns the latencies (ms) and failures. */
function probeHealth(url: string, everyMs = 20): { stop: () => Promise<{ latencies: number[]; failures: number }> } {
  const latencies: number[] = [];
  let failures = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      try {
        const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) });
        await r.text();
        if (r.status === 200) latencies.push(performance.now() - t);
        else failures++;
      } catch {
        failures++;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return { stop: async () => { running = false; await loop; return { latencies, failures }; } };
}

describe('overload: large requests are decoded in bounded steps and admitted against a budget', function () {
  this.timeout(180_000);

  describe('in a real 512 MiB memory cgroup', () => {
    let cg: MemoryCgroup | undefined;
    let agent: AgentProcess | undefined;
    beforeEach(function () {
      requireMemoryCgroup(this);
    });
    afterEach(async () => {
      await agent?.stop();
      agent = undefined;
      cg?.remove();
      cg = undefined;
    });

    it('a 13 MB OTLP protobuf request (64 KB gzipped) neither kills the agent nor stops /health', async () => {
      // The request: one ~692-byte resourceMetrics repeated 18,786 times.
      const { raw, gzip, resourceBytes } = repeatedRequest(18_786);
      assert.ok(resourceBytes >= 680 && resourceBytes <= 700, `resourceMetrics is ${resourceBytes} bytes`);
      assert.ok(raw.length > 12.5e6 && raw.length < 13.5e6, `${raw.length} bytes`);
      cg = MemoryCgroup.create('mm-otlp', 512 * MiB);
      agent = await startAgentProcess({ cgroup: cg, env: { RATE_LIMIT_ENABLED: 'false' } });
      const probe = probeHealth(agent.url);
      const headers = { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' };
      // Four at once: the memory budget admits what fits and refuses the rest with 503.
      const answers = await Promise.all([0, 1, 2, 3].map(() => post(`${agent!.url}/v1/metrics`, gzip, headers)));
      const { latencies, failures } = await probe.stop();
      for (const a of answers) {
        assert.ok(a.status === 200 || a.status === 503, `status ${a.status}: ${a.text.slice(0, 200)}`);
        if (a.status === 503) assert.ok(Number(a.headers['retry-after']) >= 1, 'Retry-After on 503');
      }
      assert.ok(answers.some((a) => a.status === 200), 'at least one request admitted');
      const again = await post(`${agent.url}/v1/metrics`, gzip, headers);
      assert.equal(again.status, 200, 'admitted once the others are done');
      assert.equal(cg.oomKills(), 0, 'no OOM kill');
      assert.equal((await fetch(`${agent.url}/health`)).status, 200);
      assert.equal(failures, 0, '/health never failed');
      assert.ok(latencies.length > 0);
      const text = await (await fetch(`${agent.url}/metrics`)).text();
      assert.match(text, /pipeline_fps\{/);
      const self = await (await fetch(`${agent.url}/metrics/self`)).text();
      const refused = /metrics_manager_ingest_refused_total\{reason="budget"\} (\d+)/.exec(self);
      assert.equal(Number(refused?.[1] ?? 0), answers.filter((a) => a.status === 503).length, 'every 503 counted');
      console.log(`      /health during 4 × 13 MB: n=${latencies.length} max ${Math.max(...latencies).toFixed(0)} ms; peak ${((cg.peakBytes() ?? 0) / MiB).toFixed(0)} MiB; statuses ${answers.map((a) => a.status).join(',')}`);
    });
  });

  describe('limits (in-process agent)', () => {
    let a: RunningAgent;
    before(async () => {
      a = await startAgent({ RATE_LIMIT_ENABLED: 'false', MAX_SAMPLES_PER_REQUEST: '1000' });
    });
    after(() => a.stop());
    beforeEach(() => a.agent.store.clear());

    it('a request past MAX_SAMPLES_PER_REQUEST is a 413 naming the setting, and nothing is stored', async () => {
      const { raw } = repeatedRequest(300); // 4 samples per resourceMetrics → 1200
      const otlp = await post(`${a.url}/api/v1/metrics/otlp`, raw, { 'content-type': 'application/x-protobuf' });
      assert.equal(otlp.status, 413);
      assert.match(otlp.text, /MAX_SAMPLES_PER_REQUEST/);
      const lp = await postText(`${a.url}/write`, Array.from({ length: 1001 }, (_, i) => `m,i=${i} value=1`).join('\n'));
      assert.equal(lp.status, 413);
      assert.match(await lp.text(), /more than 1000 samples \(MAX_SAMPLES_PER_REQUEST\)/);
      assert.equal(a.agent.store.size, 0);
      const ok = await post(`${a.url}/v1/metrics`, repeatedRequest(250).raw, { 'content-type': 'application/x-protobuf' });
      assert.equal(ok.status, 200);
    });

    it('line protocol parsed in slices keeps whole-body line numbers', async () => {
      const lines = Array.from({ length: 30_000 }, (_, i) => (i === 25_000 ? 'broken line' : `lp,i=${i % 500} value=${i}`));
      a.agent.config.update({ maxSamplesPerRequest: 100_000 });
      const r = await postText(`${a.url}/api/v1/metrics/influx`, lines.join('\n'));
      assert.equal(r.status, 202);
      const body = (await r.json()) as { accepted: number; errors: string[] };
      assert.equal(body.accepted, 29_999);
      assert.equal(body.errors.length, 1);
      assert.match(body.errors[0], /^line 25001: /);
      a.agent.config.update({ maxSamplesPerRequest: 1000 });
    });

    it('a memory pressure check refuses pushes with 503 + Retry-After, counted, and reads stay open', async () => {
      a.agent.admission!.setPressureCheck(() => 7);
      try {
        const r = await postText(`${a.url}/write`, 'm value=1');
        assert.equal(r.status, 503);
        assert.equal(r.headers.get('retry-after'), '7');
        const otlp = await post(`${a.url}/v1/metrics`, repeatedRequest(1).raw, { 'content-type': 'application/x-protobuf' });
        assert.equal(otlp.status, 503);
        assert.equal(otlp.headers['retry-after'], '7');
        assert.equal((await fetch(`${a.url}/health`)).status, 200);
        const self = await (await fetch(`${a.url}/metrics/self`)).text();
        assert.match(self, /metrics_manager_ingest_refused_total\{reason="pressure"\} 2/);
      } finally {
        a.agent.admission!.setPressureCheck(undefined);
      }
      assert.equal((await postText(`${a.url}/write`, 'm value=1')).status, 204);
    });
  });
});
