/**
 * An on-disk FIFO of encoded chunks for one sink: append-only segment files plus a cursor file.
 * See README.md beside this file for the layout, the record format and the crash behaviour.
 *
 * Appends, reads and the cursor are synchronous write(2)/read(2) calls: records are small, they
 * land in the kernel's page cache at once (so a process crash loses nothing appended), and
 * synchronous calls keep the ordering and the crash reasoning trivial. The one slow call, fsync,
 * runs off the event loop: `sync()` is a group commit (every caller that arrives while an fsync
 * runs shares the next one). Every method may throw the file system's errors (`sync` rejects
 * with them); the sink decides what a failure means (it stops writing to the spool and keeps
 * data in memory).
 */

import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Chunk } from '../core/chunk-queue';

/** Bytes before each record's payload: length, samples, CRC-32 (all uint32 little-endian). */
export const RECORD_HEADER_BYTES = 12;
/** A length field above this is taken as corruption, not as a request to allocate it. */
const MAX_RECORD_BYTES = 512 * 1024 * 1024;
const SEGMENT_RE = /^(\d{16})\.seg$/;
const CURSOR_FILE = 'cursor';

export interface SpoolOptions {
  /** The sink's own directory (created when missing). */
  dir: string;
  /** Bound on the summed size of the segment files, bytes. */
  maxBytes: number;
  /** Size at which the current segment is closed and a new one started. Default: maxBytes/8, 64 KiB..16 MiB. */
  segmentMaxBytes?: number;
  /** fsync a segment when it is closed, and the directory when a segment is created. Default true. */
  fsync?: boolean;
}

/** Where a record lives. */
export interface RecordRef {
  seq: number;
  index: number;
  samples: number;
}

/** Records read by `peek`, to hand to `commit` once the sink is done with them. */
export interface SpoolRead {
  chunks: Chunk[];
  refs: RecordRef[];
  bytes: number;
  samples: number;
}

/** What `open` found. */
export interface OpenReport {
  segments: number;
  records: number;
  samples: number;
  /** Records that failed their length or checksum check (a torn write at a crash); skipped. */
  corruptRecords: number;
  corruptBytes: number;
}

interface Segment {
  seq: number;
  file: string;
  /** File size in bytes, valid records and any corrupt tail. */
  size: number;
  offsets: number[];
  lengths: number[];
  samples: number[];
  /** Index of the first record not yet committed. */
  read: number;
  /** Samples in records [read, end). */
  pendingSamples: number;
  /** Append descriptor; only the segment created last in this run has one. */
  fd?: number;
}

export class Spool {
  readonly dir: string;
  readonly maxBytes: number;
  readonly segmentMaxBytes: number;
  private readonly fsync: boolean;
  private segments: Segment[] = [];
  private totalBytes = 0;
  private nextSeq = 1;
  private opened = false;
  /** End (exclusive) of the records handed out by peek and not yet committed. */
  private inflight: { seq: number; index: number } | undefined;
  private corrupt = 0;
  /** Samples handed out by peek whose segment the bound deleted meanwhile (only in the caller's hands now). */
  private orphaned = 0;
  private droppedSamplesTotal = 0;
  private droppedRecordsTotal = 0;
  // Group commit: appends are numbered; `synced` is the last one known to be on stable storage.
  private appended = 0;
  private synced = 0;
  private syncWaiters: Array<{ upTo: number; resolve: () => void; reject: (err: Error) => void }> = [];
  /** The descriptor an fsync runs on right now (it must not be closed under it). */
  private syncFd: number | undefined;
  /** Descriptors whose close waits for the running fsync. */
  private closeAfterSync: number[] = [];
  private syncsTotal = 0;

  constructor(opts: SpoolOptions) {
    if (!opts.dir) throw new RangeError('spool dir must not be empty');
    if (!(opts.maxBytes > 0)) throw new RangeError(`spool maxBytes must be positive, got ${opts.maxBytes}`);
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes;
    this.segmentMaxBytes = opts.segmentMaxBytes ?? Math.min(16 * 1024 * 1024, Math.max(64 * 1024, Math.floor(opts.maxBytes / 8)));
    this.fsync = opts.fsync ?? true;
  }

  /** Summed size of the segment files, bytes (a gauge). */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Samples in records not yet committed, including those handed out by peek (a gauge). */
  get samples(): number {
    let n = 0;
    for (const s of this.segments) n += s.pendingSamples;
    return n;
  }

  /** True when no record waits (records handed out by peek still count as waiting). */
  get empty(): boolean {
    for (const s of this.segments) if (s.read < s.offsets.length) return false;
    return true;
  }

  /** Records skipped for a bad length or checksum (a counter). */
  get corruptRecords(): number {
    return this.corrupt;
  }

  /**
   * Samples of the outstanding read whose records the bound deleted from disk: they now exist only
   * in the caller's memory (a gauge; back to 0 at commit or release).
   */
  get orphanedInflightSamples(): number {
    return this.orphaned;
  }

  /** Samples dropped because the spool reached maxBytes (a counter). */
  get droppedSamples(): number {
    return this.droppedSamplesTotal;
  }

  get droppedRecords(): number {
    return this.droppedRecordsTotal;
  }

  /** fsync calls made by `sync` (a counter: with group commit, far fewer than appends). */
  get syncs(): number {
    return this.syncsTotal;
  }

  /**
   * Creates the directory, reads the cursor and every segment, checks each record and indexes the
   * good ones. A record that fails its check ends its segment: the rest of that file is counted
   * and cut off. Segments before the cursor and segments with no good record are deleted.
   * New records always go to a new segment, so a damaged file is never appended to.
   */
  open(): OpenReport {
    if (this.opened) throw new Error('spool already open');
    fs.mkdirSync(this.dir, { recursive: true });
    const cursor = this.readCursor();
    const seqs = fs.readdirSync(this.dir)
      .map((f) => SEGMENT_RE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const report: OpenReport = { segments: 0, records: 0, samples: 0, corruptRecords: 0, corruptBytes: 0 };
    for (const seq of seqs) {
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
      const file = this.segmentPath(seq);
      if (cursor && seq < cursor.seq) {
        removeFile(file);
        continue;
      }
      const seg = this.scan(seq, file, report);
      if (cursor && seq === cursor.seq) {
        while (seg.read < seg.offsets.length && seg.offsets[seg.read] < cursor.offset) {
          seg.pendingSamples -= seg.samples[seg.read];
          seg.read++;
        }
      }
      if (seg.read >= seg.offsets.length) {
        removeFile(file);
        continue;
      }
      this.segments.push(seg);
      this.totalBytes += seg.size;
      report.segments++;
      report.records += seg.offsets.length - seg.read;
      report.samples += seg.pendingSamples;
    }
    if (cursor) this.nextSeq = Math.max(this.nextSeq, cursor.seq + 1);
    this.corrupt += report.corruptRecords;
    this.opened = true;
    return report;
  }

  /**
   * Appends one record to the current segment (starting a new one when it is full), then drops
   * the oldest segments while the spool is above maxBytes. Returns the samples dropped by that.
   * Records handed out by peek and not committed are not counted as dropped: their data is in the
   * caller's hands (see `lostInflight`).
   */
  append(data: Uint8Array, samples: number): number {
    this.assertOpen();
    let tail = this.segments.length > 0 ? this.segments[this.segments.length - 1] : undefined;
    const recordBytes = RECORD_HEADER_BYTES + data.length;
    if (tail === undefined || tail.fd === undefined || (tail.size + recordBytes > this.segmentMaxBytes && tail.offsets.length > 0)) {
      if (tail?.fd !== undefined) this.closeSegment(tail);
      tail = this.createSegment();
    }
    const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
    header.writeUInt32LE(data.length, 0);
    header.writeUInt32LE(samples >>> 0, 4);
    header.writeUInt32LE(recordCrc(header, data), 8);
    writeAll(tail.fd!, Buffer.concat([header, data]));
    tail.offsets.push(tail.size);
    tail.lengths.push(data.length);
    tail.samples.push(samples);
    tail.pendingSamples += samples;
    tail.size += recordBytes;
    this.totalBytes += recordBytes;
    this.appended++;
    return this.enforceBound();
  }

  /**
   * Resolves once every record appended before the call is on stable storage; rejects with the
   * fsync error. Group commit: one fsync runs at a time, off the event loop, and every call that
   * arrives meanwhile is answered by the next one, so N appends within one fsync's duration cost
   * two fsyncs, not N. Only the open segment can hold unsynced records: a segment is fsynced when
   * it is closed. With `fsync: false` it resolves at once (records are in the page cache, which
   * survives a process crash but not a power cut).
   */
  sync(): Promise<void> {
    if (!this.fsync || this.synced >= this.appended) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.syncWaiters.push({ upTo: this.appended, resolve, reject });
      this.startSync();
    });
  }

  /**
   * Reads records from the oldest uncommitted one on, up to `maxBytes` of payload (at least one
   * record). Returns null when nothing waits. Only one read may be outstanding: call commit (or
   * release) before peeking again.
   */
  peek(maxBytes: number): SpoolRead | null {
    this.assertOpen();
    if (this.inflight) throw new Error('spool: a read is still outstanding');
    const out: SpoolRead = { chunks: [], refs: [], bytes: 0, samples: 0 };
    for (let si = 0; si < this.segments.length; si++) {
      const seg = this.segments[si];
      let fd: number | undefined;
      try {
        for (let i = seg.read; i < seg.offsets.length; i++) {
          const len = seg.lengths[i];
          if (out.chunks.length > 0 && out.bytes + len > maxBytes) return this.handOut(out);
          fd ??= fs.openSync(seg.file, 'r');
          const buf = Buffer.allocUnsafe(RECORD_HEADER_BYTES + len);
          const complete = readAll(fd, buf, seg.offsets[i]);
          const payload = buf.subarray(RECORD_HEADER_BYTES);
          if (!complete || buf.readUInt32LE(0) !== len || buf.readUInt32LE(8) !== recordCrc(buf, payload)) {
            // Damaged since open (or by someone else): give up on the rest of this segment.
            this.corrupt += seg.offsets.length - i;
            this.truncateIndex(seg, i);
            break;
          }
          out.chunks.push({ data: payload, samples: seg.samples[i] });
          out.refs.push({ seq: seg.seq, index: i, samples: seg.samples[i] });
          out.bytes += len;
          out.samples += seg.samples[i];
        }
      } finally {
        if (fd !== undefined) fs.closeSync(fd);
      }
    }
    if (out.chunks.length > 0) return this.handOut(out);
    this.removeConsumed();
    return null;
  }

  /**
   * Marks the records of `read` as done (sent, or rejected for good): they will not be read again,
   * here or after a restart. Deletes segments that have nothing left and persists the cursor.
   */
  commit(read: SpoolRead): void {
    this.assertOpen();
    this.inflight = undefined;
    this.orphaned = 0;
    if (read.refs.length === 0) return;
    const last = read.refs[read.refs.length - 1];
    for (const seg of this.segments) {
      if (seg.seq > last.seq) break;
      const upTo = seg.seq < last.seq ? seg.offsets.length : last.index + 1;
      while (seg.read < upTo) {
        seg.pendingSamples -= seg.samples[seg.read];
        seg.read++;
      }
    }
    this.removeConsumed();
    this.writeCursor();
  }

  /** Forgets an outstanding peek without committing it (its records will be read again). */
  release(): void {
    this.inflight = undefined;
    this.orphaned = 0;
  }

  /**
   * Samples of `read` whose records are no longer on disk because their segment was dropped for
   * the bound while they were handed out. A caller that gives up on `read` without sending it
   * counts these as lost; the others are still in the spool.
   */
  lostInflight(read: SpoolRead): number {
    let n = 0;
    for (const r of read.refs) if (!this.segments.some((s) => s.seq === r.seq)) n += r.samples;
    return n;
  }

  /**
   * Closes the append descriptor (fsyncing it). The spool can be opened again by a new instance.
   * Pending `sync` calls still settle (the running fsync finishes, then its descriptor closes).
   */
  close(): void {
    if (!this.opened) return;
    for (const seg of this.segments) if (seg.fd !== undefined) this.closeSegment(seg);
    this.removeConsumed(); // the open segment, if read to its end, is closed now and can go
    this.opened = false;
    this.inflight = undefined;
    this.orphaned = 0;
  }

  // --- internals -------------------------------------------------------------------------------

  private startSync(): void {
    if (this.syncFd !== undefined || this.syncWaiters.length === 0) return;
    const target = this.appended;
    const tail = this.segments.length > 0 ? this.segments[this.segments.length - 1] : undefined;
    if (tail?.fd === undefined) {
      // No open segment: every record appended so far was fsynced when its segment closed (or
      // its segment was deleted, consumed or dropped for the bound and counted).
      this.synced = target;
      this.settleSync(undefined);
      return;
    }
    const fd = tail.fd;
    this.syncFd = fd;
    this.syncsTotal++;
    fs.fsync(fd, (err) => {
      this.syncFd = undefined;
      for (const f of this.closeAfterSync.splice(0)) closeQuietly(f);
      if (err === null) this.synced = Math.max(this.synced, target);
      this.settleSync(err ?? undefined, target);
      this.startSync();
    });
  }

  /** Resolves the waiters covered by `synced`; on an error, rejects those the failed fsync covered. */
  private settleSync(err: Error | undefined, target = this.synced): void {
    const left: typeof this.syncWaiters = [];
    for (const w of this.syncWaiters) {
      if (w.upTo <= this.synced) w.resolve();
      else if (err !== undefined && w.upTo <= target) w.reject(err);
      else left.push(w);
    }
    this.syncWaiters = left;
  }

  /** Closes a descriptor now, or once the fsync running on it has returned. */
  private closeFd(fd: number): void {
    if (fd === this.syncFd) this.closeAfterSync.push(fd);
    else fs.closeSync(fd);
  }

  private handOut(out: SpoolRead): SpoolRead {
    const last = out.refs[out.refs.length - 1];
    this.inflight = { seq: last.seq, index: last.index + 1 };
    return out;
  }

  private segmentPath(seq: number): string {
    return path.join(this.dir, String(seq).padStart(16, '0') + '.seg');
  }

  private createSegment(): Segment {
    const seq = this.nextSeq++;
    const file = this.segmentPath(seq);
    const fd = fs.openSync(file, 'wx');
    const seg: Segment = { seq, file, size: 0, offsets: [], lengths: [], samples: [], read: 0, pendingSamples: 0, fd };
    this.segments.push(seg);
    if (this.fsync) fsyncDir(this.dir);
    return seg;
  }

  private closeSegment(seg: Segment): void {
    const fd = seg.fd!;
    seg.fd = undefined;
    try {
      if (this.fsync) fs.fsyncSync(fd);
    } finally {
      this.closeFd(fd);
    }
  }

  /** Drops whole segments, oldest first, while above maxBytes; always keeps the newest one. */
  private enforceBound(): number {
    let dropped = 0;
    while (this.totalBytes > this.maxBytes && this.segments.length > 1) {
      const seg = this.segments.shift()!;
      let from = seg.read;
      if (this.inflight) {
        if (seg.seq < this.inflight.seq) from = seg.offsets.length;
        else if (seg.seq === this.inflight.seq) from = Math.max(from, this.inflight.index);
      }
      for (let i = seg.read; i < from; i++) this.orphaned += seg.samples[i];
      for (let i = from; i < seg.offsets.length; i++) {
        dropped += seg.samples[i];
        this.droppedRecordsTotal++;
      }
      this.totalBytes -= seg.size;
      if (seg.fd !== undefined) this.closeFd(seg.fd);
      removeFile(seg.file);
    }
    this.droppedSamplesTotal += dropped;
    return dropped;
  }

  /**
   * Deletes fully consumed segments. The open segment stays while it has room: with every batch
   * going through the spool, a sender that keeps up would otherwise create, fsync the directory
   * for, and delete a file per request.
   */
  private removeConsumed(): void {
    while (this.segments.length > 0 && this.segments[0].read >= this.segments[0].offsets.length) {
      const seg = this.segments[0];
      if (seg.fd !== undefined && seg.size < this.segmentMaxBytes) break;
      this.segments.shift();
      if (seg.fd !== undefined) this.closeFd(seg.fd);
      this.totalBytes -= seg.size;
      removeFile(seg.file);
    }
  }

  /** Forgets records from `index` on (after corruption found by peek). */
  private truncateIndex(seg: Segment, index: number): void {
    for (let i = index; i < seg.offsets.length; i++) seg.pendingSamples -= seg.samples[i];
    seg.offsets.length = index;
    seg.lengths.length = index;
    seg.samples.length = index;
    if (seg.fd !== undefined) this.closeSegment(seg); // never append after a damaged record
  }

  private scan(seq: number, file: string, report: OpenReport): Segment {
    const buf = fs.readFileSync(file);
    const seg: Segment = { seq, file, size: buf.length, offsets: [], lengths: [], samples: [], read: 0, pendingSamples: 0 };
    let pos = 0;
    while (pos < buf.length) {
      const rest = buf.length - pos;
      let ok = rest >= RECORD_HEADER_BYTES;
      let len = 0;
      if (ok) {
        len = buf.readUInt32LE(pos);
        ok = len <= MAX_RECORD_BYTES && RECORD_HEADER_BYTES + len <= rest;
      }
      if (ok) {
        const header = buf.subarray(pos, pos + RECORD_HEADER_BYTES);
        const payload = buf.subarray(pos + RECORD_HEADER_BYTES, pos + RECORD_HEADER_BYTES + len);
        ok = header.readUInt32LE(8) === recordCrc(header, payload);
      }
      if (!ok) {
        // Cut the damage off so that it is reported once, not at every start.
        report.corruptRecords++;
        report.corruptBytes += rest;
        fs.truncateSync(file, pos);
        seg.size = pos;
        break;
      }
      const samples = buf.readUInt32LE(pos + 4);
      seg.offsets.push(pos);
      seg.lengths.push(len);
      seg.samples.push(samples);
      seg.pendingSamples += samples;
      pos += RECORD_HEADER_BYTES + len;
    }
    return seg;
  }

  private readCursor(): { seq: number; offset: number } | undefined {
    let text: string;
    try {
      text = fs.readFileSync(path.join(this.dir, CURSOR_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const m = /^(\d+) (\d+)\n?$/.exec(text);
    return m ? { seq: Number(m[1]), offset: Number(m[2]) } : undefined;
  }

  /**
   * The cursor names the first uncommitted record: its segment and byte offset. It is replaced by
   * rename and not fsynced: a cursor lost in a power cut only means some records are sent again.
   */
  private writeCursor(): void {
    // removeConsumed left segments with records to read, or the open segment read to its end.
    const head = this.segments[0];
    const seq = head ? head.seq : this.nextSeq;
    const offset = head ? (head.read < head.offsets.length ? head.offsets[head.read] : head.size) : 0;
    const file = path.join(this.dir, CURSOR_FILE);
    const tmp = file + '.tmp';
    fs.writeFileSync(tmp, `${seq} ${offset}\n`);
    fs.renameSync(tmp, file);
  }

  private assertOpen(): void {
    if (!this.opened) throw new Error('spool is not open');
  }
}

/** CRC-32 over the length and samples fields and the payload. */
function recordCrc(header: Uint8Array, payload: Uint8Array): number {
  return zlib.crc32(payload, zlib.crc32(header.subarray(0, 8)));
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
}

/** Fills `buf` from `position`; false when the file ends first. */
function readAll(fd: number, buf: Buffer, position: number): boolean {
  let off = 0;
  while (off < buf.length) {
    const n = fs.readSync(fd, buf, off, buf.length - off, position + off);
    if (n === 0) return false;
    off += n;
  }
  return true;
}

function removeFile(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // Already closed or never valid: nothing left to release.
  }
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Not every file system allows fsync on a directory; the data files are synced anyway.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
