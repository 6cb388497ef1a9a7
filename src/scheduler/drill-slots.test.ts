import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../observability/logger.js';
import { DaemonMetrics } from './daemon-metrics.js';
import { hostDrillSlots } from './drill-slots.js';
import type { JobDefinition } from './job-definition.js';
import type { JobRun } from './job-process.js';
import { JobScheduler, type RunJob } from './scheduler.js';

const verifyJob = (name: string, command: JobDefinition['command'] = 'verify'): JobDefinition => ({
  name,
  file: `/x/${name}.yaml`,
  command,
  schedule: '* * * * *',
  enabled: true,
  options: {},
  jitterMs: 0,
  timeoutMs: 60_000,
});

/** Runs that last `ms`; `log` records starts and ends, `peak` the most running at once. */
function runner(ms: number, log: string[], counter: { now: number; peak: number }): RunJob {
  return async (j, _signal, reason) => {
    const startedAt = new Date();
    counter.now++;
    counter.peak = Math.max(counter.peak, counter.now);
    log.push(`start ${j.name}`);
    await sleep(ms);
    counter.now--;
    log.push(`end ${j.name}`);
    const finishedAt = new Date();
    const run: JobRun = {
      job: j.name,
      runId: 'r',
      reason,
      startedAt,
      finishedAt,
      durationSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      result: 'success',
      exitCode: 0,
    };
    return run;
  };
}

/** Wait until `done()` holds (these tests run beside loaded suites: no fixed sleep is long enough). */
async function until(done: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await sleep(5);
  }
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'vault-ops-drill-slots-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('host-wide drill cap', () => {
  test('two daemons (two schedulers, one folder), cap 1: drills due together run one after the other', () =>
    withDir(async (dir) => {
      const log: string[] = [];
      const counter = { now: 0, peak: 0 };
      // Each scheduler stands for a daemon of its own cluster; they share only the folder.
      const daemons = ['eu', 'us', 'ap'].map(
        (name) =>
          new JobScheduler([verifyJob(`verify-${name}`), verifyJob(`status-${name}`, 'status')], {
            runJob: runner(120, log, counter),
            logger: silentLogger,
            metrics: new DaemonMetrics(),
            drillSlots: hostDrillSlots({ dir, max: 1, logger: silentLogger, pollMs: 10 }),
          }),
      );
      daemons.forEach((d, i) => d.trigger(`verify-${['eu', 'us', 'ap'][i]}`));
      const states = () => daemons.map((d) => d.health().jobs[0]!.state).sort();
      await until(() => states().includes('running'), 'a drill starts');
      assert.deepEqual(states(), ['queued', 'queued', 'running'], 'one drill runs, the others queue');
      // A job that is no drill never waits for a slot.
      daemons[0]!.trigger('status-eu');
      await until(() => daemons[0]!.health().jobs[1]!.state !== 'idle', 'the status run starts');
      assert.equal(daemons[0]!.health().jobs[1]!.state, 'running');
      await until(() => log.filter((l) => l.startsWith('end')).length === 4, 'every run ends');
      await Promise.all(daemons.map((d) => d.shutdown(1000)));
      assert.equal(counter.peak, 2, 'at most one drill (plus the status run) at a time');
      const drills = log.filter((l) => l.includes('verify-'));
      assert.equal(drills.length, 6, 'every queued drill ran');
      for (let i = 0; i < drills.length; i += 2)
        assert.equal(drills[i + 1], drills[i]!.replace('start', 'end'), `one drill at a time: ${drills}`);
      assert.deepEqual(await readdir(dir), [], 'every slot released');
    }));

  test('cap 2: two drills at once, the third queues', () =>
    withDir(async (dir) => {
      const log: string[] = [];
      const counter = { now: 0, peak: 0 };
      const s = new JobScheduler(
        ['a', 'b', 'c'].map((n) => verifyJob(n)),
        {
          runJob: runner(100, log, counter),
          logger: silentLogger,
          metrics: new DaemonMetrics(),
          drillSlots: hostDrillSlots({ dir, max: 2, logger: silentLogger, pollMs: 10 }),
        },
      );
      for (const n of ['a', 'b', 'c']) s.trigger(n);
      await until(() => log.filter((l) => l.startsWith('end')).length === 3, 'every drill ends');
      await s.shutdown(1000);
      assert.equal(counter.peak, 2);
      assert.equal(log.filter((l) => l.startsWith('end')).length, 3);
    }));

  test('a slot of a daemon that is gone is taken over; a shutdown cancels a queued drill', () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'drill-slot-0.lock'), JSON.stringify({ pid: 999_999_999, job: 'old' }));
      const slots = hostDrillSlots({
        dir,
        max: 1,
        logger: silentLogger,
        pollMs: 10,
        alive: (pid) => pid !== 999_999_999,
      });
      const release = await slots.acquire('new', new AbortController().signal);
      assert.ok(release, 'the stale slot was taken');
      // Held by a live process (this one): a second acquire waits until aborted.
      const controller = new AbortController();
      const waiting = slots.acquire('next', controller.signal);
      await sleep(50);
      controller.abort();
      assert.equal(await waiting, undefined, 'an aborted wait gets no slot');
      await release();
      assert.ok(await slots.acquire('next', new AbortController().signal), 'free again once released');

      const queued = new JobScheduler([verifyJob('q')], {
        runJob: runner(10, [], { now: 0, peak: 0 }),
        logger: silentLogger,
        metrics: new DaemonMetrics(),
        drillSlots: slots,
      });
      queued.trigger('q');
      await until(() => queued.health().jobs[0]!.state !== 'idle', 'the drill is due');
      await sleep(30);
      assert.equal(queued.health().jobs[0]!.state, 'queued');
      await queued.shutdown(1000);
      assert.equal(queued.health().jobs[0]!.state, 'idle');
      assert.equal(queued.health().jobs[0]!.lastRun, undefined, 'the queued drill never started');
    }));
});
