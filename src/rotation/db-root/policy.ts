import { VaultOpsError, isVaultOpsError } from '../../errors.js';
import { DatabaseMount, type VaultApi } from './database-mount.js';

export interface RotateRootPolicyOptions {
  /**
   * The connection's dynamic roles, as the runbook checks them (db_name is the connection and
   * allowed_roles admits them; `connectionPolicyRoles` reads them). Lease revocation is granted
   * for exactly these.
   */
  dynamicRoles: readonly string[];
  /** Add the optional sudo block that lets the preflight count leases. */
  leaseCount?: boolean;
}

interface Rule {
  path: string;
  capabilities: string[];
  why: string;
  /** Parameters the request may not carry at all (`denied_parameters = { "x" = [] }`). */
  deniedParameters?: string[];
}

/**
 * The least-privilege Vault policy `runbook rotate-root` needs for one connection (HCL). The
 * README shows its output for `database`/`pg` with dynamic role `app`; `setup policies` prints
 * it. The lease count needs sudo on sys/leases/lookup and is optional (the runbook says it
 * skipped it).
 *
 * Lease revocation uses the path form `sys/leases/revoke/<mount>/creds/<role>/<id>`, granted per
 * role of the connection with `/*`, never `sys/leases/revoke` itself (its body form revokes any
 * lease on the server). Both Vault and OpenBao take a `lease_id` in the body before the one in the
 * path, so the policy also denies that parameter: otherwise the granted path could carry another
 * mount's lease id in its body.
 */
export function rotateRootPolicy(mount: string, connection: string, options: RotateRootPolicyOptions): string {
  const m = mount.replace(/^\/+|\/+$/g, '');
  const rules: Rule[] = [
    {
      path: `${m}/config/${connection}`,
      capabilities: ['read', 'update'],
      why: 'read the connection; update only for re-bootstrap (verify_connection on)',
    },
    { path: `${m}/config/`, capabilities: ['list'], why: 'name the connections when --connection is wrong' },
    { path: `${m}/roles/*`, capabilities: ['read', 'list'], why: 'dynamic roles of the connection' },
    {
      path: `${m}/static-roles/*`,
      capabilities: ['read', 'list'],
      why: 'static roles of the connection (refuse one on the root user)',
    },
    { path: `${m}/creds/*`, capabilities: ['read'], why: 'issue check credentials' },
    { path: `${m}/static-creds/*`, capabilities: ['read'], why: 'optional: prove static roles still log in' },
    { path: `${m}/reset/${connection}`, capabilities: ['update'], why: 'connection probe and re-bootstrap' },
    { path: `${m}/rotate-root/${connection}`, capabilities: ['update'], why: 'the rotation' },
    { path: `${m}/rotate-role/*`, capabilities: ['update'], why: 'only for --canary-static-role' },
  ];
  const roles = [...new Set(options.dynamicRoles)].sort();
  for (const role of roles) {
    rules.push({
      path: `sys/leases/revoke/${m}/creds/${role}/*`,
      capabilities: ['update'],
      why: `revoke the check credentials of role ${role} at once (lease_id only in the path)`,
      deniedParameters: ['lease_id'],
    });
  }
  rules.push({
    path: 'sys/capabilities-self',
    capabilities: ['update'],
    why: 'preflight capability check (also in the default policy)',
  });
  if (options.leaseCount)
    rules.push({
      path: `sys/leases/lookup/${m}/creds/*`,
      capabilities: ['list', 'sudo'],
      why: 'optional: count leases (needs sudo)',
    });
  const blocks = rules.map(renderRule);
  if (roles.length === 0) {
    blocks.splice(
      blocks.length - (options.leaseCount ? 2 : 1),
      0,
      `# no dynamic role uses connection ${connection}: no lease revocation is granted (regenerate this policy when ` +
        `one is added)`,
    );
  }
  return `${blocks.join('\n\n')}\n`;
}

function renderRule(r: Rule): string {
  const lines = [
    `# ${r.why}`,
    `path "${r.path}" {`,
    `  capabilities = [${r.capabilities.map((c) => `"${c}"`).join(', ')}]`,
  ];
  if (r.deniedParameters?.length) {
    lines.push('  denied_parameters = {', ...r.deniedParameters.map((p) => `    "${p}" = []`), '  }');
  }
  lines.push('}');
  return lines.join('\n');
}

/**
 * The dynamic roles the runbook will check for `connection` (what `rotateRootPolicy` needs), read
 * from the server with the caller's (an administrator's) token: read on `<mount>/config/<connection>`,
 * list and read on `<mount>/roles/`.
 */
export async function connectionPolicyRoles(vault: VaultApi, mount: string, connection: string): Promise<string[]> {
  const db = new DatabaseMount(vault, mount.replace(/^\/+|\/+$/g, ''));
  try {
    const config = await db.readConnection(connection);
    return (await db.connectionDynamicRoles(connection, config.allowedRoles)).allowed;
  } catch (err) {
    if (isVaultOpsError(err) && err.code === 'vault-permission') {
      throw new VaultOpsError(
        'vault-permission',
        `the rotate-root policy names each dynamic role of ${db.path('config', connection)}, but this token may not ` +
          `read the connection or list/read ${db.path('roles')}/: run setup policies with an administrator's token`,
        { cause: err },
      );
    }
    throw err;
  }
}
