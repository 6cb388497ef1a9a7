import type { Command } from 'commander';
import { z } from 'zod';
import type { OptionSource } from '../../config/resolve.js';
import { loadRotationPolicy } from '../../rotation/kv/policy.js';
import { jobFileJsonSchema } from '../../scheduler/job-definition.js';
import { connectionPolicyRoles } from '../../rotation/db-root/policy.js';
import { SETUP_JOBS, buildJobPolicies, installCommands, type JobPolicy, type SetupJob } from '../../setup/policies.js';
import { DEFAULT_CANARY_MOUNT, setupCanaryMount } from '../../snapshot/canary.js';
import { resolveCommandOptions } from '../context.js';
import type { CommandModule } from '../command-module.js';
import { printJson, printLines } from '../output.js';

/**
 * `vault-ops setup policies` prints the least-privilege Vault policy of each job and the
 * Kubernetes auth role that hands it out; `setup canary` creates the KV v1 canary mount;
 * `setup job-schema` prints the JSON Schema of job files (jobs/schema.json).
 */

const mountPath = z.string().regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\/?$/, { message: 'a mount path such as database' });

export const SetupPoliciesOptionsSchema = z
  .object({
    job: z.enum([...SETUP_JOBS, 'all']).default('all'),
    policy: z.string().min(1).optional(),
    stagingMount: mountPath.optional(),
    mount: mountPath.optional(),
    connection: z.string().regex(/^[A-Za-z0-9._-]+$/, { message: 'a connection name' }).optional(),
    leaseCount: z.boolean().default(false),
    canary: z.boolean().default(true),
    canaryMount: mountPath.default(DEFAULT_CANARY_MOUNT),
    k8sNamespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'a Kubernetes namespace name' }).default('vault-ops'),
    k8sServiceAccount: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { message: 'a service account name' }).optional(),
    k8sAudience: z.string().min(1).default('vault'),
    k8sAuthMount: mountPath.default('kubernetes'),
  })
  .superRefine((o, ctx) => {
    if (o.job === 'rotate-kv' && !o.policy) ctx.addIssue({ code: 'custom', path: ['policy'], message: 'required with --job rotate-kv: the rotation policy file (e.g. jobs/rotate-kv.yaml)' });
    if (o.job === 'rotate-root' && (!o.mount || !o.connection)) ctx.addIssue({ code: 'custom', path: [o.mount ? 'connection' : 'mount'], message: 'required with --job rotate-root: --mount (database engine) and --connection' });
    if ((o.mount === undefined) !== (o.connection === undefined)) ctx.addIssue({ code: 'custom', path: ['connection'], message: '--mount and --connection go together' });
  });
export type SetupPoliciesOptions = z.output<typeof SetupPoliciesOptionsSchema>;

const policiesSources: readonly OptionSource[] = [
  { key: 'job' },
  { key: 'policy', env: ['VAULT_OPS_ROTATE_POLICY'] },
  { key: 'stagingMount', env: ['VAULT_OPS_STAGING_MOUNT'] },
  { key: 'mount' },
  { key: 'connection' },
  { key: 'leaseCount' },
  { key: 'canary' },
  { key: 'canaryMount', env: ['VAULT_OPS_CANARY_MOUNT'] },
  { key: 'k8sNamespace' },
  { key: 'k8sServiceAccount' },
  { key: 'k8sAudience' },
  { key: 'k8sAuthMount' },
];

const CanaryOptionsSchema = z.object({ canaryMount: mountPath.default(DEFAULT_CANARY_MOUNT) });
const canarySources: readonly OptionSource[] = [{ key: 'canaryMount', env: ['VAULT_OPS_CANARY_MOUNT'] }];

export interface SetupPoliciesReport {
  kind: 'setup-policies';
  policies: Array<JobPolicy & { commands: string[] }>;
}

export const setupCommand: CommandModule = {
  optionSources: [...policiesSources, ...canarySources],
  register(program, run) {
    const setup = program.command('setup').description('Vault-side setup: least-privilege policies and roles, the canary mount');

    setup
      .command('policies')
      .description('print the least-privilege Vault policy (HCL) of each job and its Kubernetes auth role')
      .option('--job <job>', `${SETUP_JOBS.join(' | ')} | all (default all)`)
      .option('--policy <file>', 'rotate-kv: the rotation policy file the policy is generated from')
      .option('--staging-mount <mount>', 'rotate-kv: staging mount (default vault-ops-staging)')
      .option('--mount <mount>', 'rotate-root: database secrets engine mount')
      .option('--connection <name>', 'rotate-root: database connection name (its dynamic roles are read from the server: needs VAULT_ADDR and a token)')
      .option('--lease-count', 'rotate-root: allow counting leases (needs sudo on sys/leases/lookup)')
      .option('--no-canary', 'snapshot: leave out write access to the canary')
      .option('--canary-mount <mount>', `snapshot: KV v1 mount of the canary (default ${DEFAULT_CANARY_MOUNT})`)
      .option('--k8s-namespace <ns>', 'namespace of the vault-ops service accounts (default vault-ops)')
      .option('--k8s-service-account <name>', 'service account bound to the roles (default vault-ops-<job>, the chart\'s names)')
      .option('--k8s-audience <aud>', 'audience of the projected service-account token (default vault)')
      .option('--k8s-auth-mount <path>', 'Kubernetes auth mount (default kubernetes)')
      .action(async (flags: Record<string, unknown>, cmd: Command) =>
        run(cmd, async (ctx) => {
          const o = resolveCommandOptions(ctx, SetupPoliciesOptionsSchema, policiesSources, flags);
          const jobs: SetupJob[] = o.job === 'all' ? [...SETUP_JOBS] : [o.job];
          const rotation = o.policy && jobs.includes('rotate-kv') ? await loadRotationPolicy(o.policy) : undefined;
          // rotate-root's policy names the connection's dynamic roles: read them with the caller's token.
          const dynamicRoles = o.mount && o.connection && jobs.includes('rotate-root') ? await connectionPolicyRoles(await ctx.authenticatedVault(), o.mount, o.connection) : [];
          const policies = buildJobPolicies({
            jobs,
            canaryMount: o.canary ? o.canaryMount : false,
            ...(rotation ? { rotation } : {}),
            ...(o.stagingMount ? { stagingMount: o.stagingMount } : {}),
            ...(o.mount && o.connection ? { database: { mount: o.mount, connection: o.connection, dynamicRoles, leaseCount: o.leaseCount } } : {}),
            kubernetes: {
              mount: o.k8sAuthMount,
              namespace: o.k8sNamespace,
              audience: o.k8sAudience,
              ...(o.k8sServiceAccount ? { serviceAccount: o.k8sServiceAccount } : {}),
            },
          });
          const report: SetupPoliciesReport = { kind: 'setup-policies', policies: policies.map((p) => ({ ...p, commands: installCommands(p) })) };
          if (ctx.options.output === 'json') printJson(ctx.stdout, report);
          else printLines(ctx.stdout, renderPolicies(report));
        }),
      );

    setup
      .command('canary')
      .description('create the KV v1 mount the snapshot job writes its restore-drill canary to')
      .option('--canary-mount <mount>', `mount path (default ${DEFAULT_CANARY_MOUNT})`)
      .action(async (flags: Record<string, unknown>, cmd: Command) =>
        run(cmd, async (ctx) => {
          const o = resolveCommandOptions(ctx, CanaryOptionsSchema, canarySources, flags);
          const mount = o.canaryMount.replace(/\/+$/, '');
          const client = await ctx.authenticatedVault();
          const result = await setupCanaryMount(client, mount);
          if (ctx.options.output === 'json') printJson(ctx.stdout, { kind: 'setup-canary', mount, result });
          else printLines(ctx.stdout, [result === 'created' ? `created the KV v1 canary mount ${mount}/` : `the KV v1 canary mount ${mount}/ already exists`]);
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
