/**
 * The values users of node-exporter, dcgm-exporter and telegraf-ds charts reach for first: each one
 * changes the rendered objects the way its documentation says, the objects stay valid
 * (kubernetes-models, the Prometheus Operator schemas), and the combinations Kubernetes would refuse
 * fail at render time with a message naming the values.
 */

import assert from 'node:assert/strict';
import path from 'node:path';
import {
  CI_DIR, container, env, find, helm, MONITORING_APIS, one, podSpec, renderObjects, rm,
  type K8sObject, type Rendered, type RenderOptions,
} from './chart';
import { validateObject } from './validate';

const KNOBS: RenderOptions = { valuesFiles: [path.join(CI_DIR, 'production-knobs.yaml')], apiVersions: MONITORING_APIS };
const MONITORS = ['ServiceMonitor', 'PodMonitor', 'VMServiceScrape', 'PrometheusRule', 'VMRule'];
const ALL_MONITORS_ON = ['serviceMonitor', 'podMonitor', 'vmServiceScrape', 'prometheusRule', 'vmRule'].map((m) => `monitoring.${m}.enabled=true`);

type Pod = ReturnType<typeof podSpec> & { dnsPolicy?: string; initContainers?: { name: string }[]; imagePullSecrets?: { name: string }[] };
interface Endpoint { port: string; path: string; honorLabels?: boolean; relabelings?: Record<string, unknown>[]; metricRelabelings?: Record<string, unknown>[]; relabelConfigs?: Record<string, unknown>[]; metricRelabelConfigs?: Record<string, unknown>[] }

async function allValid(objs: Rendered[]): Promise<void> {
  const problems: string[] = [];
  for (const { source, obj } of objs) for (const p of await validateObject(obj)) problems.push(`${source}: ${obj.kind}/${obj.metadata.name}: ${p}`);
  assert.deepEqual(problems, []);
}

function pods(objs: Rendered[]): Pod[] {
  return objs.map((r) => r.obj).filter((o) => ['DaemonSet', 'Deployment', 'Pod'].includes(o.kind)).map((o) => podSpec(o) as Pod);
}

describe('chart: the anchor charts\' knobs', function () {
  describe('ci/production-knobs.yaml (every knob at once)', function () {
    let objs: Rendered[];
    before(function () {
      objs = renderObjects(this, KNOBS);
    });

    it('renders only valid objects', async function () {
      await allValid(objs);
    });

    it('global.imageRegistry prefixes every image and pull secrets merge without duplicates', function () {
      for (const p of pods(objs)) {
        for (const c of p.containers.filter((x) => ['agent', 'controller', 'telegraf', 'test'].includes(x.name) || x.name.startsWith('test'))) {
          assert.match(c.image, /^registry\.example\.com\//, `${c.name}: ${c.image}`);
        }
        assert.deepEqual(p.imagePullSecrets, [{ name: 'regcred' }]);
      }
      const ds = podSpec(one(objs, 'DaemonSet')) as Pod;
      assert.equal(container(one(objs, 'DaemonSet'), 'ca-reader').image, 'registry.example.com/busybox:1.36', 'extra containers go through tpl');
      assert.equal(container(one(objs, 'DaemonSet'), 'telegraf').image, 'registry.example.com/telegraf:1.37.3-alpine');
      assert.deepEqual(ds.initContainers?.map((c) => c.name), ['wait-for-dri']);
      const merged = renderObjects(this, { set: ['imagePullSecrets[0]=a', 'global.imagePullSecrets[0].name=b', 'global.imagePullSecrets[1]=a'] });
      assert.deepEqual((podSpec(one(merged, 'DaemonSet')) as Pod).imagePullSecrets, [{ name: 'b' }, { name: 'a' }]);
    });

    it('namespaceOverride moves every namespaced object, the RBAC subjects and the test pod\'s URL', function () {
      for (const { obj } of objs) {
        if (obj.metadata.namespace !== undefined) assert.equal(obj.metadata.namespace, 'observability', `${obj.kind} ${obj.metadata.name}`);
      }
      for (const b of [...find(objs, 'ClusterRoleBinding'), ...find(objs, 'RoleBinding')]) {
        for (const s of (b as unknown as { subjects: { namespace: string }[] }).subjects) assert.equal(s.namespace, 'observability');
      }
      const hook = container(one(objs, 'Pod'), podSpec(one(objs, 'Pod')).containers[0]!.name);
      assert.equal(env(hook).get('TARGET_URL')?.value, 'http://metrics-manager.observability.svc:9090');
    });

    it('hostNetwork: node addresses, ClusterFirstWithHostNet DNS, hostPort on the agent port; Telegraf declares no ports', function () {
      const ds = one(objs, 'DaemonSet');
      const spec = podSpec(ds) as Pod;
      assert.equal(spec.hostNetwork, true);
      assert.equal(spec.dnsPolicy, 'ClusterFirstWithHostNet');
      assert.deepEqual(container(ds, 'agent').ports, [{ name: 'http', containerPort: 9090, hostPort: 9090, protocol: 'TCP' }]);
      assert.equal(container(ds, 'telegraf').ports, undefined, 'Telegraf\'s loopback listeners would become host ports');
      const plain = podSpec(one(renderObjects(this), 'DaemonSet')) as Pod;
      assert.equal(plain.hostNetwork, undefined);
      assert.equal(plain.dnsPolicy, undefined);
      const hostPortOnly = one(renderObjects(this, { set: ['agent.hostPort=19090'] }), 'DaemonSet');
      assert.equal(container(hostPortOnly, 'agent').ports?.[0] && (container(hostPortOnly, 'agent').ports![0] as { hostPort?: number }).hostPort, 19090);
    });

    it('refuses what would not schedule: hostPort ≠ port on the host network, maxSurge with node ports', function () {
      const h = helm(this);
      assert.throws(() => rm.render({ set: ['agent.hostNetwork=true', 'agent.hostPort=9999'] }, h), /agent\.hostPort \(9999\) must equal agent\.port \(9090\)/);
      assert.throws(() => rm.render({ set: ['agent.hostPort=9090', 'agent.updateStrategy.rollingUpdate.maxSurge=1'] }, h), /maxSurge must be 0 with agent\.hostNetwork or agent\.hostPort/);
      assert.throws(() => rm.render({ set: ['agent.hostNetwork=true'], setString: ['agent.updateStrategy.rollingUpdate.maxSurge=10%'] }, h), /maxSurge must be 0/);
      assert.ok(rm.render({ set: ['agent.updateStrategy.rollingUpdate.maxSurge=1', 'agent.updateStrategy.rollingUpdate.maxUnavailable=0'] }, h).includes('maxSurge: 1'));
    });

    it('security context overrides merge over the defaults (nothing else is lost)', function () {
      const ds = one(objs, 'DaemonSet');
      assert.deepEqual(podSpec(ds).securityContext, { fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } });
      const sc = container(ds, 'agent').securityContext as Record<string, unknown>;
      assert.equal(sc.runAsUser, 10002);
      assert.equal(sc.runAsGroup, 10002);
      assert.equal(sc.readOnlyRootFilesystem, true);
      assert.deepEqual(sc.capabilities, { drop: ['ALL'] });
      const ctl = one(objs, 'Deployment');
      assert.deepEqual(podSpec(ctl).securityContext, { fsGroup: 10001, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      const root = container(one(renderObjects(this, { set: ['agent.rootAccess=true', 'agent.containerSecurityContext.seccompProfile.type=Unconfined'] }), 'DaemonSet'), 'agent').securityContext as Record<string, unknown>;
      assert.equal(root.runAsUser, 0, 'rootAccess stays the base the override merges onto');
      assert.deepEqual(root.seccompProfile, { type: 'Unconfined' });
      assert.deepEqual((root.capabilities as { add: string[] }).add, ['DAC_READ_SEARCH', 'SYS_PTRACE']);
    });

    it('extra volumes, mounts, init and sidecar containers, envFrom; Telegraf extraEnv, envFrom and mounts', function () {
      const ds = one(objs, 'DaemonSet');
      const spec = podSpec(ds);
      assert.equal(spec.volumes?.find((v) => v.name === 'ca')?.configMap?.name, 'corporate-ca');
      for (const name of ['agent', 'telegraf', 'ca-reader']) {
        assert.ok(container(ds, name).volumeMounts?.some((m) => m.name === 'ca' && m.mountPath === '/etc/ssl/corporate' && m.readOnly), `${name} mounts ca`);
      }
      const agent = container(ds, 'agent') as ReturnType<typeof container> & { envFrom?: unknown[] };
      assert.deepEqual(agent.envFrom, [{ configMapRef: { name: 'agent-settings' } }]);
      const telegraf = container(ds, 'telegraf') as ReturnType<typeof container> & { envFrom?: unknown[] };
      assert.deepEqual(env(telegraf).get('INFLUX_TOKEN'), { name: 'INFLUX_TOKEN', valueFrom: { secretKeyRef: { name: 'influx', key: 'token' } } });
      assert.deepEqual(telegraf.envFrom, [{ secretRef: { name: 'telegraf-extra' } }]);
      assert.ok(env(telegraf).has('TELEGRAF_PORT'), 'the chart\'s own variables stay');
    });

    it('DaemonSet annotations, revisionHistoryLimit and rolling update settings', function () {
      const ds = one(objs, 'DaemonSet');
      assert.equal(ds.metadata.annotations?.team, 'platform');
      const spec = ds.spec as { revisionHistoryLimit: number; updateStrategy: { type: string; rollingUpdate: Record<string, unknown> } };
      assert.equal(spec.revisionHistoryLimit, 5);
      assert.deepEqual(spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%', maxSurge: 0 } });
      assert.equal((one(objs, 'Deployment').spec as { revisionHistoryLimit: number }).revisionHistoryLimit, 2);
      const def = one(renderObjects(this), 'DaemonSet');
      assert.equal((def.spec as { revisionHistoryLimit: number }).revisionHistoryLimit, 10);
      assert.equal(def.metadata.annotations, undefined);
    });

    it('Service type, nodePort and internalTrafficPolicy', function () {
      const spec = one(objs, 'Service').spec as { type: string; internalTrafficPolicy: string; ports: { name: string; nodePort?: number }[] };
      assert.equal(spec.type, 'NodePort');
      assert.equal(spec.internalTrafficPolicy, 'Cluster');
      assert.equal(spec.ports.find((p) => p.name === 'http')?.nodePort, 30909);
      assert.throws(() => rm.render({ set: ['service.internalTrafficPolicy=Sometimes'] }, helm(this)), /internalTrafficPolicy/);
    });

    it('a NetworkPolicy admits the agent port only, from the chosen namespaces and pods; none by default', function () {
      const np = one(objs, 'NetworkPolicy') as K8sObject & { spec: { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress: { ports: unknown[]; from?: unknown[] }[]; egress?: unknown } };
      const podLabels = (one(objs, 'DaemonSet').spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
      for (const [k, v] of Object.entries(np.spec.podSelector.matchLabels)) assert.equal(podLabels[k], v, 'selects the agent pods');
      assert.deepEqual(np.spec.policyTypes, ['Ingress'], 'egress is not restricted');
      assert.equal(np.spec.ingress.length, 1);
      assert.deepEqual(np.spec.ingress[0]!.ports, [{ port: 'http', protocol: 'TCP' }]);
      assert.deepEqual(np.spec.ingress[0]!.from, [
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'apps' } } },
        { podSelector: { matchLabels: { 'metrics-manager/push': 'true' } } },
      ]);
      assert.equal(find(renderObjects(this), 'NetworkPolicy').length, 0);
      const otlp = one(renderObjects(this, { set: ['networkPolicy.enabled=true', 'agent.otlpHttpPort=4318'] }), 'NetworkPolicy') as typeof np;
      assert.deepEqual(otlp.spec.ingress[0]!.ports, [{ port: 'http', protocol: 'TCP' }, { port: 'otlp-http', protocol: 'TCP' }]);
      assert.equal(otlp.spec.ingress[0]!.from, undefined, 'no source listed: any source, agent ports only');
    });

    it('extraManifests: maps and strings, both through tpl', function () {
      const cms = find(objs, 'ConfigMap');
      const settings = cms.find((c) => c.metadata.name === 'metrics-manager-agent-settings') as (K8sObject & { data: Record<string, string> }) | undefined;
      assert.equal(settings?.data.METRICS_RETENTION_SECONDS, '900');
      const note = cms.find((c) => c.metadata.name === 'metrics-manager-note') as (K8sObject & { data: Record<string, string> }) | undefined;
      assert.equal(note?.data.registry, 'registry.example.com');
    });
  });

  describe('monitors', function () {
    it('render only where the cluster serves their API (.Capabilities): a missing CRD never breaks the install', function () {
      const without = renderObjects(this, { set: ALL_MONITORS_ON });
      assert.deepEqual(without.map((r) => r.obj.kind).filter((k) => MONITORS.includes(k)), []);
      const withApis = renderObjects(this, { set: ALL_MONITORS_ON, apiVersions: MONITORING_APIS });
      assert.deepEqual(withApis.map((r) => r.obj.kind).filter((k) => MONITORS.includes(k)).sort(), [...MONITORS].sort());
      const onlyProm = renderObjects(this, { set: ALL_MONITORS_ON, apiVersions: ['monitoring.coreos.com/v1/ServiceMonitor'] });
      assert.deepEqual(onlyProm.map((r) => r.obj.kind).filter((k) => MONITORS.includes(k)), ['ServiceMonitor']);
    });

    it('NOTES.txt names the monitoring objects it left out for a missing API', function () {
      const notes = rm.renderNotes({ set: ['monitoring.serviceMonitor.enabled=true', 'monitoring.vmRule.enabled=true'] }, helm(this));
      assert.match(notes, /NOT rendered, because the cluster does not serve the API: monitoring\.serviceMonitor \(monitoring\.coreos\.com\/v1\/ServiceMonitor\), monitoring\.vmRule \(operator\.victoriametrics\.com\/v1beta1\/VMRule\)/);
      assert.doesNotMatch(rm.renderNotes({}, helm(this)), /NOT rendered/);
    });

    it('ServiceMonitor knobs: relabelings after the node label, metricRelabelings, honorLabels, jobLabel, targetLabels, sampleLimit', async function () {
      const objs = renderObjects(this, {
        apiVersions: MONITORING_APIS,
        set: ['monitoring.serviceMonitor.enabled=true', 'monitoring.serviceMonitor.honorLabels=false', 'monitoring.serviceMonitor.jobLabel=app.kubernetes.io/name', 'monitoring.serviceMonitor.sampleLimit=50000'],
        setJson: ['monitoring.serviceMonitor.targetLabels=["app.kubernetes.io/instance"]', 'monitoring.serviceMonitor.relabelings=[{"targetLabel":"cluster","replacement":"c1"}]', 'monitoring.serviceMonitor.metricRelabelings=[{"sourceLabels":["__name__"],"regex":"go_.*","action":"drop"}]'],
      });
      await allValid(objs);
      const sm = one(objs, 'ServiceMonitor').spec as { jobLabel: string; targetLabels: string[]; sampleLimit: number; endpoints: Endpoint[] };
      assert.equal(sm.jobLabel, 'app.kubernetes.io/name');
      assert.deepEqual(sm.targetLabels, ['app.kubernetes.io/instance']);
      assert.equal(sm.sampleLimit, 50000);
      assert.equal(sm.endpoints[0]!.honorLabels, false);
      for (const ep of sm.endpoints) {
        assert.deepEqual(ep.relabelings, [{ sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node' }, { targetLabel: 'cluster', replacement: 'c1' }]);
        assert.deepEqual(ep.metricRelabelings, [{ sourceLabels: ['__name__'], regex: 'go_.*', action: 'drop' }]);
      }
      const def = one(renderObjects(this, { apiVersions: MONITORING_APIS, set: ['monitoring.serviceMonitor.enabled=true'] }), 'ServiceMonitor').spec as Record<string, unknown> & { endpoints: Endpoint[] };
      for (const k of ['jobLabel', 'targetLabels', 'sampleLimit']) assert.equal(def[k], undefined, `${k} is left to the operator by default`);
      assert.equal(def.endpoints[0]!.honorLabels, true, 'pushed series keep their job/instance');
      assert.throws(() => rm.render({ set: ['monitoring.serviceMonitor.enabled=true'], setJson: ['monitoring.serviceMonitor.relabelings=[{"action":"explode"}]'] }, helm(this)), /relabelings/);
    });

    it('PodMonitor and VMServiceScrape carry the same knobs in their own field names', async function () {
      const objs = renderObjects(this, KNOBS);
      const pm = one(objs, 'PodMonitor').spec as { jobLabel: string; podTargetLabels: string[]; sampleLimit: number; podMetricsEndpoints: Endpoint[]; selector: { matchLabels: Record<string, string> } };
      assert.equal(pm.jobLabel, 'app.kubernetes.io/name');
      assert.deepEqual(pm.podTargetLabels, ['app.kubernetes.io/instance']);
      assert.equal(pm.sampleLimit, 200000);
      assert.deepEqual(pm.podMetricsEndpoints.map((e) => `${e.port}${e.path}`), ['http/metrics', 'http/metrics/self']);
      assert.deepEqual(pm.podMetricsEndpoints[0]!.relabelings?.at(-1), { sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'instance' });
      const vm = one(objs, 'VMServiceScrape').spec as { sampleLimit: number; targetLabels: string[]; endpoints: Endpoint[] };
      assert.equal(vm.sampleLimit, 200000);
      assert.deepEqual(vm.targetLabels, ['app.kubernetes.io/instance']);
      assert.equal(vm.endpoints[0]!.honorLabels, false);
      assert.deepEqual(vm.endpoints[0]!.metricRelabelConfigs, [{ sourceLabels: ['__name__'], regex: 'go_.*', action: 'drop' }]);
      assert.deepEqual(vm.endpoints[0]!.relabelConfigs, [{ sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node' }]);
    });

    it('monitorLabels go on every scrape object and to the controller for the monitors it registers', function () {
      const objs = renderObjects(this, { apiVersions: MONITORING_APIS, set: ['monitoring.monitorLabels.release=kps', 'monitoring.serviceMonitor.enabled=true', 'monitoring.podMonitor.enabled=true', 'monitoring.vmServiceScrape.enabled=true', 'monitoring.vmServiceScrape.labels.release=own'] });
      assert.equal(one(objs, 'ServiceMonitor').metadata.labels?.release, 'kps');
      assert.equal(one(objs, 'PodMonitor').metadata.labels?.release, 'kps');
      assert.equal(one(objs, 'VMServiceScrape').metadata.labels?.release, 'own', 'an object\'s own labels win');
      assert.equal(env(container(one(objs, 'Deployment'), 'controller')).get('DEFAULT_MONITOR_LABELS')?.value, 'release=kps');
      assert.equal(env(container(one(renderObjects(this), 'Deployment'), 'controller')).get('DEFAULT_MONITOR_LABELS'), undefined);
    });
  });
});
