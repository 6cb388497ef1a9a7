import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { VaultOpsError, isVaultOpsError } from '../errors.js';
import { byteStreamError, openByteStream } from './byte-stream.js';
import type { VaultClient } from './client.js';
import { readSealStatus } from './sys.js';

const SNAPSHOT_PATH = 'sys/storage/raft/snapshot';

/**
 * Open the Raft snapshot download on the leader (a standby answers 307, so `leader` must be the
 * active node). The server sends 200 before streaming: a broken stream is a 200 with a short
 * body, which only the archive inspection downstream can tell apart from a good one.
 */
export async function openRaftSnapshot(leader: VaultClient, signal?: AbortSignal): Promise<Readable> {
  const response = await openByteStream(leader.connection, {
    method: 'GET',
    path: SNAPSHOT_PATH,
    ...(leader.token ? { token: leader.token } : {}),
    ...(signal ? { signal } : {}),
  });
  if (response.status !== 200) {
    const err = await byteStreamError('GET', SNAPSHOT_PATH, response);
    if (err.code === 'vault-permission') {
      throw new VaultOpsError(
        'vault-permission',
        `permission denied: GET ${SNAPSHOT_PATH} needs 'read' on that path; grant it with the policy from 'vault-ops ` +
          `setup policies snapshot'`,
      );
    }
    throw err;
  }
  return response.body;
}

/** Stream an archive into the leader: `force` uses snapshot-force (skips the seal-key check). */
export async function restoreRaftSnapshot(
  leader: VaultClient,
  body: Readable,
  options: { force: boolean; signal?: AbortSignal },
): Promise<void> {
  const path = options.force ? 'sys/storage/raft/snapshot-force' : SNAPSHOT_PATH;
  const response = await openByteStream(leader.connection, {
    method: 'POST',
    path,
    body,
    ...(leader.token ? { token: leader.token } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    headersTimeoutMs: 60 * 60 * 1000,
  });
  if (response.status !== 204 && response.status !== 200) throw await byteStreamError('POST', path, response);
  response.body.resume();
}

/** The raft index the node has applied (sys/leader; 0 when it does not say, e.g. sealed). */
export async function readAppliedIndex(client: VaultClient): Promise<number> {
  const status = await client.read<{ raft_applied_index?: number }>('sys/leader', { unauthenticated: true });
  return status.raft_applied_index ?? 0;
}

export interface RestoreWait {
  /** The applied index read just before the snapshot was sent. */
  appliedBefore: number;
  /** The snapshot's raft index (manifest.raft.index). */
  snapshotIndex: number;
  /** Done only when the node seals itself (a Shamir snapshot restored into another cluster). */
  untilSealed: boolean;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * After the 204 the node applies the snapshot in the background, holding its state lock. Done when
 * it sealed itself (the restored keys differ from its own), or when its applied index moved past
 * the one read before the restore (raft installs a restored snapshot at an index above both its
 * own last index and the snapshot's) and reached the snapshot's: reading "applied ≥ snapshot
 * index" alone would pass at once when an older snapshot is restored into the same cluster.
 */
/**
 * Whether the node sealed itself. A node that restored an auto-unseal snapshot over a Shamir
 * barrier (the drill's scratch server) seals, then answers seal-status with a 500 ("barrier seal
 * type of "transit" does not match expected type of "shamir"") until it is restarted with the
 * right seal; sys/leader still says 503 "Vault is sealed" then. Both count as sealed.
 */
async function sealedAfterRestore(node: VaultClient): Promise<boolean> {
  try {
    return (await readSealStatus(node)).sealed;
  } catch (err) {
    if (isVaultOpsError(err) && /barrier seal type .* does not match/i.test(err.message)) return true;
    try {
      await node.read('sys/leader', { unauthenticated: true });
      return false;
    } catch (leaderErr) {
      if (isVaultOpsError(leaderErr) && leaderErr.code === 'vault-sealed') return true;
      throw err;
    }
  }
}

export async function waitForRestore(
  node: VaultClient,
  wait: RestoreWait,
): Promise<{ sealed: boolean; applied: boolean }> {
  const deadline = Date.now() + wait.timeoutMs;
  while (Date.now() < deadline) {
    if (wait.signal?.aborted)
      throw new VaultOpsError(
        'aborted',
        'interrupted while waiting for the restore to apply: check the node with vault-ops status',
      );
    try {
      if (await sealedAfterRestore(node)) return { sealed: true, applied: true };
      if (!wait.untilSealed) {
        const applied = await readAppliedIndex(node);
        if (applied > wait.appliedBefore && applied >= wait.snapshotIndex) return { sealed: false, applied: true };
      }
    } catch {
      /* the node is busy applying the snapshot */
    }
    await sleep(200);
  }
  return { sealed: false, applied: false };
}
