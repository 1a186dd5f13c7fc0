import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { cpuUsage, parseProcStat, type CpuTimes } from '../../../src/collectors/cpu';
import { fixtureDir, near } from './fixture-host';

function times(cpu: string, v: Partial<Omit<CpuTimes, 'cpu'>>): CpuTimes {
  return { cpu, user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0, guest: 0, guestNice: 0, ...v };
}

describe('cpu: parseProcStat', () => {
  it('reads the aggregate and per-CPU lines of a real-format /proc/stat, ignoring the rest', () => {
    const t = parseProcStat(readFileSync(path.join(fixtureDir('desktop', 't0'), 'proc/stat'), 'utf8'));
    assert.deepEqual(
      t.map((x) => x.cpu),
      ['cpu-total', 'cpu0', 'cpu1', 'cpu2', 'cpu3', 'cpu4', 'cpu5', 'cpu6', 'cpu7'],
    );
    // cpu0 1145782 74606 688437 15338037 4135 4179 25007 0 129875 14728
    assert.deepEqual(t[1], {
      cpu: 'cpu0', user: 1145782, nice: 74606, system: 688437, idle: 15338037, iowait: 4135, irq: 4179, softirq: 25007,
      steal: 0, guest: 129875, guestNice: 14728,
    });
  });

  it('treats columns older kernels lack (steal, guest, guest_nice) as 0', () => {
    const t = parseProcStat('cpu  100 2 50 1000 3 4 5\ncpu0 100 2 50 1000 3 4 5 6\n');
    assert.deepEqual(t[0], times('cpu-total', { user: 100, nice: 2, system: 50, idle: 1000, iowait: 3, irq: 4, softirq: 5 }));
    assert.equal(t[1].steal, 6);
    assert.equal(t[1].guest, 0);
  });

  it('skips short, non-numeric and look-alike lines; tolerates extra whitespace and columns', () => {
    const t = parseProcStat(
      [
        'cpu 1 2 3 4', // 2.4-era line: too short
        'cpu0 1 2 x 4 5 6 7 8 9 10',
        'cpufreq 1 2 3 4 5 6 7 8 9 10',
        'cpu1   1 2 3 4 5 6 7 8 9 10 11  ', // a future 11th column is ignored
        '',
        'ctxt 12345',
      ].join('\n'),
    );
    assert.equal(t.length, 1);
    assert.deepEqual(t[0], times('cpu1', { user: 1, nice: 2, system: 3, idle: 4, iowait: 5, irq: 6, softirq: 7, steal: 8, guest: 9, guestNice: 10 }));
    assert.deepEqual(parseProcStat(''), []);
  });
});

describe('cpu: cpuUsage', () => {
  it('takes guest out of user and guest_nice out of nice, as Telegraf does', () => {
    const a = times('cpu0', { user: 1000, nice: 100, system: 500, idle: 5000, guest: 200, guestNice: 10 });
    // Δ: user 60 (guest 20 of it), nice 10 (guest_nice 5), system 10, idle 20 → total 100
    const b = times('cpu0', { user: 1060, nice: 110, system: 510, idle: 5020, guest: 220, guestNice: 15 });
    const u = cpuUsage(a, b)!;
    near(u.user, 40, 'user');
    near(u.guest, 20, 'guest');
    near(u.nice, 5, 'nice');
    near(u.guest_nice, 5, 'guest_nice');
    near(u.system, 10, 'system');
    near(u.idle, 20, 'idle');
    for (const f of ['iowait', 'irq', 'softirq', 'steal'] as const) near(u[f], 0, f);
  });

  it('gives nothing when no tick passed or the counters went backwards (reset)', () => {
    const a = times('cpu0', { user: 1000, idle: 5000 });
    assert.equal(cpuUsage(a, a), undefined);
    // hot-unplug: the offline CPU's idle switches to a smaller source
    assert.equal(cpuUsage(a, times('cpu0', { user: 1001, idle: 4000 })), undefined);
    assert.equal(cpuUsage(a, times('cpu0', {})), undefined);
  });

  it('keeps every value within [0, 100] when one column dips while the sum grows', () => {
    // idle −2 (NO_HZ accounting quirk), user +10: Telegraf would give user 125 %, idle −25 %.
    const u = cpuUsage(times('c', { user: 100, idle: 1000 }), times('c', { user: 110, idle: 998 }))!;
    near(u.user, 100, 'user');
    near(u.idle, 0, 'idle');
    // guest growing more than user (racy accounting): user 0, guest capped at Δuser
    const g = cpuUsage(times('c', { user: 100, idle: 100, guest: 50 }), times('c', { user: 105, idle: 105, guest: 70 }))!;
    near(g.user, 0, 'user');
    near(g.guest, 50, 'guest');
    near(g.idle, 50, 'idle');
  });
});
