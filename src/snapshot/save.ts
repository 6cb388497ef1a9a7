import { createHash, type KeyObject } from 'node:crypto';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VaultOpsError, isVaultOpsError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { noProgress, type ProgressReporter } from '../observability/progress.js';
import type { ArchiveRetention, SnapshotRepository } from '../repository/snapshot-repository.js';
import { newSnapshotId } from '../repository/snapshot-id.js';
import type { VaultClient } from '../vault/client.js';
import { leaderClient } from '../vault/leader.js';
import { openRaftSnapshot } from '../vault/raft-snapshot.js';
import { toolVersion } from '../version.js';
import { encryptStream } from './age-encryption.js';
import { ChunkBatcher } from './chunk-batcher.js';
import { createArchiveInspector, type ArchiveInspection } from './archive-inspector.js';
import { writeCanary, type CanaryValue } from './canary.js';
import { readClusterFacts, type ClusterFacts } from './cluster-facts.js';
import type { SnapshotManifest } from '../repository/manifest.js';
import { signManifest } from './manifest-signature.js';

export interface SaveSnapshotOptions {
  /** age recipients: encrypt the archive client-side before it leaves the machine. */
  encryptTo?: string[];
  signingKey?: KeyObject;
  /** Write the restore-drill canary to this KV v1 mount just before the snapshot. */
  canaryMount?: string;
  /** Accept a snapshot whose cluster id differs from the newest one in the store. */
  allowClusterChange?: boolean;
  objectLock?: { mode: 'GOVERNANCE' | 'COMPLIANCE'; days: number };
}

export interface SaveSnapshotDeps {
  /** A logged-in client for any node; the snapshot is taken from the leader. */
  vault: VaultClient;
  repository: SnapshotRepository;
  logger: Logger;
  now?: () => Date;
  progress?: ProgressReporter;
  signal?: AbortSignal;
  /** Told how the save ended (metrics); the library reports, the caller decides where it goes. */
  reporter?: SnapshotReporter;
}

/** What a save reports, restic-style: typed events, no metrics library in sight. */
export interface SnapshotReporter {
  saved(manifest: SnapshotManifest, outcome: { shrunk: boolean }): void;
  failed(reason: string, at: Date): void;
}

export interface SaveSnapshotResult {
  manifest: SnapshotManifest;
  manifestKey: string;
  previousId?: string;
  warnings: string[];
}

/** The phases of a save, in order; logged so that an interrupted run says where it stopped. */
export type SavePhase = 'leader' | 'facts' | 'plausibility' | 'canary' | 'stream' | 'manifest' | 'done';

/**
 * Take a Raft snapshot from the leader and stream it, in one pass and never held in memory, through
 * a SHA-256 of the archive and the archive inspector into the store; then write the manifest, last.
 *
 *   vault (leader) ──► sha256 + inspector ──► [age encrypt] ──► sha256 of stored bytes ──► store
 *
 * The store's upload only completes after the inspector accepted the whole archive (the check
 * runs before the stream signals its end), so a truncated or corrupt snapshot never becomes a
 * stored object; a failure at any point leaves no new object that looks complete.
 */
export async function saveSnapshot(
  deps: SaveSnapshotDeps,
  options: SaveSnapshotOptions = {},
): Promise<SaveSnapshotResult> {
  const now = deps.now ?? (() => new Date());
  const progress = deps.progress ?? noProgress;
  const started = Date.now();
  const warnings: string[] = [];
  let phase: SavePhase = 'leader';
  const enter = (next: SavePhase) => {
    phase = next;
    deps.logger.debug({ phase }, `snapshot save: ${phase}`);
  };

  try {
    const { client: leader, leader: location } = await leaderClient(deps.vault);
    if (!location.isSelf) deps.logger.info({ leader: location.address }, 'talking to the leader for the snapshot');

    enter('facts');
    const facts = await readClusterFacts(leader, location.address);

    enter('plausibility');
    const previous = await deps.repository.newest();
    if (
      previous?.cluster.id &&
      facts.cluster.id &&
      previous.cluster.id !== facts.cluster.id &&
      !options.allowClusterChange
    ) {
      throw new VaultOpsError(
        'verification',
        `cluster id ${facts.cluster.id} differs from the newest snapshot's (${previous.id}, cluster ` +
          `${previous.cluster.id}) in ${deps.repository.url}: pointed at the wrong cluster or store? Pass ` +
          `--allow-cluster-change if the cluster was rebuilt on purpose`,
      );
    }

    let canary: CanaryValue | undefined;
    if (options.canaryMount) {
      enter('canary');
      canary = await writeCanary(leader, options.canaryMount, now());
    }

    enter('stream');
    const createdAt = now();
    const id = newSnapshotId(createdAt);
    const retention = options.objectLock
      ? { mode: options.objectLock.mode, until: new Date(createdAt.getTime() + options.objectLock.days * 86_400_000) }
      : undefined;
    const body = await openRaftSnapshot(leader, deps.signal);
    const streamed = await streamIntoStore({
      body,
      repository: deps.repository,
      id,
      progress,
      encryptTo: options.encryptTo,
      leaderAddress: location.address,
      ...(retention ? { retention } : {}),
      ...(deps.signal ? { signal: deps.signal } : {}),
    });

    enter('manifest');
    let manifest: SnapshotManifest = buildManifest({
      id,
      createdAt,
      key: streamed.key,
      streamed,
      facts,
      canary,
      encryptTo: options.encryptTo,
      durationSeconds: (Date.now() - started) / 1000,
    });
    if (options.signingKey) manifest = signManifest(manifest, options.signingKey);
    let mKey: string;
    try {
      mKey = await deps.repository.putManifest(manifest, retention ? { retention } : {});
    } catch (err) {
      // Without its manifest the archive is not part of the catalogue; remove it when possible so
      // that nothing half-done lingers (a locked one stays and is listed as incomplete).
      await deps.repository.discardArchive(streamed.key).catch(() => undefined);
      throw err;
    }

    warnings.push(...shrinkWarnings(previous, manifest));
    for (const w of warnings) deps.logger.warn({ snapshotId: id }, w);
    deps.reporter?.saved(manifest, { shrunk: warnings.length > 0 });
    enter('done');
    deps.logger.info(
      {
        snapshotId: id,
        bytes: manifest.archive.bytes,
        durationSeconds: manifest.durationSeconds,
        store: deps.repository.url,
      },
      'snapshot stored',
    );
    return { manifest, manifestKey: mKey, ...(previous ? { previousId: previous.id } : {}), warnings };
  } catch (caught) {
    // Interrupted (SIGTERM/SIGINT): whatever the layer that noticed first says, the store has
    // removed its partial object by now; say that in the words an operator needs.
    const err = deps.signal?.aborted
      ? new VaultOpsError(
          'aborted',
          `snapshot save interrupted during ${phase}; nothing was stored in ${deps.repository.url}: run it again`,
          { cause: caught },
        )
      : caught;
    deps.reporter?.failed(isVaultOpsError(err) ? err.code : 'internal', new Date());
    deps.logger.debug({ phase }, 'snapshot save failed');
    throw err;
  }
}

interface StreamedArchive {
  /** Where the archive was stored. */
  key: string;
  inspection: ArchiveInspection;
  plaintextSha256: string;
  storedSha256: string;
  storedBytes: number;
}

async function streamIntoStore(args: {
  body: Readable;
  repository: SnapshotRepository;
  id: string;
  progress: ProgressReporter;
  encryptTo: string[] | undefined;
  leaderAddress: string;
  retention?: ArchiveRetention;
  signal?: AbortSignal;
}): Promise<StreamedArchive> {
  const inspector = createArchiveInspector(args.signal ? { signal: args.signal } : {});
  let inspectionError: unknown;
  inspector.result.catch((err) => (inspectionError = err));
  const plainHash = createHash('sha256');
  let received = 0;

  // Hash and inspect every chunk on its way to the store; fail fast on a corrupt archive, and
  // hold back the end of the stream until the inspector has accepted the whole archive.
  const inspectAndHash = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (inspectionError) return callback(inspectionError as Error);
      plainHash.update(chunk);
      received += chunk.length;
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
  // stream goes straight from the inspector to the store.
  const encrypt = (args.encryptTo?.length ?? 0) > 0;
  const storedHash = encrypt ? createHash('sha256') : plainHash;
  let storedBytes = 0;
  const toStore = new PassThrough();
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
    storedSide = pipeline(await encryptStream(inspected, args.encryptTo ?? []), hashStored, toStore);
  } else {
    source = pipeline(args.body, new ChunkBatcher(), inspectAndHash, toStore);
    storedSide = source;
  }
  source.catch(() => undefined);
  storedSide.catch(() => undefined);
  const put = args.repository.putArchive(args.id, toStore, {
    encrypted: encrypt,
    ...(args.retention ? { retention: args.retention } : {}),
    ...(args.signal ? { signal: args.signal } : {}),
  });
  put.catch(() => undefined);

  const [sourceResult, storedResult, putResult] = await Promise.allSettled([source, storedSide, put]);
  // The root cause comes first: a broken Vault stream or a corrupt archive explains a failed upload.
  if (sourceResult.status === 'rejected' || storedResult.status === 'rejected' || putResult.status === 'rejected') {
    if (putResult.status === 'fulfilled')
      await args.repository.discardArchive(putResult.value.key).catch(() => undefined);
    const rootCause =
      inspectionError ??
      (sourceResult.status === 'rejected' ? sourceResult.reason : undefined) ??
      (storedResult.status === 'rejected' ? storedResult.reason : undefined) ??
      (putResult.status === 'rejected' ? putResult.reason : undefined);
    throw explainStreamFailure(rootCause, received, args.leaderAddress, args.repository.url);
  }
  args.progress({ phase: 'snapshot', bytes: received, done: true });
  const plaintextSha256 = plainHash.digest('hex');
  return {
    key: putResult.value.key,
    inspection: await inspector.result,
    plaintextSha256,
    storedSha256: encrypt ? storedHash.digest('hex') : plaintextSha256,
    storedBytes: encrypt ? storedBytes : received,
  };
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

function buildManifest(a: {
  id: string;
  createdAt: Date;
  key: string;
  streamed: StreamedArchive;
  facts: ClusterFacts;
  canary: CanaryValue | undefined;
  encryptTo: string[] | undefined;
  durationSeconds: number;
}): SnapshotManifest {
  const { inspection } = a.streamed;
  const encrypted = (a.encryptTo?.length ?? 0) > 0;
  return {
    id: a.id,
    createdAt: a.createdAt.toISOString(),
    archive: { key: a.key, bytes: a.streamed.storedBytes, sha256: a.streamed.storedSha256 },
    ...(encrypted ? { plaintextSha256: a.streamed.plaintextSha256 } : {}),
    raft: {
      index: inspection.meta.index,
      term: inspection.meta.term,
      configurationIndex: inspection.meta.configurationIndex,
      servers: inspection.meta.servers.map((s) => ({ id: s.id, address: s.address, suffrage: s.suffrage })),
    },
    snapshotMeta: { version: inspection.meta.version, size: inspection.meta.size },
    cluster: a.facts.cluster,
    seal: a.facts.seal,
    keyCounts: inspection.keyCounts,
    mounts: a.facts.mounts,
    authMethods: a.facts.authMethods,
    policies: a.facts.policies,
    ...(a.canary ? { canary: a.canary } : {}),
    ...(encrypted ? { encryption: { type: 'age' as const, recipients: a.encryptTo ?? [] } } : {}),
    durationSeconds: Math.round(a.durationSeconds * 1000) / 1000,
    toolVersion,
  };
}

/** Warn when the archive or a key prefix shrank by more than half: data loss or the wrong cluster. */
export function shrinkWarnings(previous: SnapshotManifest | undefined, current: SnapshotManifest): string[] {
  if (!previous) return [];
  const out: string[] = [];
  const prevSize = previous.snapshotMeta.size;
  if (prevSize > 0 && current.snapshotMeta.size < prevSize / 2) {
    out.push(
      `snapshot data shrank by more than half since ${previous.id} (${prevSize} → ${current.snapshotMeta.size} bytes ` +
        `of state): check for data loss`,
    );
  }
  for (const [prefix, before] of Object.entries(previous.keyCounts)) {
    const after = current.keyCounts[prefix] ?? 0;
    if (before >= 4 && after < before / 2)
      out.push(
        `keys under ${prefix} shrank by more than half since ${previous.id} (${before} → ${after}): check for data ` +
          `loss`,
      );
  }
  return out;
}
