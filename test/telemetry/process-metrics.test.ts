/**
 * The process and runtime metrics of /metrics/self (src/telemetry/process-metrics.ts): read from a
 * fixture /proc directory in process, and from a real agent process checked against its own
 * /proc/<pid> entries from outside, with promtool on the whole /metrics/self.
 */

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parsePrometheusText } from '../../src/formats/prometheus/parse';
import { parseMaxOpenFiles, registerProcessMetrics, versionLabels } from '../../src/telemetry/process-metrics';
import { Registry } from '../../src/telemetry/registry';
import { startAgentProcess, type AgentProcess } from '../helpers/agent-process';
import { requireTool, run } from '../helpers/tools';

const PROMTOOL = '/usr/bin/promtool';

/** name{labels} → value, labels in text order. */
function values(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const parsed = parsePrometheusText(text);
  assert.deepEqual(parsed.errors, []);
  for (const f of parsed.families) {
    for (const s of f.samples) {
      const l = Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(',');
      out.set(l ? `${s.name}{${l}}` : s.name, s.value);
    }
  }
  return out;
}

describe('telemetry: process metrics', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proc-self-'));
    fs.writeFileSync(path.join(dir, 'status'), 'Name:\tnode\nVmSize:\t 1000 kB\nVmData:\t  300 kB\nVmRSS:\t  200 kB\nRssAnon:\t 150 kB\n');
    fs.writeFileSync(path.join(dir, 'limits'), 'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 4096                 files     \n');
    fs.mkdirSync(path.join(dir, 'fd'));
    for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(dir, 'fd', String(i)), '');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('parses the soft open-files limit and the Node.js version', () => {
    assert.equal(parseMaxOpenFiles(fs.readFileSync(path.join(dir, 'limits'), 'utf8')), 1024);
    assert.equal(parseMaxOpenFiles('Max open files            unlimited            unlimited            files     \n'), Infinity);
    assert.equal(parseMaxOpenFiles('Max processes 10 10 processes\n'), undefined);
    assert.deepEqual(versionLabels('v24.22.3'), { version: 'v24.22.3', major: '24', minor: '22', patch: '3' });
  });

  it('reads memory and descriptors from the given /proc directory, the rest from the runtime', async () => {
    const r = new Registry();
    registerProcessMetrics(r, 'pm_', { procSelf: dir });
    // Garbage until the GC histogram has something to show: Node 24's young generation can take a
    // few megabytes without a collection, and GC entries reach the observer a tick later.
    const gcCountOf = (m: Map<string, number>) => [...m].filter(([k]) => k.startsWith('pm_nodejs_gc_duration_seconds_count{')).reduce((a, [, n]) => a + n, 0);
    for (let round = 0; round < 100 && gcCountOf(values(r.metrics())) === 0; round++) {
      let keep: unknown[] = [];
      for (let i = 0; i < 300_000; i++) keep.push({ i, s: 'x' + i });
      keep = [];
      await new Promise((res) => setTimeout(res, 10));
    }
    const v = values(r.metrics());
    assert.equal(v.get('pm_process_resident_memory_bytes'), 200 * 1024);
    assert.equal(v.get('pm_process_virtual_memory_bytes'), 1000 * 1024);
    assert.equal(v.get('pm_process_heap_bytes'), 300 * 1024);
    assert.equal(v.get('pm_process_max_fds'), 1024);
    assert.equal(v.get('pm_process_open_fds'), 5, 'entries of fd/ minus the one readdir itself holds on /proc/self');
    const cpu = process.cpuUsage();
    const total = v.get('pm_process_cpu_seconds_total')!;
    assert.ok(total > 0 && total <= (cpu.user + cpu.system) / 1e6, `cpu ${total}`);
    assert.ok(Math.abs(v.get('pm_process_cpu_user_seconds_total')! + v.get('pm_process_cpu_system_seconds_total')! - total) < 1e-9);
    assert.ok(Math.abs(v.get('pm_process_start_time_seconds')! - (Date.now() / 1000 - process.uptime())) <= 1);
    const { major, minor, patch } = versionLabels(process.version);
    assert.equal(v.get(`pm_nodejs_version_info{version=${process.version},major=${major},minor=${minor},patch=${patch}}`), 1);
    assert.ok(v.get('pm_nodejs_heap_size_used_bytes')! > 0 && v.get('pm_nodejs_heap_size_used_bytes')! <= v.get('pm_nodejs_heap_size_total_bytes')!);
    assert.ok(v.get('pm_nodejs_heap_space_size_used_bytes{space=old}')! > 0);
    assert.ok(v.get('pm_nodejs_active_resources{type=Timeout}') === undefined || v.get('pm_nodejs_active_resources{type=Timeout}')! >= 0);
    assert.ok(v.get('pm_nodejs_eventloop_lag_p99_seconds')! >= v.get('pm_nodejs_eventloop_lag_p50_seconds')!);
    assert.ok(gcCountOf(v) > 0, 'no garbage collection was recorded');
    // The loop lag measured at one scrape shows at the next.
    await new Promise((res) => setImmediate(res));
    assert.ok(values(r.metrics()).get('pm_nodejs_eventloop_lag_seconds')! > 0);
  });

  describe('a real agent process', function () {
    this.timeout(60_000);
    let a: AgentProcess | undefined;
    let spawnedAt = 0;
    before(async () => {
      spawnedAt = Date.now() / 1000;
      a = await startAgentProcess({ env: { SYSTEM_METRICS_SOURCE: 'builtin' } });
    });
    after(async () => {
      await a?.stop();
    });

    it('/metrics/self agrees with /proc/<pid> and is clean under promtool', async function () {
      const pid = a!.child.pid!;
      await fetch(`${a!.url}/health`);
      const r = await fetch(`${a!.url}/metrics/self`);
      assert.equal(r.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
      const text = await r.text();
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      const v = values(text);
      const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) * 1024;
      const rssSeen = v.get('metrics_manager_process_resident_memory_bytes')!;
      assert.ok(Math.abs(rssSeen - rss) / rss < 0.25, `rss ${rssSeen} vs ${rss}`);
      const fds = fs.readdirSync(`/proc/${pid}/fd`).length;
      assert.ok(Math.abs(v.get('metrics_manager_process_open_fds')! - fds) <= 3, `fds ${v.get('metrics_manager_process_open_fds')} vs ${fds}`);
      assert.equal(v.get('metrics_manager_process_max_fds'), parseMaxOpenFiles(fs.readFileSync(`/proc/${pid}/limits`, 'utf8')));
      const started = v.get('metrics_manager_process_start_time_seconds')!;
      assert.ok(started >= Math.floor(spawnedAt) - 1 && started <= Date.now() / 1000 + 1, `start ${started}, spawned at ${spawnedAt}`);
      // The helper polled /health while the agent started, so at least one.
      const health = v.get('metrics_manager_http_requests_total{method=GET,route=/health,status=200}')!;
      assert.ok(health >= 1);
      assert.equal(v.get('metrics_manager_http_request_duration_seconds_count{method=GET,route=/health}'), health);
      assert.equal(v.get('metrics_manager_http_request_duration_seconds_bucket{le=+Inf,method=GET,route=/health}'), health);
      assert.ok(v.get('metrics_manager_events_series')! > 0, 'the built-in collectors stored series');
      for (const dropped of ['nodejs_active_handles', 'nodejs_active_requests', 'nodejs_active_resources_total']) {
        assert.doesNotMatch(text, new RegExp(`^# TYPE metrics_manager_${dropped} `, 'm'));
      }

      if (!requireTool(this, PROMTOOL, 'prometheus')) return;
      const check = run(PROMTOOL, ['check', 'metrics'], text);
      assert.deepEqual({ code: check.code, findings: (check.stdout + check.stderr).trim() }, { code: 0, findings: '' });
    });
  });
});
