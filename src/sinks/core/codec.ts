/**
 * The one thing that differs between sinks besides their URL and headers: how samples become
 * bytes. A codec builds one "open" chunk at a time; the sink closes it (debounce window over, or
 * size cap reached) and queues the bytes. Chunks of one codec must concatenate into a valid
 * request payload, so a request can be made of any run of queued chunks (line protocol lines do;
 * protobuf messages whose only field is repeated do as well).
 */

import type { Sample } from '../../model/sample';

export interface ChunkCodec {
  /**
   * Adds one sample to the open chunk. `timestampMs` is the sample's time (the accept time when
   * the sample had none). Returns false, adding nothing, when the sample cannot be written in this
   * format (e.g. NaN in line protocol). Copies what it needs: the sample is not kept.
   */
  add(sample: Sample, timestampMs: number): boolean;
  /** Estimated encoded size of the open chunk, bytes. */
  readonly openBytes: number;
  /** Samples in the open chunk. */
  readonly openSamples: number;
  /** Closes the open chunk and returns its bytes (the caller owns them), or null when it is empty. */
  finish(): Buffer | null;
}
