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

/** A snapshot id for `time` (to the second) with the suffix `n` in hex, as the tests write them. */
export function idAt(time: Date, n: number): string {
  return `${time.toISOString().replace(/[-:]/g, '').slice(0, 15)}Z-${n.toString(16).padStart(6, '0')}`;
}
