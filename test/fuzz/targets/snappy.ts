import fc from 'fast-check';
import { snappyCompress } from '../../../src/sinks/remote-write/snappy';
import type { FuzzTarget } from '../engine';
import { snappyDecompress } from '../../sinks/decoders';

/**
 * Snappy block decoding of arbitrary bytes (the test suite's independent decoder, which stands in
 * for a remote-write receiver), and compress → decompress identity on the same bytes through our
 * encoder.
 */
export const snappy: FuzzTarget = {
  name: 'snappy',
  about: 'snappy block decode of any bytes; decompress(compress(x)) === x',
  tokens: ['\x00', '\xf0', '\xf4\xff\xff', '\x01\x00', '\x02\x00\x00', '\x03\x00\x00\x00\x00', '\x80\x80\x80\x80\x01'].map((s) => Buffer.from(s, 'latin1').toString('latin1')),
  arbitrary: fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
  expected: (err) => err instanceof Error && err.message.startsWith('snappy:'),
  run(data) {
    const back = snappyDecompress(snappyCompress(data));
    if (!back.equals(data)) throw new Error(`round trip changed ${data.length} bytes`);
    const out = snappyDecompress(data); // throws "snappy: …" for malformed input
    return `decoded:${out.length > 0 ? 'some' : 'empty'}`;
  },
};
