import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { z } from 'zod';
import { globalOptionSources, type GlobalOptions } from '../../config/global-options.js';
import type { OptionSource } from '../../config/resolve.js';
import { snapshotPruneOptionSources, snapshotSaveOptionSources } from '../../config/snapshot-options.js';
import { verifyOptionSources } from '../../config/verify-options.js';
import { ExitCode, VaultOpsError, type ErrorCode } from '../../errors.js';
import { DaemonMetrics } from '../../scheduler/daemon-metrics.js';
import { startDaemonEndpoint } from '../../scheduler/http-endpoint.js';
import { jobArguments, loadJobDirectory, nextRuns, type JobDefinition, type KnownJobOptions } from '../../scheduler/job-definition.js';
import { runJobProcess, type CliLauncher } from '../../scheduler/job-process.js';
import { JobScheduler } from '../../scheduler/scheduler.js';
import { resolveCommandOptions, type CommandContext } from '../context.js';
import type { CommandModule } from '../command-module.js';
import { printJson, printLines, table } from '../output.js';
import { rotateKvCommand } from './rotate-kv.js';

/**
 * `vault-ops daemon --jobs DIR`: run the job definitions on their schedules (VMs), with a loopback
 * /metrics and /healthz endpoint; `--once JOB` runs one job now and exits with its status (the
 * Helm chart's CronJobs); `--check` validates the definitions and prints the next runs.
 */

export const DaemonOptionsSchema = z.object({
  jobs: z.string({ message: 'required: the folder of job definitions (--jobs DIR)' }).min(1),
  once: z.string().min(1).optional(),
  check: z.boolean().default(false),
  httpPort: z.number().int().min(0).max(65535).default(9469),
  shutdownGraceSeconds: z.number().min(0).max(24 * 3600).default(30),
});
export type DaemonOptions = z.output<typeof DaemonOptionsSchema>;

const sources: readonly OptionSource[] = [
  { key: 'jobs', env: ['VAULT_OPS_JOBS_DIR'] },
  { key: 'once' },
  { key: 'check' },
  { key: 'httpPort', env: ['VAULT_OPS_DAEMON_HTTP_PORT'], fromEnv: 'number' },
  { key: 'shutdownGraceSeconds', env: ['VAULT_OPS_DAEMON_SHUTDOWN_GRACE_SECONDS'], fromEnv: 'number' },
];

/** Options each job command accepts (their option sources), to reject typos in job files. */
function knownJobOptions(): KnownJobOptions {
  return {
    'snapshot save': snapshotSaveOptionSources,
    'snapshot prune': snapshotPruneOptionSources,
    verify: verifyOptionSources,
    'rotate kv': rotateKvCommand.optionSources ?? [],
    status: [],
  };
}
const globalJobKeys = globalOptionSources.map((s) => s.key).filter((k) => k !== 'token');

/** This same CLI, as a child process: from source under tsx, or the built dist/. */
export function selfLauncher(): CliLauncher {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    return { command: process.execPath, args: ['--import', import.meta.resolve('tsx'), resolve(dirname(here), '..', 'entry.ts')] };
  }
  return { command: process.execPath, args: [resolve(dirname(here), '..', 'entry.js')] };
}

/**
 * The child's environment: the daemon's, plus the daemon's resolved connection settings (so a
 * flag or --config given to the daemon reaches its jobs). Credentials travel in the environment.
 */
function jobEnvironment(ctx: CommandContext, configFile: string | undefined): NodeJS.ProcessEnv {
  const o: GlobalOptions = ctx.options;
  const env: NodeJS.ProcessEnv = { ...ctx.env };
  const set = (name: string, value: string | number | boolean | undefined) => {
    if (value !== undefined) env[name] = String(value);
  };
  set('VAULT_ADDR', o.vaultAddr);
  set('VAULT_NAMESPACE', o.namespace);
  set('VAULT_CACERT', o.caCert);
  set('VAULT_TLS_SERVER_NAME', o.tlsServerName);
  if (o.allowInsecureHttp) set('VAULT_OPS_ALLOW_INSECURE_HTTP', 'true');
  set('VAULT_OPS_AUTH_METHOD', o.authMethod);
  set('VAULT_TOKEN', o.token);
  set('VAULT_OPS_AUTH_MOUNT', o.authMount);
  set('VAULT_OPS_AUTH_ROLE', o.authRole);
  set('VAULT_OPS_JWT_FILE', o.jwtFile);
  set('VAULT_OPS_ROLE_ID', o.roleId);
  set('VAULT_OPS_SECRET_ID_FILE', o.secretIdFile);
  set('VAULT_OPS_REQUEST_TIMEOUT_SECONDS', o.requestTimeoutSeconds);
  set('VAULT_OPS_LOG_LEVEL', o.logLevel);
  set('VAULT_OPS_OUTPUT', o.output);
  if (configFile) env.VAULT_OPS_CONFIG = resolve(configFile);
  return env;
}

const exitErrorCodes: Record<number, ErrorCode> = { [ExitCode.usage]: 'config', [ExitCode.verification]: 'verification', [ExitCode.confirmation]: 'confirmation' };

export const daemonCommand: CommandModule = {
  optionSources: sources,
  register(program, run) {
    program
      .command('daemon')
      .description('run the job definitions (jobs/*.yaml) on their UTC schedules; --once JOB runs one now')
      .option('--jobs <dir>', 'folder of job definitions (VAULT_OPS_JOBS_DIR)')
      .option('--once <job>', 'run this job now, once, and exit with its exit status (Kubernetes CronJobs)')
      .option('--check', 'validate the job definitions and print their next runs, then exit')
      .option('--http-port <port>', 'loopback port of /metrics and /healthz (default 9469; 0 picks one)', (v) => (/^\d+$/.test(v) ? Number(v) : Number.NaN))
      .option('--shutdown-grace-seconds <n>', 'on SIGTERM, how long running jobs may finish before they are stopped (default 30)', Number)
      .action(async (flags: Record<string, unknown>, cmd: Command) =>
        run(cmd, async (ctx) => {
          const o = resolveCommandOptions(ctx, DaemonOptionsSchema, sources, flags);
          const jobs = await loadJobDirectory(o.jobs, knownJobOptions(), globalJobKeys);
          if (o.check) return printCheck(ctx, jobs);

          const metrics = new DaemonMetrics();
          const launcher = selfLauncher();
          const env = jobEnvironment(ctx, cmd.optsWithGlobals().config as string | undefined);
          const scheduler = new JobScheduler(jobs, {
            logger: ctx.logger,
            metrics,
            runJob: (job, signal, reason) => runJobProcess(job, { launcher, env, logger: ctx.logger, stdout: ctx.stdout, stderr: ctx.terminal.stderr }, { signal, reason }),
          });

          if (o.once !== undefined) {
            const job = jobs.find((j) => j.name === o.once);
            if (!job) throw new VaultOpsError('usage', `--once ${o.once}: no such job in ${o.jobs} (have ${jobs.map((j) => j.name).join(', ')})`);
            // A CronJob's pod is being stopped: pass the signal on at once, the command cleans up.
            const onSignal = () => void scheduler.shutdown(0);
            process.once('SIGTERM', onSignal);
            process.once('SIGINT', onSignal);
            try {
              const result = await scheduler.runOnce(job.name);
              if (result.result === 'success') return;
              const code = result.exitCode !== undefined ? (exitErrorCodes[result.exitCode] ?? 'internal') : 'aborted';
              throw new VaultOpsError(code, `job ${job.name} ${result.result === 'failed' ? `failed with exit status ${result.exitCode ?? '?'}` : result.result === 'timeout' ? `timed out after ${job.timeoutMs / 1000}s` : 'was stopped'} (run ${result.runId}): see its log lines above`);
            } finally {
              process.off('SIGTERM', onSignal);
              process.off('SIGINT', onSignal);
            }
          }

          const endpoint = await startDaemonEndpoint({ port: o.httpPort, registry: metrics.registry, health: () => scheduler.health() });
          let signals = 0;
          let stopped!: () => void;
          const done = new Promise<void>((r) => (stopped = r));
          const onSignal = (signal: NodeJS.Signals) => {
            signals += 1;
            if (signals === 1) {
              ctx.logger.info({ signal, graceSeconds: o.shutdownGraceSeconds }, 'shutting down: no new runs; running jobs may finish');
              void scheduler.shutdown(o.shutdownGraceSeconds * 1000).then(stopped);
            } else {
              ctx.logger.warn({ signal }, 'second signal: stopping running jobs now');
              scheduler.abortAll();
            }
          };
          process.on('SIGTERM', onSignal);
          process.on('SIGINT', onSignal);
          try {
            scheduler.start();
            ctx.logger.info({ url: endpoint.url, jobs: jobs.filter((j) => j.enabled).map((j) => j.name), pid: process.pid }, `daemon started: ${endpoint.url}/metrics and /healthz`);
            await done;
          } finally {
            process.off('SIGTERM', onSignal);
            process.off('SIGINT', onSignal);
            await endpoint.close();
          }
          ctx.logger.info('daemon stopped');
        }),
      );
  },
};

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
      ...view.map((v) => [v.name, v.enabled ? v.schedule : `${v.schedule} (disabled)`, `${v.jitterSeconds}s`, `${v.timeoutSeconds}s`, v.nextRuns.slice(0, 2).join(', ') || '-', `vault-ops ${v.args.join(' ')}`]),
    ]),
  ]);
}
