import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { AGENT_V8_FLAGS, applyAgentV8Flags } from '../../src/memory/v8-flags';

/**
 * The flag is set after Node started (src/memory/v8-flags.ts), which Node does not promise to
 * honour: this runs, on the Node running the tests, a workload that makes V8 pretenure a literal
 * (its objects all survive while the young generation, held at 1 MiB, is at its largest), with
 * V8's own trace of its pretenuring decisions, once as it is and once after applyAgentV8Flags().
 */
function pretenuringTrace(apply: boolean): string {
  const script = `
    if (${apply}) require(${JSON.stringify(require.resolve('../../src/memory/v8-flags'))}).applyAgentV8Flags();
    function make(i) { return { a: i, b: 'x', c: i * 2, d: null }; }
    const held = [];
    for (let round = 0; round < 20; round++) {
      const batch = [];
      for (let i = 0; i < 100000; i++) batch.push(make(i));
      held.push(batch);
    }
    console.log('held', held.length);
  `;
  return execFileSync(process.execPath, ['--max-semi-space-size=1', '--trace-pretenuring', '--trace-pretenuring-statistics', '-e', script], { encoding: 'utf8', env: { PATH: process.env.PATH } });
}

describe('V8 flags the agent sets at start', function () {
  this.timeout(60_000);

  it('turns allocation-site pretenuring off: V8 no longer decides to tenure a literal whose objects survive', () => {
    const control = pretenuringTrace(false);
    assert.match(control, /held 20/);
    assert.match(control, /pretenuring: .*=> tenure/, `without the flag this workload is pretenured (else the check below proves nothing):\n${control.slice(0, 2000)}`);
    const applied = pretenuringTrace(true);
    assert.match(applied, /held 20/);
    assert.doesNotMatch(applied, /pretenuring: /, applied.slice(0, 2000));
  });

  it('reports what it set', () => {
    assert.deepEqual(AGENT_V8_FLAGS, ['--no-allocation-site-pretenuring']);
    // Applying is idempotent and harmless in the test process too.
    assert.deepEqual(applyAgentV8Flags(), AGENT_V8_FLAGS);
  });
});
