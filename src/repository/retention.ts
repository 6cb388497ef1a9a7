import { VaultOpsError } from '../errors.js';

/**
 * restic-`forget`-like retention planning. Pure: it decides, it does not delete.
 *
 * Snapshots are sorted newest first. `keepLast` keeps the N newest. For every bucket kind
 * (hourly, daily, weekly, monthly, yearly — all in UTC, weeks are ISO weeks) the walk goes from
 * newest to oldest and keeps a snapshot when its bucket differs from the bucket of the last
 * snapshot kept for that kind, until that kind has kept N. A snapshot may be kept for several
 * reasons. The newest snapshot is always kept (reason "newest" when no other applies).
 */

export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
}

export type KeepReason = 'last' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly' | 'newest';

export interface RetentionInput {
  id: string;
  time: Date;
}

export interface RetentionPlan {
  /** Snapshots to keep, newest first, each with why. */
  keep: Array<{ id: string; time: Date; reasons: KeepReason[] }>;
  /** Snapshots the policy lets go, newest first. */
  remove: Array<{ id: string; time: Date }>;
}

const policyFields = [
  'keepLast',
  'keepHourly',
  'keepDaily',
  'keepWeekly',
  'keepMonthly',
  'keepYearly',
] as const satisfies ReadonlyArray<keyof RetentionPolicy>;

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** The ISO 8601 week-numbering year and week (1–53) of a date, in UTC. */
export function isoWeek(date: Date): { year: number; week: number } {
  const day = (date.getUTCDay() + 6) % 7; // Monday = 0 … Sunday = 6
  const thursday = new Date(date.getTime());
  thursday.setUTCHours(0, 0, 0, 0);
  thursday.setUTCDate(thursday.getUTCDate() - day + 3);
  const year = thursday.getUTCFullYear();
  const jan1 = new Date(0);
  jan1.setUTCFullYear(year, 0, 1);
  const dayOfYear = Math.round((thursday.getTime() - jan1.getTime()) / 86_400_000);
  return { year, week: Math.floor(dayOfYear / 7) + 1 };
}

type BucketKind = Exclude<KeepReason, 'last' | 'newest'>;

/** The bucket a point in time falls into, for each bucket kind (UTC). */
export const bucketOf: Record<BucketKind, (t: Date) => string> = {
  hourly: (t) =>
    `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1, 2)}-${pad(t.getUTCDate(), 2)} ${pad(t.getUTCHours(), 2)}`,
  daily: (t) => `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1, 2)}-${pad(t.getUTCDate(), 2)}`,
  weekly: (t) => {
    const { year, week } = isoWeek(t);
    return `${pad(year, 4)}-W${pad(week, 2)}`;
  },
  monthly: (t) => `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1, 2)}`,
  yearly: (t) => pad(t.getUTCFullYear(), 4),
};

/** Throws 'usage' unless every field is a non-negative integer and at least one is > 0. */
export function validateRetentionPolicy(policy: RetentionPolicy): Required<RetentionPolicy> {
  if (policy === null || typeof policy !== 'object') {
    throw new VaultOpsError(
      'usage',
      'invalid retention policy: expected keep-last/hourly/daily/weekly/monthly/yearly counts',
    );
  }
  const out = {} as Required<RetentionPolicy>;
  for (const field of policyFields) {
    const value: unknown = policy[field];
    if (value === undefined) {
      out[field] = 0;
      continue;
    }
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new VaultOpsError(
        'usage',
        `invalid retention policy: ${field} must be a whole number of 0 or more, got ` +
          `${JSON.stringify(value) ?? String(value)}`,
      );
    }
    out[field] = value;
  }
  if (policyFields.every((field) => out[field] === 0)) {
    throw new VaultOpsError(
      'usage',
      'refusing a retention policy that keeps nothing: set at least one of keep-last, keep-hourly, keep-daily, ' +
        'keep-weekly, keep-monthly or keep-yearly above 0',
    );
  }
  return out;
}

/** Newest first; equal times are ordered by id, descending, so the plan is deterministic. */
function newestFirst(a: RetentionInput, b: RetentionInput): number {
  const dt = b.time.getTime() - a.time.getTime();
  if (dt !== 0) return dt;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** Decides which snapshots a policy keeps and which it lets go. Does not modify its input. */
export function planRetention(snapshots: readonly RetentionInput[], policy: RetentionPolicy): RetentionPlan {
  const p = validateRetentionPolicy(policy);
  for (const s of snapshots) {
    if (!(s.time instanceof Date) || !Number.isFinite(s.time.getTime())) {
      throw new VaultOpsError('usage', `snapshot ${JSON.stringify(s.id)} has no valid time`);
    }
  }

  const sorted = [...snapshots].sort(newestFirst);
  const buckets: Array<{ kind: BucketKind; remaining: number; last: string | undefined }> = [
    { kind: 'hourly', remaining: p.keepHourly, last: undefined },
    { kind: 'daily', remaining: p.keepDaily, last: undefined },
    { kind: 'weekly', remaining: p.keepWeekly, last: undefined },
    { kind: 'monthly', remaining: p.keepMonthly, last: undefined },
    { kind: 'yearly', remaining: p.keepYearly, last: undefined },
  ];

  const plan: RetentionPlan = { keep: [], remove: [] };
  sorted.forEach((snap, index) => {
    const reasons: KeepReason[] = [];
    if (index < p.keepLast) reasons.push('last');
    for (const b of buckets) {
      if (b.remaining <= 0) continue;
      const value = bucketOf[b.kind](snap.time);
      if (value !== b.last) {
        b.last = value;
        b.remaining--;
        reasons.push(b.kind);
      }
    }
    if (index === 0 && reasons.length === 0) reasons.push('newest');
    if (reasons.length > 0) {
      plan.keep.push({ id: snap.id, time: snap.time, reasons });
    } else {
      plan.remove.push({ id: snap.id, time: snap.time });
    }
  });
  return plan;
}
