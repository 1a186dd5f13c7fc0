/**
 * The controller against the FAKE API server through client-node: status and conditions, invalid
 * specs, overlap reporting, monitor registration driven by API discovery, leader election between
 * two replicas, and the `metrics-manager controller` process itself.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Controller } from '../../src/controller/controller';
import { APPLIED_ANNOTATION } from '../../src/kube/resources';
import {
  addAgentPod, addNode, AGENT_NS, applyConfig, condition, eventually, EVENTS, LEASES, MMC, mmcStatus, PODS, SERVICE_MONITORS, startFakeController,
  startFakeKube, TOKEN, VM_SERVICE_SCRAPES, type FakeKubeApiServer,
} from '../helpers/fake-kube';

const NS = 'team-a';

describe('controller', () => {
  let fake: FakeKubeApiServer;
  let controllers: Controller[];

  const start = (identity?: string) => {
    const c = startFakeController(fake, identity);
    controllers.push(c);
    return c;
  };
  const annotate = (node: string, value: string | null) => fake.patch(PODS, AGENT_NS, `metrics-manager-${node}`, { metadata: { annotations: { [APPLIED_ANNOTATION]: value } } });
  const events = (name: string) => fake.list(EVENTS, NS).filter((e) => (e.involvedObject as { name: string }).name === name).map((e) => `${e.type as string} ${e.reason as string}: ${e.message as string}`);

  beforeEach(async () => {
    fake = await startFakeKube();
    controllers = [];
    for (const n of ['n1', 'n2']) {
      addNode(fake, n, n === 'n1' ? { 'intel.feature.node.kubernetes.io/gpu': 'true' } : {});
      addAgentPod(fake, n);
    }
    addNode(fake, 'control-plane'); // no agent: never counted
  });
  afterEach(async () => {
    await Promise.all(controllers.map((c) => c.stop()));
    await fake.stop();
  });

  it('accepts a valid config and tracks which nodes applied its generation', async () => {
    start();
    applyConfig(fake, NS, 'cfg', { rateLimit: { requestsPerMinute: 600 } });
    await eventually(() => condition(fake, NS, 'cfg', 'Applied')?.reason === 'Progressing', 3000, 'status');
    const s = mmcStatus(fake, NS, 'cfg')!;
    assert.equal(s.observedGeneration, 1);
    assert.deepEqual(s.nodes, { matched: 2, applied: 0, shadowed: 0 });
    const accepted = condition(fake, NS, 'cfg', 'Accepted')!;
    assert.deepEqual([accepted.status, accepted.reason, accepted.observedGeneration], ['True', 'Valid', 1]);
    assert.match(accepted.lastTransitionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(condition(fake, NS, 'cfg', 'Applied')!.message, /applied on 0 of 2 node\(s\); waiting for n1, n2/);

    annotate('n1', `${NS}/cfg/1`);
    await eventually(() => mmcStatus(fake, NS, 'cfg')?.nodes?.applied === 1, 3000, 'applied 1');
    annotate('n2', `${NS}/cfg/1`);
    await eventually(() => condition(fake, NS, 'cfg', 'Applied')?.status === 'True', 3000, 'Applied=True');
    assert.deepEqual(mmcStatus(fake, NS, 'cfg')!.nodes, { matched: 2, applied: 2, shadowed: 0 });

    // A new generation: nodes that report the old one no longer count; Accepted keeps its transition time.
    fake.advanceClock(2000);
    fake.patch(MMC, NS, 'cfg', { spec: { rateLimit: { requestsPerMinute: 300 } } });
    await eventually(() => mmcStatus(fake, NS, 'cfg')?.observedGeneration === 2, 3000, 'generation 2 observed');
    const s2 = mmcStatus(fake, NS, 'cfg')!;
    assert.equal(s2.nodes!.applied, 0);
    assert.equal(condition(fake, NS, 'cfg', 'Accepted')!.lastTransitionTime, accepted.lastTransitionTime, 'no transition, no new time');
    assert.equal(condition(fake, NS, 'cfg', 'Accepted')!.observedGeneration, 2);
    assert.equal(condition(fake, NS, 'cfg', 'Applied')!.status, 'False');
  });

  it('an invalid spec: Accepted=False naming the field, nothing applied, a Warning event', async () => {
    start();
    // What the CRD's schema refuses never reaches the controller: the API server answers 422.
    assert.throws(() => applyConfig(fake, NS, 'refused', { rateLimit: { requestsPerMinute: 0 } }), /spec\.rateLimit\.requestsPerMinute: Invalid value/);
    // What only the agent's schema refuses (a rule across fields) is the controller's to report.
    applyConfig(fake, NS, 'bad', { cors: { allowCredentials: true }, retention: { seconds: 30 } });
    await eventually(() => condition(fake, NS, 'bad', 'Accepted')?.status === 'False', 3000, 'Accepted=False');
    const acc = condition(fake, NS, 'bad', 'Accepted')!;
    assert.equal(acc.reason, 'InvalidSpec');
    assert.match(acc.message, /^spec\.cors\.origins: spec\.cors\.allowCredentials=true needs explicit spec\.cors\.origins/);
    const applied = condition(fake, NS, 'bad', 'Applied')!;
    assert.deepEqual([applied.status, applied.reason], ['False', 'SpecInvalid']);
    assert.equal(condition(fake, NS, 'bad', 'MonitorsRegistered')!.reason, 'SpecInvalid');
    await eventually(() => events('bad').some((e) => e.startsWith('Warning InvalidSpec: spec.cors.origins')), 3000, 'the event');

    // Fixing it is accepted at the next generation.
    fake.patch(MMC, NS, 'bad', { spec: { cors: { allowCredentials: false } } });
    await eventually(() => condition(fake, NS, 'bad', 'Accepted')?.status === 'True', 3000, 'Accepted=True');
    assert.equal(mmcStatus(fake, NS, 'bad')!.observedGeneration, 2);
  });

  it('overlapping configs: the oldest governs the shared nodes; the newer one reports it in status and an Event', async () => {
    start();
    applyConfig(fake, NS, 'all-nodes', {});
    fake.advanceClock(5000);
    applyConfig(fake, NS, 'gpu-nodes', { nodeSelector: { matchLabels: { 'intel.feature.node.kubernetes.io/gpu': 'true' } } });
    await eventually(() => mmcStatus(fake, NS, 'gpu-nodes')?.nodes?.shadowed === 1, 3000, 'shadowed');
    assert.deepEqual(mmcStatus(fake, NS, 'gpu-nodes')!.nodes, { matched: 0, applied: 0, shadowed: 1, shadowedBy: [`${NS}/all-nodes`] });
    assert.deepEqual(mmcStatus(fake, NS, 'all-nodes')!.nodes, { matched: 2, applied: 0, shadowed: 0 });
    const applied = condition(fake, NS, 'gpu-nodes', 'Applied')!;
    assert.equal(applied.reason, 'NoMatchingNodes');
    assert.match(applied.message, /1 more node\(s\) match the nodeSelector but follow the older team-a\/all-nodes/);
    await eventually(() => events('gpu-nodes').some((e) => /^Warning Overlap: .*team-a\/all-nodes: n1/.test(e)), 3000, 'the Overlap event');

    // The older one goes: the newer one takes its nodes; the overlap report clears.
    fake.delete(MMC, NS, 'all-nodes');
    await eventually(() => mmcStatus(fake, NS, 'gpu-nodes')?.nodes?.matched === 1, 3000, 'takes over n1');
    assert.deepEqual(mmcStatus(fake, NS, 'gpu-nodes')!.nodes, { matched: 1, applied: 0, shadowed: 0 });
  });

  it('ServiceMonitor: none while monitoring.coreos.com is not served; registered once it appears; deleted with the config', async () => {
    start();
    applyConfig(fake, NS, 'cfg', { monitoring: { serviceMonitor: { mode: 'Auto', interval: '30s', labels: { release: 'kube-prometheus-stack' } }, vmServiceScrape: { mode: 'Disabled' } } });
    await eventually(() => condition(fake, NS, 'cfg', 'MonitorsRegistered')?.reason === 'NoMonitoringAPI', 3000, 'NoMonitoringAPI');
    assert.match(condition(fake, NS, 'cfg', 'MonitorsRegistered')!.message, /monitoring\.coreos\.com\/v1 is not served .*Auto/);

    // The Prometheus Operator gets installed: the periodic discovery finds it.
    fake.addResource(SERVICE_MONITORS);
    const sm = await eventually(() => fake.get(SERVICE_MONITORS, NS, 'cfg-metrics-manager'), 3000, 'the ServiceMonitor');
    const cfg = fake.get(MMC, NS, 'cfg')!;
    assert.deepEqual(sm.metadata.labels, {
      release: 'kube-prometheus-stack', 'app.kubernetes.io/managed-by': 'metrics-manager-controller', 'app.kubernetes.io/instance': 'metrics-manager', 'metricsmanager.dev/config': 'cfg',
    });
    assert.deepEqual(sm.metadata.ownerReferences, [{ apiVersion: 'metricsmanager.dev/v1alpha1', kind: 'MetricsManagerConfig', name: 'cfg', uid: cfg.metadata.uid, controller: true }]);
    assert.deepEqual(sm.spec, {
      selector: { matchLabels: { 'app.kubernetes.io/name': 'metrics-manager', 'app.kubernetes.io/component': 'agent' } },
      namespaceSelector: { matchNames: [AGENT_NS] },
      endpoints: [
        // action: replace is the CRD's default, filled in by the API server.
        { port: 'http', path: '/metrics', interval: '30s', honorLabels: true, relabelings: [{ sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node', action: 'replace' }] },
        { port: 'http', path: '/metrics/self', interval: '30s', relabelings: [{ sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node', action: 'replace' }] },
      ],
    });
    const { ServiceMonitor } = await import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor');
    new ServiceMonitor(sm as never).validate();
    await eventually(() => condition(fake, NS, 'cfg', 'MonitorsRegistered')?.status === 'True', 3000, 'MonitorsRegistered=True');
    assert.match(condition(fake, NS, 'cfg', 'MonitorsRegistered')!.message, /ServiceMonitor team-a\/cfg-metrics-manager registered; VMServiceScrape: disabled/);
    await eventually(() => events('cfg').some((e) => e.startsWith('Normal MonitorRegistered')), 3000, 'the event');

    // Labels follow the spec.
    fake.patch(MMC, NS, 'cfg', { spec: { monitoring: { serviceMonitor: { labels: { release: 'prom' } } } } });
    await eventually(() => fake.get(SERVICE_MONITORS, NS, 'cfg-metrics-manager')?.metadata.labels?.release === 'prom', 3000, 'relabelled');
    assert.equal(fake.list(SERVICE_MONITORS).length, 1);

    // Deleting the config takes the monitor with it (ownerReference garbage collection).
    fake.delete(MMC, NS, 'cfg');
    await eventually(() => fake.list(SERVICE_MONITORS).length === 0, 3000, 'the monitor to go');
    assert.equal(fake.list(VM_SERVICE_SCRAPES).length, 0);
  });

  it('VMServiceScrape: Enabled without the API reports APINotFound; one set of monitors, owned by the oldest config', async () => {
    start();
    applyConfig(fake, NS, 'first', { monitoring: { vmServiceScrape: { mode: 'Enabled', labels: { team: 'platform' } } } });
    fake.advanceClock(3000);
    // Enabled: with the ServiceMonitor API served, Auto would leave VMServiceScrapes to the VictoriaMetrics converter.
    applyConfig(fake, 'team-b', 'second', { monitoring: { vmServiceScrape: { mode: 'Enabled' } } });
    await eventually(() => condition(fake, NS, 'first', 'MonitorsRegistered')?.reason === 'APINotFound', 3000, 'APINotFound');
    assert.equal(condition(fake, NS, 'first', 'MonitorsRegistered')!.status, 'False');
    assert.match(condition(fake, NS, 'first', 'MonitorsRegistered')!.message, /VMServiceScrape: operator\.victoriametrics\.com\/v1beta1 is not served by the API server/);

    fake.addResource(VM_SERVICE_SCRAPES);
    fake.addResource(SERVICE_MONITORS);
    const vm = await eventually(() => fake.get(VM_SERVICE_SCRAPES, NS, 'first-metrics-manager'), 3000, 'the VMServiceScrape');
    assert.equal(vm.metadata.labels!.team, 'platform');
    assert.deepEqual((vm.spec as { endpoints: unknown[] }).endpoints, [
      { port: 'http', path: '/metrics', interval: '15s', honorLabels: true, relabelConfigs: [{ sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node' }] },
      { port: 'http', path: '/metrics/self', interval: '15s', relabelConfigs: [{ sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node' }] },
    ]);
    await eventually(() => condition(fake, 'team-b', 'second', 'MonitorsRegistered')?.reason === 'RegisteredByOtherConfig', 3000, 'second defers to first');
    assert.equal(fake.list(VM_SERVICE_SCRAPES).length, 1);
    assert.equal(fake.list(SERVICE_MONITORS).length, 1);

    // The owner disables its VMServiceScrape: the next oldest config registers one in its namespace.
    fake.patch(MMC, NS, 'first', { spec: { monitoring: { vmServiceScrape: { mode: 'Disabled' } } } });
    await eventually(() => fake.get(VM_SERVICE_SCRAPES, 'team-b', 'second-metrics-manager') && !fake.get(VM_SERVICE_SCRAPES, NS, 'first-metrics-manager'), 3000, 'ownership to move');
  });

  it('two replicas: one leader writes; when it stops, the other takes over at once', async () => {
    const a = start('controller-a');
    const b = start('controller-b');
    await eventually(() => a.isLeader() || b.isLeader(), 3000, 'a leader');
    const [leader, standby] = a.isLeader() ? [a, b] : [b, a];
    const leaderToken = leader === a ? 'token-controller-a' : 'token-controller-b';
    applyConfig(fake, NS, 'one', {});
    await eventually(() => mmcStatus(fake, NS, 'one')?.observedGeneration === 1, 3000, 'status from the leader');
    const writers = new Set(fake.requests.filter((r) => r.path.endsWith('/status')).map((r) => r.token));
    assert.deepEqual([...writers], [leaderToken], 'only the leader writes status');
    assert.equal(standby.isLeader(), false);

    const t0 = Date.now();
    await leader.stop();
    await eventually(() => standby.isLeader(), 3000, 'failover');
    assert.ok(Date.now() - t0 < 1000, 'released lease: no wait for expiry');
    applyConfig(fake, NS, 'two', {});
    await eventually(() => mmcStatus(fake, NS, 'two')?.observedGeneration === 1, 3000, 'status from the new leader');
    assert.equal((fake.get(LEASES, AGENT_NS, 'metrics-manager-controller')!.spec as { leaseTransitions: number }).leaseTransitions, 1);
  });

  it('`metrics-manager controller` runs from the environment, leads, and releases its lease on SIGTERM', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mm-kubeconfig-'));
    const kubeconfig = path.join(dir, 'config');
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: fake',
      'clusters: [{name: fake, cluster: {server: "' + fake.url + '", insecure-skip-tls-verify: true}}]',
      'users: [{name: u, user: {token: "' + TOKEN + '"}}]',
      'contexts: [{name: fake, context: {cluster: fake, user: u}}]',
    ].join('\n'));
    const main = path.resolve(__dirname, '../../src/main.js');
    const child = spawn(process.execPath, [main, 'controller'], {
      env: { PATH: process.env.PATH, HOME: dir, KUBECONFIG: kubeconfig, POD_NAME: 'ctl-0', POD_NAMESPACE: AGENT_NS, LOG_LEVEL: 'warning' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (out += c));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      applyConfig(fake, NS, 'proc', {});
      // Generous: on a loaded shared machine loading the process alone has taken 9 s.
      await eventually(() => mmcStatus(fake, NS, 'proc')?.observedGeneration === 1, 30_000, () => `status from the process; output: ${out}`);
      const holder = (fake.get(LEASES, AGENT_NS, 'metrics-manager-controller')!.spec as { holderIdentity: string }).holderIdentity;
      assert.match(holder, /^ctl-0_/);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, out);
      assert.equal((fake.get(LEASES, AGENT_NS, 'metrics-manager-controller')!.spec as { holderIdentity: string }).holderIdentity, '', 'released');
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
