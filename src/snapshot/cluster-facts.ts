import type { VaultClient } from '../vault/client.js';
import { readServerFlavour, type ServerFlavour } from '../vault/flavour.js';
import { listPolicies, readAuthMethods, readMounts, readSealStatus } from '../vault/sys.js';

/** What the manifest records about the cluster and what a restore drill later compares. */
export interface ClusterFacts {
  cluster: { name?: string; id?: string; flavour: ServerFlavour; version?: string; leader?: string };
  seal: { type: string; shares: number; threshold: number };
  mounts: Array<{ path: string; type: string }>;
  authMethods: Array<{ path: string; type: string }>;
  policies: string[];
}

function mountList(table: Record<string, { type: string }>): Array<{ path: string; type: string }> {
  return Object.entries(table)
    .filter(([, v]) => v && typeof v === 'object' && typeof v.type === 'string')
    .map(([path, v]) => ({ path, type: v.type }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
}

export async function readClusterFacts(leader: VaultClient, leaderAddress: string): Promise<ClusterFacts> {
  const [seal, flavour] = await Promise.all([readSealStatus(leader), readServerFlavour(leader)]);
  const [mounts, auth, policies] = await Promise.all([
    readMounts(leader),
    readAuthMethods(leader),
    listPolicies(leader),
  ]);
  return {
    cluster: {
      ...(seal.cluster_name ? { name: seal.cluster_name } : {}),
      ...(seal.cluster_id ? { id: seal.cluster_id } : {}),
      flavour,
      ...(seal.version ? { version: seal.version } : {}),
      leader: leaderAddress,
    },
    seal: { type: seal.type, shares: seal.n, threshold: seal.t },
    mounts: mountList(mounts),
    authMethods: mountList(auth),
    policies: [...policies].sort(),
  };
}
