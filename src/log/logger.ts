/**
 * winston JSON lines for lifecycle events (start, stop, failures worth a human's attention).
 * Per-request and per-sample events are metrics, not logs (DESIGN.md §9.6). The correlation id of
 * the request being served, if any, is added to every line from the async context.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import winston from 'winston';

export type Logger = winston.Logger;

/** Holds the correlation id for the duration of a request. */
export const requestContext = new AsyncLocalStorage<{ correlationId: string }>();

const addCorrelation = winston.format((info) => {
  const ctx = requestContext.getStore();
  if (ctx) info.correlation_id = ctx.correlationId;
  return info;
});

const LEVELS: Record<string, string> = { debug: 'debug', info: 'info', warning: 'warn', warn: 'warn', error: 'error', critical: 'error' };

export function createLogger(opts: { level: string; format: 'json' | 'text'; service: string; version: string; silent?: boolean }): Logger {
  const base = [winston.format.timestamp(), addCorrelation()];
  return winston.createLogger({
    level: LEVELS[opts.level] ?? 'info',
    silent: opts.silent ?? false,
    defaultMeta: { service: opts.service, version: opts.version },
    format: opts.format === 'json'
      ? winston.format.combine(...base, winston.format.json())
      : winston.format.combine(...base, winston.format.printf((i) => `${i.timestamp} ${i.level} ${i.message}`)),
    transports: [new winston.transports.Console()],
  });
}
