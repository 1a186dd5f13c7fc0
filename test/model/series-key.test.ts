import assert from 'node:assert/strict';
import { labelsKey, labelsOfKey, seriesKey } from '../../src/model/series-key';

describe('series keys', () => {
  it('are the Prometheus text left-hand side with sorted, escaped labels', () => {
    assert.equal(seriesKey('m', {}), 'm');
    assert.equal(seriesKey('m', { b: '2', a: '1' }), 'm{a="1",b="2"}');
    assert.equal(labelsKey({ a: 'x"y\\z\nw' }), 'a="x\\"y\\\\z\\nw"');
  });

  it('give their labels back exactly (labelsOfKey inverts seriesKey)', () => {
    // Deterministic nasty values: quotes, backslashes, newlines, commas, braces, equals, unicode.
    const alphabet = ['a', '"', '\\', '\n', ',', '{', '}', '=', ' ', 'é', '😀', 'n'];
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let round = 0; round < 500; round++) {
      const labels: Record<string, string> = {};
      const n = Math.floor(rnd() * 4);
      for (let i = 0; i < n; i++) {
        let v = '';
        const len = 1 + Math.floor(rnd() * 8);
        for (let k = 0; k < len; k++) v += alphabet[Math.floor(rnd() * alphabet.length)];
        labels[`l${i}`] = v;
      }
      const key = seriesKey('metric_name', labels);
      assert.deepEqual(labelsOfKey(key, 'metric_name'.length), labels, key);
    }
  });
});
