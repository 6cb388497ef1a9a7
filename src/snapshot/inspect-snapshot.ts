import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VaultOpsError } from '../errors.js';
import { manifestNameBeside, type SnapshotRepository } from '../repository/snapshot-repository.js';
import { decryptStream } from './age-encryption.js';
import { createArchiveInspector, type ArchiveInspection } from './archive/archive-inspector.js';
import { ChunkBatcher } from './archive/chunk-batcher.js';
import { MAX_MANIFEST_BYTES, parseManifest, type SnapshotManifest } from '../repository/manifest.js';
import { verifyManifestSignature } from '../repository/signature.js';
import { readFile } from 'node:fs/promises';
import { streamedBytes } from '../io/buffer-reclaim.js';

/** `snapshot inspect --output json`. */
export interface InspectReport {
  source: string;
  id?: string;
  bytes: number;
  sha256: string;
  encrypted: boolean;
  manifest?: {
    key: string;
    sha256Matches: boolean;
    bytesMatch: boolean;
    signature: 'valid' | 'not-checked' | 'unsigned';
  };
  /** False for an encrypted archive inspected without an identity. */
  contentsChecked: boolean;
  notChecked: string[];
  meta?: {
    index: number;
    term: number;
    version: number;
    size: number;
    configurationIndex: number;
    servers: Array<{ id: string; address: string; suffrage: string }>;
  };
  entryCount?: number;
  keyCounts?: Record<string, number>;
}

export interface InspectTarget {
  open(): Promise<Readable>;
  source: string;
  manifest?: { key: string; value: SnapshotManifest };
}

export interface InspectSnapshotOptions {
  depth?: number;
  identities?: string[];
  /** Public keys; the manifest must be signed by one of them (store targets: the store's own keys). */
  verifyKeys?: readonly KeyObject[];
  signal?: AbortSignal;
}

const AGE_MAGIC = Buffer.from('age-encryption.org/v1');

/** A local file; its manifest, when one lies beside it under the same snapshot id. */
export async function fileTarget(path: string): Promise<InspectTarget> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new VaultOpsError('usage', `${path} is not a file: give a snapshot archive or URL#ID`);
  } catch (err) {
    if (err instanceof VaultOpsError) throw err;
    throw new VaultOpsError(
      'not-found',
      `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'}): give a snapshot archive file or a ` +
        `store URL#ID`,
      { cause: err },
    );
  }
  const manifestName = manifestNameBeside(basename(path));
  let manifest: InspectTarget['manifest'];
  if (manifestName) {
    const mPath = join(dirname(path), manifestName);
    try {
      const bytes = await readFile(mPath);
      if (bytes.length <= MAX_MANIFEST_BYTES) manifest = { key: mPath, value: parseManifest(bytes, mPath) };
    } catch (err) {
      if (err instanceof VaultOpsError) throw err;
    }
  }
  return { source: path, open: async () => createReadStream(path), ...(manifest ? { manifest } : {}) };
}

/** A catalogued snapshot in a store (`URL#ID`, ID may be latest/oldest). */
export async function storeTarget(
  repository: SnapshotRepository,
  which: string,
  signal?: AbortSignal,
): Promise<InspectTarget> {
  const manifest = await repository.find(which);
  return {
    source: `${repository.url}#${manifest.id}`,
    open: () => repository.openArchive(manifest, signal ? { signal } : {}),
    manifest: { key: `${repository.url}#${manifest.id}`, value: manifest },
  };
}

/**
 * Offline integrity check: stream the archive once through a SHA-256 (compared with the manifest
 * when there is one), decrypt it when an identity is given, and run the archive inspection.
 * Throws 'snapshot-corrupt' / 'verification' (exit 3) on any integrity failure, naming it.
 */
export async function inspectSnapshot(
  target: InspectTarget,
  options: InspectSnapshotOptions = {},
): Promise<InspectReport> {
  const manifest = target.manifest?.value;
  const notChecked: string[] = [];
  let signature: 'valid' | 'not-checked' | 'unsigned' = 'not-checked';
  const verifyKeys = options.verifyKeys ?? [];
  if (manifest && verifyKeys.length) {
    verifyManifestSignature(manifest, verifyKeys);
    signature = 'valid';
  } else if (manifest && !manifest.signature) signature = 'unsigned';
  else if (manifest) notChecked.push('manifest signature (no --verify-key)');
  if (!manifest && verifyKeys.length) {
    throw new VaultOpsError(
      'verification',
      `no manifest found for ${target.source}, but a verify key was given: cannot prove where the archive came from`,
    );
  }

  const source = await target.open();
  const hash = createHash('sha256');
  let bytes = 0;
  let head = Buffer.alloc(0);
  const hashing = new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      streamedBytes(chunk.length);
      if (head.length < AGE_MAGIC.length)
        head = Buffer.concat([head, chunk.subarray(0, AGE_MAGIC.length - head.length)]);
      cb(null, chunk);
    },
  });
  const hashed = new PassThrough();
  const reading = pipeline(
    source,
    new ChunkBatcher(),
    hashing,
    hashed,
    options.signal ? { signal: options.signal } : {},
  );
  reading.catch(() => undefined);

  // Peek at the first bytes to tell an age file from a gzip archive.
  const first = await firstChunk(hashed).catch((err) => {
    throw readFailure(target.source, err);
  });
  if (first.length === 0)
    throw new VaultOpsError('snapshot-corrupt', `snapshot archive is corrupt: ${target.source} is empty`);
  const encrypted = first.subarray(0, AGE_MAGIC.length).equals(AGE_MAGIC) || manifest?.encryption !== undefined;
  hashed.unshift(first);

  let inspection: ArchiveInspection | undefined;
  const plainHash = createHash('sha256');
  if (encrypted && !options.identities?.length) {
    notChecked.push('archive contents (encrypted; pass --identity-file to check them)');
    hashed.resume();
    await reading;
  } else {
    const plain = encrypted ? await decryptStream(hashed, options.identities ?? []) : hashed;
    const inspector = createArchiveInspector({
      depth: options.depth ?? 1,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    // The plaintext hash matters only for an encrypted archive (checked against plaintextSha256);
    // a plain archive's bytes were hashed once already.
    const inspecting = encrypted
      ? pipeline(
          plain,
          new Transform({
            transform(chunk: Buffer, _e, cb) {
              plainHash.update(chunk);
              cb(null, chunk);
            },
          }),
          inspector.input,
        )
      : pipeline(plain, inspector.input);
    inspecting.catch(() => undefined);
    const [readResult, inspectResult, resultResult] = await Promise.allSettled([reading, inspecting, inspector.result]);
    if (resultResult.status === 'rejected') throw resultResult.reason;
    if (readResult.status === 'rejected') throw readFailure(target.source, readResult.reason);
    if (inspectResult.status === 'rejected') throw readFailure(target.source, inspectResult.reason);
    inspection = resultResult.value;
  }
  const sha256 = hash.digest('hex');

  let manifestReport: InspectReport['manifest'];
  if (manifest && target.manifest) {
    manifestReport = {
      key: target.manifest.key,
      sha256Matches: manifest.archive.sha256 === sha256,
      bytesMatch: manifest.archive.bytes === bytes,
      signature,
    };
    if (!manifestReport.bytesMatch) {
      throw new VaultOpsError(
        'snapshot-corrupt',
        `snapshot ${manifest.id} is ${bytes} bytes but its manifest says ${manifest.archive.bytes}: the stored ` +
          `archive is truncated or was replaced`,
      );
    }
    if (!manifestReport.sha256Matches) {
      throw new VaultOpsError(
        'snapshot-corrupt',
        `snapshot ${manifest.id}: sha256 ${sha256} does not match the manifest's ${manifest.archive.sha256}: the ` +
          `stored archive was damaged or replaced`,
      );
    }
    if (encrypted && inspection && manifest.plaintextSha256 && manifest.plaintextSha256 !== plainHash.digest('hex')) {
      throw new VaultOpsError(
        'snapshot-corrupt',
        `snapshot ${manifest.id}: the decrypted archive does not match the manifest's plaintextSha256`,
      );
    }
  } else {
    notChecked.push('manifest checksum (no manifest beside the archive)');
  }

  return {
    source: target.source,
    ...(manifest ? { id: manifest.id } : {}),
    bytes,
    sha256,
    encrypted,
    ...(manifestReport ? { manifest: manifestReport } : {}),
    contentsChecked: inspection !== undefined,
    notChecked,
    ...(inspection
      ? {
          meta: {
            index: inspection.meta.index,
            term: inspection.meta.term,
            version: inspection.meta.version,
            size: inspection.meta.size,
            configurationIndex: inspection.meta.configurationIndex,
            servers: inspection.meta.servers.map((s) => ({ id: s.id, address: s.address, suffrage: s.suffrage })),
          },
          entryCount: inspection.entryCount,
          keyCounts: inspection.keyCounts,
        }
      : {}),
  };
}

function readFailure(source: string, err: unknown): VaultOpsError {
  if (err instanceof VaultOpsError) return err;
  return new VaultOpsError(
    'store',
    `reading ${source} failed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): try again`,
    { cause: err },
  );
}

async function firstChunk(stream: PassThrough): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const onReadable = () => {
      const chunk = stream.read() as Buffer | null;
      if (chunk === null) return;
      cleanup();
      resolve(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.alloc(0));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}
