import { VaultOpsError } from '../errors.js';
import type { VaultClient } from './client.js';
import { readLeader, type LeaderStatus } from './sys.js';

export interface LeaderLocation {
  /** The leader's API address as the cluster advertises it (api_addr). */
  address: string;
  /** True when the node we asked is the leader itself. */
  isSelf: boolean;
  status: LeaderStatus;
}

/**
 * Find the active node. Snapshot and restore endpoints always answer 307 from a standby, so
 * byte-stream operations must address the leader directly.
 */
export async function locateLeader(client: VaultClient): Promise<LeaderLocation> {
  const status = await readLeader(client);
  if (!status.ha_enabled) return { address: client.address, isSelf: true, status };
  if (status.is_self) return { address: client.address, isSelf: true, status };
  if (!status.leader_address) {
    throw new VaultOpsError(
      'vault-no-leader',
      `Vault at ${client.address} knows no active leader: check raft quorum with 'vault-ops status'`,
    );
  }
  return { address: status.leader_address.replace(/\/+$/, ''), isSelf: false, status };
}

/** A client for the leader: the same client when it already is the leader. */
export async function leaderClient(client: VaultClient): Promise<{ client: VaultClient; leader: LeaderLocation }> {
  const leader = await locateLeader(client);
  return { client: leader.isSelf ? client : await client.forAddress(leader.address), leader };
}
