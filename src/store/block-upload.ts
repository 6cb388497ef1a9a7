import type { BlockBlobClient, BlockBlobCommitBlockListOptions } from '@azure/storage-blob';
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { streamInParts } from './part-pool.js';

/**
 * A streamed Azure block-blob upload whose memory is fixed, as multipart-upload.ts is for S3 (both
 * are part-pool.ts with their own wire calls).
 * (The SDK's `uploadStream` pools buffers too, but it drives the source with 'data' events and
 * pause(), queueing whatever arrives meanwhile, and takes no per-block MD5 from the caller; this one
 * pulls the source only when a buffer is free and sends an MD5 with every block.)
 *
 * Every block (Put Block) carries a transactional MD5 the service checks before it keeps the
 * block; the SDK retries a failed block from its buffer, never the whole stream. The blob exists
 * only once Put Block List commits the block ids, with `commit.conditions` (create-only:
 * `ifNoneMatch: '*'`). Until then the staged blocks are uncommitted: no reader, no listing sees
 * them, and Azure discards uncommitted blocks a week after the last one was staged; the store
 * discards them sooner (AzureStore.discardUncommitted). A body shorter than one block goes up as
 * a single Put Blob with the same MD5 and conditions.
 */
export interface BlockUploadInput {
  blob: BlockBlobClient;
  /** Content type, create-only conditions, immutability: what the commit (or single put) carries. */
  commit: Omit<BlockBlobCommitBlockListOptions, 'abortSignal'>;
  blockSize: number;
  queueSize: number;
  signal: AbortSignal;
  onProgress?: (bytes: number) => void;
}

/** Azure's limit of committed blocks per blob. */
const MAX_BLOCKS = 50_000;

export async function uploadBlocks(body: Readable, input: BlockUploadInput): Promise<{ versionId?: string }> {
  const { blob, signal } = input;
  // Block ids must be base64 of equal length within a blob; a random part keeps them apart from
  // the ids any earlier, failed attempt at the same key left uncommitted.
  const nonce = randomBytes(6).toString('hex');
  const blockId = (n: number) => Buffer.from(`${nonce}-${String(n).padStart(6, '0')}`).toString('base64');
  const ids: string[] = [];
  const md5 = (data: Buffer) => createHash('md5').update(data).digest();
  return await streamInParts(
    body,
    {
      partSize: input.blockSize,
      queueSize: input.queueSize,
      maxParts: MAX_BLOCKS,
      ...(input.onProgress ? { onProgress: input.onProgress } : {}),
    },
    {
      async sendPart(index, data) {
        ids[index] = blockId(index);
        await blob.stageBlock(ids[index], data, data.length, {
          transactionalContentMD5: md5(data),
          abortSignal: signal,
        });
      },
      async sendWhole(data) {
        const out = await blob.upload(data, data.length, {
          ...input.commit,
          transactionalContentMD5: md5(data),
          abortSignal: signal,
        });
        return out.versionId ? { versionId: out.versionId } : {};
      },
      async complete() {
        const out = await blob.commitBlockList(ids, { ...input.commit, abortSignal: signal });
        return out.versionId ? { versionId: out.versionId } : {};
      },
    },
  );
}
