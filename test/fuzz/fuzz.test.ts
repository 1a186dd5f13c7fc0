/**
 * Fuzzing smoke: every target replays its seed corpus and regression inputs, then runs a few
 * thousand mutated inputs (seconds in all). Long runs are `npm run fuzz` (see FUZZING.md).
 */

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Fuzzer, isClassified4xx, type FuzzTarget } from './engine';
import { CORPUS_DIR, REGRESSIONS_DIR, runFuzz, seedFiles } from './harness';
import { TARGETS } from './targets';
import { sameResult } from './targets/line-protocol';
import { threadCpuClock } from './thread-cpu';
import type { ParseResult } from '../../src/model/sample';
import { HttpError } from '../../src/http/errors';
import { ValidationError } from '../../src/model/names';

const SMOKE_EXECS = 1500;

describe('fuzzing (smoke)', function () {
  this.timeout(120_000);

  it('has a seed corpus for every target, and nothing in the corpus for a target that does not exist', () => {
    for (const t of TARGETS) assert.ok(fs.readdirSync(path.join(CORPUS_DIR, t.name)).length > 0, `no seeds for ${t.name}`);
    for (const dir of [CORPUS_DIR, REGRESSIONS_DIR]) {
      for (const name of fs.readdirSync(dir)) assert.ok(TARGETS.some((t) => t.name === name), `${dir}/${name} belongs to no target`);
    }
  });

  it('classifies only 4xx-mapped errors as expected answers', () => {
    assert.equal(isClassified4xx(new ValidationError('bad')), true);
    assert.equal(isClassified4xx(new HttpError(413, 'too_large', 'x')), true);
    assert.equal(isClassified4xx(new TypeError('x is undefined')), false);
    assert.equal(isClassified4xx(new RangeError('size')), false);
    assert.equal(isClassified4xx(new Error('plain')), false);
  });

  it('reports an exception that is not a classified 4xx, and an input slower than 1 s, as failures', () => {
    let calls = 0;
    const f = new Fuzzer(
      {
        name: 'self-check',
        about: 'a target with planted bugs',
        run(data) {
          calls++;
          if (data.includes(0x21)) throw new TypeError('planted');
          if (data.includes(0x3f)) throw new ValidationError('fine');
          if (data.includes(0x40)) {
            // Spins for 1.1 s of this thread's CPU time, however loaded the machine.
            const clock = threadCpuClock() ?? Date.now;
            const until = clock() + 1100;
            while (clock() < until);
          }
          return String(data.length % 3);
        },
      },
      [Buffer.from('a!'), Buffer.from('b?'), Buffer.from('@')],
      7,
    );
    const stats = f.run(0);
    assert.equal(calls, 4, 'three seeds, the slow one timed again');
    assert.deepEqual(stats.failures.map((x) => x.kind).sort(), ['crash', 'slow']);
    assert.equal(stats.rejected, 1);
  });

  it('judges a slow input by the CPU time of a second run: waiting is not slow, spinning is', () => {
    const sleep = (ms: number): void => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    };
    const sleeper: FuzzTarget = { name: 'sleeper', about: 'blocks without using CPU', run: () => sleep(1100) };
    const byCpu = new Fuzzer(sleeper, [Buffer.from('x')], 1).run(0);
    assert.deepEqual(byCpu.failures, []);
    assert.equal(byCpu.slowDismissed, 1);
    assert.ok(byCpu.cpuSeconds !== undefined && byCpu.cpuSeconds < 1, `cpuSeconds ${byCpu.cpuSeconds}`);
    // Without a thread clock the second run's wall-clock time decides, and it is slow again.
    const byWall = new Fuzzer(sleeper, [Buffer.from('x')], 1, { cpuClock: null }).run(0);
    assert.deepEqual(byWall.failures.map((f) => f.kind), ['slow']);
    assert.equal(byWall.cpuSeconds, undefined);
    // A clock that says the second run took 2 s of CPU: a finding, worded as CPU time.
    let fake = 0;
    const clocked = new Fuzzer({ name: 'clocked', about: 'slow by wall clock once', run: () => { sleep(1100); fake += 2000; } }, [Buffer.from('y')], 1, { cpuClock: () => fake }).run(0);
    assert.deepEqual(clocked.failures.map((f) => f.detail), ['2000 ms of CPU for one input of 1 bytes']);
  });

  it('generates no input longer than maxLen, and replays longer seeds whole', () => {
    const lengths: number[] = [];
    const long = Buffer.alloc(300, 0x61);
    const f = new Fuzzer({ name: 'lengths', about: 'records lengths', run: (d) => { lengths.push(d.length); return String(d.length); }, tokens: ['abcdefgh'] }, [long, Buffer.from('ab')], 3, { maxLen: 64 });
    f.run(3000);
    assert.equal(lengths[0], 300);
    assert.ok(Math.max(...lengths.slice(2)) <= 64, `longest generated input ${Math.max(...lengths.slice(2))}`);
    assert.ok(lengths.slice(2).some((n) => n > 32), 'inputs do grow towards the bound');
    assert.throws(() => new Fuzzer({ name: 'x', about: 'x', run: () => undefined }, [], 1, { maxLen: 0 }), /maxLen/);
  });

  it('stops at the deadline and says so', () => {
    const f = new Fuzzer({ name: 'x', about: 'x', run: () => undefined }, [Buffer.from('a')], 1, { deadline: Date.now() - 1 });
    const stats = f.run(1_000_000);
    assert.equal(stats.stoppedAtDeadline, true);
    assert.equal(stats.execs, 1);
  });

  it('line protocol: the cheap comparison of cached and fresh results sees every difference deepStrictEqual would', () => {
    const base = (): ParseResult => ({
      samples: [{ name: 'm_v', labels: { a: '1', b: '2' }, value: NaN, timestampMs: 5, type: 'gauge', key: 'k' }],
      errors: [{ line: 2, message: 'bad' }],
      points: 1,
    });
    assert.equal(sameResult(base(), base()), true);
    const reordered = base();
    reordered.samples[0].labels = { b: '2', a: '1' };
    assert.equal(sameResult(reordered, base()), true, 'label order is not part of a sample');
    const changes: Array<(r: ParseResult) => void> = [
      (r) => { r.samples[0].value = 0; },
      (r) => { r.samples[0].labels.b = '3'; },
      (r) => { r.samples[0].labels = { a: '1', c: '2' }; },
      (r) => { r.samples[0].timestampMs = undefined; },
      (r) => { r.samples[0].help = 'h'; },
      (r) => { r.samples[0].key = 'other'; },
      (r) => { r.errors[0].line = 3; },
      (r) => { r.points = 2; },
      (r) => { r.samples.push({ ...r.samples[0] }); },
    ];
    for (const change of changes) {
      const r = base();
      change(r);
      assert.equal(sameResult(r, base()), false, String(change));
      assert.equal(sameResult(base(), r), false, String(change));
    }
    const negZero = base();
    negZero.samples[0].value = -0;
    const zero = base();
    zero.samples[0].value = 0;
    assert.equal(sameResult(negZero, zero), false, '-0 and 0 differ');
  });

  for (const t of TARGETS) {
    it(`${t.name}: seeds, regression inputs and ${SMOKE_EXECS} mutations give no failure`, async () => {
      const seeds = seedFiles(t.name).length;
      const r = await runFuzz({ target: t.name, execs: SMOKE_EXECS, seed: 20261206, save: false });
      assert.deepEqual(r.failures.map((f) => `${f.kind}: ${f.detail}`), []);
      assert.equal(r.execs, seeds + SMOKE_EXECS);
    });
  }
});
