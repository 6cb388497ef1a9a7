import type { VaultClient } from './client.js';
import { readServerFlavour, type ServerFlavour } from './flavour.js';
import { readAutopilotState, readLeader, readRaftConfiguration, readSealStatus } from './sys.js';

/** `vault-ops status --output json`: camelCase; a field is absent when the server does not say. */
export interface ClusterStatus {
  initialized: boolean;
  sealed: boolean;
  flavour: ServerFlavour;
  version?: string;
  clusterName?: string;
  clusterId?: string;
  leader?: { address: string; isSelf: boolean };
  peers?: Array<{ nodeId: string; address: string; leader: boolean; voter: boolean; healthy?: boolean }>;
  autopilot?: { healthy: boolean; failureTolerance: number };
}

export type ClusterProblem = 'uninitialized' | 'sealed' | 'no-leader';

/**
 * Read the cluster's state through whichever node the client points at. Seal state and leader are
 * unauthenticated; peers and autopilot need a token, obtained through `authenticate` only once we
 * know the node can answer (so a sealed Vault reports "sealed", not a login failure).
 */
export async function readClusterStatus(
  client: VaultClient,
  authenticate: () => Promise<void>,
): Promise<ClusterStatus> {
  const [seal, flavour] = await Promise.all([readSealStatus(client), readServerFlavour(client)]);
  const status: ClusterStatus = {
    initialized: seal.initialized,
    sealed: seal.sealed,
    flavour,
    ...(seal.version ? { version: seal.version } : {}),
    ...(seal.cluster_name ? { clusterName: seal.cluster_name } : {}),
    ...(seal.cluster_id ? { clusterId: seal.cluster_id } : {}),
  };
  if (!seal.initialized || seal.sealed) return status;

  const leader = await readLeader(client);
  if (leader.leader_address || leader.is_self) {
    status.leader = {
      address: leader.is_self ? client.address : leader.leader_address.replace(/\/+$/, ''),
      isSelf: leader.is_self,
    };
    if (leader.is_self && leader.leader_address) status.leader.address = leader.leader_address.replace(/\/+$/, '');
  }
  if (!status.leader) return status;

  await authenticate();
  const servers = await readRaftConfiguration(client);
  const autopilot = await readAutopilotState(client);
  status.peers = servers.map((server) => {
    const health = autopilot?.servers?.[server.node_id]?.healthy;
    return {
      nodeId: server.node_id,
      address: server.address,
      leader: server.leader,
      voter: server.voter,
      ...(health === undefined ? {} : { healthy: health }),
    };
  });
  if (autopilot) status.autopilot = { healthy: autopilot.healthy, failureTolerance: autopilot.failure_tolerance };
  return status;
}

export function clusterProblem(status: ClusterStatus): ClusterProblem | undefined {
  if (!status.initialized) return 'uninitialized';
  if (status.sealed) return 'sealed';
  if (!status.leader) return 'no-leader';
  return undefined;
}
