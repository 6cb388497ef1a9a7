import type { SnapshotDrillStatus } from '../repository/drill-history.js';

/** An RTO as people read it in a table: `14 s` up to ten minutes, then `12 min`. */
export function rtoText(seconds: number): string {
  return seconds < 600 ? `${Math.round(seconds)} s` : `${Math.round(seconds / 60)} min`;
}

/**
 * `snapshot list`'s DRILL column: `verified 2026-11-28 · 14 s` (the UTC date of the last drill, which
 * passed, and the RTO it measured), `FAILED` (the last drill failed) or `never`.
 */
export function drillStatusText(status: SnapshotDrillStatus): string {
  const last = status.lastDrill;
  if (!last) return 'never';
  if (!last.passed) return 'FAILED';
  return `verified ${last.finishedAt.slice(0, 10)} · ${rtoText(last.rtoSeconds)}`;
}
