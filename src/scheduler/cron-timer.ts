import { nextCronRun, type CronSchedule } from '../time/cron.js';

/**
 * Calls `onTick` at each run of a cron schedule (UTC), computed by the same parser that validates
 * job files and prints `daemon --check`'s next runs, so the daemon fires exactly at the times it
 * lists. After a tick the next run is the first one after now: runs missed while the process was
 * suspended are skipped, not replayed in a burst.
 */

/** Timers wake at least this often and re-check the clock (a timer cannot wait longer than ~24.8 days). */
const MAX_WAIT_MS = 3_600_000;

export class CronTimer {
  private timer: NodeJS.Timeout | undefined;
  private next: Date | undefined;

  constructor(
    private readonly schedule: CronSchedule,
    private readonly onTick: (at: Date) => void,
    private readonly now: () => Date = () => new Date(),
  ) {}

  start(): void {
    this.arm(this.now());
  }

  /** The next time `onTick` will be called; undefined once stopped. */
  nextRun(): Date | undefined {
    return this.next;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.next = undefined;
  }

  private arm(after: Date): void {
    this.next = nextCronRun(this.schedule, after);
    this.wait();
  }

  private wait(): void {
    const due = this.next;
    if (!due) return;
    const delay = Math.min(Math.max(0, due.getTime() - this.now().getTime()), MAX_WAIT_MS);
    this.timer = setTimeout(() => {
      const now = this.now();
      if (now.getTime() < due.getTime()) return this.wait();
      // Armed before the tick, so that the callback already sees the following run.
      this.arm(now);
      this.onTick(due);
    }, delay);
  }
}
