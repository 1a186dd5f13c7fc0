/**
 * The forward ledger (FORWARD_STATE_FILE): a small file, rewritten about once a second, that says
 * how many acknowledged samples each memory-only sink still holds. A crash, `kill -9` or OOM kill
 * does not reach the `clean: true` written at a graceful stop, so the next run reads the last
 * figures and counts them as the previous run's unsent samples. No fsync: the page cache survives
 * a process's death, which is the case this covers; a power cut can lose the file, not the agent.
 */

import { promises as fsp } from 'node:fs';
import type { Logger } from '../../log/logger';
import type { SinkStats } from '../core/forwarding-sink';

const VERSION = 1;
/** Sink names as createSinks gives them; the file's keys become label values, so they are checked. */
const SINK_NAME = /^[a-z0-9-]{1,32}$/;
const MAX_SINKS = 16;

/** What one run wrote. Pure data: parsed and built without I/O. */
export interface LedgerState {
  version: typeof VERSION;
  pid: number;
  /** ms since the epoch. */
  startedAt: number;
  updatedAt: number;
  /** True only after a graceful stop flushed the sinks. */
  clean: boolean;
  /** Per sink: acknowledged samples held in memory only (not delivered, not spooled). */
  unsent: Record<string, number>;
}

/** The previous run's ending as the next run reads it. */
export interface PreviousRun {
  pid: number;
  clean: boolean;
  /** When the figures were last written (ms since the epoch). */
  asOf: number;
  /** Per sink; all zero after a clean stop that delivered everything. */
  unsent: Record<string, number>;
}

/** Samples a sink holds only in memory: everything queued unless a working spool has it on disk. */
export function memoryOnlySamples(s: SinkStats): number {
  return s.spoolState === 'ok' ? 0 : s.queueSamples;
}

/** Parses a ledger file; undefined (never a throw) for anything that is not one of ours. */
export function parseLedger(text: string): LedgerState | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (o.version !== VERSION || typeof o.clean !== 'boolean') return undefined;
  for (const k of ['pid', 'startedAt', 'updatedAt'] as const) if (!Number.isSafeInteger(o[k])) return undefined;
  if (typeof o.unsent !== 'object' || o.unsent === null) return undefined;
  const unsent: Record<string, number> = {};
  const entries = Object.entries(o.unsent);
  if (entries.length > MAX_SINKS) return undefined;
  for (const [name, n] of entries) {
    if (!SINK_NAME.test(name) || !Number.isSafeInteger(n) || (n as number) < 0) return undefined;
    unsent[name] = n as number;
  }
  return { version: VERSION, pid: o.pid as number, startedAt: o.startedAt as number, updatedAt: o.updatedAt as number, clean: o.clean, unsent };
}

export interface LedgerOptions {
  file: string;
  sinks: () => SinkStats[];
  logger: Logger;
  now?: () => number;
  /** How often the figures are rewritten when they changed. Default 1000 ms. */
  intervalMs?: number;
  pid?: number;
}

export class ForwardLedger {
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly pid: number;
  private startedAt = 0;
  private timer?: NodeJS.Timeout;
  private writing?: Promise<void>;
  private lastWritten = '';
  private previousRun?: PreviousRun;
  private writeFailures = 0;

  constructor(private readonly opts: LedgerOptions) {
    this.now = opts.now ?? Date.now;
    this.intervalMs = opts.intervalMs ?? 1000;
    this.pid = opts.pid ?? process.pid;
  }

  /** Reads what the previous run left (logged when it did not stop cleanly), then starts recording. */
  async start(): Promise<void> {
    this.startedAt = this.now();
    let text: string | undefined;
    try {
      text = await fsp.readFile(this.opts.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.opts.logger.warn(`forward ledger ${this.opts.file} could not be read: ${(e as Error).message}`);
    }
    const prev = text === undefined ? undefined : parseLedger(text);
    if (text !== undefined && !prev) this.opts.logger.warn(`forward ledger ${this.opts.file} is not one this agent wrote; ignored`);
    if (prev) {
      this.previousRun = { pid: prev.pid, clean: prev.clean, asOf: prev.updatedAt, unsent: prev.unsent };
      const lost = Object.entries(prev.unsent).filter(([, n]) => n > 0);
      if (!prev.clean && lost.length > 0) {
        this.opts.logger.warn(`the previous run (pid ${prev.pid}) ended without a graceful stop holding acknowledged samples it had not forwarded: ${lost.map(([s, n]) => `${s} ${n}`).join(', ')} (as of ${new Date(prev.updatedAt).toISOString()}); they are lost — set FORWARD_SPOOL_DIR to keep them`);
      }
    }
    await this.write(false);
    this.timer = setInterval(() => void this.write(false), this.intervalMs);
    this.timer.unref();
  }

  /** After the sinks stopped: what they could not deliver was counted by them as dropped at stop. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.write(true);
  }

  previous(): PreviousRun | undefined {
    return this.previousRun;
  }

  /** Failed rewrites of the file (each also logged once per run). */
  failures(): number {
    return this.writeFailures;
  }

  /** Rewrites the file when the figures changed; one write at a time; never rejects. */
  private write(clean: boolean): Promise<void> {
    if (this.writing) return clean ? this.writing.then(() => this.write(true)) : this.writing;
    const unsent: Record<string, number> = {};
    for (const s of this.opts.sinks()) unsent[s.name] = memoryOnlySamples(s);
    const key = JSON.stringify([clean, unsent]);
    if (key === this.lastWritten) return Promise.resolve();
    const state: LedgerState = { version: VERSION, pid: this.pid, startedAt: this.startedAt, updatedAt: this.now(), clean, unsent };
    const tmp = `${this.opts.file}.tmp`;
    this.writing = fsp.writeFile(tmp, JSON.stringify(state) + '\n')
      .then(() => fsp.rename(tmp, this.opts.file))
      .then(() => {
        this.lastWritten = key;
      }, (e: Error) => {
        if (this.writeFailures++ === 0) this.opts.logger.warn(`forward ledger ${this.opts.file} could not be written (a crash will not be counted): ${e.message}`);
      })
      .finally(() => {
        this.writing = undefined;
      });
    return this.writing;
  }
}
