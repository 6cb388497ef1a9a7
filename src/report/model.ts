import type { Catalogue } from '../repository/catalogue.js';
import { groupBySnapshot, isVerified, newestVerified } from '../repository/drill-history.js';
import type { DrillRecord } from '../repository/drill-record.js';
import type { SnapshotManifest } from '../repository/manifest.js';

/** What the report is made from: read from the store by the command, passed in whole (no I/O here). */
export interface ReportInput {
  /** The store, as `SnapshotRepository.url` names it (no credentials). */
  storeUrl: string;
  catalogue: Catalogue;
  /** Every drill record in the store, in any order. */
  drills: readonly DrillRecord[];
  now: Date;
  toolVersion: string;
}

export type DrillStatus = 'passed' | 'failed' | 'never';

export interface SnapshotRow {
  manifest: SnapshotManifest;
  ageMs: number;
  /** The snapshot's latest drill (by finish time), if it had any. */
  lastDrill: DrillRecord | undefined;
  status: DrillStatus;
  drillCount: number;
}

export interface DrillRow {
  record: DrillRecord;
  /** False for a drill of a snapshot no longer in the catalogue (pruned, or its manifest unreadable). */
  inCatalogue: boolean;
  failedChecks: DrillRecord['checks'];
}

export interface ReportSummary {
  snapshots: number;
  totalBytes: number;
  newest: { id: string; createdAt: string; ageMs: number } | undefined;
  /** The newest catalogued snapshot with a passing drill: the one a restore can rely on. */
  newestVerified: { id: string; createdAt: string; ageMs: number; drilledAt: string } | undefined;
  /** Catalogued snapshots without a passing drill. */
  unverified: number;
  drills: { total: number; passed: number; failed: number };
  lastDrill: DrillRecord | undefined;
  /** Objects beside the catalogue (interrupted saves, unfinished uploads). */
  incomplete: number;
}

export interface ReportModel {
  storeUrl: string;
  generatedAt: Date;
  toolVersion: string;
  summary: ReportSummary;
  /** Newest first, as `snapshot list` shows them. */
  snapshots: SnapshotRow[];
  /** Newest first. */
  drills: DrillRow[];
}

const timeOf = (iso: string): number => {
  const t = new Date(iso).getTime();
  return Number.isNaN(t) ? 0 : t;
};

/** The report's content, computed once from the catalogue and the drill records at `now`. */
export function buildReportModel(input: ReportInput): ReportModel {
  const now = input.now.getTime();
  const drills = [...input.drills].sort(
    (a, b) => timeOf(b.finishedAt) - timeOf(a.finishedAt) || (a.snapshotId < b.snapshotId ? 1 : -1),
  );
  // Per snapshot oldest first, and the verification rules, as `snapshot list` and `verify` use them.
  const history = groupBySnapshot(input.drills);

  const snapshots: SnapshotRow[] = input.catalogue.snapshots.map((manifest) => {
    const own = history.get(manifest.id) ?? [];
    const lastDrill = own.at(-1);
    return {
      manifest,
      ageMs: now - timeOf(manifest.createdAt),
      lastDrill,
      status: lastDrill ? (lastDrill.passed ? 'passed' : 'failed') : 'never',
      drillCount: own.length,
    };
  });

  const catalogued = new Set(input.catalogue.snapshots.map((m) => m.id));
  const lastPassing = (id: string) => (history.get(id) ?? []).findLast((d) => d.passed);
  const verified = newestVerified(input.catalogue.snapshots, history);
  const newest = input.catalogue.snapshots[0];
  const passed = drills.filter((d) => d.passed).length;

  return {
    storeUrl: input.storeUrl,
    generatedAt: input.now,
    toolVersion: input.toolVersion,
    summary: {
      snapshots: snapshots.length,
      totalBytes: input.catalogue.snapshots.reduce((sum, m) => sum + m.archive.bytes, 0),
      newest: newest && { id: newest.id, createdAt: newest.createdAt, ageMs: now - timeOf(newest.createdAt) },
      newestVerified: verified && {
        id: verified.id,
        createdAt: verified.createdAt,
        ageMs: now - timeOf(verified.createdAt),
        drilledAt: lastPassing(verified.id)!.finishedAt,
      },
      unverified: input.catalogue.snapshots.filter((m) => !isVerified(history, m.id)).length,
      drills: { total: drills.length, passed, failed: drills.length - passed },
      lastDrill: drills[0],
      incomplete: input.catalogue.incomplete.length,
    },
    snapshots,
    drills: drills.map((record) => ({
      record,
      inCatalogue: catalogued.has(record.snapshotId),
      failedChecks: record.checks.filter((c) => !c.passed),
    })),
  };
}
