import { loadRotationPolicy, type RotationPolicy } from '../../rotation/kv/index.js';
import { jobFileJsonSchema } from '../../scheduler/job-definition.js';
import { connectionPolicyRoles } from '../../rotation/db-root/policy.js';
import { DEFAULT_STAGING_MOUNT } from '../../options/shared.js';
import {
  SetupAllOptionsSchema,
  SetupCanaryOptionsSchema,
  SetupPoliciesOptionsSchema,
  SetupSigningKeyOptionsSchema,
  SetupStagingOptionsSchema,
  setupAllOptionSources,
  setupCanaryOptionSources,
  setupPoliciesOptionSources,
  setupSigningKeyOptionSources,
  setupStagingOptionSources,
  type SetupPoliciesOptions,
} from '../../options/setup.js';
import {
  SETUP_JOBS,
  buildJobPolicies,
  installCommands,
  type JobPolicy,
  type LoginRoleOptions,
  type SetupJob,
} from '../../setup/policies.js';
import {
  canaryMountNeed,
  describeMountResult,
  ensureKvMount,
  stagingMountNeed,
  type KvMountNeed,
  type KvMountResult,
} from '../../setup/mounts.js';
import { resolveCommandOptions, type CommandContext } from '../context.js';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { VaultOpsError, shellArg } from '../../errors.js';
import { keyId } from '../../repository/signature.js';
import { printJson, printLines } from '../output.js';

export interface SetupPoliciesReport {
  kind: 'setup-policies';
  policies: Array<JobPolicy & { commands: string[] }>;
}

/** `setup policies`: the least-privilege policy of each job and its Kubernetes auth role. */
export async function runSetupPolicies(ctx: CommandContext, flags: Record<string, unknown>): Promise<void> {
  const o = resolveCommandOptions(ctx, SetupPoliciesOptionsSchema, setupPoliciesOptionSources, flags);
  const jobs = jobsOf(o);
  const rotation = o.policy && jobs.includes('rotate-kv') ? await loadRotationPolicy(o.policy) : undefined;
  const report: SetupPoliciesReport = { kind: 'setup-policies', policies: await policiesFor(ctx, o, jobs, rotation) };
  if (ctx.options.output === 'json') printJson(ctx.stdout, report);
  else printLines(ctx.stdout, renderPolicies(report));
}

const jobsOf = (o: SetupPoliciesOptions): SetupJob[] => (o.job === 'all' ? [...SETUP_JOBS] : [o.job]);

async function policiesFor(
  ctx: CommandContext,
  o: SetupPoliciesOptions,
  jobs: SetupJob[],
  rotation: RotationPolicy | undefined,
): Promise<SetupPoliciesReport['policies']> {
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
    ...loginRoleOptions(ctx, o),
    kubernetes: {
      mount: o.k8sAuthMount,
      namespace: o.k8sNamespace,
      audience: o.k8sAudience,
      ...(o.k8sServiceAccount ? { serviceAccount: o.k8sServiceAccount } : {}),
    },
  });
  return policies.map((p) => ({ ...p, commands: installCommands(p) }));
}

/** With --auth-method jwt|cert|ldap|userpass the roles are that method's; otherwise Kubernetes' (the chart's). */
function loginRoleOptions(ctx: CommandContext, o: SetupPoliciesOptions): { login?: LoginRoleOptions } {
  const method = ctx.options.authMethod;
  if (method !== 'jwt' && method !== 'cert' && method !== 'ldap' && method !== 'userpass') return {};
  return {
    login: {
      method,
      mount: ctx.options.authMount,
      jwtAudience: o.jwtAudience,
      jwtSubject: o.jwtSubject,
      clientCa: o.clientCa,
      username: ctx.options.username,
    },
  };
}

/** `setup canary`: create the KV v1 mount the snapshot job writes its canary to. */
export async function runSetupCanary(ctx: CommandContext, flags: Record<string, unknown>): Promise<void> {
  const o = resolveCommandOptions(ctx, SetupCanaryOptionsSchema, setupCanaryOptionSources, flags);
  await runSetupMount(ctx, canaryMountNeed(trimMount(o.canaryMount)), flags.dryRun === true);
}

/** `setup staging`: create the KV v2 mount rotate kv keeps pending values and locks in. */
export async function runSetupStaging(ctx: CommandContext, flags: Record<string, unknown>): Promise<void> {
  const o = resolveCommandOptions(ctx, SetupStagingOptionsSchema, setupStagingOptionSources, flags);
  await runSetupMount(ctx, stagingMountNeed(trimMount(o.stagingMount)), flags.dryRun === true);
}

const trimMount = (mount: string) => mount.replace(/\/+$/, '');

async function runSetupMount(ctx: CommandContext, need: KvMountNeed, dryRun: boolean): Promise<void> {
  const result = await ensureKvMount(await ctx.authenticatedVault(), need, { dryRun });
  if (ctx.options.output === 'json') printJson(ctx.stdout, { kind: `setup-${need.role}`, mount: need.mount, result });
  else printLines(ctx.stdout, [describeMountResult(need, result)]);
}

export interface SetupAllReport {
  kind: 'setup-all';
  dryRun: boolean;
  mounts: Array<{ role: KvMountNeed['role']; mount: string; version: string; result: KvMountResult }>;
  /** Mounts the chosen jobs do not need, and why (e.g. no secret has hooks: no staging mount). */
  skipped: string[];
  policies: SetupPoliciesReport['policies'];
}

/**
 * `setup all`: create what the chosen jobs need in Vault (the canary mount for the snapshot job,
 * the staging mount for rotate kv when a secret has hooks), idempotently, then print the policies
 * and roles to apply, as `setup policies` does. Mount lines are comments, so that the text can
 * still be piped into a shell.
 */
export async function runSetupAll(ctx: CommandContext, flags: Record<string, unknown>): Promise<void> {
  const o = resolveCommandOptions(ctx, SetupAllOptionsSchema, setupAllOptionSources, flags);
  const dryRun = flags.dryRun === true;
  const jobs = jobsOf(o);
  const rotation = o.policy && jobs.includes('rotate-kv') ? await loadRotationPolicy(o.policy) : undefined;
  const needs: KvMountNeed[] = [];
  const skipped: string[] = [];
  if (jobs.includes('snapshot')) {
    if (o.canary) needs.push(canaryMountNeed(trimMount(o.canaryMount)));
    else skipped.push('canary mount: --no-canary');
  }
  if (jobs.includes('rotate-kv')) {
    const staging = trimMount(o.stagingMount ?? DEFAULT_STAGING_MOUNT);
    // Hook-less rotations never touch the staging mount (rotation/kv/run.ts checks it only with hooks).
    if (rotation && !rotation.secrets.some((s) => s.hooks)) {
      skipped.push(`staging mount ${staging}/: no secret in ${o.policy} has hooks, so rotate kv never uses it`);
    } else needs.push(stagingMountNeed(staging));
  }
  const mounts: SetupAllReport['mounts'] = [];
  for (const need of needs) {
    // The context logs in once; later calls reuse the session.
    const result = await ensureKvMount(await ctx.authenticatedVault(), need, { dryRun });
    mounts.push({ role: need.role, mount: need.mount, version: need.version, result });
  }
  const report: SetupAllReport = {
    kind: 'setup-all',
    dryRun,
    mounts,
    skipped,
    policies: await policiesFor(ctx, o, jobs, rotation),
  };
  if (ctx.options.output === 'json') {
    printJson(ctx.stdout, report);
    return;
  }
  const lines = ['# ==== mounts ===='];
  for (const [i, m] of mounts.entries()) lines.push(`# ${describeMountResult(needs[i] as KvMountNeed, m.result)}`);
  for (const s of skipped) lines.push(`# not needed: ${s}`);
  if (!mounts.length && !skipped.length) lines.push('# none needed by these jobs');
  lines.push('');
  printLines(ctx.stdout, [...lines, ...renderPolicies({ kind: 'setup-policies', policies: report.policies })]);
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

/**
 * `setup signing-key --out DIR`: a new ed25519 key pair for a store. The private key is written 0600
 * and create-only (an existing key is never replaced: every signature made with it would stop
 * verifying); the public key is what every reader of the store is given as --verify-key.
 */
export async function runSetupSigningKey(ctx: CommandContext, flags: Record<string, unknown>): Promise<void> {
  const o = resolveCommandOptions(ctx, SetupSigningKeyOptionsSchema, setupSigningKeyOptionSources, flags);
  const dir = resolve(o.out);
  const signing = join(dir, 'vault-ops-signing.pem');
  const verify = join(dir, 'vault-ops-verify.pem');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    await writeFile(signing, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new VaultOpsError(
      code === 'EEXIST' ? 'usage' : 'config',
      code === 'EEXIST'
        ? `${signing} exists: a store's key is made once and kept (its signatures verify only with it); pick ` +
            'another --out to make a second one'
        : `cannot write ${signing} (${code ?? 'error'}): check the folder`,
      { cause: err },
    );
  }
  await writeFile(verify, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  const id = keyId(publicKey);
  if (ctx.options.output === 'json') printJson(ctx.stdout, { signingKey: signing, verifyKey: verify, keyId: id });
  else
    printLines(ctx.stdout, [
      `wrote ${signing} (private, 0600) and ${verify} (public), key ${id}`,
      `  sign:   vault-ops snapshot save … --signing-key ${shellArg(signing)}   (verify --signing-key too)`,
      `  verify: every command that reads the store … --verify-key ${shellArg(verify)}   (VAULT_OPS_VERIFY_KEY)`,
    ]);
}
