import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { parseCron } from '../time/cron.js';
import { CronTimer } from './cron-timer.js';
import { nextRuns } from './job-definition.js';

/** Run a timer on a mocked clock from `start` for `spanMs`, in `stepMs` steps; the times it fired. */
function fire(t: TestContext, schedule: string, start: string, spanMs: number, stepMs: number) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let clock = Date.parse(start);
  const ticks: string[] = [];
  const timer = new CronTimer(
    parseCron(schedule),
    (at) => ticks.push(at.toISOString()),
    () => new Date(clock),
  );
  timer.start();
  for (let elapsed = 0; elapsed < spanMs; elapsed += stepMs) {
    clock += stepMs;
    t.mock.timers.tick(stepMs);
  }
  return { ticks, timer };
}

const iso = (d: Date) => d.toISOString();

describe('cron timer', () => {
  test('fires at exactly the times daemon --check lists (seconds field)', (t) => {
    const start = '2026-11-27T10:00:00.500Z';
    const listed = nextRuns('*/20 * * * * *', 4, new Date(start)).map(iso);
    const { ticks, timer } = fire(t, '*/20 * * * * *', start, 80_000, 250);
    timer.stop();
    assert.deepEqual(ticks, listed);
    assert.deepEqual(
      listed,
      ['10:00:20', '10:00:40', '10:01:00', '10:01:20'].map((s) => `2026-11-27T${s}.000Z`),
    );
  });

  test('day-of-month OR day-of-week, across waits longer than a timer takes', (t) => {
    const start = '2026-11-01T00:00:00Z';
    const listed = nextRuns('0 0 13 * fri', 4, new Date(start)).map(iso);
    const { ticks, timer } = fire(t, '0 0 13 * fri', start, 30 * 86_400_000, 600_000);
    timer.stop();
    assert.deepEqual(ticks, listed);
  });

  test('the next run is known before the tick; a stopped timer has none and fires no more', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let clock = Date.parse('2026-11-27T10:00:00Z');
    const seen: Array<string | undefined> = [];
    const onTick = () => seen.push(timer.nextRun()?.toISOString());
    const timer = new CronTimer(parseCron('* * * * * *'), onTick, () => new Date(clock));
    timer.start();
    assert.equal(timer.nextRun()?.toISOString(), '2026-11-27T10:00:01.000Z');
    clock += 1000;
    t.mock.timers.tick(1000);
    assert.deepEqual(seen, ['2026-11-27T10:00:02.000Z']);
    timer.stop();
    assert.equal(timer.nextRun(), undefined);
    clock += 5000;
    t.mock.timers.tick(5000);
    assert.equal(seen.length, 1);
  });

  test('runs missed while the process was suspended are skipped, not replayed', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let clock = Date.parse('2026-11-27T10:00:00Z');
    const ticks: string[] = [];
    const timer = new CronTimer(
      parseCron('* * * * *'),
      (at) => ticks.push(at.toISOString()),
      () => new Date(clock),
    );
    timer.start();
    clock += 10 * 60_000; // the clock jumps ten minutes; the timer wakes once
    t.mock.timers.tick(60_000);
    assert.deepEqual(ticks, ['2026-11-27T10:01:00.000Z']);
    assert.equal(timer.nextRun()?.toISOString(), '2026-11-27T10:11:00.000Z');
    timer.stop();
  });
});
