import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { PassThrough, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SnapshotRepository } from '../repository/snapshot-repository.js';
import { decryptStream } from './age-encryption.js';
import { createArchiveInspector } from './archive/archive-inspector.js';
import type { SnapshotManifest } from '../repository/manifest.js';
import { streamedBytes } from '../io/buffer-reclaim.js';

/**
 * Stream a stored archive to a local file (a path in a 0700 temp dir of the caller's, or a stream
 * into restore's unnamed temp file), checking its size and sha256 against the manifest, decrypting
 * it when encrypted, and running the archive inspection on the way; the file is the plaintext
 * archive, ready to restore. Integrity problems are returned (the caller reports them as a failed
 * check, exit 3); store failures throw.
 */
export async function downloadVerified(
  deps: { repository: SnapshotRepository; signal?: AbortSignal },
  manifest: SnapshotManifest,
  target: string | Writable,
  identities: string[] | undefined,
): Promise<{ passed: boolean; detail: string }> {
  const source = await deps.repository.openArchive(manifest, deps.signal ? { signal: deps.signal } : {});
  const hash = createHash('sha256');
  let bytes = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      streamedBytes(chunk.length);
      // A store object longer than its manifest says is not that snapshot: stop before it fills the disk.
      if (bytes > manifest.archive.bytes) cb(new ArchiveTooLong(manifest.archive.bytes));
      else cb(null, chunk);
    },
  });
  const inspector = createArchiveInspector(deps.signal ? { signal: deps.signal } : {});
  const fetched = new PassThrough();
  const reading = pipeline(source, hashing, fetched);
  reading.catch((err) => {
    // Cut short on purpose (longer than the manifest says): end the inspection too, so that every
    // party of the download settles (the inspector then reports a truncated archive).
    if (err instanceof ArchiveTooLong && !inspector.input.writableEnded) inspector.input.end();
  });
  let plain: NodeJS.ReadableStream = fetched;
  if (manifest.encryption) plain = await decryptStream(fetched, identities ?? []);
  const tee = new Transform({
    transform(chunk: Buffer, _e, cb) {
      if (inspector.input.write(chunk)) cb(null, chunk);
      else inspector.input.once('drain', () => cb(null, chunk));
    },
    flush(cb) {
      inspector.input.end();
      cb();
    },
  });
  const file = typeof target === 'string' ? createWriteStream(target, { mode: 0o600 }) : target;
  const writing = pipeline(plain, tee, file);
  const [r1, r2, r3] = await Promise.allSettled([reading, writing, inspector.result]);
  if (r1.status === 'rejected' && r1.reason instanceof ArchiveTooLong) {
    return {
      passed: false,
      detail:
        `the stored archive is longer than the ${manifest.archive.bytes} bytes the manifest says: download stopped; ` +
        'the archive was replaced or the manifest belongs to another snapshot',
    };
  }
  if (r1.status === 'rejected') throw r1.reason;
  const sha256 = hash.digest('hex');
  if (bytes !== manifest.archive.bytes || sha256 !== manifest.archive.sha256) {
    return {
      passed: false,
      detail:
        `downloaded ${bytes} bytes with sha256 ${sha256}; the manifest says ${manifest.archive.bytes} bytes, ` +
        `${manifest.archive.sha256}: the archive is damaged, truncated, or the manifest belongs to another snapshot`,
    };
  }
  if (r3.status === 'rejected') return { passed: false, detail: (r3.reason as Error).message };
  if (r2.status === 'rejected') throw r2.reason;
  const meta = r3.value.meta;
  if (
    meta.index !== manifest.raft.index ||
    meta.term !== manifest.raft.term ||
    meta.size !== manifest.snapshotMeta.size
  ) {
    return {
      passed: false,
      detail:
        `the manifest says raft index ${manifest.raft.index}, term ${manifest.raft.term}, size ` +
        `${manifest.snapshotMeta.size}; the archive's meta.json says ${meta.index}, ${meta.term}, ${meta.size}: the ` +
        'manifest does not describe this archive (an anomaly: check who wrote it)',
    };
  }
  return {
    passed: true,
    detail:
      `sha256 ${sha256.slice(0, 16)}… matches the manifest; ${r3.value.entryCount} keys, raft index ` +
      `${r3.value.meta.index}`,
  };
}

/** The download went past the manifest's size (the pipeline's error, turned into a failed check). */
class ArchiveTooLong extends Error {
  constructor(limit: number) {
    super(`archive longer than ${limit} bytes`);
  }
}
