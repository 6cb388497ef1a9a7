import { randomBytes } from 'node:crypto';
import { VaultOpsError } from '../errors.js';

/**
 * Snapshot ids: a sortable UTC timestamp (second precision) plus a short random suffix,
 * e.g. `20261127T184600Z-3f9a1c`. Lexicographic order of ids is chronological order.
 */

const SNAPSHOT_ID_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-([0-9a-f]{6})$/;
const COMPACT_UTC_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const SUFFIX_RE = /^[0-9a-f]{6}$/;

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * `YYYYMMDDTHHMMSSZ` for a date, in UTC, truncated to the second.
 * Throws 'usage' for an invalid date or a year outside 0000–9999.
 */
export function formatCompactUtc(date: Date): string {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) {
    throw new VaultOpsError('usage', 'invalid date: expected a valid point in time');
  }
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) {
    throw new VaultOpsError('usage', `date ${date.toISOString()} is outside the years 0000–9999`);
  }
  return (
    pad(year, 4) +
    pad(date.getUTCMonth() + 1, 2) +
    pad(date.getUTCDate(), 2) +
    'T' +
    pad(date.getUTCHours(), 2) +
    pad(date.getUTCMinutes(), 2) +
    pad(date.getUTCSeconds(), 2) +
    'Z'
  );
}

/** The UTC date of `YYYYMMDDTHHMMSSZ`, or undefined when the text is not a real point in time. */
export function parseCompactUtc(text: string): Date | undefined {
  const m = COMPACT_UTC_RE.exec(text);
  return m ? dateFromParts(m) : undefined;
}

function dateFromParts(m: RegExpExecArray): Date | undefined {
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const d = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 onto 1900–1999.
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  // Reject roll-overs such as month 13, 30 February or second 60.
  if (
    d.getUTCFullYear() !== year ||
    d.getUTCMonth() !== month - 1 ||
    d.getUTCDate() !== day ||
    d.getUTCHours() !== hour ||
    d.getUTCMinutes() !== minute ||
    d.getUTCSeconds() !== second
  ) {
    return undefined;
  }
  return d;
}

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
  const time = dateFromParts(m);
  if (!time) return undefined;
  return { time, suffix: m[7] as string };
}

/** True when `s` is a well-formed snapshot id with a real date and time. */
export function isSnapshotId(s: unknown): s is string {
  return typeof s === 'string' && parseSnapshotId(s) !== undefined;
}

/** Orders snapshot ids oldest first (lexicographic order is chronological order). */
export function compareSnapshotIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
