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
        const out = await client.send(new PutObjectCommand({ ...params, Body: data, ChecksumAlgorithm: 'SHA256' }), {
          abortSignal: signal,
        });
        return out.VersionId ? { versionId: out.VersionId } : {};
      },
      async complete() {
        parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
        const out = await client.send(
          new CompleteMultipartUploadCommand({
            Bucket: params.Bucket,
            Key: params.Key,
            UploadId: await created,
            MultipartUpload: { Parts: parts },
          }),
          { abortSignal: signal },
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
