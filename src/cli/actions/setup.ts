import { loadRotationPolicy } from '../../rotation/kv/policy.js';
import { jobFileJsonSchema } from '../../scheduler/job-definition.js';
import { connectionPolicyRoles } from '../../rotation/db-root/policy.js';
import {
  SetupCanaryOptionsSchema,
  SetupPoliciesOptionsSchema,
  setupCanaryOptionSources,
  setupPoliciesOptionSources,
} from '../../options/setup.js';
import { SETUP_JOBS, buildJobPolicies, installCommands, type JobPolicy, type SetupJob } from '../../setup/policies.js';
import { setupCanaryMount } from '../../snapshot/canary.js';
import { resolveCommandOptions, type CommandContext } from '../context.js';
import { printJson, printLines } from '../output.js';

export interface SetupPoliciesReport {
  kind: 'setup-policies';
  policies: Array<JobPolicy & { commands: string[] }>;
}

/** `setup policies`: the least-privilege policy of each job and its Kubernetes auth role. */
export async function runSetupPolicies(ctx: CommandContext, flags: Record<string, unknown>): Promise<void> {
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
}

/** `setup canary`: create the KV v1 mount the snapshot job writes its canary to. */
export async function runSetupCanary(ctx: CommandContext, flags: Record<string, unknown>): Promise<void> {
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
}

/** `setup job-schema`: the JSON Schema of job definition files. */
export async function runSetupJobSchema(ctx: CommandContext): Promise<void> {
  printJson(ctx.stdout, jobFileJsonSchema());
}

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
