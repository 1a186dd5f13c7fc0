/**
 * Which pod and container a process belongs to, from its /proc/<pid>/cgroup. Pure: the caller
 * reads the file. Handles what the kubelet and the CRI runtimes create:
 *
 *   cgroup v2 (`0::<path>`) and v1 (`<n>:<controllers>:<path>` per hierarchy);
 *   the systemd cgroup driver  …/kubepods-burstable-pod<uid with _>.slice/cri-containerd-<id>.scope
 *                              …/kubepods-pod<uid>.slice/crio-<id>.scope (Guaranteed QoS)
 *   the cgroupfs driver        …/kubepods/besteffort/pod<uid>/<id>            (containerd)
 *                              …/kubepods/burstable/pod<uid>/crio-<id>        (CRI-O)
 *
 * Paths are matched anywhere, not from the root: a reader inside its own cgroup namespace sees
 * them relative to its root (`/../../kubepods.slice/…`), and kind-style nodes nest them under
 * `kubelet.slice/kubelet-kubepods.slice/…`. Static pods have 32-hex UIDs (a config hash) instead
 * of RFC 4122 ones; both are accepted. CRI-O's `crio-conmon-<id>.scope` monitor process belongs to
 * the pod but to no container.
 */

export interface CgroupOwner {
  /** Pod UID with dashes, as the API server shows it. */
  podUid: string;
  /** Container id (64 hex) without the runtime prefix; undefined for pod-level processes. */
  containerId?: string;
  /** The runtime, from the scope or directory prefix, when the path says. */
  runtime?: 'containerd' | 'cri-o' | 'docker';
}

const UUID = '[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{32}';
/** systemd driver: `kubepods-pod<uid>.slice`, `kubepods-burstable-pod<uid>.slice` (any prefix before `-pod`). */
const SYSTEMD_POD = new RegExp(`^(?:[a-z0-9_-]*-)?pod(${UUID})\\.slice$`, 'i');
/** cgroupfs driver: `pod<uid>` under a kubepods directory. */
const CGROUPFS_POD = new RegExp(`^pod(${UUID})$`, 'i');
const SYSTEMD_CONTAINER = /^(cri-containerd|crio|docker)-([0-9a-f]{64})\.scope$/i;
const CGROUPFS_CONTAINER = /^(?:(crio|docker)-)?([0-9a-f]{64})$/i;

const RUNTIMES: Record<string, CgroupOwner['runtime']> = { 'cri-containerd': 'containerd', crio: 'cri-o', docker: 'docker', '': 'containerd' };

/** The pod and container of one cgroup path; undefined when the path is not inside a pod. */
export function ownerOfCgroupPath(path: string): CgroupOwner | undefined {
  const parts = path.split('/').filter((p) => p !== '' && p !== '..' && p !== '.');
  let underKubepods = false;
  for (let i = 0; i < parts.length; i++) {
    const seg = parts[i];
    underKubepods ||= /kubepods/i.test(seg);
    if (!underKubepods) continue;
    const sd = SYSTEMD_POD.exec(seg);
    const fs = sd ? null : CGROUPFS_POD.exec(seg);
    const m = sd ?? fs;
    if (!m) continue;
    const podUid = normaliseUid(m[1]);
    const next = parts[i + 1];
    const c = next === undefined ? null : (sd ? SYSTEMD_CONTAINER : CGROUPFS_CONTAINER).exec(next);
    // No container segment: the pod's own cgroup, CRI-O's conmon scope, a sandbox sub-cgroup.
    if (!c) return { podUid };
    return { podUid, containerId: c[2].toLowerCase(), runtime: RUNTIMES[(c[1] ?? '').toLowerCase()] };
  }
  return undefined;
}

/**
 * The owner from a whole /proc/<pid>/cgroup file; undefined for a host process. The v2 line
 * (`0::`) wins when it places the process in a pod; on hybrid hosts the cgroupfs driver leaves
 * the v2 line at the runtime's service while the v1 hierarchies hold the pod, so a v1 line that
 * places it in a pod counts too.
 */
export function parseProcCgroup(text: string): CgroupOwner | undefined {
  let v1: CgroupOwner | undefined;
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (b < 0) continue;
    const owner = ownerOfCgroupPath(line.slice(b + 1).trim());
    if (!owner) continue;
    if (line.slice(0, a) === '0' && a + 1 === b) return owner;
    v1 ??= owner;
  }
  return v1;
}

/** systemd escapes the UID's dashes as underscores; the API uses dashes, lower case. */
function normaliseUid(uid: string): string {
  return uid.replace(/_/g, '-').toLowerCase();
}
