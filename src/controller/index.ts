/** `metrics-manager controller`: builds the controller from the environment (main.ts passes it in). */

import { createLogger, type Logger } from '../log/logger';
import { VERSION } from '../version';
import { Controller } from './controller';
import { defaultKubeConfig } from '../kube/client';
import { loadControllerSettings } from './options';

export { Controller } from './controller';

/** Throws ConfigError naming an invalid variable. */
export function controllerFromEnv(env: Record<string, string | undefined>): { controller: Controller; logger: Logger } {
  const s = loadControllerSettings(env);
  const logger = createLogger({ level: s.logLevel, format: s.logFormat, service: 'metrics-manager-controller', version: VERSION });
  const controller = new Controller({
    kubeConfig: defaultKubeConfig(),
    identity: s.identity,
    leaseNamespace: s.podNamespace,
    leaseName: s.leaseName,
    watchNamespace: s.watchNamespace,
    className: s.className,
    instance: s.instance,
    agents: {
      namespace: s.agentNamespace || s.podNamespace,
      podSelector: s.agentPodSelector,
      labels: s.agentServiceLabels,
      portName: s.agentMetricsPortName,
      monitorLabels: s.defaultMonitorLabels,
    },
    ...(s.chartPodMonitor ? { chartPodMonitor: { namespace: s.chartPodMonitor.split('/')[0]!, name: s.chartPodMonitor.split('/')[1]! } } : {}),
    discoveryIntervalMs: s.discoveryIntervalSeconds * 1000,
    leaderElection: { leaseDurationMs: s.leaseDurationSeconds * 1000, renewDeadlineMs: s.renewDeadlineSeconds * 1000, retryPeriodMs: s.retryPeriodSeconds * 1000 },
    listWatch: { resyncMs: s.resyncSeconds * 1000 },
    logger,
  });
  return { controller, logger };
}
