import { createReadStream } from 'node:fs';
import { VaultOpsError } from '../errors.js';
import type { SnapshotManifest } from '../repository/manifest.js';
import { downloadVerified } from '../snapshot/download-verified.js';
import type { VaultClient } from '../vault/client.js';
import { readAppliedIndex, restoreRaftSnapshot, waitForRestore } from '../vault/raft-snapshot.js';
import type { DrillDeps, DrillOptions } from './drill.js';
import { forgetSourceActiveNode } from './raw-storage.js';
import { openInRecovery, unsealWithKeys, waitFor, waitUnsealed } from './scratch-unseal.js';
import type { ScratchVault } from './scratch-vault.js';

/**
 * The phases of a drill, in order: download, start, restore, unseal (the checks are drill-checks.ts).
 * drill.ts times each and turns a phase's failure into the report.
 */

/** The archive into the scratch dir, checked against the manifest on the way (size, sha256, meta.json). */
export async function downloadArchive(
  deps: DrillDeps,
  options: DrillOptions,
  manifest: SnapshotManifest,
  archive: string,
): Promise<{ passed: boolean; detail: string }> {
  return await downloadVerified(
    { repository: deps.repository, ...(deps.signal ? { signal: deps.signal } : {}) },
    manifest,
    archive,
    options.identities,
  );
}

/**
 * A fresh scratch server, initialised and active: always a Shamir key of its own, whatever the
 * source's seal. The restored keyring is sealed by the source's keys, which this server cannot open:
 * it seals itself instead of running the copy (expiration manager, plugins, audit devices) live.
 */
export async function startFresh(scratch: ScratchVault, deps: DrillDeps): Promise<VaultClient> {
  await scratch.start('fresh', deps.signal);
  const anon = scratch.client();
  const init = await anon.write<{ keys_base64: string[]; root_token: string }>(
    'sys/init',
    { secret_shares: 1, secret_threshold: 1 },
    { unauthenticated: true },
  );
  deps.secrets.add(init.root_token);
  init.keys_base64.forEach((k) => deps.secrets.add(k));
  await anon.write('sys/unseal', { key: init.keys_base64[0] }, { unauthenticated: true });
  const admin = scratch.client(init.root_token);
  await waitFor(
    'the scratch server to become active',
    async () => (await admin.read<{ is_self?: boolean }>('sys/leader', { unauthenticated: true })).is_self === true,
    60_000,
    deps.signal,
  );
  return admin;
}

/**
 * Restore the archive into the fresh server and wait until it is applied. Every snapshot is sealed by
 * another cluster's keys than the scratch server's: the node seals itself once the restore is applied.
 * Wait for exactly that; nothing else counts as done.
 */
export async function restoreArchive(
  scratch: ScratchVault,
  admin: VaultClient,
  archive: string,
  manifest: SnapshotManifest,
  deps: DrillDeps,
  restoreTimeoutMs: number,
): Promise<void> {
  const appliedBefore = await readAppliedIndex(admin);
  await restoreRaftSnapshot(admin, createReadStream(archive), {
    force: true,
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  const { sealed: sealedAfterRestore, applied } = await waitForRestore(scratch.client(), {
    appliedBefore,
    snapshotIndex: manifest.raft.index,
    untilSealed: true,
    timeoutMs: restoreTimeoutMs,
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  if (!applied) {
    throw new VaultOpsError(
      'scratch',
      `the scratch server did not seal itself within ${Math.round(restoreTimeoutMs / 1000)} s of restoring ` +
        `snapshot ${manifest.id} (a restored snapshot always seals it): check the scratch server's resources and ` +
        `log, and try again`,
    );
  }
  deps.logger.debug({ sealedAfterRestore }, 'restore applied');
}

/**
 * Open the restored copy with the source's keys: in recovery mode (sys/raw only), or unsealed with a
 * token of the source to read with. A string says why it could not be opened (the drill fails).
 */
export async function openRestored(
  scratch: ScratchVault,
  manifest: SnapshotManifest,
  options: DrillOptions,
  deps: DrillDeps,
): Promise<VaultClient | string> {
  const opened = await openInRecovery(scratch, options.unsealKeys, manifest, deps);
  if (options.mode === 'recovery' || typeof opened === 'string') return opened;
  // The restored data still names the source's active node and its cluster address. Unsealed as it is,
  // the scratch server starts as that node's standby and dials it: the source cluster, production
  // perhaps. Vault (1.19 and later) answers that the scratch node is no member, which then marks itself
  // removed and never becomes active. So forget that node first, in recovery mode, where nothing runs.
  await forgetSourceActiveNode(opened);
  await scratch.stop();
  await scratch.start('restored-unsealed', deps.signal);
  // Auto-unseal sources unseal through their seal stanza; Shamir ones with the source's keys.
  const unsealed = options.sealConfig
    ? await waitUnsealed(scratch, deps.signal)
    : await unsealWithKeys(scratch, options.unsealKeys);
  if (unsealed) return unsealed;
  if (!options.verifyToken)
    throw new VaultOpsError(
      'config',
      '--mode unsealed needs --verify-token-file: a token of the source cluster to read with',
    );
  const reader = scratch.client(options.verifyToken);
  await waitFor(
    'the restored server to become active',
    async () => (await reader.read<{ is_self?: boolean }>('sys/leader', { unauthenticated: true })).is_self === true,
    60_000,
    deps.signal,
  );
  return reader;
}
