import assert from 'node:assert/strict';
import { parsePrometheusText } from '../../../src/formats/prometheus/parse';
import { seriesKey } from '../../../src/model/series-key';
import { familiesToSamples } from '../../../src/sources/telegraf';

describe('Telegraf source: familiesToSamples', () => {
  it('keeps names, labels and timestamps, types each sample from its family and sets the series key', () => {
    const text = [
      '# HELP cpu_usage_user Telegraf collected metric',
      '# TYPE cpu_usage_user untyped',
      'cpu_usage_user{cpu="cpu-total",host="n1"} 3.5 1700000000000',
      '# HELP reqs Requests.',
      '# TYPE reqs counter',
      'reqs_total{host="n1"} 10',
      '# TYPE lat summary',
      'lat{quantile="0.5"} 0.2',
      'lat_sum 4',
      'lat_count 20',
      'bare 1',
    ].join('\n');
    const { samples, customDropped } = familiesToSamples(parsePrometheusText(text).families);
    assert.equal(customDropped, 0);
    assert.deepEqual(samples, [
      { name: 'cpu_usage_user', labels: { cpu: 'cpu-total', host: 'n1' }, value: 3.5, timestampMs: 1_700_000_000_000, type: 'untyped', key: 'cpu_usage_user{cpu="cpu-total",host="n1"}' },
      { name: 'reqs_total', labels: { host: 'n1' }, value: 10, type: 'counter', family: 'reqs', help: 'Requests.', key: 'reqs_total{host="n1"}' },
      { name: 'lat', labels: { quantile: '0.5' }, value: 0.2, type: 'summary', key: 'lat{quantile="0.5"}' },
      { name: 'lat_sum', labels: {}, value: 4, type: 'summary', family: 'lat', key: 'lat_sum' },
      { name: 'lat_count', labels: {}, value: 20, type: 'summary', family: 'lat', key: 'lat_count' },
      { name: 'bare', labels: {}, value: 1, type: 'untyped', key: 'bare' },
    ]);
    for (const s of samples) assert.equal(s.key, seriesKey(s.name, s.labels));
  });

  it('drops samples tagged mm_origin="custom" and counts them', () => {
    const text = 'a{mm_origin="custom",host="h"} 1\na{mm_origin="system",host="h"} 2\nb{host="h"} 3\n';
    const { samples, customDropped } = familiesToSamples(parsePrometheusText(text).families);
    assert.equal(customDropped, 1);
    assert.deepEqual(samples.map((s) => s.key), ['a{host="h",mm_origin="system"}', 'b{host="h"}']);
  });
});
