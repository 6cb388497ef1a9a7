import { VaultOpsError } from '../errors.js';
import type { SnapshotManifest } from '../repository/manifest.js';
import { withSnapshotCopy, type ScratchOptions } from './read-snapshot.js';
import { kvMountOf, openKv2Storage, readKv1, readKv2Metadata, snapshotMounts } from './snapshot-items.js';
import type { RecoverDeps } from './types.js';

/** One snapshot's view of an item: metadata only (versions, times, deleted/destroyed), never a value. */
export interface HistoryEntry {
  snapshotId: string;
  createdAt: string;
  present: boolean;
  kind?: 'kv1' | 'kv2';
  /** KV v2: the current version then, when it was written, and every version the snapshot still lists. */
  currentVersion?: number;
  updatedTime?: string;
  versions?: Array<{ version: number; createdTime?: string; deleted: boolean; destroyed: boolean }>;
  /** Why this snapshot could not be read (the others still are). */
  error?: string;
}

export interface HistoryOptions extends ScratchOptions {
  /** `MOUNT/PATH` of a KV secret. */
  path: string;
  /** The newest `limit` snapshots are read (each is restored into a scratch server of its own). */
  limit: number;
}

/**
 * Which snapshots hold a KV item, at which version: each of the newest snapshots is restored into a
 * throw-away scratch server and read in recovery mode, metadata only, newest first. An operator looks
 * for the last snapshot before the mistake, then recovers from it.
 */
export async function snapshotHistory(
  deps: Omit<RecoverDeps, 'vault'>,
  options: HistoryOptions,
  onEntry: (entry: HistoryEntry) => void = () => undefined,
): Promise<HistoryEntry[]> {
  const catalogue = await deps.repository.catalogue({
    uploads: false,
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  const entries: HistoryEntry[] = [];
  for (const manifest of catalogue.snapshots.slice(0, options.limit)) {
    const entry = await readEntry(deps, options, manifest).catch((err: unknown) => {
      // Without the keys nothing can be read: that is the operator's to fix, not one snapshot's problem.
      if (err instanceof VaultOpsError && (err.code === 'config' || err.code === 'aborted')) throw err;
      return {
        snapshotId: manifest.id,
        createdAt: manifest.createdAt,
        present: false,
        error: (err as Error).message,
      } satisfies HistoryEntry;
    });
    entries.push(entry);
    onEntry(entry);
  }
  return entries;
}

async function readEntry(
  deps: Omit<RecoverDeps, 'vault'>,
  options: HistoryOptions,
  manifest: SnapshotManifest,
): Promise<HistoryEntry> {
  const base = { snapshotId: manifest.id, createdAt: manifest.createdAt };
  const { result } = await withSnapshotCopy(deps, options, manifest, async (raw): Promise<HistoryEntry> => {
    const mounts = await snapshotMounts(raw);
    let found: ReturnType<typeof kvMountOf>;
    try {
      found = kvMountOf(mounts, options.path);
    } catch (err) {
      // The mount did not exist yet (or no longer) in this snapshot.
      if (err instanceof VaultOpsError && err.code === 'not-found') return { ...base, present: false };
      throw err;
    }
    const { mount, path } = found;
    if (mount.kind === 'kv1') {
      // Presence only: reading the values is recover's job, not history's.
      return { ...base, present: (await readKv1(raw, mount, path)) !== undefined, kind: 'kv1' };
    }
    const storage = await openKv2Storage(raw, mount);
    const metadata = storage ? await readKv2Metadata(raw, storage, path) : undefined;
    if (!metadata) return { ...base, present: false, kind: 'kv2' };
    const current = metadata.versions.find((v) => v.version === metadata.currentVersion);
    const at = Date.parse(manifest.createdAt);
    return {
      ...base,
      present: true,
      kind: 'kv2',
      currentVersion: metadata.currentVersion,
      ...(current?.createdTime ? { updatedTime: current.createdTime.toISOString() } : {}),
      versions: metadata.versions.map((v) => ({
        version: v.version,
        ...(v.createdTime ? { createdTime: v.createdTime.toISOString() } : {}),
        deleted: !!v.deletionTime && v.deletionTime.getTime() <= at,
        destroyed: v.destroyed,
      })),
    };
  });
  return result;
}
