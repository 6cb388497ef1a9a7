import { nextCronRun, nextCronRuns, type CronSchedule } from '../../time/cron.js';

/**
 * When a secret is due. Two kinds, both in UTC:
 * - `every`: a maximum age. Due once `now - lastRotated >= every`.
 * - `cron` + `window`: due while a scheduled time `t` with `lastRotated < t <= now < t + window`
 *   exists, i.e. the run window opened after the last rotation and has not closed yet. A window
 *   missed entirely (no run during it) waits for the next scheduled time.
 *
 * `lastRotated` is Vault's creation time of the version vault-ops' last rotation wrote, or for a
 * secret it never rotated the creation time of its current version (so a first deploy does not
 * rotate everything at once). For a secret without hooks, a current version newer than the one
 * vault-ops' marker names also counts from its own creation (see evaluateSecret in plan.ts).
 */
export type RotationSchedule =
  | { kind: 'every'; everyMs: number; text: string }
  | { kind: 'cron'; cron: CronSchedule; windowMs: number; text: string };

export interface DueCheck {
  due: boolean;
  /** One line for people: why the secret is or is not due. */
  reason: string;
  /** When the secret is (or became) due. */
  nextDue: Date;
  /** The next three times the schedule fires after `now` (for `every`: due time, then every period). */
  nextRuns: Date[];
}

export type LastRotatedSource = 'rotation' | 'created';

export function formatAge(ms: number): string {
  const abs = Math.abs(ms);
  const d = Math.floor(abs / 86_400_000);
  const h = Math.floor((abs % 86_400_000) / 3_600_000);
  const m = Math.floor((abs % 3_600_000) / 60_000);
  if (d > 0) return h > 0 ? `${d}d${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h${m}m` : `${h}h`;
  if (m > 0) return `${m}m`;
  return `${Math.floor(abs / 1000)}s`;
}

function since(source: LastRotatedSource, last: Date, now: Date, markedVersion?: number): string {
  const what =
    source === 'rotation'
      ? 'last rotated'
      : markedVersion !== undefined
        ? `written after vault-ops' last rotation (version ${markedVersion}); current version created`
        : 'never rotated by vault-ops; current version created';
  return `${what} ${last.toISOString()} (${formatAge(now.getTime() - last.getTime())} ago)`;
}

/**
 * `markedVersion`: with source `created`, the version vault-ops' last rotation wrote, when the
 * current version is a later one (only for the wording of `reason`).
 */
export function checkDue(
  schedule: RotationSchedule,
  last: Date,
  source: LastRotatedSource,
  now: Date,
  markedVersion?: number,
): DueCheck {
  if (schedule.kind === 'every') {
    const dueAt = new Date(last.getTime() + schedule.everyMs);
    const first = dueAt.getTime() > now.getTime() ? dueAt : now;
    const nextRuns = [0, 1, 2].map((i) => new Date(first.getTime() + i * schedule.everyMs));
    const due = now.getTime() >= dueAt.getTime();
    return {
      due,
      reason: due
        ? `older than ${schedule.text}: ${since(source, last, now, markedVersion)}`
        : `not due until ${dueAt.toISOString()} (every ${schedule.text}; ${since(source, last, now, markedVersion)})`,
      nextDue: dueAt,
      nextRuns,
    };
  }
  // The latest scheduled time inside the open window, if any, that is after the last rotation.
  let open: Date | undefined;
  let cursor = new Date(now.getTime() - schedule.windowMs);
  for (let i = 0; i < 100_000; i++) {
    const t = nextCronRun(schedule.cron, cursor);
    if (t.getTime() > now.getTime()) break;
    if (t.getTime() > last.getTime() && now.getTime() < t.getTime() + schedule.windowMs) open = t;
    cursor = t;
  }
  const nextRuns = nextCronRuns(schedule.cron, now, 3);
  if (open) {
    return {
      due: true,
      reason:
        `window of "${schedule.text}" opened ${open.toISOString()} and closes ` +
        `${new Date(open.getTime() + schedule.windowMs).toISOString()}; ${since(source, last, now, markedVersion)}`,
      nextDue: open,
      nextRuns,
    };
  }
  const nextDue = nextRuns[0]!;
  return {
    due: false,
    reason:
      `not due until ${nextDue.toISOString()} ` +
      `(schedule "${schedule.text}"; ${since(source, last, now, markedVersion)})`,
    nextDue,
    nextRuns,
  };
}
