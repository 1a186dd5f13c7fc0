/**
 * Every curl example in docs/api.md, run as written with the real curl against a running agent
 * (only `localhost:9090` is pointed at the test's port): each must exit 0 with a 2xx answer. The
 * streaming example (`-N`) is cut after a few seconds, which curl reports as exit 28 with its 200.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startAgent, type RunningAgent } from '../helpers/agent';
import { requireTool } from '../helpers/tools';

/** The curl commands of the sh code blocks, continuation lines and multi-line quoted bodies joined. */
export function curlExamples(markdown: string): string[] {
  const out: string[] = [];
  const blocks = markdown.split(/^```/m).filter((_, i) => i % 2 === 1).filter((b) => /^(sh|bash)\n/.test(b));
  for (const block of blocks) {
    const lines = block.split('\n').slice(1);
    for (let i = 0; i < lines.length; i++) {
      if (!/^curl\s/.test(lines[i])) continue;
      let cmd = lines[i];
      while (i + 1 < lines.length && (cmd.endsWith('\\') || quotesOpen(cmd))) cmd += '\n' + lines[++i];
      out.push(cmd);
    }
  }
  return out;
}

function quotesOpen(s: string): boolean {
  let single = false;
  let double = false;
  for (const c of s) {
    if (c === "'" && !double) single = !single;
    else if (c === '"' && !single) double = !double;
  }
  return single || double;
}

describe('docs/api.md curl examples run as written', function () {
  this.timeout(120_000);
  let a: RunningAgent;
  const doc = readFileSync(path.join(__dirname, '..', '..', '..', 'docs', 'api.md'), 'utf8');

  before(async function () {
    requireTool(this, '/usr/bin/curl', 'curl');
    a = await startAgent({ RATE_LIMIT_ENABLED: 'false' });
  });
  after(() => a?.stop());

  it('finds the examples (multi-line bodies joined)', () => {
    const cmds = curlExamples(doc);
    assert.ok(cmds.length >= 15, `${cmds.length} examples`);
    assert.ok(cmds.some((c) => c.includes('\n') && c.includes('"metrics"')), 'the JSON batch example spans lines');
  });

  // The agent runs in this process: curl must run asynchronously for it to answer.
  const bash = (script: string) => new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile('bash', ['-c', script], { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });

  it('each exits 0 with a 2xx answer', async () => {
    const port = new URL(a.url).port;
    const failures: string[] = [];
    for (const cmd of curlExamples(doc)) {
      const local = cmd.replace(/localhost:9090/g, `127.0.0.1:${port}`);
      const streaming = /\s-N\s/.test(cmd);
      // Options go right after `curl`, so a trailing `# comment` stays a comment.
      const run = local.replace(/^curl\s/, `curl -sS -o /dev/null -w '%{http_code}' --max-time ${streaming ? 2 : 10} `);
      const r = await bash(run);
      const code = Number(r.stdout.trim().slice(-3));
      const okExit = r.status === 0 || (streaming && r.status === 28);
      if (!okExit || !(code >= 200 && code < 300)) failures.push(`${cmd}\n  → exit ${r.status}, HTTP ${r.stdout.trim()} ${r.stderr.trim()}`);
    }
    assert.deepEqual(failures, []);
  });
});
