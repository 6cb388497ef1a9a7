import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { Logger } from '../observability/logger.js';
import { formatCompactUtc } from '../time/compact-utc.js';
import { jobArguments, type JobDefinition } from './job-definition.js';
import { environmentForJob } from './job-environment.js';

/**
 * One run of a job as a child process: the same vault-ops CLI, started with the job's command and
 * options as flags. A child (not an in-process call of main()) because a run must be stoppable
 * whatever it is doing (timeout, shutdown): SIGTERM lets the command clean up, SIGKILL of its
 * process group leaves nothing behind; and because each run then starts from a clean process
 * (no secrets, metrics or memory carried between runs of a long-lived daemon).
 */

/** How to start the CLI: e.g. `node --import tsx src/cli/entry.ts` or `node dist/cli/entry.js`. */
/** See JobProcessDeps.killGraceMs. */
export const JOB_KILL_GRACE_MS = 30_000;
/** After the child exits, how long to wait for the rest of its stderr (its closing error line). */
const STDERR_DRAIN_MS = 1000;

export interface CliLauncher {
  command: string;
  args: string[];
}

export type JobResult = 'success' | 'failed' | 'timeout' | 'aborted';

export interface JobRun {
  job: string;
  runId: string;
  reason: 'schedule' | 'once';
  startedAt: Date;
  finishedAt: Date;
  durationSeconds: number;
  result: JobResult;
  /** The CLI's exit status (README, "Exit codes"), when it exited on its own. */
  exitCode?: number;
  /** The child printed its one-line `error: …` (what failed, what to do) on stderr. */
  printedError?: boolean;
  signal?: string;
}

export interface JobProcessDeps {
  launcher: CliLauncher;
  /** The child's whole environment (credentials reach it here, never in argv). */
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Where the child's stdout (results) and stderr (its own JSON log lines) go. */
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /**
   * After SIGTERM, how long before SIGKILL of the process group. Default 30 s: longer than any
   * command's own teardown (a drill stops its scratch server within SCRATCH_STOP_TIMEOUT_MS and
   * removes its temp dir), so the last-resort kill never lands mid-cleanup.
   */
  killGraceMs?: number;
}

export function newRunId(now: Date): string {
  return `${formatCompactUtc(now)}-${randomBytes(3).toString('hex')}`;
}

/**
 * Run `job` once. Resolves (never rejects) when the child has exited: `timeout` after the job's
 * timeout, `aborted` when `signal` fired (shutdown), else `success` or `failed` by exit status.
 */
export function runJobProcess(
  job: JobDefinition,
  deps: JobProcessDeps,
  options: { signal?: AbortSignal; reason: JobRun['reason'] },
): Promise<JobRun> {
  const startedAt = new Date();
  const runId = newRunId(startedAt);
  const args = jobArguments(job);
  const log = deps.logger.child({ job: job.name, runId });
  log.info({ command: job.command, args, reason: options.reason }, 'job started');
  const killGraceMs = deps.killGraceMs ?? JOB_KILL_GRACE_MS;

  return new Promise<JobRun>((resolve) => {
    let stopping: 'timeout' | 'aborted' | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const child = spawn(deps.launcher.command, [...deps.launcher.args, ...args], {
      env: { ...environmentForJob(job.command, deps.env), VAULT_OPS_JOB: job.name, VAULT_OPS_RUN_ID: runId },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a final SIGKILL reaches hooks and scratch servers too.
      detached: true,
    });
    let printedError = false;
    const forward = (from: NodeJS.ReadableStream | null, to: NodeJS.WritableStream) => {
      if (!from) return Promise.resolve();
      const lines = createInterface({ input: from, crlfDelay: Infinity });
      lines.on('line', (line) => {
        if (from === child.stderr && line.startsWith('error: ')) printedError = true;
        to.write(`${line}\n`);
      });
      return new Promise<void>((done) => lines.once('close', done));
    };
    forward(child.stdout, deps.stdout);
    const stderrRead = forward(child.stderr, deps.stderr);

    const stop = (why: 'timeout' | 'aborted') => {
      if (stopping || child.exitCode !== null || child.signalCode !== null) return;
      stopping = why;
      log.warn(
        { why, killAfterSeconds: killGraceMs / 1000 },
        why === 'timeout'
          ? `job timed out after ${job.timeoutMs / 1000}s: stopping it (SIGTERM)`
          : 'stopping the job for shutdown (SIGTERM)',
      );
      child.kill('SIGTERM');
      killTimer = setTimeout(() => {
        log.error({ why }, 'job did not stop after SIGTERM: SIGKILL to its process group');
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }, killGraceMs);
    };
    const timeout = setTimeout(() => stop('timeout'), job.timeoutMs);
    const onAbort = () => stop('aborted');
    if (options.signal?.aborted) queueMicrotask(onAbort);
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    let settled = false;
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      if (killTimer) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      // Anything the run left in its process group (a hook, a scratch server) goes with it.
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* group already gone */
      }
      const finishedAt = new Date();
      const result: JobResult = stopping ?? (exitCode === 0 ? 'success' : 'failed');
      const run: JobRun = {
        job: job.name,
        runId,
        reason: options.reason,
        startedAt,
        finishedAt,
        durationSeconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 10) / 100,
        result,
        ...(exitCode !== null ? { exitCode } : {}),
        ...(signal ? { signal } : {}),
        ...(printedError ? { printedError } : {}),
      };
      const fields = {
        result,
        exitCode: run.exitCode,
        signal: run.signal,
        durationSeconds: run.durationSeconds,
        ...(spawnError ? { err: spawnError.message } : {}),
      };
      if (result === 'success') log.info(fields, 'job finished');
      else log.error(fields, `job ${result}`);
      resolve(run);
    };
    child.once('error', (err) => finish(null, null, err));
    // 'exit', not 'close': a left-over grandchild holding the pipes must not keep the run open. Its
    // last stderr lines (its error line) may still be in the pipe: read them first, for a second at most.
    child.once('exit', (code, signal) => {
      let grace: NodeJS.Timeout | undefined;
      void Promise.race([stderrRead, new Promise<void>((done) => (grace = setTimeout(done, STDERR_DRAIN_MS)))]).then(
        () => {
          clearTimeout(grace);
          finish(code, signal);
        },
      );
    });
  });
}
