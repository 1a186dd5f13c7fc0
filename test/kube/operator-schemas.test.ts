/**
 * The FAKE API server admits ServiceMonitor, PodMonitor and Prometheus objects by the real
 * prometheus-operator schemas (@kubernetes-models/prometheus-operator, through the real
 * client-node): wrong types and unknown enum values are 422, the real CRDs' defaults are applied,
 * unknown fields are pruned and every real field is kept. What our controller registers and what
 * our chart renders (real helm) passes them without losing a field.
 */

import assert from 'node:assert/strict';
import type { Controller } from '../../src/controller/controller';
import { desiredMonitor, isSubset, MONITOR_KINDS } from '../../src/controller/monitors';
import { createKubeApi, httpStatus, type KubeApi } from '../../src/kube/client';
import { validateSpec, type AcceptedSpec } from '../../src/kube/spec';
import { find, MONITORING_APIS, renderObjects, VALUE_SETS, type K8sObject } from '../chart/chart';
import {
  addAgentPod, addNode, AGENT_LABELS, AGENT_NS, applyConfig, eventually, fakeKubeConfig, MMC, NAMESPACES, POD_MONITORS, PROMETHEUSES, SERVICE_MONITORS,
  startFakeController, startFakeKube, type FakeKubeApiServer,
} from '../helpers/fake-kube';
import { errorBody, expect422 } from '../helpers/fake-kube/refusals';

const GROUP = 'monitoring.coreos.com';
const V = 'v1';


describe('fake API server: the prometheus-operator\'s real schemas', () => {
  let fake: FakeKubeApiServer;
  let api: KubeApi;
  let c: Controller | undefined;

  beforeEach(async () => {
    fake = await startFakeKube();
    for (const r of [SERVICE_MONITORS, POD_MONITORS, PROMETHEUSES]) fake.addResource(r);
    api = createKubeApi(fakeKubeConfig(fake));
  });
  afterEach(async () => {
    await c?.stop();
    c = undefined;
    await fake.stop();
  });

  const refused = expect422(() => api, GROUP, V, 'ns1');

  it('wrong types and unknown enum values are 422 naming the field', async () => {
    const sm = (spec: Record<string, unknown>) => ({ metadata: { name: 'sm' }, spec: { selector: {}, endpoints: [{ port: 'http' }], ...spec } });
    await refused('servicemonitors', sm({ sampleLimit: 'lots' }), /spec\.sampleLimit: Invalid value: must be integer/);
    await refused('servicemonitors', sm({ endpoints: [{ port: 'http', relabelings: [{ action: 'Rewrite' }] }] }), /spec\.endpoints\[0\]\.relabelings\[0\]\.action: Invalid value: must be equal to one of the allowed values/);
    await refused('servicemonitors', sm({ endpoints: [{ port: 'http', scheme: 'ftp' }] }), /spec\.endpoints\[0\]\.scheme/);
    await refused('servicemonitors', sm({ endpoints: [{ port: 'http', honorLabels: 'yes' }] }), /spec\.endpoints\[0\]\.honorLabels: Invalid value: must be boolean/);
    // Fields the old hand-trimmed schema did not know are checked too.
    await refused('servicemonitors', sm({ scrapeProtocols: ['PrometheusText9'] }), /spec\.scrapeProtocols\[0\]/);
    await refused('servicemonitors', sm({ endpoints: [{ port: 'http', followRedirects: 'always' }] }), /spec\.endpoints\[0\]\.followRedirects/);
    await refused('servicemonitors', { metadata: { name: 'sm' }, spec: { selector: {} } }, /spec\.endpoints: Invalid value: must have required property/);
    await refused('podmonitors', { metadata: { name: 'pm' }, spec: { selector: {}, podMetricsEndpoints: [{ port: 'http', interval: 'often' }] } }, /spec\.podMetricsEndpoints\[0\]\.interval: Invalid value: must match pattern/);
    await refused('podmonitors', { metadata: { name: 'pm' }, spec: { selector: { matchExpressions: [{ key: 'a' }] }, podMetricsEndpoints: [] } }, /spec\.selector\.matchExpressions\[0\]\.operator/);
    await refused('prometheuses', { metadata: { name: 'p' }, spec: { serviceMonitorSelector: { matchLabels: { release: 1 } } } }, /spec\.serviceMonitorSelector\.matchLabels\.release: Invalid value: must be string/);
    await refused('prometheuses', { metadata: { name: 'p' }, spec: { replicas: '2' } }, /spec\.replicas/);
    assert.deepEqual([SERVICE_MONITORS, POD_MONITORS, PROMETHEUSES].map((r) => fake.list(r).length), [0, 0, 0], 'nothing stored');
  });

  it('real defaults applied, unknown fields pruned at every depth, every real field kept', async () => {
    const sm = await api.createCustom(GROUP, V, 'servicemonitors', 'ns1', {
      metadata: { name: 'sm' },
      spec: {
        selector: { matchLabels: { a: 'b' } }, madeUp: true, scrapeProtocols: ['PrometheusText1.0.0'], attachMetadata: { node: true, extra: 1 },
        endpoints: [{ port: 'http', followRedirects: true, params: { 'x-any': ['1'] }, relabelings: [{ sourceLabels: ['a'], targetLabel: 'b', madeUp: 2 }], metricRelabelings: [{ action: 'drop', regex: 'go_.*' }] }],
      },
    });
    const spec = sm.spec as Record<string, unknown> & { endpoints: Record<string, unknown>[] };
    assert.equal(spec.madeUp, undefined);
    assert.deepEqual(spec.attachMetadata, { node: true });
    assert.deepEqual(spec.scrapeProtocols, ['PrometheusText1.0.0']);
    assert.deepEqual(spec.endpoints[0], {
      port: 'http', followRedirects: true, params: { 'x-any': ['1'] }, // a map: every key kept
      relabelings: [{ sourceLabels: ['a'], targetLabel: 'b', action: 'replace' }], metricRelabelings: [{ action: 'drop', regex: 'go_.*' }],
    });

    const pm = await api.createCustom(GROUP, V, 'podmonitors', 'ns1', {
      metadata: { name: 'pm' }, spec: { selector: {}, podMetricsEndpoints: [{ port: 'http', relabelings: [{ targetLabel: 'x', replacement: 'y' }], bogus: 1 }] },
    });
    assert.deepEqual((pm.spec as { podMetricsEndpoints: unknown[] }).podMetricsEndpoints, [{ port: 'http', relabelings: [{ targetLabel: 'x', replacement: 'y', action: 'replace' }] }]);

    const p = await api.createCustom(GROUP, V, 'prometheuses', 'ns1', { metadata: { name: 'p' }, spec: { serviceMonitorSelector: {}, podMonitorSelector: { matchLabels: { a: 'b' } }, madeUp: 1 } });
    assert.deepEqual(p.spec, { serviceMonitorSelector: {}, podMonitorSelector: { matchLabels: { a: 'b' } }, evaluationInterval: '30s', scrapeInterval: '30s', portName: 'web', shards: 1 });
  });

  it('the ServiceMonitor the controller registers passes and is stored with every field it set (0 rewrites)', async () => {
    addNode(fake, 'n1');
    addAgentPod(fake, 'n1');
    fake.create(NAMESPACES, { metadata: { name: 'team-a' } });
    const spec = { monitoring: { serviceMonitor: { interval: '30s', labels: { release: 'kps' } } } };
    applyConfig(fake, 'team-a', 'cfg', spec);
    c = startFakeController(fake, 'schemas');
    await eventually(() => fake.list(SERVICE_MONITORS).length === 1, 10_000, 'ServiceMonitor registered');
    const stored = fake.list(SERVICE_MONITORS)[0]!;
    const owner = fake.get(MMC, 'team-a', 'cfg')!;
    const v = validateSpec(owner.spec) as AcceptedSpec;
    assert.ok(v.ok);
    const kind = MONITOR_KINDS.find((k) => k.kind === 'ServiceMonitor')!;
    const desired = desiredMonitor(kind, owner as never, v.monitoring.serviceMonitor, { namespace: AGENT_NS, labels: { ...AGENT_LABELS }, portName: 'http' }, 'metrics-manager');
    assert.ok(isSubset(desired.spec, stored.spec), `stored ${JSON.stringify(stored.spec)} lacks some of ${JSON.stringify(desired.spec)}`);
    const eps = (stored.spec as { endpoints: { relabelings: { action?: string }[] }[] }).endpoints;
    assert.ok(eps.every((e) => e.relabelings.every((r) => r.action === 'replace')), 'the real CRD default came back');
    await eventually(() => /ServiceMonitor team-a\/cfg-metrics-manager registered/.test(JSON.stringify(fake.get(MMC, 'team-a', 'cfg')?.status ?? '')), 10_000, 'MonitorsRegistered');
    const writes = c.stats.monitorWrites;
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(c.stats.monitorWrites, writes, 'the defaulted copy is up to date: no rewrite');
    assert.equal(fake.list(SERVICE_MONITORS)[0]!.metadata.resourceVersion, stored.metadata.resourceVersion);
  });

  it('every ServiceMonitor and PodMonitor the chart renders (real helm, default and ci/*.yaml values) passes without losing a field', async function () {
    const sets = [...VALUE_SETS, { name: 'every monitor on', opts: { apiVersions: MONITORING_APIS, set: ['monitoring.serviceMonitor.enabled=true', 'monitoring.podMonitor.enabled=true', 'monitoring.monitorLabels.release=kps'] } }];
    const seen = new Map<string, number>();
    for (const { name, opts } of sets) {
      for (const kind of ['ServiceMonitor', 'PodMonitor']) {
        for (const obj of find(renderObjects(this, opts), kind) as K8sObject[]) {
          const ns = obj.metadata.namespace ?? 'default';
          const plural = kind === 'ServiceMonitor' ? 'servicemonitors' : 'podmonitors';
          const res = kind === 'ServiceMonitor' ? SERVICE_MONITORS : POD_MONITORS;
          if (fake.get(res, ns, obj.metadata.name)) fake.delete(res, ns, obj.metadata.name);
          let stored: Record<string, unknown>;
          try {
            stored = await api.createCustom(GROUP, V, plural, ns, obj);
          } catch (e) {
            assert.fail(`${name}: ${kind} ${obj.metadata.name} refused: ${httpStatus(e)} ${errorBody(e)}`);
          }
          assert.ok(isSubset(obj.spec, stored.spec), `${name}: ${kind} lost fields: rendered ${JSON.stringify(obj.spec)}, stored ${JSON.stringify(stored.spec)}`);
          assert.ok(isSubset(obj.metadata.labels, (stored.metadata as K8sObject['metadata']).labels), `${name}: labels`);
          seen.set(kind, (seen.get(kind) ?? 0) + 1);
        }
      }
    }
    assert.ok((seen.get('ServiceMonitor') ?? 0) >= 2 && (seen.get('PodMonitor') ?? 0) >= 2, `rendered monitors checked: ${JSON.stringify([...seen])}`);
  });
});
