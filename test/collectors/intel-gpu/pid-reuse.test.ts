/**
 * A pid the kernel hands to another process must not keep the pod of the process that had it:
 * the scanner reads a process's cgroup once, so it checks the pid's identity (start time, field 22
 * of /proc/<pid>/stat) whenever what it knew about the pid stops matching. Built on a temp tree
 * (the k8s-dgpu sysfs, one process written by hand) so the test can replace the process in place.
 */

import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HostFs } from '../../../src/collectors/host-fs';
import { IntelGpuCollector } from '../../../src/collectors/intel-gpu';
import { parseProcStartTime } from '../../../src/collectors/intel-gpu/proc-stat';
import type { Sample } from '../../../src/model/sample';
import { HOSTS, testEnv } from './fixture-host';

const POD_A = 'aaaaaaaa-0000-4000-8000-00000000000a';
const POD_B = 'bbbbbbbb-0000-4000-8000-00000000000b';
const PID = '4242';

function stat(start: number): string {
  // comm with a space and a ')' to check the fields are counted from the last ')'.
  const rest = ['S', '1', '4242', '4242', '0', '-1', '4194560', '100', '0', '0', '0', '5', '3', '0', '0', '20', '0', '1', '0', String(start), '1000000', '200'];
  return `${PID} (gpu job) x) ${rest.join(' ')}\n`;
}

function fdinfo(clientId: number, cycles: number): string {
  return [
    'pos:\t0',
    'flags:\t0100002',
    'drm-driver:\txe',
    `drm-client-id:\t${clientId}`,
    'drm-pdev:\t0000:03:00.0',
    'drm-resident-vram0:\t1024 KiB',
    `drm-cycles-rcs:\t${cycles}`,
    `drm-total-cycles-rcs:\t${cycles * 4}`,
    '',
  ].join('\n');
}

function cgroup(uid: string, container: string): string {
  return `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replace(/-/g, '_')}.slice/cri-containerd-${container.repeat(64)}.scope\n`;
}

function podsOf(samples: Sample[]): string[] {
  return samples.filter((s) => s.name === 'gpu_pod_drm_clients').map((s) => s.labels.pod_uid ?? 'host');
}

describe('intel-gpu: a reused pid gets the pod of its new process', () => {
  let dir: string;
  let proc: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mm-gpu-pid-'));
    cpSync(path.join(HOSTS, 'k8s-dgpu', 't1', 'sys'), path.join(dir, 'sys'), { recursive: true, verbatimSymlinks: true });
    proc = path.join(dir, 'proc', PID);
    mkdirSync(path.join(proc, 'fd'), { recursive: true });
    mkdirSync(path.join(proc, 'fdinfo'));
    symlinkSync('/dev/dri/renderD128', path.join(proc, 'fd', '5'));
    writeFileSync(path.join(proc, 'fdinfo', '5'), fdinfo(7, 1000));
    writeFileSync(path.join(proc, 'cgroup'), cgroup(POD_A, 'a'));
    writeFileSync(path.join(proc, 'stat'), stat(5000));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const collector = () => {
    const env = testEnv(new HostFs(path.join(dir, 'proc'), path.join(dir, 'sys')));
    return { env, c: new IntelGpuCollector(env) };
  };

  it('parses the start time after a command name holding spaces and parentheses', () => {
    assert.equal(parseProcStartTime(stat(5000)), '5000');
    assert.equal(parseProcStartTime('1 (init) S 0 1 1'), undefined, 'too few fields');
    assert.equal(parseProcStartTime('garbage'), undefined);
  });

  it('a new process under the pid with a DRM client at the same fd number (another client id)', async () => {
    const { env, c } = collector();
    assert.deepEqual(podsOf((await c.collect()).samples), [POD_A]);
    env.clock.ms += 1000;
    writeFileSync(path.join(proc, 'fdinfo', '5'), fdinfo(7, 2000));
    assert.deepEqual(podsOf((await c.collect()).samples), [POD_A], 'the same process: its pod');

    // The process exits; a process of pod B gets the pid and opens the GPU as fd 5.
    writeFileSync(path.join(proc, 'stat'), stat(9000));
    writeFileSync(path.join(proc, 'cgroup'), cgroup(POD_B, 'b'));
    writeFileSync(path.join(proc, 'fdinfo', '5'), fdinfo(8, 10));
    env.clock.ms += 1000;
    const after = (await c.collect()).samples;
    assert.deepEqual(podsOf(after), [POD_B], 'attributed to the new process’s pod in the same collection');
    assert.ok(after.some((s) => s.name === 'gpu_pod_drm_clients' && s.labels.container_id === 'b'.repeat(64)));
  });

  it('a new process under the pid whose GPU fd has another number', async () => {
    const { env, c } = collector();
    assert.deepEqual(podsOf((await c.collect()).samples), [POD_A]);
    writeFileSync(path.join(proc, 'stat'), stat(9000));
    writeFileSync(path.join(proc, 'cgroup'), cgroup(POD_B, 'b'));
    unlinkSync(path.join(proc, 'fd', '5'));
    symlinkSync('pipe:[77]', path.join(proc, 'fd', '5'));
    writeFileSync(path.join(proc, 'fdinfo', '5'), 'pos:\t0\nflags:\t02\n');
    symlinkSync('/dev/dri/renderD128', path.join(proc, 'fd', '6'));
    writeFileSync(path.join(proc, 'fdinfo', '6'), fdinfo(8, 10));
    env.clock.ms += 1000;
    assert.deepEqual(podsOf((await c.collect()).samples), [], 'fd 5 is no GPU client any more: the process is listed again next cycle');
    env.clock.ms += 1000;
    assert.deepEqual(podsOf((await c.collect()).samples), [POD_B]);
  });

  it('the same process reopening the GPU keeps its pod without reading its cgroup again', async () => {
    const { env, c } = collector();
    assert.deepEqual(podsOf((await c.collect()).samples), [POD_A]);
    // Same start time: the same process. Its cgroup file changing would not be read (it is read
    // once per process); this shows the check is by identity, not by rereading the cgroup.
    writeFileSync(path.join(proc, 'cgroup'), cgroup(POD_B, 'b'));
    writeFileSync(path.join(proc, 'fdinfo', '5'), fdinfo(9, 10));
    env.clock.ms += 1000;
    assert.deepEqual(podsOf((await c.collect()).samples), [POD_A]);
  });
});
