/**
 * Static bearer tokens (AUTH_MODE=token): the token file's format, and a store that re-reads the
 * file when it changes (a mounted Secret rotates without a restart) and looks tokens up in
 * constant time.
 *
 * File format, one token per line: `<token> <scope>[,<scope>...] [name]`; `#` starts a comment
 * line; blank lines are skipped. Scopes are `read`, `write` and `delete`. The name identifies the
 * caller in counters and on pushes; `<namespace>/<serviceaccount>` sets both, any other name is
 * used as the namespace. Without a name the caller is `token-<line>`.
 *
 * Tokens never appear in messages, logs or errors: only line numbers and names do.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import type { Scope } from '../http/routes-table';

export type { Scope };
/** Every scope a route of the route table can need. */
export const SCOPES: readonly Scope[] = ['read', 'write', 'delete'];

/** Shortest accepted token: anything shorter is guessable. */
export const MIN_TOKEN_LENGTH = 16;

/** Who a credential belongs to. */
export interface Identity {
  /** The token's name (token mode) or the username (kubernetes mode). */
  name: string;
  /** Stamped on pushes as the `namespace` label; quotas are per namespace. */
  namespace: string;
  /** Stamped as the `service_account` label when known. */
  serviceAccount?: string;
}

export interface TokenEntry {
  identity: Identity;
  scopes: ReadonlySet<Scope>;
  /** SHA-256 of the token: compared instead of the token, so every comparison has one length. */
  digest: Buffer;
}

export interface ParsedTokenFile {
  entries: TokenEntry[];
  /** One per rejected line, naming the line and the problem (never the token). */
  problems: string[];
}

function digestOf(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function identityFromName(name: string): Identity {
  const slash = name.indexOf('/');
  if (slash > 0 && slash < name.length - 1 && name.indexOf('/', slash + 1) < 0) {
    return { name, namespace: name.slice(0, slash), serviceAccount: name.slice(slash + 1) };
  }
  return { name, namespace: name };
}

/** Parses a token file. Pure. Bad lines are left out and reported; the good ones still count. */
export function parseTokenFile(text: string): ParsedTokenFile {
  const entries: TokenEntry[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  const lines = text.split('\n');
  lines.forEach((raw, k) => {
    const n = k + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const parts = line.split(/[ \t]+/);
    if (parts.length < 2) {
      problems.push(`line ${n}: expected "<token> <scope>[,<scope>...] [name]"`);
      return;
    }
    if (parts.length > 3) {
      problems.push(`line ${n}: too many fields (a name cannot contain spaces)`);
      return;
    }
    const [token, scopeList, name] = parts;
    if (token.length < MIN_TOKEN_LENGTH) {
      problems.push(`line ${n}: token is shorter than ${MIN_TOKEN_LENGTH} characters`);
      return;
    }
    const scopes = new Set<Scope>();
    for (const s of scopeList.split(',')) {
      if (!(SCOPES as readonly string[]).includes(s)) {
        problems.push(`line ${n}: unknown scope ${JSON.stringify(s)} (scopes: ${SCOPES.join(', ')})`);
        return;
      }
      scopes.add(s as Scope);
    }
    const digest = digestOf(token);
    const hex = digest.toString('hex');
    if (seen.has(hex)) {
      problems.push(`line ${n}: the same token appears on an earlier line; the earlier one counts`);
      return;
    }
    seen.add(hex);
    entries.push({ identity: identityFromName(name ?? `token-${n}`), scopes, digest });
  });
  return { entries, problems };
}

/** The file-system calls the store needs (injected for tests). */
export interface TokenFs {
  statSync(path: string): { mtimeMs: number; size: number; ino: number };
  readFileSync(path: string, encoding: 'utf8'): string;
}

export interface TokenStoreOptions {
  file: string;
  fs: TokenFs;
  /** Milliseconds clock. */
  now: () => number;
  /** How often at most the file is checked for a change, on lookup. Default 1000 ms. */
  checkIntervalMs?: number;
  /** Called after every (re)load with its problems, and when a re-read fails (old tokens kept). */
  onLoad?: (report: { tokens: number; problems: string[]; error?: string }) => void;
}

/**
 * The tokens of a file, re-read when its mtime, size or inode changes (a Secret volume swaps a
 * symlink, so the inode changes). The check runs on lookup at most once per `checkIntervalMs`:
 * no timer, nothing to stop. A file that cannot be read at construction is an error (the agent
 * does not start); later read errors keep the last good tokens and are reported through onLoad.
 */
export class TokenStore {
  private entries: TokenEntry[] = [];
  private stamp = '';
  private checkedAt = -Infinity;
  private readonly interval: number;

  constructor(private readonly opts: TokenStoreOptions) {
    this.interval = opts.checkIntervalMs ?? 1000;
    this.reload(true);
  }

  /** Tokens currently loaded (a gauge). */
  get size(): number {
    return this.entries.length;
  }

  /**
   * The entry of `token`, or undefined. Compares the token's digest with every entry's, without
   * stopping at a match, so the time taken says nothing about which or how many bytes matched.
   */
  lookup(token: string): TokenEntry | undefined {
    this.maybeReload();
    const d = digestOf(token);
    let found: TokenEntry | undefined;
    for (const e of this.entries) {
      if (timingSafeEqual(d, e.digest) && found === undefined) found = e;
    }
    return found;
  }

  private maybeReload(): void {
    const t = this.opts.now();
    if (t - this.checkedAt < this.interval) return;
    this.checkedAt = t;
    try {
      this.reload(false);
    } catch (err) {
      this.opts.onLoad?.({ tokens: this.entries.length, problems: [], error: (err as Error).message });
    }
  }

  private reload(force: boolean): void {
    const st = this.opts.fs.statSync(this.opts.file);
    const stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    if (!force && stamp === this.stamp) return;
    const parsed = parseTokenFile(this.opts.fs.readFileSync(this.opts.file, 'utf8'));
    this.entries = parsed.entries;
    this.stamp = stamp;
    this.checkedAt = this.opts.now();
    this.opts.onLoad?.({ tokens: parsed.entries.length, problems: parsed.problems });
  }
}
