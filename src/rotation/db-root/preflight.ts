import { VaultOpsError, isVaultOpsError, shellArg } from '../../errors.js';
import type { RunbookStep, StepContext, StepFacts, StepPlan } from '../../runbook/types.js';
import { grants } from './database-mount.js';
import type { RotateRootDeps } from './deps.js';
import { tcpReachable } from './login-check.js';
import { loginTarget, type LoginTarget } from './role-checks.js';

/**
 * Step 1 of the rotate-root runbook, read-only: what the connection, its roles and the token's
 * capabilities look like, and which path (rotate or re-bootstrap) the run takes. Its facts are
 * journaled and read back by every later step through `preflightFacts`.
 */

type Ctx = StepContext<RotateRootDeps>;
type Step = RunbookStep<RotateRootDeps>;

/** Usernames that look like a database's built-in or a person's shared admin account. */
export const sharedRootNames = ['postgres', 'root', 'admin', 'sa'] as const;

/** What preflight found; journaled, and read back by every later step (also after --resume). */
export interface PreflightFacts extends StepFacts {
  plugin: string;
  username: string;
  allowedRoles: string[];
  dynamicRoles: string[];
  dynamicRolesNotAllowed: string[];
  staticRoles: string[];
  canaries: string[];
  leaseCount: number | null;
  sharedHumanRoot: boolean;
  connectionHealthy: boolean | null;
  connectionProblem: string | null;
  path: 'rotate' | 'rebootstrap';
  loginCheck: string | null;
  /**
   * How the login checks reach the database ("over TLSv1.3 (…)", "in plain text (sslmode=disable)"), or null when none
   * run.
   */
  loginTransport: string | null;
  staticCredsReadable: boolean;
}

export function preflightFacts(ctx: Ctx): PreflightFacts {
  const facts = ctx.facts.get('preflight');
  if (!facts || typeof facts.path !== 'string')
    throw new VaultOpsError('internal', 'preflight facts are missing: run the runbook from the start');
  return facts as PreflightFacts;
}

export async function target(ctx: Ctx): Promise<LoginTarget | undefined> {
  const config = await ctx.deps.db.readConnection(ctx.deps.options.connection);
  return loginTarget(ctx.deps, config.pluginName, config.connectionDetails);
}

export const where = (ctx: Ctx) => `${ctx.deps.options.mount}/config/${ctx.deps.options.connection}`;

// ── 1. preflight ────────────────────────────────────────────────────────────────────────────

async function inspectPreflight(ctx: Ctx): Promise<StepPlan> {
  const { db, options } = ctx.deps;
  const name = options.connection;
  const lines: string[] = [];
  const warnings: string[] = [];

  // Capabilities first, so that a token without them fails with one list instead of one 403.
  const required: Record<string, string[]> = {
    [db.path('config', name)]: ['read'],
    [`${db.path('roles')}/`]: ['list'],
    [`${db.path('static-roles')}/`]: ['list'],
    [db.path('reset', name)]: ['update'],
    [db.path('rotate-root', name)]: ['update'],
  };
  const leasePath = `sys/leases/lookup/${options.mount}/creds/`;
  const caps = await db.capabilities([...Object.keys(required), leasePath, db.path('config', name)]);
  if (caps) {
    const missing = Object.entries(required)
      .filter(([p, need]) => !grants(caps[p], need))
      .map(([p, need]) => `${need.join('+')} on ${p}`);
    if (missing.length > 0) throw permissionError(missing, options);
  } else {
    lines.push('capabilities: could not ask sys/capabilities-self; missing capabilities will show as errors');
  }

  const config = await db.readConnection(name);
  lines.push(
    `connection ${where(ctx)}: plugin ${config.pluginName}${config.pluginVersion ? ` ${config.pluginVersion}` : ''}, ` +
      `username ${config.username || '(none)'}, allowed roles ${config.allowedRoles.join(', ') || '(none)'}`,
  );
  lines.push(
    'verify_connection: Vault does not store it; this runbook writes with verify_connection=true and probes with ' +
      'reset/',
  );
  if (!config.username)
    throw new VaultOpsError(
      'verification',
      `connection ${where(ctx)} has no username in its connection details: rotate-root needs username and password ` +
        `(not credentials inside connection_url); re-write the config with a templated connection_url`,
    );
  if (/:\/\/[^{/@]+:[^{/@]+@/.test(String(config.connectionDetails.connection_url ?? ''))) {
    warnings.push(
      'connection_url holds literal credentials: rotate-root cannot change those; use {{username}}/{{password}} ' +
        'templates',
    );
  }

  const { allowed: dynamicRoles, notAllowed } = await db.connectionDynamicRoles(name, config.allowedRoles);
  const unchecked = notAllowed.length ? ` (not in allowed_roles, not checked: ${notAllowed.join(', ')})` : '';
  lines.push(`dynamic roles: ${dynamicRoles.join(', ') || 'none'}${unchecked}`);
  if (dynamicRoles.length === 0)
    warnings.push('no dynamic role uses this connection: only the connection probe (reset/) proves the root works');

  const statics = (await db.staticRoles()).filter((r) => r.dbName === name);
  lines.push(`static roles: ${statics.map((r) => `${r.name} (user ${r.username})`).join(', ') || 'none'}`);
  const clash = statics.filter((r) => r.username === config.username);
  if (clash.length > 0) {
    throw new VaultOpsError(
      'verification',
      `refusing: static role ${clash.map((r) => r.name).join(', ')} manages ${config.username}, the connection's ` +
        `root user; Vault warns never to do that (the static rotation and rotate-root fight over one password). Give ` +
        `the connection its own admin user, or delete the static role, then run again`,
    );
  }
  for (const canary of options.canaryStaticRole) {
    if (!statics.some((r) => r.name === canary))
      throw new VaultOpsError(
        'usage',
        `--canary-static-role ${canary}: no static role of that name uses connection ${name} (static roles: ` +
          `${statics.map((r) => r.name).join(', ') || 'none'})`,
      );
  }

  // Phase two of the capability check, now that the roles are known.
  const rolePaths: Record<string, string[]> = {};
  for (const r of dynamicRoles) {
    rolePaths[db.path('creds', r)] = ['read'];
    // Revoking the check credentials at once: the policy names each role of the connection.
    rolePaths[db.leaseRevokePrefix(r)] = ['update'];
  }
  for (const c of options.canaryStaticRole) {
    rolePaths[db.path('rotate-role', c)] = ['update'];
    rolePaths[db.path('static-creds', c)] = ['read'];
  }
  const staticCredPaths = statics.map((r) => db.path('static-creds', r.name));
  const roleCaps = caps ? await db.capabilities([...Object.keys(rolePaths), ...staticCredPaths]) : undefined;
  if (roleCaps) {
    const missing = Object.entries(rolePaths)
      .filter(([p, need]) => !grants(roleCaps[p], need))
      .map(([p, need]) => `${need.join('+')} on ${p}`);
    if (missing.length > 0) throw permissionError(missing, options);
  }
  const staticCredsReadable =
    statics.length > 0 && (roleCaps ? staticCredPaths.every((p) => grants(roleCaps[p], ['read'])) : true);
  if (statics.length > 0 && !staticCredsReadable)
    lines.push('static role logins: not checked (the token may not read static-creds/)');

  let leaseCount: number | null = null;
  if (!caps || grants(caps[leasePath], ['list', 'sudo'])) {
    const count = await db.leaseCount();
    leaseCount = count ?? null;
  }
  lines.push(
    leaseCount === null
      ? `leases under ${options.mount}/creds/: skipped (listing sys/leases/lookup needs sudo)`
      : `leases under ${options.mount}/creds/: ${leaseCount}`,
  );

  const sharedHumanRoot = (sharedRootNames as readonly string[]).includes(config.username.toLowerCase());
  if (sharedHumanRoot) {
    const advice =
      `the connection logs in as ${config.username}, which looks like a shared human root: after rotate-root nobody ` +
      `but Vault knows its password. Give Vault its own admin user (e.g. CREATE ROLE vault_admin WITH LOGIN ` +
      `CREATEROLE …) and point the connection at it`;
    if (!options.allowSharedRoot && !ctx.dryRun)
      throw new VaultOpsError(
        'usage',
        `refusing to rotate: ${advice}; or, if Vault alone is to own ${config.username}, run again with ` +
          `--allow-shared-root. Nothing was changed`,
      );
    warnings.push(
      options.allowSharedRoot
        ? `${advice} (--allow-shared-root: rotating it anyway)`
        : `${advice}; a real run refuses without --allow-shared-root`,
    );
  }

  const login = loginTarget(ctx.deps, config.pluginName, config.connectionDetails);
  if (!login)
    warnings.push(
      `no login check for plugin ${config.pluginName}: credentials are issued and revoked, but not used to log in`,
    );

  let connectionHealthy: boolean | null = null;
  let connectionProblem: string | null = null;
  if (!caps || grants(caps[db.path('reset', name)], ['update'])) {
    const probe = await db.probeConnection(name);
    connectionHealthy = probe.healthy;
    if (!probe.healthy) {
      const reach = login ? await tcpReachable(login.endpoint) : undefined;
      if (reach && !reach.reachable) {
        throw new VaultOpsError(
          'verification',
          `the database is down or unreachable: Vault cannot connect (${probe.reason || 'reset failed'}) and ` +
            `${login!.endpoint.host}:${login!.endpoint.port} refuses connections (${reach.reason}); bring the ` +
            `database back, then run again (a re-bootstrap does not help a database that is down)`,
        );
      }
      const reason = probe.reason && !/^1 error occurred:?$/.test(probe.reason) ? ` (${probe.reason})` : '';
      const reachable = reach?.reachable
        ? `, although ${login!.endpoint.host}:${login!.endpoint.port} accepts connections`
        : '';
      connectionProblem =
        `Vault cannot log in to the database as ${config.username} ` +
        `with the root password it holds${reason}${reachable}`;
    }
  }
  lines.push(
    connectionHealthy === null
      ? 'connection probe: skipped (no update on reset/)'
      : connectionHealthy
        ? 'connection probe (reset/): Vault logs in with its root password'
        : `connection probe (reset/): BROKEN: ${connectionProblem}`,
  );

  const path = options.rebootstrap || connectionHealthy === false ? 'rebootstrap' : 'rotate';

  // How the login checks will carry passwords, found before any credential is issued: a server
  // without TLS (unless sslmode=disable) or a certificate that fails its check stops the run here.
  let loginTransport: string | null = null;
  const logsIn =
    dynamicRoles.length > 0 || staticCredsReadable || options.canaryStaticRole.length > 0 || path === 'rebootstrap';
  if (login) {
    const at = `${login.endpoint.host}:${login.endpoint.port}`;
    if (login.check.transport && logsIn) {
      let transport;
      try {
        transport = await login.check.transport(login.endpoint);
      } catch (err) {
        if (isVaultOpsError(err))
          throw new VaultOpsError(err.code, `login checks of ${where(ctx)}: ${err.message}`, { cause: err });
        throw err;
      }
      if (transport.outcome === 'unreachable') {
        throw new VaultOpsError(
          'verification',
          `login checks cannot reach the database at ${at} from here (${transport.reason}): run where it is ` +
            `reachable, or pass --login-check-address HOST:PORT (e.g. a port-forward)`,
        );
      }
      loginTransport = transport.detail;
      lines.push(`login checks: ${login.check.family} at ${at} ${transport.detail}`);
    } else {
      lines.push(`login checks: ${login.check.family} at ${at}`);
    }
  }

  if (path === 'rebootstrap') {
    lines.push(
      options.rebootstrap
        ? 'path: RE-BOOTSTRAP (--rebootstrap)'
        : 'path: RE-BOOTSTRAP: the root password was changed outside Vault (DBA reset, database restored from a ' +
            'backup), Vault was restored from a snapshot older than the last rotation, or a rotation half-failed',
    );
    if (caps && !grants(caps[db.path('config', name)], ['update']))
      throw permissionError([`update on ${db.path('config', name)} (re-bootstrap writes the password there)`], options);
  } else {
    lines.push('path: ROTATE');
  }

  const facts: PreflightFacts = {
    plugin: config.pluginName,
    username: config.username,
    allowedRoles: config.allowedRoles,
    dynamicRoles,
    dynamicRolesNotAllowed: notAllowed,
    staticRoles: statics.map((r) => r.name),
    canaries: options.canaryStaticRole,
    leaseCount,
    sharedHumanRoot,
    connectionHealthy,
    connectionProblem,
    path,
    loginCheck: login ? login.check.family : null,
    loginTransport,
    staticCredsReadable,
  };
  return { lines, warnings, facts };
}

function permissionError(missing: string[], options: { mount: string; connection: string }): VaultOpsError {
  return new VaultOpsError(
    'vault-permission',
    `the token lacks ${missing.join(', ')}: grant the runbook's policy (vault-ops setup policies --job rotate-root ` +
      `--mount ${shellArg(options.mount)} --connection ${shellArg(options.connection)}; regenerate it when the ` +
      `connection's roles change) and run again`,
  );
}

export const preflight: Step = {
  id: 'preflight',
  title: 'Preflight (read-only)',
  description:
    'Reads the connection (plugin, username, allowed roles), its dynamic and static roles, the lease count (needs ' +
    "sudo), checks the token's capabilities, refuses a shared human root login (postgres, root, admin, sa) unless " +
    '--allow-shared-root, refuses a static role on the root ' +
    'user, probes the connection to choose the rotate or re-bootstrap path, and checks that the login checks can ' +
    'reach the database over TLS (unless its connection_url says sslmode=disable) without sending a credential.',
  mutates: false,
  rerunnable: true,
  inspect: inspectPreflight,
  async action(ctx) {
    const f = preflightFacts(ctx);
    return {
      summary:
        `path ${f.path}; ${f.dynamicRoles.length} dynamic, ${f.staticRoles.length} static role(s); leases ` +
        `${f.leaseCount ?? 'not counted'}`,
    };
  },
  async verify() {
    return { summary: '' };
  },
};
