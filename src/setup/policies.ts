import { shellArg } from '../errors.js';
import { rotateRootPolicy } from '../rotation/db-root/policy.js';
import type { RotationPolicy } from '../rotation/kv/index.js';
import { DEFAULT_STAGING_MOUNT, lockPath, revokeRecordPath, stagingPath } from '../rotation/kv/paths.js';
import { DEFAULT_CANARY_MOUNT, CANARY_PATH } from '../snapshot/canary.js';
import { SETUP_JOBS } from '../options/setup.js';
import { loginRole, type LoginRole, type LoginRoleOptions } from './login-roles.js';

export type { LoginRole, LoginRoleOptions } from './login-roles.js';

/**
 * Least-privilege Vault policies (HCL) for each vault-ops job, and the Kubernetes auth roles that
 * hand them out. Pure text builders: `vault-ops setup policies` prints them, the integration tests
 * apply them to OpenBao and prove each job works with its policy alone.
 */

export { SETUP_JOBS };
export type SetupJob = (typeof SETUP_JOBS)[number];

export interface PolicyRule {
  path: string;
  capabilities: string[];
  /** Why the job needs it (printed as a comment above the rule). */
  why: string;
}

export interface KubernetesRole {
  /** `auth/<mount>/role/<name>` */
  path: string;
  name: string;
  params: {
    bound_service_account_names: string;
    bound_service_account_namespaces: string;
    audience: string;
    token_policies: string;
    token_ttl: string;
    token_max_ttl: string;
  };
}

export interface JobPolicy {
  job: SetupJob;
  /** Policy name (`vault-ops-<job>`), or undefined when the job needs no Vault access. */
  name?: string;
  /** The HCL text; for a job without Vault access, a comment saying so. */
  hcl: string;
  notes: string[];
  kubernetesRole?: KubernetesRole;
  /** With another login method than Kubernetes (--auth-method jwt|cert|ldap|userpass): its role instead. */
  loginRole?: LoginRole;
}

export interface KubernetesRoleOptions {
  /** Auth mount (default kubernetes). */
  mount: string;
  namespace: string;
  /** Service account; default `vault-ops-<job>` (the chart's names for a release called vault-ops). */
  serviceAccount?: string;
  /** Audience of the projected service-account token (the chart's `vault.auth.audience`). */
  audience: string;
}

/** Render rules as HCL, one commented block each. */
export function renderHcl(rules: readonly PolicyRule[], header?: string): string {
  const blocks = rules.map(
    (r) => `# ${r.why}\npath "${r.path}" {\n  capabilities = [${r.capabilities.map((c) => `"${c}"`).join(', ')}]\n}`,
  );
  return `${
    header
      ? `${header
          .split('\n')
          .map((l) => `# ${l}`.trimEnd())
          .join('\n')}\n\n`
      : ''
  }${blocks.join('\n\n')}\n`;
}

const trimMount = (m: string) => m.replace(/^\/+|\/+$/g, '');

/**
 * `snapshot save`: the snapshot itself (read, not sudo), the cluster facts the manifest records
 * (mount and auth tables, policy names); seal status and leader are unauthenticated. With the
 * canary, write access to that one KV v1 key.
 */
export function snapshotPolicyRules(options: { canaryMount?: string | false } = {}): PolicyRule[] {
  const rules: PolicyRule[] = [
    { path: 'sys/storage/raft/snapshot', capabilities: ['read'], why: 'stream the Raft snapshot (from the leader)' },
    { path: 'sys/mounts', capabilities: ['read'], why: 'manifest: the secrets engine mounts' },
    { path: 'sys/auth', capabilities: ['read'], why: 'manifest: the auth methods' },
    { path: 'sys/policies/acl', capabilities: ['list'], why: 'manifest: the policy names' },
  ];
  const canary = options.canaryMount === undefined ? DEFAULT_CANARY_MOUNT : options.canaryMount;
  if (canary)
    rules.push({
      path: `${trimMount(canary)}/${CANARY_PATH}`,
      capabilities: ['create', 'update'],
      why: 'snapshot save --canary: the restore-drill canary (KV v1; vault-ops setup canary creates the mount)',
    });
  return rules;
}

/**
 * `rotate kv` for one policy file: per secret its exact metadata and data paths; its lock and
 * pending value in the staging mount (and reading the live value) only for secrets with hooks —
 * a hook-less rotation takes no lock, so a policy file without hooks grants nothing on the staging
 * mount; password policies only where a key uses one. Mount checks use sys/internal/ui/mounts,
 * which any capability under the mount grants.
 */
export function rotateKvPolicyRules(policy: RotationPolicy, options: { stagingMount?: string } = {}): PolicyRule[] {
  const staging = trimMount(options.stagingMount ?? DEFAULT_STAGING_MOUNT);
  const rules: PolicyRule[] = [];
  const passwordPolicies = new Set<string>();
  for (const s of policy.secrets) {
    const hooks = s.hooks !== undefined;
    rules.push({
      path: `${s.mount}/metadata/${s.path}`,
      capabilities: ['read', 'patch'],
      why: `${s.id}: plan (read metadata) and record the rotation state (patch custom_metadata)`,
    });
    rules.push({
      path: `${s.mount}/data/${s.path}`,
      capabilities: hooks ? ['read', 'patch'] : ['patch'],
      why: hooks
        ? `${s.id}: write the new value (patch with check-and-set); read the previous value for the hooks`
        : `${s.id}: write the new value (patch with check-and-set); never reads it`,
    });
    if (hooks) {
      rules.push({
        path: `${staging}/data/${lockPath(s.mount, s.path)}`,
        capabilities: ['create', 'read', 'update'],
        why: `${s.id}: the rotation lock (create-only, extended while the run lives)`,
      });
      rules.push({
        path: `${staging}/metadata/${lockPath(s.mount, s.path)}`,
        capabilities: ['read', 'delete'],
        why: `${s.id}: release the lock; read its version to replace an entry that reads empty (check-and-set)`,
      });
      rules.push({
        path: `${staging}/data/${stagingPath(s.mount, s.path)}`,
        capabilities: ['create', 'read', 'update'],
        why: `${s.id}: the pending value while the hooks run`,
      });
      rules.push({
        path: `${staging}/metadata/${stagingPath(s.mount, s.path)}`,
        capabilities: ['delete'],
        why: `${s.id}: delete the pending value after the rotation`,
      });
      if (s.hooks?.revoke)
        rules.push({
          path: `${staging}/data/${revokeRecordPath(s.mount, s.path)}`,
          capabilities: ['create', 'read', 'update'],
          why: `${s.id}: the rotation's own record of the value to revoke (the metadata's copy is only shown)`,
        });
    }
    for (const k of s.keys) if (k.generator.kind === 'passwordPolicy') passwordPolicies.add(k.generator.policy);
  }
  for (const p of [...passwordPolicies].sort())
    rules.push({
      path: `sys/policies/password/${p}/generate`,
      capabilities: ['read'],
      why: `generate values with the password policy ${p}`,
    });
  return rules;
}

/** Role TTLs: short, renewed by vault-ops while a long run lives. */
const ROLE_TTLS: Record<Exclude<SetupJob, 'verify'>, { ttl: string; max: string }> = {
  snapshot: { ttl: '10m', max: '1h' },
  'rotate-kv': { ttl: '10m', max: '1h' },
  'rotate-root': { ttl: '15m', max: '1h' },
};

export function kubernetesRole(
  job: Exclude<SetupJob, 'verify'>,
  policyName: string,
  k8s: KubernetesRoleOptions,
): KubernetesRole {
  const name = `vault-ops-${job}`;
  const ttl = ROLE_TTLS[job];
  return {
    path: `auth/${trimMount(k8s.mount)}/role/${name}`,
    name,
    params: {
      bound_service_account_names: k8s.serviceAccount ?? `vault-ops-${job}`,
      bound_service_account_namespaces: k8s.namespace,
      audience: k8s.audience,
      token_policies: policyName,
      token_ttl: ttl.ttl,
      token_max_ttl: ttl.max,
    },
  };
}

export interface BuildPoliciesOptions {
  jobs: readonly SetupJob[];
  canaryMount?: string | false;
  /** rotate-kv: the parsed policy file. */
  rotation?: RotationPolicy;
  stagingMount?: string;
  /**
   * rotate-root: database mount, connection, and the connection's dynamic roles (lease revocation is
   * granted for exactly these; `connectionPolicyRoles` reads them from the server).
   */
  database?: { mount: string; connection: string; dynamicRoles: readonly string[]; leaseCount?: boolean };
  kubernetes: KubernetesRoleOptions;
  /** Set: the roles are for this login method, not Kubernetes. */
  login?: LoginRoleOptions;
}

/** The job's role for the chosen login method: Kubernetes' (the chart's), or the other method's. */
function roleOf(
  job: Exclude<SetupJob, 'verify'>,
  policyName: string,
  options: BuildPoliciesOptions,
): Pick<JobPolicy, 'kubernetesRole' | 'loginRole'> {
  if (options.login) return { loginRole: loginRole(job, policyName, ROLE_TTLS[job], options.login) };
  return { kubernetesRole: kubernetesRole(job, policyName, options.kubernetes) };
}

/**
 * The policy (and role) of each requested job. A job missing its input (rotate-kv's policy file, rotate-root's
 * connection) is skipped with a note.
 */
export function buildJobPolicies(options: BuildPoliciesOptions): JobPolicy[] {
  const out: JobPolicy[] = [];
  for (const job of options.jobs) {
    const name = `vault-ops-${job}`;
    switch (job) {
      case 'snapshot': {
        const hcl = renderHcl(
          snapshotPolicyRules({ canaryMount: options.canaryMount ?? DEFAULT_CANARY_MOUNT }),
          'vault-ops snapshot save (the snapshot job). Also covers rotate kv --snapshot-after.',
        );
        out.push({
          job,
          name,
          hcl,
          notes: [
            'sys/seal-status and sys/leader are read unauthenticated; auth/token/lookup-self and renew-self come ' +
              'from the default policy',
          ],
          ...roleOf(job, name, options),
        });
        break;
      }
      case 'verify':
        out.push({
          job,
          hcl:
            '# vault-ops verify (the restore drill) needs NO Vault policy and no Vault token: it restores into\n# ' +
            "its own scratch server. It needs read access to the store and the source cluster's unseal keys.\n",
          notes: ['no Vault role: the verify pod talks to the store and DNS only'],
        });
        break;
      case 'rotate-kv': {
        if (!options.rotation) {
          out.push({
            job,
            hcl: '# rotate-kv: pass --policy FILE (the rotation policy) to generate its Vault policy\n',
            notes: ['skipped: no --policy file'],
          });
          break;
        }
        const hcl = renderHcl(
          rotateKvPolicyRules(options.rotation, options.stagingMount ? { stagingMount: options.stagingMount } : {}),
          `vault-ops rotate kv --policy ${shellArg(options.rotation.file)}`,
        );
        out.push({
          job,
          name,
          hcl,
          notes: [
            'regenerate when the policy file changes; applications keep their own read policy and never get the ' +
              'staging mount',
          ],
          ...roleOf(job, name, options),
        });
        break;
      }
      case 'rotate-root': {
        if (!options.database) {
          out.push({
            job,
            hcl: '# rotate-root: pass --mount M --connection NAME to generate its Vault policy\n',
            notes: ['skipped: no --mount/--connection'],
          });
          break;
        }
        const { mount, connection, dynamicRoles, leaseCount } = options.database;
        const policy = rotateRootPolicy(mount, connection, { dynamicRoles, ...(leaseCount ? { leaseCount } : {}) });
        const hcl = `# vault-ops runbook rotate-root --mount ${mount} --connection ${connection}\n\n${policy}`;
        const notes = [
          'an operator runbook, normally run by a person; the role is for running it from a pod',
          `lease revocation is granted per dynamic role of the connection ` +
            `(${dynamicRoles.length ? [...dynamicRoles].sort().join(', ') : 'none'}): regenerate this policy when ` +
            `its roles change`,
        ];
        out.push({
          job,
          name: `vault-ops-rotate-root-${connection}`,
          hcl,
          notes,
          ...roleOf(job, `vault-ops-rotate-root-${connection}`, options),
        });
        break;
      }
    }
  }
  return out;
}

/** Shell commands that install a policy and its role with the vault (or bao) CLI. */
export function installCommands(p: JobPolicy, cli = 'vault'): string[] {
  if (!p.name) return [];
  const lines = [`${cli} policy write ${p.name} - <<'EOF'`, p.hcl.trimEnd(), 'EOF'];
  if (p.kubernetesRole) lines.push(...writeCommand(cli, p.kubernetesRole.path, p.kubernetesRole.params));
  if (p.loginRole) {
    for (const note of p.loginRole.notes) lines.push(`# ${note}`);
    lines.push(...writeCommand(cli, p.loginRole.path, p.loginRole.params));
  }
  return lines;
}

/** `vault write PATH \` and one `key=value` line per parameter. */
function writeCommand(cli: string, path: string, params: Record<string, string>): string[] {
  const entries = Object.entries(params);
  return [
    `${cli} write ${path} \\`,
    ...entries.map(([k, v], i) => `    ${k}=${shellWord(v)}${i < entries.length - 1 ? ' \\' : ''}`),
  ];
}

function shellWord(v: string): string {
  return /^[A-Za-z0-9_.,:/@=-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}
