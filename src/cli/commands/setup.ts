import type { Command } from 'commander';
import { loadRotationPolicy } from '../../rotation/kv/policy.js';
import { jobFileJsonSchema } from '../../scheduler/job-definition.js';
import { connectionPolicyRoles } from '../../rotation/db-root/policy.js';
import { addOptions } from '../../options/commander-options.js';
import {
  SetupCanaryOptionsSchema,
  SetupPoliciesOptionsSchema,
  setupCanaryOptionSources,
  setupCanaryOptions,
  setupPoliciesOptionSources,
  setupPoliciesOptions,
} from '../../options/setup.js';
import { SETUP_JOBS, buildJobPolicies, installCommands, type JobPolicy, type SetupJob } from '../../setup/policies.js';
import { setupCanaryMount } from '../../snapshot/canary.js';
import { resolveCommandOptions } from '../context.js';
import type { CommandModule } from '../command-module.js';
import { printJson, printLines } from '../output.js';

/**
 * `vault-ops setup policies` prints the least-privilege Vault policy of each job and the
 * Kubernetes auth role that hands it out; `setup canary` creates the KV v1 canary mount;
 * `setup job-schema` prints the JSON Schema of job files (jobs/schema.json).
 */

export interface SetupPoliciesReport {
  kind: 'setup-policies';
  policies: Array<JobPolicy & { commands: string[] }>;
}

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
      run(cmd, async (ctx) => {
        const o = resolveCommandOptions(ctx, SetupPoliciesOptionsSchema, setupPoliciesOptionSources, flags);
        const jobs: SetupJob[] = o.job === 'all' ? [...SETUP_JOBS] : [o.job];
        const rotation = o.policy && jobs.includes('rotate-kv') ? await loadRotationPolicy(o.policy) : undefined;
        // rotate-root's policy names the connection's dynamic roles: read them with the caller's token.
        const dynamicRoles =
          o.mount && o.connection && jobs.includes('rotate-root')
            ? await connectionPolicyRoles(await ctx.authenticatedVault(), o.mount, o.connection)
            : [];
        const policies = buildJobPolicies({
          jobs,
          canaryMount: o.canary ? o.canaryMount : false,
          ...(rotation ? { rotation } : {}),
          ...(o.stagingMount ? { stagingMount: o.stagingMount } : {}),
          ...(o.mount && o.connection
            ? { database: { mount: o.mount, connection: o.connection, dynamicRoles, leaseCount: o.leaseCount } }
            : {}),
          kubernetes: {
            mount: o.k8sAuthMount,
            namespace: o.k8sNamespace,
            audience: o.k8sAudience,
            ...(o.k8sServiceAccount ? { serviceAccount: o.k8sServiceAccount } : {}),
          },
        });
        const report: SetupPoliciesReport = {
          kind: 'setup-policies',
          policies: policies.map((p) => ({ ...p, commands: installCommands(p) })),
        };
        if (ctx.options.output === 'json') printJson(ctx.stdout, report);
        else printLines(ctx.stdout, renderPolicies(report));
      }),
    );

    addOptions(
      setup.command('canary').description('create the KV v1 mount the snapshot job writes its restore-drill canary to'),
      setupCanaryOptions,
    ).action(async (flags: Record<string, unknown>, cmd: Command) =>
      run(cmd, async (ctx) => {
        const o = resolveCommandOptions(ctx, SetupCanaryOptionsSchema, setupCanaryOptionSources, flags);
        const mount = o.canaryMount.replace(/\/+$/, '');
        const client = await ctx.authenticatedVault();
        const result = await setupCanaryMount(client, mount);
        if (ctx.options.output === 'json') printJson(ctx.stdout, { kind: 'setup-canary', mount, result });
        else
          printLines(ctx.stdout, [
            result === 'created'
              ? `created the KV v1 canary mount ${mount}/`
              : `the KV v1 canary mount ${mount}/ already exists`,
          ]);
      }),
    );

    setup
      .command('job-schema')
      .description('print the JSON Schema of job definition files (jobs/schema.json)')
      .action(async (_flags: Record<string, unknown>, cmd: Command) =>
        run(cmd, async (ctx) => {
          printJson(ctx.stdout, jobFileJsonSchema());
        }),
      );
  },
};

function renderPolicies(report: SetupPoliciesReport): string[] {
  const lines: string[] = [];
  for (const p of report.policies) {
    lines.push(`# ==== ${p.job}${p.name ? ` — policy ${p.name}` : ''} ====`);
    for (const n of p.notes) lines.push(`# note: ${n}`);
    if (p.commands.length) lines.push(...p.commands);
    else lines.push(p.hcl.trimEnd());
    lines.push('');
  }
  return lines;
}
