/** The controller's environment: defaults, parsing, errors naming the variable. */

import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/load';
import { loadControllerSettings } from '../../src/controller/options';
import { clusterOptionsFromEnv } from '../../src/cluster/options';

describe('controller settings from the environment', () => {
  it('defaults match the chart conventions', () => {
    const s = loadControllerSettings({ POD_NAME: 'ctl-7', POD_NAMESPACE: 'mm' });
    assert.match(s.identity, /^ctl-7_[0-9a-f]{8}$/);
    assert.equal(s.podNamespace, 'mm');
    assert.equal(s.watchNamespace, '');
    assert.equal(s.leaseName, 'metrics-manager-controller');
    assert.deepEqual([s.leaseDurationSeconds, s.renewDeadlineSeconds, s.retryPeriodSeconds], [15, 10, 2]);
    assert.deepEqual(s.agentServiceLabels, { 'app.kubernetes.io/name': 'metrics-manager', 'app.kubernetes.io/component': 'agent' });
    assert.equal(s.agentPodSelector, 'app.kubernetes.io/name=metrics-manager,app.kubernetes.io/component=agent');
    assert.equal(s.agentMetricsPortName, 'http');
    assert.deepEqual([s.discoveryIntervalSeconds, s.resyncSeconds], [60, 300]);
  });

  it('parses values and refuses bad ones, naming the variable', () => {
    const s = loadControllerSettings({ AGENT_SERVICE_LABELS: 'app=mm, tier=agent', DISCOVERY_INTERVAL_SECONDS: '5', WATCH_NAMESPACE: 'x' });
    assert.deepEqual(s.agentServiceLabels, { app: 'mm', tier: 'agent' });
    assert.equal(s.discoveryIntervalSeconds, 5);
    assert.equal(s.watchNamespace, 'x');
    assert.throws(() => loadControllerSettings({ DISCOVERY_INTERVAL_SECONDS: 'often' }), (e: unknown) => e instanceof ConfigError && /DISCOVERY_INTERVAL_SECONDS/.test(e.message));
    assert.throws(() => loadControllerSettings({ AGENT_SERVICE_LABELS: 'oops' }), /AGENT_SERVICE_LABELS/);
    assert.deepEqual(loadControllerSettings({}).defaultMonitorLabels, {});
    assert.deepEqual(loadControllerSettings({ DEFAULT_MONITOR_LABELS: 'release=kps' }).defaultMonitorLabels, { release: 'kps' });
    assert.throws(() => loadControllerSettings({ DEFAULT_MONITOR_LABELS: 'release' }), /DEFAULT_MONITOR_LABELS/);
    assert.throws(() => loadControllerSettings({ LEADER_ELECTION_RENEW_DEADLINE_SECONDS: '20' }), /RENEW_DEADLINE/);
    assert.equal(loadControllerSettings({}).chartPodMonitor, undefined);
    assert.equal(loadControllerSettings({ CHART_POD_MONITOR: 'monitoring/metrics-manager' }).chartPodMonitor, 'monitoring/metrics-manager');
    assert.throws(() => loadControllerSettings({ CHART_POD_MONITOR: 'metrics-manager' }), /CHART_POD_MONITOR: must be <namespace>\/<name>/);
  });

  it('the agent joins a cluster only with NODE_NAME and credentials', () => {
    assert.equal(clusterOptionsFromEnv({}), undefined);
    assert.equal(clusterOptionsFromEnv({ NODE_NAME: 'n1' }), undefined, 'no credentials');
    assert.equal(clusterOptionsFromEnv({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }), undefined, 'no node name');
  });
});
