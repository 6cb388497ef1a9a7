import type { KeyObject } from 'node:crypto';
import { VaultOpsError, isVaultOpsError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { noProgress, type ProgressReporter } from '../observability/progress.js';
import type { SnapshotRepository } from '../repository/snapshot-repository.js';
import { newSnapshotId } from '../repository/snapshot-id.js';
import type { VaultClient } from '../vault/client.js';
import { leaderClient } from '../vault/leader.js';
import { openRaftSnapshot } from '../vault/raft-snapshot.js';
import { toolVersion } from '../version.js';
import { writeCanary, type CanaryValue } from './canary.js';
import { readClusterFacts, type ClusterFacts } from './cluster-facts.js';
import type { SnapshotManifest } from '../repository/manifest.js';
import { signManifest } from '../repository/signature.js';
import { asStoreError, streamIntoStores, type StreamedArchive } from './stream-into-stores.js';

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
    // The snapshot is complete in each store that holds its manifest; the index only speeds up later
    // catalogues there (issue #23), so it never fails the save.
    for (const repository of repositories) {
      if (!destinations.some((d) => d.ok && d.store === repository.url)) continue;
      await repository.refreshIndexAfterWrite(deps.logger, {
        ...(options.signingKey ? { signingKey: options.signingKey } : {}),
        ...(deps.signal ? { signal: deps.signal } : {}),
      });
    }
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
