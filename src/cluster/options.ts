/**
 * Whether the agent runs as part of a cluster, from the environment (main.ts passes process.env):
 * NODE_NAME from the downward API plus credentials (in-cluster KUBERNETES_SERVICE_HOST, or an
 * explicit KUBECONFIG for development). Otherwise undefined, and the agent runs on its own.
 */

import { defaultKubeConfig } from '../kube/client';
import type { ClusterOptions } from './config-watcher';

export function clusterOptionsFromEnv(env: Record<string, string | undefined>): ClusterOptions | undefined {
  const nodeName = env.NODE_NAME?.trim();
  if (!nodeName) return undefined;
  if (!env.KUBERNETES_SERVICE_HOST && !env.KUBECONFIG) return undefined;
  return {
    kubeConfig: defaultKubeConfig(),
    nodeName,
    podName: env.POD_NAME?.trim() || undefined,
    podNamespace: env.POD_NAMESPACE?.trim() || undefined,
    podUid: env.POD_UID?.trim() || undefined,
    watchNamespace: env.WATCH_NAMESPACE?.trim() || undefined,
    className: env.METRICS_MANAGER_CLASS?.trim() || undefined,
  };
}
