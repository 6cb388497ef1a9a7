import type { Command } from 'commander';
import { addOptions } from '../../options/commander-options.js';
import { daemonOptions } from '../../options/daemon.js';
import type { CommandModule } from '../command-module.js';

/**
 * `vault-ops daemon --jobs DIR`: run the job definitions on their schedules (VMs), with a loopback
 * /metrics and /healthz endpoint; `--once JOB` runs one job now and exits with its status (the
 * Helm chart's CronJobs); `--check` validates the definitions and prints the next runs.
 */
export const daemonCommand: CommandModule = {
  register(program, run) {
    addOptions(
      program
        .command('daemon')
        .description('run the job definitions (jobs/*.yaml) on their UTC schedules; --once JOB runs one now'),
      daemonOptions,
    ).action(async (flags: Record<string, unknown>, cmd: Command) =>
      run(cmd, async (ctx) => (await import('../actions/daemon.js')).runDaemon(ctx, flags, cmd)),
    );
  },
};
