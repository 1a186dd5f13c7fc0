import fc from 'fast-check';
import { parsePrometheusText } from '../../../src/formats/prometheus/parse';
import type { FuzzTarget } from '../engine';
import { checkSamples, outcome } from './shape';

const FORMATS = ['auto', 'text', 'openmetrics'] as const;

export const prometheusText: FuzzTarget = {
  name: 'prometheus-text',
  about: 'Prometheus text 0.0.4 / OpenMetrics parser (Telegraf source, scrape checks)',
  tokens: ['# HELP ', '# TYPE ', '# UNIT ', '# EOF\n', ' counter', ' gauge', ' histogram', ' summary', ' untyped', ' info', ' stateset', '_total', '_bucket', '_sum', '_count', '_created', '{', '}', '="', '"', ',', 'le="+Inf"', '\\n', '\\"', '\\\\', ' NaN', ' +Inf', ' -Inf', ' 1e308', ' 1700000000000', ' # {a="b"} 1', '\n', ' '],
  arbitrary: fc
    .array(fc.tuple(fc.stringMatching(/^[a-z_:][a-z0-9_:]{0,8}$/), fc.dictionary(fc.stringMatching(/^[a-z_][a-z0-9_]{0,5}$/), fc.string({ maxLength: 8 }), { maxKeys: 3 }), fc.double()), { maxLength: 8 })
    .map((rows) => Buffer.from(rows.map(([n, l, v]) => `${n}{${Object.entries(l).map(([k, x]) => `${k}=${JSON.stringify(x)}`).join(',')}} ${v}`).join('\n'), 'utf8')),
  run(data) {
    const text = data.toString('utf8');
    const r = parsePrometheusText(text, { format: FORMATS[data.length % 3] });
    for (const f of r.families) checkSamples(f.samples);
    return outcome('prom', r.errors.map((e) => e.message), r.families.length, r.errors.length);
  },
};
