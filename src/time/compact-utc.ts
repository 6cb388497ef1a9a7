import { VaultOpsError } from '../errors.js';

/**
 * Compact UTC timestamps, `YYYYMMDDTHHMMSSZ` (second precision): the sortable time in snapshot
 * ids, record names and run ids. Lexicographic order is chronological order.
 */

const COMPACT_UTC_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

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
  if (!m) return undefined;
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
