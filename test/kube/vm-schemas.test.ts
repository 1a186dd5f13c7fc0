/**
 * The FAKE API server admits VMServiceScrape and VMAgent objects (operator.victoriametrics.com/
 * v1beta1) by the hand-trimmed schemas in test/fixtures/crds/ (no package ships the operator's):
 * wrong types and unknown enum values are 422, unknown fields are pruned, and what our controller
 * registers and our chart renders (real helm) passes them without losing a field.
 */

import assert from 'node:assert/strict';
import type { Controller } from '../../src/controller/controller';
import { isSubset } from '../../src/controller/monitors';
import { createKubeApi, httpStatus, type KubeApi } from '../../src/kube/client';
import { find, MONITORING_APIS, renderObjects, VALUE_SETS, type K8sObject } from '../chart/chart';
import {
  addAgentPod, addNode, applyConfig, eventually, fakeKubeConfig, NAMESPACES, startFakeController, startFakeKube, VM_AGENTS, VM_SERVICE_SCRAPES, type FakeKubeApiServer,
} from '../helpers/fake-kube';
import { errorBody, expect422 } from '../helpers/fake-kube/refusals';

const GROUP = 'operator.victoriametrics.com';
const V = 'v1beta1';
const remoteWrite = [{ url: 'http://vmsingle.vm.svc:8428/api/v1/write' }];


describe('fake API server: VictoriaMetrics operator kinds (trimmed schemas)', () => {
  let fake: FakeKubeApiServer;
  let api: KubeApi;
  let c: Controller | undefined;

  beforeEach(async () => {
    fake = await startFakeKube();
    fake.addResource(VM_SERVICE_SCRAPES);
    fake.addResource(VM_AGENTS);
    api = createKubeApi(fakeKubeConfig(fake));
  });
  afterEach(async () => {
    await c?.stop();
    c = undefined;
    await fake.stop();
  });

  const refused = expect422(() => api, GROUP, V, 'vm');

  it('wrong types, unknown enum values and missing required fields are 422 naming the field', async () => {
    const vs = (spec: Record<string, unknown>) => ({ metadata: { name: 'vs' }, spec: { selector: {}, endpoints: [{ port: 'http' }], ...spec } });
    await refused('vmservicescrapes', vs({ sampleLimit: 'lots' }), /spec\.sampleLimit: Invalid value: must be integer/);
    await refused('vmservicescrapes', vs({ discoveryRole: 'pods' }), /spec\.discoveryRole: Invalid value: must be equal to one of the allowed values/);
    await refused('vmservicescrapes', vs({ endpoints: [{ port: 'http', scheme: 'ftp' }] }), /spec\.endpoints\[0\]\.scheme/);
    await refused('vmservicescrapes', vs({ endpoints: [{ port: 'http', relabelConfigs: [{ sourceLabels: 'a' }] }] }), /spec\.endpoints\[0\]\.relabelConfigs\[0\]\.sourceLabels: Invalid value: must be array/);
    await refused('vmservicescrapes', { metadata: { name: 'vs' }, spec: { selector: {} } }, /spec\.endpoints: Invalid value: must have required property/);
    await refused('vmagents', { metadata: { name: 'a' }, spec: { selectAllByDefault: true } }, /spec\.remoteWrite: Invalid value: must have required property/);
    await refused('vmagents', { metadata: { name: 'a' }, spec: { remoteWrite, selectAllByDefault: 'yes' } }, /spec\.selectAllByDefault: Invalid value: must be boolean/);
    await refused('vmagents', { metadata: { name: 'a' }, spec: { remoteWrite, serviceScrapeSelector: { matchLabels: { a: 1 } } } }, /spec\.serviceScrapeSelector\.matchLabels\.a/);
    assert.deepEqual([fake.list(VM_SERVICE_SCRAPES).length, fake.list(VM_AGENTS).length], [0, 0]);
  });

  it('unknown fields pruned, both relabel spellings and regex lists kept, the VMAgent default applied', async () => {
    const vs = await api.createCustom(GROUP, V, 'vmservicescrapes', 'vm', {
      metadata: { name: 'vs' },
      spec: {
        selector: {}, madeUp: 1,
        endpoints: [{ port: 'http', follow_redirects: true, bogus: 2, relabelConfigs: [{ source_labels: ['a'], target_label: 'b', regex: ['x', 'y'], nope: 3 }, { if: '{job="a"}', action: 'drop' }] }],
      },
    });
    assert.deepEqual(vs.spec, {
      selector: {},
      endpoints: [{ port: 'http', follow_redirects: true, relabelConfigs: [{ source_labels: ['a'], target_label: 'b', regex: ['x', 'y'] }, { if: '{job="a"}', action: 'drop' }] }],
    });
    const agent = await api.createCustom(GROUP, V, 'vmagents', 'vm', { metadata: { name: 'a' }, spec: { remoteWrite, selectAllByDefault: true } });
    assert.deepEqual(agent.spec, { remoteWrite, selectAllByDefault: true, shardCount: 0 });
  });

  it('the VMServiceScrape the controller registers passes with every field it set', async () => {
    addNode(fake, 'n1');
    addAgentPod(fake, 'n1');
    fake.create(NAMESPACES, { metadata: { name: 'team-a' } });
    applyConfig(fake, 'team-a', 'cfg', { monitoring: { vmServiceScrape: { interval: '30s', labels: { scrape: 'vm' } } } });
    c = startFakeController(fake, 'vm-schemas');
    await eventually(() => fake.get(VM_SERVICE_SCRAPES, 'team-a', 'cfg-metrics-manager'), 10_000, 'VMServiceScrape registered');
    const stored = fake.get(VM_SERVICE_SCRAPES, 'team-a', 'cfg-metrics-manager')!;
    const eps = (stored.spec as { endpoints: Record<string, unknown>[] }).endpoints;
    assert.deepEqual(eps.map((e) => [e.path, e.interval, e.relabelConfigs]), [
      ['/metrics', '30s', [{ sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node' }]],
      ['/metrics/self', '30s', [{ sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node' }]],
    ]);
    const writes = c.stats.monitorWrites;
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(c.stats.monitorWrites, writes, 'stored as sent: no rewrite');
  });

  it('every VMServiceScrape the chart renders (real helm, default and ci/*.yaml values) passes without losing a field', async function () {
    const sets = [...VALUE_SETS, { name: 'vmServiceScrape on', opts: { apiVersions: MONITORING_APIS, set: ['monitoring.vmServiceScrape.enabled=true'] } }];
    let checked = 0;
    for (const { name, opts } of sets) {
      for (const obj of find(renderObjects(this, opts), 'VMServiceScrape') as K8sObject[]) {
        const ns = obj.metadata.namespace ?? 'default';
        if (fake.get(VM_SERVICE_SCRAPES, ns, obj.metadata.name)) fake.delete(VM_SERVICE_SCRAPES, ns, obj.metadata.name);
        let stored: Record<string, unknown>;
        try {
          stored = await api.createCustom(GROUP, V, 'vmservicescrapes', ns, obj);
        } catch (e) {
          assert.fail(`${name}: VMServiceScrape ${obj.metadata.name} refused: ${httpStatus(e)} ${errorBody(e)}`);
        }
        assert.ok(isSubset(obj.spec, stored.spec), `${name}: lost fields: rendered ${JSON.stringify(obj.spec)}, stored ${JSON.stringify(stored.spec)}`);
        checked++;
      }
    }
    assert.ok(checked >= 3, `rendered VMServiceScrapes checked: ${checked}`);
  });
});
