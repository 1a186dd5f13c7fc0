/**
 * The controller process of the kube-scale bench (bench/kube-scale.ts starts it): a real Controller
 * with production timings against the FAKE API server named by FAKE_KUBE_URL / FAKE_KUBE_TOKEN.
 * Answers `stats` messages on the IPC channel with its counters and memory.
 */

import { Controller } from '../src/controller/controller';
import { kubeConfigFor } from '../src/kube/client';
import { createLogger } from '../src/log/logger';

const url = process.env.FAKE_KUBE_URL ?? '';
const token = process.env.FAKE_KUBE_TOKEN ?? '';
const controller = new Controller({
  kubeConfig: kubeConfigFor(url, token),
  identity: 'bench-controller',
  leaseNamespace: 'metrics-manager',
  leaseName: 'metrics-manager-controller',
  agents: {
    namespace: 'metrics-manager', podSelector: 'app.kubernetes.io/name=metrics-manager,app.kubernetes.io/component=agent',
    labels: { 'app.kubernetes.io/name': 'metrics-manager', 'app.kubernetes.io/component': 'agent' }, portName: 'http',
  },
  discoveryIntervalMs: 60_000,
  logger: createLogger({ level: 'warning', format: 'json', service: 'bench-controller', version: 'bench' }),
});
controller.start();

process.on('message', (m: unknown) => {
  if (m !== 'stats') return;
  process.send?.({
    leader: controller.isLeader(),
    stats: controller.stats,
    queue: controller.queue.stats,
    pending: controller.queue.pending,
    memory: process.memoryUsage(),
  });
});
process.on('disconnect', () => {
  void controller.stop().then(() => process.exit(0));
});
