/**
 * Micro-benchmark of the line protocol parser (not a test). Prints samples/s of a fresh parser per
 * body (`parseLineProtocol`) and of one `LineProtocolParser` reused for every body, on two sets of
 * 1000-line bodies with nanosecond timestamps:
 *
 * - mixed: Telegraf cpu/mem/net style plus app inference metrics, few distinct series (~40);
 * - spread: the load of bench/lib/bodies.ts scenario 1, 1000 distinct `cpu,host=…,cpu=…` series
 *   per body out of 3392 (10176 series of 3 fields), as the agent sees from many Telegrafs.
 *
 * On `spread` it also times a reused parser whose cache may hold half of the series, kept when
 * full or cleared each time it fills, and parsing plus the store's series lookup (a Map of every series key,
 * as in SeriesStore.write), looking up `sample.key` or, as the store did before samples had `key`,
 * a key built again from name and labels.
 *
 *   node .tmp/influx-build/bench/influx-parse.js [seconds per measurement] [mixed|spread]
 */

import v8 from 'node:v8';
import vm from 'node:vm';
import { LineProtocolParser, parseLineProtocol } from '../src/formats/influx/parse';
import type { Labels, ParseResult } from '../src/model/sample';
import { labelsKey, seriesKey, seriesKeyFromParts } from '../src/model/series-key';

interface Body {
  body: string;
  samples: number;
}

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 4294967296;
  };
}

/** Flat string, as an HTTP body decoded from a Buffer is. */
function flat(lines: string[]): string {
  return Buffer.from(lines.join('\n') + '\n', 'utf8').toString('utf8');
}

function mixedBody(seed: number): Body {
  const lines: string[] = [];
  let samples = 0;
  let ts = 1704067200000000000n + BigInt(seed) * 10_000_000_000n;
  const rnd = rng(seed * 7919 + 1);
  for (let i = 0; i < 1000; i++) {
    const host = `node-${i % 4}`;
    switch (i % 5) {
      case 0:
      case 1:
        lines.push(`cpu,host=${host},cpu=cpu${i % 16} usage_user=${(rnd() * 100).toFixed(2)},usage_system=${(rnd() * 10).toFixed(3)},usage_idle=${(rnd() * 100).toFixed(1)} ${ts}`);
        samples += 3;
        break;
      case 2:
        lines.push(`mem,host=${host} used=${Math.floor(rnd() * 1e10)}i,available=${Math.floor(rnd() * 1e10)}i,used_percent=${rnd() * 100} ${ts}`);
        samples += 3;
        break;
      case 3:
        lines.push(`net,host=${host},interface=eth${i % 2} bytes_recv=${Math.floor(rnd() * 1e12)}i,bytes_sent=${Math.floor(rnd() * 1e12)}i,drop_in=0i,drop_out=0i ${ts}`);
        samples += 4;
        break;
      default:
        lines.push(`inference,app=detector,model=yolov8n,device=GPU.${i % 2} fps=${(rnd() * 60).toFixed(1)},latency_ms=${(rnd() * 40).toFixed(2)},ok=true ${ts}`);
        samples += 3;
    }
    ts += 1000n;
  }
  return { body: flat(lines), samples };
}

/** Body b of bench/lib/bodies.ts scenario 1 (same tag sets; timestamps fixed instead of per request). */
function spreadBody(b: number): Body {
  const hosts = 53;
  const cpus = 64;
  const rnd = rng(b + 1);
  const ts = 1704067200000000000n + BigInt(b) * 10_000_000_000n;
  const lines: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const k = (b * 1000 + i) % (hosts * cpus);
    lines.push(
      `cpu,host=node-${Math.floor(k / cpus)},cpu=cpu${k % cpus} usage_user=${(rnd() * 100).toFixed(2)},usage_system=${(rnd() * 10).toFixed(3)},usage_idle=${(rnd() * 100).toFixed(1)} ${ts}`,
    );
  }
  return { body: flat(lines), samples: 3000 };
}

/** gc() (from a fresh context once the flag is on), so one measurement's garbage is not the next one's cost. */
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/**
 * Samples/s of fn run over the bodies in turn for about `seconds`: the best of 5 rounds, since the
 * machine may be shared and a round can lose time to another process or a major GC.
 */
function measure(bodies: Body[], seconds: number, fn: (body: string) => number): number {
  for (let k = 0; k < 20 * bodies.length; k++) fn(bodies[k % bodies.length].body); // warm-up
  let best = 0;
  for (let round = 0; round < 5; round++) {
    gc();
    let total = 0;
    const start = process.hrtime.bigint();
    const deadline = start + BigInt(Math.round((seconds / 5) * 1e9));
    let now = start;
    while (now < deadline) {
      for (let k = 0; k < bodies.length; k++) total += fn(bodies[k].body);
      now = process.hrtime.bigint();
    }
    best = Math.max(best, total / (Number(now - start) / 1e9));
  }
  return best;
}

function check(r: ParseResult, b: Body, what: string): void {
  if (r.errors.length !== 0 || r.samples.length !== b.samples) throw new Error(`${what}: bench body did not parse: ${JSON.stringify(r.errors[0])}`);
  for (const s of r.samples) if (s.key !== seriesKey(s.name, s.labels)) throw new Error(`${what}: wrong key ${s.key}`);
}

function report(label: string, samplesPerS: number, bodies: Body[]): void {
  const bytes = bodies.reduce((s, b) => s + b.body.length, 0) / bodies.length;
  const perBody = bodies.reduce((s, b) => s + b.samples, 0) / bodies.length;
  const mib = ((samplesPerS / perBody) * bytes) / 1048576;
  console.log(`  ${label.padEnd(46)} ${(samplesPerS / 1e6).toFixed(2).padStart(6)} M samples/s  ${mib.toFixed(0).padStart(4)} MiB/s`);
}

function main(): void {
  const seconds = Number(process.argv[2] ?? 3);
  const sets: Array<[string, Body[]]> = [
    ['mixed', Array.from({ length: 16 }, (_, k) => mixedBody(k + 1))],
    ['spread', Array.from({ length: 10 }, (_, b) => spreadBody(b))],
  ];
  for (const [name, bodies] of sets) {
    if (process.argv[3] !== undefined && process.argv[3] !== name) continue;
    const cached = new LineProtocolParser();
    for (const b of bodies) {
      check(parseLineProtocol(b.body), b, 'fresh');
      check(cached.parse(b.body), b, 'cached');
    }
    const kib = bodies[0].body.length / 1024;
    console.log(`${name}: ${bodies.length} bodies of 1000 lines (${bodies[0].samples} samples, ${kib.toFixed(0)} KiB), ${seconds} s each`);
    report('parseLineProtocol (fresh parser per body)', measure(bodies, seconds, (t) => parseLineProtocol(t).samples.length), bodies);
    report('LineProtocolParser.parse (reused)', measure(bodies, seconds, (t) => cached.parse(t).samples.length), bodies);
    if (cached.cacheResets !== 0) throw new Error('the cache was reset during the benchmark');
    if (name !== 'spread') continue;

    // More series than the cache may hold (its bound at half of what they need): full, it keeps
    // what it has (the default), or is cleared each time it fills (minResetIntervalMs 0).
    const half = Math.floor(cached.cachedEntries / 2);
    for (const [label, minResetIntervalMs] of [['reused, bound at half the series: kept when full', undefined], ['reused, bound at half: cleared whenever full', 0]] as const) {
      const small = new LineProtocolParser({ maxCachedSeries: half, minResetIntervalMs });
      report(label, measure(bodies, seconds, (t) => small.parse(t).samples.length), bodies);
    }

    // A warmed store fed by the reused parser: every series present, under the parser's key strings.
    const store = new Map<string, { value: number }>();
    for (const b of bodies) for (const s of cached.parse(b.body).samples) store.set(s.key ?? '', { value: 0 });
    const lookups = (samples: ParseResult['samples'], byKey: boolean): number => {
      let lastLabels: Labels | null = null;
      let lastLabelsKey = '';
      for (const s of samples) {
        let key = byKey ? s.key : undefined;
        if (key === undefined) {
          if (s.labels !== lastLabels) {
            lastLabels = s.labels;
            lastLabelsKey = labelsKey(s.labels);
          }
          key = seriesKeyFromParts(s.name, lastLabelsKey);
        }
        const series = store.get(key);
        if (series === undefined) throw new Error(`series ${key} missing`);
        series.value = s.value;
      }
      return samples.length;
    };
    report('fresh parser + lookup of sample.key', measure(bodies, seconds, (t) => lookups(parseLineProtocol(t).samples, true)), bodies);
    report('reused parser + lookup of a key built again', measure(bodies, seconds, (t) => lookups(cached.parse(t).samples, false)), bodies);
    report('reused parser + lookup of sample.key', measure(bodies, seconds, (t) => lookups(cached.parse(t).samples, true)), bodies);
  }
}

main();
