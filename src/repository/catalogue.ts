import { VaultOpsError, shellArg } from '../errors.js';
import { MAX_MANIFEST_BYTES, parseManifest, type SnapshotManifest } from './manifest.js';
import type { IncompleteUpload, SnapshotStore } from '../store/snapshot-store.js';
import { readIndexedCopies, type IndexedCopy } from './catalogue-index.js';
import { DEFAULT_READ_CONCURRENCY, mapInFlight } from './in-flight.js';
import { classifyKey, manifestKey } from './layout.js';
import {
  compareSnapshotTimes,
  manifestTimeAnomaly,
  manifestTrustProblem,
  possibleReplays,
  type CatalogueTrust,
} from './trust.js';

/** A snapshot id set apart from the catalogue: its keys are listed, never selected, never pruned. */
export interface SetApart {
  id: string;
  /** Every key of the id (manifest, archives, drill records) as listed. */
  keys: string[];
  /** One phrase: why it is set apart. */
  reason: string;
  /** The key id that signed its manifest, when it names one (untrusted entries). */
  keyId?: string;
  /** The manifest, when it parsed (escape every field before printing it). */
  manifest?: SnapshotManifest;
}

/** The store's snapshots and what lies beside them (`snapshot list`, prune, verify). */
export interface Catalogue {
  /**
   * Snapshots with a readable, consistent manifest whose archive exists, signed by a verify key when
   * the store has them, and not flagged as a replay: newest first by id (the key's time).
   */
  snapshots: SnapshotManifest[];
  /**
   * Ids whose manifest is not signed by a verify key (a signed store only). They steer nothing: never
   * selected, never a retention anchor, never copied, never deleted by prune.
   */
  untrusted: SetApart[];
  /**
   * Ids whose objects contradict each other or the clock: a manifest that is unreadable, names another
   * id, disagrees with its id's time or is dated in the future, two archives for one id, a possible
   * replay. Reported for a human; never `latest`, never pruned automatically; an exact id may still be
   * drilled, and restored after a confirmation.
   */
  anomalies: SetApart[];
  /**
   * Leftovers that are provably vault-ops' own and unfinished: archives without any manifest key,
   * manifests whose archive is gone, unfinished uploads, drill records of an id with no object left.
   */
  incomplete: Array<{ key: string; bytes: number; lastModified: string; reason: string }>;
  /**
   * The keys of each snapshot's drill records (catalogued, untrusted and anomalous ids alike), oldest
   * first, not read (see `SnapshotRepository.drillHistory`); an id without drills has no entry.
   */
  drillKeys: Record<string, string[]>;
  /** Verify keys were applied: `untrusted` is meaningful. */
  signed: boolean;
  /** Set when this is the catalogue of one id (`readOneSnapshot`), not of the whole store. */
  only?: string;
  /**
   * Current copies of drill records from the store's index (key → bytes), read instead of the objects
   * and checked the same way (catalogue-index.ts).
   */
  drillCopies?: ReadonlyMap<string, IndexedCopy>;
  /** How the store's index served this catalogue: `absent`, `used (N copies)` or why it was ignored. */
  index?: string;
}

export const ORPHAN_DRILL_REASON = 'drill record of a snapshot that is not in the catalogue';

type Listed = { key: string; bytes: number; lastModified: Date };

export interface CatalogueReadOptions {
  signal?: AbortSignal;
  /**
   * List unfinished uploads among the leftovers (default true). A caller that only selects a snapshot
   * passes false: on some backends that listing costs more than the catalogue's own (Azure lists the
   * container twice more to find blobs with only uncommitted blocks).
   */
  uploads?: boolean;
}

/**
 * A manifest as read: parsed (with the verify key a trusted index says signed it), unreadable (why), or
 * undefined when deleted since the listing.
 */
type ManifestRead = { manifest: SnapshotManifest; signedBy?: string } | { unreadable: string } | undefined;

async function readManifest(
  store: SnapshotStore,
  key: string,
  copy: IndexedCopy | undefined,
  signal?: AbortSignal,
): Promise<ManifestRead> {
  try {
    const bytes =
      copy?.bytes ?? (await store.getBytes(key, { maxBytes: MAX_MANIFEST_BYTES, ...(signal ? { signal } : {}) }));
    return { manifest: parseManifest(bytes, key), ...(copy?.signedBy ? { signedBy: copy.signedBy } : {}) };
  } catch (err) {
    if (err instanceof VaultOpsError && err.code === 'not-found') return undefined; // deleted since the listing
    // Not ours, or damaged: a human looks at it; neither it nor the archive beside it is deleted.
    if (err instanceof VaultOpsError && (err.code === 'verification' || err.code === 'store')) {
      return { unreadable: err.message };
    }
    throw err;
  }
}

/**
 * Read the store's catalogue under `trust`. A snapshot counts when its manifest (written last) parses,
 * agrees with its id and its archive object exists (whether the archive is intact is for inspect and
 * verify to say), its signature verifies when the store is signed, and it is not a possible replay.
 *
 * One listing (each backend pages through it in one pass; unfinished uploads are listed beside it),
 * then the manifests, `store.readConcurrency` at a time: a store of 10,000 snapshots is read in about
 * the time of its listing, not 10,000 round trips one after the other. Drill records are not read here.
 */
export async function listCatalogue(
  store: SnapshotStore,
  trust: CatalogueTrust,
  options: CatalogueReadOptions = {},
): Promise<Catalogue> {
  const read = options.signal ? { signal: options.signal } : {};
  const { objects, incomplete: uploads } =
    options.uploads !== false && store.listWithIncomplete
      ? await store.listWithIncomplete(read)
      : await Promise.all([store.list(read), options.uploads === false ? [] : store.listIncomplete()]).then(
          ([objects, incomplete]) => ({ objects, incomplete }),
        );
  // The index, when the store has one, spares a read of every manifest and drill record it holds a
  // current copy of.
  const copies = await readIndexedCopies(store, trust, objects, read);
  const index = copies.state === 'used' ? `used (${copies.bodies.size} current copies)` : copies.state;
  const catalogue = await assemble(store, trust, objects, {
    ...options,
    uploads,
    replays: true,
    copies: copies.bodies,
  });
  return { ...catalogue, drillCopies: copies.bodies, index };
}

/**
 * The catalogue of one snapshot id: what `listCatalogue` would say of it, from a listing of that id's
 * keys only (its manifest, archives and drill records) and one manifest read. Every rule that looks at
 * the id alone holds (signature, the id's time, a future date, a second archive, a manifest naming
 * another id or archive); the replay rule does not, because it compares the snapshot with every other
 * manifest in the store: a caller for whom a possible replay changes the answer (restore's plan) reads
 * the whole catalogue instead.
 */
export async function readOneSnapshot(
  store: SnapshotStore,
  trust: CatalogueTrust,
  id: string,
  options: { signal?: AbortSignal } = {},
): Promise<Catalogue> {
  manifestKey(store.prefix, id); // throws 'usage' for anything but a snapshot id
  const objects = await store.list({ under: `${id}.`, ...(options.signal ? { signal: options.signal } : {}) });
  const own = objects.filter((o) => {
    const c = classifyKey(store.prefix, o.key);
    return 'id' in c && c.id === id;
  });
  return { ...(await assemble(store, trust, own, { ...options, uploads: [], replays: false })), only: id };
}

async function assemble(
  store: SnapshotStore,
  trust: CatalogueTrust,
  objects: readonly Listed[],
  options: {
    signal?: AbortSignal;
    uploads: readonly IncompleteUpload[];
    replays: boolean;
    /** Current copies from the index (catalogue-index.ts); a manifest's copy is dropped once read. */
    copies?: Map<string, IndexedCopy>;
  },
): Promise<Catalogue> {
  const archives = new Map<string, Listed[]>();
  const manifests = new Map<string, Listed>();
  const drills: Array<{ id: string; time: number; object: Listed }> = [];
  for (const o of objects) {
    const c = classifyKey(store.prefix, o.key);
    if (c.kind === 'archive') archives.set(c.id, [...(archives.get(c.id) ?? []), o]);
    else if (c.kind === 'manifest') manifests.set(c.id, o);
    else if (c.kind === 'drill') drills.push({ id: c.id, time: c.time.getTime(), object: o });
  }
  const now = trust.now();
  const candidates: SnapshotManifest[] = [];
  const untrusted: SetApart[] = [];
  const anomalies: SetApart[] = [];
  const incomplete: Catalogue['incomplete'] = [];
  const mark = (o: Listed, reason: string) =>
    incomplete.push({ key: o.key, bytes: o.bytes, lastModified: o.lastModified.toISOString(), reason });
  const keysOf = (id: string) => [
    ...(manifests.has(id) ? [manifests.get(id)!.key] : []),
    ...(archives.get(id) ?? []).map((a) => a.key),
  ];
  const setApart = (list: SetApart[], id: string, reason: string, manifest?: SnapshotManifest) =>
    list.push({
      id,
      keys: keysOf(id),
      reason,
      ...(manifest ? { manifest } : {}),
      ...(manifest?.signature?.keyId ? { keyId: manifest.signature.keyId } : {}),
    });

  // Read in key order, a bounded number at a time; only the parsed manifests are kept.
  const listed = [...manifests].sort(([a], [b]) => (a < b ? -1 : 1));
  const reads = await mapInFlight(listed, store.readConcurrency ?? DEFAULT_READ_CONCURRENCY, ([, m]) => {
    const copy = options.copies?.get(m.key);
    options.copies?.delete(m.key);
    return readManifest(store, m.key, copy, options.signal);
  });
  for (const [i, [id, m]] of listed.entries()) {
    const read = reads[i];
    if (read === undefined) continue;
    if ('unreadable' in read) {
      setApart(anomalies, id, read.unreadable);
      continue;
    }
    const { manifest } = read;
    const archiveObjects = archives.get(id) ?? [];
    // A copy whose signature a trusted index vouches for (catalogue-index.ts) skips the ed25519 check.
    const problem = read.signedBy ? undefined : manifestTrustProblem(manifest, trust);
    if (problem) {
      setApart(untrusted, id, problem, manifest);
      continue;
    }
    const timeAnomaly = manifest.id === id ? manifestTimeAnomaly(manifest, now) : undefined;
    if (manifest.id !== id) setApart(anomalies, id, `manifest names snapshot ${manifest.id}, not ${id}`, manifest);
    else if (timeAnomaly) setApart(anomalies, id, timeAnomaly, manifest);
    else if (archiveObjects.length > 1) {
      setApart(anomalies, id, `${archiveObjects.length} archives for one snapshot id`, manifest);
    } else if (archiveObjects.length === 0) mark(m, 'manifest without its archive');
    else if (archiveObjects[0]!.key !== manifest.archive.key) {
      setApart(anomalies, id, `manifest names archive ${manifest.archive.key}, the store holds another`, manifest);
    } else {
      // A size or checksum mismatch is corruption of a catalogued snapshot: inspect and verify
      // report it (exit 3); it does not silently drop out of the catalogue.
      candidates.push(manifest);
    }
  }
  reads.length = 0;
  for (const [id, list] of archives) {
    if (manifests.has(id)) continue;
    if (list.length > 1) setApart(anomalies, id, `${list.length} archives for one snapshot id, no manifest`);
    else mark(list[0]!, 'archive without a manifest (an interrupted or failed save)');
  }
  const replays = options.replays ? possibleReplays(candidates) : new Map<string, string>();
  const snapshots: SnapshotManifest[] = [];
  for (const m of candidates) {
    const replay = replays.get(m.id);
    if (replay) setApart(anomalies, m.id, replay, m);
    else snapshots.push(m);
  }
  // A drill record belongs to its snapshot id; once no object of that id is left (pruned, deleted by
  // hand) it is a leftover that prune removes after the grace period.
  const drillKeys: Catalogue['drillKeys'] = {};
  drills.sort((a, b) => a.time - b.time || (a.object.key < b.object.key ? -1 : 1));
  for (const d of drills) {
    if (!manifests.has(d.id) && !archives.has(d.id)) mark(d.object, ORPHAN_DRILL_REASON);
    else drillKeys[d.id] = [...(drillKeys[d.id] ?? []), d.object.key];
  }
  for (const set of [...untrusted, ...anomalies]) set.keys.push(...(drillKeys[set.id] ?? []));
  for (const upload of options.uploads) {
    incomplete.push({
      key: upload.key,
      bytes: upload.bytes ?? 0,
      lastModified: upload.initiated.toISOString(),
      reason: 'unfinished upload',
    });
  }
  snapshots.sort((a, b) => compareSnapshotTimes(b, a)); // newest first
  untrusted.sort((a, b) => (a.id < b.id ? 1 : -1));
  anomalies.sort((a, b) => (a.id < b.id ? 1 : -1));
  incomplete.sort((a, b) => (a.key < b.key ? -1 : 1));
  return { snapshots, untrusted, anomalies, incomplete, drillKeys, signed: trust.verifyKeys.length > 0 };
}

/**
 * Resolve `latest`, `oldest` or an exact id to a catalogued snapshot. `latest` and `oldest` read the
 * whole catalogue (which snapshot is newest depends on every other: a newer one may be a replay); an
 * exact id reads that snapshot's objects alone (`readOneSnapshot`: every rule but the replay check).
 */
export async function findSnapshot(
  store: SnapshotStore,
  trust: CatalogueTrust,
  which: string,
  options: SelectOptions & { signal?: AbortSignal } = {},
): Promise<SnapshotManifest> {
  const read = options.signal ? { signal: options.signal } : {};
  const catalogue =
    which === 'latest' || which === 'oldest'
      ? await listCatalogue(store, trust, { ...read, uploads: false })
      : await readOneSnapshot(store, trust, which, read);
  return selectSnapshot(catalogue, which, store, options);
}

/** The 'not-found' error of a store without any complete snapshot. */
export function emptyStoreError(url: string): VaultOpsError {
  return new VaultOpsError(
    'not-found',
    `no complete snapshot in ${url}: take one with 'vault-ops snapshot save --to ${shellArg(url)}'`,
  );
}

export interface SelectOptions {
  /**
   * An exact id set apart as an anomaly may be picked (verify drills it; restore asks first). Untrusted
   * ids are never picked.
   */
  allowAnomaly?: boolean;
}

/** The anomaly entry of an id, when the catalogue set it apart as one. */
export function anomalyOf(catalogue: Catalogue, id: string): SetApart | undefined {
  return catalogue.anomalies.find((a) => a.id === id);
}

/** `latest`, `oldest` or an exact id, picked from a catalogue already read; 'not-found' otherwise. */
export function selectSnapshot(
  catalogue: Catalogue,
  which: string,
  store: { url: string; prefix: string },
  options: SelectOptions = {},
): SnapshotManifest {
  const { snapshots } = catalogue;
  if (which === 'latest' || which === 'oldest') {
    if (snapshots.length === 0) throw emptyStoreError(store.url);
    return which === 'latest' ? snapshots[0]! : snapshots[snapshots.length - 1]!;
  }
  const found = snapshots.find((s) => s.id === which);
  if (found) return found;
  const untrusted = catalogue.untrusted.find((u) => u.id === which);
  if (untrusted) {
    throw new VaultOpsError(
      'verification',
      `snapshot ${which} in ${store.url} is not trusted (${untrusted.reason}): its manifest is not signed by a ` +
        'verify key, so vault-ops will not use it; check who wrote it',
    );
  }
  const anomaly = anomalyOf(catalogue, which);
  if (anomaly?.manifest && options.allowAnomaly) return anomaly.manifest;
  if (anomaly) {
    throw new VaultOpsError(
      'verification',
      `snapshot ${which} in ${store.url} is set apart as an anomaly (${anomaly.reason}): ` +
        `see 'vault-ops snapshot list --from ${shellArg(store.url)}'`,
    );
  }
  if (snapshots.length === 0 && catalogue.only === undefined) throw emptyStoreError(store.url);
  throw new VaultOpsError(
    'not-found',
    `snapshot ${which} is not in the catalogue of ${store.url} (no manifest ${manifestKey(store.prefix, which)}): ` +
      `list them with 'vault-ops snapshot list --from ${shellArg(store.url)}'`,
  );
}

/**
 * The newest trusted manifest in the store, without reading the whole catalogue (nor checking that its
 * archive exists): manifests are read newest key first, skipping those the catalogue would set apart
 * on their own (unsigned in a signed store, a time that disagrees with the id or lies in the future).
 * Ids sort by their second; within one second the random suffix does not order them, so the manifests
 * of that second are compared by `createdAt` (millisecond precision).
 */
export async function newestManifest(
  store: SnapshotStore,
  trust: CatalogueTrust,
): Promise<SnapshotManifest | undefined> {
  const keys = (await store.list())
    .map((o) => ({ key: o.key, c: classifyKey(store.prefix, o.key) }))
    .filter((x) => x.c.kind === 'manifest')
    .map((x) => ({ key: x.key, id: (x.c as { id: string }).id }))
    .sort((a, b) => (a.key < b.key ? 1 : -1));
  const now = trust.now();
  let found: SnapshotManifest | undefined;
  for (const { key, id } of keys) {
    if (found && id.slice(0, 16) !== found.id.slice(0, 16)) break;
    let m: SnapshotManifest;
    try {
      m = parseManifest(await store.getBytes(key, { maxBytes: MAX_MANIFEST_BYTES }), key);
    } catch {
      continue;
    }
    if (m.id !== id || manifestTrustProblem(m, trust) || manifestTimeAnomaly(m, now)) continue;
    if (!found || m.createdAt > found.createdAt) found = m;
  }
  return found;
}
