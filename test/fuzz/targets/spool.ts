import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Spool } from '../../../src/sinks/spool/spool';
import type { FuzzTarget } from '../engine';

/** A scratch directory per process (the fuzzer runs one target per worker). */
let dir: string | undefined;

/** tmpfs where there is one: on a disk, unlinking the previous input's files was most of the time per input. */
function scratchRoot(): string {
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK);
    return '/dev/shm';
  } catch {
    return os.tmpdir();
  }
}

/**
 * The spool's record reader on a damaged disk: the input is a segment file (after an optional
 * first byte < 0x40 that also writes a cursor file pointing into it). Opening and draining must
 * never throw; every record handed out passed its checks, and together they hold exactly the
 * samples `open` reported.
 */
export const spool: FuzzTarget = {
  name: 'spool',
  about: 'forward spool: open() and peek()/commit() over a fuzzed segment file and cursor',
  tokens: ['\x00\x00\x00\x00', '\xff\xff\xff\xff', '\x10\x00\x00\x00', '\x01\x00\x00\x00', '1 0\n', '1 12\n'].map((s) => Buffer.from(s, 'latin1').toString('latin1')),
  run(data) {
    if (dir === undefined) {
      const made = fs.mkdtempSync(path.join(scratchRoot(), 'mm-fuzz-spool-'));
      dir = made;
      process.once('exit', () => fs.rmSync(made, { recursive: true, force: true }));
    }
    for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f), { force: true });
    let segment = data;
    if (data.length > 0 && data[0] < 0x40) {
      fs.writeFileSync(path.join(dir, 'cursor'), `1 ${data[0] * 4}\n`);
      segment = data.subarray(1);
    }
    fs.writeFileSync(path.join(dir, '0000000000000001.seg'), segment);
    const s = new Spool({ dir, maxBytes: 1 << 20, fsync: false });
    const report = s.open();
    let samples = 0;
    let records = 0;
    for (let guard = 0; guard < 10_000; guard++) {
      const read = s.peek(4096);
      if (read === null) break;
      samples += read.samples;
      records += read.chunks.length;
      s.commit(read);
    }
    s.close();
    if (records !== report.records || samples !== report.samples) {
      throw new Error(`open reported ${report.records} records / ${report.samples} samples, drained ${records} / ${samples}`);
    }
    return `spool:${Math.min(report.records, 3)}:${report.corruptRecords > 0 ? 'corrupt' : 'clean'}`;
  },
};
