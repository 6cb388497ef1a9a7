import { VaultOpsError, isVaultOpsError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { planRetention, type KeepReason, type RetentionPolicy } from './retention.js';
import type { SnapshotRepository } from './snapshot-repository.js';

export interface PruneOptions {
  policy: RetentionPolicy;
  dryRun: boolean;
  /** Incomplete leftovers younger than this are left alone: a save may still be running. */
  incompleteGraceMs: number;
  now: Date;
}

/** `snapshot prune --output json`. */
export interface PruneReport {
  dryRun: boolean;
  keep: Array<{ id: string; createdAt: string; reasons: KeepReason[] }>;
  remove: Array<{
    id: string;
    createdAt: string;
    keys: string[];
    status: 'planned' | 'removed' | 'locked' | 'failed';
    detail?: string;
  }>;
  incomplete: Array<{
    key: string;
    reason: string;
    status: 'planned' | 'removed' | 'too-young' | 'locked' | 'failed';
    detail?: string;
  }>;
  warnings: string[];
}

/**
 * Apply a retention policy to the store's catalogue. The newest complete snapshot is never removed;
 * a snapshot leaves the catalogue by its manifest being deleted first, then its archive and its drill
 * records (drill records left without their snapshot are leftovers, removed after the grace period); objects
 * under object-lock retention are skipped with a warning; in a versioned bucket every version of a
 * removed key is deleted by version id, so no delete marker is left to hide a snapshot.
 */
export async function pruneSnapshots(
  repository: SnapshotRepository,
  options: PruneOptions,
  logger: Logger,
  reporter?: PruneReporter,
): Promise<PruneReport> {
  try {
    const report = await prune(repository, options, logger);
    // A dry run changed nothing: it is no prune to report.
    if (report.dryRun) return report;
    const failed =
      report.remove.some((r) => r.status === 'failed') || report.incomplete.some((r) => r.status === 'failed');
    if (failed) reporter?.failed('store', new Date());
    else reporter?.pruned(report, new Date());
    return report;
  } catch (err) {
    if (!options.dryRun) reporter?.failed(isVaultOpsError(err) ? err.code : 'internal', new Date());
    throw err;
  }
}

/** What a prune reports when it ends (metrics): typed events, no metrics library. */
export interface PruneReporter {
  pruned(report: PruneReport, at: Date): void;
  failed(reason: string, at: Date): void;
}

async function prune(repository: SnapshotRepository, options: PruneOptions, logger: Logger): Promise<PruneReport> {
  const catalogue = await repository.catalogue();
  const plan = planRetention(
    catalogue.snapshots.map((m) => ({ id: m.id, time: new Date(m.createdAt) })),
    options.policy,
  );
  const newest = catalogue.snapshots[0]?.id;
  if (newest && plan.remove.some((r) => r.id === newest)) {
    throw new VaultOpsError('internal', `retention plan would remove the newest snapshot ${newest}: refusing to prune`);
  }
  const byId = new Map(catalogue.snapshots.map((m) => [m.id, m]));
  const versions = await repository.versionListing();

  const report: PruneReport = {
    dryRun: options.dryRun,
    keep: plan.keep.map((k) => ({ id: k.id, createdAt: k.time.toISOString(), reasons: k.reasons })),
    remove: [],
    incomplete: [],
    warnings: [],
  };

  for (const r of plan.remove) {
    const manifest = byId.get(r.id)!;
    const keys = repository.snapshotKeys(manifest, catalogue.drillKeys[r.id]);
    const entry: PruneReport['remove'][number] = { id: r.id, createdAt: r.time.toISOString(), keys, status: 'planned' };
    report.remove.push(entry);
    const lockedUntil = await repository.retainedUntil(keys, versions, options.now);
    if (lockedUntil) {
      entry.status = 'locked';
      entry.detail = `under object-lock retention until ${lockedUntil.toISOString()}`;
      report.warnings.push(
        `snapshot ${r.id} is under object-lock retention until ${lockedUntil.toISOString()}: kept for now`,
      );
      continue;
    }
    if (options.dryRun) continue;
    try {
      await repository.remove(keys, versions);
      entry.status = 'removed';
      logger.info({ snapshotId: r.id }, 'pruned snapshot');
    } catch (err) {
      entry.status = 'failed';
      entry.detail = (err as Error).message;
      report.warnings.push(`could not remove snapshot ${r.id}: ${(err as Error).message}`);
    }
  }

  for (const leftover of catalogue.incomplete) {
    const age = options.now.getTime() - Date.parse(leftover.lastModified);
    const entry: PruneReport['incomplete'][number] = { key: leftover.key, reason: leftover.reason, status: 'planned' };
    report.incomplete.push(entry);
    if (age < options.incompleteGraceMs) {
      entry.status = 'too-young';
      continue;
    }
    if (leftover.reason === 'unfinished upload') {
      if (options.dryRun) continue;
      const uploads = await repository.unfinishedUploads(leftover.key);
      try {
        for (const u of uploads) await repository.abortUpload(u);
        entry.status = 'removed';
      } catch (err) {
        entry.status = 'failed';
        entry.detail = (err as Error).message;
      }
      continue;
    }
    const lockedUntil = await repository.retainedUntil([leftover.key], versions, options.now);
    if (lockedUntil) {
      entry.status = 'locked';
      entry.detail = `under object-lock retention until ${lockedUntil.toISOString()}`;
      continue;
    }
    if (options.dryRun) continue;
    try {
      await repository.remove([leftover.key], versions);
      entry.status = 'removed';
    } catch (err) {
      entry.status = 'failed';
      entry.detail = (err as Error).message;
    }
  }
  for (const w of report.warnings) logger.warn(w);
  return report;
}
