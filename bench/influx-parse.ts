/**
 * Micro-benchmark of parseLineProtocol (not a test). Builds bodies of 1000 realistic lines (Telegraf
 * cpu/mem/disk/net style plus app inference metrics, nanosecond timestamps) and prints samples/s.
 *
 *   node .tmp/influx-build/bench/influx-parse.js [seconds]
 */

import { parseLineProtocol } from '../src/formats/influx/parse';

function makeBody(seed: number): { body: string; samples: number } {
  const lines: string[] = [];
  let samples = 0;
  let ts = 1704067200000000000n + BigInt(seed) * 10_000_000_000n;
  let x = seed * 7919 + 1;
  const rnd = (): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 4294967296;
  };
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
  // Flat string, as an HTTP body decoded from a Buffer is.
  return { body: Buffer.from(lines.join('\n') + '\n', 'utf8').toString('utf8'), samples };
}

function main(): void {
  const seconds = Number(process.argv[2] ?? 3);
  const bodies = Array.from({ length: 16 }, (_, k) => makeBody(k + 1));
  const perBody = bodies[0].samples;
  // Sanity check and warm-up.
  for (const b of bodies) {
    const r = parseLineProtocol(b.body);
    if (r.errors.length !== 0 || r.samples.length !== b.samples) throw new Error(`bench body did not parse: ${JSON.stringify(r.errors[0])}`);
  }
  for (let k = 0; k < 200; k++) parseLineProtocol(bodies[k % bodies.length].body);

  let total = 0;
  let calls = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < deadline) {
    for (let k = 0; k < 16; k++) total += parseLineProtocol(bodies[(calls + k) % bodies.length].body).samples.length;
    calls += 16;
    now = process.hrtime.bigint();
  }
  const elapsed = Number(now - start) / 1e9;
  const bytes = bodies.reduce((s, b) => s + b.body.length, 0) / bodies.length;
  console.log(`parseLineProtocol: ${calls} bodies of 1000 lines (${perBody} samples, ${(bytes / 1024).toFixed(0)} KiB) in ${elapsed.toFixed(2)} s`);
  console.log(`  ${(total / elapsed / 1e6).toFixed(2)} M samples/s, ${((calls * 1000) / elapsed / 1e6).toFixed(2)} M lines/s, ${((calls * bytes) / elapsed / 1048576).toFixed(0)} MiB/s`);
}

main();
