import { VaultOpsError } from '../errors.js';
import { MAX_MANIFEST_BYTES, parseManifest, type SnapshotManifest } from './manifest.js';
import type { SnapshotStore } from '../store/snapshot-store.js';
import { classifyKey, manifestKey } from './layout.js';

/** The store's snapshots and what lies beside them (`snapshot list`, prune, verify). */
export interface Catalogue {
  /** Snapshots with a readable manifest whose archive exists, newest first. */
  snapshots: SnapshotManifest[];
  /**
   * Archives without a manifest, manifests without an archive or unreadable, unfinished uploads, drill
   * records of a snapshot that is not in the catalogue (any more).
   */
  incomplete: Array<{ key: string; bytes: number; lastModified: string; reason: string }>;
  /**
   * The keys of each catalogued snapshot's drill records, oldest first, not read (see
   * `SnapshotRepository.drillHistory`); a snapshot without drills has no entry.
   */
  drillKeys: Record<string, string[]>;
}

export const ORPHAN_DRILL_REASON = 'drill record of a snapshot that is not in the catalogue';

/**
 * Read the store's catalogue. A snapshot counts when its manifest (written last) parses and its
 * archive object exists; whether the archive is intact is for inspect and verify to say.
 */
export async function listCatalogue(store: SnapshotStore, options: { signal?: AbortSignal } = {}): Promise<Catalogue> {
  const objects = await store.list(options.signal ? { signal: options.signal } : {});
  const archives = new Map<string, { key: string; bytes: number; lastModified: Date }>();
  const manifests = new Map<string, { key: string; bytes: number; lastModified: Date }>();
  const drills: Array<{ id: string; time: number; object: { key: string; bytes: number; lastModified: Date } }> = [];
  for (const o of objects) {
    const c = classifyKey(store.prefix, o.key);
    if (c.kind === 'archive') archives.set(c.id, o);
    else if (c.kind === 'manifest') manifests.set(c.id, o);
    else if (c.kind === 'drill') drills.push({ id: c.id, time: c.time.getTime(), object: o });
  }
  const snapshots: SnapshotManifest[] = [];
  const incomplete: Catalogue['incomplete'] = [];
  const mark = (o: { key: string; bytes: number; lastModified: Date }, reason: string) =>
    incomplete.push({ key: o.key, bytes: o.bytes, lastModified: o.lastModified.toISOString(), reason });

  for (const [id, m] of manifests) {
    let manifest: SnapshotManifest;
    try {
      manifest = parseManifest(await store.getBytes(m.key, { maxBytes: MAX_MANIFEST_BYTES }), m.key);
    } catch (err) {
      if (err instanceof VaultOpsError && (err.code === 'verification' || err.code === 'store')) {
        mark(m, err.message);
        continue;
      }
      throw err;
    }
    const archive = archives.get(id);
    if (manifest.id !== id) mark(m, `manifest names snapshot ${manifest.id}, not ${id}`);
    else if (!archive || archive.key !== manifest.archive.key) mark(m, 'manifest without its archive');
    else {
      // A size or checksum mismatch is corruption of a catalogued snapshot: inspect and verify
      // report it (exit 3); it does not silently drop out of the catalogue.
      snapshots.push(manifest);
      archives.delete(id);
      continue;
    }
    archives.delete(id);
  }
  for (const archive of archives.values()) mark(archive, 'archive without a manifest (an interrupted or failed save)');
  // A drill record belongs to its snapshot; once the snapshot is gone (pruned, deleted by hand) it is
  // a leftover that prune removes after the grace period.
  const catalogued = new Set(snapshots.map((m) => m.id));
  const drillKeys: Catalogue['drillKeys'] = {};
  drills.sort((a, b) => a.time - b.time || (a.object.key < b.object.key ? -1 : 1));
  for (const d of drills) {
    if (!catalogued.has(d.id)) mark(d.object, ORPHAN_DRILL_REASON);
    else drillKeys[d.id] = [...(drillKeys[d.id] ?? []), d.object.key];
  }
  for (const upload of await store.listIncomplete()) {
    incomplete.push({
      key: upload.key,
      bytes: upload.bytes ?? 0,
      lastModified: upload.initiated.toISOString(),
      reason: 'unfinished upload',
    });
  }
  // Newest first, by creation time (ids only order to the second).
  snapshots.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
  incomplete.sort((a, b) => (a.key < b.key ? -1 : 1));
  return { snapshots, incomplete, drillKeys };
}

/** Resolve `latest`, `oldest` or an exact id to a catalogued snapshot. */
export async function findSnapshot(store: SnapshotStore, which: string): Promise<SnapshotManifest> {
  return selectSnapshot(await listCatalogue(store), which, store);
}

/** The 'not-found' error of a store without any complete snapshot. */
export function emptyStoreError(url: string): VaultOpsError {
  return new VaultOpsError(
    'not-found',
    `no complete snapshot in ${url}: take one with 'vault-ops snapshot save --to ${url}'`,
  );
}

/** `latest`, `oldest` or an exact id, picked from a catalogue already read; 'not-found' otherwise. */
export function selectSnapshot(
  catalogue: Catalogue,
  which: string,
  store: { url: string; prefix: string },
): SnapshotManifest {
  const { snapshots } = catalogue;
  if (snapshots.length === 0) throw emptyStoreError(store.url);
  if (which === 'latest') return snapshots[0]!;
  if (which === 'oldest') return snapshots[snapshots.length - 1]!;
  const found = snapshots.find((s) => s.id === which);
  if (!found) {
    throw new VaultOpsError(
      'not-found',
      `snapshot ${which} is not in the catalogue of ${store.url} (no manifest ${manifestKey(store.prefix, which)}): ` +
        `list them with 'vault-ops snapshot list --from ${store.url}'`,
    );
  }
  return found;
}

/**
 * The newest manifest in the store, without reading the whole catalogue (nor checking that its
 * archive exists). Ids sort by their second; within one second the random suffix does not order
 * them, so the manifests of the newest second are read and compared by `createdAt` (millisecond
 * precision).
 */
export async function newestManifest(store: SnapshotStore): Promise<SnapshotManifest | undefined> {
  const keys = (await store.list())
    .map((o) => ({ key: o.key, c: classifyKey(store.prefix, o.key) }))
    .filter((x) => x.c.kind === 'manifest')
    .map((x) => ({ key: x.key, second: (x.c as { id: string }).id.slice(0, 16) }))
    .sort((a, b) => (a.key < b.key ? 1 : -1));
  let found: SnapshotManifest | undefined;
  for (const { key, second } of keys) {
    if (found && second !== found.id.slice(0, 16)) break;
    try {
      const m = parseManifest(await store.getBytes(key, { maxBytes: MAX_MANIFEST_BYTES }), key);
      if (!found || m.createdAt > found.createdAt) found = m;
    } catch {}
  }
  return found;
}
