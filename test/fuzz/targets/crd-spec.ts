import fc from 'fast-check';
import { validateSpec } from '../../../src/kube/spec';
import type { FuzzTarget } from '../engine';
import { outcome, parseJson } from './shape';

/** MetricsManagerConfig spec validator: never throws, answers accepted or rejected with problems. */
export const crdSpec: FuzzTarget = {
  name: 'crd-spec',
  about: 'MetricsManagerConfig spec validator (after JSON.parse)',
  tokens: ['{', '}', '[', ']', ':', ',', 'null', 'true', '-1', '1e400', '""', '"nodeSelector"', '"matchLabels"', '"matchExpressions"', '"operator"', '"In"', '"Exists"', '"retention"', '"seconds"', '"maxSeries"', '"rateLimit"', '"requestsPerMinute"', '"burst"', '"cors"', '"origins"', '"stream"', '"intervalMs"', '"forwarding"', '"debounceMs"', '"monitoring"', '"serviceMonitor"', '"mode"', '"Auto"', '"interval"', '"15s"', '"labels"'],
  arbitrary: fc
    .record({
      nodeSelector: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.record({ matchLabels: fc.dictionary(fc.string(), fc.string()) })),
      retention: fc.record({ seconds: fc.oneof(fc.integer(), fc.double(), fc.string()), maxSeries: fc.oneof(fc.integer(), fc.string()) }, { requiredKeys: [] }),
      rateLimit: fc.record({ enabled: fc.oneof(fc.boolean(), fc.string()), requestsPerMinute: fc.integer(), burst: fc.integer() }, { requiredKeys: [] }),
      monitoring: fc.record({ serviceMonitor: fc.record({ mode: fc.constantFrom('Auto', 'Enabled', 'Disabled', 'x'), interval: fc.string() }, { requiredKeys: [] }) }, { requiredKeys: [] }),
    }, { requiredKeys: [] })
    .map((o) => Buffer.from(JSON.stringify(o), 'utf8')),
  run(data) {
    const j = parseJson(data);
    if (!j.ok) return 'not-json';
    const r = validateSpec(j.value);
    if (r.ok) return 'accepted';
    if (!Array.isArray(r.problems) || r.problems.length === 0 || typeof r.message !== 'string') throw new Error('rejected spec without problems');
    return outcome('rejected', r.problems.map((p) => `${p.field}: ${p.message}`), r.problems.length);
  },
};
