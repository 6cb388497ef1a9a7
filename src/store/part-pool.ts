import type { Readable } from 'node:stream';

/**
 * A stream sent in fixed-size parts from a fixed pool of buffers: `queueSize` part buffers of
 * `partSize` bytes, allocated once and reused, plus the one being filled. The stream's chunks are
 * copied into the pool and nothing else is allocated per part, so memory stays flat whatever the
 * size; the source is read only while a buffer is free (backpressure). The S3 multipart upload and
 * the Azure block upload are this loop with their own wire calls (the sink).
 *
 * A body shorter than one part goes as one whole object. Parts are sent `queueSize` at a time; the
 * first failure stops reading, waits for the parts in flight, calls `abort` and is thrown.
 */
export interface PartSink<R> {
  /** Send part `index` (0-based). `data` is a view of a pooled buffer: valid until the promise settles. */
  sendPart(index: number, data: Buffer): Promise<void>;
  /** The whole body was shorter than one part: send it as one object. */
  sendWhole(data: Buffer): Promise<R>;
  /** Every part was sent: make the object from them. */
  complete(partCount: number): Promise<R>;
  /** Called once on failure, after the parts in flight have settled: remove what was sent. */
  abort?(): Promise<void>;
}

export interface PartPoolOptions {
  partSize: number;
  queueSize: number;
  /** The backend's limit of parts per object, if any. */
  maxParts?: number;
  onProgress?: (bytesSent: number) => void;
}

export async function streamInParts<R>(body: Readable, options: PartPoolOptions, sink: PartSink<R>): Promise<R> {
  const { partSize, queueSize } = options;
  const free: Buffer[] = [];
  const inFlight = new Map<number, Promise<void>>();
  let allocated = 0;
  let failure: unknown;
  let sent = 0;
  const nextBuffer = async (): Promise<Buffer> => {
    const reused = free.pop();
    if (reused) return reused;
    if (allocated <= queueSize) {
      allocated++;
      return Buffer.allocUnsafe(partSize);
    }
    await Promise.race(inFlight.values());
    return nextBuffer();
  };
  const send = (index: number, buffer: Buffer, length: number) => {
    const done = sink
      .sendPart(index, buffer.subarray(0, length))
      .then(() => {
        sent += length;
        options.onProgress?.(sent);
      })
      .catch((err: unknown) => {
        failure ??= err;
      })
      .finally(() => {
        inFlight.delete(index);
        free.push(buffer);
      });
    inFlight.set(index, done);
  };

  try {
    let buffer = await nextBuffer();
    let filled = 0;
    let parts = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        const n = chunk.copy(buffer, filled, offset);
        filled += n;
        offset += n;
        if (filled < partSize) continue;
        if (failure) throw failure;
        if (parts === options.maxParts) throw new Error(`more than ${options.maxParts} parts of ${partSize} bytes`);
        send(parts++, buffer, filled);
        buffer = await nextBuffer();
        filled = 0;
      }
    }
    if (parts === 0) {
      const result = await sink.sendWhole(buffer.subarray(0, filled));
      options.onProgress?.(filled);
      return result;
    }
    if (filled > 0) send(parts++, buffer, filled);
    await Promise.all(inFlight.values());
    if (failure) throw failure;
    return await sink.complete(parts);
  } catch (err) {
    await Promise.allSettled(inFlight.values());
    await sink.abort?.().catch(() => undefined);
    throw failure ?? err;
  }
}
