import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VaultOpsError, isVaultOpsError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { DrillRecord } from './drill-record.js';
import type { SnapshotManifest } from './manifest.js';
import type { ArchiveRetention, SnapshotRepository } from './snapshot-repository.js';
import { snapshotTime } from './trust.js';

/** What a copy protects its objects with in the destination: S3 object lock, as a save does. */
export interface CopyProtection {
  objectLock?: { mode: ArchiveRetention['mode']; days: number };
}

/** Which snapshots of the source to copy. */
export type CopySelection = { snapshot: string } | { missing: true };

export interface CopiedSnapshot {
  id: string;
  archiveKey: string;
  manifestKey: string;
  bytes: number;
  sha256: string;
  /** Drill records copied with it. */
  drills: number;
}

/** `snapshot copy --output json`. */
export interface CopyReport {
  from: string;
  to: string;
  copied: CopiedSnapshot[];
  /**
   * Snapshots already in the destination (create-only: never replaced). Their drill records the
   * destination lacks are still copied (`drills`): a drill run since an earlier copy must not be
   * missing from the copy's catalogue.
   */
  skipped: Array<{ id: string; reason: string; drills: number }>;
}

/**
 * Copy snapshots from one store to another, create-only, each verified on the way: the archive is
 * streamed from `from` to `to` through a SHA-256, and the destination's upload completes only when
 * the bytes and the hash equal the manifest's (the check runs before the stream signals its end,
 * as in a save), so a damaged source archive never becomes an object in `to`: exit 3, nothing
 * left. Then the manifest, rewritten for the destination's archive key (the signature does not
 * cover the key, so it still verifies), is written last, and the snapshot's drill records follow.
 *
 * `{snapshot: ID|latest|oldest}` copies one snapshot; `{missing: true}` every snapshot of `from`
 * not in `to`, oldest first (catch-up after an outage, seeding a new region). An id already in
 * `to` is skipped with a note.
 */
export async function copySnapshots(
  from: SnapshotRepository,
  to: SnapshotRepository,
  selection: CopySelection,
  deps: { logger: Logger; signal?: AbortSignal; protection?: CopyProtection },
): Promise<CopyReport> {
  const report: CopyReport = { from: from.url, to: to.url, copied: [], skipped: [] };
  const signal = deps.signal ? { signal: deps.signal } : {};
  // One listing of each store: the catalogues name the snapshots and their drill records' keys.
  const [fromCatalogue, toCatalogue] = await Promise.all([from.catalogue(signal), to.catalogue(signal)]);
  const present = new Set(toCatalogue.snapshots.map((m) => m.id));
  const wanted =
    'missing' in selection
      ? fromCatalogue.snapshots.slice().reverse()
      : [from.select(fromCatalogue, selection.snapshot)];
  const ids = wanted.map((m) => m.id);
  const [fromDrills, toDrills] = await Promise.all([
    from.drillHistory(fromCatalogue, ids),
    to.drillHistory(
      toCatalogue,
      ids.filter((id) => present.has(id)),
    ),
  ]);
  for (const manifest of wanted) {
    const drills = fromDrills.get(manifest.id) ?? [];
    if (present.has(manifest.id)) {
      // Only a named snapshot is worth a note; --missing skips the present ones silently in text.
      const copied = await copyDrillRecords(to, drills, toDrills.get(manifest.id) ?? [], retentionFor(manifest, deps));
      report.skipped.push({ id: manifest.id, reason: `already in ${to.url}`, drills: copied });
      continue;
    }
    report.copied.push(await copyOne(from, to, manifest, drills, deps));
  }
  return report;
}

async function copyOne(
  from: SnapshotRepository,
  to: SnapshotRepository,
  manifest: SnapshotManifest,
  drillRecords: ReadonlyArray<DrillRecord & { key: string }>,
  deps: { logger: Logger; signal?: AbortSignal; protection?: CopyProtection },
): Promise<CopiedSnapshot> {
  const signal = deps.signal ? { signal: deps.signal } : {};
  const retention = retentionFor(manifest, deps);
  const locked = retention ? { retention } : {};
  const hash = createHash('sha256');
  let bytes = 0;
  const expected = manifest.archive;
  // Hash every byte on its way; hold back the end until the archive proved to be the manifest's.
  const check = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      if (bytes > expected.bytes) return callback(mismatch(manifest, from.url, `more than ${expected.bytes} bytes`));
      callback(null, chunk);
    },
    flush(callback) {
      const sha256 = hash.digest('hex');
      if (bytes !== expected.bytes)
        return callback(mismatch(manifest, from.url, `${bytes} bytes, not ${expected.bytes}`));
      if (sha256 !== expected.sha256)
        return callback(
          mismatch(manifest, from.url, `sha256 ${sha256.slice(0, 16)}…, not ${expected.sha256.slice(0, 16)}…`),
        );
      callback();
    },
  });
  const source = await from.openArchive(manifest, signal);
  const flowing = pipeline(source, check);
  flowing.catch(() => undefined);
  const put = to.putArchive(manifest.id, check, {
    encrypted: manifest.encryption !== undefined,
    ...locked,
    ...signal,
  });
  const [flowed, stored] = await Promise.allSettled([flowing, put]);
  if (flowed.status === 'rejected' || stored.status === 'rejected') {
    if (stored.status === 'fulfilled') await to.discardArchive(stored.value.key).catch(() => undefined);
    const cause = flowed.status === 'rejected' ? flowed.reason : (stored as PromiseRejectedResult).reason;
    if (isVaultOpsError(cause)) throw cause;
    throw new VaultOpsError(
      'store',
      `copying snapshot ${manifest.id} from ${from.url} to ${to.url} failed ` +
        `(${(cause as NodeJS.ErrnoException)?.code ?? (cause as Error)?.message ?? 'error'}): nothing was left in ` +
        `${to.url}; check both stores and run again`,
      { cause },
    );
  }
  const copied: SnapshotManifest = { ...manifest, archive: { ...manifest.archive, key: stored.value.key } };
  let manifestKey: string;
  try {
    manifestKey = await to.putManifest(copied, locked);
  } catch (err) {
    await to.discardArchive(stored.value.key).catch(() => undefined);
    throw err;
  }
  const drills = await copyDrillRecords(to, drillRecords, [], retention);
  deps.logger.info({ snapshotId: manifest.id, from: from.url, to: to.url, bytes, drills }, 'snapshot copied');
  return { id: manifest.id, archiveKey: stored.value.key, manifestKey, bytes, sha256: expected.sha256, drills };
}

/**
 * The drill records of one snapshot that `to` lacks (`present`: the ones it has; a record is the
 * same drill when it finished at the same instant), copied; returns how many were copied.
 */
async function copyDrillRecords(
  to: SnapshotRepository,
  records: ReadonlyArray<DrillRecord & { key: string }>,
  present: ReadonlyArray<DrillRecord>,
  retention: ArchiveRetention | undefined,
): Promise<number> {
  const had = new Set(present.map((d) => d.finishedAt));
  let copied = 0;
  for (const { key: _key, ...record } of records) {
    if (had.has(record.finishedAt)) continue;
    await to.drills.write(record, retention ? { retention } : {});
    copied++;
  }
  return copied;
}

/**
 * The lock of a copied snapshot's objects: as long as the save would have locked them, counted from the
 * snapshot's time (its id); none once that is past, or when no lock was asked for.
 */
function retentionFor(manifest: SnapshotManifest, deps: { protection?: CopyProtection }): ArchiveRetention | undefined {
  const lock = deps.protection?.objectLock;
  if (!lock) return undefined;
  const until = new Date(snapshotTime(manifest.id).getTime() + lock.days * 86_400_000);
  return until.getTime() > Date.now() ? { mode: lock.mode, until } : undefined;
}

function mismatch(manifest: SnapshotManifest, url: string, what: string): VaultOpsError {
  return new VaultOpsError(
    'snapshot-corrupt',
    `the archive of snapshot ${manifest.id} in ${url} does not match its manifest (${what}): it was damaged or ` +
      `replaced; nothing was copied. Check it with 'vault-ops snapshot inspect'`,
  );
}
