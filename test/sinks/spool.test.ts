import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LineProtocolParser } from '../../src/formats/influx/parse';
import { InfluxV1Sink, RemoteWriteSink, type ForwardingSink } from '../../src/sinks';
import { RECORD_HEADER_BYTES, Spool } from '../../src/sinks/spool/spool';
import { decodeWriteRequest, snappyDecompress } from './decoders';
import { assertBalanced, captureLogger, fakeHub, sample, sleep, startReceiver, waitFor, type Receiver } from './helpers';

const rec = (i: number, size = 20) => Buffer.from(`record-${i}-`.padEnd(size, '.'));

describe('forward spool (segment files)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-spool-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const segments = () => fs.readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();

  it('appends, reads oldest-first across segments, commits, and deletes consumed segments (the open one at close)', () => {
    const sp = new Spool({ dir, maxBytes: 1e6, segmentMaxBytes: 100 });
    assert.deepEqual(sp.open(), { segments: 0, records: 0, samples: 0, corruptRecords: 0, corruptBytes: 0 });
    assert.equal(sp.empty, true);
    assert.equal(sp.peek(1000), null);
    for (let i = 0; i < 10; i++) sp.append(rec(i), i + 1);
    assert.equal(sp.samples, 55);
    assert.ok(segments().length >= 3, `segments: ${segments()}`);
    assert.equal(sp.bytes, 10 * (RECORD_HEADER_BYTES + 20));
    const r1 = sp.peek(70)!;
    assert.deepEqual(r1.chunks.map((c) => c.data.toString()), [rec(0), rec(1), rec(2)].map(String));
    assert.deepEqual(r1.chunks.map((c) => c.samples), [1, 2, 3]);
    assert.throws(() => sp.peek(10), /outstanding/);
    sp.commit(r1);
    assert.equal(sp.samples, 55 - 6);
    const r2 = sp.peek(1)!;
    assert.equal(r2.chunks.length, 1, 'at least one record even when it exceeds maxBytes');
    assert.equal(r2.chunks[0].data.toString(), String(rec(3)));
    sp.release();
    const r3 = sp.peek(1e6)!;
    assert.equal(r3.chunks.length, 7);
    sp.commit(r3);
    assert.equal(sp.empty, true);
    // The open segment has room left: it stays for the next appends instead of a new file per request.
    assert.equal(sp.bytes, RECORD_HEADER_BYTES + 20);
    assert.equal(segments().length, 1);
    sp.close();
    assert.deepEqual(segments(), [], 'read to its end and closed: deleted');
    const again = new Spool({ dir, maxBytes: 1e6, segmentMaxBytes: 100 });
    assert.equal(again.open().records, 0);
    again.close();
  });

  it('survives a restart: a new instance continues after the last commit', () => {
    const a = new Spool({ dir, maxBytes: 1e6, segmentMaxBytes: 100 });
    a.open();
    for (let i = 0; i < 6; i++) a.append(rec(i), 1);
    a.commit(a.peek(50)!); // records 0 and 1
    a.close();
    const b = new Spool({ dir, maxBytes: 1e6, segmentMaxBytes: 100 });
    const rep = b.open();
    assert.equal(rep.records, 4);
    assert.equal(rep.samples, 4);
    b.append(rec(6), 1);
    const all = b.peek(1e6)!;
    assert.deepEqual(all.chunks.map((c) => c.data.toString()), [2, 3, 4, 5, 6].map((i) => String(rec(i))));
    b.close();
  });

  it('detects a torn last record by its length and checksum, skips it, counts it once', () => {
    const a = new Spool({ dir, maxBytes: 1e6 });
    a.open();
    for (let i = 0; i < 3; i++) a.append(rec(i), 10);
    a.close();
    // A crash in the middle of writing a fourth record: header and part of the payload.
    const [seg] = segments();
    const file = path.join(dir, seg);
    const torn = Buffer.alloc(RECORD_HEADER_BYTES + 7);
    torn.writeUInt32LE(20, 0);
    torn.writeUInt32LE(10, 4);
    fs.appendFileSync(file, torn);
    const b = new Spool({ dir, maxBytes: 1e6 });
    const rep = b.open();
    assert.equal(rep.records, 3);
    assert.equal(rep.samples, 30);
    assert.equal(rep.corruptRecords, 1);
    assert.equal(rep.corruptBytes, torn.length);
    assert.equal(b.corruptRecords, 1);
    b.append(rec(3), 10); // goes to a new segment, never after the damage
    assert.deepEqual(b.peek(1e6)!.chunks.map((c) => c.data.toString()), [0, 1, 2, 3].map((i) => String(rec(i))));
    b.close();
    const c = new Spool({ dir, maxBytes: 1e6 });
    assert.equal(c.open().corruptRecords, 0, 'the damage was cut off and is not reported again');
    c.close();
  });

  it('a flipped byte fails the checksum: the rest of that segment is skipped, later segments are kept', () => {
    const a = new Spool({ dir, maxBytes: 1e6, segmentMaxBytes: 3 * (RECORD_HEADER_BYTES + 20) });
    a.open();
    for (let i = 0; i < 6; i++) a.append(rec(i), 1);
    a.close();
    const [first, second] = segments();
    assert.ok(second, 'two segments');
    const file = path.join(dir, first);
    const buf = fs.readFileSync(file);
    buf[RECORD_HEADER_BYTES + 20 + RECORD_HEADER_BYTES + 3] ^= 0xff; // inside record 1's payload
    fs.writeFileSync(file, buf);
    const b = new Spool({ dir, maxBytes: 1e6 });
    const rep = b.open();
    assert.equal(rep.corruptRecords, 1);
    assert.deepEqual(b.peek(1e6)!.chunks.map((c) => c.data.toString()), [0, 3, 4, 5].map((i) => String(rec(i))));
    b.close();
  });

  it('past maxBytes drops the oldest segment and counts its samples, but not records in flight', () => {
    const recordBytes = RECORD_HEADER_BYTES + 20;
    const sp = new Spool({ dir, maxBytes: 6 * recordBytes, segmentMaxBytes: 2 * recordBytes });
    sp.open();
    for (let i = 0; i < 6; i++) assert.equal(sp.append(rec(i), 10), 0);
    const inflight = sp.peek(1)!; // record 0 handed out
    assert.equal(sp.append(rec(6), 10), 10, 'segment [0,1] dropped: record 1 counted, record 0 is in flight');
    assert.equal(sp.droppedSamples, 10);
    assert.equal(sp.lostInflight(inflight), 10, 'record 0 is no longer on disk');
    assert.equal(sp.orphanedInflightSamples, 10);
    assert.equal(sp.samples, 50, 'records 2..6 wait on disk');
    sp.commit(inflight); // sent after all: nothing breaks
    assert.equal(sp.orphanedInflightSamples, 0);
    assert.deepEqual(sp.peek(1e6)!.chunks.map((c) => c.data.toString()), [2, 3, 4, 5, 6].map((i) => String(rec(i))));
    assert.ok(sp.bytes <= 6 * recordBytes);
    sp.close();
  });
});

describe('forwarding with a spool', function () {
  this.timeout(20_000);
  let dir: string;
  let rx: Receiver;
  const sinks: ForwardingSink[] = [];
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-sink-spool-'));
    rx = await startReceiver();
  });
  afterEach(async () => {
    for (const s of sinks.splice(0)) await s.stop(200);
    await rx.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const parser = new LineProtocolParser();
  const values = () => rx.requests.flatMap((q) => parser.parse(q.body.toString(), { precision: 'ns' }).samples.map((s) => s.value));

  function influx(spoolDir: string, hub = fakeHub()) {
    const sink = new InfluxV1Sink({
      url: `${rx.url}/write`, hub, logger: captureLogger().logger, debounceMs: () => 0, spoolDir, backoff: { initialMs: 20, maxMs: 100 },
    });
    sinks.push(sink);
    return { sink, hub };
  }

  it('acknowledged samples survive a restart while the target is down, and are replayed in order', async () => {
    await rx.down();
    const a = influx(path.join(dir, 'influx-v1'));
    await a.sink.start();
    for (let i = 0; i < 30; i++) {
      a.hub.publish([sample('spooled', { i: String(i % 3) }, i, 1_700_000_000_000 + i)]);
      await sleep(2);
    }
    await waitFor(() => a.sink.stats().spoolSamples === 30, 3000, 'everything on disk while down');
    assert.equal(a.sink.stats().queueSamples, 0);
    await a.sink.stop(200);
    let st = a.sink.stats();
    assert.equal(st.droppedSamplesTotal.shutdown, 0, 'nothing dropped: it is in the spool');
    assert.equal(st.spoolSamples, 30);
    assertBalanced(st);

    await rx.up();
    const b = influx(path.join(dir, 'influx-v1'));
    await b.sink.start();
    b.hub.publish([sample('spooled', {}, 30, 1_700_000_000_030)]);
    assert.equal(await b.sink.drain(5000), true);
    assert.deepEqual(values(), Array.from({ length: 31 }, (_, i) => i), 'spooled data first, then new data');
    st = b.sink.stats();
    assert.equal(st.spoolRecoveredSamplesTotal, 30);
    assert.equal(st.sentSamplesTotal, 31);
    assert.equal(st.spoolSamples, 0);
    assertBalanced(st);
    await b.sink.stop(200);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'influx-v1')).filter((f) => f.endsWith('.seg')), []);
  });

  it('shutdown with a spool writes what was still in memory', async () => {
    const a = influx(path.join(dir, 's'));
    rx.respond = () => ({ status: 204, delayMs: 3000 }); // slow target: data stays in memory
    await a.sink.start();
    a.hub.publish([sample('m', {}, 1, 1000)]);
    await waitFor(() => rx.requests.length === 1, 1000, 'request in flight');
    a.hub.publish([sample('m', {}, 2, 2000)]);
    await a.sink.stop(100);
    const st = a.sink.stats();
    assert.equal(st.droppedSamplesTotal.shutdown, 0);
    assert.equal(st.spoolSamples, 2);
    rx.respond = () => ({ status: 204 });
    const b = influx(path.join(dir, 's'));
    await b.sink.start();
    assert.equal(await b.sink.drain(3000), true);
    assert.deepEqual(values().slice(-2), [1, 2]);
  });

  it('after a crash (no stop) a torn last record is skipped and counted, the rest replayed', async () => {
    await rx.down();
    const crashDir = path.join(dir, 'crash');
    const a = new RemoteWriteSink({ url: `${rx.url}/api/v1/write`, hub: fakeHub(), logger: captureLogger().logger, debounceMs: () => 0, spoolDir: path.join(dir, 'live'), backoff: { initialMs: 20, maxMs: 50 } });
    sinks.push(a);
    await a.start();
    for (let i = 0; i < 10; i++) {
      a.accept({ samples: [sample('crash_test', {}, i, 1_700_000_000_000 + i)], origin: 'custom' });
      await sleep(5);
    }
    await waitFor(() => a.stats().spoolSamples === 10, 3000, 'all on disk');
    // The "crash": copy the files as they are now, then cut the newest record in half.
    fs.cpSync(path.join(dir, 'live'), crashDir, { recursive: true });
    const segs = fs.readdirSync(crashDir).filter((f) => f.endsWith('.seg')).sort();
    const last = path.join(crashDir, segs[segs.length - 1]);
    const size = fs.statSync(last).size;
    fs.truncateSync(last, size - 3);

    await rx.up();
    const b = new RemoteWriteSink({ url: `${rx.url}/api/v1/write`, hub: fakeHub(), logger: captureLogger().logger, spoolDir: crashDir });
    sinks.push(b);
    await b.start();
    assert.equal(await b.drain(3000), true);
    const st = b.stats();
    assert.equal(st.spoolCorruptRecordsTotal, 1);
    const got = rx.requests.flatMap((r) => decodeWriteRequest(snappyDecompress(r.body))).flatMap((s) => s.samples.map((x) => x.value));
    assert.equal(st.sentSamplesTotal, got.length);
    assert.deepEqual(got, Array.from({ length: got.length }, (_, i) => i), 'in order from the oldest');
    assert.ok(got.length >= 8 && got.length <= 9, `${got.length} of 10 replayed (the torn record held the last one or two)`);
  });

  it('a spool that cannot be written is given up (logged once) and data stays in memory', async () => {
    await rx.down();
    const log = captureLogger();
    const spoolDir = path.join(dir, 'broken');
    const sink = new InfluxV1Sink({ url: `${rx.url}/write`, hub: fakeHub(), logger: log.logger, debounceMs: () => 0, spoolDir, backoff: { initialMs: 20, maxMs: 50 } });
    sinks.push(sink);
    await sink.start();
    fs.mkdirSync(path.join(spoolDir, '0000000000000001.seg')); // the first segment file cannot be created
    for (let i = 0; i < 5; i++) {
      sink.accept({ samples: [sample('m', {}, i, 1000 + i)], origin: 'custom' });
      await sleep(5);
    }
    await waitFor(() => sink.stats().failedRequestsTotal >= 2, 2000, 'failures');
    assert.equal(log.lines.filter((l) => l.message.includes('spool cannot be written')).length, 1);
    assert.equal(sink.stats().spoolSamples, 0);
    await rx.up();
    assert.equal(await sink.drain(3000), true);
    assert.deepEqual(values(), [0, 1, 2, 3, 4]);
    assertBalanced(sink.stats());
  });

  it('write-ahead: accept resolves once the batch is on disk, while the target is up; one turn\'s batches share one fsync', async () => {
    const spoolDir = path.join(dir, 'wal');
    rx.respond = () => ({ status: 204, delayMs: 300 }); // the first request holds the sender
    const sink = new InfluxV1Sink({ url: `${rx.url}/write`, hub: fakeHub(), logger: captureLogger().logger, debounceMs: () => 5000, spoolDir });
    sinks.push(sink);
    await sink.start();
    const onDisk = () => fs.readdirSync(spoolDir).filter((f) => f.endsWith('.seg')).map((f) => fs.readFileSync(path.join(spoolDir, f), 'latin1')).join('');
    await sink.accept({ samples: [sample('wal_first', {}, 1, 1000)], origin: 'custom' });
    assert.match(onDisk(), /wal_first value=1 /);
    const syncsBefore = sink.stats().spoolSyncsTotal;
    assert.ok(syncsBefore >= 1);
    // 50 batches in one turn: one record, one fsync, one promise.
    const promises = Array.from({ length: 50 }, (_, i) => sink.accept({ samples: [sample('wal_turn', { i: String(i) }, i, 2000 + i)], origin: 'custom' }));
    assert.ok(promises.every((p) => p !== undefined && p === promises[0]), 'batches of one turn share the commit');
    assert.doesNotMatch(onDisk(), /wal_turn/, 'not written before the commit');
    await promises[0];
    const disk = onDisk();
    for (let i = 0; i < 50; i++) assert.ok(disk.includes(`wal_turn,i=${i} value=${i} `), `batch ${i} on disk when acknowledged`);
    assert.equal(sink.stats().spoolSyncsTotal, syncsBefore + 1);
    assert.equal(sink.stats().queueSamples, 0, 'nothing only in memory');
    // Concurrent turns while one fsync runs share the next: far fewer fsyncs than batches.
    const spread = [];
    for (let i = 0; i < 200; i++) {
      spread.push(sink.accept({ samples: [sample('wal_spread', { i: String(i) }, i, 3000 + i)], origin: 'custom' }));
      if (i % 10 === 9) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(spread);
    assert.ok(sink.stats().spoolSyncsTotal - syncsBefore - 1 <= 20, `at most one fsync per turn: ${sink.stats().spoolSyncsTotal - syncsBefore - 1} for 20 turns`);
    rx.respond = () => ({ status: 204 });
    assert.equal(await sink.drain(5000), true);
    assert.equal(sink.stats().sentSamplesTotal, 251);
    assertBalanced(sink.stats());
  });

  it('without a spool accept returns nothing to wait for', async () => {
    const sink = new InfluxV1Sink({ url: `${rx.url}/write`, hub: fakeHub(), logger: captureLogger().logger, debounceMs: () => 0 });
    sinks.push(sink);
    await sink.start();
    assert.equal(sink.accept({ samples: [sample('m', {}, 1, 1000)], origin: 'custom' }), undefined);
    assert.equal(sink.stats().spoolState, 'off');
  });

  it('a spool directory that cannot be created (a file where it should be) degrades to memory: warned once, the sink starts and forwards', async () => {
    const log = captureLogger();
    const blocker = path.join(dir, 'not-a-dir');
    fs.writeFileSync(blocker, 'x');
    const sink = new InfluxV1Sink({ url: `${rx.url}/write`, hub: fakeHub(), logger: log.logger, debounceMs: () => 0, spoolDir: path.join(blocker, 'influx-v1') });
    sinks.push(sink);
    await sink.start();
    const st = sink.stats();
    assert.equal(st.spoolState, 'failed');
    assert.match(st.spoolError, /ENOTDIR|EEXIST/);
    const warned = log.lines.filter((l) => l.level === 'warn' && l.message.includes('forward spool cannot be opened'));
    assert.equal(warned.length, 1);
    assert.equal(sink.accept({ samples: [sample('mem', {}, 7, 1000)], origin: 'custom' }), undefined, 'nothing to wait for: memory only');
    assert.equal(await sink.drain(3000), true);
    assert.deepEqual(values(), [7]);
    assertBalanced(sink.stats());
  });

  it('the spool bound drops the oldest segments and counts them', async () => {
    await rx.down();
    const sink = new InfluxV1Sink({
      url: `${rx.url}/write`, hub: fakeHub(), logger: captureLogger().logger, debounceMs: () => 0,
      spoolDir: path.join(dir, 'b'), spoolMaxBytes: 4096, spoolSegmentMaxBytes: 1024, backoff: { initialMs: 20, maxMs: 50 },
    });
    sinks.push(sink);
    await sink.start();
    const total = 200;
    for (let i = 0; i < total; i++) {
      sink.accept({ samples: [sample('bound', { pad: 'p'.repeat(40) }, i, 1_700_000_000_000 + i)], origin: 'custom' });
      if (i % 5 === 4) await sleep(1);
    }
    await sleep(30);
    let st = sink.stats();
    assert.ok(st.droppedSamplesTotal.spool_full > 0);
    assert.ok(st.spoolBytes <= 4096, `spool holds ${st.spoolBytes} bytes`);
    assertBalanced(st);
    await rx.up();
    assert.equal(await sink.drain(5000), true);
    st = sink.stats();
    assert.equal(st.sentSamplesTotal + st.droppedSamplesTotal.spool_full, total);
    assertBalanced(st);
    const got = values();
    assert.equal(got[got.length - 1], total - 1, 'the newest arrives');
  });
});
