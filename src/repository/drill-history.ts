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

export const isVerified = (history: DrillHistory, id: string): boolean =>
  history.get(id)?.some((r) => r.passed) ?? false;

/** The newest snapshot without a passing drill (`verify --snapshot unverified`); undefined when all are verified. */
export function newestUnverified(
  snapshots: readonly SnapshotManifest[],
  history: DrillHistory,
): SnapshotManifest | undefined {
  return snapshots.find((m) => !isVerified(history, m.id));
}

/** The newest snapshot with a passing drill; `snapshots` newest first, as the catalogue lists them. */
export function newestVerified(
  snapshots: readonly SnapshotManifest[],
  history: DrillHistory,
): SnapshotManifest | undefined {
  return snapshots.find((m) => isVerified(history, m.id));
}
