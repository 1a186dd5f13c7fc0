/**
 * Fuzzing smoke: every target replays its seed corpus and regression inputs, then runs a few
 * thousand mutated inputs (seconds in all). Long runs are `npm run fuzz` (see FUZZING.md).
 */

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Fuzzer, isClassified4xx } from './engine';
import { CORPUS_DIR, REGRESSIONS_DIR, runFuzz, seedFiles } from './harness';
import { TARGETS } from './targets';
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
            const until = Date.now() + 1100;
            while (Date.now() < until);
          }
          return String(data.length % 3);
        },
      },
      [Buffer.from('a!'), Buffer.from('b?'), Buffer.from('@')],
      7,
    );
    const stats = f.run(0);
    assert.equal(calls, 3);
    assert.deepEqual(stats.failures.map((x) => x.kind).sort(), ['crash', 'slow']);
    assert.equal(stats.rejected, 1);
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
