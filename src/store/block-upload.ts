import type { BlockBlobClient, BlockBlobCommitBlockListOptions } from '@azure/storage-blob';
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';

/**
 * A streamed Azure block-blob upload whose memory is fixed, as multipart-upload.ts is for S3:
 * `queueSize` block buffers of `blockSize` bytes, allocated once and reused, plus the one being
 * filled; the stream's chunks are copied into the pool and nothing else is allocated per block.
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
  const { blob, blockSize, queueSize, signal } = input;
  const free: Buffer[] = [];
  let allocated = 0;
  const inFlight = new Map<number, Promise<void>>();
  const bufferForNextBlock = async (): Promise<Buffer> => {
    if (free.length > 0) return free.pop()!;
    if (allocated <= queueSize) {
      allocated++;
      return Buffer.allocUnsafe(blockSize);
    }
    await Promise.race(inFlight.values());
    return bufferForNextBlock();
  };
  // Block ids must be base64 of equal length within a blob; a random part keeps them apart from
  // the ids any earlier, failed attempt at the same key left uncommitted.
  const nonce = randomBytes(6).toString('hex');
  const blockId = (n: number) => Buffer.from(`${nonce}-${String(n).padStart(6, '0')}`).toString('base64');
  const ids: string[] = [];
  let failure: unknown;
  let uploaded = 0;

  const stage = (n: number, buffer: Buffer, length: number) => {
    const data = buffer.subarray(0, length);
    const id = blockId(n);
    ids[n] = id;
    const sent = blob
      .stageBlock(id, data, length, {
        transactionalContentMD5: createHash('md5').update(data).digest(),
        abortSignal: signal,
      })
      .then(() => {
        uploaded += length;
        input.onProgress?.(uploaded);
      })
      .catch((err: unknown) => {
        failure ??= err;
      })
      .finally(() => {
        inFlight.delete(n);
        free.push(buffer);
      });
    inFlight.set(n, sent);
  };

  try {
    let buffer = await bufferForNextBlock();
    let filled = 0;
    let blocks = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        const n = chunk.copy(buffer, filled, offset);
        filled += n;
        offset += n;
        if (filled < blockSize) continue;
        if (failure) throw failure;
        if (blocks === MAX_BLOCKS) throw new Error(`more than ${MAX_BLOCKS} blocks of ${blockSize} bytes`);
        stage(blocks++, buffer, filled);
        buffer = await bufferForNextBlock();
        filled = 0;
      }
    }
    if (blocks === 0) {
      const data = buffer.subarray(0, filled);
      const out = await blob.upload(data, filled, {
        ...input.commit,
        transactionalContentMD5: createHash('md5').update(data).digest(),
        abortSignal: signal,
      });
      input.onProgress?.(filled);
      return out.versionId ? { versionId: out.versionId } : {};
    }
    if (filled > 0) stage(blocks++, buffer, filled);
    await Promise.all(inFlight.values());
    if (failure) throw failure;
    const out = await blob.commitBlockList(ids, { ...input.commit, abortSignal: signal });
    return out.versionId ? { versionId: out.versionId } : {};
  } catch (err) {
    await Promise.allSettled(inFlight.values());
    throw failure ?? err;
  }
}
