import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Returns the memory of dead stream buffers to the system while a snapshot streams through.
 *
 * Every chunk a stream hands on (a socket read, a file read, an inflated piece of the archive) is a
 * fresh Buffer whose memory V8 frees only at a garbage collection. Streaming barely allocates on the
 * JS heap, so V8 collects when the dead buffers' external memory has grown by about 64 MB; by then
 * glibc's arena has grown to hold them, and it keeps that memory after they are freed. Measured on a
 * 1 GB archive (Node 24, medians of 3 alternating runs on a loaded machine): `snapshot inspect`
 * 176 → 126 MB peak RSS (dead buffers had reached 73 MB at a time), `snapshot save` to S3 175 → 158
 * MB. A young-generation collection with the little a stream leaves on the heap takes well under a
 * millisecond; a full one every 64 MB as well changed nothing measurable.
 *
 * The collector is V8's own `gc`, reached without starting node with --expose-gc (the CLI is run as
 * `node bin/vault-ops.js` by users, the image and the tests alike). Where it cannot be had, nothing is
 * done: memory is then only higher.
 */

/** Bytes streamed between two collections: a few part buffers' worth. */
export const RECLAIM_EVERY_BYTES = 8 * 1024 * 1024;

type Collect = (options: { type: 'minor' | 'major'; execution: 'sync' }) => void;

let collect: Collect | null | undefined;
let sinceLast = 0;

function collector(): Collect | null {
  if (collect === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as Collect;
    } catch {
      collect = null;
    }
  }
  return collect;
}

/**
 * Count `bytes` of snapshot data that went by (any stream, any direction); every
 * RECLAIM_EVERY_BYTES, collect the young generation, where a stream's dead chunks are.
 */
export function streamedBytes(bytes: number): void {
  sinceLast += bytes;
  if (sinceLast < RECLAIM_EVERY_BYTES) return;
  sinceLast = 0;
  collector()?.({ type: 'minor', execution: 'sync' });
}
