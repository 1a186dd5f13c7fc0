/**
 * The reference's two JSON push formats: a single metric (`/api/v1/metrics/simple`) and a batch of
 * multi-field points (`/api/v1/metrics`). Input is already-parsed JSON; output is samples.
 * A batch is all-or-nothing (as in the reference): one invalid item rejects the request, and every
 * invalid item is named so the client can fix them in one go.
 */

import { z } from 'zod/v3';
import { checkLabels, checkMetricName, fieldSeriesName, ValidationError } from '../../model/names';
import type { ItemError, Labels, MetricType, Sample } from '../../model/sample';
import { jsonTimestampMillis } from '../../model/time';

/** histogram/summary given as a single number carry no bucket structure: exposed as untyped. */
const TYPE_MAP: Record<string, MetricType> = { gauge: 'gauge', counter: 'counter', histogram: 'untyped', summary: 'untyped', untyped: 'untyped' };

/** A schema's own error in our words (zod 3 takes it as an error map). */
const says = (message: string) => ({ errorMap: () => ({ message }) });

const tags = z.record(z.string(), z.string(), says('tags must be an object of string values')).nullish();
const timestamp = z.union([z.number(), z.string()], says('timestamp must be a number or a string')).nullish();
const metricType = z.enum(['gauge', 'counter', 'histogram', 'summary', 'untyped']).default('gauge');

const simpleSchema = z.object({
  name: z.string().min(1).max(256),
  // Numeric strings are accepted like the reference's lax validation; "NaN" and friends are not.
  value: z.union([z.number().finite('value must be a finite number'), z.string().regex(/^\s*[-+]?(\d+(?:\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/, 'value must be a finite number').transform(Number).refine(Number.isFinite, 'value must be a finite number')], says('value must be a finite number or a numeric string')),
  tags,
  timestamp,
  metric_type: metricType,
  help: z.string().max(1024).optional(),
  unit: z.string().max(64).optional(),
});

const fieldValue = z.union([z.number(), z.boolean(), z.string()], says('field values must be numbers, booleans or strings'));

const pointSchema = z.object({
  name: z.string().min(1).max(256),
  fields: z.record(z.string(), fieldValue).refine((f) => Object.keys(f).length > 0, 'fields must have at least one entry'),
  tags,
  timestamp,
  metric_type: metricType,
});

const batchSchema = z.object({ metrics: z.array(z.unknown(), says('metrics must be an array')) });

function describe(err: z.ZodError, prefix = ''): string[] {
  return err.issues.map((i) => `${prefix}${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`);
}

export function parseSimple(body: unknown): Sample {
  const r = simpleSchema.safeParse(body);
  if (!r.success) throw new ValidationError(describe(r.error).join('; '));
  const m = r.data;
  return {
    name: checkMetricName(m.name),
    labels: checkLabels(m.tags),
    value: m.value,
    timestampMs: jsonTimestampMillis(m.timestamp),
    type: TYPE_MAP[m.metric_type],
    help: m.help || undefined,
    unit: m.unit || undefined,
  };
}

export interface BatchResult {
  samples: Sample[];
  /** Points in the request (one point may give several samples). */
  points: number;
}

/** Throws ValidationError listing every bad item (`metrics[3].fields: …`). */
export function parseBatch(body: unknown, maxBatchSize: number): BatchResult {
  const top = batchSchema.safeParse(body);
  if (!top.success) throw new ValidationError(describe(top.error).join('; '));
  const items = top.data.metrics;
  if (items.length > maxBatchSize) {
    throw new ValidationError(`Batch size ${items.length} exceeds the configured limit of ${maxBatchSize}`);
  }
  const samples: Sample[] = [];
  const errors: ItemError[] = [];
  items.forEach((item, idx) => {
    try {
      const r = pointSchema.safeParse(item);
      if (!r.success) throw new ValidationError(describe(r.error).join('; '));
      pointSamples(r.data, samples);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      errors.push({ line: idx, message: `metrics[${idx}]: ${e.message}` });
    }
  });
  if (errors.length > 0) {
    const shown = errors.slice(0, 20).map((e) => e.message);
    if (errors.length > 20) shown.push(`… and ${errors.length - 20} more`);
    throw new ValidationError(`${errors.length} of ${items.length} metrics are invalid; nothing was stored`, shown);
  }
  return { samples, points: items.length };
}

function pointSamples(p: z.infer<typeof pointSchema>, out: Sample[]): void {
  const measurement = checkMetricName(p.name);
  const labels: Labels = checkLabels(p.tags);
  const timestampMs = jsonTimestampMillis(p.timestamp);
  const type = TYPE_MAP[p.metric_type];
  for (const [field, v] of Object.entries(p.fields)) {
    if (typeof v === 'string') continue; // strings are not samples (as in Telegraf's v1 output)
    if (typeof v === 'number' && !Number.isFinite(v)) throw new ValidationError(`field ${JSON.stringify(field)} is not finite`);
    out.push({ name: fieldSeriesName(measurement, field), labels, value: typeof v === 'boolean' ? Number(v) : v, timestampMs, type });
  }
}
