import { randomBytes } from 'node:crypto';
import { VaultOpsError, isVaultOpsError } from '../../errors.js';
import type { Runbook, RunbookStep, StepContext, StepFacts, StepPlan } from '../../runbook/types.js';
import { formatCompactUtc } from '../../time/compact-utc.js';
import { grants, vaultDetail } from './database-mount.js';
import type { RotateRootDeps } from './deps.js';
import { tcpReachable } from './login-check.js';
import { checkDynamicRoles, checkStaticRoles, loginTarget, requireAllOk, summarise, type LoginTarget } from './role-checks.js';

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
  /** How the login checks reach the database ("over TLSv1.3 (…)", "in plain text (sslmode=disable)"), or null when none run. */
  loginTransport: string | null;
  staticCredsReadable: boolean;
}

function preflightFacts(ctx: Ctx): PreflightFacts {
  const facts = ctx.facts.get('preflight');
  if (!facts || typeof facts.path !== 'string') throw new VaultOpsError('internal', 'preflight facts are missing: run the runbook from the start');
  return facts as PreflightFacts;
}

async function target(ctx: Ctx): Promise<LoginTarget | undefined> {
  const config = await ctx.deps.db.readConnection(ctx.deps.options.connection);
  return loginTarget(ctx.deps, config.pluginName, config.connectionDetails);
}

const where = (ctx: Ctx) => `${ctx.deps.options.mount}/config/${ctx.deps.options.connection}`;

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
    const missing = Object.entries(required).filter(([p, need]) => !grants(caps[p], need)).map(([p, need]) => `${need.join('+')} on ${p}`);
    if (missing.length > 0) throw permissionError(missing, options);
  } else {
    lines.push('capabilities: could not ask sys/capabilities-self; missing capabilities will show as errors');
  }

  const config = await db.readConnection(name);
  lines.push(`connection ${where(ctx)}: plugin ${config.pluginName}${config.pluginVersion ? ` ${config.pluginVersion}` : ''}, username ${config.username || '(none)'}, allowed roles ${config.allowedRoles.join(', ') || '(none)'}`);
  lines.push('verify_connection: Vault does not store it; this runbook writes with verify_connection=true and probes with reset/');
  if (!config.username) throw new VaultOpsError('verification', `connection ${where(ctx)} has no username in its connection details: rotate-root needs username and password (not credentials inside connection_url); re-write the config with a templated connection_url`);
  if (/:\/\/[^{/@]+:[^{/@]+@/.test(String(config.connectionDetails.connection_url ?? ''))) {
    warnings.push('connection_url holds literal credentials: rotate-root cannot change those; use {{username}}/{{password}} templates');
  }

  const { allowed: dynamicRoles, notAllowed } = await db.connectionDynamicRoles(name, config.allowedRoles);
  lines.push(`dynamic roles: ${dynamicRoles.join(', ') || 'none'}${notAllowed.length ? ` (not in allowed_roles, not checked: ${notAllowed.join(', ')})` : ''}`);
  if (dynamicRoles.length === 0) warnings.push('no dynamic role uses this connection: only the connection probe (reset/) proves the root works');

  const statics = (await db.staticRoles()).filter((r) => r.dbName === name);
  lines.push(`static roles: ${statics.map((r) => `${r.name} (user ${r.username})`).join(', ') || 'none'}`);
  const clash = statics.filter((r) => r.username === config.username);
  if (clash.length > 0) {
    throw new VaultOpsError(
      'verification',
      `refusing: static role ${clash.map((r) => r.name).join(', ')} manages ${config.username}, the connection's root user; Vault warns never to do that (the static rotation and rotate-root fight over one password). Give the connection its own admin user, or delete the static role, then run again`,
    );
  }
  for (const canary of options.canaryStaticRole) {
    if (!statics.some((r) => r.name === canary)) throw new VaultOpsError('usage', `--canary-static-role ${canary}: no static role of that name uses connection ${name} (static roles: ${statics.map((r) => r.name).join(', ') || 'none'})`);
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
    const missing = Object.entries(rolePaths).filter(([p, need]) => !grants(roleCaps[p], need)).map(([p, need]) => `${need.join('+')} on ${p}`);
    if (missing.length > 0) throw permissionError(missing, options);
  }
  const staticCredsReadable = statics.length > 0 && (roleCaps ? staticCredPaths.every((p) => grants(roleCaps[p], ['read'])) : true);
  if (statics.length > 0 && !staticCredsReadable) lines.push('static role logins: not checked (the token may not read static-creds/)');

  let leaseCount: number | null = null;
  if (!caps || grants(caps[leasePath], ['list', 'sudo'])) {
    const count = await db.leaseCount();
    leaseCount = count ?? null;
  }
  lines.push(leaseCount === null ? `leases under ${options.mount}/creds/: skipped (listing sys/leases/lookup needs sudo)` : `leases under ${options.mount}/creds/: ${leaseCount}`);

  const sharedHumanRoot = (sharedRootNames as readonly string[]).includes(config.username.toLowerCase());
  if (sharedHumanRoot) {
    warnings.push(
      `the connection logs in as ${config.username}, which looks like a shared human root: after rotate-root nobody but Vault knows its password. Give Vault its own admin user (e.g. CREATE ROLE vault_admin WITH LOGIN CREATEROLE …) and point the connection at it`,
    );
  }

  const login = loginTarget(ctx.deps, config.pluginName, config.connectionDetails);
  if (!login) warnings.push(`no login check for plugin ${config.pluginName}: credentials are issued and revoked, but not used to log in`);

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
          `the database is down or unreachable: Vault cannot connect (${probe.reason || 'reset failed'}) and ${login!.endpoint.host}:${login!.endpoint.port} refuses connections (${reach.reason}); bring the database back, then run again (a re-bootstrap does not help a database that is down)`,
        );
      }
      connectionProblem = `Vault cannot log in to the database as ${config.username} with the root password it holds${probe.reason && !/^1 error occurred:?$/.test(probe.reason) ? ` (${probe.reason})` : ''}${reach?.reachable ? `, although ${login!.endpoint.host}:${login!.endpoint.port} accepts connections` : ''}`;
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
  const logsIn = dynamicRoles.length > 0 || staticCredsReadable || options.canaryStaticRole.length > 0 || path === 'rebootstrap';
  if (login) {
    const at = `${login.endpoint.host}:${login.endpoint.port}`;
    if (login.check.transport && logsIn) {
      let transport;
      try {
        transport = await login.check.transport(login.endpoint);
      } catch (err) {
        if (isVaultOpsError(err)) throw new VaultOpsError(err.code, `login checks of ${where(ctx)}: ${err.message}`, { cause: err });
        throw err;
      }
      if (transport.outcome === 'unreachable') {
        throw new VaultOpsError('verification', `login checks cannot reach the database at ${at} from here (${transport.reason}): run where it is reachable, or pass --login-check-address HOST:PORT (e.g. a port-forward)`);
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
        : 'path: RE-BOOTSTRAP: the root password was changed outside Vault (DBA reset, database restored from a backup), Vault was restored from a snapshot older than the last rotation, or a rotation half-failed',
    );
    if (caps && !grants(caps[db.path('config', name)], ['update'])) throw permissionError([`update on ${db.path('config', name)} (re-bootstrap writes the password there)`], options);
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
    `the token lacks ${missing.join(', ')}: grant the runbook's policy (vault-ops setup policies --job rotate-root --mount ${options.mount} --connection ${options.connection}; regenerate it when the connection's roles change) and run again`,
  );
}

const preflight: Step = {
  id: 'preflight',
  title: 'Preflight (read-only)',
  description:
    'Reads the connection (plugin, username, allowed roles), its dynamic and static roles, the lease count (needs sudo), checks the token\'s capabilities, warns about a shared human root, refuses a static role on the root user, probes the connection to choose the rotate or re-bootstrap path, and checks that the login checks can reach the database over TLS (unless its connection_url says sslmode=disable) without sending a credential.',
  mutates: false,
  rerunnable: true,
  inspect: inspectPreflight,
  async action(ctx) {
    const f = preflightFacts(ctx);
    return { summary: `path ${f.path}; ${f.dynamicRoles.length} dynamic, ${f.staticRoles.length} static role(s); leases ${f.leaseCount ?? 'not counted'}` };
  },
  async verify() {
    return { summary: '' };
  },
};

// ── 2. backup-before ────────────────────────────────────────────────────────────────────────

const backupBefore: Step = {
  id: 'backup-before',
  title: 'Recent good snapshot',
  description: 'Makes sure --snapshot-store holds a good snapshot newer than --snapshot-max-age (default 24h), taking one now if not, so the state before the rotation can be restored.',
  mutates: true,
  rerunnable: true,
  async inspect(ctx) {
    const { backups, options } = ctx.deps;
    if (!backups) {
      return {
        lines: [],
        skip: 'no --snapshot-store: no backup checked',
        warnings: ['no --snapshot-store given: make sure a recent snapshot exists (vault-ops snapshot save --to URL) before rotating'],
      };
    }
    const latest = await backups.latestGood();
    const age = latest ? ctx.deps.now().getTime() - latest.time.getTime() : Infinity;
    const fresh = latest !== undefined && age <= options.snapshotMaxAge;
    return {
      lines: [
        latest ? `newest good snapshot in ${backups.url}: ${latest.id} (${Math.round(age / 60_000)} min old)` : `no good snapshot in ${backups.url}`,
        fresh ? 'recent enough: nothing to take' : 'would take a snapshot now',
      ],
      facts: { latestSnapshot: latest?.id ?? null, fresh },
    };
  },
  async action(ctx) {
    const { backups } = ctx.deps;
    const fresh = ctx.facts.get('backup-before')?.fresh === true;
    if (!backups || fresh) return { summary: `recent snapshot ${String(ctx.facts.get('backup-before')?.latestSnapshot)} exists` };
    const taken = await backups.take(ctx.signal);
    return { summary: `snapshot ${taken.id} taken into ${backups.url}`, facts: { snapshotTaken: taken.id } };
  },
  async verify(ctx) {
    const latest = await ctx.deps.backups?.latestGood();
    if (!latest) throw new VaultOpsError('verification', `no good snapshot in ${ctx.deps.backups?.url}: take one (vault-ops snapshot save) and continue with --resume`);
    return { summary: `newest good snapshot ${latest.id}` };
  },
};

// ── 3. health-before ────────────────────────────────────────────────────────────────────────

const healthBefore: Step = {
  id: 'health-before',
  title: 'Dynamic roles work before the rotation',
  description: 'For each dynamic role: issues credentials, proves they log in to the database, revokes them. Skipped on the re-bootstrap path (the connection is broken; the re-bootstrap step checks afterwards).',
  mutates: true,
  rerunnable: true,
  async inspect(ctx) {
    const f = preflightFacts(ctx);
    if (f.path === 'rebootstrap') return { lines: [], skip: 're-bootstrap path: the role checks run after the connection is restored' };
    return {
      lines: f.dynamicRoles.length
        ? [`would issue, log in with, and revoke credentials of: ${f.dynamicRoles.join(', ')}`]
        : ['no dynamic roles: the connection probe is the only check'],
    };
  },
  async action(ctx) {
    const f = preflightFacts(ctx);
    const results = await checkDynamicRoles(ctx.deps, f.dynamicRoles, await target(ctx), ctx.note, ctx.signal);
    requireAllOk(results, 'refusing to rotate: dynamic role checks fail before the rotation', 'fix the roles (or the connection) first; nothing was rotated');
    return { summary: `dynamic roles: ${summarise(results)}`, facts: { checks: results.map((r) => ({ role: r.role, outcome: r.outcome })) } };
  },
  async verify() {
    return { summary: '' };
  },
};

// ── 4. rebootstrap ──────────────────────────────────────────────────────────────────────────

/** The server refused the request before changing anything: a resumed run may simply try again. */
class UnchangedFailure extends VaultOpsError {}

const rebootstrap: Step = {
  id: 'rebootstrap',
  title: 'Re-bootstrap the connection with the current root password',
  description:
    'Only on the re-bootstrap path: takes the current root password from the operator (hidden prompt or --password-file), writes it to <mount>/config/<name> with verify_connection=true (Vault refuses a wrong one and changes nothing), resets the connection and re-checks the dynamic roles.',
  mutates: true,
  gate: { automatable: true },
  rerunnable: true,
  failureLeavesStateUnchanged: (err) => err instanceof UnchangedFailure,
  async inspect(ctx) {
    const f = preflightFacts(ctx);
    if (f.path !== 'rebootstrap') return { lines: [], skip: 'the connection works: no re-bootstrap needed' };
    const why = ctx.deps.rootPassword.unavailable();
    if (why && !ctx.dryRun) throw new VaultOpsError('usage', `re-bootstrap needs the current root password of ${f.username}: ${why}`);
    return {
      lines: [
        `would ask for the current password of ${f.username} ${why ? `(${why})` : ctx.deps.options.passwordFile ? `from ${ctx.deps.options.passwordFile}` : '(hidden prompt)'}`,
        `would write it to ${where(ctx)} with verify_connection=true, then POST ${ctx.deps.options.mount}/reset/${ctx.deps.options.connection}`,
        `would re-check dynamic roles: ${f.dynamicRoles.join(', ') || 'none'}`,
      ],
    };
  },
  gateRequest(ctx) {
    const f = preflightFacts(ctx);
    return { prompt: `write the root password you provide for ${f.username} into ${where(ctx)} and reset the connection`, phrase: `rebootstrap ${ctx.deps.options.connection}` };
  },
  async action(ctx) {
    const { db, options, secrets } = ctx.deps;
    const f = preflightFacts(ctx);
    let password: string;
    try {
      password = await ctx.deps.rootPassword.read();
    } catch (err) {
      throw new UnchangedFailure(isVaultOpsError(err) ? err.code : 'usage', isVaultOpsError(err) ? err.message : String(err), { cause: err });
    }
    secrets.add(password);
    if (!password) throw new UnchangedFailure('usage', 'the root password is empty: nothing was changed');
    try {
      await db.writeRootPassword(options.connection, password);
    } catch (err) {
      if (isVaultOpsError(err) && (err.code === 'vault-request' || err.code === 'vault-permission')) {
        const detail = vaultDetail(err.message);
        throw new UnchangedFailure(
          err.code === 'vault-permission' ? 'vault-permission' : 'verification',
          err.code === 'vault-permission'
            ? `${err.message}; nothing was changed`
            : `Vault refused the password: verify_connection could not log in as ${f.username} (${detail}); nothing was changed. Check the password with the DBA and continue with --resume`,
          { cause: err },
        );
      }
      throw err;
    }
    ctx.deps.session.operatorPassword = password;
    ctx.note(`wrote ${where(ctx)} (verify_connection=true: Vault logged in with it)`);
    await db.vault.write(db.path('reset', options.connection), {});
    const results = await checkDynamicRoles(ctx.deps, f.dynamicRoles, await target(ctx), ctx.note, ctx.signal);
    requireAllOk(results, 'the connection is restored but dynamic role checks fail', 'fix the roles, then continue with --resume');
    return { summary: `connection restored; dynamic roles: ${summarise(results)}`, facts: { rebootstrapped: true } };
  },
  async verify(ctx) {
    const probe = await ctx.deps.db.probeConnection(ctx.deps.options.connection);
    if (!probe.healthy) throw new VaultOpsError('verification', `the connection still cannot connect after re-bootstrap (${probe.reason}): check the password and the database`);
    return { summary: 'connection probe OK' };
  },
};

// ── 5. rotate-root ──────────────────────────────────────────────────────────────────────────

const rotateRoot: Step = {
  id: 'rotate-root',
  title: 'Rotate the root credential',
  description:
    'After confirmation: POST <mount>/rotate-root/<name>. Vault sets a new password for the connection user that nobody can read afterwards. Never repeated automatically: after an interruption a resumed run only verifies.',
  mutates: true,
  gate: { automatable: true },
  rerunnable: false,
  failureLeavesStateUnchanged: (err) => isVaultOpsError(err) && ['vault-permission', 'vault-sealed', 'vault-auth', 'insecure', 'vault-tls', 'confirmation'].includes(err.code),
  async inspect(ctx) {
    const f = preflightFacts(ctx);
    const lines = [`would POST ${ctx.deps.options.mount}/rotate-root/${ctx.deps.options.connection}: Vault sets a new password for ${f.username} that nobody can read`];
    if (f.path === 'rebootstrap') lines.push('the password given for the re-bootstrap stops working: again only Vault knows the root password');
    if (f.sharedHumanRoot) lines.push(`WARNING: ${f.username} looks like a shared human root: people using it will be locked out`);
    if (!ctx.dryRun) {
      const probe = await ctx.deps.db.probeConnection(ctx.deps.options.connection);
      if (!probe.healthy) throw new VaultOpsError('verification', `refusing to rotate: Vault cannot connect to the database (${probe.reason}); run again with --rebootstrap`);
    }
    return { lines };
  },
  gateRequest(ctx) {
    const f = preflightFacts(ctx);
    return { prompt: `rotate the root credential of ${where(ctx)} (user ${f.username}); afterwards only Vault knows its password`, phrase: `rotate ${ctx.deps.options.connection}` };
  },
  async action(ctx) {
    const rotationId = `${formatCompactUtc(ctx.deps.now())}-${randomBytes(3).toString('hex')}`;
    await ctx.deps.db.rotateRoot(ctx.deps.options.connection);
    return { summary: `rotated ${where(ctx)}`, facts: { rotationId, rotatedAt: ctx.deps.now().toISOString() } };
  },
  async verify(ctx) {
    const probe = await ctx.deps.db.probeConnection(ctx.deps.options.connection);
    if (!probe.healthy) {
      throw new VaultOpsError('verification', `Vault cannot connect after rotate-root (${probe.reason}): the rotation half-failed; get the current password from the DBA and run again with --rebootstrap (runbooks/rotate-root.md)`);
    }
    // After an interruption the action's facts were never journaled: name the rotation here.
    const facts: StepFacts = ctx.facts.get('rotate-root')?.rotationId ? {} : { rotationId: `interrupted-${ctx.deps.now().toISOString()}` };
    return { summary: 'connection probe OK with the new root', facts };
  },
};

// ── 6. verify ───────────────────────────────────────────────────────────────────────────────

const verify: Step = {
  id: 'verify',
  title: 'Verify with fresh credentials',
  description:
    'Repeats the dynamic role checks with fresh credentials; rotates only the static roles named with --canary-static-role and proves they log in; proves the other static roles still log in (a read, nothing rotates); on the re-bootstrap path proves the operator\'s password no longer logs in.',
  mutates: true,
  rerunnable: true,
  async inspect(ctx) {
    const f = preflightFacts(ctx);
    const others = f.staticRoles.filter((r) => !f.canaries.includes(r));
    return {
      lines: [
        `would issue, log in with, and revoke fresh credentials of: ${f.dynamicRoles.join(', ') || 'none'}`,
        f.canaries.length ? `would rotate-role the canary static role(s) ${f.canaries.join(', ')} and log in with them` : 'no --canary-static-role: no static role is rotated',
        others.length ? (f.staticCredsReadable ? `would check that static role(s) ${others.join(', ')} still log in (read only)` : 'static roles: not checked (no read on static-creds/)') : 'no other static roles',
        ...(f.path === 'rebootstrap' ? ['would prove the password given for the re-bootstrap no longer logs in'] : []),
      ],
    };
  },
  async action(ctx) {
    const { db } = ctx.deps;
    const f = preflightFacts(ctx);
    const login = await target(ctx);
    const dynamic = await checkDynamicRoles(ctx.deps, f.dynamicRoles, login, ctx.note, ctx.signal);
    for (const canary of f.canaries) {
      await db.rotateStaticRole(canary);
      ctx.note(`rotated canary static role ${canary}`);
    }
    const others = f.staticCredsReadable ? f.staticRoles.filter((r) => !f.canaries.includes(r)) : [];
    const statics = await checkStaticRoles(ctx.deps, [...f.canaries, ...others], login, ctx.note);
    const warnings: string[] = [];
    let oldRoot: string = 'not checked';
    const typed = ctx.deps.session.operatorPassword;
    if (f.path === 'rebootstrap' && login) {
      if (typed) {
        const old = await login.check.check(login.endpoint, { username: f.username, password: typed });
        oldRoot = old.outcome === 'ok' ? 'STILL LOGS IN' : 'rejected';
      } else {
        warnings.push('the re-bootstrap password is not known to this process (resumed run): not proven that it stopped working');
      }
    }
    requireAllOk(dynamic, 'dynamic role checks fail after the rotation', 'Vault holds the new root; check the roles\' creation statements and the connection (runbooks/rotate-root.md, "verify")');
    requireAllOk(
      statics,
      'static role checks fail',
      `rotate them so Vault and the database agree again (vault write -f ${ctx.deps.options.mount}/rotate-role/NAME, or name them with --canary-static-role) and continue with --resume`,
    );
    if (oldRoot === 'STILL LOGS IN') throw new VaultOpsError('verification', `the password given for the re-bootstrap still logs in as ${f.username}: the rotation did not take effect; run again`);
    return {
      summary: `dynamic: ${summarise(dynamic)}; static: ${summarise(statics)}${f.path === 'rebootstrap' ? `; old password ${oldRoot}` : ''}`,
      facts: { dynamic: dynamic.map((r) => ({ role: r.role, outcome: r.outcome })), static: statics.map((r) => ({ role: r.role, outcome: r.outcome })), canariesRotated: f.canaries, oldRoot },
      warnings,
    };
  },
  async verify() {
    return { summary: '' };
  },
};

// ── 7. backup-after ─────────────────────────────────────────────────────────────────────────

const backupAfter: Step = {
  id: 'backup-after',
  title: 'Snapshot and rotation record',
  description:
    'Takes a snapshot into --snapshot-store so that the newest backup holds the new root (a restore of an older one would need a re-bootstrap), and writes a rotation record to --record-to (names and times, no secret values).',
  mutates: true,
  rerunnable: true,
  async inspect(ctx) {
    const { backups, records } = ctx.deps;
    if (!backups && !records) {
      return {
        lines: [],
        skip: 'no --snapshot-store or --record-to',
        warnings: ['no --snapshot-store: the newest backup still holds the OLD root; take a snapshot now (vault-ops snapshot save --to URL), or a restore of it will need a re-bootstrap'],
      };
    }
    return {
      lines: [
        backups ? `would take a snapshot into ${backups.url}` : 'no --snapshot-store: no snapshot taken (the newest backup still holds the old root)',
        records ? `would write a rotation record to ${records.url}` : 'no --record-to: no rotation record',
      ],
    };
  },
  async action(ctx) {
    const { backups, records, options } = ctx.deps;
    const parts: string[] = [];
    const facts: StepFacts = {};
    if (backups) {
      const taken = await backups.take(ctx.signal);
      parts.push(`snapshot ${taken.id} taken`);
      facts.snapshotAfter = taken.id;
    }
    if (records) {
      const rotated = ctx.facts.get('rotate-root');
      const rotationId = String(rotated?.rotationId ?? 'unknown');
      await records.write({ time: ctx.deps.now(), kind: 'database-root', mount: options.mount, path: `${options.mount}/config/${options.connection}`, rotationId });
      parts.push(`rotation record ${rotationId} written`);
      facts.recordWritten = rotationId;
    }
    return { summary: parts.join('; '), facts };
  },
  async verify(ctx) {
    if (!ctx.deps.backups) return { summary: '' };
    const latest = await ctx.deps.backups.latestGood();
    const taken = ctx.facts.get('backup-after')?.snapshotAfter;
    if (taken && latest?.id !== taken) throw new VaultOpsError('verification', `the snapshot ${String(taken)} is not the newest good one in ${ctx.deps.backups.url}: check the store`);
    return { summary: 'newest good snapshot holds the new root' };
  },
};

/** The runbook, in order. runbooks/rotate-root.md lists the same step ids (a test compares them). */
export const rotateRootRunbook: Runbook<RotateRootDeps> = {
  name: 'rotate-root',
  version: 1,
  steps: [preflight, backupBefore, healthBefore, rebootstrap, rotateRoot, verify, backupAfter],
};
