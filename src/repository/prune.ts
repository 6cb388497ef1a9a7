import { VaultOpsError, isVaultOpsError, shellArg } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { planRetention, type KeepReason, type RetentionPolicy } from './retention.js';
import type { SnapshotRepository } from './snapshot-repository.js';

export interface PruneOptions {
  policy: RetentionPolicy;
  dryRun: boolean;
  /** Incomplete leftovers younger than this are left alone: a save may still be running. */
  incompleteGraceMs: number;
  now: Date;
  /**
   * Lift the per-run cap: without it a run never leaves fewer than two snapshots of a store that has
   * more (unless the policy itself keeps at most one), the rest waits for the next run.
   */
  force?: boolean;
}

/** `snapshot prune --output json`. */
export interface PruneReport {
  dryRun: boolean;
  /** `createdAt`: the snapshot's time as its id says (what retention orders by). */
  keep: Array<{ id: string; createdAt: string; reasons: Array<KeepReason | 'cap'> }>;
  remove: Array<{
    id: string;
    createdAt: string;
    keys: string[];
    /** `overwritten`: a key of it has several versions in a versioned store; nothing of it was removed. */
    status: 'planned' | 'removed' | 'locked' | 'overwritten' | 'failed';
    detail?: string;
  }>;
  /** Ids the catalogue did not trust or set apart as anomalies: never touched by prune. */
  setApart: Array<{ id: string; keys: string[]; reason: string; trust: 'untrusted' | 'anomaly' }>;
  incomplete: Array<{
    key: string;
    reason: string;
    status: 'planned' | 'removed' | 'too-young' | 'locked' | 'overwritten' | 'failed';
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
    const report = await prune(repository, options, logger, (name) => reporter?.sawCluster?.(name));
    // A dry run changed nothing: it is no prune to report.
    if (report.dryRun) return report;
    if (report.remove.some((r) => r.status === 'removed')) await repository.refreshIndexAfterWrite(logger);
    const failed =
      report.remove.some((r) => r.status === 'failed') || report.incomplete.some((r) => r.status === 'failed');
    // Kept, not failed: an overwritten key is for a human to look at, and the next run skips it again.
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
  /** The cluster name the newest catalogued snapshot records (the metrics' default `vault_cluster`). */
  sawCluster?(name: string | undefined): void;
}

/** A policy that keeps at most one snapshot asks for one: the per-run cap does not second-guess it. */
function keepsAtMostOne(policy: RetentionPolicy): boolean {
  const counts = [policy.keepLast, policy.keepHourly, policy.keepDaily, policy.keepWeekly, policy.keepMonthly];
  return [...counts, policy.keepYearly].reduce<number>((sum, n) => sum + (n ?? 0), 0) <= 1;
}

async function prune(
  repository: SnapshotRepository,
  options: PruneOptions,
  logger: Logger,
  clusterSeen: (name: string | undefined) => void,
): Promise<PruneReport> {
  const catalogue = await repository.catalogue();
  clusterSeen(catalogue.snapshots[0]?.cluster.name);
  // Ordering and retention come from the ids (the keys), never from a field an uploader writes freely:
  // a catalogued snapshot's createdAt is its id's second plus milliseconds (the catalogue set apart every
  // manifest where it is not), so it orders snapshots of one second as the catalogue does and nothing
  // more. Untrusted and anomalous ids are not in `snapshots`: they neither count nor anchor anything.
  const plan = planRetention(
    catalogue.snapshots.map((m) => ({ id: m.id, time: new Date(m.createdAt) })),
    options.policy,
  );
  const newest = catalogue.snapshots[0]?.id;
  if (newest && plan.remove.some((r) => r.id === newest)) {
    throw new VaultOpsError('internal', `retention plan would remove the newest snapshot ${newest}: refusing to prune`);
  }
  const keep: PruneReport['keep'] = plan.keep.map((k) => ({
    id: k.id,
    createdAt: k.time.toISOString(),
    reasons: k.reasons,
  }));
  const warnings: string[] = [];
  let remove = plan.remove;
  // The per-run cap: never all but one (a store of several snapshots pruned down to its newest alone is
  // what forged anchors would cause); the newest snapshot the policy lets go stays for another run.
  if (!options.force && keep.length === 1 && remove.length > 0 && !keepsAtMostOne(options.policy)) {
    const spared = remove[0]!;
    remove = remove.slice(1);
    keep.push({ id: spared.id, createdAt: spared.time.toISOString(), reasons: ['cap'] });
    warnings.push(
      `kept ${spared.id} beyond the policy: one run never prunes a store down to a single snapshot ` +
        '(--force lifts the cap)',
    );
  }
  const byId = new Map(catalogue.snapshots.map((m) => [m.id, m]));
  const versions = await repository.versionListing();

  const report: PruneReport = {
    dryRun: options.dryRun,
    keep,
    remove: [],
    setApart: [
      ...catalogue.untrusted.map((u) => ({ id: u.id, keys: u.keys, reason: u.reason, trust: 'untrusted' as const })),
      ...catalogue.anomalies.map((a) => ({ id: a.id, keys: a.keys, reason: a.reason, trust: 'anomaly' as const })),
    ],
    incomplete: [],
    warnings,
  };
  if (report.setApart.length) {
    warnings.push(
      `${report.setApart.length} snapshot id(s) set apart as untrusted or anomalous were left alone: see ` +
        `'vault-ops snapshot list --from ${shellArg(repository.url)}'`,
    );
  }

  for (const r of remove) {
    const manifest = byId.get(r.id)!;
    const keys = repository.snapshotKeys(manifest, catalogue.drillKeys[r.id]);
    const entry: PruneReport['remove'][number] = { id: r.id, createdAt: r.time.toISOString(), keys, status: 'planned' };
    report.remove.push(entry);
    const overwritten = repository.overwritten(keys, versions);
    if (overwritten.length) {
      entry.status = 'overwritten';
      entry.detail = overwritten.join('; ');
      warnings.push(`snapshot ${r.id} was not pruned: ${entry.detail} (an older version may be the real one)`);
      continue;
    }
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
    const overwritten = repository.overwritten([leftover.key], versions);
    if (overwritten.length) {
      entry.status = 'overwritten';
      entry.detail = overwritten.join('; ');
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
