import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCron } from '../../time/cron.js';
import { checkDue, formatAge, type RotationSchedule } from './schedule.js';

const every = (ms: number, text: string): RotationSchedule => ({ kind: 'every', everyMs: ms, text });
const weekly: RotationSchedule = {
  kind: 'cron',
  cron: parseCron('0 3 * * 1'),
  windowMs: 3 * 3600_000,
  text: '0 3 * * 1',
};
const d = (s: string) => new Date(s);
const DAY = 86_400_000;

describe('due-ness', () => {
  test('every: due once older than the period', () => {
    const s = every(90 * DAY, '90d');
    const notYet = checkDue(s, d('2026-01-01T00:00:00Z'), 'rotation', d('2026-03-01T00:00:00Z'));
    assert.equal(notYet.due, false);
    assert.equal(notYet.nextDue.toISOString(), '2026-04-01T00:00:00.000Z');
    assert.match(notYet.reason, /not due until 2026-04-01.*last rotated 2026-01-01/);
    assert.deepEqual(
      notYet.nextRuns.map((x) => x.toISOString()),
      ['2026-04-01T00:00:00.000Z', '2026-06-30T00:00:00.000Z', '2026-09-28T00:00:00.000Z'],
    );
    const due = checkDue(s, d('2026-01-01T00:00:00Z'), 'created', d('2026-04-02T00:00:00Z'));
    assert.equal(due.due, true);
    assert.match(
      due.reason,
      /older than 90d: never rotated by vault-ops; current version created 2026-01-01.* \(91d ago\)/,
    );
    assert.equal(due.nextRuns[0]!.toISOString(), '2026-04-02T00:00:00.000Z', 'overdue: the next run is now');
  });

  test('cron: due only inside a window opened after the last rotation', () => {
    const last = d('2026-11-20T00:00:00Z');
    assert.equal(checkDue(weekly, last, 'rotation', d('2026-11-30T02:59:00Z')).due, false);
    const open = checkDue(weekly, last, 'rotation', d('2026-11-30T04:00:00Z'));
    assert.equal(open.due, true);
    assert.match(
      open.reason,
      /window of "0 3 \* \* 1" opened 2026-11-30T03:00:00.000Z and closes 2026-11-30T06:00:00.000Z/,
    );
    const closed = checkDue(weekly, last, 'rotation', d('2026-11-30T06:00:00Z'));
    assert.equal(closed.due, false, 'a missed window waits for the next run');
    assert.equal(closed.nextDue.toISOString(), '2026-12-07T03:00:00.000Z');
    const rotatedInWindow = checkDue(weekly, d('2026-11-30T03:05:00Z'), 'rotation', d('2026-11-30T04:00:00Z'));
    assert.equal(rotatedInWindow.due, false, 'already rotated in this window');
    assert.equal(open.nextRuns.length, 3);
  });

  test('a secret created inside an open window is not rotated in it', () => {
    assert.equal(checkDue(weekly, d('2026-11-30T03:30:00Z'), 'created', d('2026-11-30T04:00:00Z')).due, false);
  });

  test('formatAge', () => {
    assert.equal(formatAge(91 * DAY + 3 * 3600_000), '91d3h');
    assert.equal(formatAge(90 * 60_000), '1h30m');
    assert.equal(formatAge(5_000), '5s');
  });
});
