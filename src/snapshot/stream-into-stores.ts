import { createHash } from 'node:crypto';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VaultOpsError, isVaultOpsError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { ProgressReporter } from '../observability/progress.js';
import type { ArchiveRetention, SnapshotRepository } from '../repository/snapshot-repository.js';
import { encryptStream } from './age-encryption.js';
import { ChunkBatcher } from './archive/chunk-batcher.js';
import { FanOut } from './fan-out.js';
import { createArchiveInspector, type ArchiveInspection } from './archive/archive-inspector.js';
import { streamedBytes } from '../io/buffer-reclaim.js';

/**
 * The stream phase of a save: the leader's snapshot stream, inspected and hashed in one pass
 * (plaintext), optionally age-encrypted, fanned out to every destination's create-only upload
 * (stored bytes hashed on the way); a destination that fails is cut off, the others go on.
 */

export function asStoreError(err: unknown, url: string): VaultOpsError {
  if (isVaultOpsError(err)) return err;
  const code = (err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? 'error';
  return new VaultOpsError('store', `writing to ${url} failed (${code}): check the store and run again`, {
    cause: err,
  });
}

export interface StreamedArchive {
  /** Each destination's upload, in the order of the repositories. */
  puts: Array<{ ok: true; key: string } | { ok: false; error: VaultOpsError }>;
  inspection: ArchiveInspection;
  plaintextSha256: string;
  storedSha256: string;
  storedBytes: number;
}

export async function streamIntoStores(args: {
  body: Readable;
  repositories: SnapshotRepository[];
  id: string;
  progress: ProgressReporter;
  encryptTo: string[] | undefined;
  leaderAddress: string;
  logger: Logger;
  retention?: ArchiveRetention;
  signal?: AbortSignal;
}): Promise<StreamedArchive> {
  const inspector = createArchiveInspector(args.signal ? { signal: args.signal } : {});
  let inspectionError: unknown;
  inspector.result.catch((err) => (inspectionError = err));
  const plainHash = createHash('sha256');
  let received = 0;
  const urls = args.repositories.map((r) => r.url).join(', ');

  // Hash and inspect every chunk on its way to the store; fail fast on a corrupt archive, and
  // hold back the end of the stream until the inspector has accepted the whole archive.
  const inspectAndHash = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (inspectionError) return callback(inspectionError as Error);
      plainHash.update(chunk);
      received += chunk.length;
      streamedBytes(chunk.length);
      args.progress({ phase: 'snapshot', bytes: received });
      if (inspector.input.write(chunk)) callback(null, chunk);
      else inspector.input.once('drain', () => callback(inspectionError as Error | undefined, chunk));
    },
    flush(callback) {
      inspector.input.end();
      inspector.result.then(
        () => callback(),
        (err) => callback(err as Error),
      );
    },
  });

  // Without encryption the stored bytes are the archive's bytes: one hash serves both, and the
  // stream goes straight from the inspector to the stores.
  const encrypt = (args.encryptTo?.length ?? 0) > 0;
  const storedHash = encrypt ? createHash('sha256') : plainHash;
  let storedBytes = 0;
  // Every store reads its own branch; the fan-out feeds them all at the slowest one's pace.
  const fanOut = new FanOut(args.repositories.length);
  let source: Promise<void>;
  let storedSide: Promise<void>;
  if (encrypt) {
    const inspected = new PassThrough();
    source = pipeline(args.body, new ChunkBatcher(), inspectAndHash, inspected);
    const hashStored = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        storedHash.update(chunk);
        storedBytes += chunk.length;
        callback(null, chunk);
      },
    });
    storedSide = pipeline(await encryptStream(inspected, args.encryptTo ?? []), hashStored, fanOut);
  } else {
    source = pipeline(args.body, new ChunkBatcher(), inspectAndHash, fanOut);
    storedSide = source;
  }
  source.catch(() => undefined);
  storedSide.catch(() => undefined);

  // Each destination has a signal of its own (the save's, or its own cut-off), so that a store
  // that fails mid-stream aborts only its own upload.
  const puts = args.repositories.map((repository, i) => {
    const own = new AbortController();
    const signal = args.signal ? AbortSignal.any([args.signal, own.signal]) : own.signal;
    const put = repository.putArchive(args.id, fanOut.branches[i]!, {
      encrypted: encrypt,
      ...(args.retention ? { retention: args.retention } : {}),
      signal,
    });
    put.catch((err: unknown) => {
      // Cut it off: the others go on. (When the source failed, every branch is failing anyway.)
      if (fanOut.liveCount > 1 && !inspectionError && !args.signal?.aborted) {
        args.logger.warn(
          { store: repository.url, err: (err as Error)?.message },
          'a destination failed mid-stream: cut off, the others go on',
        );
      }
      own.abort();
      fanOut.cut(i, err instanceof Error ? err : new Error(String(err)));
    });
    return put;
  });

  const [sourceResult, storedResult, ...putResults] = await Promise.allSettled([source, storedSide, ...puts]);
  const sourceFailed = sourceResult.status === 'rejected' || storedResult.status === 'rejected';
  const allPutsFailed = putResults.every((p) => p.status === 'rejected');
  if (sourceFailed || allPutsFailed) {
    for (const [i, p] of putResults.entries())
      if (p.status === 'fulfilled') await args.repositories[i]!.discardArchive(p.value.key).catch(() => undefined);
    // The root cause comes first: a broken Vault stream or a corrupt archive explains a failed upload.
    const firstPutFailure = putResults.find((p) => p.status === 'rejected');
    const rootCause =
      inspectionError ??
      (sourceResult.status === 'rejected' && !(allPutsFailed && isFanOutFailure(sourceResult.reason))
        ? sourceResult.reason
        : undefined) ??
      (storedResult.status === 'rejected' && !(allPutsFailed && isFanOutFailure(storedResult.reason))
        ? storedResult.reason
        : undefined) ??
      (firstPutFailure?.status === 'rejected' ? firstPutFailure.reason : undefined);
    throw explainStreamFailure(rootCause, received, args.leaderAddress, urls);
  }
  args.progress({ phase: 'snapshot', bytes: received, done: true });
  const plaintextSha256 = plainHash.digest('hex');
  return {
    puts: putResults.map((p, i) =>
      p.status === 'fulfilled'
        ? { ok: true as const, key: p.value.key }
        : { ok: false as const, error: asStoreError(p.reason, args.repositories[i]!.url) },
    ),
    inspection: await inspector.result,
    plaintextSha256,
    storedSha256: encrypt ? storedHash.digest('hex') : plaintextSha256,
    storedBytes: encrypt ? storedBytes : received,
  };
}

/** The fan-out's own "no destination left" error (the stores' errors say why). */
function isFanOutFailure(err: unknown): boolean {
  return err instanceof Error && err.message === 'every destination failed';
}

function explainStreamFailure(err: unknown, received: number, leader: string, storeUrl: string): VaultOpsError {
  if (isVaultOpsError(err)) {
    if (err.code === 'snapshot-corrupt') {
      return new VaultOpsError(
        'snapshot-corrupt',
        `${err.message}; received ${received} bytes from ${leader}, nothing was stored in ${storeUrl}: run again, ` +
          `and check the leader's logs if it repeats`,
        { cause: err },
      );
    }
    return err;
  }
  const code = (err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? 'error';
  return new VaultOpsError(
    'vault-unreachable',
    `the snapshot stream from ${leader} broke after ${received} bytes (${code}): nothing was stored in ${storeUrl}; ` +
      `check the leader's health and run again`,
    { cause: err },
  );
}
