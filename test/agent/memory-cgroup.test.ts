import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startAgentProcess } from '../helpers/agent-process';
import { MemoryCgroup, requireMemoryCgroup } from '../helpers/memory-cgroup';

const MiB = 1024 * 1024;

describe('memory cgroup test harness (real kernel cgroups)', function () {
  this.timeout(60_000);
  let cg: MemoryCgroup | undefined;

  beforeEach(function () {
    requireMemoryCgroup(this);
  });

  afterEach(() => {
    cg?.remove();
    cg = undefined;
  });

  it('charges a child from its first allocation and OOM-kills it past the limit', async () => {
    cg = MemoryCgroup.create('mm-harness', 64 * MiB);
    // Holds 200 MiB of touched memory: only possible outside the group.
    const child = cg.spawn(process.execPath, ['-e', 'const b = []; for (let i = 0; i < 200; i++) b.push(Buffer.alloc(1 << 20, 1)); setTimeout(() => {}, 5000);'], { stdio: 'ignore' });
    const { signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })));
    assert.equal(signal, 'SIGKILL', 'the kernel killed it');
    assert.ok(cg.oomKills() >= 1, 'the group counted the OOM kill');
    const peak = cg.peakBytes();
    if (peak !== undefined) assert.ok(peak <= 64 * MiB, `peak ${peak} within the limit`);
  });

  it('a process inside sees its group in /proc/self/cgroup', () => {
    cg = MemoryCgroup.create('mm-harness', 128 * MiB);
    const r = spawnSync('/bin/sh', ['-c', `echo $$ > ${cg.dir}/cgroup.procs && exec cat /proc/self/cgroup`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const rel = cg.dir.replace(cg.version === 2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/memory', '');
    const line = cg.version === 2 ? `0::${rel}` : `memory:${rel}`;
    assert.ok(r.stdout.split('\n').some((l) => l.endsWith(line)), `${line} in\n${r.stdout}`);
  });

  it('runs the agent inside 256 MiB and measures it', async () => {
    cg = MemoryCgroup.create('mm-agent', 256 * MiB);
    const agent = await startAgentProcess({ cgroup: cg });
    try {
      assert.ok(cg.pids().includes(agent.child.pid!), 'the agent is in the group');
      const res = await fetch(`${agent.url}/health`);
      assert.equal(res.status, 200);
      const used = cg.usageBytes();
      assert.ok(used > 10 * MiB && used < 256 * MiB, `usage ${used}`);
    } finally {
      await agent.stop();
    }
    assert.equal(cg.oomKills(), 0);
  });
});
