import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { LineProtocolParser, parseLineProtocol } from '../../../src/formats/influx/parse';
import type { ParseResult } from '../../../src/model/sample';
import { seriesKey } from '../../../src/model/series-key';

/** Deterministic generator (LCG), so a failure replays with the same bodies. */
function prng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return Math.floor((x / 4294967296) * n);
  };
}

// Pieces of series texts, as written in line protocol. Chosen to hit escapes, sanitising, names of
// 13+ characters (which V8 slices rather than copies), hash collisions ("Aa"/"BB"), labels that
// sanitise alike and every series-part error.
const MEASUREMENTS = ['cpu', 'mem', 'my\\ meas', 'a\\,b', 'x.y-z', '1st', 'value', 'a_very_long_measurement', 'Aa', 'BB', 'é'];
const TAG_KEYS = ['host', 'cpu', 'te\\=g', 'sp\\ ace', 'a.b', 'a_b', 'Aa', 'BB', 'a_rather_long_tag_key'];
const TAG_VALUES = ['a', 'node-1', 'x\\,y', 'q"uote', 'back\\\\slash', 'a\\=b', 'é😀', 'a-value-longer-than-13', 'nl\\n', 'Aa', 'BB'];
const BAD_SERIES = [
  'm,=x', 'm,t', 'm,', ',t=1', 'm,__name__=x', 'm,t=1,,u=2', `m,t=${'v'.repeat(2100)}`, 'x'.repeat(300),
  'm,t=', 'm,t=a=b', 'm,t=1,t=2', 'm,a.b=1,a_b=2', 'm\tx,t=1', 'm,t\x01=1', 'm,t=a\x7f',
];
const FIELD_KEYS = ['value', 'usage_user', 'f\\ k', 'a.b', 'a_b', 'x', 'é', 'k\\=q', 'Aa', 'BB', 'a_field_key_of_some_length'];
const VALUES = ['1', '-2.5', '3i', '4u', 'true', 'F', '"a string"', '1e3', 'abc', '9i9', '"over\ntwo lines"'];
const STAMPS = ['', ' 1704067200000000000', ' 1704067200123', ' 1704067200', ' 12x'];

function makeSeriesPool(rnd: (n: number) => number, size: number): string[] {
  // Two texts whose 31-based hashes collide.
  const pool: string[] = ['m,t=Aa', 'm,t=BB'];
  for (let k = 2; k < size; k++) {
    if (rnd(8) === 0) {
      pool.push(BAD_SERIES[rnd(BAD_SERIES.length)]);
      continue;
    }
    let s = MEASUREMENTS[rnd(MEASUREMENTS.length)];
    const tags = rnd(4);
    for (let t = 0; t < tags; t++) s += `,${TAG_KEYS[rnd(TAG_KEYS.length)]}=${TAG_VALUES[rnd(TAG_VALUES.length)]}`;
    pool.push(s);
  }
  return pool;
}

function makeBody(rnd: (n: number) => number, pool: string[], lines: number): string {
  const out: string[] = [];
  for (let l = 0; l < lines; l++) {
    const kind = rnd(20);
    if (kind === 0) out.push('');
    else if (kind === 1) out.push('# comment');
    else if (kind === 2) out.push(pool[rnd(pool.length)]); // no field set
    else {
      const fields: string[] = [];
      const count = 1 + rnd(4);
      for (let f = 0; f < count; f++) {
        const key = rnd(40) === 0 ? 'k'.repeat(300) : FIELD_KEYS[rnd(FIELD_KEYS.length)];
        fields.push(`${key}=${VALUES[rnd(VALUES.length)]}`);
      }
      out.push(`${pool[rnd(pool.length)]} ${fields.join(',')}${STAMPS[rnd(STAMPS.length)]}${rnd(10) === 0 ? '\r' : ''}`);
    }
  }
  // An unterminated string runs to the end of the body, so it can only come last.
  if (rnd(10) === 0) out.push('m s="unterminated');
  // Flat, as a decoded HTTP body is; substrings of it are then slices.
  return Buffer.from(out.join('\n'), 'utf8').toString('utf8');
}

/** The parts of a result that must not depend on the cache. */
function plain(r: ParseResult): unknown {
  return {
    // The slot is the parser's cache entry (its links differ between parsers): checked by checkKeys.
    samples: r.samples.map(({ slot: _slot, ...s }) => ({ ...s, labels: { ...s.labels } })),
    errors: r.errors,
    points: r.points,
  };
}

function checkKeys(r: ParseResult): void {
  for (const s of r.samples) {
    assert.equal(s.key, seriesKey(s.name, s.labels));
    if (s.slot !== undefined) assert.equal(s.slot.key, s.key, 'the slot belongs to the sample\'s key');
  }
}

describe('influx LineProtocolParser (cache across calls)', () => {
  it('gives the same results as a fresh parser over many random bodies, also when its bounds are tiny', () => {
    const rnd = prng(20240601);
    const pool = makeSeriesPool(rnd, 40);
    // Unbounded in effect; full and kept (the default interval); full and cleared whenever full.
    const parsers = [
      new LineProtocolParser(),
      new LineProtocolParser({ maxCachedSeries: 7 }),
      new LineProtocolParser({ maxCachedBytes: 4000 }),
      new LineProtocolParser({ maxCachedSeries: 7, minResetIntervalMs: 0 }),
      new LineProtocolParser({ maxCachedBytes: 4000, minResetIntervalMs: 0 }),
    ];
    let samples = 0;
    for (let round = 0; round < 400; round++) {
      const body = makeBody(rnd, pool, 30);
      const opts = rnd(3) === 0 ? { precision: 'ns' as const } : rnd(2) === 0 ? { defaultTimestampMs: 1000 } : undefined;
      const fresh = parseLineProtocol(body, opts);
      checkKeys(fresh);
      samples += fresh.samples.length;
      for (const p of parsers) {
        const cached = p.parse(body, opts);
        checkKeys(cached);
        assert.deepStrictEqual(plain(cached), plain(fresh), `body ${JSON.stringify(body)}`);
      }
    }
    assert.ok(samples > 5000, `the generator should make mostly good lines (${samples} samples)`);
    assert.deepEqual(parsers.map((p) => p.cacheResets > 100), [false, false, false, true, true]);
    assert.deepEqual(parsers.map((p) => p.cacheUncachedLines > 100), [false, true, true, true, true]);
  });

  it('hands out the same name, key and labels objects for a repeated series in later calls', () => {
    const p = new LineProtocolParser();
    const body = 'cpu,host=node-1,cpu=cpu-number-0003 usage_user=1,usage_idle=2\nmem,host=node-1 used=3i\n';
    // A series text enters the cache on its second sight.
    p.parse(body);
    assert.equal(p.cachedEntries, 0);
    const a = p.parse(body);
    // A different body with the same series, in another order and with other values.
    const b = p.parse(Buffer.from('mem,host=node-1 used=4i\ncpu,host=node-1,cpu=cpu-number-0003 usage_idle=5,usage_user=6 1704067200\n').toString());
    const byName = (r: ParseResult, name: string) => r.samples.find((s) => s.name === name)!;
    for (const name of ['cpu_usage_user', 'cpu_usage_idle', 'mem_used']) {
      const x = byName(a, name);
      const y = byName(b, name);
      assert.ok(x.key === y.key && x.name === y.name && x.labels === y.labels, name);
      assert.equal(x.key, seriesKey(x.name, x.labels));
    }
    assert.equal(byName(b, 'cpu_usage_user').key, 'cpu_usage_user{cpu="cpu-number-0003",host="node-1"}');
    assert.deepEqual(b.samples.map((s) => s.value), [4, 5, 6]);
    assert.equal(p.cachedEntries, 2 + 3);
  });

  it('caches a series text from its second sight on, so series pushed once cost no entry', () => {
    const p = new LineProtocolParser();
    const body = (from: number) => Array.from({ length: 1000 }, (_, k) => `m_${k % 10},host=node-${k % 7},id=s${from + k} value=${k}`).join('\n');
    for (let from = 0; from < 20_000; from += 1000) assert.equal(p.parse(body(from)).samples.length, 1000);
    // 20,000 distinct texts seen once each; a few hash to a bit already set (the filter's false positives).
    assert.ok(p.cachedEntries < 1000, String(p.cachedEntries));
    const again = p.parse(body(5000));
    assert.deepStrictEqual(plain(again), plain(parseLineProtocol(body(5000))));
    assert.ok(p.cachedEntries >= 2000, String(p.cachedEntries));
    const third = p.parse(body(5000));
    assert.ok(third.samples.every((s, k) => s.key === again.samples[k].key && s.labels === again.samples[k].labels));
    assert.equal(p.cacheResets, 0);
  });

  it('estimates its heap size within 25 %', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const shapes: Array<[string, (k: number) => string]> = [
      ['one field, two short tags', (k) => `m_${k % 100},host=node-${k % 50},id=s${k} value=1`],
      ['three fields, Telegraf cpu', (k) => `cpu,host=host-${k % 30},cpu=cpu${k} usage_user=1,usage_system=2,usage_idle=3`],
      ['long tag values', (k) => `app_requests,namespace=inference-team-${k % 9},pod=model-server-7d9f8c-${k},container=server count=1i,errors=0i`],
    ];
    for (const [what, line] of shapes) {
      const body = Buffer.from(Array.from({ length: 20_000 }, (_, k) => line(k)).join('\n')).toString();
      // The heap is shared with whatever else this process did: memory that other work frees or
      // allocates between the two readings moves one measurement, so the median of three is judged.
      const runs: Array<{ estimate: number; measured: number }> = [];
      for (let run = 0; run < 3; run++) {
        const p = new LineProtocolParser({ maxCachedSeries: 1e6, maxCachedBytes: 1 << 30 });
        p.parse(body);
        // What the cache holds besides the store's share: the samples of the last call keep the
        // same key strings and labels objects alive only as long as the caller holds them.
        gc();
        const before = process.memoryUsage().heapUsed;
        p.parse(body);
        gc();
        runs.push({ estimate: p.cachedBytes, measured: process.memoryUsage().heapUsed - before });
      }
      runs.sort((a, b) => a.estimate / a.measured - b.estimate / b.measured);
      const { estimate, measured } = runs[1];
      const ratio = estimate / measured;
      assert.ok(ratio > 0.75 && ratio < 1.25, `${what}: estimate ${estimate}, measured ${measured} (${ratio.toFixed(2)}; runs ${runs.map((r) => (r.estimate / r.measured).toFixed(2)).join(', ')})`);
    }
  });

  it('hands out a slot only for cached series: the store keeps no slot of a series seen once', () => {
    const p = new LineProtocolParser();
    const [once] = p.parse('m,id=1 a=1').samples;
    assert.equal(once.slot, undefined);
    assert.ok('slot' in once, 'same shape as cached samples');
    const [twice] = p.parse('m,id=1 a=2').samples;
    assert.equal(twice.slot?.key, twice.key);
    const [thrice] = p.parse('m,id=1 a=3').samples;
    assert.equal(thrice.slot, twice.slot);
  });

  it('holds each measurement and sample name once, and counts it once', () => {
    const p = new LineProtocolParser();
    const grow = (line: string): number => {
      const before = p.cachedBytes;
      p.parse(line);
      p.parse(line); // second sight: cached
      return p.cachedBytes - before;
    };
    const first = grow('cpu,cpu=cpu0 usage_user=1,usage_system=2');
    const second = grow('cpu,cpu=cpu1 usage_user=1,usage_system=2');
    // The second series brings no new name: `cpu`, `cpu_usage_user` and `cpu_usage_system` are in the table.
    assert.ok(second < first, `${second} < ${first}`);
    assert.ok(first - second >= 'cpu_usage_user'.length + 'cpu_usage_system'.length, `${first} - ${second}`);
    // Names come back equal after a reset (the table is cleared with the cache) and samples stay right.
    const tiny = new LineProtocolParser({ maxCachedSeries: 4, minResetIntervalMs: 0 });
    for (let k = 0; k < 10; k++) {
      const body = `m,id=${k} a=1\nm,id=${k} a=2`;
      const r = tiny.parse(body);
      assert.deepEqual(r.samples.map((x) => [x.name, x.key]), [['m_a', `m_a{id="${k}"}`], ['m_a', `m_a{id="${k}"}`]]);
    }
    assert.ok(tiny.cacheResets > 0);
  });

  it('freezes the shared labels objects', () => {
    const [s] = new LineProtocolParser().parse('m,host=a v=1').samples;
    assert.ok(Object.isFrozen(s.labels));
    assert.throws(() => {
      (s.labels as Record<string, string>).host = 'b';
    }, TypeError);
  });

  it('past maxCachedSeries keeps what it holds, parses the rest without it, counts those lines, and clears at most once per interval', () => {
    let now = 0;
    const p = new LineProtocolParser({ maxCachedSeries: 10, minResetIntervalMs: 30_000, now: () => now });
    const body = Array.from({ length: 25 }, (_, k) => `m,id=${k} a=${k},b=${k}`).join('\n');
    p.parse(body); // first sight: nothing cached
    assert.equal(p.cachedEntries, 0);
    for (let call = 1; call <= 3; call++) {
      now += 1000;
      const r = p.parse(body);
      assert.deepStrictEqual(plain(r), plain(parseLineProtocol(body)));
      checkKeys(r);
      // The first four series texts (3 entries each: the bound is checked before each line) stay,
      // and their samples keep their slots; the other 21 lines find the cache full.
      assert.equal(p.cachedEntries, 12);
      assert.deepEqual(r.samples.map((s) => s.slot !== undefined), Array.from({ length: 50 }, (_, k) => k < 8));
      assert.equal(p.cacheUncachedLines, 21 * call);
    }
    assert.equal(p.cacheResets, 0);
    // A series text the cache holds hands out the same objects on every call, while full too.
    const twice = [p.parse('m,id=0 a=1').samples[0], p.parse('m,id=0 a=2').samples[0]];
    assert.ok(twice[0].labels === twice[1].labels && twice[0].slot === twice[1].slot && twice[0].slot !== undefined);
    // A new field of a cached series does not grow a full cache: an endless stream of new keys
    // on one series text is parsed, not kept.
    for (let k = 0; k < 100; k++) {
      const r = p.parse(`m,id=1 f${k}=1`);
      assert.equal(r.samples[0].name, `m_f${k}`);
      assert.equal(r.samples[0].slot, undefined);
      checkKeys(r);
    }
    assert.equal(p.cachedEntries, 12);
    // Once the interval has passed, the next call clears it, and the series seen since come in.
    now += 30_000;
    p.parse(body);
    assert.equal(p.cacheResets, 1);
    assert.equal(p.cachedEntries, 12);
    assert.deepEqual(p.parse('m,id=0 a=3').samples.map((s) => s.slot !== undefined), [true]);
  });

  it('past maxCachedBytes stops taking entries, and with interval 0 clears on the next call', () => {
    let now = 0;
    const p = new LineProtocolParser({ maxCachedBytes: 10_000, minResetIntervalMs: 0, now: () => now });
    const big = 'v'.repeat(1000);
    for (let k = 0; k < 20; k++) {
      now++;
      const line = `m,id=${k},a=${big},b=${big} x=1`;
      const r = p.parse(`${line}\n${line}`);
      assert.equal(r.samples.length, 2);
      // A line costs about 9 kB here, and the bound is checked before each line.
      assert.ok(p.cachedBytes < 2 * 10_000, String(p.cachedBytes));
    }
    assert.equal(p.cacheResets, 9);
    const kept = new LineProtocolParser({ maxCachedBytes: 10_000 });
    for (let k = 0; k < 20; k++) {
      const line = `m,id=${k},a=${big},b=${big} x=1`;
      assert.equal(kept.parse(`${line}\n${line}`).samples.length, 2);
    }
    assert.equal(kept.cacheResets, 0);
    assert.ok(kept.cachedBytes < 2 * 10_000, String(kept.cachedBytes));
    assert.ok(kept.cacheUncachedLines >= 2 * 17, String(kept.cacheUncachedLines));
  });

  it('reports the cached error of a bad series text with the line number of each use', () => {
    const p = new LineProtocolParser();
    const first = p.parse('m,=x v=1\nm,t=1 v=2\n\nm,=x v=3');
    assert.deepEqual(first.errors, [
      { line: 1, message: 'empty tag key' },
      { line: 4, message: 'empty tag key' },
    ]);
    assert.equal(first.samples.length, 1);
    const second = p.parse('# c\nm,t=1 v=2\nm,=x v=3 123');
    assert.deepEqual(second.errors, [{ line: 3, message: 'empty tag key' }]);
    assert.deepEqual(second.samples.map((s) => s.value), [2]);
    // A good field set does not make a bad series good, nor the reverse.
    assert.deepEqual(p.parse('m,t=1 v=x\nm,t=1 v=4').samples.map((s) => s.value), [4]);
  });

  it('does not cache a rejected over-long field key', () => {
    const p = new LineProtocolParser();
    const long = 'k'.repeat(300);
    for (let call = 0; call < 2; call++) {
      const r = p.parse(`m ${long}=1\nm value=2`);
      assert.equal(r.errors.length, 1);
      assert.equal(r.errors[0].line, 1);
      assert.match(r.errors[0].message, /is longer than 256 characters/);
      assert.deepEqual(r.samples.map((s) => s.name), ['m']);
    }
    assert.equal(p.cachedEntries, 2);
  });

  it('keeps no reference to the request body in its cache', () => {
    // gc is not exposed under mocha: turn the flag on and fetch it from a fresh context.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const p = new LineProtocolParser();
    const parse = (): void => {
      // A 16 MiB body, flat as a decoded request is; every cached string would otherwise be a
      // slice of it. Built in a function so that nothing here holds it afterwards.
      const line = 'a_long_measurement,host=node-with-a-long-name,a_long_tag_key_name=eu-west-1-availability a_long_field_key=1';
      const body = Buffer.from(`${line}\n${line}\n#${'x'.repeat(16 << 20)}\n`).toString();
      assert.equal(p.parse(body).samples.length, 2);
    };
    gc();
    const before = process.memoryUsage().heapUsed;
    parse();
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    assert.equal(p.cachedEntries, 2);
    assert.ok(grown < 4 << 20, `heap grew by ${grown} bytes`);
  });

  it('validates its options', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) {
      assert.throws(() => new LineProtocolParser({ maxCachedSeries: bad }), RangeError);
      assert.throws(() => new LineProtocolParser({ maxCachedBytes: bad }), RangeError);
    }
  });
});
