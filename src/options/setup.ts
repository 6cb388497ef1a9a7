import { z } from 'zod';
import { schemaOf, sourcesOf, type OptionSpec } from './option-table.js';
import {
  DEFAULT_CANARY_MOUNT,
  DEFAULT_STAGING_MOUNT,
  canaryMountOption,
  mountPath,
  stagingMountOption,
  vaultName,
} from './shared.js';

/** The jobs `setup policies` writes a policy for (setup/policies.ts). */
export const SETUP_JOBS = ['snapshot', 'verify', 'rotate-kv', 'rotate-root'] as const;

/** `setup policies`, in `--help` order. */
export const setupPoliciesOptions = [
  {
    key: 'job',
    flag: '--job <job>',
    help: `${SETUP_JOBS.join(' | ')} | all (default all)`,
    type: z.enum([...SETUP_JOBS, 'all']).default('all'),
  },
  {
    key: 'policy',
    flag: '--policy <file>',
    help: 'rotate-kv: the rotation policy file the policy is generated from',
    env: ['VAULT_OPS_ROTATE_POLICY'],
    type: z.string().min(1).optional(),
  },
  { ...stagingMountOption, help: `rotate-kv: staging mount (default ${DEFAULT_STAGING_MOUNT})` },
  {
    key: 'mount',
    flag: '--mount <mount>',
    help: 'rotate-root: database secrets engine mount',
    type: mountPath().optional(),
  },
  {
    key: 'connection',
    flag: '--connection <name>',
    help:
      'rotate-root: database connection name (its dynamic roles are read from the server: needs VAULT_ADDR and a ' +
      'token)',
    type: vaultName.optional(),
  },
  {
    key: 'leaseCount',
    flag: '--lease-count',
    help: 'rotate-root: allow counting leases (needs sudo on sys/leases/lookup)',
    type: z.boolean().default(false),
  },
  {
    key: 'canary',
    flag: '--no-canary',
    help: 'snapshot: leave out write access to the canary',
    type: z.boolean().default(true),
  },
  { ...canaryMountOption, help: `snapshot: KV v1 mount of the canary (default ${DEFAULT_CANARY_MOUNT})` },
  {
    key: 'k8sNamespace',
    flag: '--k8s-namespace <ns>',
    help: 'namespace of the vault-ops service accounts (default vault-ops)',
    type: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'a Kubernetes namespace name' })
      .default('vault-ops'),
  },
  {
    key: 'k8sServiceAccount',
    flag: '--k8s-service-account <name>',
    help: "service account bound to the roles (default vault-ops-<job>, the chart's names)",
    type: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { message: 'a service account name' })
      .optional(),
  },
  {
    key: 'k8sAudience',
    flag: '--k8s-audience <aud>',
    help: 'audience of the projected service-account token (default vault)',
    type: z.string().min(1).default('vault'),
  },
  {
    key: 'k8sAuthMount',
    flag: '--k8s-auth-mount <path>',
    help: 'Kubernetes auth mount (default kubernetes)',
    type: mountPath().default('kubernetes'),
  },
  {
    key: 'jwtAudience',
    flag: '--jwt-audience <aud>',
    help: 'with --auth-method jwt: the audience the roles accept (default vault)',
    type: z.string().min(1).default('vault'),
  },
  {
    key: 'jwtSubject',
    flag: '--jwt-subject <sub>',
    help: "with --auth-method jwt: the subject the roles accept (bound_subject, e.g. a CI pipeline's)",
    type: z.string().min(1).optional(),
  },
  {
    key: 'clientCa',
    flag: '--client-ca <file>',
    help: "with --auth-method cert: PEM file of the CA that signs the clients' certificates (default client-ca.pem)",
    type: z.string().min(1).default('client-ca.pem'),
  },
] as const satisfies readonly OptionSpec[];

export const SetupPoliciesOptionsSchema = schemaOf(setupPoliciesOptions).superRefine((o, ctx) => {
  if (o.job === 'rotate-kv' && !o.policy) {
    ctx.addIssue({
      code: 'custom',
      path: ['policy'],
      message: 'required with --job rotate-kv: the rotation policy file (e.g. jobs/rotate-kv.yaml)',
    });
  }
  if (o.job === 'rotate-root' && (!o.mount || !o.connection)) {
    ctx.addIssue({
      code: 'custom',
      path: [o.mount ? 'connection' : 'mount'],
      message: 'required with --job rotate-root: --mount (database engine) and --connection',
    });
  }
  if ((o.mount === undefined) !== (o.connection === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['connection'], message: '--mount and --connection go together' });
  }
});
export type SetupPoliciesOptions = z.output<typeof SetupPoliciesOptionsSchema>;
export const setupPoliciesOptionSources = sourcesOf(setupPoliciesOptions);

/** `--dry-run` of the setup commands that create mounts: read, say, change nothing. */
const setupDryRunOption = {
  key: 'dryRun',
  flag: '--dry-run',
  help: 'say what would be created; change nothing',
  type: z.boolean().default(false),
  from: 'command-line',
} as const satisfies OptionSpec;

/** `setup canary`. */
export const setupCanaryOptions = [
  { ...canaryMountOption, help: `mount path (default ${DEFAULT_CANARY_MOUNT})` },
  setupDryRunOption,
] as const satisfies readonly OptionSpec[];
export const SetupCanaryOptionsSchema = schemaOf(setupCanaryOptions);

/** `setup staging`: the KV v2 mount rotate kv keeps pending values and locks in. */
export const setupStagingOptions = [
  { ...stagingMountOption, help: `mount path (default ${DEFAULT_STAGING_MOUNT})` },
  setupDryRunOption,
] as const satisfies readonly OptionSpec[];
export const SetupStagingOptionsSchema = schemaOf(setupStagingOptions);
export const setupStagingOptionSources = sourcesOf(setupStagingOptions);

/**
 * `setup all`: the mounts the chosen jobs need (canary, staging), then their policies and roles,
 * printed as `setup policies` prints them.
 */
export const setupAllOptions = [...setupPoliciesOptions, setupDryRunOption] as const satisfies readonly OptionSpec[];
export const SetupAllOptionsSchema = SetupPoliciesOptionsSchema.and(schemaOf([setupDryRunOption]));
export const setupAllOptionSources = sourcesOf(setupAllOptions);
export const setupCanaryOptionSources = sourcesOf(setupCanaryOptions);

/** `setup signing-key`: the key pair that signs a store's manifests and drill records. */
export const setupSigningKeyOptions = [
  {
    key: 'out',
    example: '/etc/vault-ops',
    flag: '--out <dir>',
    help: 'folder for vault-ops-signing.pem (private, 0600) and vault-ops-verify.pem (public)',
    type: z.string().min(1, 'required: the folder to write the key pair to'),
  },
] as const satisfies readonly OptionSpec[];
export const SetupSigningKeyOptionsSchema = schemaOf(setupSigningKeyOptions);
export const setupSigningKeyOptionSources = sourcesOf(setupSigningKeyOptions);
