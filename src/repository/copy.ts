import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VaultOpsError, isVaultOpsError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { SnapshotManifest } from './manifest.js';
import type { SnapshotRepository } from './snapshot-repository.js';

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
  deps: { logger: Logger; signal?: AbortSignal },
): Promise<CopyReport> {
  const report: CopyReport = { from: from.url, to: to.url, copied: [], skipped: [] };
  const present = new Set((await to.catalogue(deps.signal ? { signal: deps.signal } : {})).snapshots.map((m) => m.id));
  let wanted: SnapshotManifest[];
  if ('missing' in selection) {
    wanted = (await from.catalogue(deps.signal ? { signal: deps.signal } : {})).snapshots.slice().reverse();
  } else {
    wanted = [await from.find(selection.snapshot)];
  }
  for (const manifest of wanted) {
    if (present.has(manifest.id)) {
      // Only a named snapshot is worth a note; --missing skips the present ones silently in text.
      const drills = await copyDrillRecords(from, to, manifest.id, deps.signal);
      report.skipped.push({ id: manifest.id, reason: `already in ${to.url}`, drills });
      continue;
    }
    report.copied.push(await copyOne(from, to, manifest, deps));
  }
  return report;
}

async function copyOne(
  from: SnapshotRepository,
  to: SnapshotRepository,
  manifest: SnapshotManifest,
  deps: { logger: Logger; signal?: AbortSignal },
): Promise<CopiedSnapshot> {
  const signal = deps.signal ? { signal: deps.signal } : {};
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
  const put = to.putArchive(manifest.id, check, { encrypted: manifest.encryption !== undefined, ...signal });
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
    manifestKey = await to.putManifest(copied);
  } catch (err) {
    await to.discardArchive(stored.value.key).catch(() => undefined);
    throw err;
  }
  const drills = await copyDrillRecords(from, to, manifest.id, deps.signal);
  deps.logger.info({ snapshotId: manifest.id, from: from.url, to: to.url, bytes, drills }, 'snapshot copied');
  return { id: manifest.id, archiveKey: stored.value.key, manifestKey, bytes, sha256: expected.sha256, drills };
}

/**
 * The drill records of one snapshot that `to` lacks, copied (a record is the same drill when it
 * finished at the same instant); returns how many were copied.
 */
async function copyDrillRecords(
  from: SnapshotRepository,
  to: SnapshotRepository,
  snapshotId: string,
  signal: AbortSignal | undefined,
): Promise<number> {
  const listing = { snapshotId, ...(signal ? { signal } : {}) };
  const present = new Set((await to.drills.list(listing)).map((d) => d.finishedAt));
  let copied = 0;
  for (const { key: _key, ...record } of await from.drills.list(listing)) {
    if (present.has(record.finishedAt)) continue;
    await to.drills.write(record);
    copied++;
  }
  return copied;
}

function mismatch(manifest: SnapshotManifest, url: string, what: string): VaultOpsError {
  return new VaultOpsError(
    'snapshot-corrupt',
    `the archive of snapshot ${manifest.id} in ${url} does not match its manifest (${what}): it was damaged or ` +
      `replaced; nothing was copied. Check it with 'vault-ops snapshot inspect'`,
  );
}
