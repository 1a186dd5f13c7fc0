/**
 * MonitorsSelected: which Prometheus / VMAgent would select the monitors we register, by the
 * operators' selector rules (pure), and the condition the controller reports from its caches
 * (against the FAKE API server through client-node).
 */

import assert from 'node:assert/strict';
import type { Controller } from '../../src/controller/controller';
import { selects, type RegisteredMonitor, type Scraper } from '../../src/controller/selected';
import {
  addAgentPod, addNode, applyConfig, condition, eventually, MMC, NAMESPACES, PROMETHEUSES, SERVICE_MONITORS, startFakeController, startFakeKube,
  VM_AGENTS, VM_SERVICE_SCRAPES, type FakeKubeApiServer,
} from '../helpers/fake-kube';

const sm: RegisteredMonitor = { kind: 'ServiceMonitor', namespace: 'team-a', name: 'cfg-metrics-manager', labels: { 'app.kubernetes.io/managed-by': 'x' }, labelsField: 'spec.monitoring.serviceMonitor.labels' };
const nsLabels = (ns: string) => ({ 'kubernetes.io/metadata.name': ns, ...(ns === 'team-a' ? { monitored: 'yes' } : {}) });
const prom = (p: Partial<Scraper>): Scraper => ({ kind: 'Prometheus', namespace: 'monitoring', name: 'k8s', selector: null, namespaceSelector: null, ...p });
const vma = (p: Partial<Scraper>): Scraper => ({ kind: 'VMAgent', namespace: 'vm', name: 'agent', selector: null, namespaceSelector: null, selectAllByDefault: false, ...p });

describe('MonitorsSelected: selector rules', () => {
  it('Prometheus: no serviceMonitorSelector selects nothing; {} everything; matchLabels names what to add', () => {
    assert.match((selects(prom({ namespaceSelector: {} }), sm, nsLabels) as { why: string }).why, /no serviceMonitorSelector/);
    assert.deepEqual(selects(prom({ selector: {}, namespaceSelector: {} }), sm, nsLabels), { selected: true });
    const r = selects(prom({ selector: { matchLabels: { release: 'kube-prometheus-stack' } }, namespaceSelector: {} }), sm, nsLabels);
    assert.equal(r.selected, false);
    assert.match((r as { why: string }).why, /serviceMonitorSelector release=kube-prometheus-stack misses .*add the label\(s\) release=kube-prometheus-stack under spec\.monitoring\.serviceMonitor\.labels/);
    assert.deepEqual(selects(prom({ selector: { matchLabels: { release: 'p' } }, namespaceSelector: {} }), { ...sm, labels: { release: 'p' } }, nsLabels), { selected: true });
  });

  it('Prometheus: no namespace selector means its own namespace; a namespace selector is matched against namespace labels', () => {
    assert.match((selects(prom({ selector: {} }), sm, nsLabels) as { why: string }).why, /only looks in namespace monitoring; the ServiceMonitor is in team-a/);
    assert.deepEqual(selects(prom({ selector: {}, namespace: 'team-a' }), sm, nsLabels), { selected: true });
    assert.deepEqual(selects(prom({ selector: {}, namespaceSelector: { matchLabels: { monitored: 'yes' } } }), sm, nsLabels), { selected: true });
    const r = selects(prom({ selector: {}, namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['x'] }] } }), sm, nsLabels);
    assert.match((r as { why: string }).why, /serviceMonitorNamespaceSelector team In \(x\) does not match namespace team-a \(add the label\(s\) team=x on the namespace\)/);
  });

  it('VMAgent: selectAllByDefault, own namespace, namespace-only selection', () => {
    const vs = { ...sm, kind: 'VMServiceScrape' as const };
    assert.match((selects(vma({}), vs, nsLabels) as { why: string }).why, /selectAllByDefault is false/);
    assert.deepEqual(selects(vma({ selectAllByDefault: true }), vs, nsLabels), { selected: true });
    assert.match((selects(vma({ selector: {} }), vs, nsLabels) as { why: string }).why, /only looks in namespace vm/);
    assert.deepEqual(selects(vma({ namespaceSelector: { matchLabels: { monitored: 'yes' } } }), vs, nsLabels), { selected: true });
    assert.match((selects(vma({ selector: { matchLabels: { a: 'b' } }, namespaceSelector: {} }), vs, nsLabels) as { why: string }).why, /serviceScrapeSelector a=b misses VMServiceScrape/);
  });
});

describe('MonitorsSelected: the condition', () => {
  let fake: FakeKubeApiServer;
  let c: Controller | undefined;
  beforeEach(async () => {
    fake = await startFakeKube();
    addNode(fake, 'n1');
    addAgentPod(fake, 'n1');
    for (const ns of ['team-a', 'monitoring', 'vm']) fake.create(NAMESPACES, { metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } } });
  });
  afterEach(async () => {
    await c?.stop();
    await fake.stop();
  });

  it('kube-prometheus-stack: False naming the missing release label, True once the config adds it', async () => {
    fake.addResource(SERVICE_MONITORS);
    fake.addResource(PROMETHEUSES);
    fake.create(PROMETHEUSES, { metadata: { name: 'kps-prometheus', namespace: 'monitoring' }, spec: { serviceMonitorSelector: { matchLabels: { release: 'kps' } }, serviceMonitorNamespaceSelector: {} } });
    c = startFakeController(fake, 'sel');
    applyConfig(fake, 'team-a', 'cfg', {});
    await eventually(() => condition(fake, 'team-a', 'cfg', 'MonitorsSelected')?.reason === 'NotSelected', 5000, 'NotSelected');
    const msg = condition(fake, 'team-a', 'cfg', 'MonitorsSelected')!.message;
    assert.match(msg, /Prometheus monitoring\/kps-prometheus: serviceMonitorSelector release=kps misses ServiceMonitor team-a\/cfg-metrics-manager \(add the label\(s\) release=kps under spec\.monitoring\.serviceMonitor\.labels of team-a\/cfg\)/);
    assert.match(condition(fake, 'team-a', 'cfg', 'MonitorsRegistered')!.message, /VMServiceScrape: .*not served/);

    fake.patch(MMC, 'team-a', 'cfg', { spec: { monitoring: { serviceMonitor: { labels: { release: 'kps' } } } } });
    await eventually(() => condition(fake, 'team-a', 'cfg', 'MonitorsSelected')?.status === 'True', 5000, 'Selected');
    assert.match(condition(fake, 'team-a', 'cfg', 'MonitorsSelected')!.message, /ServiceMonitor team-a\/cfg-metrics-manager is selected by Prometheus monitoring\/kps-prometheus/);
  });

  it('nothing scrapes: no Prometheus object, and no VMAgent API; with both operators, Auto registers no VMServiceScrape of its own', async () => {
    fake.addResource(SERVICE_MONITORS);
    fake.addResource(PROMETHEUSES);
    c = startFakeController(fake, 'none');
    applyConfig(fake, 'team-a', 'cfg', {});
    await eventually(() => /no Prometheus object exists/.test(condition(fake, 'team-a', 'cfg', 'MonitorsSelected')?.message ?? ''), 5000, 'no Prometheus');
    assert.equal(condition(fake, 'team-a', 'cfg', 'MonitorsSelected')!.status, 'False');

    fake.addResource(VM_SERVICE_SCRAPES);
    fake.addResource(VM_AGENTS);
    fake.create(VM_AGENTS, { metadata: { name: 'agent', namespace: 'vm' }, spec: { selectAllByDefault: true } });
    await eventually(() => /VMServiceScrape: not registered \(Auto\): the VictoriaMetrics operator converts/.test(condition(fake, 'team-a', 'cfg', 'MonitorsRegistered')?.message ?? ''), 5000, 'converted');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(fake.list(VM_SERVICE_SCRAPES).length, 0, 'no duplicate of what the converter makes');
  });
});
