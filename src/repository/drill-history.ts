import type { DrillRecord } from './drill-record.js';
import type { SnapshotManifest } from './manifest.js';

/** One drill as `snapshot list --output json` shows it (the record without its checks and timings). */
export interface DrillSummary {
  key: string;
  finishedAt: string;
  passed: boolean;
  mode: DrillRecord['mode'];
  rtoSeconds: number;
  server: DrillRecord['server'];
}

/**
 * A snapshot's drill history in two answers: its last drill (passed or failed), and its last passing
 * drill. A snapshot is verified when it has a passing drill: a later failed drill shows (`FAILED`)
 * but does not undo the proof that the archive restored.
 */
export interface SnapshotDrillStatus {
  lastDrill: DrillSummary | null;
  lastPassingDrill: DrillSummary | null;
}

/** Each snapshot's drill records, oldest first (SnapshotRepository.drillHistory). */
export type DrillHistory = ReadonlyMap<string, ReadonlyArray<DrillRecord & { key: string }>>;

/** What the verification rules below read of a history: whether each drill passed, oldest first. */
type PassHistory = ReadonlyMap<string, ReadonlyArray<Pick<DrillRecord, 'passed'>>>;

/** Records grouped by snapshot, each group oldest first (by finish time), as DrillHistory holds them. */
export function groupBySnapshot<R extends Pick<DrillRecord, 'snapshotId' | 'finishedAt'>>(
  records: readonly R[],
): Map<string, R[]> {
  const time = (r: R) => Date.parse(r.finishedAt) || 0; // an unparseable time sorts first
  const byTime = [...records].sort((a, b) => time(a) - time(b));
  const groups = new Map<string, R[]>();
  for (const r of byTime) groups.set(r.snapshotId, [...(groups.get(r.snapshotId) ?? []), r]);
  return groups;
}

function summary(r: DrillRecord & { key: string }): DrillSummary {
  return {
    key: r.key,
    finishedAt: r.finishedAt,
    passed: r.passed,
    mode: r.mode,
    rtoSeconds: r.rtoSeconds,
    server: r.server,
  };
}

/** The status of one snapshot from its records, oldest first. */
export function drillStatus(records: ReadonlyArray<DrillRecord & { key: string }> = []): SnapshotDrillStatus {
  const last = records.at(-1);
  const lastPassing = records.findLast((r) => r.passed);
  return { lastDrill: last ? summary(last) : null, lastPassingDrill: lastPassing ? summary(lastPassing) : null };
}

export const isVerified = (history: PassHistory, id: string): boolean =>
  history.get(id)?.some((r) => r.passed) ?? false;

/** The newest snapshot without a passing drill (`verify --snapshot unverified`); undefined when all are verified. */
export function newestUnverified(
  snapshots: readonly SnapshotManifest[],
  history: PassHistory,
): SnapshotManifest | undefined {
  return snapshots.find((m) => !isVerified(history, m.id));
}

/** The newest snapshot with a passing drill; `snapshots` newest first, as the catalogue lists them. */
export function newestVerified(
  snapshots: readonly SnapshotManifest[],
  history: PassHistory,
): SnapshotManifest | undefined {
  return snapshots.find((m) => isVerified(history, m.id));
}
