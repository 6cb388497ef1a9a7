import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  type CreateMultipartUploadCommandInput,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';

/**
 * A streamed upload whose memory is fixed: `queueSize` part buffers of `partSize` bytes, allocated
 * once and reused, plus the one being filled. lib-storage's Upload concatenates every part into a
 * fresh buffer and keeps the remainder's backing buffer alive until the next part, so its memory
 * grew with the garbage of each part (≈ 70 MiB of array buffers for 8 MiB × 2); here the stream's
 * chunks are copied into the pool and nothing else is allocated per part.
 *
 * A body shorter than one part goes up as one PutObject. Every part, and the single put, carries
 * a SHA-256 checksum S3 verifies. The caller aborts leftovers on failure (see S3Store.putStream);
 * this function aborts its own multipart upload too, so that nothing half-written stays.
 */
export interface MultipartUploadInput {
  client: S3Client;
  /** Bucket, key, content type and server-side settings of the object. */
  params: Omit<CreateMultipartUploadCommandInput, 'ChecksumAlgorithm'> & { Bucket: string; Key: string };
  partSize: number;
  queueSize: number;
  signal: AbortSignal;
  onProgress?: (bytes: number) => void;
}

export async function uploadStream(body: Readable, input: MultipartUploadInput): Promise<{ versionId?: string }> {
  const { client, params, partSize, queueSize, signal } = input;
  const free: Buffer[] = [];
  let allocated = 0;
  const bufferForNextPart = async (): Promise<Buffer> => {
    if (free.length > 0) return free.pop()!;
    if (allocated <= queueSize) {
      allocated++;
      return Buffer.allocUnsafe(partSize);
    }
    await Promise.race(inFlight.values());
    return bufferForNextPart();
  };

  let uploadId: string | undefined;
  const parts: CompletedPart[] = [];
  const inFlight = new Map<number, Promise<void>>();
  let failure: unknown;
  let uploaded = 0;

  const sendPart = (partNumber: number, buffer: Buffer, length: number) => {
    const sent = client
      .send(
        new UploadPartCommand({
          Bucket: params.Bucket,
          Key: params.Key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: buffer.subarray(0, length),
          ContentLength: length,
          ChecksumAlgorithm: 'SHA256',
        }),
        { abortSignal: signal },
      )
      .then((out) => {
        parts.push({ PartNumber: partNumber, ETag: out.ETag, ChecksumSHA256: out.ChecksumSHA256 });
        uploaded += length;
        input.onProgress?.(uploaded);
      })
      .catch((err: unknown) => {
        failure ??= err;
      })
      .finally(() => {
        inFlight.delete(partNumber);
        free.push(buffer);
      });
    inFlight.set(partNumber, sent);
  };

  try {
    let buffer = await bufferForNextPart();
    let filled = 0;
    let partNumber = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        const n = chunk.copy(buffer, filled, offset);
        filled += n;
        offset += n;
        if (filled < partSize) continue;
        if (failure) throw failure;
        uploadId ??= await create(client, params, signal);
        sendPart(++partNumber, buffer, filled);
        buffer = await bufferForNextPart();
        filled = 0;
      }
    }
    if (!uploadId) {
      // Shorter than one part: a single put, as lib-storage did.
      const out = await client.send(
        new PutObjectCommand({ ...params, Body: buffer.subarray(0, filled), ChecksumAlgorithm: 'SHA256' }),
        { abortSignal: signal },
      );
      input.onProgress?.(filled);
      return out.VersionId ? { versionId: out.VersionId } : {};
    }
    if (filled > 0) sendPart(++partNumber, buffer, filled);
    await Promise.all(inFlight.values());
    if (failure) throw failure;
    parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
    const out = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: params.Bucket,
        Key: params.Key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
      { abortSignal: signal },
    );
    return out.VersionId ? { versionId: out.VersionId } : {};
  } catch (err) {
    await Promise.allSettled(inFlight.values());
    if (uploadId) {
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: params.Bucket, Key: params.Key, UploadId: uploadId }))
        .catch(() => undefined);
    }
    throw failure ?? err;
  }
}

async function create(client: S3Client, params: MultipartUploadInput['params'], signal: AbortSignal): Promise<string> {
  const out = await client.send(new CreateMultipartUploadCommand({ ...params, ChecksumAlgorithm: 'SHA256' }), {
    abortSignal: signal,
  });
  if (!out.UploadId) throw new Error('CreateMultipartUpload returned no upload id');
  return out.UploadId;
}
