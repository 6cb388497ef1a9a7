import type { SnapshotManifest } from '../../src/repository/manifest.js';

/** A minimal valid manifest for catalogue tests that write archives themselves. */
export function fakeManifest(
  fields: Pick<SnapshotManifest, 'id' | 'createdAt' | 'archive'> & Partial<SnapshotManifest>,
): SnapshotManifest {
  return {
    raft: { index: 1, term: 1, configurationIndex: 1, servers: [] },
    snapshotMeta: { version: 1, size: 1 },
    cluster: {},
    seal: { type: 'shamir', shares: 1, threshold: 1 },
    keyCounts: {},
    mounts: [],
    authMethods: [],
    policies: [],
    durationSeconds: 1,
    toolVersion: 'test',
    ...fields,
  };
}
