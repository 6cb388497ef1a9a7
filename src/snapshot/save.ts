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
import { ChunkBatcher } from './archive/chunk-batcher.js';
import { FanOut } from './fan-out.js';
import { createArchiveInspector, type ArchiveInspection } from './archive/archive-inspector.js';
import { writeCanary, type CanaryValue } from './canary.js';
import { readClusterFacts, type ClusterFacts } from './cluster-facts.js';
import type { SnapshotManifest } from '../repository/manifest.js';
import { signManifest } from '../repository/signature.js';

export interface SaveSnapshotOptions {
  /** age recipients: encrypt the archive client-side before it leaves the machine. */
  encryptTo?: string[];
  signingKey?: KeyObject;
  /** Write the restore-drill canary to this KV v1 mount just before the snapshot. */
  canaryMount?: string;
  /** Accept a snapshot whose cluster id differs from the newest one in the store. */
  allowClusterChange?: boolean;
  objectLock?: { mode: 'GOVERNANCE' | 'COMPLIANCE'; days: number };
  /** The manifest's `purpose` (restore's safety snapshot: `safety`). */
  purpose?: 'safety';
}

export interface SaveSnapshotDeps {
  /** A logged-in client for any node; the snapshot is taken from the leader. */
  vault: VaultClient;
  repository: SnapshotRepository;
  logger: Logger;
  now?: () => Date;
  progress?: ProgressReporter;
  signal?: AbortSignal | undefined;
  /** Told how the save ended (metrics); the library reports, the caller decides where it goes. */
  reporter?: SnapshotReporter;
}

/** `saveSnapshotToStores`: the same, to every repository at once (the first is the primary, for messages). */
export type SaveToStoresDeps = Omit<SaveSnapshotDeps, 'repository'> & { repositories: SnapshotRepository[] };

/**
 * What a save reports, restic-style: typed events, no metrics library in sight. With several
 * destinations, one event per destination, naming its store (its credential-free URL).
 */
export interface SnapshotReporter {
  saved(manifest: SnapshotManifest, outcome: { shrunk: boolean; store?: string }): void;
  failed(reason: string, at: Date, store?: string): void;
}

export interface SaveSnapshotResult {
  manifest: SnapshotManifest;
  manifestKey: string;
  previousId?: string;
  warnings: string[];
}

/** One destination's outcome of a save to several stores. */
export type DestinationOutcome =
  | { store: string; ok: true; manifest: SnapshotManifest; manifestKey: string }
  | { store: string; ok: false; error: VaultOpsError };

export interface SaveToStoresResult {
  id: string;
  /** Every destination, in the order given. */
  destinations: DestinationOutcome[];
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
  const { repository, ...rest } = deps;
  const result = await saveSnapshotToStores({ ...rest, repositories: [repository] }, options);
  const only = result.destinations[0];
  if (!only?.ok) throw only?.error ?? new VaultOpsError('internal', 'snapshot save: no destination');
  return {
    manifest: only.manifest,
    manifestKey: only.manifestKey,
    ...(result.previousId ? { previousId: result.previousId } : {}),
    warnings: result.warnings,
  };
}

/**
 * `saveSnapshot` to several stores at once: one read from Vault, one inspection and one SHA-256,
 * the stored bytes streamed to every store in the same pass (the slowest sets the pace; memory
 * stays flat). Each store gets the archive and its own manifest, under the same snapshot id.
 *
 * A store that fails (its upload or its manifest) is cut off: its partial archive is removed by
 * the store (or discarded when its manifest could not be written), and the others go on. The
 * result names each destination's outcome; it throws only when the snapshot itself failed (Vault,
 * a corrupt archive, an interruption) or when every destination failed, with the error a single
 * store's save would throw.
 */
export async function saveSnapshotToStores(
  deps: SaveToStoresDeps,
  options: SaveSnapshotOptions = {},
): Promise<SaveToStoresResult> {
  const repositories = deps.repositories;
  if (repositories.length === 0) throw new VaultOpsError('usage', 'snapshot save needs at least one store (--to)');
  const urls = repositories.map((r) => r.url).join(', ');
  const now = deps.now ?? (() => new Date());
  const progress = deps.progress ?? noProgress;
  const started = Date.now();
  const warnings: string[] = [];
  let phase: SavePhase = 'leader';
  const enter = (next: SavePhase) => {
    phase = next;
    deps.logger.debug({ phase }, `snapshot save: ${phase}`);
  };
  // Destinations already settled (reported) when a later failure of the whole save comes.
  const settled = new Set<string>();

  try {
    const { client: leader, leader: location } = await leaderClient(deps.vault);
    if (!location.isSelf) deps.logger.info({ leader: location.address }, 'talking to the leader for the snapshot');

    enter('facts');
    const facts = await readClusterFacts(leader, location.address);

    enter('plausibility');
    // The cluster check runs against every destination, each on its own: a store holding another
    // cluster's snapshots is the wrong store, and it is cut off and named while the others still get
    // the snapshot (one object in the weakest store must not stop every backup). Shrinkage compares
    // with the newest of all the stores that passed.
    let previous: SnapshotManifest | undefined;
    const refused = new Map<SnapshotRepository, VaultOpsError>();
    for (const repository of repositories) {
      const newest = await repository.newest();
      if (
        newest?.cluster.id &&
        facts.cluster.id &&
        newest.cluster.id !== facts.cluster.id &&
        !options.allowClusterChange
      ) {
        refused.set(
          repository,
          new VaultOpsError(
            'verification',
            `cluster id ${facts.cluster.id} differs from the newest snapshot's (${newest.id}, cluster ` +
              `${newest.cluster.id}) in ${repository.url}: pointed at the wrong cluster or store? Pass ` +
              `--allow-cluster-change if the cluster was rebuilt on purpose`,
          ),
        );
        continue;
      }
      if (newest && (!previous || newest.id > previous.id)) previous = newest;
    }
    const accepted = repositories.filter((r) => !refused.has(r));
    if (accepted.length === 0) throw refused.get(repositories[0]!)!;

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
    const streamed = await streamIntoStores({
      body,
      repositories: accepted,
      id,
      progress,
      encryptTo: options.encryptTo,
      leaderAddress: location.address,
      logger: deps.logger,
      ...(retention ? { retention } : {}),
      ...(deps.signal ? { signal: deps.signal } : {}),
    });

    enter('manifest');
    const durationSeconds = (Date.now() - started) / 1000;
    const destinations: DestinationOutcome[] = [];
    for (const repository of repositories) {
      const cutOff = refused.get(repository);
      if (cutOff) {
        destinations.push({ store: repository.url, ok: false, error: cutOff });
        continue;
      }
      const put = streamed.puts[accepted.indexOf(repository)]!;
      if (!put.ok) {
        destinations.push({ store: repository.url, ok: false, error: put.error });
        continue;
      }
      let manifest: SnapshotManifest = buildManifest({
        id,
        createdAt,
        key: put.key,
        streamed,
        facts,
        canary,
        encryptTo: options.encryptTo,
        durationSeconds,
      });
      if (options.purpose) manifest = { ...manifest, purpose: options.purpose };
      if (options.signingKey) manifest = signManifest(manifest, options.signingKey);
      try {
        const manifestKey = await repository.putManifest(manifest, retention ? { retention } : {});
        destinations.push({ store: repository.url, ok: true, manifest, manifestKey });
      } catch (err) {
        // Without its manifest the archive is not part of the catalogue; remove it when possible so
        // that nothing half-done lingers (a locked one stays and is listed as incomplete).
        await repository.discardArchive(put.key).catch(() => undefined);
        if (deps.signal?.aborted) throw err;
        destinations.push({ store: repository.url, ok: false, error: asStoreError(err, repository.url) });
      }
    }

    const stored = destinations.filter((d) => d.ok);
    const first = stored[0];
    if (first) warnings.push(...shrinkWarnings(previous, first.manifest));
    for (const w of warnings) deps.logger.warn({ snapshotId: id }, w);
    for (const d of destinations) {
      settled.add(d.store);
      if (d.ok) {
        deps.reporter?.saved(d.manifest, { shrunk: warnings.length > 0, store: d.store });
        deps.logger.info(
          {
            snapshotId: id,
            bytes: d.manifest.archive.bytes,
            durationSeconds: d.manifest.durationSeconds,
            store: d.store,
          },
          'snapshot stored',
        );
      } else {
        deps.reporter?.failed(d.error.code, new Date(), d.store);
        deps.logger.error({ snapshotId: id, store: d.store, err: d.error.message }, 'snapshot not stored');
      }
    }
    if (!first) throw destinations.find((d) => !d.ok)?.error;
    enter('done');
    return { id, destinations, ...(previous ? { previousId: previous.id } : {}), warnings };
  } catch (caught) {
    // Interrupted (SIGTERM/SIGINT): whatever the layer that noticed first says, the store has
    // removed its partial object by now; say that in the words an operator needs.
    const err = deps.signal?.aborted
      ? new VaultOpsError(
          'aborted',
          `snapshot save interrupted during ${phase}; nothing was stored in ${urls}: run it again`,
          { cause: caught },
        )
      : caught;
    const reason = isVaultOpsError(err) ? err.code : 'internal';
    const at = new Date();
    for (const r of repositories) if (!settled.has(r.url)) deps.reporter?.failed(reason, at, r.url);
    deps.logger.debug({ phase }, 'snapshot save failed');
    throw err;
  }
}

function asStoreError(err: unknown, url: string): VaultOpsError {
  if (isVaultOpsError(err)) return err;
  const code = (err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? 'error';
  return new VaultOpsError('store', `writing to ${url} failed (${code}): check the store and run again`, {
    cause: err,
  });
}

interface StreamedArchive {
  /** Each destination's upload, in the order of the repositories. */
  puts: Array<{ ok: true; key: string } | { ok: false; error: VaultOpsError }>;
  inspection: ArchiveInspection;
  plaintextSha256: string;
  storedSha256: string;
  storedBytes: number;
}

async function streamIntoStores(args: {
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
