import { tmpdir } from 'node:os';
import { VaultOpsError, isVaultOpsError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { downloadVerified } from '../snapshot/download-verified.js';
import type { SnapshotManifest } from '../repository/manifest.js';
import { verifyManifestSignature } from '../repository/signature.js';
import type { SnapshotProtection } from '../snapshot/protection.js';
import { saveSnapshot } from '../snapshot/save.js';
import type { SnapshotRepository } from '../repository/snapshot-repository.js';
import { anomalyOf } from '../repository/catalogue.js';
import { drillStatus } from '../repository/drill-history.js';
import type { VaultClient } from '../vault/client.js';
import { leaderClient } from '../vault/leader.js';
import { readAppliedIndex, restoreRaftSnapshot, waitForRestore } from '../vault/raft-snapshot.js';
import { flavourBinary, readServerFlavour, type ServerFlavour } from '../vault/flavour.js';
import { readSealStatus } from '../vault/sys.js';
import { reviewRotations, type RecordSource, type RolledBackRotation, type RotationReview } from './rotations.js';
import { openUnnamedTempFile } from './unnamed-temp-file.js';

/** What `restore` will do, shown before the confirmation. */
export interface RestorePlan {
  target: {
    address: string;
    leader: string;
    clusterName?: string;
    clusterId?: string;
    flavour: ServerFlavour;
    version?: string;
  };
  snapshot: {
    id: string;
    createdAt: string;
    ageSeconds: number;
    raftIndex: number;
    clusterName?: string;
    clusterId?: string;
    flavour?: ServerFlavour;
    version?: string;
    encrypted: boolean;
    /** `verified (key …)` in a signed store; `unsigned store` without verify keys. */
    signature: string;
    /** The snapshot's last drill, in words (`passed 2026-…`, `failed …`, `never drilled`). */
    drill: string;
    /**
     * Why the catalogue set the snapshot apart (a possible replay, a time that disagrees with its id):
     * the restore stops for a typed confirmation of the id, `--yes` is not enough.
     */
    anomaly?: string;
    /** The snapshot's manifest `purpose` (`safety`: the state an earlier restore replaced). */
    purpose?: string;
  };
  /** Whether the target's current state is snapshotted into the store first (`--no-safety-snapshot`: false). */
  safetySnapshot: boolean;
  /** The snapshot was taken from the target cluster (same cluster id). */
  sameCluster: boolean;
  force: boolean;
  notes: string[];
  /** The rotations recorded after the snapshot, which the restore will roll back, and the stores read. */
  rotations: RotationReview;
}

export interface RestoreResult {
  plan: RestorePlan;
  safetySnapshotId?: string;
  /** The target's seal state once the restore was applied. */
  sealed: boolean;
  applied: boolean;
  /** Rotations recorded after the snapshot: the restore rolled them back (one entry per connection or secret). */
  rolledBackRotations: RolledBackRotation[];
  /** The stores whose rotation records were read (the snapshot store first). */
  recordsRead: string[];
  nextSteps: string[];
}

/** A store to read rotation records from, as the operator named it (`--records-from`). */
export interface RecordStore {
  label: string;
  repository: SnapshotRepository;
}

export interface RestoreDeps {
  /** Logged-in client for any node of the target cluster. */
  vault: VaultClient;
  repository: SnapshotRepository;
  /** How the operator named `repository` (`--from` as given), for printed commands; its URL by default. */
  repositoryLabel?: string;
  /** Further stores holding rotation records (`--records-from`); the snapshot store is always read. */
  recordStores?: readonly RecordStore[];
  logger: Logger;
  signal?: AbortSignal;
}

export async function planRestore(
  deps: RestoreDeps,
  options: { snapshot: string; force: boolean; safetySnapshot?: boolean; now?: Date },
): Promise<{ plan: RestorePlan; manifest: SnapshotManifest; leader: VaultClient }> {
  if (options.snapshot === 'latest' || options.snapshot === 'oldest') {
    // An operator's restore names its snapshot: the newest is often the safety snapshot of a restore
    // just made, i.e. the damaged state.
    const picked = await deps.repository.find(options.snapshot);
    throw new VaultOpsError(
      'usage',
      `restore takes a snapshot id, not ${options.snapshot}: it would have picked ${picked.id} (taken ` +
        `${picked.createdAt}${picked.purpose === 'safety' ? ', the SAFETY snapshot of an earlier restore' : ''}); ` +
        `check it with vault-ops snapshot list and pass --snapshot ${picked.id} if it is the one`,
    );
  }
  // Signature, anomaly and drill status are settled before anything talks to the target. The whole
  // catalogue is read, not the one snapshot: whether it is a possible replay (the same archive under
  // another id, a raft index below an older snapshot's) depends on every other manifest in the store.
  const catalogue = await deps.repository.catalogue({ uploads: false });
  const manifest = deps.repository.select(catalogue, options.snapshot, { allowAnomaly: true });
  const anomaly = anomalyOf(catalogue, manifest.id)?.reason;
  const keys = deps.repository.trust.verifyKeys;
  if (keys.length) verifyManifestSignature(manifest, keys);
  const lastDrill = (await deps.repository.drillStatuses(catalogue, [manifest.id])).get(manifest.id) ?? drillStatus([]);
  const flavour = await readServerFlavour(deps.vault);
  if ((await readSealStatus(deps.vault)).sealed) throw await sealedTargetError(deps.vault);
  const { client: leader, leader: location } = await leaderClient(deps.vault);
  const seal = await readSealStatus(leader);
  const now = options.now ?? new Date();
  const sameCluster = Boolean(seal.cluster_id && manifest.cluster.id && seal.cluster_id === manifest.cluster.id);
  const notes: string[] = [];
  if (!sameCluster) {
    notes.push(
      options.force
        ? `the snapshot comes from another cluster (${manifest.cluster.id ?? 'unknown id'}): after this forced ` +
            `restore the target seals itself and unseals only with the SNAPSHOT's unseal keys; the snapshot's tokens ` +
            `then apply`
        : `the snapshot comes from another cluster (${manifest.cluster.id ?? 'unknown id'}): a plain restore fails ` +
            `when the target's keys differ from the snapshot's; --force restores anyway, and the target must then be ` +
            `unsealed with the snapshot's keys`,
    );
  }
  notes.push('everything written to the target after the snapshot is lost (secrets, leases, tokens, rotations)');
  // Before the confirmation: a records store that cannot be read stops the restore before anything changed.
  const rotations = reviewRotations(
    manifest,
    await readRecordSources(deps),
    deps.repositoryLabel ?? deps.repository.url,
  );
  const plan: RestorePlan = {
    target: {
      address: deps.vault.address,
      leader: location.address,
      ...(seal.cluster_name ? { clusterName: seal.cluster_name } : {}),
      ...(seal.cluster_id ? { clusterId: seal.cluster_id } : {}),
      flavour,
      ...(seal.version ? { version: seal.version } : {}),
    },
    snapshot: {
      id: manifest.id,
      createdAt: manifest.createdAt,
      ageSeconds: Math.round((now.getTime() - Date.parse(manifest.createdAt)) / 1000),
      raftIndex: manifest.raft.index,
      ...(manifest.cluster.name ? { clusterName: manifest.cluster.name } : {}),
      ...(manifest.cluster.id ? { clusterId: manifest.cluster.id } : {}),
      ...(manifest.cluster.flavour ? { flavour: manifest.cluster.flavour } : {}),
      ...(manifest.cluster.version ? { version: manifest.cluster.version } : {}),
      encrypted: manifest.encryption !== undefined,
      signature: keys.length ? `verified (key ${manifest.signature?.keyId ?? '?'})` : 'unsigned store: not checked',
      drill: lastDrill.lastPassingDrill
        ? `passed ${lastDrill.lastPassingDrill.finishedAt}`
        : lastDrill.lastDrill
          ? `failed ${lastDrill.lastDrill.finishedAt}, never passed`
          : 'never drilled',
      ...(anomaly ? { anomaly } : {}),
      ...(manifest.purpose ? { purpose: manifest.purpose } : {}),
    },
    safetySnapshot: options.safetySnapshot ?? true,
    sameCluster,
    force: options.force,
    notes,
    rotations,
  };
  return { plan, manifest, leader };
}

/**
 * A sealed target cannot take a restore: unseal it with this flavour's CLI, or, when it will not
 * unseal, restore into a new cluster (the runbook's section 7). Works with a client that has no token.
 */
export async function sealedTargetError(vault: VaultClient, cause?: unknown): Promise<VaultOpsError> {
  const flavour = await readServerFlavour(vault).catch(() => undefined);
  const cli = flavour ? flavourBinary(flavour) : 'bao/vault';
  return new VaultOpsError(
    'vault-sealed',
    `the target at ${vault.address} is sealed: unseal it (${cli} operator unseal, up to the threshold) and run ` +
      `again; if it cannot be unsealed (keys lost, storage damaged), restore into a new cluster instead ` +
      `(runbooks/restore.md, section 7)`,
    cause ? { cause } : undefined,
  );
}

/** Every record of the snapshot store and of each records store (a store named twice is read once). */
async function readRecordSources(deps: RestoreDeps): Promise<RecordSource[]> {
  const stores: RecordStore[] = [
    { label: deps.repositoryLabel ?? deps.repository.url, repository: deps.repository },
    ...(deps.recordStores ?? []),
  ];
  const sources: RecordSource[] = [];
  for (const store of stores) {
    if (sources.some((s) => s.url === store.repository.url)) continue;
    sources.push({ label: store.label, url: store.repository.url, records: await store.repository.records.list() });
  }
  return sources;
}

/**
 * The operator's restore, after the plan was confirmed: a safety snapshot of the target into the
 * same store (unless skipped), the archive downloaded to an unnamed temp file and verified against its
 * manifest BEFORE anything is sent, then streamed to the leader, and the restore waited for.
 */
export async function executeRestore(
  deps: RestoreDeps,
  prepared: { plan: RestorePlan; manifest: SnapshotManifest; leader: VaultClient },
  options: {
    safetySnapshot: boolean;
    protection?: SnapshotProtection;
    identities?: string[];
    timeoutMs?: number;
    tempRoot?: string;
  },
): Promise<RestoreResult> {
  const { plan, manifest, leader } = prepared;
  if (manifest.encryption && !options.identities?.length) {
    throw new VaultOpsError(
      'config',
      `snapshot ${manifest.id} is encrypted: pass --identity-file with a key for one of its recipients`,
    );
  }

  // The plaintext archive goes to a file without a name, gone with this process however it ends.
  const archive = await openUnnamedTempFile(options.tempRoot ?? tmpdir(), 'vault-ops-restore-');
  try {
    const integrity = await downloadVerified(
      { repository: deps.repository, ...(deps.signal ? { signal: deps.signal } : {}) },
      manifest,
      archive.createWriteStream(),
      options.identities,
    );
    if (!integrity.passed)
      throw new VaultOpsError(
        'verification',
        `snapshot ${manifest.id} failed its integrity check, nothing was restored: ${integrity.detail}`,
      );

    let safetySnapshotId: string | undefined;
    if (options.safetySnapshot) {
      const safety = await saveSnapshot(
        {
          vault: deps.vault,
          repository: deps.repository,
          logger: deps.logger,
          ...(deps.signal ? { signal: deps.signal } : {}),
        },
        { ...options.protection, allowClusterChange: true, purpose: 'safety' },
      );
      safetySnapshotId = safety.manifest.id;
      deps.logger.info({ snapshotId: safetySnapshotId }, 'safety snapshot of the target taken');
    }

    const appliedBefore = await readAppliedIndex(leader);
    try {
      await restoreRaftSnapshot(leader, archive.createReadStream(), {
        force: plan.force,
        ...(deps.signal ? { signal: deps.signal } : {}),
      });
    } catch (err) {
      if (
        isVaultOpsError(err) &&
        !plan.force &&
        err.code === 'vault-request' &&
        /seal|key|barrier|decrypt|authentication/i.test(err.message)
      ) {
        throw new VaultOpsError(
          'vault-request',
          `the target refused the plain restore (${err.message}): the snapshot was sealed with other keys than the ` +
            `target's. If you mean to replace this cluster's data and keys, run again with --force and then unseal ` +
            `with the snapshot's keys`,
          { cause: err },
        );
      }
      throw err;
    }
    deps.logger.info(
      { snapshotId: manifest.id, leader: plan.target.leader },
      'snapshot sent to the leader; waiting until it is applied',
    );
    const { sealed, applied } = await waitForRestore(leader, {
      appliedBefore,
      snapshotIndex: manifest.raft.index,
      untilSealed: false,
      timeoutMs: options.timeoutMs ?? 300_000,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });

    const rolledBackRotations = plan.rotations.rolledBack;
    const nextSteps: string[] = [];
    if (sealed)
      nextSteps.push(
        `unseal every node with the ${plan.sameCluster ? "cluster's" : "snapshot's (source cluster's)"} unseal keys: ` +
          `${flavourBinary(plan.target.flavour)} operator unseal`,
      );
    nextSteps.push('check the cluster: vault-ops status (leader, peers, autopilot healthy)');
    nextSteps.push('validate the data applications need (read a few known secrets; log in with an application role)');
    if (rolledBackRotations.length)
      nextSteps.push(
        `reconcile the ${rolledBackRotations.length} rotation(s) the restore rolled back (listed above) before ` +
          `applications fail (runbooks/restore.md, section 6)`,
      );
    if (safetySnapshotId)
      nextSteps.push(`if this restore was a mistake, the state before it is snapshot ${safetySnapshotId}`);
    return {
      plan,
      ...(safetySnapshotId ? { safetySnapshotId } : {}),
      sealed,
      applied,
      rolledBackRotations,
      recordsRead: plan.rotations.recordsRead,
      nextSteps,
    };
  } finally {
    await archive.close();
  }
}
