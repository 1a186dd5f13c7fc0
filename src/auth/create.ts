/**
 * Builds the authenticator AUTH_MODE asks for, or refuses to (the agent then does not start):
 * a token file that cannot be read, or holds no valid token, is a configuration error named in
 * the message. Problems with single lines are logged by line number, never with the token.
 */

import fs from 'node:fs';
import type { Config } from '../config/schema';
import { TokenAuthenticator, type Authenticator } from './authenticator';
import { KubernetesAuthenticator, type KubeAuthStats, type ReviewApi } from './kubernetes';
import { TokenStore, type TokenFs } from './tokens';

/** What the authenticator reports to: warnings (lifecycle, not per request) and counters. */
export interface AuthReporter {
  warn(message: string, fields: Record<string, unknown>): void;
  info(message: string, fields: Record<string, unknown>): void;
}

export interface AuthDeps {
  report: AuthReporter;
  now: () => number;
  fs?: TokenFs;
  /** The API server's review calls (AUTH_MODE=kubernetes); called once, only in that mode. */
  kubeApi?: () => ReviewApi;
}

/** Reload counts of the token file, for self-metrics. */
export interface TokenFileStats {
  tokens: number;
  reloads: number;
  reloadFailures: number;
}

export class AuthConfigError extends Error {
  override readonly name = 'AuthConfigError';
}

export interface BuiltAuth {
  authenticator: Authenticator | undefined;
  tokenStats?: TokenFileStats;
  kubeStats?: KubeAuthStats;
}

export function createAuthenticator(config: Config, deps: AuthDeps): BuiltAuth {
  const require = new Set(config.authRequire);
  if (config.authMode === 'none') return { authenticator: undefined };
  if (config.authMode === 'token') {
    const file = config.authTokensFile;
    const stats: TokenFileStats = { tokens: 0, reloads: 0, reloadFailures: 0 };
    let store: TokenStore;
    try {
      store = new TokenStore({
        file,
        fs: deps.fs ?? fs,
        now: deps.now,
        onLoad: (r) => {
          if (r.error !== undefined) {
            stats.reloadFailures++;
            deps.report.warn('token file could not be re-read; the previous tokens stay in force', { file, error: r.error });
            return;
          }
          stats.reloads++;
          stats.tokens = r.tokens;
          for (const p of r.problems) deps.report.warn('token file line ignored', { file, problem: p });
          deps.report.info('token file loaded', { file, tokens: r.tokens, ignored_lines: r.problems.length });
        },
      });
    } catch (err) {
      throw new AuthConfigError(`AUTH_TOKENS_FILE ${JSON.stringify(file)} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); AUTH_MODE=token needs it`);
    }
    if (store.size === 0) {
      throw new AuthConfigError(`AUTH_TOKENS_FILE ${JSON.stringify(file)} holds no valid token (lines are "<token> <scope>[,<scope>...] [name]"); every request needing ${[...require].join(', ') || 'a scope'} would be refused`);
    }
    return { authenticator: new TokenAuthenticator(require, store), tokenStats: stats };
  }
  if (deps.kubeApi === undefined) throw new AuthConfigError('AUTH_MODE=kubernetes needs a Kubernetes API server (in-cluster credentials or KUBECONFIG)');
  let api: ReviewApi;
  try {
    api = deps.kubeApi();
  } catch (err) {
    throw new AuthConfigError(`AUTH_MODE=kubernetes: no usable Kubernetes API credentials (${(err as Error).message})`);
  }
  const k = new KubernetesAuthenticator({
    api, require, audiences: config.authTokenAudiences,
    cacheTtlMs: config.authCacheTtlSeconds * 1000, cacheMaxEntries: config.authCacheMaxEntries,
    now: deps.now, warn: (m, f) => deps.report.warn(m, f),
  });
  return { authenticator: k, kubeStats: k };
}
