import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRotationPolicy } from '../rotation/kv/policy.js';
import { nextRuns, parseJobDefinition } from '../scheduler/job-definition.js';
import { nextCronRuns } from './cron.js';

/**
 * One cron dialect: a rotation policy's `schedule` and a job file's `job.schedule` accept and
 * reject the same expressions, and mean the same instants by them.
 */

const policyAccepts = (schedule: string): boolean => {
  try {
    const entry = { mount: 'secret', path: 'app/db', schedule, window: '1h', keys: { password: {} } };
    parseRotationPolicy({ secrets: [entry] }, '/p.yaml');
    return true;
  } catch {
    return false;
  }
};

const jobAccepts = (schedule: string): boolean => {
  try {
    parseJobDefinition({ job: { command: 'status', schedule } }, '/jobs/probe.yaml');
    return true;
  } catch {
    return false;
  }
};

const accepted = [
  '0 3 * * 1', // jobs/rotate-kv.yaml's weekly example
  '15 * * * *', // jobs/rotate-kv.yaml
  '30 4 * * *', // jobs/verify.yaml
  '0 * * * *', // jobs/snapshot.yaml
  '*/30 * * * *',
  '45 5 * * *',
  '20 * * * *',
  '  0  3 * * MON ',
  '0 0 1 jan,jul *',
  '30 12 * * 7',
  '0 0 13 * fri',
  '5-10/5 * * * *',
  '5/15 * * * *',
  '0 0 29 2 *',
  '@hourly',
  '@daily',
  '@midnight',
  '@weekly',
  '@monthly',
  '@yearly',
  '@annually',
  '*/2 * * * * *', // 6 fields: seconds first (the daemon's quick jobs)
  '* * * * * *',
  '0 0 3 * * 1',
];

const rejected = [
  '',
  'every hour',
  '* * * *',
  '* * * * * * *',
  '61 3 * * 1',
  '* 24 * * *',
  '* * 0 * *',
  '* * * 13 *',
  '* * * * 8',
  '60 * * * * *',
  '*/0 * * * *',
  '5-1 * * * *',
  '0 0 30 2 *',
  'x * * * *',
  '@reboot',
  '? * * * *',
  '0 0 L * *',
  '0 0 15W * *',
  '0 0 * * 1#2',
  '0 0 * * monday',
  '0 0 1 january *',
  '0 22-2 * * *',
];

describe('one cron dialect for rotation policies and job files', () => {
  for (const expr of accepted) {
    test(`accepted by both: "${expr}"`, () => {
      assert.equal(policyAccepts(expr), true, 'policy');
      assert.equal(jobAccepts(expr), true, 'job file');
    });
  }
  for (const expr of rejected) {
    test(`rejected by both: "${expr}"`, () => {
      assert.equal(policyAccepts(expr), false, 'policy');
      assert.equal(jobAccepts(expr), false, 'job file');
    });
  }

  test('both mean the same instants (day-of-month OR day-of-week, as Vixie cron and Kubernetes CronJobs)', () => {
    const now = new Date('2026-11-01T00:00:00Z');
    for (const expr of ['0 0 13 * fri', '0 3 * * 1', '*/2 * * * * *', '@monthly']) {
      const entry = { mount: 'secret', path: 'a', schedule: expr, keys: { k: {} } };
      const policy = parseRotationPolicy({ secrets: [entry] }, '/p.yaml');
      const schedule = policy.secrets[0]!.schedule;
      assert.equal(schedule.kind, 'cron');
      const fromPolicy = schedule.kind === 'cron' ? nextCronRuns(schedule.cron, now, 4) : [];
      const job = parseJobDefinition({ job: { command: 'status', schedule: expr } }, '/jobs/probe.yaml');
      assert.deepEqual(nextRuns(job.schedule, 4, now), fromPolicy, expr);
    }
    const fridayOr13th = nextRuns('0 0 13 * fri', 3, now).map((d) => d.toISOString());
    assert.deepEqual(
      fridayOr13th,
      ['06', '13', '20'].map((d) => `2026-11-${d}T00:00:00.000Z`),
    );
  });

  test('job file messages: not a cron expression at all, or which field is wrong', () => {
    const job = (schedule: string) => () => parseJobDefinition({ job: { command: 'status', schedule } }, '/j.yaml');
    assert.throws(job('@reboot'), /"@reboot" is not a cron expression: use 5 fields/);
    const monday = /"0 0 \* \* monday" is not a valid cron expression: day of week: "monday" is not a number or name/;
    assert.throws(job('0 0 * * monday'), monday);
    assert.throws(job('0 0 30 2 *'), /is not a valid cron expression: "0 0 30 2 \*" never fires/);
  });
});
