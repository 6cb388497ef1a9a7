import type { VaultClient } from './client.js';

/** Typed views of the sys/ endpoints vault-ops reads; field names as Vault sends them. */

export interface SealStatus {
  type: string;
  initialized: boolean;
  sealed: boolean;
  t: number;
  n: number;
  progress?: number;
  version?: string;
  build_date?: string;
  cluster_name?: string;
  cluster_id?: string;
  recovery_seal?: boolean;
  storage_type?: string;
}

export interface LeaderStatus {
  ha_enabled: boolean;
  is_self: boolean;
  active_time?: string;
  leader_address: string;
  leader_cluster_address: string;
  raft_committed_index?: number;
  raft_applied_index?: number;
}

export interface RaftServer {
  node_id: string;
  address: string;
  leader: boolean;
  protocol_version?: string;
  voter: boolean;
}

export interface AutopilotServer {
  id: string;
  address?: string;
  healthy: boolean;
  status?: string;
  node_status?: string;
  last_contact?: string;
  version?: string;
}

export interface AutopilotState {
  healthy: boolean;
  failure_tolerance: number;
  leader?: string;
  voters?: string[];
  servers?: Record<string, AutopilotServer>;
}

interface Wrapped<T> {
  data?: T;
}

/** Unauthenticated: works sealed, unsealed, and uninitialised. */
export function readSealStatus(client: VaultClient): Promise<SealStatus> {
  return client.read<SealStatus>('sys/seal-status', { unauthenticated: true });
}

/** Unauthenticated. Fails with 503 while sealed. */
export function readLeader(client: VaultClient): Promise<LeaderStatus> {
  return client.read<LeaderStatus>('sys/leader', { unauthenticated: true });
}

export async function readRaftConfiguration(client: VaultClient): Promise<RaftServer[]> {
  const response = await client.read<Wrapped<{ config?: { servers?: RaftServer[] } }>>(
    'sys/storage/raft/configuration',
  );
  return response.data?.config?.servers ?? [];
}

export async function readAutopilotState(client: VaultClient): Promise<AutopilotState | undefined> {
  const response = await client.read<Wrapped<AutopilotState>>('sys/storage/raft/autopilot/state');
  return response.data;
}

export interface MountEntry {
  type: string;
  description?: string;
  options?: Record<string, string> | null;
}

export async function readMounts(client: VaultClient): Promise<Record<string, MountEntry>> {
  const response = await client.read<Wrapped<Record<string, MountEntry>> & Record<string, unknown>>('sys/mounts');
  return (response.data ?? {}) as Record<string, MountEntry>;
}

export async function readAuthMethods(client: VaultClient): Promise<Record<string, MountEntry>> {
  const response = await client.read<Wrapped<Record<string, MountEntry>>>('sys/auth');
  return (response.data ?? {}) as Record<string, MountEntry>;
}

export async function listPolicies(client: VaultClient): Promise<string[]> {
  const response = await client.list<Wrapped<{ keys?: string[] }>>('sys/policies/acl');
  return response.data?.keys ?? [];
}

/** Where the cluster's raft log stands: its id and the node's applied index (both unauthenticated). */
export interface RaftPosition {
  clusterId?: string;
  appliedIndex?: number;
}

/**
 * The cluster id and raft applied index, for rotation records: a restore orders a record against a
 * snapshot by raft index (the index only grows, a restore installs at a higher one), never by the
 * clocks. Best effort: a field that cannot be read is left out.
 */
export async function readRaftPosition(client: Pick<VaultClient, 'read'>): Promise<RaftPosition> {
  const [seal, leader] = await Promise.all([
    client.read<SealStatus>('sys/seal-status', { unauthenticated: true }).catch(() => undefined),
    client.read<LeaderStatus>('sys/leader', { unauthenticated: true }).catch(() => undefined),
  ]);
  return {
    ...(seal?.cluster_id ? { clusterId: seal.cluster_id } : {}),
    ...(typeof leader?.raft_applied_index === 'number' && leader.raft_applied_index > 0
      ? { appliedIndex: leader.raft_applied_index }
      : {}),
  };
}
