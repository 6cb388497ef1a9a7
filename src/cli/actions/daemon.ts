import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ExitCode, VaultOpsError, type ErrorCode } from '../../errors.js';
import { globalJobKeys, jobCommandOptions } from '../../options/all-commands.js';
import { DaemonOptionsSchema, daemonOptionSources } from '../../options/daemon.js';
import { MetricsOptionsSchema, metricsOptionSources } from '../../options/metrics.js';
import { DaemonMetrics } from '../../scheduler/daemon-metrics.js';
import { shutdownOnSignals, stopRunOnSignals } from '../../scheduler/daemon-signals.js';
import { hostDrillSlots } from '../../scheduler/drill-slots.js';
import { startDaemonEndpoint } from '../../scheduler/http-endpoint.js';
import { jobArguments, loadJobDirectory, nextRuns, type JobDefinition } from '../../scheduler/job-definition.js';
import { jobEnvironment } from '../../scheduler/job-environment.js';
import { runJobProcess, type CliLauncher } from '../../scheduler/job-process.js';
import { JobScheduler } from '../../scheduler/scheduler.js';
import { resolveCommandOptions, type CommandContext } from '../context.js';
import { printJson, printLines, table } from '../output.js';

/** This same CLI, as a child process: from source under tsx, or the built dist/. */
export function selfLauncher(): CliLauncher {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    return {
      command: process.execPath,
      args: ['--import', import.meta.resolve('tsx'), resolve(dirname(here), '..', 'entry.ts')],
    };
  }
  return { command: process.execPath, args: [resolve(dirname(here), '..', 'entry.js')] };
}

const exitErrorCodes: Record<number, ErrorCode> = {
  [ExitCode.usage]: 'config',
  [ExitCode.verification]: 'verification',
  [ExitCode.confirmation]: 'confirmation',
};

/** `daemon`: check the job definitions, run one now (--once), or run them on their schedules. */
export async function runDaemon(ctx: CommandContext, flags: Record<string, unknown>, cmd: Command): Promise<void> {
  const o = resolveCommandOptions(ctx, DaemonOptionsSchema, daemonOptionSources, flags);
  const jobs = await loadJobDirectory(o.jobs, jobCommandOptions(), globalJobKeys());
  if (o.check) return printCheck(ctx, jobs);

  // The cluster name the daemon's jobs are given (VAULT_OPS_VAULT_CLUSTER_NAME, the config file) labels its own series.
  const { vaultClusterName } = resolveCommandOptions(ctx, MetricsOptionsSchema, metricsOptionSources, {});
  const metrics = new DaemonMetrics(vaultClusterName);
  const launcher = selfLauncher();
  const env = jobEnvironment(ctx.env, ctx.options, cmd.optsWithGlobals().config as string | undefined);
  const scheduler = new JobScheduler(jobs, {
    logger: ctx.logger,
    metrics,
    // One cap for the whole host: every daemon (one per cluster, or one for several) shares the folder.
    drillSlots: hostDrillSlots({
      dir: o.drillSlotsDir ?? join(tmpdir(), 'vault-ops-drill-slots'),
      max: o.maxConcurrentDrills,
      logger: ctx.logger,
    }),
    runJob: (job, signal, reason) =>
      runJobProcess(
        job,
        { launcher, env, logger: ctx.logger, stdout: ctx.stdout, stderr: ctx.terminal.stderr },
        { signal, reason },
      ),
  });

  if (o.once !== undefined) {
    const job = jobs.find((j) => j.name === o.once);
    if (!job)
      throw new VaultOpsError(
        'usage',
        `--once ${o.once}: no such job in ${o.jobs} (have ${jobs.map((j) => j.name).join(', ')})`,
      );
    const stopOnSignals = stopRunOnSignals(scheduler);
    try {
      const result = await scheduler.runOnce(job.name);
      if (result.result === 'success') return;
      const code = result.exitCode !== undefined ? (exitErrorCodes[result.exitCode] ?? 'internal') : 'aborted';
      const how =
        result.result === 'failed'
          ? `failed with exit status ${result.exitCode ?? '?'}`
          : result.result === 'timeout'
            ? `timed out after ${job.timeoutMs / 1000}s`
            : 'was stopped';
      // A job that failed on its own printed its one-line error already (a pod's log, a VM's journal):
      // exit with the status and print no second line. Timed out or stopped, the run had no say: name it.
      throw new VaultOpsError(code, `job ${job.name} ${how} (run ${result.runId}): see its log lines above`, {
        reported: result.result === 'failed' && result.printedError === true,
      });
    } finally {
      stopOnSignals();
    }
  }

  const endpoint = await startDaemonEndpoint({
    port: o.httpPort,
    registry: metrics.registry,
    health: () => scheduler.health(),
  });
  const signals = shutdownOnSignals(scheduler, o.shutdownGraceSeconds, ctx.logger);
  if (!vaultClusterName) {
    ctx.logger.warn(
      'the daemon does not know its Vault cluster: its /metrics say vault_cluster="unknown"; ' +
        'set VAULT_OPS_VAULT_CLUSTER_NAME to name the cluster',
    );
  }
  try {
    scheduler.start();
    ctx.logger.info(
      { url: endpoint.url, jobs: jobs.filter((j) => j.enabled).map((j) => j.name), pid: process.pid },
      `daemon started: ${endpoint.url}/metrics and /healthz`,
    );
    await signals.stopped;
  } finally {
    signals.dispose();
    await endpoint.close();
  }
  ctx.logger.info('daemon stopped');
}

function printCheck(ctx: CommandContext, jobs: JobDefinition[]): void {
  const view = jobs.map((j) => ({
    name: j.name,
    file: j.file,
    command: j.command,
    enabled: j.enabled,
    schedule: j.schedule,
    jitterSeconds: j.jitterMs / 1000,
    timeoutSeconds: j.timeoutMs / 1000,
    args: jobArguments(j),
    nextRuns: j.enabled ? nextRuns(j.schedule, 3).map((d) => d.toISOString()) : [],
  }));
  if (ctx.options.output === 'json') {
    printJson(ctx.stdout, { kind: 'daemon-check', jobs: view });
    return;
  }
  printLines(ctx.stdout, [
    ...table([
      ['JOB', 'SCHEDULE (UTC)', 'JITTER', 'TIMEOUT', 'NEXT RUNS', 'RUNS'],
      ...view.map((v) => [
        v.name,
        v.enabled ? v.schedule : `${v.schedule} (disabled)`,
        `${v.jitterSeconds}s`,
        `${v.timeoutSeconds}s`,
        v.nextRuns.slice(0, 2).join(', ') || '-',
        `vault-ops ${v.args.join(' ')}`,
      ]),
    ]),
  ]);
}
