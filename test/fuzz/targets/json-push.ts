import fc from 'fast-check';
import { parseReport } from '../../../src/formats/component-report/parse';
import { parseBatch, parseSimple } from '../../../src/formats/json/parse';
import type { FuzzTarget } from '../engine';
import { checkSamples, parseJson } from './shape';

const JSON_TOKENS = ['{', '}', '[', ']', ':', ',', 'null', 'true', 'false', '-0', '1e400', '1.5', '"x"', '""', '"__x"', '"\\u0000"', '"😀"'];
const jsonish = fc.jsonValue({ maxDepth: 3 });

/** Simple push and JSON batch (`/api/v1/metrics`, `/api/v1/metrics/batch`): only ValidationError for bad input. */
export const jsonPush: FuzzTarget = {
  name: 'json-push',
  about: 'simple JSON push and JSON batch parsers (after JSON.parse)',
  tokens: [...JSON_TOKENS, '"name"', '"value"', '"tags"', '"timestamp"', '"metric_type"', '"help"', '"unit"', '"metrics"', '"fields"', '"measurement"', '"gauge"', '"counter"', '"histogram"'],
  arbitrary: fc.oneof(
    fc.record({ name: fc.string(), value: fc.oneof(fc.double(), fc.string()), tags: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())), timestamp: fc.oneof(fc.double(), fc.string()), metric_type: fc.string() }, { requiredKeys: [] }),
    fc.record({ metrics: fc.array(fc.record({ name: fc.string(), measurement: fc.string(), value: fc.double(), fields: fc.dictionary(fc.string(), fc.oneof(fc.double(), fc.boolean(), fc.string())), tags: fc.dictionary(fc.string(), fc.string()) }, { requiredKeys: [] }), { maxLength: 5 }) }),
    jsonish,
  ).map((o) => Buffer.from(JSON.stringify(o) ?? 'null', 'utf8')),
  run(data) {
    const j = parseJson(data);
    if (!j.ok) return 'not-json';
    let simple = 'simple-ok';
    try {
      checkSamples([parseSimple(j.value)]);
    } catch (err) {
      if (!(err instanceof Error && err.name === 'ValidationError')) throw err;
      simple = 'simple-rejected';
    }
    const r = parseBatch(j.value, 1000);
    checkSamples(r.samples);
    return `${simple}:batch-ok:${Math.min(r.samples.length, 4)}`;
  },
};

/** Component report (`/api/v1/report`). */
export const componentReport: FuzzTarget = {
  name: 'component-report',
  about: 'component report API parser (after JSON.parse)',
  tokens: [...JSON_TOKENS, '"component_name"', '"component_type"', '"metrics"', '"metric_name"', '"metric_value"', '"metric_type"', '"labels"', '"timestamp"', '"help_text"', '"unit"'],
  arbitrary: fc
    .record({ component_name: fc.string(), component_type: fc.option(fc.string()), metrics: fc.array(fc.record({ metric_name: fc.string(), metric_value: fc.oneof(fc.double(), fc.string()), metric_type: fc.constantFrom('gauge', 'counter', 'histogram', 'x'), labels: fc.dictionary(fc.string(), fc.string()), timestamp: fc.oneof(fc.double(), fc.string()) }, { requiredKeys: [] }), { maxLength: 5 }) }, { requiredKeys: [] })
    .map((o) => Buffer.from(JSON.stringify(o), 'utf8')),
  run(data) {
    const j = parseJson(data);
    if (!j.ok) return 'not-json';
    const samples = parseReport(j.value, 1000);
    checkSamples(samples);
    return `report-ok:${Math.min(samples.length, 4)}`;
  },
};
