/**
 * winston JSON lines for lifecycle events (start, stop, failures worth a human's attention).
 * Per-request and per-sample events are metrics, not logs (DESIGN.md §9.6); a log line about a
 * request carries its correlation id as a field.
 */

import winston from 'winston';

export type Logger = winston.Logger;

const LEVELS: Record<string, string> = { debug: 'debug', info: 'info', warning: 'warn', warn: 'warn', error: 'error', critical: 'error' };

export function createLogger(opts: { level: string; format: 'json' | 'text'; service: string; version: string; silent?: boolean }): Logger {
  const ts = winston.format.timestamp();
  return winston.createLogger({
    level: LEVELS[opts.level] ?? 'info',
    silent: opts.silent ?? false,
    defaultMeta: { service: opts.service, version: opts.version },
    format: opts.format === 'json'
      ? winston.format.combine(ts, winston.format.json())
      : winston.format.combine(ts, winston.format.printf(({ timestamp, level, message, service: _s, version: _v, ...rest }) =>
        `${timestamp} ${level} ${message}${Object.keys(rest).length ? ' ' + JSON.stringify(rest) : ''}`)),
    transports: [new winston.transports.Console()],
  });
}
