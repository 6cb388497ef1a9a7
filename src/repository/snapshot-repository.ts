import type { KeyObject } from 'node:crypto';
import { KeyTakenError } from '../store/exists.js';
import type { Logger } from '../observability/logger.js';
import { refreshCatalogueIndex, type IndexedCopy, type IndexRefresh } from './catalogue-index.js';
import type { Readable } from 'node:stream';
import { VaultOpsError } from '../errors.js';
import type { SnapshotManifest } from './manifest.js';
import type {
  IncompleteUpload,
  PutResult,
  SnapshotStore,
  StoreCapabilities,
  StoredObjectVersion,
} from '../store/snapshot-store.js';
import {
  findSnapshot,
  listCatalogue,
  newestManifest,
  ORPHAN_DRILL_REASON,
  readOneSnapshot,
  selectSnapshot,
  type Catalogue,
  type CatalogueReadOptions,
  type SelectOptions,
} from './catalogue.js';
import { drillStatus, type DrillHistory, type SnapshotDrillStatus } from './drill-history.js';
import { DEFAULT_READ_CONCURRENCY, firstInOrder, mapInFlight } from './in-flight.js';
import { MAX_DRILL_RECORD_BYTES, parseDrillRecord, type DrillRecord } from './drill-record.js';
import { archiveKey, classifyKey, drillKey, manifestKey } from './layout.js';
import { listRotationRecords, writeRotationRecord, type RotationRecord, type RotationRecordInput } from './records.js';
import { drillSignatureProblem, signDrillRecord } from './signature.js';
import { UNSIGNED_STORE, type CatalogueTrust } from './trust.js';

/** Object-lock retention for a snapshot's objects (S3 buckets with object lock). */
export interface ArchiveRetention {
  mode: 'GOVERNANCE' | 'COMPLIANCE';
  until: Date;
}

/** Every stored version of every key, listed once for a run of removals (empty when unversioned). */
export type VersionListing = ReadonlyMap<string, StoredObjectVersion[]>;

/** The rotation records kept beside the snapshots (`<prefix>/records/`). */
export interface RotationRecords {
  /** Store one completed rotation; returns its key. */
  write(input: RotationRecordInput): Promise<string>;
  /** Records newer than `since` (all when omitted), oldest first; unreadable records are skipped. */
  list(since?: Date): Promise<RotationRecord[]>;
}

/** The restore-drill results kept beside each snapshot's manifest (`<id>.drill-<time>.json`). */
export interface DrillRecords {
  /**
   * Store one drill's result, create-only; returns its key. Two drills of one snapshot finishing
   * in the same second: the later one is stored a second later rather than replacing the first.
   */
  write(record: DrillRecord, options?: { retention?: ArchiveRetention }): Promise<string>;
}

/**
 * Snapshots, manifests, drill records and rotation records over one snapshot store (the store knows only
 * objects). The repository owns the key layout (`layout.ts`): callers name snapshots by id or
 * manifest, never by key, and read manifests only through it. A snapshot is its archive plus its
 * manifest, written last; the manifest is what puts a snapshot in the catalogue.
 */
export class SnapshotRepository {
  readonly records: RotationRecords;
  readonly drills: DrillRecords;

  constructor(
    private readonly store: SnapshotStore,
    /** What the catalogue trusts (verify keys) and how this run signs its drill records. */
    readonly trust: CatalogueTrust = UNSIGNED_STORE,
  ) {
    this.records = {
      write: (input) => writeRotationRecord(store, input),
      list: (since) => listRotationRecords(store, since),
    };
    this.drills = {
      write: (record, options) => this.writeDrill(record, options?.retention),
    };
  }

  private async writeDrill(unsigned: DrillRecord, retention?: ArchiveRetention): Promise<string> {
    const record = this.trust.signingKey ? signDrillRecord(unsigned, this.trust.signingKey) : unsigned;
    const body = `${JSON.stringify(record, null, 2)}\n`;
    const finished = new Date(record.finishedAt);
    for (let attempt = 0; ; attempt++) {
      const key = drillKey(this.store.prefix, record.snapshotId, new Date(finished.getTime() + attempt * 1000));
      try {
        await this.store.putBytes(key, body, { contentType: 'application/json', ...(retention ? { retention } : {}) });
        return key;
      } catch (err) {
        const taken = err instanceof KeyTakenError;
        if (!taken || attempt >= 5) throw err;
      }
    }
  }

  /**
   * One drill record, or undefined when the object is unreadable, not a drill record of `id`, or not
   * trusted: in a signed store a record counts only when a verify key signed it and it names the
   * archive (`archiveSha256`) the catalogue holds for `id` (`null`: the snapshot is gone, the
   * signature alone decides).
   */
  private async readDrill(
    key: string,
    id: string,
    archiveSha256: string | undefined | null,
    /** A current copy from the store's index (`catalogue.drillCopies`): checked as the object would be. */
    copy?: IndexedCopy,
  ): Promise<(DrillRecord & { key: string }) | undefined> {
    try {
      const bytes = copy?.bytes ?? (await this.store.getBytes(key, { maxBytes: MAX_DRILL_RECORD_BYTES }));
      const record = parseDrillRecord(bytes, key);
      if (record.snapshotId !== id) return undefined;
      if (this.trust.verifyKeys.length > 0) {
        // A copy whose signature a trusted index vouches for skips the ed25519 check (catalogue-index.ts).
        if (!copy?.signedBy && drillSignatureProblem(record, this.trust.verifyKeys)) return undefined;
        if (archiveSha256 !== null && (!archiveSha256 || record.archiveSha256 !== archiveSha256)) return undefined;
      } else if (record.archiveSha256 !== undefined && archiveSha256 && record.archiveSha256 !== archiveSha256) {
        return undefined;
      }
      return { ...record, key };
    } catch (err) {
      if (err instanceof VaultOpsError && (err.code === 'verification' || err.code === 'store')) return undefined;
      // Deleted between the listing and the read (a prune running beside us).
      if (err instanceof VaultOpsError && err.code === 'not-found') return undefined;
      throw err;
    }
  }

  /** Reads of small objects this store takes in flight at once. */
  private get readConcurrency(): number {
    return this.store.readConcurrency ?? DEFAULT_READ_CONCURRENCY;
  }

  /** The archive sha256 the catalogue holds for each id with a readable manifest (binds its drill records). */
  private static archiveShas(catalogue: Catalogue): Map<string, string> {
    const archiveSha = new Map<string, string>();
    for (const m of catalogue.snapshots) archiveSha.set(m.id, m.archive.sha256);
    for (const a of catalogue.anomalies) if (a.manifest) archiveSha.set(a.id, a.manifest.archive.sha256);
    return archiveSha;
  }

  /**
   * The drill records of every catalogued snapshot (of those in `ids` when given), read from the
   * keys the catalogue listed (no second listing), a bounded number at a time, oldest first per
   * snapshot; unreadable ones are skipped. Every record is read: `drillStatuses` reads fewer.
   */
  async drillHistory(catalogue: Catalogue, ids?: readonly string[]): Promise<DrillHistory> {
    const only = ids ? new Set(ids) : undefined;
    const archiveSha = SnapshotRepository.archiveShas(catalogue);
    const wanted = Object.entries(catalogue.drillKeys).filter(([id]) => !only || only.has(id));
    const keys = wanted.flatMap(([id, list]) => list.map((key) => ({ id, key })));
    const records = await mapInFlight(keys, this.readConcurrency, ({ id, key }) =>
      this.readDrill(key, id, archiveSha.get(id), catalogue.drillCopies?.get(key)),
    );
    const history = new Map<string, Array<DrillRecord & { key: string }>>();
    for (const [i, { id }] of keys.entries()) {
      const record = records[i];
      if (record) (history.get(id) ?? history.set(id, []).get(id)!).push(record);
    }
    return history;
  }

  /**
   * Each snapshot's last drill and last passing drill (`drillStatus`), reading only what those need:
   * its records newest first, until a trusted passing one (usually the newest alone). Snapshots
   * without drill records read nothing; `ids` (default: every catalogued id) are read a bounded
   * number at a time. An id absent from the answer has no trusted record.
   */
  async drillStatuses(catalogue: Catalogue, ids?: readonly string[]): Promise<Map<string, SnapshotDrillStatus>> {
    const archiveSha = SnapshotRepository.archiveShas(catalogue);
    const wanted = (ids ?? Object.keys(catalogue.drillKeys)).filter((id) => catalogue.drillKeys[id]?.length);
    const statuses = await mapInFlight(wanted, this.readConcurrency, async (id) => {
      const newestFirst: Array<DrillRecord & { key: string }> = [];
      const keys = catalogue.drillKeys[id]!;
      for (let i = keys.length - 1; i >= 0; i--) {
        const record = await this.readDrill(keys[i]!, id, archiveSha.get(id), catalogue.drillCopies?.get(keys[i]!));
        if (!record) continue;
        newestFirst.push(record);
        if (record.passed) break;
      }
      return newestFirst.length ? drillStatus(newestFirst.reverse()) : undefined;
    });
    const out = new Map<string, SnapshotDrillStatus>();
    for (const [i, id] of wanted.entries()) if (statuses[i]) out.set(id, statuses[i]);
    return out;
  }

  /**
   * The first of `snapshots` (in their order, e.g. newest first) whose drill status passes `test`,
   * reading drill records a window of snapshots at a time, so that a match near the front reads
   * little; undefined when none does.
   */
  async firstByDrill(
    catalogue: Catalogue,
    snapshots: readonly SnapshotManifest[],
    test: (status: SnapshotDrillStatus) => boolean,
  ): Promise<SnapshotManifest | undefined> {
    const none = drillStatus([]);
    return await firstInOrder(snapshots, this.readConcurrency, async (m) =>
      test((await this.drillStatuses(catalogue, [m.id])).get(m.id) ?? none),
    );
  }

  /**
   * The readable drill records whose snapshot is not in the catalogue (pruned, or its manifest
   * unreadable), read from the keys the catalogue set aside as leftovers (no second listing).
   */
  async orphanDrills(catalogue: Catalogue): Promise<Array<DrillRecord & { key: string }>> {
    const keys = catalogue.incomplete
      .filter((i) => i.reason === ORPHAN_DRILL_REASON)
      .map(({ key }) => ({ key, c: classifyKey(this.store.prefix, key) }));
    const records = await mapInFlight(keys, this.readConcurrency, ({ key, c }) =>
      c.kind === 'drill'
        ? this.readDrill(key, c.id, null, catalogue.drillCopies?.get(key))
        : Promise.resolve(undefined),
    );
    return records.filter((r): r is DrillRecord & { key: string } => r !== undefined);
  }

  /** Where the store points, for messages (no credentials). */
  get url(): string {
    return this.store.url;
  }

  get capabilities(): StoreCapabilities {
    return this.store.capabilities;
  }

  /**
   * Stream a snapshot's archive into the store, create-only. Atomic as the store's `putStream` is:
   * on any failure (an error from `body`, an aborted `signal`) nothing is left under the key.
   */
  async putArchive(
    id: string,
    body: Readable,
    options: { encrypted: boolean; retention?: ArchiveRetention; signal?: AbortSignal },
  ): Promise<PutResult> {
    return await this.store.putStream(archiveKey(this.store.prefix, id, { encrypted: options.encrypted }), body, {
      contentType: options.encrypted ? 'application/age' : 'application/gzip',
      ...(options.retention ? { retention: options.retention } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /**
   * Remove an archive whose manifest was never written (a failed save), so that nothing
   * half-done lingers. A plain delete: one under object-lock retention stays and is listed as
   * incomplete.
   */
  discardArchive(key: string): Promise<void> {
    return this.store.delete(key);
  }

  /** Write a snapshot's manifest, create-only, after its archive; returns the manifest's key. */
  async putManifest(manifest: SnapshotManifest, options: { retention?: ArchiveRetention } = {}): Promise<string> {
    const key = manifestKey(this.store.prefix, manifest.id);
    await this.store.putBytes(key, `${JSON.stringify(manifest, null, 2)}\n`, {
      contentType: 'application/json',
      ...(options.retention ? { retention: options.retention } : {}),
    });
    return key;
  }

  /** The complete snapshots, newest first, and the leftovers (see `listCatalogue`). */
  catalogue(options: CatalogueReadOptions = {}): Promise<Catalogue> {
    return listCatalogue(this.store, this.trust, options);
  }

  /**
   * Rewrite the store's catalogue index when it is missing or stale (catalogue-index.ts), signed with
   * `signingKey` (default: this run's drill-signing key). Writers call it after their change.
   */
  refreshIndex(options: { signingKey?: KeyObject; signal?: AbortSignal } = {}): Promise<IndexRefresh> {
    const signingKey = options.signingKey ?? this.trust.signingKey;
    return refreshCatalogueIndex(this.store, this.trust, {
      ...(signingKey ? { signingKey } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /**
   * `refreshIndex` after a write, never failing the write: a writer's change is complete without the
   * index, which only makes later catalogues faster. Logs what it did (or why not) for the operator.
   */
  async refreshIndexAfterWrite(
    logger: Pick<Logger, 'info' | 'warn'>,
    options: { signingKey?: KeyObject; signal?: AbortSignal } = {},
  ): Promise<void> {
    try {
      const done = await this.refreshIndex(options);
      if (done.state === 'written') {
        logger.info({ store: this.url, entries: done.entries, read: done.read }, 'catalogue index written');
      }
    } catch (err) {
      if (options.signal?.aborted) return;
      logger.warn(
        { store: this.url, err: (err as Error).message },
        'catalogue index not refreshed: catalogues read every manifest and drill record instead (slower, not wrong)',
      );
    }
  }

  /** The newest trusted manifest, cheaply (without the whole catalogue); undefined in an empty store. */
  newest(): Promise<SnapshotManifest | undefined> {
    return newestManifest(this.store, this.trust);
  }

  /**
   * `latest`, `oldest` or an exact id, resolved to a catalogued snapshot; 'not-found' otherwise. An
   * exact id reads that snapshot alone, without the replay check (see `findSnapshot`).
   */
  find(which: string, options: SelectOptions & { signal?: AbortSignal } = {}): Promise<SnapshotManifest> {
    return findSnapshot(this.store, this.trust, which, options);
  }

  /** The catalogue of one snapshot id: every rule but the replay check (see `readOneSnapshot`). */
  catalogueOf(id: string, options: { signal?: AbortSignal } = {}): Promise<Catalogue> {
    return readOneSnapshot(this.store, this.trust, id, options);
  }

  /** `latest`, `oldest` or an exact id, picked from a catalogue already read; 'not-found' otherwise. */
  select(catalogue: Catalogue, which: string, options: SelectOptions = {}): SnapshotManifest {
    return selectSnapshot(catalogue, which, this.store, options);
  }

  /** The stored archive of a catalogued snapshot, as a stream. */
  openArchive(manifest: SnapshotManifest, options: { signal?: AbortSignal } = {}): Promise<Readable> {
    return this.store.get(manifest.archive.key, options.signal ? { signal: options.signal } : {});
  }

  /**
   * A snapshot's objects in the order they leave the store: its manifest first (out of the catalogue),
   * then its archive, then its drill records (`catalogue.drillKeys`). A removal cut short leaves drill
   * records without their snapshot, which the catalogue reports as leftovers and prune removes.
   */
  snapshotKeys(manifest: SnapshotManifest, drillKeys: readonly string[] = []): string[] {
    return [manifestKey(this.store.prefix, manifest.id), manifest.archive.key, ...drillKeys];
  }

  /** Every version of every object, listed once before a run of `retainedUntil` / `remove`. */
  async versionListing(): Promise<VersionListing> {
    if (!this.store.capabilities.versioning) return new Map();
    const map = new Map<string, StoredObjectVersion[]>();
    for (const v of await this.store.listVersions()) {
      const list = map.get(v.key) ?? [];
      list.push(v);
      map.set(v.key, list);
    }
    return map;
  }

  /** The latest object-lock retain-until date among the keys' versions, when still in the future. */
  async retainedUntil(keys: readonly string[], versions: VersionListing, now: Date): Promise<Date | undefined> {
    if (!this.store.capabilities.objectLock) return undefined;
    let latest: Date | undefined;
    for (const key of keys) {
      const targets = versions.get(key)?.filter((v) => !v.isDeleteMarker) ?? [];
      for (const v of targets.length ? targets : [{ key, versionId: undefined }]) {
        try {
          const head = await this.store.head(key, v.versionId ? { versionId: v.versionId } : {});
          if (head.retainUntil && head.retainUntil > now && (!latest || head.retainUntil > latest)) {
            latest = head.retainUntil;
          }
        } catch (err) {
          if (!(err instanceof VaultOpsError && err.code === 'not-found')) throw err;
        }
      }
    }
    return latest;
  }

  /**
   * Keys prune may not delete because the store holds more than one version of them: vault-ops writes
   * every object create-only, so a second version means someone overwrote it, and the older version may
   * be the real backup. Empty in an unversioned store. Each entry says why.
   */
  overwritten(keys: readonly string[], versions: VersionListing): string[] {
    if (!this.store.capabilities.versioning) return [];
    const out: string[] = [];
    for (const key of keys) {
      const objects = versions.get(key)?.filter((v) => !v.isDeleteMarker) ?? [];
      if (objects.length > 1) out.push(`${key} has ${objects.length} versions: it was overwritten`);
    }
    return out;
  }

  /**
   * Delete keys for good, in order: in a versioned bucket the key's one object version and its delete
   * markers by version id (a delete marker would only hide a snapshot), else the object. A key with
   * more than one object version is refused (`overwritten`): the caller checks first.
   */
  async remove(keys: readonly string[], versions: VersionListing): Promise<void> {
    const refused = this.overwritten(keys, versions);
    if (refused.length) {
      throw new VaultOpsError('verification', `not removed: ${refused.join('; ')}`);
    }
    for (const key of keys) {
      const list = versions.get(key);
      if (this.store.capabilities.versioning && list?.length) {
        for (const v of list) if (v.versionId) await this.store.delete(key, { versionId: v.versionId });
        continue;
      }
      await this.store.delete(key);
    }
  }

  /** The unfinished uploads of a key (a catalogue leftover with reason 'unfinished upload'). */
  async unfinishedUploads(key: string): Promise<IncompleteUpload[]> {
    return (await this.store.listIncomplete()).filter((u) => u.key === key);
  }

  abortUpload(upload: IncompleteUpload): Promise<void> {
    return this.store.abortIncomplete(upload);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/**
 * The name of the manifest that belongs beside an archive file of the layout (`<id>.snap` or
 * `<id>.snap.age` → `<id>.manifest.json`), for archives copied out of a store; undefined for any
 * other name.
 */
export function manifestNameBeside(archiveName: string): string | undefined {
  const c = classifyKey('', archiveName);
  return c.kind === 'archive' ? manifestKey('', c.id) : undefined;
}
