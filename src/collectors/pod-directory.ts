import type { Labels } from '../model/sample';

/**
 * What collectors may ask of the node's pod cache (src/cluster/pod-cache.ts): the names behind a
 * pod UID and container id taken from a cgroup path. Outside a cluster there is none, and
 * collectors fall back to the ids themselves.
 */
export interface PodDirectory {
  /**
   * `namespace`, `pod` and, when the container id is known, `container` of a pod container;
   * undefined when the pod is not (or not yet) in the cache. The object is shared: do not mutate.
   */
  ownerLabels(podUid: string, containerId?: string): Labels | undefined;
}
