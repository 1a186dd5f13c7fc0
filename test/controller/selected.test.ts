/**
 * MonitorsSelected: which Prometheus / VMAgent would select the monitors we register, by the
 * operators' selector rules (pure), and the condition the controller reports from its caches
 * (against the FAKE API server through client-node).
 */

import assert from 'node:assert/strict';
import type { Controller } from '../../src/controller/controller';
import { scraperOf, selects, type RegisteredMonitor, type Scraper } from '../../src/controller/selected';
import {
  addAgentPod, addNode, AGENT_LABELS, AGENT_NS, applyConfig, condition, eventually, MMC, NAMESPACES, POD_MONITORS, PROMETHEUSES, SERVICE_MONITORS, startFakeController,
  startFakeKube, VM_AGENTS, VM_SERVICE_SCRAPES, type FakeKubeApiServer,
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

  it('Prometheus selects PodMonitors by podMonitorSelector / podMonitorNamespaceSelector, independently of ServiceMonitors', () => {
    const pm: RegisteredMonitor = { ...sm, kind: 'PodMonitor', name: 'metrics-manager', labelsField: 'the chart values' };
    const raw = { metadata: { name: 'k8s', namespace: 'monitoring' }, spec: { serviceMonitorSelector: {}, serviceMonitorNamespaceSelector: {}, podMonitorSelector: { matchLabels: { release: 'kps' } } } };
    assert.deepEqual(selects(scraperOf('ServiceMonitor', raw), sm, nsLabels), { selected: true });
    const forPods = scraperOf('PodMonitor', raw);
    assert.deepEqual([forPods.kind, forPods.selector, forPods.namespaceSelector], ['Prometheus', { matchLabels: { release: 'kps' } }, null]);
    assert.match((selects(forPods, pm, nsLabels) as { why: string }).why, /has no podMonitorNamespaceSelector, so it only looks in namespace monitoring; the PodMonitor is in team-a/);
    const all = scraperOf('PodMonitor', { ...raw, spec: { ...raw.spec, podMonitorNamespaceSelector: {} } });
    assert.match((selects(all, pm, nsLabels) as { why: string }).why, /podMonitorSelector release=kps misses PodMonitor team-a\/metrics-manager \(add the label\(s\) release=kps under the chart values\)/);
    assert.deepEqual(selects(all, { ...pm, labels: { release: 'kps' } }, nsLabels), { selected: true });
    assert.match((selects(scraperOf('PodMonitor', { metadata: raw.metadata, spec: {} }), pm, nsLabels) as { why: string }).why, /has no podMonitorSelector, so it selects no PodMonitor/);
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
    fake.create(VM_AGENTS, { metadata: { name: 'agent', namespace: 'vm' }, spec: { selectAllByDefault: true, remoteWrite: [{ url: 'http://vmsingle.vm.svc:8428/api/v1/write' }] } });
    await eventually(() => /VMServiceScrape: not registered \(Auto\): the VictoriaMetrics operator converts/.test(condition(fake, 'team-a', 'cfg', 'MonitorsRegistered')?.message ?? ''), 5000, 'converted');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(fake.list(VM_SERVICE_SCRAPES).length, 0, 'no duplicate of what the converter makes');
    // The VMAgent reads the converted copy (the ServiceMonitor's name and labels): that is selected.
    await eventually(() => condition(fake, 'team-a', 'cfg', 'MonitorsSelected')?.status === 'True', 5000, 'converted copy selected');
    assert.match(condition(fake, 'team-a', 'cfg', 'MonitorsSelected')!.message, /VMServiceScrape team-a\/cfg-metrics-manager is selected by VMAgent vm\/agent/);
  });

  it('VictoriaMetrics operator: False naming the VMAgent selector that misses and the labels to add, True once fixed; selectAllByDefault', async () => {
    fake.addResource(VM_SERVICE_SCRAPES);
    fake.addResource(VM_AGENTS);
    const remoteWrite = [{ url: 'http://vmsingle.vm.svc:8428/api/v1/write' }];
    fake.create(VM_AGENTS, { metadata: { name: 'vmagent', namespace: 'vm' }, spec: { remoteWrite, serviceScrapeSelector: { matchLabels: { scrape: 'vm' } }, serviceScrapeNamespaceSelector: {} } });
    c = startFakeController(fake, 'vm');
    applyConfig(fake, 'team-a', 'cfg', {});
    const selected = () => condition(fake, 'team-a', 'cfg', 'MonitorsSelected');
    await eventually(() => selected()?.reason === 'NotSelected', 10_000, 'NotSelected');
    assert.equal(fake.list(VM_SERVICE_SCRAPES).length, 1, 'registered (no ServiceMonitor API to convert from)');
    assert.match(selected()!.message, /VMServiceScrape team-a\/cfg-metrics-manager is selected by no VMAgent: VMAgent vm\/vmagent: serviceScrapeSelector scrape=vm misses VMServiceScrape team-a\/cfg-metrics-manager \(add the label\(s\) scrape=vm under spec\.monitoring\.vmServiceScrape\.labels of team-a\/cfg\)/);

    fake.patch(MMC, 'team-a', 'cfg', { spec: { monitoring: { vmServiceScrape: { labels: { scrape: 'vm' } } } } });
    await eventually(() => selected()?.status === 'True', 10_000, 'Selected');
    assert.match(selected()!.message, /VMServiceScrape team-a\/cfg-metrics-manager is selected by VMAgent vm\/vmagent/);

    // A namespace selector that misses names the namespace labels to add.
    fake.patch(VM_AGENTS, 'vm', 'vmagent', { spec: { serviceScrapeNamespaceSelector: { matchLabels: { monitoring: 'on' } } } });
    await eventually(() => selected()?.status === 'False', 10_000, 'namespace miss');
    assert.match(selected()!.message, /VMAgent vm\/vmagent: serviceScrapeNamespaceSelector monitoring=on does not match namespace team-a \(add the label\(s\) monitoring=on on the namespace\)/);
    fake.patch(NAMESPACES, undefined, 'team-a', { metadata: { labels: { monitoring: 'on' } } });
    await eventually(() => selected()?.status === 'True', 10_000, 'namespace labelled');

    // No selectors at all: selectAllByDefault decides.
    fake.patch(VM_AGENTS, 'vm', 'vmagent', { spec: { serviceScrapeSelector: null, serviceScrapeNamespaceSelector: null } });
    await eventually(() => selected()?.status === 'False', 10_000, 'selects nothing');
    assert.match(selected()!.message, /VMAgent vm\/vmagent has neither serviceScrapeSelector nor serviceScrapeNamespaceSelector and selectAllByDefault is false, so it selects nothing/);
    fake.patch(VM_AGENTS, 'vm', 'vmagent', { spec: { selectAllByDefault: true } });
    await eventually(() => selected()?.status === 'True', 10_000, 'selectAllByDefault');
  });

  it('the chart\'s PodMonitor: False naming podMonitorSelector and the labels to add, True once it carries them; gone is False', async () => {
    for (const r of [SERVICE_MONITORS, POD_MONITORS, PROMETHEUSES]) fake.addResource(r);
    fake.create(PROMETHEUSES, {
      metadata: { name: 'kps', namespace: 'monitoring' },
      spec: { serviceMonitorSelector: {}, serviceMonitorNamespaceSelector: {}, podMonitorSelector: { matchLabels: { release: 'kps' } }, podMonitorNamespaceSelector: {} },
    });
    // As the chart renders it with monitoring.podMonitor.enabled and no release label.
    fake.create(POD_MONITORS, {
      metadata: { name: 'metrics-manager', namespace: AGENT_NS, labels: { ...AGENT_LABELS } },
      spec: { selector: { matchLabels: { ...AGENT_LABELS } }, namespaceSelector: { matchNames: [AGENT_NS] }, podMetricsEndpoints: [{ port: 'http', path: '/metrics' }] },
    });
    c = startFakeController(fake, 'pm', { chartPodMonitor: { namespace: AGENT_NS, name: 'metrics-manager' } });
    applyConfig(fake, 'team-a', 'cfg', {});
    const selected = () => condition(fake, 'team-a', 'cfg', 'MonitorsSelected');
    await eventually(() => /PodMonitor/.test(selected()?.message ?? '') && /ServiceMonitor .* is selected by/.test(selected()?.message ?? ''), 10_000, 'both monitors checked');
    assert.equal(selected()!.status, 'False');
    assert.match(selected()!.message, new RegExp(`PodMonitor ${AGENT_NS}/metrics-manager is selected by no Prometheus: Prometheus monitoring/kps: podMonitorSelector release=kps misses PodMonitor ${AGENT_NS}/metrics-manager \\(add the label\\(s\\) release=kps under the chart values monitoring\\.podMonitor\\.labels or monitoring\\.monitorLabels\\)`));
    assert.match(selected()!.message, /ServiceMonitor team-a\/cfg-metrics-manager is selected by Prometheus monitoring\/kps/);

    fake.patch(POD_MONITORS, AGENT_NS, 'metrics-manager', { metadata: { labels: { release: 'kps' } } }); // helm upgrade with the label
    await eventually(() => selected()?.status === 'True', 10_000, 'Selected');
    assert.match(selected()!.message, new RegExp(`PodMonitor ${AGENT_NS}/metrics-manager is selected by Prometheus monitoring/kps`));

    fake.patch(PROMETHEUSES, 'monitoring', 'kps', { spec: { podMonitorSelector: null } });
    await eventually(() => /has no podMonitorSelector, so it selects no PodMonitor/.test(selected()?.message ?? ''), 10_000, 'no podMonitorSelector');
    assert.equal(selected()!.status, 'False');

    fake.delete(POD_MONITORS, AGENT_NS, 'metrics-manager');
    await eventually(() => /PodMonitor metrics-manager\/metrics-manager \(chart value monitoring\.podMonitor\) does not exist/.test(selected()?.message ?? ''), 10_000, 'gone');
  });
});
