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
import { streamInParts } from './part-pool.js';

/**
 * A streamed S3 upload whose memory is fixed (part-pool.ts: a pool of part buffers, reused).
 * lib-storage's Upload concatenates every part into a fresh buffer and keeps the remainder's
 * backing buffer alive until the next part, so its memory grew with the garbage of each part
 * (≈ 70 MiB of array buffers for 8 MiB × 2).
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
  /**
   * Create-only: the final write (PutObject, CompleteMultipartUpload) carries `If-None-Match: *`, so that
   * an object put under the key between the caller's existence check and the end of the upload is never
   * replaced (412, `ObjectExistsError`). A server without conditional writes (501) gets the write again
   * without the header: the caller's existence check is then all there is.
   */
  createOnly?: boolean;
}

/** The key was taken by someone else while the upload ran (a conditional write answered 412). */
export class ObjectExistsError extends Error {
  constructor(key: string) {
    super(`${key} already exists`);
  }
}

/** Send the final write create-only where the server can, plainly where it cannot (see createOnly). */
async function sendCreateOnly<T>(
  createOnly: boolean | undefined,
  key: string,
  send: (ifNoneMatch?: '*') => Promise<T>,
) {
  if (!createOnly) return await send();
  try {
    return await send('*');
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 412) throw new ObjectExistsError(key);
    if (status === 501 || (err as Error).name === 'NotImplemented') return await send();
    throw err;
  }
}

export async function uploadStream(body: Readable, input: MultipartUploadInput): Promise<{ versionId?: string }> {
  const { client, params, signal } = input;
  // Created with the first full part, so that a body shorter than one part is a single put.
  let created: Promise<string> | undefined;
  const parts: CompletedPart[] = [];
  return await streamInParts(
    body,
    {
      partSize: input.partSize,
      queueSize: input.queueSize,
      ...(input.onProgress ? { onProgress: input.onProgress } : {}),
    },
    {
      async sendPart(index, data) {
        created ??= create(client, params, signal);
        const out = await client.send(
          new UploadPartCommand({
            Bucket: params.Bucket,
            Key: params.Key,
            UploadId: await created,
            PartNumber: index + 1,
            Body: data,
            ContentLength: data.length,
            ChecksumAlgorithm: 'SHA256',
          }),
          { abortSignal: signal },
        );
        parts.push({ PartNumber: index + 1, ETag: out.ETag, ChecksumSHA256: out.ChecksumSHA256 });
      },
      async sendWhole(data) {
        const out = await sendCreateOnly(input.createOnly, params.Key, (ifNoneMatch) =>
          client.send(
            new PutObjectCommand({
              ...params,
              Body: data,
              ChecksumAlgorithm: 'SHA256',
              ...(ifNoneMatch ? { IfNoneMatch: ifNoneMatch } : {}),
            }),
            { abortSignal: signal },
          ),
        );
        return out.VersionId ? { versionId: out.VersionId } : {};
      },
      async complete() {
        parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
        const uploadId = await created;
        const out = await sendCreateOnly(input.createOnly, params.Key, (ifNoneMatch) =>
          client.send(
            new CompleteMultipartUploadCommand({
              Bucket: params.Bucket,
              Key: params.Key,
              UploadId: uploadId,
              MultipartUpload: { Parts: parts },
              ...(ifNoneMatch ? { IfNoneMatch: ifNoneMatch } : {}),
            }),
            { abortSignal: signal },
          ),
        );
        return out.VersionId ? { versionId: out.VersionId } : {};
      },
      async abort() {
        const uploadId = await created?.catch(() => undefined);
        if (!uploadId) return;
        await client.send(
          new AbortMultipartUploadCommand({ Bucket: params.Bucket, Key: params.Key, UploadId: uploadId }),
        );
      },
    },
  );
}

async function create(client: S3Client, params: MultipartUploadInput['params'], signal: AbortSignal): Promise<string> {
  const out = await client.send(new CreateMultipartUploadCommand({ ...params, ChecksumAlgorithm: 'SHA256' }), {
    abortSignal: signal,
  });
  if (!out.UploadId) throw new Error('CreateMultipartUpload returned no upload id');
  return out.UploadId;
}
