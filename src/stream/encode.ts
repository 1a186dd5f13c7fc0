/**
 * The stream's wire format, pure: no I/O, no clock. One event is
 *
 *   id: <id>\n
 *   data: {"timestamp":<ms>,"kind":"snapshot"|"delta"|"replay","metrics":[{"name","labels","value","timestamp"}, …]}\n
 *   \n
 *
 * which is the reference's `{"timestamp","metrics":[…]}` payload (timestamps in milliseconds) with
 * one added key, `kind`. JSON.stringify escapes every control character, so `data:` is always a
 * single line. A value that JSON cannot represent is written as a string, as the Prometheus HTTP
 * API does: NaN → "NaN", +Infinity → "+Inf", -Infinity → "-Inf".
 */

export type EventKind = 'snapshot' | 'delta' | 'replay';

/** A number as a JSON value: finite numbers as numbers, NaN and ±Inf as the strings Prometheus uses. */
export function jsonNumber(v: number): string {
  if (Number.isFinite(v)) return String(v);
  if (Number.isNaN(v)) return '"NaN"';
  return v > 0 ? '"+Inf"' : '"-Inf"';
}

/**
 * The constant part of one series' entry: `{"name":…,"labels":{…},"value":`. Labels are written
 * in the order given (the store's keys sort them).
 */
export function entryHead(name: string, labels: Readonly<Record<string, string>>): string {
  return '{"name":' + JSON.stringify(name) + ',"labels":' + JSON.stringify(labels) + ',"value":';
}

/** One entry of `metrics` from its head (entryHead), a value and a sample time in ms. */
export function entry(head: string, value: number, timestampMs: number): string {
  return head + jsonNumber(value) + ',"timestamp":' + jsonNumber(timestampMs) + '}';
}

/** An event's bytes before its first entry: `eventHead + entries joined by ',' + EVENT_TAIL` is the event. */
export function eventHead(id: number, timestampMs: number, kind: EventKind): string {
  return 'id: ' + id + '\ndata: {"timestamp":' + jsonNumber(timestampMs) + ',"kind":"' + kind + '","metrics":[';
}

/** An event's bytes after its last entry. */
export const EVENT_TAIL = ']}\n\n';

/** A whole event, ready for the socket. `entries` are from `entry`. */
export function eventBytes(id: number, timestampMs: number, kind: EventKind, entries: readonly string[]): Buffer {
  return Buffer.from(eventHead(id, timestampMs, kind) + entries.join(',') + EVENT_TAIL, 'utf8');
}

/** The comment line sent every heartbeat interval (ignored by EventSource, keeps proxies from timing out). */
export const HEARTBEAT = Buffer.from(': heartbeat\n\n', 'utf8');

/** The first bytes of every stream: the reconnection delay browsers should use. */
export function retryBytes(retryMs: number): Buffer {
  return Buffer.from('retry: ' + Math.max(0, Math.floor(retryMs)) + '\n\n', 'utf8');
}
