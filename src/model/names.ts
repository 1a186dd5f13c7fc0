/**
 * Name and label rules shared by every format.
 *
 * Names follow Telegraf's prometheus_client (metric_version 1) sanitising so that a metric looks the
 * same whether it went through Telegraf or straight into our store: every character outside
 * [a-zA-Z0-9_:] becomes `_`, and a leading digit gets a `_` prefix. Label names do the same without
 * the colon.
 */

import type { Labels } from './sample';

export const LIMITS = {
  /** Longest accepted metric name (before sanitising), as in the reference's schema. */
  maxNameLength: 256,
  maxLabelsPerSeries: 64,
  maxLabelNameLength: 256,
  maxLabelValueBytes: 2048,
} as const;

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Thrown by the checks below; formats catch it per item, the HTTP edge maps it to 422. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  /** Optional per-item problems (e.g. one entry per invalid item of a batch). */
  constructor(message: string, readonly details?: string[]) {
    super(message);
  }
}

export function sanitizeMetricName(raw: string): string {
  if (METRIC_NAME_RE.test(raw)) return raw;
  let out = raw.replace(/[^a-zA-Z0-9_:]/g, '_');
  if (out.length > 0 && out.charCodeAt(0) >= 48 && out.charCodeAt(0) <= 57) out = '_' + out;
  return out;
}

export function sanitizeLabelName(raw: string): string {
  if (LABEL_NAME_RE.test(raw)) return raw;
  let out = raw.replace(/[^a-zA-Z0-9_]/g, '_');
  if (out.length > 0 && out.charCodeAt(0) >= 48 && out.charCodeAt(0) <= 57) out = '_' + out;
  return out;
}

/** Telegraf v1 rule: field `value` keeps the measurement name, any other becomes `<m>_<field>`. */
export function fieldSeriesName(measurement: string, field: string): string {
  return sanitizeMetricName(field === 'value' ? measurement : `${measurement}_${field}`);
}

/** Checks a raw metric name and returns its sanitised form. */
export function checkMetricName(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length === 0) throw new ValidationError('metric name must be a non-empty string');
  if (raw.length > LIMITS.maxNameLength) {
    throw new ValidationError(`metric name is ${raw.length} characters long; the limit is ${LIMITS.maxNameLength}`);
  }
  const name = sanitizeMetricName(raw);
  if (/^_+$/.test(name)) throw new ValidationError(`metric name ${JSON.stringify(raw)} has no usable characters`);
  return name;
}

/**
 * Validates and normalises a label set in place of the caller's object: sanitised names, string
 * values within the byte limit, at most `maxLabelsPerSeries`. Empty values are dropped, as in
 * Prometheus where an empty label equals an absent one. Returns a new object.
 */
export function checkLabels(raw: Record<string, unknown> | undefined | null): Labels {
  const out: Labels = {};
  if (raw == null) return out;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ValidationError('labels must be an object of strings');
  let count = 0;
  for (const key in raw) {
    const value = raw[key];
    if (typeof value !== 'string') {
      throw new ValidationError(`label ${JSON.stringify(key)} must be a string, got ${value === null ? 'null' : typeof value}`);
    }
    // Check the sanitised name: `_.x` must not sneak in as the reserved `__x`.
    const name = sanitizeLabelName(key);
    checkLabel(name, value);
    if (value === '') continue;
    if (++count > LIMITS.maxLabelsPerSeries) {
      throw new ValidationError(`more than ${LIMITS.maxLabelsPerSeries} labels`);
    }
    out[name] = value;
  }
  return out;
}

/** Checks one label pair; shared by checkLabels and formats that build labels themselves. */
export function checkLabel(key: string, value: string): void {
  if (key.length === 0) throw new ValidationError('label name must not be empty');
  if (key.length > LIMITS.maxLabelNameLength) {
    throw new ValidationError(`label name ${JSON.stringify(key.slice(0, 32) + '…')} is longer than ${LIMITS.maxLabelNameLength} characters`);
  }
  if (key.startsWith('__')) throw new ValidationError(`label name ${JSON.stringify(key)} is reserved (starts with "__")`);
  // Byte length only matters for long strings: a UTF-16 unit is at most 3 UTF-8 bytes.
  if (value.length * 3 > LIMITS.maxLabelValueBytes && Buffer.byteLength(value, 'utf8') > LIMITS.maxLabelValueBytes) {
    throw new ValidationError(`value of label ${JSON.stringify(key)} is longer than ${LIMITS.maxLabelValueBytes} bytes`);
  }
}
