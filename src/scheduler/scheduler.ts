import type { Logger } from '../observability/logger.js';
import { parseCron } from '../time/cron.js';
import { CronTimer } from './cron-timer.js';
import type { DaemonMetrics } from './daemon-metrics.js';
import type { DrillSlots } from './drill-slots.js';
import type { JobDefinition } from './job-definition.js';
import type { JobRun } from './job-process.js';

/**
 * The daemon's scheduler: each enabled job on its cron schedule (UTC, time/cron.ts), started after a
 * random jitter, never overlapping itself (a tick while the previous run is still going is skipped
 * and counted). On shutdown no new run starts, runs waiting for their jitter are cancelled, running
 * ones get `shutdownGraceMs` to finish and are then stopped (their abort signal fires).
 *
 * A restore drill (`verify`) also waits for one of the host's drill slots (drill-slots.ts): drills due
 * together queue instead of starving the machine.
 *
 * States of a job: idle → waiting (jitter) → [queued (drill slot)] → running → idle.
 */

/** Runs one job to its end; `signal` asks it to stop (shutdown). Resolves, never rejects. */
export type RunJob = (job: JobDefinition, signal: AbortSignal, reason: JobRun['reason']) => Promise<JobRun>;

export interface SchedulerDeps {
  runJob: RunJob;
  logger: Logger;
  metrics: DaemonMetrics;
  /** [0, 1) — injectable for tests. */
  random?: () => number;
  /** The host-wide cap on concurrent restore drills; none: drills never wait for each other. */
  drillSlots?: DrillSlots;
}

export interface JobHealth {
  name: string;
  command: string;
  schedule: string;
  state: 'idle' | 'waiting' | 'queued' | 'running';
  nextRun?: string;
  consecutiveFailures: number;
  lastRun?: {
    runId: string;
    startedAt: string;
    finishedAt: string;
    result: JobRun['result'];
    exitCode?: number;
    durationSeconds: number;
  };
}

export interface DaemonHealth {
  status: 'ok' | 'stopping';
  startedAt: string;
  jobs: JobHealth[];
}

interface JobState {
  job: JobDefinition;
  task?: CronTimer;
  state: JobHealth['state'];
  controller?: AbortController | undefined;
  current?: Promise<void>;
  consecutiveFailures: number;
  lastRun?: JobRun;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export class JobScheduler {
  private readonly states = new Map<string, JobState>();
  private stopping = false;
  private readonly startedAt = new Date();
  private readonly random: () => number;

  constructor(
    jobs: readonly JobDefinition[],
    private readonly deps: SchedulerDeps,
  ) {
    this.random = deps.random ?? Math.random;
    for (const job of jobs) this.states.set(job.name, { job, state: 'idle', consecutiveFailures: 0 });
  }

  /** Schedule every enabled job. */
  start(): void {
    for (const s of this.states.values()) {
      if (!s.job.enabled) {
        this.deps.logger.info({ job: s.job.name }, 'job disabled: not scheduled');
        continue;
      }
      // The callback returns at once: overlap and jitter are ours, the timer only keeps time.
      s.task = new CronTimer(parseCron(s.job.schedule), () => this.trigger(s.job.name));
      s.task.start();
      this.updateNextRun(s);
      this.deps.logger.info(
        {
          job: s.job.name,
          command: s.job.command,
          schedule: s.job.schedule,
          jitterSeconds: s.job.jitterMs / 1000,
          nextRun: s.task.nextRun()?.toISOString(),
        },
        'job scheduled (UTC)',
      );
    }
  }

  /** A scheduled tick: start the job unless it is still busy or the daemon is stopping. */
  trigger(name: string): void {
    const s = this.states.get(name);
    if (!s) return;
    this.updateNextRun(s);
    if (this.stopping) return;
    if (s.state !== 'idle') {
      this.deps.metrics.skipped.inc({ job_name: name, reason: 'overlap' });
      this.deps.logger.warn({ job: name, state: s.state }, 'run skipped: the previous run is still going');
      return;
    }
    s.current = this.execute(s, 'schedule');
  }

  /** Run one job now, without jitter (`daemon --once`); resolves with its result. */
  async runOnce(name: string): Promise<JobRun> {
    const s = this.states.get(name);
    if (!s) throw new Error(`no job named ${name}`);
    let run: JobRun | undefined;
    s.current = this.execute(s, 'once', (r) => (run = r));
    await s.current;
    if (!run) throw new Error(`job ${name} did not run: the daemon is stopping`);
    return run;
  }

  private async execute(s: JobState, reason: JobRun['reason'], onRun?: (run: JobRun) => void): Promise<void> {
    const controller = new AbortController();
    s.controller = controller;
    const labels = { job_name: s.job.name };
    this.deps.metrics.running.set(labels, 1);
    let releaseSlot: (() => Promise<void>) | undefined;
    try {
      if (reason === 'schedule' && s.job.jitterMs > 0) {
        s.state = 'waiting';
        const delay = Math.floor(this.random() * s.job.jitterMs);
        this.deps.logger.debug({ job: s.job.name, delaySeconds: delay / 1000 }, 'jitter: waiting before the run');
        if (!(await abortableSleep(delay, controller.signal))) {
          this.deps.logger.info({ job: s.job.name }, 'run cancelled before it started (shutdown)');
          return;
        }
      }
      if (s.job.command === 'verify' && this.deps.drillSlots) {
        s.state = 'queued';
        const release = await this.deps.drillSlots.acquire(s.job.name, controller.signal);
        if (!release) {
          this.deps.logger.info({ job: s.job.name }, 'queued drill cancelled before it started (shutdown)');
          return;
        }
        releaseSlot = release;
      }
      s.state = 'running';
      const run = await this.deps.runJob(s.job, controller.signal, reason);
      s.consecutiveFailures = run.result === 'success' ? 0 : s.consecutiveFailures + 1;
      s.lastRun = run;
      this.deps.metrics.recordRun(run, s.consecutiveFailures);
      onRun?.(run);
    } finally {
      await releaseSlot?.();
      s.state = 'idle';
      s.controller = undefined;
      this.deps.metrics.running.set(labels, 0);
    }
  }

  private updateNextRun(s: JobState): void {
    const next = s.task?.nextRun();
    if (next) this.deps.metrics.nextRun.set({ job_name: s.job.name }, next.getTime() / 1000);
  }

  /**
   * Stop scheduling; cancel runs waiting for their jitter; give running ones `graceMs` to finish,
   * then abort them; resolve when nothing runs any more.
   */
  async shutdown(graceMs: number): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      for (const s of this.states.values()) s.task?.stop();
    }
    for (const s of this.states.values()) if (s.state === 'waiting' || s.state === 'queued') s.controller?.abort();
    const running = [...this.states.values()].filter((s) => s.current && s.state !== 'idle');
    if (running.length === 0) return;
    this.deps.logger.info(
      { jobs: running.map((s) => s.job.name), graceSeconds: graceMs / 1000 },
      'waiting for running jobs to finish',
    );
    const all = Promise.all(running.map((s) => s.current));
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      all.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs))),
    ]);
    clearTimeout(timer);
    if (!finished) {
      for (const s of running) s.controller?.abort();
      await all;
    }
  }

  /** Abort every run now (a second signal). */
  abortAll(): void {
    for (const s of this.states.values()) s.controller?.abort();
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  health(): DaemonHealth {
    return {
      status: this.stopping ? 'stopping' : 'ok',
      startedAt: this.startedAt.toISOString(),
      jobs: [...this.states.values()].map((s) => {
        const next = s.task && !this.stopping ? s.task.nextRun() : null;
        const r = s.lastRun;
        return {
          name: s.job.name,
          command: s.job.command,
          schedule: s.job.enabled ? s.job.schedule : `${s.job.schedule} (disabled)`,
          state: s.state,
          ...(next ? { nextRun: next.toISOString() } : {}),
          consecutiveFailures: s.consecutiveFailures,
          ...(r
            ? {
                lastRun: {
                  runId: r.runId,
                  startedAt: r.startedAt.toISOString(),
                  finishedAt: r.finishedAt.toISOString(),
                  result: r.result,
                  ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
                  durationSeconds: r.durationSeconds,
                },
              }
            : {}),
        };
      }),
    };
  }
}
