import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../observability/logger.js';
import { DaemonMetrics } from './daemon-metrics.js';
import type { JobDefinition } from './job-definition.js';
import type { JobRun } from './job-process.js';
import { JobScheduler, type RunJob } from './scheduler.js';

const job = (over: Partial<JobDefinition> = {}): JobDefinition => ({
  name: 'j',
  file: '/x/j.yaml',
  command: 'status',
  schedule: '* * * * *',
  enabled: true,
  options: {},
  jitterMs: 0,
  timeoutMs: 60_000,
  ...over,
});

/** A fake run that takes `ms` unless aborted; records starts and ends. */
function fakeRunner(ms: number, log: string[]): RunJob {
  return async (j, signal, reason) => {
    const startedAt = new Date();
    log.push(`start ${j.name}`);
    const aborted = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      signal.addEventListener('abort', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    log.push(`${aborted ? 'aborted' : 'end'} ${j.name}`);
    const finishedAt = new Date();
    const run: JobRun = {
      job: j.name,
      runId: 'r',
      reason,
      startedAt,
      finishedAt,
      durationSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      result: aborted ? 'aborted' : 'success',
      ...(aborted ? {} : { exitCode: 0 }),
    };
    return run;
  };
}

describe('job scheduler', () => {
  test('a tick while the job runs is skipped and counted: never two runs of one job at once', async () => {
    const log: string[] = [];
    const metrics = new DaemonMetrics();
    const s = new JobScheduler([job()], { runJob: fakeRunner(100, log), logger: silentLogger, metrics });
    s.trigger('j');
    s.trigger('j');
    await sleep(20);
    s.trigger('j');
    await sleep(150);
    assert.deepEqual(log, ['start j', 'end j']);
    assert.match(
      await metrics.registry.metrics(),
      /vault_ops_daemon_job_skipped_total\{job_name="j",reason="overlap",vault_cluster="unknown"\} 2/,
    );
    s.trigger('j');
    await sleep(150);
    assert.deepEqual(log, ['start j', 'end j', 'start j', 'end j'], 'runs again once idle');
    assert.equal(s.health().jobs[0]!.lastRun?.result, 'success');
  });

  test('jitter delays the start by random × jitter', async () => {
    const log: string[] = [];
    const s = new JobScheduler([job({ jitterMs: 200 })], {
      runJob: fakeRunner(10, log),
      logger: silentLogger,
      metrics: new DaemonMetrics(),
      random: () => 0.5,
    });
    s.trigger('j');
    await sleep(60);
    assert.equal(s.health().jobs[0]!.state, 'waiting');
    assert.deepEqual(log, []);
    await sleep(100);
    assert.deepEqual(log, ['start j', 'end j']);
  });

  test('shutdown: waiting runs are cancelled, running ones finish within the grace', async () => {
    const log: string[] = [];
    const s = new JobScheduler([job({ name: 'a' }), job({ name: 'b', jitterMs: 10_000 })], {
      runJob: fakeRunner(80, log),
      logger: silentLogger,
      metrics: new DaemonMetrics(),
      random: () => 0.9,
    });
    s.trigger('a');
    s.trigger('b');
    await sleep(10);
    await s.shutdown(1_000);
    assert.deepEqual(log, ['start a', 'end a'], 'a finished, b never started');
    s.trigger('a');
    assert.equal(s.health().status, 'stopping');
    assert.deepEqual(log, ['start a', 'end a'], 'nothing starts after shutdown');
  });

  test('shutdown: a run still going after the grace is aborted', async () => {
    const log: string[] = [];
    const s = new JobScheduler([job()], {
      runJob: fakeRunner(10_000, log),
      logger: silentLogger,
      metrics: new DaemonMetrics(),
    });
    s.trigger('j');
    await sleep(10);
    const t0 = Date.now();
    await s.shutdown(50);
    assert.ok(Date.now() - t0 < 1_000);
    assert.deepEqual(log, ['start j', 'aborted j']);
    assert.equal(s.health().jobs[0]!.lastRun?.result, 'aborted');
    assert.equal(s.health().jobs[0]!.consecutiveFailures, 1);
  });

  test('runOnce runs without jitter and returns the result', async () => {
    const log: string[] = [];
    const s = new JobScheduler([job({ jitterMs: 60_000 })], {
      runJob: fakeRunner(5, log),
      logger: silentLogger,
      metrics: new DaemonMetrics(),
    });
    const run = await s.runOnce('j');
    assert.equal(run.result, 'success');
    assert.equal(run.reason, 'once');
  });
});
