import { randomBytes } from 'node:crypto';
import { VaultOpsError } from '../errors.js';
import { formatCompactUtc, parseCompactUtc } from '../time/compact-utc.js';

/**
 * Snapshot ids: a sortable UTC timestamp (second precision) plus a short random suffix,
 * e.g. `20261127T184600Z-3f9a1c`. Lexicographic order of ids is chronological order.
 */

const SNAPSHOT_ID_RE = /^(\d{8}T\d{6}Z)-([0-9a-f]{6})$/;
const SUFFIX_RE = /^[0-9a-f]{6}$/;

function randomSuffix(): string {
  return randomBytes(3).toString('hex');
}

/**
 * A new snapshot id for `now` (UTC, truncated to the second). `random` supplies the 6 lowercase
 * hex character suffix; it defaults to 3 bytes from node:crypto.
 */
export function newSnapshotId(now: Date, random: () => string = randomSuffix): string {
  const suffix = random();
  if (!SUFFIX_RE.test(suffix)) {
    throw new VaultOpsError('internal', 'snapshot id suffix must be 6 lowercase hex characters');
  }
  return `${formatCompactUtc(now)}-${suffix}`;
}

/** The time and suffix of a snapshot id, or undefined when `id` is not a valid snapshot id. */
export function parseSnapshotId(id: string): { time: Date; suffix: string } | undefined {
  if (typeof id !== 'string') return undefined;
  const m = SNAPSHOT_ID_RE.exec(id);
  if (!m) return undefined;
  const time = parseCompactUtc(m[1] as string);
  if (!time) return undefined;
  return { time, suffix: m[2] as string };
}

/** True when `s` is a well-formed snapshot id with a real date and time. */
export function isSnapshotId(s: unknown): s is string {
  return typeof s === 'string' && parseSnapshotId(s) !== undefined;
}

/** Orders snapshot ids oldest first (lexicographic order is chronological order). */
export function compareSnapshotIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
