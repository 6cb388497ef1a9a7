import type { Command } from 'commander';
import { addOptions } from '../../options/commander-options.js';
import { setupCanaryOptions, setupPoliciesOptions } from '../../options/setup.js';
import type { CommandModule } from '../command-module.js';

/**
 * `vault-ops setup policies` prints the least-privilege Vault policy of each job and the
 * Kubernetes auth role that hands it out; `setup canary` creates the KV v1 canary mount;
 * `setup job-schema` prints the JSON Schema of job files (jobs/schema.json).
 */

/** The actions live in actions/setup.ts, loaded when one runs. */
const actions = () => import('../actions/setup.js');

export const setupCommand: CommandModule = {
  register(program, run) {
    const setup = program
      .command('setup')
      .description('Vault-side setup: least-privilege policies and roles, the canary mount');

    addOptions(
      setup
        .command('policies')
        .description('print the least-privilege Vault policy (HCL) of each job and its Kubernetes auth role'),
      setupPoliciesOptions,
    ).action(async (flags: Record<string, unknown>, cmd: Command) =>
      run(cmd, async (ctx) => (await actions()).runSetupPolicies(ctx, flags)),
    );

    addOptions(
      setup.command('canary').description('create the KV v1 mount the snapshot job writes its restore-drill canary to'),
      setupCanaryOptions,
    ).action(async (flags: Record<string, unknown>, cmd: Command) =>
      run(cmd, async (ctx) => (await actions()).runSetupCanary(ctx, flags)),
    );

    setup
      .command('job-schema')
      .description('print the JSON Schema of job definition files (jobs/schema.json)')
      .action(async (_flags: Record<string, unknown>, cmd: Command) =>
        run(cmd, async (ctx) => (await actions()).runSetupJobSchema(ctx)),
      );
  },
};
