import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CronError, nextCronRun, nextCronRuns, parseCron } from './cron.js';

const at = (s: string) => new Date(s);
const next = (expr: string, after: string) => nextCronRun(parseCron(expr), at(after)).toISOString();

describe('cron', () => {
  test('every Monday 03:00 UTC', () => {
    assert.equal(next('0 3 * * 1', '2026-11-27T20:00:00Z'), '2026-11-30T03:00:00.000Z');
    assert.equal(next('0 3 * * mon', '2026-11-30T03:00:00Z'), '2026-12-07T03:00:00.000Z', 'strictly after');
    assert.equal(next('0 3 * * 1', '2026-11-30T02:59:59Z'), '2026-11-30T03:00:00.000Z');
  });

  test('steps, ranges, lists and names', () => {
    assert.equal(next('*/15 * * * *', '2026-01-01T00:07:00Z'), '2026-01-01T00:15:00.000Z');
    assert.equal(next('5-10/5 * * * *', '2026-01-01T00:06:00Z'), '2026-01-01T00:10:00.000Z');
    assert.equal(next('0 0 1 jan,jul *', '2026-02-01T00:00:00Z'), '2026-07-01T00:00:00.000Z');
    assert.equal(next('30 12 * * 7', '2026-11-27T00:00:00Z'), '2026-11-29T12:30:00.000Z', '7 is Sunday');
    assert.equal(next('0 */6 * * *', '2026-01-01T07:00:00Z'), '2026-01-01T12:00:00.000Z');
    assert.equal(next('@daily', '2026-01-01T07:00:00Z'), '2026-01-02T00:00:00.000Z');
  });

  test('day-of-month OR day-of-week when both are restricted', () => {
    // 13th of the month or any Friday
    assert.equal(next('0 0 13 * fri', '2026-11-01T00:00:00Z'), '2026-11-06T00:00:00.000Z');
    assert.equal(next('0 0 13 * fri', '2026-11-10T00:00:00Z'), '2026-11-13T00:00:00.000Z');
  });

  test('leap days and month ends', () => {
    assert.equal(next('0 0 29 2 *', '2026-03-01T00:00:00Z'), '2028-02-29T00:00:00.000Z');
    assert.equal(next('0 0 31 * *', '2026-04-01T00:00:00Z'), '2026-05-31T00:00:00.000Z');
  });

  test('next three runs', () => {
    const runs = nextCronRuns(parseCron('0 3 * * 1'), at('2026-11-27T00:00:00Z'), 3).map((d) => d.toISOString());
    assert.deepEqual(runs, ['2026-11-30T03:00:00.000Z', '2026-12-07T03:00:00.000Z', '2026-12-14T03:00:00.000Z']);
  });

  test('bad expressions name the field', () => {
    const bad: Array<[string, RegExp]> = [
      ['61 * * * *', /minute: 61 is outside 0-59/],
      ['* 24 * * *', /hour: 24 is outside 0-23/],
      ['* * 0 * *', /day of month: 0 is outside 1-31/],
      ['* * * 13 *', /month: 13 is outside 1-12/],
      ['* * * * 8', /day of week: 8 is outside 0-7/],
      ['* * * *', /expected 5 fields/],
      ['*/0 * * * *', /step "0" must be a positive integer/],
      ['5-1 * * * *', /runs backwards/],
      ['0 0 30 2 *', /never fires/],
      ['x * * * *', /minute: "x" is not a number/],
      ['@reboot', /unknown macro/],
    ];
    for (const [expr, re] of bad)
      assert.throws(
        () => parseCron(expr),
        (e: unknown) => e instanceof CronError && re.test(e.message),
        expr,
      );
  });
});
