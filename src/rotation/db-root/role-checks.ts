import { VaultOpsError, isVaultOpsError } from '../../errors.js';
import type { RotateRootDeps } from './deps.js';
import type { LoginEndpoint, DatabaseLoginCheck } from './login-check.js';

export interface LoginTarget {
  check: DatabaseLoginCheck;
  endpoint: LoginEndpoint;
}

export interface RoleCheck {
  role: string;
  /** The database user checked (generated names of dynamic roles are not secret). */
  user?: string;
  outcome: 'ok' | 'failed' | 'unsupported';
  detail: string;
}

/** The login check for the connection's plugin and where it connects (`--login-check-address` overrides). */
export function loginTarget(
  deps: RotateRootDeps,
  pluginName: string,
  details: Record<string, unknown>,
): LoginTarget | undefined {
  const check = deps.loginChecks.find((c) => c.supports(pluginName));
  if (!check) return undefined;
  let endpoint = check.endpoint(details);
  const override = deps.options.loginCheckAddress;
  if (override) {
    const at = override.lastIndexOf(':');
    // verify-full still checks the certificate against the connection_url's host (a port-forward's certificate is the
    // database's).
    endpoint = {
      ...endpoint,
      host: override.slice(0, at).replace(/^\[|\]$/g, ''),
      port: Number(override.slice(at + 1)),
      tlsServerName: endpoint.tlsServerName ?? endpoint.host,
    };
  }
  return { check, endpoint };
}

/**
 * For each dynamic role: issue credentials, prove they log in, revoke them (always, even when the
 * login fails). Passwords are registered as secrets the moment they arrive.
 */
export async function checkDynamicRoles(
  deps: RotateRootDeps,
  roles: readonly string[],
  target: LoginTarget | undefined,
  note: (line: string) => void,
  signal?: AbortSignal,
): Promise<RoleCheck[]> {
  const results: RoleCheck[] = [];
  for (const role of roles) {
    let issued;
    try {
      issued = await deps.db.issueCredentials(role);
    } catch (err) {
      results.push({
        role,
        outcome: 'failed',
        detail: `Vault could not issue credentials (${isVaultOpsError(err) ? err.message : String(err)})`,
      });
      continue;
    }
    deps.secrets.add(issued.password);
    try {
      if (!target) {
        results.push({
          role,
          user: issued.username,
          outcome: 'unsupported',
          detail: 'issued and revoked; no login check for this plugin',
        });
      } else {
        const result = await target.check.check(
          target.endpoint,
          { username: issued.username, password: issued.password },
          signal,
        );
        if (result.outcome === 'ok')
          results.push({ role, user: issued.username, outcome: 'ok', detail: result.detail });
        else results.push({ role, user: issued.username, outcome: result.outcome, detail: result.reason });
      }
    } finally {
      try {
        await deps.db.revokeLease(issued.leaseId);
      } catch (err) {
        note(
          `could not revoke the check's lease for role ${role} ` +
            `(${isVaultOpsError(err) ? err.message : String(err)}): it expires with its TTL`,
        );
      }
    }
    const last = results.at(-1)!;
    note(`dynamic role ${role}: ${last.outcome === 'ok' ? 'OK' : last.outcome.toUpperCase()} (${last.detail})`);
  }
  return results;
}

/** Throw a 'verification' error naming every failed check. */
export function requireAllOk(results: readonly RoleCheck[], what: string, advice: string): void {
  const failed = results.filter((r) => r.outcome === 'failed');
  if (failed.length === 0) return;
  throw new VaultOpsError(
    'verification',
    `${what}: ${failed.map((r) => `${r.role}: ${r.detail}`).join('; ')}; ${advice}`,
  );
}

/** For each static role: read its current credentials and prove they log in (a read: nothing rotates). */
export async function checkStaticRoles(
  deps: RotateRootDeps,
  roles: readonly string[],
  target: LoginTarget | undefined,
  note: (line: string) => void,
): Promise<RoleCheck[]> {
  const results: RoleCheck[] = [];
  for (const role of roles) {
    let creds;
    try {
      creds = await deps.db.staticCredentials(role);
    } catch (err) {
      results.push({
        role,
        outcome: 'failed',
        detail: `could not read static credentials (${isVaultOpsError(err) ? err.message : String(err)})`,
      });
      continue;
    }
    deps.secrets.add(creds.password);
    if (!target) {
      results.push({ role, user: creds.username, outcome: 'unsupported', detail: 'no login check for this plugin' });
    } else {
      const result = await target.check.check(target.endpoint, creds);
      results.push(
        result.outcome === 'ok'
          ? { role, user: creds.username, outcome: 'ok', detail: result.detail }
          : { role, user: creds.username, outcome: result.outcome, detail: result.reason },
      );
    }
    const last = results.at(-1)!;
    note(`static role ${role}: ${last.outcome === 'ok' ? 'OK' : last.outcome.toUpperCase()} (${last.detail})`);
  }
  return results;
}

export function summarise(results: readonly RoleCheck[]): string {
  if (results.length === 0) return 'none';
  return results.map((r) => `${r.role} ${r.outcome}`).join(', ');
}
