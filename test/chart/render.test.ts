/**
 * The chart renders, with default values and every ci/*.yaml value set, into objects the
 * Kubernetes API would accept; its security settings, ports, config files and wiring are checked
 * against the rest of the repository (agent defaults, telegraf.conf, the CRD, the controller's
 * settings).
 */

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/load';
import { loadControllerSettings } from '../../src/controller/options';
import {
  CHART_DIR, container, env, find, one, parseDoc, podSpec, readRepoFile, helm, MONITORING_APIS, renderObjects, rm, VALUE_SETS,
  type Container, type K8sObject, type Rendered, type RenderOptions,
} from './chart';
import { validateObject } from './validate';

const NS = rm.NAMESPACE;
const FULL = 'metrics-manager';
const NAMESPACED = new Set(['ConfigMap', 'Secret', 'Service', 'ServiceAccount', 'DaemonSet', 'Deployment', 'Pod', 'Role', 'RoleBinding', 'PodDisruptionBudget', 'ServiceMonitor', 'PodMonitor', 'PrometheusRule', 'VMServiceScrape', 'VMRule', 'Lease', 'NetworkPolicy']);

/** Env of a container as the kubelet would set it, downward API filled in. */
function resolvedEnv(c: Container): Record<string, string> {
  const fields: Record<string, string> = { 'spec.nodeName': 'node-a', 'metadata.name': 'pod-a', 'metadata.namespace': NS };
  const out: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) out[e.name] = e.value;
    else if (e.valueFrom?.fieldRef) out[e.name] = fields[e.valueFrom.fieldRef.fieldPath] ?? '';
  }
  return out;
}

function selectorMatches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function podTemplateLabels(o: K8sObject): Record<string, string> {
  return (o.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
}

const portOf = (url: string) => Number(new URL(url).port);

describe('chart: rendering and validation', function () {
  before(function () {
    helm(this);
  });

  for (const set of VALUE_SETS) {
    describe(`with ${set.name}`, function () {
      let objs: Rendered[];
      before(function () {
        objs = renderObjects(this, set.opts);
      });

      it('renders objects that pass the Kubernetes OpenAPI schemas (strict: no unknown fields)', async function () {
        assert.ok(objs.length > 0);
        const problems: string[] = [];
        for (const { source, obj } of objs) {
          for (const p of await validateObject(obj)) problems.push(`${source}: ${obj.kind}/${obj.metadata?.name}: ${p}`);
        }
        assert.deepEqual(problems, []);
      });

      it('names objects uniquely, within 63 characters, in the release namespace', function () {
        const seen = new Set<string>();
        for (const { obj } of objs) {
          const key = `${obj.apiVersion}/${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
          assert.ok(!seen.has(key), `duplicate ${key}`);
          seen.add(key);
          assert.ok(obj.metadata.name.length <= 63, `${key}: name longer than 63`);
          if (NAMESPACED.has(obj.kind)) assert.ok(obj.metadata.namespace, `${key} has no namespace`);
          else assert.equal(obj.metadata.namespace, undefined, `${key} is cluster-scoped`);
        }
      });

      it('wires selectors, service accounts, volumes and config maps consistently', function () {
        const byKind = (k: string) => find(objs, k);
        for (const w of [...byKind('DaemonSet'), ...byKind('Deployment')]) {
          const sel = (w.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
          assert.ok(selectorMatches(sel, podTemplateLabels(w)), `${w.kind} ${w.metadata.name}: selector does not match its pods`);
        }
        for (const pdb of byKind('PodDisruptionBudget')) {
          const sel = (pdb.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
          assert.ok(byKind('Deployment').some((d) => selectorMatches(sel, podTemplateLabels(d))), 'the PDB selects the controller pods');
        }
        const sas = new Set(byKind('ServiceAccount').map((s) => s.metadata.name));
        const configMaps = new Set(byKind('ConfigMap').map((s) => s.metadata.name));
        for (const w of [...byKind('DaemonSet'), ...byKind('Deployment')]) {
          const spec = podSpec(w);
          assert.ok(spec.serviceAccountName && sas.has(spec.serviceAccountName), `${w.metadata.name}: service account ${spec.serviceAccountName} is rendered`);
          const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
          for (const c of spec.containers) {
            for (const m of c.volumeMounts ?? []) assert.ok(volumes.has(m.name), `${c.name}: mount ${m.name} has a volume`);
            const names = (c.env ?? []).map((e) => e.name);
            assert.deepEqual(names, [...new Set(names)], `${c.name}: env names are unique`);
          }
          for (const v of volumes.values()) {
            if (v.configMap) assert.ok(configMaps.has(v.configMap.name), `volume ${v.name}: ConfigMap ${v.configMap.name} is rendered`);
            assert.ok(spec.containers.some((c) => (c.volumeMounts ?? []).some((m) => m.name === v.name)), `volume ${v.name} is mounted`);
          }
        }
        const svc = one(objs, 'Service');
        const ds = one(objs, 'DaemonSet');
        assert.ok(selectorMatches((svc.spec as { selector: Record<string, string> }).selector, podTemplateLabels(ds)), 'the Service selects the agent pods');
        for (const rb of [...byKind('RoleBinding'), ...byKind('ClusterRoleBinding')]) {
          const ref = (rb as unknown as { roleRef: { kind: string; name: string } }).roleRef;
          assert.ok(find(objs, ref.kind, ref.name).length > 0, `${rb.metadata.name}: ${ref.kind} ${ref.name} is rendered`);
          for (const s of (rb as unknown as { subjects: { kind: string; name: string }[] }).subjects) assert.ok(sas.has(s.name), `${rb.metadata.name}: subject ${s.name} is rendered`);
        }
      });

      it('runs every container non-root, read-only, without capabilities (except what values ask for)', function () {
        const values = (set.opts.valuesFiles ?? []).map((f) => readFileSync(f, 'utf8')).join('\n');
        const rootAccess = /^\s*rootAccess: true/m.test(values);
        const telegrafPrivileged = /^\s*privileged: true/m.test(values);
        const hostNetwork = /^\s*hostNetwork: true/m.test(values);
        for (const w of objs.map((r) => r.obj).filter((o) => ['DaemonSet', 'Deployment', 'Pod'].includes(o.kind))) {
          const spec = podSpec(w);
          if (!(hostNetwork && w.kind === 'DaemonSet')) assert.notEqual(spec.hostNetwork, true, `${w.metadata.name}: no hostNetwork`);
          for (const c of spec.containers) {
            const sc = c.securityContext ?? {};
            const where = `${w.kind} ${w.metadata.name} container ${c.name}`;
            assert.equal(sc.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
            const mayBeRoot = (c.name === 'agent' && rootAccess) || (c.name === 'telegraf' && telegrafPrivileged);
            if (!mayBeRoot) {
              assert.equal(sc.runAsNonRoot, true, `${where}: runAsNonRoot`);
              assert.ok(typeof sc.runAsUser === 'number' && sc.runAsUser > 0, `${where}: numeric non-root uid`);
            }
            if (c.name === 'telegraf' && telegrafPrivileged) {
              assert.equal(sc.privileged, true);
              continue;
            }
            assert.notEqual(sc.privileged, true, `${where}: not privileged`);
            assert.equal(sc.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation false`);
            assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${where}: drops ALL capabilities`);
            const added = sc.capabilities?.add ?? [];
            if (c.name === 'agent' && rootAccess) assert.deepEqual([...added].sort(), ['DAC_READ_SEARCH', 'SYS_PTRACE']);
            else assert.deepEqual(added, [], `${where}: adds no capability`);
            assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory && c.resources.limits?.cpu && c.resources.limits.memory, `${where}: requests and limits set`);
            for (const m of c.volumeMounts ?? []) {
              if (m.mountPath.startsWith('/host/') || m.mountPath === '/dev/dri' || m.mountPath === '/etc/telegraf' || m.mountPath === '/app/custom-metrics') assert.equal(m.readOnly, true, `${where}: ${m.mountPath} is read-only`);
            }
          }
        }
      });

      it('gives the agent what it needs: env the agent accepts, downward API, host /sys, probes on /health', function () {
        const ds = one(objs, 'DaemonSet');
        const agent = container(ds, 'agent');
        const e = env(agent);
        for (const [name, field] of [['NODE_NAME', 'spec.nodeName'], ['POD_NAME', 'metadata.name'], ['POD_NAMESPACE', 'metadata.namespace'], ['METRICS_MANAGER_HOSTNAME', 'spec.nodeName']] as const) {
          assert.equal(e.get(name)?.valueFrom?.fieldRef?.fieldPath, field, `${name} from the downward API`);
        }
        assert.deepEqual(agent.args, ['agent']);
        const config = loadConfig(resolvedEnv(agent));
        assert.equal(config.hostSys, '/host/sys');
        assert.ok(agent.volumeMounts?.some((m) => m.mountPath === '/host/sys' && m.readOnly));
        assert.equal(config.hostname, 'node-a');
        const http = agent.ports?.find((p) => p.name === 'http');
        assert.equal(http?.containerPort, config.port);
        assert.equal(agent.livenessProbe?.httpGet?.path, '/health');
        assert.equal(agent.readinessProbe?.httpGet?.path, '/health');
        assert.equal(agent.readinessProbe?.httpGet?.port, 'http');
        const telegraf = podSpec(ds).containers.find((c) => c.name === 'telegraf');
        if (telegraf) {
          assert.equal(config.systemMetricsSource, 'telegraf');
          assert.equal(env(telegraf).get('METRICS_MANAGER_HOSTNAME')?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName', 'Telegraf\'s host tag is the node name too');
        } else {
          assert.equal(config.systemMetricsSource, 'builtin');
          assert.equal(config.hostProc, '/host/proc');
          assert.equal(config.telegrafForward, 'false');
          assert.ok(agent.volumeMounts?.some((m) => m.mountPath === '/host/proc' && m.readOnly));
        }
      });

      it('has a Service on port 9090, node-local ClusterIP unless values say otherwise', function () {
        const values = (set.opts.valuesFiles ?? []).map((f) => parseDoc(readFileSync(f, 'utf8')) as unknown as { service?: { type?: string; internalTrafficPolicy?: string; nodePort?: number } });
        const service = Object.assign({ type: 'ClusterIP', internalTrafficPolicy: 'Local' }, ...values.map((v) => v.service ?? {})) as { type: string; internalTrafficPolicy: string; nodePort?: number };
        const svc = one(objs, 'Service');
        const spec = svc.spec as { type: string; internalTrafficPolicy: string; ports: { name: string; port: number; targetPort: string }[] };
        assert.equal(spec.type, service.type);
        assert.equal(spec.internalTrafficPolicy, service.internalTrafficPolicy);
        const nodePort = service.type !== 'ClusterIP' && service.nodePort ? { nodePort: service.nodePort } : {};
        assert.deepEqual(spec.ports.find((p) => p.name === 'http'), { name: 'http', port: 9090, targetPort: 'http', protocol: 'TCP', appProtocol: 'http', ...nodePort });
      });
    });
  }

  describe('agent and Telegraf', function () {
    it('agrees on ports with telegraf.conf and the agent defaults', function () {
      const objs = renderObjects(this);
      const defaults = loadConfig({});
      const conf = readRepoFile('telegraf/telegraf.conf');
      const confPort = (v: string) => Number(new RegExp(`\\$\\{${v}:-(\\d+)\\}`).exec(conf)?.[1]);
      const ds = one(objs, 'DaemonSet');
      const agent = container(ds, 'agent');
      const telegraf = container(ds, 'telegraf');
      const te = resolvedEnv(telegraf);
      const config = loadConfig(resolvedEnv(agent));
      const svc = one(objs, 'Service').spec as { ports: { port: number }[] };
      // agent API: chart container port = Service port = agent default
      assert.equal(defaults.port, 9090);
      assert.equal(agent.ports?.[0]?.containerPort, defaults.port);
      assert.equal(svc.ports[0]?.port, defaults.port);
      // Telegraf's Prometheus output
      assert.equal(confPort('TELEGRAF_PORT'), portOf(defaults.telegrafPrometheusEndpoint));
      assert.equal(Number(te.TELEGRAF_PORT), confPort('TELEGRAF_PORT'));
      assert.equal(portOf(config.telegrafPrometheusEndpoint), Number(te.TELEGRAF_PORT));
      assert.equal(telegraf.ports, undefined, 'Telegraf listens on 127.0.0.1 only: no container ports to declare');
      assert.equal(new URL(config.telegrafPrometheusEndpoint).hostname, '127.0.0.1', 'the agent reaches Telegraf on the loopback address it binds');
      assert.equal(new URL(config.telegrafHttpEndpoint).hostname, '127.0.0.1');
      const probe = (telegraf as Container & { livenessProbe?: { exec?: { command: string[] } } }).livenessProbe?.exec?.command ?? [];
      assert.ok(probe.includes(`http://127.0.0.1:${te.TELEGRAF_PORT}/metrics`), `the liveness probe checks the loopback listener: ${probe.join(' ')}`);
      // Telegraf's /write listener
      assert.equal(confPort('TELEGRAF_HTTP_PORT'), portOf(defaults.telegrafHttpEndpoint));
      assert.equal(Number(te.TELEGRAF_HTTP_PORT), confPort('TELEGRAF_HTTP_PORT'));
      assert.equal(portOf(config.telegrafHttpEndpoint), Number(te.TELEGRAF_HTTP_PORT));
      assert.equal(new URL(config.telegrafHttpEndpoint).pathname, '/write');
      assert.ok(conf.includes('hostname = "${METRICS_MANAGER_HOSTNAME:-}"'), 'telegraf.conf takes the host tag from METRICS_MANAGER_HOSTNAME');
    });

    it('moves both sides when the Telegraf ports change', function () {
      const objs = renderObjects(this, { set: ['telegraf.prometheusPort=19273', 'telegraf.httpPort=18186', 'agent.port=19090'] });
      const ds = one(objs, 'DaemonSet');
      const te = resolvedEnv(container(ds, 'telegraf'));
      const config = loadConfig(resolvedEnv(container(ds, 'agent')));
      assert.equal(te.TELEGRAF_PORT, '19273');
      assert.equal(te.TELEGRAF_HTTP_PORT, '18186');
      assert.equal(config.telegrafPrometheusEndpoint, 'http://127.0.0.1:19273');
      assert.equal(config.telegrafHttpEndpoint, 'http://127.0.0.1:18186/write');
      assert.equal(config.port, 19090);
      const svc = one(objs, 'Service').spec as { ports: { port: number; targetPort: string }[] };
      assert.equal(svc.ports[0]?.port, 9090, 'the Service port stays; it targets the named port');
      assert.equal(svc.ports[0]?.targetPort, 'http');
    });

    it('builds the Telegraf ConfigMap from telegraf/telegraf.conf (one source)', function () {
      const objs = renderObjects(this);
      const cm = one(objs, 'ConfigMap', `${FULL}-telegraf`);
      const source = readRepoFile('telegraf/telegraf.conf');
      assert.equal((cm as unknown as { data: Record<string, string> }).data['telegraf.conf'], source, 'ConfigMap telegraf.conf differs from telegraf/telegraf.conf: run `npm run render-manifests`');
      assert.equal(readFileSync(path.join(CHART_DIR, 'files', 'telegraf.conf'), 'utf8'), source);
      const ds = one(objs, 'DaemonSet');
      const telegraf = container(ds, 'telegraf');
      assert.deepEqual(telegraf.args, ['--config', '/etc/telegraf/telegraf.conf']);
      const ann = (ds.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations;
      assert.match(ann['checksum/telegraf-config'] ?? '', /^[0-9a-f]{64}$/, 'pods roll when the config changes');
      const e = resolvedEnv(telegraf);
      assert.equal(e.HOST_PROC, '/host/proc');
      assert.equal(e.HOST_SYS, '/host/sys');
      for (const p of ['/host/proc', '/host/sys', '/etc/telegraf']) assert.ok(telegraf.volumeMounts?.some((m) => m.mountPath === p && m.readOnly), `telegraf mounts ${p} read-only`);
    });

    it('adds extra Telegraf TOML as a drop-in and runs Telegraf privileged only when asked', function () {
      const objs = renderObjects(this, { set: ['telegraf.privileged=true'], setString: ['telegraf.extraConfig=[[outputs.file]]\n  files = ["stdout"]'] });
      const cm = one(objs, 'ConfigMap', `${FULL}-telegraf`) as unknown as { data: Record<string, string> };
      assert.equal(cm.data['extra.conf'], '[[outputs.file]]\n  files = ["stdout"]\n');
      const ds = one(objs, 'DaemonSet');
      const telegraf = container(ds, 'telegraf');
      assert.deepEqual(telegraf.args, ['--config', '/etc/telegraf/telegraf.conf', '--config-directory', '/etc/telegraf/telegraf.d']);
      assert.equal(telegraf.securityContext?.privileged, true);
      const vol = podSpec(ds).volumes?.find((v) => v.name === 'telegraf-config');
      assert.deepEqual(vol?.configMap?.items, [{ key: 'telegraf.conf', path: 'telegraf.conf' }, { key: 'extra.conf', path: 'telegraf.d/extra.conf' }]);
      const def = container(one(renderObjects(this), 'DaemonSet'), 'telegraf');
      assert.notEqual(def.securityContext?.privileged, true, 'not privileged by default');
    });
  });

  describe('accelerator nodes', function () {
    it('ci/gpu-npu-nodes: device-plugin monitoring resource, NFD node affinity, hostPID, root-only reads', function () {
      const objs = renderObjects(this, VALUE_SETS.find((s) => s.name === 'ci/gpu-npu-nodes.yaml')!.opts);
      const ds = one(objs, 'DaemonSet');
      const spec = podSpec(ds);
      const agent = container(ds, 'agent');
      assert.equal(agent.resources?.limits?.['gpu.intel.com/i915_monitoring'], 1);
      const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
      assert.deepEqual(terms.map((t) => t.matchExpressions.map((m) => `${m.key} ${m.operator} ${m.values.join()}`)), [
        ['intel.feature.node.kubernetes.io/gpu In true'],
      ], 'GPU nodes only: the monitoring resource exists nowhere else');
      const both = podSpec(one(renderObjects(this, { set: ['agent.acceleratorNodesOnly=true'] }), 'DaemonSet'));
      assert.deepEqual(both.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms.map((t) => t.matchExpressions[0]!.key), [
        'intel.feature.node.kubernetes.io/gpu', 'intel.feature.node.kubernetes.io/npu',
      ], 'without the resource: GPU or NPU nodes');
      assert.equal(spec.hostPID, true);
      const config = loadConfig(resolvedEnv(agent));
      assert.equal(config.hostProc, '/proc', 'with hostPID the agent\'s own /proc is the host\'s');
      assert.equal(config.retentionSeconds, 600, 'agent.env reaches the agent');
      assert.equal(agent.securityContext?.runAsUser, 0);
      assert.ok(!agent.volumeMounts?.some((m) => m.mountPath === '/dev/dri'), 'no hostPath /dev/dri when the device plugin provides the GPUs');
      const hook = one(objs, 'Pod');
      assert.deepEqual(podSpec(hook).affinity, spec.affinity, 'the test pod lands where agents run');
    });

    it('defaults install on any Linux node and tolerate NoSchedule taints', function () {
      const spec = podSpec(one(renderObjects(this), 'DaemonSet'));
      assert.deepEqual(spec.nodeSelector, { 'kubernetes.io/os': 'linux' });
      assert.equal(spec.affinity, undefined);
      assert.deepEqual(spec.tolerations, [{ operator: 'Exists', effect: 'NoSchedule' }]);
      assert.equal(spec.hostPID, false);
      const agent = spec.containers.find((c) => c.name === 'agent')!;
      assert.ok(!Object.keys(agent.resources?.limits ?? {}).some((k) => k.startsWith('gpu.intel.com/')), 'no device-plugin resource by default');
    });

    it('mounts /dev/dri from the host only with agent.gpu.hostDevices and without the plugin resource', function () {
      const ds = one(renderObjects(this, { set: ['agent.gpu.hostDevices=true'] }), 'DaemonSet');
      assert.ok(container(ds, 'agent').volumeMounts?.some((m) => m.mountPath === '/dev/dri' && m.readOnly));
      assert.equal(podSpec(ds).volumes?.find((v) => v.name === 'dev-dri')?.hostPath?.path, '/dev/dri');
      const both = one(renderObjects(this, { set: ['agent.gpu.hostDevices=true', 'agent.gpu.resource=gpu.intel.com/xe_monitoring'] }), 'DaemonSet');
      assert.ok(!container(both, 'agent').volumeMounts?.some((m) => m.mountPath === '/dev/dri'));
      assert.equal(container(both, 'agent').resources?.limits?.['gpu.intel.com/xe_monitoring'], 1);
    });

    it('user scripts, spool and OTLP port are wired when enabled', async function () {
      const objs = renderObjects(this, { set: ['agent.spool.enabled=true', 'agent.otlpHttpPort=4318'], setString: ['agent.customScripts.gpu\\.sh=#!/bin/sh\necho "x value=1"'] });
      for (const { obj } of objs) assert.deepEqual(await validateObject(obj), [], `${obj.kind} ${obj.metadata.name}`);
      const ds = one(objs, 'DaemonSet');
      const agent = container(ds, 'agent');
      const config = loadConfig(resolvedEnv(agent));
      assert.equal(config.forwardSpoolDir, '/var/spool/metrics-manager');
      assert.equal(config.otlpHttpPort, 4318);
      assert.equal(config.customMetricsDir, '/app/custom-metrics');
      const cm = one(objs, 'ConfigMap', `${FULL}-scripts`) as unknown as { data: Record<string, string> };
      assert.equal(cm.data['gpu.sh'], '#!/bin/sh\necho "x value=1"\n');
      const svc = one(objs, 'Service').spec as { ports: { name: string; port: number }[] };
      assert.deepEqual(svc.ports.map((p) => `${p.name}:${p.port}`), ['http:9090', 'otlp-http:4318']);
      assert.equal(podSpec(ds).volumes?.find((v) => v.name === 'scripts')?.configMap?.name, `${FULL}-scripts`);
    });
  });

  describe('controller and RBAC', function () {
    it('runs the controller as a leader-elected Deployment whose settings the controller accepts', function () {
      const objs = renderObjects(this);
      const dep = one(objs, 'Deployment');
      assert.equal((dep.spec as { replicas: number }).replicas, 2);
      const c = container(dep, 'controller');
      assert.deepEqual(c.args, ['controller']);
      assert.equal(c.image, container(one(objs, 'DaemonSet'), 'agent').image, 'one image for agent and controller');
      const s = loadControllerSettings(resolvedEnv(c));
      assert.equal(s.leaseName, `${FULL}-controller`);
      assert.equal(s.podNamespace, NS);
      assert.equal(s.agentNamespace, NS);
      const svc = one(objs, 'Service');
      assert.ok(selectorMatches(s.agentServiceLabels, svc.metadata.labels), 'AGENT_SERVICE_LABELS select the agents\' Service');
      const podSel = Object.fromEntries(s.agentPodSelector.split(',').map((kv) => kv.split('=') as [string, string]));
      assert.ok(selectorMatches(podSel, podTemplateLabels(one(objs, 'DaemonSet'))), 'AGENT_POD_SELECTOR selects the agent pods');
      assert.ok(!selectorMatches(podSel, podTemplateLabels(dep)), 'and not the controller pods');
      assert.ok((svc.spec as { ports: { name: string }[] }).ports.some((p) => p.name === s.agentMetricsPortName));
      assert.equal(s.instance, resolvedEnv(c).METRICS_MANAGER_INSTANCE, 'the release name marks the monitors it owns');
      // Everything the controller reads or watches is granted (a missing verb is a 403 on a real cluster).
      const clusterRules = (find(objs, 'ClusterRole', `${FULL}-controller`)[0] as unknown as { rules: { apiGroups?: string[]; resources?: string[]; verbs: string[] }[] }).rules;
      const grants = (group: string, resource: string, verb: string) =>
        clusterRules.some((r) => r.apiGroups?.includes(group) && r.resources?.includes(resource) && r.verbs.includes(verb));
      for (const [group, resource] of [['', 'nodes'], ['', 'namespaces'], ['monitoring.coreos.com', 'prometheuses'], ['operator.victoriametrics.com', 'vmagents'],
        ['monitoring.coreos.com', 'servicemonitors'], ['operator.victoriametrics.com', 'vmservicescrapes'], ['metricsmanager.dev', 'metricsmanagerconfigs']]) {
        for (const verb of ['list', 'watch']) assert.ok(grants(group, resource, verb), `${verb} ${resource}.${group}`);
      }
      const lease = find(objs, 'Role', `${FULL}-controller`)[0] as unknown as { rules: { resources: string[]; resourceNames?: string[]; verbs: string[] }[] };
      assert.ok(lease.rules.some((r) => r.resources.includes('leases') && r.resourceNames?.includes(s.leaseName)), 'the Role names the lease the controller uses');
      assert.equal(one(objs, 'PodDisruptionBudget').metadata.name, `${FULL}-controller`);
    });

    it('grants least privilege: no wildcards, no secrets, agent reads configs and its node pods, patches pods only', function () {
      for (const set of VALUE_SETS) {
        const objs = renderObjects(this, set.opts);
        for (const role of [...find(objs, 'ClusterRole'), ...find(objs, 'Role')]) {
          for (const r of (role as unknown as { rules: { apiGroups?: string[]; resources?: string[]; verbs: string[] }[] }).rules) {
            assert.ok(!r.verbs.includes('*') && !(r.resources ?? []).includes('*') && !(r.apiGroups ?? []).includes('*'), `${role.metadata.name}: no wildcards`);
            assert.ok(!(r.resources ?? []).includes('secrets'), `${role.metadata.name}: no secrets`);
          }
        }
      }
      const objs = renderObjects(this);
      const rules = (kind: string, name: string) => (one(objs, kind, name) as unknown as { rules: { apiGroups?: string[]; resources?: string[]; nonResourceURLs?: string[]; verbs: string[] }[] }).rules
        .map((r) => (r.nonResourceURLs ? `url:${r.nonResourceURLs.join(',')}:${r.verbs.join(',')}` : `${r.apiGroups!.join(',') || 'core'}:${r.resources!.join(',')}:${[...r.verbs].sort().join(',')}`)).sort();
      assert.deepEqual(rules('ClusterRole', `${FULL}-agent`), ['core:nodes:list,watch', 'core:pods:list,watch', 'metricsmanager.dev:metricsmanagerconfigs:get,list,watch']);
      assert.deepEqual(rules('Role', `${FULL}-agent`), ['core:events:create', 'core:pods:patch', 'nfd.k8s-sigs.io:nodefeatures:create,delete,get,patch']);
      const ctl = rules('ClusterRole', `${FULL}-controller`);
      for (const want of ['metricsmanager.dev:metricsmanagerconfigs:get,list,watch', 'metricsmanager.dev:metricsmanagerconfigs/status:get,patch,update', 'core:nodes:get,list,watch',
        'monitoring.coreos.com:servicemonitors:create,delete,get,list,update,watch', 'operator.victoriametrics.com:vmservicescrapes:create,delete,get,list,update,watch', 'core:events:create']) {
        assert.ok(ctl.includes(want), `controller ClusterRole has exactly ${want}`);
      }
      assert.ok(rules('Role', `${FULL}-controller`).includes('core:pods:get,list,watch'));
    });

    it('agent.nodeFeature.enabled=false drops the NodeFeature and Event grants and turns the publisher off', function () {
      const on = renderObjects(this);
      const onEnv = resolvedEnv(container(one(on, 'DaemonSet'), 'agent'));
      assert.equal(onEnv.NODE_FEATURE_ENABLED, 'true');
      assert.equal(onEnv.NODE_HEALTH_EVENT_WINDOW_SECONDS, '600');
      const off = renderObjects(this, { set: ['agent.nodeFeature.enabled=false'] });
      const role = one(off, 'Role', `${FULL}-agent`) as unknown as { rules: { resources: string[] }[] };
      assert.deepEqual(role.rules.flatMap((r) => r.resources), ['pods']);
      const offEnv = resolvedEnv(container(one(off, 'DaemonSet'), 'agent'));
      assert.equal(offEnv.NODE_FEATURE_ENABLED, 'false');
      assert.equal(offEnv.NODE_HEALTH_EVENT_WINDOW_SECONDS, undefined);
    });

    it('scopes config permissions to watchNamespace when it is set', function () {
      const objs = renderObjects(this, { set: ['watchNamespace=apps'] });
      const clusterWide = [...find(objs, 'ClusterRole')].flatMap((r) => (r as unknown as { rules: { resources?: string[] }[] }).rules).flatMap((r) => r.resources ?? []);
      assert.ok(!clusterWide.some((r) => r.startsWith('metricsmanagerconfigs') || r === 'servicemonitors' || r === 'events'), 'nothing namespaced is granted cluster-wide');
      const inApps = find(objs, 'Role').filter((r) => r.metadata.namespace === 'apps').map((r) => r.metadata.name).sort();
      assert.deepEqual(inApps, [`${FULL}-agent`, `${FULL}-controller`]);
      assert.equal(find(objs, 'RoleBinding').filter((r) => r.metadata.namespace === 'apps').length, 2);
      assert.equal(loadControllerSettings(resolvedEnv(container(one(objs, 'Deployment'), 'controller'))).watchNamespace, 'apps');
      assert.equal(resolvedEnv(container(one(objs, 'DaemonSet'), 'agent')).WATCH_NAMESPACE, 'apps');
    });
  });

  describe('CRD, monitors, rules and dashboard', function () {
    it('ships crds/metricsmanagerconfig.yaml unchanged in the chart', async function () {
      const source = readFileSync(path.join(rm.ROOT, 'crds', 'metricsmanagerconfig.yaml'), 'utf8');
      const copy = readFileSync(path.join(CHART_DIR, 'crds', 'metricsmanagerconfig.yaml'), 'utf8');
      assert.equal(copy, source, 'charts/metrics-manager/crds/metricsmanagerconfig.yaml differs from crds/metricsmanagerconfig.yaml: run `npm run render-manifests`');
      const objs = renderObjects(this, { includeCrds: true });
      const crd = one(objs, 'CustomResourceDefinition');
      assert.deepEqual(await validateObject(crd), []);
      const spec = crd.spec as { group: string; names: { kind: string; shortNames: string[] }; versions: { name: string; subresources?: { status?: unknown } }[] };
      assert.equal(spec.group, 'metricsmanager.dev');
      assert.equal(spec.names.kind, 'MetricsManagerConfig');
      assert.ok(spec.names.shortNames.includes('mmc'));
      assert.ok(spec.versions.some((v) => v.name === 'v1alpha1' && v.subresources?.status));
      assert.equal(find(renderObjects(this), 'CustomResourceDefinition').length, 0, 'helm installs crds/ itself, not as a template');
    });

    it('renders no monitors, rules or dashboard by default (the controller registers monitors at run time)', function () {
      const kinds = renderObjects(this, { apiVersions: MONITORING_APIS }).map((r) => r.obj.kind);
      for (const k of ['ServiceMonitor', 'VMServiceScrape', 'PrometheusRule', 'VMRule']) assert.ok(!kinds.includes(k), k);
      assert.equal(find(renderObjects(this), 'ConfigMap', `${FULL}-dashboard`).length, 0);
    });

    it('ci/monitors-rendered: scrape objects select the agents\' Service on /metrics and /metrics/self', function () {
      const objs = renderObjects(this, VALUE_SETS.find((s) => s.name === 'ci/monitors-rendered.yaml')!.opts);
      const svc = one(objs, 'Service');
      const portNames = (svc.spec as { ports: { name: string }[] }).ports.map((p) => p.name);
      for (const kind of ['ServiceMonitor', 'VMServiceScrape']) {
        const m = one(objs, kind);
        const spec = m.spec as { selector: { matchLabels: Record<string, string> }; namespaceSelector: { matchNames: string[] }; endpoints: { port: string; path: string; interval: string }[] };
        assert.ok(selectorMatches(spec.selector.matchLabels, svc.metadata.labels), `${kind} selects the Service`);
        assert.deepEqual(spec.namespaceSelector.matchNames, [NS]);
        assert.deepEqual(spec.endpoints.map((e) => e.path), ['/metrics', '/metrics/self']);
        for (const e of spec.endpoints) assert.ok(portNames.includes(e.port));
      }
      assert.equal(one(objs, 'ServiceMonitor').metadata.labels?.release, 'kube-prometheus-stack');
      const dash = one(objs, 'ConfigMap', `${FULL}-dashboard`) as unknown as K8sObject & { data: Record<string, string> };
      assert.equal(dash.metadata.labels?.grafana_dashboard, '1');
      const json = JSON.parse(dash.data['metrics-manager.json']!) as { uid: string; panels: unknown[] };
      assert.equal(json.uid, 'metrics-manager');
      assert.deepEqual(json, JSON.parse(readFileSync(path.join(CHART_DIR, 'files', 'grafana-dashboard.json'), 'utf8')));
    });
  });

  describe('helm test, NOTES, values schema', function () {
    it('has a helm test hook that pushes through the Service and reads back', function () {
      const objs = renderObjects(this);
      const hook = one(objs, 'Pod');
      assert.equal(hook.metadata.annotations?.['helm.sh/hook'], 'test');
      const c = podSpec(hook).containers[0]!;
      assert.deepEqual(c.command, ['node', '-e']);
      assert.equal(c.args?.[0], readFileSync(path.join(CHART_DIR, 'files', 'helm-test-push.js'), 'utf8'));
      assert.equal(resolvedEnv(c).TARGET_URL, `http://${FULL}.${NS}.svc:9090`);
      assert.equal(c.image, container(one(objs, 'DaemonSet'), 'agent').image);
      assert.deepEqual(podSpec(hook).tolerations, podSpec(one(objs, 'DaemonSet')).tolerations);
      assert.equal(find(renderObjects(this, { skipTests: true }), 'Pod').length, 0);
    });

    it('renders NOTES.txt telling how to push, open the dashboard and apply a config', function () {
      const notes = rm.renderNotes({}, helm(this));
      assert.match(notes, new RegExp(`http://${FULL}\\.${NS}\\.svc:9090/api/v1/metrics/simple`));
      assert.match(notes, /port-forward/);
      assert.match(notes, /\/dashboard/);
      assert.match(notes, /kind: MetricsManagerConfig/);
      assert.match(notes, /get mmc/);
      assert.match(notes, /helm test/);
      assert.doesNotMatch(notes, /<no value>|%!/);
      // The config in NOTES is one the CRD's apiVersion serves.
      const manifest = /kubectl apply -f - <<'YAML'\n([\s\S]*?)\n {2}YAML/.exec(notes)?.[1];
      assert.ok(manifest);
      const cr = parseDoc(manifest.replace(/^ {2}/gm, '')) as K8sObject;
      assert.equal(cr.apiVersion, 'metricsmanager.dev/v1alpha1');
    });

    it('helm refuses values that break values.schema.json, naming the path (defaults and ci/*.yaml pass)', function () {
      const h = helm(this);
      // Every value set renders above; helm validated each against the schema while rendering.
      const refused = (o: RenderOptions, at: RegExp) => {
        assert.throws(() => rm.render(o, h), (e: Error) => /values don't meet the specifications of the schema/.test(e.message) && at.test(e.message), JSON.stringify(o));
      };
      refused({ set: ['agent.gpu.resource=gpu.intel.com/i915'] }, /\/agent\/gpu\/resource/);
      refused({ set: ['agent.nonsense=1'] }, /'nonsense' not allowed/);
      refused({ set: ['agent.env.METRICS_PORT=1'] }, /METRICS_PORT/);
      refused({ set: ['agent.env.MAX_METRICS_IN_MEMORY=1000'] }, /\/agent\/env\/MAX_METRICS_IN_MEMORY/);
      refused({ set: ['monitoring.serviceMonitor.interval=15 seconds'] }, /\/monitoring\/serviceMonitor\/interval/);
      assert.ok(rm.render({ setString: ['agent.env.MAX_METRICS_IN_MEMORY=1000'] }, h).includes('MAX_METRICS_IN_MEMORY'));
    });

    it('passes helm lint --strict with default values and every ci/*.yaml', function () {
      const h = helm(this);
      for (const set of VALUE_SETS) {
        const out = rm.lint(set.opts, h);
        assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/, set.name);
        assert.doesNotMatch(out, /\[(WARNING|ERROR)\]/, set.name);
      }
    });

    it('has no subcharts (one chart, nothing fetched at install)', function () {
      const chartYaml = readFileSync(path.join(CHART_DIR, 'Chart.yaml'), 'utf8');
      assert.doesNotMatch(chartYaml, /^dependencies:/m);
      assert.ok(!existsSync(path.join(CHART_DIR, 'charts')));
    });
  });
});
