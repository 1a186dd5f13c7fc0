import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { seriesKey } from '../../src/model/series-key';
import { snappyCompress } from '../../src/sinks/remote-write/snappy';
import { encodeLabels, RemoteWriteCodec, varintLength, writeVarint } from '../../src/sinks/remote-write/write-request';
import { decodeWriteRequest, snappyDecompress } from './decoders';
import { sample } from './helpers';

function roundTrip(input: Buffer): Buffer {
  const c = snappyCompress(input);
  const back = snappyDecompress(c);
  assert.ok(back.equals(input), `round trip of ${input.length} bytes`);
  return c;
}

describe('snappy block compression', () => {
  it('round-trips empty, tiny and odd-sized inputs', () => {
    for (let n = 0; n < 100; n++) roundTrip(crypto.randomBytes(n));
    assert.deepEqual([...snappyCompress(Buffer.alloc(0))], [0]);
  });

  it('compresses repetitive data and round-trips it', () => {
    const text = Buffer.from('gpu_engine_usage_usage{engine="render",gpu_id="0",host="node-1"} 12.5\n'.repeat(2000));
    const c = roundTrip(text);
    assert.ok(c.length < text.length / 10, `compressed ${text.length} → ${c.length}`);
    const zeros = Buffer.alloc(300_000);
    assert.ok(roundTrip(zeros).length < 20_000);
  });

  it('round-trips random data larger than one 64 KiB block without growing much', () => {
    const rnd = crypto.randomBytes(200_001);
    const c = roundTrip(rnd);
    assert.ok(c.length <= rnd.length + rnd.length / 6 + 32);
  });

  it('round-trips mixed inputs: runs, near-matches, matches longer than 64 bytes, boundary crossings', () => {
    let seed = 42;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 60; round++) {
      const len = Math.floor(rand() * 140_000);
      const buf = Buffer.alloc(len);
      let i = 0;
      while (i < len) {
        const mode = rand();
        const run = 1 + Math.floor(rand() * 300);
        if (mode < 0.3 && i > 0) {
          const from = Math.floor(rand() * i);
          for (let k = 0; k < run && i < len; k++) buf[i++] = buf[from + (k % Math.max(1, i - from))];
        } else if (mode < 0.5) {
          const b = Math.floor(rand() * 4);
          for (let k = 0; k < run && i < len; k++) buf[i++] = b;
        } else {
          for (let k = 0; k < run && i < len; k++) buf[i++] = Math.floor(rand() * 256);
        }
      }
      roundTrip(buf);
    }
  });
});

describe('remote write protobuf encoding', () => {
  it('varints match the protobuf encoding, negatives as ten bytes', () => {
    const cases: Array<[number, number[]]> = [
      [0, [0]], [1, [1]], [127, [0x7f]], [128, [0x80, 0x01]], [300, [0xac, 0x02]],
      [1_700_000_000_123, [...varintBig(1_700_000_000_123n)]],
      [-1, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
    ];
    for (const [n, bytes] of cases) {
      const out = Buffer.alloc(10);
      const end = writeVarint(out, 0, n);
      assert.deepEqual([...out.subarray(0, end)], bytes, String(n));
      assert.equal(varintLength(n), bytes.length);
    }
  });

  it('sorts labels by name with __name__ included, leaves out empty values', () => {
    const enc = encodeLabels('up', { zone: 'a', A: 'upper', job: '', instance: 'x:1', _x: 'y' });
    const [s] = decodeWriteRequest(Buffer.concat([Buffer.from([0x0a, enc.length]), enc]));
    assert.deepEqual(s.labels, [['A', 'upper'], ['__name__', 'up'], ['_x', 'y'], ['instance', 'x:1'], ['zone', 'a']]);
  });

  it('groups a window by series, orders samples by time, and decodes back exactly', () => {
    const codec = new RemoteWriteCodec();
    const labels = { gpu: '0', host: 'n1', note: 'ünïcödé "quoted" \\ back\nslash' };
    const other = { gpu: '1', host: 'n1' };
    const withKey = { ...sample('gpu_util', other, 0), key: seriesKey('gpu_util', other) };
    // The sink passes the sample's timestamp, or the accept time when it has none.
    assert.equal(codec.add(sample('gpu_util', labels, 1.5), 1_700_000_000_003), true);
    assert.equal(codec.add(withKey, 1_700_000_000_001), true);
    assert.equal(codec.add(sample('gpu_util', labels, -2.25), 1_700_000_000_001.6), true);
    assert.equal(codec.add(sample('gpu_util', labels, NaN), 1_700_000_000_002), true);
    assert.equal(codec.add(sample('neg_time', {}, Infinity), -5), true);
    assert.equal(codec.openSamples, 5);
    const chunk = codec.finish()!;
    assert.equal(codec.openSamples, 0);
    assert.equal(codec.finish(), null);
    const series = decodeWriteRequest(chunk);
    assert.equal(series.length, 3, 'one TimeSeries per series');
    const byName = new Map(series.map((s) => [JSON.stringify(s.labels), s]));
    const a = byName.get(JSON.stringify([['__name__', 'gpu_util'], ['gpu', '0'], ['host', 'n1'], ['note', labels.note]]))!;
    assert.ok(a, 'labels with unicode and quotes survive');
    assert.deepEqual(a.samples.map((x) => x.timestamp), [1_700_000_000_002n, 1_700_000_000_002n, 1_700_000_000_003n]);
    assert.deepEqual(a.samples.map((x) => x.value), [-2.25, NaN, 1.5]);
    const b = byName.get(JSON.stringify([['__name__', 'gpu_util'], ['gpu', '1'], ['host', 'n1']]))!;
    assert.deepEqual(b.samples, [{ value: 0, timestamp: 1_700_000_000_001n }]);
    const c = byName.get(JSON.stringify([['__name__', 'neg_time']]))!;
    assert.deepEqual(c.samples, [{ value: Infinity, timestamp: -5n }]);
  });

  it('concatenated chunks decode as one WriteRequest with all series, in order', () => {
    const codec = new RemoteWriteCodec();
    codec.add(sample('a', {}, 1), 10);
    const c1 = codec.finish()!;
    codec.add(sample('b', { x: 'y' }, 2), 20);
    codec.add(sample('a', {}, 3), 30);
    const c2 = codec.finish()!;
    const all = decodeWriteRequest(snappyDecompress(snappyCompress(Buffer.concat([c1, c2]))));
    assert.deepEqual(all.map((s) => [s.labels[0][1], s.samples.map((x) => x.value)]), [['a', [1]], ['b', [2]], ['a', [3]]]);
  });

  it('refuses timestamps that are not safe integers', () => {
    const codec = new RemoteWriteCodec();
    assert.equal(codec.add(sample('a', {}, 1), NaN), false);
    assert.equal(codec.add(sample('a', {}, 1), 2 ** 60), false);
    assert.equal(codec.openSamples, 0);
  });
});

function* varintBig(n: bigint): Generator<number> {
  while (n >= 0x80n) {
    yield Number(n & 0x7fn) | 0x80;
    n >>= 7n;
  }
  yield Number(n);
}
