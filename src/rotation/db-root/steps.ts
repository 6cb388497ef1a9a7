import { randomBytes } from 'node:crypto';
import { VaultOpsError, isVaultOpsError } from '../../errors.js';
import type { Runbook, RunbookStep, StepFacts } from '../../runbook/types.js';
import { formatCompactUtc } from '../../time/compact-utc.js';
import { readRaftPosition } from '../../vault/sys.js';
import { vaultDetail } from './database-mount.js';
import type { RotateRootDeps } from './deps.js';
import { preflight, preflightFacts, target, where } from './preflight.js';
import { backupAfter, backupBefore } from './backup-steps.js';
import { checkDynamicRoles, checkStaticRoles, requireAllOk, summarise } from './role-checks.js';

type Step = RunbookStep<RotateRootDeps>;

// ── 3. health-before ────────────────────────────────────────────────────────────────────────

const healthBefore: Step = {
  id: 'health-before',
  title: 'Dynamic roles work before the rotation',
  description:
    'For each dynamic role: issues credentials, proves they log in to the database, revokes them. Skipped on the ' +
    're-bootstrap path (the connection is broken; the re-bootstrap step checks afterwards).',
  mutates: true,
  rerunnable: true,
  async inspect(ctx) {
    const f = preflightFacts(ctx);
    if (f.path === 'rebootstrap')
      return { lines: [], skip: 're-bootstrap path: the role checks run after the connection is restored' };
    return {
      lines: f.dynamicRoles.length
        ? [`would issue, log in with, and revoke credentials of: ${f.dynamicRoles.join(', ')}`]
        : ['no dynamic roles: the connection probe is the only check'],
    };
  },
  async action(ctx) {
    const f = preflightFacts(ctx);
    const results = await checkDynamicRoles(ctx.deps, f.dynamicRoles, await target(ctx), ctx.note, ctx.signal);
    requireAllOk(
      results,
      'refusing to rotate: dynamic role checks fail before the rotation',
      'fix the roles (or the connection) first; nothing was rotated',
    );
    return {
      summary: `dynamic roles: ${summarise(results)}`,
      facts: { checks: results.map((r) => ({ role: r.role, outcome: r.outcome })) },
    };
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
    'Only on the re-bootstrap path: takes the current root password from the operator (hidden prompt or ' +
    '--password-file), writes it to <mount>/config/<name> with verify_connection=true (Vault refuses a wrong one ' +
    'and changes nothing), resets the connection and re-checks the dynamic roles.',
  mutates: true,
  gate: { automatable: true },
  rerunnable: true,
  failureLeavesStateUnchanged: (err) => err instanceof UnchangedFailure,
  async inspect(ctx) {
    const f = preflightFacts(ctx);
    if (f.path !== 'rebootstrap') return { lines: [], skip: 'the connection works: no re-bootstrap needed' };
    const why = ctx.deps.rootPassword.unavailable();
    if (why && !ctx.dryRun)
      throw new VaultOpsError('usage', `re-bootstrap needs the current root password of ${f.username}: ${why}`);
    return {
      lines: [
        `would ask for the current password of ${f.username} ${passwordFrom(why, ctx.deps.options.passwordFile)}`,
        `would write it to ${where(ctx)} with verify_connection=true, then POST ` +
          `${ctx.deps.options.mount}/reset/${ctx.deps.options.connection}`,
        `would re-check dynamic roles: ${f.dynamicRoles.join(', ') || 'none'}`,
      ],
    };
  },
  gateRequest(ctx) {
    const f = preflightFacts(ctx);
    return {
      prompt: `write the root password you provide for ${f.username} into ${where(ctx)} and reset the connection`,
      phrase: `rebootstrap ${ctx.deps.options.connection}`,
    };
  },
  async action(ctx) {
    const { db, options, secrets } = ctx.deps;
    const f = preflightFacts(ctx);
    let password: string;
    try {
      password = await ctx.deps.rootPassword.read();
    } catch (err) {
      throw new UnchangedFailure(
        isVaultOpsError(err) ? err.code : 'usage',
        isVaultOpsError(err) ? err.message : String(err),
        { cause: err },
      );
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
            : `Vault refused the password: verify_connection could not log in as ${f.username} (${detail}); nothing ` +
                `was changed. Check the password with the DBA and continue with --resume`,
          { cause: err },
        );
      }
      throw err;
    }
    ctx.deps.session.operatorPassword = password;
    ctx.note(`wrote ${where(ctx)} (verify_connection=true: Vault logged in with it)`);
    await db.vault.write(db.path('reset', options.connection), {});
    const results = await checkDynamicRoles(ctx.deps, f.dynamicRoles, await target(ctx), ctx.note, ctx.signal);
    requireAllOk(
      results,
      'the connection is restored but dynamic role checks fail',
      'fix the roles, then continue with --resume',
    );
    return { summary: `connection restored; dynamic roles: ${summarise(results)}`, facts: { rebootstrapped: true } };
  },
  async verify(ctx) {
    const probe = await ctx.deps.db.probeConnection(ctx.deps.options.connection);
    if (!probe.healthy)
      throw new VaultOpsError(
        'verification',
        `the connection still cannot connect after re-bootstrap (${probe.reason}): check the password and the database`,
      );
    return { summary: 'connection probe OK' };
  },
};

// ── 5. rotate-root ──────────────────────────────────────────────────────────────────────────

const rotateRoot: Step = {
  id: 'rotate-root',
  title: 'Rotate the root credential',
  description:
    'After confirmation: POST <mount>/rotate-root/<name>. Vault sets a new password for the connection user that ' +
    'nobody can read afterwards. Never repeated automatically: after an interruption a resumed run only verifies.',
  mutates: true,
  gate: { automatable: true },
  rerunnable: false,
  failureLeavesStateUnchanged: (err) =>
    isVaultOpsError(err) &&
    ['vault-permission', 'vault-sealed', 'vault-auth', 'insecure', 'vault-tls', 'confirmation'].includes(err.code),
  async inspect(ctx) {
    const f = preflightFacts(ctx);
    const lines = [
      `would POST ${ctx.deps.options.mount}/rotate-root/${ctx.deps.options.connection}: Vault sets a new password ` +
        `for ${f.username} that nobody can read`,
    ];
    if (f.path === 'rebootstrap')
      lines.push('the password given for the re-bootstrap stops working: again only Vault knows the root password');
    if (f.sharedHumanRoot)
      lines.push(`WARNING: ${f.username} looks like a shared human root: people using it will be locked out`);
    if (!ctx.dryRun) {
      const probe = await ctx.deps.db.probeConnection(ctx.deps.options.connection);
      if (!probe.healthy)
        throw new VaultOpsError(
          'verification',
          `refusing to rotate: Vault cannot connect to the database (${probe.reason}); run again with --rebootstrap`,
        );
    }
    return { lines };
  },
  gateRequest(ctx) {
    const f = preflightFacts(ctx);
    return {
      prompt:
        `rotate the root credential of ${where(ctx)} (user ${f.username}); afterwards only Vault knows its ` +
        `password`,
      phrase: `rotate ${ctx.deps.options.connection}`,
    };
  },
  async action(ctx) {
    const rotationId = `${formatCompactUtc(ctx.deps.now())}-${randomBytes(3).toString('hex')}`;
    // The raft index around the POST orders this rotation against any snapshot (the record carries it).
    const before = await readRaftPosition(ctx.deps.db.vault);
    await ctx.deps.db.rotateRoot(ctx.deps.options.connection);
    const after = await readRaftPosition(ctx.deps.db.vault);
    return {
      summary: `POSTed ${ctx.deps.options.mount}/rotate-root/${ctx.deps.options.connection}: rotated ${where(ctx)}`,
      facts: {
        rotationId,
        rotatedAt: ctx.deps.now().toISOString(),
        ...raftFacts(before.clusterId ?? after.clusterId, before.appliedIndex, after.appliedIndex),
      },
    };
  },
  async verify(ctx) {
    const probe = await ctx.deps.db.probeConnection(ctx.deps.options.connection);
    if (!probe.healthy) {
      throw new VaultOpsError(
        'verification',
        `Vault cannot connect after rotate-root (${probe.reason}): the rotation half-failed; get the current ` +
          `password from the DBA and run again with --rebootstrap (runbooks/rotate-root.md)`,
      );
    }
    // After an interruption the action's facts were never journaled: name the rotation here. Whether
    // it happened is unknown; if it did, it is at or below the raft index read now.
    if (ctx.facts.get('rotate-root')?.rotationId) return { summary: 'connection probe OK with the new root' };
    const now = await readRaftPosition(ctx.deps.db.vault);
    return {
      summary:
        'connection probe OK: Vault holds a working root, but whether the interrupted rotate-root POST reached ' +
        'Vault is unknown (not repeated; start a new run later if you need a certain rotation)',
      facts: {
        rotationId: `interrupted-${ctx.deps.now().toISOString()}`,
        ...raftFacts(now.clusterId, undefined, now.appliedIndex),
      },
    };
  },
};

// ── 6. verify ───────────────────────────────────────────────────────────────────────────────

const verify: Step = {
  id: 'verify',
  title: 'Verify with fresh credentials',
  description:
    'Repeats the dynamic role checks with fresh credentials; rotates only the static roles named with ' +
    '--canary-static-role and proves they log in; proves the other static roles still log in (a read, nothing ' +
    "rotates); on the re-bootstrap path proves the operator's password no longer logs in.",
  mutates: true,
  rerunnable: true,
  async inspect(ctx) {
    const f = preflightFacts(ctx);
    const others = f.staticRoles.filter((r) => !f.canaries.includes(r));
    return {
      lines: [
        `would issue, log in with, and revoke fresh credentials of: ${f.dynamicRoles.join(', ') || 'none'}`,
        f.canaries.length
          ? `would rotate-role the canary static role(s) ${f.canaries.join(', ')} and log in with them`
          : 'no --canary-static-role: no static role is rotated',
        others.length
          ? f.staticCredsReadable
            ? `would check that static role(s) ${others.join(', ')} still log in (read only)`
            : 'static roles: not checked (no read on static-creds/)'
          : 'no other static roles',
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
        warnings.push(
          'the re-bootstrap password is not known to this process (resumed run): not proven that it stopped working',
        );
      }
    }
    requireAllOk(
      dynamic,
      'dynamic role checks fail after the rotation',
      "Vault holds the new root; check the roles' creation statements and the connection (runbooks/rotate-root.md, " +
        '"verify")',
    );
    requireAllOk(
      statics,
      'static role checks fail',
      `rotate them so Vault and the database agree again (vault write -f ${ctx.deps.options.mount}/rotate-role/NAME, ` +
        `or name them with --canary-static-role) and continue with --resume`,
    );
    if (oldRoot === 'STILL LOGS IN')
      throw new VaultOpsError(
        'verification',
        `the password given for the re-bootstrap still logs in as ${f.username}: the rotation did not take effect; ` +
          `run again`,
      );
    return {
      summary:
        `dynamic: ${summarise(dynamic)}; static: ` +
        `${summarise(statics)}${f.path === 'rebootstrap' ? `; old password ${oldRoot}` : ''}`,
      facts: {
        dynamic: dynamic.map((r) => ({ role: r.role, outcome: r.outcome })),
        static: statics.map((r) => ({ role: r.role, outcome: r.outcome })),
        canariesRotated: f.canaries,
        oldRoot,
      },
      warnings,
    };
  },
  async verify() {
    return { summary: '' };
  },
};

/** The runbook, in order. runbooks/rotate-root.md lists the same step ids (a test compares them). */
export const rotateRootRunbook: Runbook<RotateRootDeps> = {
  name: 'rotate-root',
  version: 1,
  steps: [preflight, backupBefore, healthBefore, rebootstrap, rotateRoot, verify, backupAfter],
};

/** The raft facts of a rotation, for its record (only those that could be read). */
function raftFacts(clusterId: string | undefined, before: number | undefined, after: number | undefined): StepFacts {
  return {
    ...(clusterId ? { clusterId } : {}),
    ...(before !== undefined ? { raftIndexBefore: before } : {}),
    ...(after !== undefined ? { raftIndex: after } : {}),
  };
}

/** Where the re-bootstrap would take the password from, for the dry-run plan. */
function passwordFrom(unavailable: string | undefined, passwordFile: string | undefined): string {
  if (unavailable) return `(${unavailable})`;
  return passwordFile ? `from ${passwordFile}` : '(hidden prompt)';
}
