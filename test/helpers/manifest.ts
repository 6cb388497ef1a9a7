import type { DrillRecord } from '../../src/repository/drill-record.js';
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

/** A drill record of `manifest`, as a recovery-mode drill of it writes one (bound to its archive). */
export function fakeDrillRecord(manifest: SnapshotManifest, passed: boolean, finishedAt = new Date()): DrillRecord {
  return {
    snapshotId: manifest.id,
    archiveSha256: manifest.archive.sha256,
    finishedAt: finishedAt.toISOString(),
    passed,
    mode: 'recovery',
    server: { flavour: 'openbao', version: '2.4.0' },
    checks: [{ name: 'archive-integrity', passed, detail: 'test' }],
    timings: { download: 1, start: 1, restore: 1, unseal: 1, checks: 1, total: 5 },
    rtoSeconds: 5,
    toolVersion: 'test',
  };
}
