/**
 * JSON lines (or plain text) on stdout for lifecycle events (start, stop, failures worth a human's
 * attention). Per-request and per-sample events are metrics, not logs (DESIGN.md §9.6); a log line
 * about a request carries its correlation id as a field.
 *
 * Written here rather than with a logging library: the agent needs four levels, default fields,
 * child loggers and one line per call, and a library costs an idle agent about 2 MiB of RSS (its
 * modules and their stream machinery). The lines are those the agent wrote with winston before:
 * JSON with keys sorted, `timestamp` an ISO time, a `message` field in the metadata appended to
 * the message.
 */

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFields = Record<string, unknown>;

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  log(level: LogLevel, message: string, fields?: LogFields): void;
  /** A logger adding `fields` to every line (the call's own fields win). */
  child(fields: LogFields): Logger;
}

const LEVELS: Record<string, LogLevel> = { debug: 'debug', info: 'info', warning: 'warn', warn: 'warn', error: 'error', critical: 'error' };
const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface LoggerOptions {
  level: string;
  format: 'json' | 'text';
  service: string;
  version: string;
  silent?: boolean;
  /** Where lines go (default stdout); each call writes one whole line. */
  write?: (line: string) => void;
  /** The time of a line (tests). */
  now?: () => Date;
}

export function createLogger(opts: LoggerOptions): Logger {
  const max = RANK[LEVELS[opts.level] ?? 'info'];
  const write = opts.write ?? ((line: string) => { process.stdout.write(line); });
  const now = opts.now ?? (() => new Date());
  const base: LogFields = { service: opts.service, version: opts.version };
  const make = (context: LogFields): Logger => {
    const emit = (level: LogLevel, message: string, fields?: LogFields): void => {
      if (opts.silent || RANK[level] > max) return;
      write(`${opts.format === 'json' ? jsonLine(level, message, context, fields, now) : textLine(level, message, context, fields, now)}\n`);
    };
    return {
      error: (m, f) => emit('error', m, f),
      warn: (m, f) => emit('warn', m, f),
      info: (m, f) => emit('info', m, f),
      debug: (m, f) => emit('debug', m, f),
      log: (level, m, f) => emit(LEVELS[level] ?? 'info', m, f),
      child: (fields) => make({ ...context, ...fields }),
    };
  };
  return make(base);
}

/** The line's fields: context, then the call's own, then level, message and time (not overridable but the time). */
function entry(level: LogLevel, message: string, context: LogFields, fields: LogFields | undefined, now: () => Date): LogFields {
  const e: LogFields = { ...context, ...fields };
  const extra = fields?.message;
  e.level = level;
  e.message = typeof extra === 'string' && extra !== '' ? `${message} ${extra}` : message;
  if (e.timestamp === undefined) e.timestamp = now().toISOString();
  return e;
}

function jsonLine(level: LogLevel, message: string, context: LogFields, fields: LogFields | undefined, now: () => Date): string {
  return safeStringify(entry(level, message, context, fields, now), true);
}

/** `<time> <level> <message> {other fields}`; service and version are left out (the same on every line). */
function textLine(level: LogLevel, message: string, context: LogFields, fields: LogFields | undefined, now: () => Date): string {
  const { timestamp, level: l, message: m, service: _s, version: _v, ...rest } = entry(level, message, context, fields, now);
  return `${String(timestamp)} ${String(l)} ${String(m)}${Object.keys(rest).length > 0 ? ` ${safeStringify(rest, false)}` : ''}`;
}

/**
 * JSON.stringify that cannot throw on what a log call may be handed: a repeated object on the
 * current path becomes "[Circular]", a bigint its decimal string; `sorted` orders every object's
 * keys (JSON lines compare and grep the same whatever the call's field order).
 */
export function safeStringify(value: unknown, sorted: boolean): string {
  const path: unknown[] = [];
  const norm = (v: unknown): unknown => {
    if (typeof v === 'bigint') return v.toString();
    if (v === null || typeof v !== 'object') return v;
    const withJson = v as { toJSON?: () => unknown };
    if (typeof withJson.toJSON === 'function') return norm(withJson.toJSON());
    if (path.includes(v)) return '[Circular]';
    path.push(v);
    let out: unknown;
    if (Array.isArray(v)) out = v.map((x) => norm(x));
    else {
      const o: Record<string, unknown> = {};
      const keys = Object.keys(v);
      if (sorted) keys.sort();
      for (const k of keys) o[k] = norm((v as Record<string, unknown>)[k]);
      out = o;
    }
    path.pop();
    return out;
  };
  return JSON.stringify(norm(value)) ?? '';
}
