/**
 * monitoring.podMonitor tells the controller which PodMonitor the chart rendered (CHART_POD_MONITOR)
 * and lets it read PodMonitors, so MonitorsSelected covers it (real helm).
 */

import assert from 'node:assert/strict';
import { loadControllerSettings } from '../../src/controller/options';
import { container, env, find, MONITORING_APIS, one, renderObjects } from './chart';

interface Rule { apiGroups?: string[]; resources?: string[]; verbs?: string[] }

function controllerEnv(objs: ReturnType<typeof renderObjects>): Record<string, string | undefined> {
  const deployment = find(objs, 'Deployment').find((d) => d.metadata.name.endsWith('controller'))!;
  return Object.fromEntries([...env(container(deployment, 'controller'))].map(([k, v]) => [k, v.value]));
}

function readsPodMonitors(objs: ReturnType<typeof renderObjects>): boolean {
  return find(objs, 'ClusterRole').some((r) => ((r as unknown as { rules: Rule[] }).rules ?? []).some((x) => x.apiGroups?.includes('monitoring.coreos.com') && x.resources?.includes('podmonitors')));
}

describe('chart: the PodMonitor and the controller', function () {
  it('with monitoring.podMonitor on, the controller is told the PodMonitor\'s namespace/name and may read PodMonitors', function () {
    const objs = renderObjects(this, { apiVersions: MONITORING_APIS, set: ['monitoring.podMonitor.enabled=true', 'monitoring.podMonitor.namespace=monitoring'], namespace: 'mm', releaseName: 'edge' });
    const pm = one(objs, 'PodMonitor');
    const e = controllerEnv(objs);
    assert.equal(e.CHART_POD_MONITOR, `${pm.metadata.namespace}/${pm.metadata.name}`);
    assert.equal(pm.metadata.namespace, 'monitoring');
    assert.equal(loadControllerSettings(e).chartPodMonitor, `monitoring/${pm.metadata.name}`, 'the value parses');
    assert.ok(readsPodMonitors(objs));
  });

  it('without it (or without the PodMonitor API), neither', function () {
    for (const opts of [{ apiVersions: MONITORING_APIS }, { set: ['monitoring.podMonitor.enabled=true'] }]) {
      const objs = renderObjects(this, opts);
      assert.equal(find(objs, 'PodMonitor').length, 0);
      assert.equal(controllerEnv(objs).CHART_POD_MONITOR, undefined, JSON.stringify(opts));
    }
    assert.equal(readsPodMonitors(renderObjects(this, { apiVersions: MONITORING_APIS })), false);
  });
});
