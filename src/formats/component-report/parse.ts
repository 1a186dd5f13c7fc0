/**
 * The component report API (POST /api/metrics/report): a component (worker, server, pipeline)
 * reports a list of typed metrics with help text and unit. `component_name` and `component_type`
 * become labels, so the series of different components never merge.
 */

import { z } from 'zod/v3';
import { checkLabels, checkMetricName, ValidationError } from '../../model/names';
import type { MetricType, Sample } from '../../model/sample';
import { jsonTimestampMillis } from '../../model/time';

/** A single value cannot carry buckets or quantiles: histogram/summary reports are exposed untyped. */
const TYPE_MAP: Record<string, MetricType> = { gauge: 'gauge', counter: 'counter', histogram: 'untyped', summary: 'untyped' };

export const COMPONENT_NAME_LABEL = 'component_name';
export const COMPONENT_TYPE_LABEL = 'component_type';

const metricSchema = z.object({
  metric_name: z.string().min(1).max(256),
  metric_type: z.enum(['gauge', 'counter', 'histogram', 'summary']).default('gauge'),
  metric_value: z.number().finite('must be a finite number'),
  timestamp: z.union([z.string(), z.number()]).nullish(),
  labels: z.record(z.string(), z.string()).nullish(),
  help_text: z.string().max(1024).nullish(),
  unit: z.string().max(64).nullish(),
});

const reportSchema = z.object({
  component_name: z.string().min(1).max(256),
  component_type: z.string().max(256).nullish(),
  metrics: z.array(z.unknown()),
});

export function parseReport(body: unknown, maxItems: number): Sample[] {
  const top = reportSchema.safeParse(body);
  if (!top.success) {
    throw new ValidationError(top.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  }
  const { component_name, component_type, metrics } = top.data;
  if (metrics.length > maxItems) throw new ValidationError(`${metrics.length} metrics exceed the configured limit of ${maxItems}`);
  const problems: string[] = [];
  const samples: Sample[] = [];
  metrics.forEach((raw, i) => {
    const r = metricSchema.safeParse(raw);
    if (!r.success) {
      problems.push(...r.error.issues.map((x) => `metrics[${i}].${x.path.join('.')}: ${x.message}`));
      return;
    }
    const m = r.data;
    try {
      const labels = checkLabels({ ...(m.labels ?? {}), [COMPONENT_NAME_LABEL]: component_name, ...(component_type ? { [COMPONENT_TYPE_LABEL]: component_type } : {}) });
      samples.push({
        name: checkMetricName(m.metric_name),
        labels,
        value: m.metric_value,
        timestampMs: jsonTimestampMillis(m.timestamp),
        type: TYPE_MAP[m.metric_type],
        help: m.help_text || undefined,
        unit: m.unit || undefined,
      });
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      problems.push(`metrics[${i}]: ${e.message}`);
    }
  });
  if (problems.length > 0) {
    throw new ValidationError(`${problems.length} problem(s) in the report; nothing was stored`, problems.slice(0, 20));
  }
  return samples;
}
