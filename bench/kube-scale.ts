/**
 * Scale simulation of the controller (not a test; run alone):
 *
 *   node build/bench/kube-scale.js [--quick] [--write]
 *
 * A FAKE API server (test/helpers/fake-kube) in this process holds 5000 Nodes in 20 pools, 200
 * agent Pods (10 per pool), 20 MetricsManagerConfigs (one per pool) and serves the
 * ServiceMonitor API. The controller runs as a separate process (bench/kube-scale-controller.ts,
 * production timings) so its RSS is its own. After it has settled, for 2 minutes every Node gets a
 * status heartbeat every 10 s (spread evenly), and once a minute one config is edited; the agents
 * of that pool then report the new generation on their Pods within 2 s (as real agents would).
 *
 * Reported: requests per minute by verb and resource in the measured window, writes and monitor
 * lists outside the edit windows (heartbeats), writes per config change, latency from an edit to
 * the status showing the new generation and to Applied=True on all its nodes, the controller's
 * peak RSS. --write replaces the "Kubernetes controller at scale" section of bench/RESULTS.md.
 */

import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  AGENT_LABELS, AGENT_NS, MMC, NODES, PODS, SERVICE_MONITORS, startFakeKube, TOKEN, type FakeKubeApiServer,
} from '../test/helpers/fake-kube';
import { APPLIED_ANNOTATION } from '../src/kube/resources';
import { mb, num, passFail, table } from './lib/format';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const WRITE = argv.includes('--write');
const NODE_COUNT = 5000;
const POOLS = 20;
const AGENTS_PER_POOL = 10;
const HEARTBEAT_MS = 10_000;
const WINDOW_MS = QUICK ? 40_000 : 120_000;
const EDIT_EVERY_MS = QUICK ? 20_000 : 60_000;
/** After an edit, writes within this long count as caused by it. */
const EDIT_WINDOW_MS = 8_000;
const NS = 'platform';
const WRITES = new Set(['create', 'update', 'patch', 'delete']);
const TARGETS = { heartbeatWrites: 0, heartbeatMonitorLists: 0, writesPerChange: 3, rssMb: 150 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ChildStats {
  leader: boolean;
  stats: { reconciles: number; statusWrites: number; monitorWrites: number; nodeEventsIgnored: number };
  queue: { adds: number; coalesced: number; processed: number; failures: number; retries: number };
  pending: number;
  memory: NodeJS.MemoryUsage;
}

function peakRss(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

function buildWorld(fake: FakeKubeApiServer): void {
  fake.addResource(SERVICE_MONITORS);
  for (let i = 0; i < NODE_COUNT; i++) {
    const pool = i % POOLS;
    fake.create(NODES, {
      metadata: { name: `node-${i}`, labels: { 'kubernetes.io/hostname': `node-${i}`, pool: `p${pool}`, 'node.kubernetes.io/instance-type': 'gpu-large' } },
      status: { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: new Date().toISOString() }], capacity: { cpu: '64', memory: '512Gi' } },
    });
  }
  // Agents on the first AGENTS_PER_POOL nodes of every pool.
  for (let k = 0; k < POOLS * AGENTS_PER_POOL; k++) {
    const node = `node-${k}`;
    fake.create(PODS, {
      metadata: { name: `metrics-manager-${node}`, namespace: AGENT_NS, labels: { ...AGENT_LABELS } },
      spec: { nodeName: node, containers: [{ name: 'agent', image: 'metrics-manager:bench' }] },
      status: { phase: 'Running' },
    });
  }
  for (let p = 0; p < POOLS; p++) {
    fake.create(MMC, {
      metadata: { name: `pool-${p}`, namespace: NS },
      spec: { nodeSelector: { matchLabels: { pool: `p${p}` } }, retention: { seconds: 300 }, monitoring: { serviceMonitor: { labels: { release: 'kube-prometheus-stack' } } } },
    });
  }
}

/** What the agents of pool `p` do once config `pool-p` is at `generation`: report it on their Pods. */
function agentsReport(fake: FakeKubeApiServer, p: number, generation: number, spreadMs: number): Promise<void> {
  const pods = fake.list(PODS, AGENT_NS).filter((pod) => Number(/node-(\d+)$/.exec(pod.metadata.name!)![1]) % POOLS === p);
  return Promise.all(pods.map(async (pod) => {
    await sleep(Math.random() * spreadMs);
    fake.patch(PODS, AGENT_NS, pod.metadata.name!, { metadata: { annotations: { [APPLIED_ANNOTATION]: `${NS}/pool-${p}/${generation}` } } });
  })).then(() => undefined);
}

async function main(): Promise<void> {
  const load = os.loadavg()[0]!;
  const fake = await startFakeKube({ bookmarkIntervalMs: 60_000 });
  buildWorld(fake);
  const child = fork(path.join(__dirname, 'kube-scale-controller.js'), [], { env: { ...process.env, FAKE_KUBE_URL: fake.url, FAKE_KUBE_TOKEN: TOKEN }, stdio: 'inherit' });
  const ask = () => new Promise<ChildStats>((resolve) => {
    child.once('message', (m) => resolve(m as ChildStats));
    child.send('stats');
  });
  try {
    // Settle: all configs have status, the monitor exists, agents report the first generation.
    const t0 = Date.now();
    for (;;) {
      const statuses = fake.list(MMC, NS).filter((c) => (c.status as { observedGeneration?: number } | undefined)?.observedGeneration === 1).length;
      if (statuses === POOLS && fake.list(SERVICE_MONITORS).length === 1) break;
      if (Date.now() - t0 > 120_000) throw new Error(`controller did not settle: ${statuses}/${POOLS} statuses`);
      await sleep(100);
    }
    const settleMs = Date.now() - t0;
    const startupRequests = fake.requestCounts();
    await Promise.all(Array.from({ length: POOLS }, (_, p) => agentsReport(fake, p, 1, 1000)));
    for (;;) {
      const s = await ask();
      const allApplied = fake.list(MMC, NS).every((c) => (c.status as { nodes?: { applied?: number } }).nodes?.applied === AGENTS_PER_POOL);
      if (allApplied && s.pending === 0) break;
      await sleep(200);
    }
    await sleep(2000);

    // Measured window.
    const mark = fake.requests.length;
    const before = await ask();
    const start = Date.now();
    const edits: { at: number; pool: number; generation: number; statusMs?: number; appliedMs?: number }[] = [];
    let beat = 0;
    const heartbeats = (async () => {
      const perTick = Math.ceil(NODE_COUNT / (HEARTBEAT_MS / 100));
      while (Date.now() - start < WINDOW_MS) {
        for (let j = 0; j < perTick; j++) {
          const n = beat++ % NODE_COUNT;
          fake.patch(NODES, undefined, `node-${n}`, { status: { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: new Date().toISOString() }] } });
        }
        await sleep(100);
      }
    })();
    const editing = (async () => {
      let k = 0;
      for (let at = EDIT_EVERY_MS / 2; at < WINDOW_MS - EDIT_WINDOW_MS; at += EDIT_EVERY_MS) {
        await sleep(start + at - Date.now());
        const pool = (k++ * 7) % POOLS;
        const edited = fake.patch(MMC, NS, `pool-${pool}`, { spec: { retention: { seconds: 300 + 60 * k } } });
        const e = { at: Date.now(), pool, generation: edited.metadata.generation! } as (typeof edits)[number];
        edits.push(e);
        const report = agentsReport(fake, pool, e.generation, 2000);
        for (;;) {
          const st = fake.get(MMC, NS, `pool-${pool}`)!.status as { observedGeneration?: number; nodes?: { applied?: number } };
          if (e.statusMs === undefined && st.observedGeneration === e.generation) e.statusMs = Date.now() - e.at;
          if (st.observedGeneration === e.generation && st.nodes?.applied === AGENTS_PER_POOL) {
            e.appliedMs = Date.now() - e.at;
            break;
          }
          if (Date.now() - e.at > EDIT_WINDOW_MS) break;
          await sleep(20);
        }
        await report;
      }
    })();
    await Promise.all([heartbeats, editing]);
    const elapsedMin = (Date.now() - start) / 60_000;
    const after = await ask();
    const rss = peakRss(child.pid!);

    const reqs = fake.requests.slice(mark);
    const inEdit = (t: number) => edits.some((e) => t >= e.at && t < e.at + EDIT_WINDOW_MS);
    const isWrite = (r: (typeof reqs)[number]) => !!r.verb && WRITES.has(r.verb) && r.resource !== 'leases';
    const heartbeatWrites = reqs.filter((r) => isWrite(r) && !inEdit(r.atMs));
    const monitorLists = reqs.filter((r) => r.verb === 'list' && r.resource === 'servicemonitors');
    const perEdit = edits.map((e) => reqs.filter((r) => isWrite(r) && r.atMs >= e.at && r.atMs < e.at + EDIT_WINDOW_MS));
    const counts = new Map<string, number>();
    for (const r of reqs) {
      const key = r.verb === 'discovery' ? 'discovery' : `${r.verb ?? r.method} ${r.resource ?? r.path}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const maxWritesPerChange = Math.max(0, ...perEdit.map((w) => w.length));

    const date = new Date().toISOString().slice(0, 10);
    const lines = [
      '## Kubernetes controller at scale',
      '',
      `${date}; \`node build/bench/kube-scale.js${QUICK ? ' --quick' : ''}\`; 1-minute load average at start ${load.toFixed(1)} on ${os.cpus().length} cores${load > os.cpus().length ? ' (measured while the machine was shared)' : ''}.`,
      `${num(NODE_COUNT)} Nodes, ${POOLS * AGENTS_PER_POOL} agent Pods, ${POOLS} configs (one per pool of ${NODE_COUNT / POOLS} nodes), ServiceMonitor API served; the controller (its own process, production timings: 1 s status coalescing, 500-item pages) settled in ${num(settleMs / 1000, 1)} s with ${[...startupRequests].map(([k, v]) => `${v} ${k}`).join(', ')}.`,
      `Then for ${num(elapsedMin, 1)} min: every Node's status patched every ${HEARTBEAT_MS / 1000} s (${num(NODE_COUNT / (HEARTBEAT_MS / 1000))} node updates/s), and ${edits.length} config edit(s), after each of which the 10 agents of that pool report the new generation within 2 s.`,
      '',
      table(['request (controller → API server)', 'per minute'], [...counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => [`\`${k}\``, num(v / elapsedMin, 1)])),
      '',
      table(['measure', 'value', 'target', ''], [
        ['writes outside edit windows (heartbeats)', String(heartbeatWrites.length), '0', passFail(heartbeatWrites.length === TARGETS.heartbeatWrites)],
        ['ServiceMonitor lists in the window', String(monitorLists.length), '0', passFail(monitorLists.length === TARGETS.heartbeatMonitorLists)],
        ['writes per config change (max; each)', `${maxWritesPerChange} (${perEdit.map((w) => w.map((r) => `${r.verb} ${r.resource}`).join(' + ') || 'none').join('; ')})`, `≤ ${TARGETS.writesPerChange}`, passFail(maxWritesPerChange <= TARGETS.writesPerChange)],
        ['edit → status at the new generation', edits.map((e) => (e.statusMs === undefined ? 'n/a' : `${e.statusMs} ms`)).join(', '), '', ''],
        ['edit → Applied on all its nodes (includes the agents\' 0–2 s)', edits.map((e) => (e.appliedMs === undefined ? 'n/a' : `${e.appliedMs} ms`)).join(', '), '', ''],
        ['controller peak RSS (VmHWM)', `${mb(rss)} MB`, `≤ ${TARGETS.rssMb} MB`, passFail(rss / 1048576 <= TARGETS.rssMb)],
        ['controller heap used at the end', `${mb(after.memory.heapUsed)} MB`, '', ''],
        ['reconciles / node events ignored in the window', `${after.stats.reconciles - before.stats.reconciles} / ${num(after.stats.nodeEventsIgnored - before.stats.nodeEventsIgnored)}`, '', ''],
        ['work-queue adds (coalesced) in the window', `${after.queue.adds - before.queue.adds} (${after.queue.coalesced - before.queue.coalesced})`, '', ''],
      ]),
      '',
    ];
    const section = lines.join('\n');
    process.stdout.write(`${section}\n`);
    if (WRITE) {
      const file = path.join(__dirname, '..', '..', 'bench', 'RESULTS.md');
      const text = fs.readFileSync(file, 'utf8');
      const startIdx = text.indexOf('## Kubernetes controller at scale');
      let next: string;
      if (startIdx < 0) {
        const latest = text.indexOf('## Latest run');
        next = latest < 0 ? `${text.trimEnd()}\n\n${section}` : `${text.slice(0, latest)}${section}\n${text.slice(latest)}`;
      } else {
        const endIdx = text.indexOf('\n## ', startIdx + 3);
        next = `${text.slice(0, startIdx)}${section}${endIdx < 0 ? '' : text.slice(endIdx)}`;
      }
      fs.writeFileSync(file, next);
    }
  } finally {
    child.disconnect();
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGKILL');
    await fake.stop();
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`kube-scale: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
