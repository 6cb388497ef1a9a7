import { tmpdir } from 'node:os';
import { VaultOpsError, isVaultOpsError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { downloadVerified } from '../snapshot/download-verified.js';
import type { SnapshotManifest } from '../repository/manifest.js';
import { verifyManifestSignature } from '../repository/signature.js';
import type { SnapshotProtection } from '../snapshot/protection.js';
import { saveSnapshot } from '../snapshot/save.js';
import type { RotationRecord } from '../repository/records.js';
import type { SnapshotRepository } from '../repository/snapshot-repository.js';
import { anomalyOf } from '../repository/catalogue.js';
import { drillStatus } from '../repository/drill-history.js';
import type { VaultClient } from '../vault/client.js';
import { leaderClient } from '../vault/leader.js';
import { readAppliedIndex, restoreRaftSnapshot, waitForRestore } from '../vault/raft-snapshot.js';
import { readSealStatus } from '../vault/sys.js';
import { openUnnamedTempFile } from './unnamed-temp-file.js';

/** What `restore` will do, shown before the confirmation. */
export interface RestorePlan {
  target: { address: string; leader: string; clusterName?: string; clusterId?: string; version?: string };
  snapshot: {
    id: string;
    createdAt: string;
    ageSeconds: number;
    raftIndex: number;
    clusterName?: string;
    clusterId?: string;
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
  };
  /** The snapshot was taken from the target cluster (same cluster id). */
  sameCluster: boolean;
  force: boolean;
  notes: string[];
}

export interface RestoreResult {
  plan: RestorePlan;
  safetySnapshotId?: string;
  /** The target's seal state once the restore was applied. */
  sealed: boolean;
  applied: boolean;
  /** Rotations recorded after the snapshot: the restore rolled them back. */
  rolledBackRotations: Array<RotationRecord & { action: string }>;
  nextSteps: string[];
}

export interface RestoreDeps {
  /** Logged-in client for any node of the target cluster. */
  vault: VaultClient;
  repository: SnapshotRepository;
  logger: Logger;
  signal?: AbortSignal;
}

export async function planRestore(
  deps: RestoreDeps,
  options: { snapshot: string; force: boolean; now?: Date },
): Promise<{ plan: RestorePlan; manifest: SnapshotManifest; leader: VaultClient }> {
  // Signature, anomaly and drill status are settled before anything talks to the target.
  const catalogue = await deps.repository.catalogue();
  const manifest = deps.repository.select(catalogue, options.snapshot, { allowAnomaly: true });
  const anomaly = anomalyOf(catalogue, manifest.id)?.reason;
  const keys = deps.repository.trust.verifyKeys;
  if (keys.length) verifyManifestSignature(manifest, keys);
  const lastDrill = drillStatus((await deps.repository.drillHistory(catalogue, [manifest.id])).get(manifest.id));
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
  const plan: RestorePlan = {
    target: {
      address: deps.vault.address,
      leader: location.address,
      ...(seal.cluster_name ? { clusterName: seal.cluster_name } : {}),
      ...(seal.cluster_id ? { clusterId: seal.cluster_id } : {}),
      ...(seal.version ? { version: seal.version } : {}),
    },
    snapshot: {
      id: manifest.id,
      createdAt: manifest.createdAt,
      ageSeconds: Math.round((now.getTime() - Date.parse(manifest.createdAt)) / 1000),
      raftIndex: manifest.raft.index,
      ...(manifest.cluster.name ? { clusterName: manifest.cluster.name } : {}),
      ...(manifest.cluster.id ? { clusterId: manifest.cluster.id } : {}),
      ...(manifest.cluster.version ? { version: manifest.cluster.version } : {}),
      encrypted: manifest.encryption !== undefined,
      signature: keys.length ? `verified (key ${manifest.signature?.keyId ?? '?'})` : 'unsigned store: not checked',
      drill: lastDrill.lastPassingDrill
        ? `passed ${lastDrill.lastPassingDrill.finishedAt}`
        : lastDrill.lastDrill
          ? `failed ${lastDrill.lastDrill.finishedAt}, never passed`
          : 'never drilled',
      ...(anomaly ? { anomaly } : {}),
    },
    sameCluster,
    force: options.force,
    notes,
  };
  return { plan, manifest, leader };
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
        { ...options.protection, allowClusterChange: true },
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

    const records = await deps.repository.records.list(new Date(manifest.createdAt));
    const rolledBackRotations = records.map((r) => ({ ...r, action: rotationAction(r) }));
    const nextSteps: string[] = [];
    if (sealed)
      nextSteps.push(
        `unseal every node with the ${plan.sameCluster ? "cluster's" : "snapshot's (source cluster's)"} unseal keys: ` +
          `bao/vault operator unseal`,
      );
    nextSteps.push('check the cluster: vault-ops status (leader, peers, autopilot healthy)');
    nextSteps.push('validate the data applications need (read a few known secrets; log in with an application role)');
    if (rolledBackRotations.length)
      nextSteps.push(
        `reconcile the ${rolledBackRotations.length} rotation(s) the restore rolled back (listed above) before ` +
          `applications fail`,
      );
    if (safetySnapshotId)
      nextSteps.push(`if this restore was a mistake, the state before it is snapshot ${safetySnapshotId}`);
    return { plan, ...(safetySnapshotId ? { safetySnapshotId } : {}), sealed, applied, rolledBackRotations, nextSteps };
  } finally {
    await archive.close();
  }
}

function rotationAction(record: RotationRecord): string {
  if (record.kind === 'database-root') {
    const connection = record.connection ?? record.path?.split('/').pop() ?? '?';
    return (
      `the database root of connection ${connection} (mount ${record.mount ?? '?'}) was rotated after the ` +
      `snapshot: Vault now holds the OLD root password; run 'vault-ops runbook rotate-root --mount ` +
      `${record.mount ?? '?'} --connection ${connection} --rebootstrap' with the current one`
    );
  }
  if (record.kind.startsWith('kv')) {
    return (
      `${record.mount ?? '?'}/${record.path ?? '?'} was rotated after the snapshot: Vault now serves the ` +
      `previous value; run 'vault-ops rotate kv --force --only ${record.mount ?? '?'}/${record.path ?? '?'}' (or ` +
      `restore the value the target system uses)`
    );
  }
  return `rotated after the snapshot (${record.kind}): check that Vault and the target system agree`;
}
