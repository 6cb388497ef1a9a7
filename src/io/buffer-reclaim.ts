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

export type Collect = (options: { type: 'minor' | 'major'; execution: 'sync' }) => void;

let collect: Collect | null | undefined;

/** V8's `gc` (null where it cannot be had), found once. */
export function v8Collector(): Collect | null {
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
 * A counter of streamed bytes that collects the young generation, where a stream's dead chunks
 * are, every `everyBytes`.
 */
export function bufferReclaimer(
  collector: () => Collect | null,
  everyBytes = RECLAIM_EVERY_BYTES,
): (bytes: number) => void {
  let sinceLast = 0;
  return (bytes) => {
    sinceLast += bytes;
    if (sinceLast < everyBytes) return;
    sinceLast = 0;
    collector()?.({ type: 'minor', execution: 'sync' });
  };
}

/** Count `bytes` of snapshot data that went by (any stream, any direction): the process's one counter. */
export const streamedBytes = bufferReclaimer(v8Collector);
