/**
 * The chart's alert rules and Grafana dashboard: valid PromQL and rule templates (promtool, the
 * real Prometheus tool), each alert fires on the series it watches and only then (promtool test
 * rules), and every metric they name is one the agent really emits (the collectors' golden
 * outputs and a live agent's /metrics/self).
 */

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { startAgent } from '../helpers/agent';
import { requireTool, run } from '../helpers/tools';
import { CHART_DIR, one, helm, renderObjects, ROOT, VALUE_SETS, type K8sObject } from './chart';

const PROMTOOL = '/usr/bin/promtool';
const MONITORS = VALUE_SETS.find((s) => s.name === 'ci/monitors-rendered.yaml')!.opts;
const SEL = 'job="metrics-manager",namespace="metrics-manager"';

interface Rule { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
interface Group { name: string; rules: Rule[] }

function groupsOf(o: K8sObject): Group[] {
  return (o.spec as { groups: Group[] }).groups;
}

/** Every identifier in a PromQL expression that names a metric (not a function, keyword or label). */
function metricNames(expr: string): string[] {
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const noLabelBlocks = noStrings.replace(/\{[^}]*\}/g, '{}').replace(/\[[^\]]*\]/g, '').replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = new Set<string>();
  for (const m of noLabelBlocks.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)) {
    const n = m[1]!;
    if (/^(and|or|unless|bool|offset|by|without|on|ignoring|inf|nan)$/i.test(n) || /^\d/.test(n)) continue;
    if (/^[0-9]+[smhdwy]$/.test(n)) continue;
    names.add(n);
  }
  return [...names];
}

describe('chart: alert rules and dashboard', function () {
  let tmp: string;
  let rule: K8sObject;
  let vmrule: K8sObject;

  before(function () {
    requireTool(this, PROMTOOL, 'prometheus');
    helm(this);
    const objs = renderObjects(this, MONITORS);
    rule = one(objs, 'PrometheusRule');
    vmrule = one(objs, 'VMRule');
    tmp = mkdtempSync(path.join(os.tmpdir(), 'mm-rules-'));
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('PrometheusRule and VMRule carry the same rule groups', function () {
    assert.deepEqual(groupsOf(vmrule), groupsOf(rule));
  });

  it('has the alerts operators need: agent down, sink dropping, store evicting, Telegraf down, GPU/NPU heat and throttling', function () {
    const names = groupsOf(rule).flatMap((g) => g.rules.map((r) => r.alert));
    assert.deepEqual(names, ['MetricsManagerAgentDown', 'MetricsManagerSinkDroppingData', 'MetricsManagerStoreEvicting', 'MetricsManagerTelegrafDown',
      'MetricsManagerGpuTemperatureHigh', 'MetricsManagerGpuThrottled', 'MetricsManagerNpuTemperatureHigh']);
    for (const r of groupsOf(rule).flatMap((g) => g.rules)) {
      assert.ok(r.labels?.severity, `${r.alert}: severity`);
      assert.equal(r.labels?.team, 'platform', `${r.alert}: monitoring.alerts.labels`);
      assert.ok(r.annotations?.summary && r.annotations.description, `${r.alert}: summary and description`);
    }
    const expr = (a: string) => groupsOf(rule).flatMap((g) => g.rules).find((r) => r.alert === a)!.expr;
    assert.match(expr('MetricsManagerSinkDroppingData'), /metrics_manager_forward_samples_dropped_total/);
    assert.match(expr('MetricsManagerStoreEvicting'), /metrics_manager_events_series_removed_total\{[^}]*reason=~"max_\.\*"/);
    assert.match(expr('MetricsManagerTelegrafDown'), /metrics_manager_health_dependencies_status\{[^}]*dependency="telegraf"\}\) == 0/);
  });

  it('passes promtool check rules (PromQL and annotation templates)', function () {
    const file = path.join(tmp, 'rules.yaml');
    writeFileSync(file, YAML.stringify({ groups: groupsOf(rule) }));
    const r = run(PROMTOOL, ['check', 'rules', file]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS: 7 rules found/);
  });

  it('fires each alert on the series it watches, and only there (promtool test rules)', function () {
    // Annotations are left out: promtool compares them literally; check rules covered their syntax.
    const groups = groupsOf(rule).map((g) => ({ name: g.name, rules: g.rules.map(({ annotations: _a, ...r }) => r) }));
    writeFileSync(path.join(tmp, 'unit-rules.yaml'), YAML.stringify({ groups }));
    const base = { job: 'metrics-manager', namespace: 'metrics-manager' };
    const s = (name: string, labels: Record<string, string>) => `${name}{${Object.entries({ ...base, ...labels }).map(([k, v]) => `${k}="${v}"`).join(',')}}`;
    const alert = (labels: Record<string, string>, severity = 'warning') => ({ exp_labels: { ...labels, severity, team: 'platform' } });
    const tests = {
      rule_files: ['unit-rules.yaml'],
      evaluation_interval: '1m',
      tests: [{
        interval: '1m',
        input_series: [
          { series: s('up', { pod: 'mm-a', instance: '10.0.0.1:9090' }), values: '0x20' },
          { series: s('up', { pod: 'mm-b', instance: '10.0.0.2:9090' }), values: '1x20' },
          { series: s('up', { pod: 'other' }).replace('job="metrics-manager"', 'job="someone-else"'), values: '0x20' },
          { series: s('metrics_manager_forward_samples_dropped_total', { pod: 'mm-a', sink: 'influx', reason: 'queue_full' }), values: '0+100x30' },
          { series: s('metrics_manager_forward_samples_dropped_total', { pod: 'mm-b', sink: 'influx', reason: 'queue_full' }), values: '5x30' },
          { series: s('metrics_manager_events_series_removed_total', { pod: 'mm-a', reason: 'max_series' }), values: '0+50x30' },
          { series: s('metrics_manager_events_series_removed_total', { pod: 'mm-b', reason: 'expired' }), values: '0+50x30' },
          { series: s('metrics_manager_health_dependencies_status', { pod: 'mm-a', dependency: 'telegraf' }), values: '0x20' },
          { series: s('metrics_manager_health_dependencies_status', { pod: 'mm-b', dependency: 'telegraf' }), values: '1x20' },
          { series: s('gpu_temperature_celsius', { host: 'node-a', gpu_id: '0', sensor: 'pkg' }), values: '97x20' },
          { series: s('gpu_temperature_celsius', { host: 'node-b', gpu_id: '0', sensor: 'pkg' }), values: '60x20' },
          { series: s('gpu_throttle_active', { host: 'node-a', gpu_id: '0' }), values: '1x30' },
          { series: s('gpu_throttle_active', { host: 'node-b', gpu_id: '0' }), values: '0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0' },
          { series: s('npu_temperature', { host: 'node-a' }), values: '99x20' },
          { series: s('npu_temperature', { host: 'node-b' }), values: '50x20' },
        ],
        alert_rule_test: [
          { eval_time: '3m', alertname: 'MetricsManagerAgentDown', exp_alerts: [] },
          { eval_time: '6m', alertname: 'MetricsManagerAgentDown', exp_alerts: [alert({ ...base, pod: 'mm-a', instance: '10.0.0.1:9090' }, 'critical')] },
          { eval_time: '16m', alertname: 'MetricsManagerSinkDroppingData', exp_alerts: [alert({ namespace: base.namespace, pod: 'mm-a', sink: 'influx', reason: 'queue_full' })] },
          { eval_time: '16m', alertname: 'MetricsManagerStoreEvicting', exp_alerts: [alert({ namespace: base.namespace, pod: 'mm-a', reason: 'max_series' })] },
          { eval_time: '6m', alertname: 'MetricsManagerTelegrafDown', exp_alerts: [alert({ namespace: base.namespace, pod: 'mm-a' })] },
          { eval_time: '6m', alertname: 'MetricsManagerGpuTemperatureHigh', exp_alerts: [alert({ namespace: base.namespace, host: 'node-a', gpu_id: '0', sensor: 'pkg' })] },
          { eval_time: '16m', alertname: 'MetricsManagerGpuThrottled', exp_alerts: [alert({ namespace: base.namespace, host: 'node-a', gpu_id: '0' })] },
          { eval_time: '6m', alertname: 'MetricsManagerNpuTemperatureHigh', exp_alerts: [alert({ namespace: base.namespace, host: 'node-a' })] },
        ],
      }],
    };
    const file = path.join(tmp, 'unit.yaml');
    writeFileSync(file, YAML.stringify(tests));
    const r = run(PROMTOOL, ['test', 'rules', file]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  it('follows values: thresholds, and no Telegraf alert without Telegraf', function () {
    const objs = renderObjects(this, { ...MONITORS, set: ['monitoring.alerts.gpuTemperatureCelsius=88', 'telegraf.enabled=false'] });
    const rules = groupsOf(one(objs, 'PrometheusRule')).flatMap((g) => g.rules);
    assert.match(rules.find((r) => r.alert === 'MetricsManagerGpuTemperatureHigh')!.expr, /> 88$/);
    assert.ok(!rules.some((r) => r.alert === 'MetricsManagerTelegrafDown'));
    for (const r of rules) assert.ok(r.expr.includes(SEL.replace(',', ', ')), `${r.alert} selects this release's agents`);
  });

  it('the dashboard\'s queries are valid PromQL (promtool)', function () {
    const dash = JSON.parse(readFileSync(path.join(CHART_DIR, 'files', 'grafana-dashboard.json'), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));
    assert.ok(exprs.length >= 20);
    const concrete = (e: string) => e.replace(/\$__rate_interval/g, '1m').replace(/\$\w+/g, 'x');
    const file = path.join(tmp, 'dashboard-rules.yaml');
    writeFileSync(file, YAML.stringify({ groups: [{ name: 'dashboard', rules: exprs.map((e, i) => ({ record: `dashboard:panel_${i}`, expr: concrete(e.expr) })) }] }));
    const r = run(PROMTOOL, ['check', 'rules', file]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const titles = dash.panels.map((p) => p.title);
    for (const t of ['Node', 'Intel GPU', 'Intel NPU', 'Custom metrics']) assert.ok(titles.includes(t), `a ${t} row`);
  });

  it('rules and dashboard name only metrics the agent emits', async function () {
    const emitted = new Set<string>(['up']);
    const hosts = path.join(ROOT, 'test', 'fixtures', 'hosts');
    for (const host of readdirSync(hosts)) {
      let golden: string;
      try {
        golden = readFileSync(path.join(hosts, host, 'metrics.golden.txt'), 'utf8');
      } catch {
        continue;
      }
      for (const m of golden.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)) emitted.add(m[1]!);
    }
    const agent = await startAgent();
    try {
      const self = await (await fetch(`${agent.url}/metrics/self`)).text();
      for (const m of self.matchAll(/^# TYPE (\S+)/gm)) emitted.add(m[1]!);
    } finally {
      await agent.stop();
    }
    // Telegraf's cpu input names match the built-in collector's (docs/metrics.md), as do mem and temp.
    const dash = JSON.parse(readFileSync(path.join(CHART_DIR, 'files', 'grafana-dashboard.json'), 'utf8')) as { panels: { targets?: { expr: string }[] }[]; templating: { list: { query?: { query: string } }[] } };
    const exprs = [
      ...groupsOf(rule).flatMap((g) => g.rules.map((r) => r.expr)),
      ...dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
      ...dash.templating.list.map((v) => /label_values\((\w+)/.exec(v.query?.query ?? '')?.[1] ?? '').filter(Boolean),
    ];
    const unknown = [...new Set(exprs.flatMap(metricNames))].filter((n) => !emitted.has(n));
    assert.deepEqual(unknown, [], `names neither in the collectors' golden outputs nor in /metrics/self (emitted: ${emitted.size})`);
  });
});
