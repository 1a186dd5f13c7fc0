import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';

/**
 * Finds an external tool. Under CI=true a missing tool fails the suite; elsewhere the suite is
 * skipped with a loud message (the setup script normally installs it).
 */
export function requireTool(ctx: Mocha.Context, path: string, pkg: string): boolean {
  if (existsSync(path)) return true;
  const msg = `${path} is missing (Debian package ${pkg}); run scripts/setup-test-deps.sh as root`;
  if (process.env.CI === 'true') throw new Error(msg);
  console.warn(`\n  !!! SKIPPED: ${msg}\n`);
  ctx.skip();
  return false;
}

export function run(cmd: string, args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** A loopback port that was free a moment ago (for servers a test starts itself). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
