import { VaultOpsError, isVaultOpsError } from '../../errors.js';
import type { VaultClient } from '../../vault/client.js';

/** The slice of the Vault client the runbook uses (tests pass a recording wrapper). */
export type VaultApi = Pick<VaultClient, 'read' | 'write' | 'list'>;

export interface ConnectionConfig {
  pluginName: string;
  pluginVersion: string;
  /** Without `password` (Vault never returns it). */
  connectionDetails: Record<string, unknown>;
  username: string;
  allowedRoles: string[];
  rootRotationStatements: number;
  passwordPolicy: string;
}

export interface DynamicRole {
  name: string;
  dbName: string;
}

export interface StaticRole {
  name: string;
  dbName: string;
  username: string;
  lastVaultRotation?: string;
}

export interface IssuedCredentials {
  leaseId: string;
  username: string;
  password: string;
}

/** What a capability check found per path. */
export type Capabilities = Record<string, string[]>;

/**
 * The database secrets engine at one mount, as the runbook needs it: typed reads, and the few
 * writes (issue/revoke credentials, reset, rotate-root, rotate-role, config password) with
 * errors that name what to do. Callers register every password this returns as a secret.
 */
export class DatabaseMount {
  constructor(
    readonly vault: VaultApi,
    readonly mount: string,
  ) {}

  path(...parts: string[]): string {
    return [this.mount, ...parts].join('/');
  }

  /** The connection's configuration; a clear error for an unknown mount or connection. */
  async readConnection(name: string): Promise<ConnectionConfig> {
    let body: { data?: Record<string, unknown> };
    try {
      body = await this.vault.read(this.path('config', name));
    } catch (err) {
      if (isVaultOpsError(err) && err.code === 'not-found') throw await this.explainMissing(name, err);
      throw err;
    }
    const data = body.data ?? {};
    const details = (data.connection_details ?? {}) as Record<string, unknown>;
    return {
      pluginName: String(data.plugin_name ?? ''),
      pluginVersion: String(data.plugin_version ?? ''),
      connectionDetails: details,
      username: typeof details.username === 'string' ? details.username : '',
      allowedRoles: Array.isArray(data.allowed_roles) ? data.allowed_roles.map(String) : [],
      rootRotationStatements: Array.isArray(data.root_credentials_rotate_statements)
        ? data.root_credentials_rotate_statements.length
        : 0,
      passwordPolicy: String(data.password_policy ?? ''),
    };
  }

  private async explainMissing(name: string, cause: unknown): Promise<VaultOpsError> {
    try {
      const names = await this.listNames('config');
      if (names.length > 0)
        return new VaultOpsError(
          'not-found',
          `connection ${name} does not exist on mount ${this.mount} (connections there: ${names.join(', ')}): check ` +
            `--connection`,
          { cause },
        );
    } catch (err) {
      if (isVaultOpsError(err) && err.code === 'vault-permission') {
        return new VaultOpsError(
          'not-found',
          `connection ${name} does not exist on mount ${this.mount}, or the mount is not a database secrets engine: ` +
            `check --mount and --connection`,
          { cause },
        );
      }
      return new VaultOpsError(
        'not-found',
        `mount ${this.mount} has no database connection ${name}: it is not a database secrets engine mount, or has ` +
          `no connections (check --mount with 'vault secrets list')`,
        { cause },
      );
    }
    return new VaultOpsError(
      'not-found',
      `mount ${this.mount} has no database connection ${name}: it is not a database secrets engine mount, or has no ` +
        `connections (check --mount with 'vault secrets list')`,
      { cause },
    );
  }

  /** Names under a LIST path; an empty list when Vault answers 404 (nothing there). */
  async listNames(sub: string): Promise<string[]> {
    try {
      const body = await this.vault.list<{ data?: { keys?: unknown } }>(this.path(sub));
      return Array.isArray(body.data?.keys) ? body.data.keys.map(String) : [];
    } catch (err) {
      if (isVaultOpsError(err) && err.code === 'not-found') return [];
      throw err;
    }
  }

  async dynamicRoles(): Promise<DynamicRole[]> {
    const roles: DynamicRole[] = [];
    for (const name of await this.listNames('roles')) {
      const body = await this.vault.read<{ data?: { db_name?: string } }>(this.path('roles', name));
      roles.push({ name, dbName: String(body.data?.db_name ?? '') });
    }
    return roles;
  }

  /**
   * The dynamic roles of connection `name` (their db_name), split by whether the connection's
   * allowed_roles lets them issue credentials. The runbook checks the allowed ones; the policy
   * (policy.ts) lets it revoke leases of exactly those.
   */
  async connectionDynamicRoles(
    name: string,
    allowedRoles: readonly string[],
  ): Promise<{ allowed: string[]; notAllowed: string[] }> {
    const mine = (await this.dynamicRoles()).filter((r) => r.dbName === name).map((r) => r.name);
    return {
      allowed: mine.filter((r) => roleAllowed(allowedRoles, r)),
      notAllowed: mine.filter((r) => !roleAllowed(allowedRoles, r)),
    };
  }

  async staticRoles(): Promise<StaticRole[]> {
    const roles: StaticRole[] = [];
    for (const name of await this.listNames('static-roles')) {
      const body = await this.vault.read<{
        data?: { db_name?: string; username?: string; last_vault_rotation?: string };
      }>(this.path('static-roles', name));
      roles.push({
        name,
        dbName: String(body.data?.db_name ?? ''),
        username: String(body.data?.username ?? ''),
        ...(body.data?.last_vault_rotation ? { lastVaultRotation: body.data.last_vault_rotation } : {}),
      });
    }
    return roles;
  }

  async issueCredentials(role: string): Promise<IssuedCredentials> {
    const body = await this.vault.read<{ lease_id?: string; data?: { username?: string; password?: string } }>(
      this.path('creds', role),
    );
    const username = body.data?.username;
    const password = body.data?.password;
    if (!username || !password || !body.lease_id)
      throw new VaultOpsError(
        'vault-request',
        `Vault issued no username/password for ${this.path('creds', role)}: is it a password-type role?`,
      );
    return { leaseId: body.lease_id, username, password };
  }

  async staticCredentials(role: string): Promise<{ username: string; password: string }> {
    const body = await this.vault.read<{ data?: { username?: string; password?: string } }>(
      this.path('static-creds', role),
    );
    const username = body.data?.username;
    const password = body.data?.password;
    if (!username || !password)
      throw new VaultOpsError(
        'vault-request',
        `Vault returned no username/password for ${this.path('static-creds', role)}`,
      );
    return { username, password };
  }

  /**
   * The revoke path of a role's leases: `sys/leases/revoke/<mount>/creds/<role>/` (the lease id is
   * `<mount>/creds/<role>/<id>`). The runbook's policy grants update on exactly these, with `/*`.
   */
  leaseRevokePrefix(role: string): string {
    return `sys/leases/revoke/${this.path('creds', role)}/`;
  }

  /**
   * Revoke one lease this mount issued, by the path form `PUT sys/leases/revoke/<lease_id>` (on
   * Vault and OpenBao alike): a policy can then scope revocation to this connection's roles,
   * which the body form (`sys/leases/revoke` with `lease_id`) cannot. No body: both servers would
   * prefer a body `lease_id` over the path, and the policy denies that parameter.
   */
  async revokeLease(leaseId: string): Promise<void> {
    const prefix = `${this.path('creds')}/`;
    if (!leaseId.startsWith(prefix) || leaseId.split('/').includes('..')) {
      throw new VaultOpsError('internal', `refusing to revoke lease ${leaseId}: not a lease of ${prefix}`);
    }
    await this.vault.write(`sys/leases/revoke/${leaseId}`, {});
  }

  /**
   * Re-open Vault's connection with a connection check (`POST reset/:name`). Vault keeps pooled
   * sessions open, so issuing credentials can still succeed after the root password was changed
   * out of band; only a fresh connection tells. Changes no stored configuration.
   */
  async probeConnection(name: string): Promise<{ healthy: true } | { healthy: false; reason: string }> {
    try {
      await this.vault.write(this.path('reset', name), {});
      return { healthy: true };
    } catch (err) {
      if (isVaultOpsError(err) && (err.code === 'vault-request' || err.code === 'not-found'))
        return { healthy: false, reason: vaultDetail(err.message) };
      throw err;
    }
  }

  async rotateRoot(name: string): Promise<void> {
    await this.vault.write(this.path('rotate-root', name), {});
  }

  async rotateStaticRole(name: string): Promise<void> {
    await this.vault.write(this.path('rotate-role', name), {});
  }

  /** Store a new root password (update: the other settings stay); Vault refuses it if it cannot log in. */
  async writeRootPassword(name: string, password: string): Promise<void> {
    await this.vault.write(this.path('config', name), { password, verify_connection: true });
  }

  /** Lease ids under `<mount>/creds/`, or undefined when the token may not list them (needs sudo). */
  async leaseCount(): Promise<number | undefined> {
    const lookup = `sys/leases/lookup/${this.mount}/creds/`;
    const list = async (path: string): Promise<string[]> => {
      try {
        const body = await this.vault.list<{ data?: { keys?: unknown } }>(path);
        return Array.isArray(body.data?.keys) ? body.data.keys.map(String) : [];
      } catch (err) {
        if (isVaultOpsError(err) && err.code === 'not-found') return [];
        throw err;
      }
    };
    try {
      let count = 0;
      for (const key of await list(lookup)) {
        if (key.endsWith('/')) count += (await list(`${lookup}${key}`)).filter((k) => !k.endsWith('/')).length;
        else count++;
      }
      return count;
    } catch (err) {
      if (isVaultOpsError(err) && err.code === 'vault-permission') return undefined;
      throw err;
    }
  }

  /** The token's capabilities on each path (`sys/capabilities-self`, in the default policy). */
  async capabilities(paths: string[]): Promise<Capabilities | undefined> {
    if (paths.length === 0) return {};
    try {
      const body = await this.vault.write<{ data?: Record<string, unknown> } & Record<string, unknown>>(
        'sys/capabilities-self',
        { paths },
      );
      const source = (body.data ?? body) as Record<string, unknown>;
      const out: Capabilities = {};
      for (const p of paths) out[p] = Array.isArray(source[p]) ? (source[p] as unknown[]).map(String) : [];
      return out;
    } catch (err) {
      if (isVaultOpsError(err) && (err.code === 'vault-permission' || err.code === 'not-found')) return undefined;
      throw err;
    }
  }
}

/** Whether a connection's allowed_roles (exact names, `*`, or a trailing `*` glob) lets `role` issue credentials. */
export function roleAllowed(allowedRoles: readonly string[], role: string): boolean {
  return allowedRoles.some((a) => a === '*' || a === role || (a.endsWith('*') && role.startsWith(a.slice(0, -1))));
}

/** Whether `caps` grants every capability in `need` ('root' grants all). */
export function grants(caps: string[] | undefined, need: readonly string[]): boolean {
  if (!caps) return false;
  if (caps.includes('root')) return true;
  if (caps.includes('deny')) return false;
  return need.every((c) => caps.includes(c));
}

/** The server's own words from a client error message ("Vault answered 500 to POST x: <detail>"). */
export function vaultDetail(message: string): string {
  const detail = message
    .replace(/^Vault answered \d+ to \S+ \S+: /, '')
    .replace(/^1 error occurred:\s*\*\s*/, '')
    .replace(/\s+/g, ' ')
    .trim();
  return detail.length > 300 ? `${detail.slice(0, 300)}…` : detail;
}
