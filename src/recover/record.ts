import type { SnapshotRepository } from '../repository/snapshot-repository.js';
import type { VaultClient } from '../vault/client.js';
import type { RecoveryResult } from './recover.js';

/** Who the live cluster says the token is (display name and entity), for the record; undefined if it will not say. */
export async function tokenIdentity(vault: VaultClient): Promise<string | undefined> {
  try {
    const r = await vault.read<{ data?: { display_name?: string; entity_id?: string } }>('auth/token/lookup-self');
    const name = r.data?.display_name;
    const entity = r.data?.entity_id;
    return name ? `${name}${entity ? ` (entity ${entity})` : ''}` : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The recovery record, `records/<time>-recover-<id>.json` beside the rotation records: who, from which
 * snapshot, which items and the versions written; never a value. A later `restore` lists it among the
 * changes after its snapshot, which it rolls back like a rotation.
 */
export async function writeRecoveryRecord(
  store: SnapshotRepository,
  result: RecoveryResult,
  who: string | undefined,
  at: Date,
): Promise<string> {
  const written = result.items.filter((i) => i.written);
  const items = written.map((i) => `${i.target}${i.version !== undefined ? ` (version ${i.version})` : ''}`);
  return await store.records.write({
    time: at,
    kind: 'recover',
    rotationId: `${result.plan.snapshot.id}-${at.getTime().toString(36)}`,
    path: written.map((i) => i.target).join(', '),
    ...(result.raft.clusterId ? { clusterId: result.raft.clusterId } : {}),
    ...(result.raft.indexAfter !== undefined ? { raftIndex: result.raft.indexAfter } : {}),
    ...(result.raft.indexBefore !== undefined ? { raftIndexBefore: result.raft.indexBefore } : {}),
    detail:
      `recovered from snapshot ${result.plan.snapshot.id} into ${result.plan.target.address} by ` +
      `${who ?? 'an unnamed token'}: ${items.join(', ') || 'nothing written'}`,
  });
}
