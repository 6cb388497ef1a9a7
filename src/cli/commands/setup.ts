import type { Command } from 'commander';
import { addOptions } from '../../options/commander-options.js';
import {
  setupAllOptions,
  setupCanaryOptions,
  setupPoliciesOptions,
  setupSigningKeyOptions,
  setupStagingOptions,
} from '../../options/setup.js';
import type { CommandModule } from '../command-module.js';

/**
 * `vault-ops setup policies` prints the least-privilege Vault policy of each job and the
 * Kubernetes auth role that hands it out; `setup canary` and `setup staging` create the KV mounts
 * the snapshot job and rotate kv need; `setup all` does both for the chosen jobs and prints their
 * policies; `setup job-schema` prints the JSON Schema of job files (jobs/schema.json).
 */

/** The actions live in actions/setup.ts, loaded when one runs. */
const actions = () => import('../actions/setup.js');

export const setupCommand: CommandModule = {
  register(program, run) {
    const setup = program
      .command('setup')
      .description('Vault-side setup: least-privilege policies and roles, the canary and staging mounts');

    addOptions(
      setup
        .command('all')
        .description(
          'create the mounts the chosen jobs need (canary, staging), idempotently, and print their policies and roles',
        ),
      setupAllOptions,
    ).action(async (flags: Record<string, unknown>, cmd: Command) =>
      run(cmd, async (ctx) => (await actions()).runSetupAll(ctx, flags)),
    );

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

    addOptions(
      setup.command('staging').description('create the KV v2 mount rotate kv keeps pending values and locks in'),
      setupStagingOptions,
    ).action(async (flags: Record<string, unknown>, cmd: Command) =>
      run(cmd, async (ctx) => (await actions()).runSetupStaging(ctx, flags)),
    );

    addOptions(
      setup
        .command('signing-key')
        .description('make the ed25519 key pair that signs and verifies a store (private key 0600, never replaced)'),
      setupSigningKeyOptions,
    ).action(async (flags: Record<string, unknown>, cmd: Command) =>
      run(cmd, async (ctx) => (await actions()).runSetupSigningKey(ctx, flags)),
    );

    setup
      .command('job-schema')
      .description('print the JSON Schema of job definition files (jobs/schema.json)')
      .action(async (_flags: Record<string, unknown>, cmd: Command) =>
        run(cmd, async (ctx) => (await actions()).runSetupJobSchema(ctx)),
      );
  },
};
