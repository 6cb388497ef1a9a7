import { VaultOpsError } from '../errors.js';

/**
 * Durations in flags and policies: one or more `<integer><unit>` parts, largest unit first,
 * each unit at most once — `90d`, `3h`, `1h30m`, `60s`, `2w`, `500ms`. Units: ms s m h d w
 * (a day is 24 h, a week 7 d; no calendar arithmetic).
 */

export const DURATION_UNITS_MS = {
  w: 7 * 24 * 60 * 60 * 1000,
  d: 24 * 60 * 60 * 1000,
  h: 60 * 60 * 1000,
  m: 60 * 1000,
  s: 1000,
  ms: 1,
} as const;

type Unit = keyof typeof DURATION_UNITS_MS;
const UNIT_ORDER: readonly Unit[] = ['w', 'd', 'h', 'm', 's', 'ms'];
const PART_RE = /(\d+)(ms|[wdhms])/y;

function invalid(text: unknown): VaultOpsError {
  const shown = typeof text === 'string' ? text : String(text);
  return new VaultOpsError(
    'usage',
    `invalid duration "${shown}": use a number with a unit such as 90d, 3h, 15m or 30s`,
  );
}

/** Milliseconds in a duration such as `90d` or `1h30m`. Throws 'usage' for anything else. */
export function parseDuration(text: string): number {
  if (typeof text !== 'string') throw invalid(text);
  const s = text.trim();
  if (s === '') throw invalid(text);

  let total = 0;
  let pos = 0;
  let lastRank = -1;
  PART_RE.lastIndex = 0;
  while (pos < s.length) {
    PART_RE.lastIndex = pos;
    const m = PART_RE.exec(s);
    if (!m) throw invalid(text);
    const unit = m[2] as Unit;
    const rank = UNIT_ORDER.indexOf(unit);
    if (rank <= lastRank) throw invalid(text); // repeated or out-of-order unit, e.g. 30m1h
    lastRank = rank;
    const amount = Number(m[1]);
    total += amount * DURATION_UNITS_MS[unit];
    if (!Number.isSafeInteger(amount) || !Number.isSafeInteger(total)) throw invalid(text);
    pos = PART_RE.lastIndex;
  }
  return total;
}
