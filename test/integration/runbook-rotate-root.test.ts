import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { VaultOpsError, isVaultOpsError } from '../../src/errors.js';
import { SecretRegistry } from '../../src/observability/secret-registry.js';
import { readJournal, type JournalRecord } from '../../src/runbook/journal.js';
import { listCatalogue } from '../../src/repository/catalogue.js';
import { SnapshotRepository } from '../../src/repository/snapshot-repository.js';
import { UNSIGNED_STORE } from '../../src/repository/trust.js';
import { openSnapshotStore } from '../../src/store/open-store.js';
import { listRotationRecords } from '../../src/repository/records.js';
import type { VaultApi } from '../../src/rotation/db-root/database-mount.js';
import { RotateRootOptionsSchema, rotateRootRunbook, runRotateRoot } from '../../src/rotation/db-root/index.js';
import { PostgresLoginCheck } from '../../src/rotation/db-root/login-check.js';
import { rotateRootPolicy } from '../../src/rotation/db-root/policy.js';
import type { RunbookEvent } from '../../src/runbook/report.js';
import { VaultClient } from '../../src/vault/client.js';
import { resolveConnection } from '../../src/vault/connection.js';
import { runCli, type CliResult } from '../helpers/run-cli.js';
import { bootstrapRequest } from '../testbed/bootstrap-http.js';
import { startPostgres, type PostgresTestbed } from '../testbed/postgres.js';
import { startRecordingRelay } from '../testbed/tcp-recorder.js';
import { makeTestCertificates } from '../testbed/tls.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';
import { onServer } from '../testbed/servers.js';
import { mountDatabaseEngine } from '../helpers/database-engine.js';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
let vault: VaultTestbed;
let db: PostgresTestbed;
let work: string;

before(async () => {
  [vault, db] = await Promise.all([startVault(), startPostgres()]);
  work = await mkdtemp(join(tmpdir(), 'runbook-it-'));
  console.log(`testbed: ${vault.version}; ${db.version}`);
});
after(async () => {
  await Promise.all([vault?.stop(), db?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

interface Fixture {
  mount: string;
  admin: string;
  /** The admin password as the DBA knows it (Vault's copy is rotated by the runbook). */
  adminPassword: string;
  staticUser: string;
  journal: string;
  pgbed: PostgresTestbed;
}

let seq = 0;
const api = (method: string, path: string, body?: unknown, token = vault.rootToken) =>
  bootstrapRequest(vault.addr, method, path, { token, ...(body !== undefined ? { body } : {}) });

/**
 * Vault 1.21 can answer 500 "duplicate item" to the first static role of a brand-new database mount:
 * the mount's queue initialisation races the create handler and both queue the role, which is stored
 * all the same (seen once in ~20 mounts). setup() now waits for the queue first (mountDatabaseEngine),
 * which should prevent it; should it happen still, the role exists, and anything else is a real failure.
 */
async function createStaticRole(mount: string, name: string, username: string): Promise<void> {
  const body = { db_name: 'pg', username, rotation_period: '24h' };
  try {
    await api('POST', `${mount}/static-roles/${name}`, body);
  } catch (err) {
    if (!/duplicate item/.test((err as Error).message)) throw err;
    const stored = await api('GET', `${mount}/static-roles/${name}`);
    assert.equal(stored.body.data.username, username, 'the role was stored despite the duplicate-item answer');
  }
}

/**
 * A database mount with connection `pg` as a dedicated admin role, dynamic role `ro`, static role `svc`.
 * `query` is the connection_url's query string (default `sslmode=disable`; '' for none).
 */
async function setup(
  options: { username?: 'postgres'; staticOnRoot?: boolean; pgbed?: PostgresTestbed; query?: string } = {},
): Promise<Fixture> {
  const n = ++seq;
  const pgbed = options.pgbed ?? db;
  const admin = options.username ?? `vault_admin_${n}`;
  const adminPassword = options.username ? pgbed.password : `A${randomBytes(12).toString('hex')}`;
  const staticUser = `svc_${n}`;
  if (!options.username) await pgbed.query(`CREATE ROLE ${admin} WITH LOGIN CREATEROLE PASSWORD '${adminPassword}'`);
  await pgbed.query(`CREATE ROLE ${staticUser} WITH LOGIN PASSWORD 'initial-${n}'`);
  const mount = `db${n}`;
  await mountDatabaseEngine(api, vault, mount);
  await api('POST', `${mount}/config/pg`, {
    plugin_name: 'postgresql-database-plugin',
    connection_url: `postgresql://{{username}}:{{password}}@127.0.0.1:${pgbed.port}/postgres${queryOf(options.query)}`,
    username: admin,
    password: adminPassword,
    allowed_roles: '*',
  });
  await api('POST', `${mount}/roles/ro`, {
    db_name: 'pg',
    creation_statements: [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`],
    default_ttl: '10m',
    max_ttl: '1h',
  });
  await createStaticRole(mount, 'svc', staticUser);
  if (options.staticOnRoot) await createStaticRole(mount, 'rootsvc', admin);
  return { mount, admin, adminPassword, staticUser, journal: join(work, `${mount}.journal.jsonl`), pgbed };
}

/** Undefined when `user` logs in (over TLS when the testbed serves it), else the server's or driver's message. */
async function loginError(
  user: string,
  password: string,
  pgbed = db,
  ssl = pgbed.clientSsl,
): Promise<string | undefined> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port: pgbed.port,
    user,
    password,
    database: 'postgres',
    connectionTimeoutMillis: 5_000,
    ssl,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function canLogin(user: string, password: string, pgbed = db): Promise<boolean> {
  return (await loginError(user, password, pgbed)) === undefined;
}

/** Fresh dynamic credentials from Vault log in (proves Vault's root works). */
async function freshCredsLogIn(fx: Fixture): Promise<boolean> {
  const { body } = await api('GET', `${fx.mount}/creds/ro`);
  const ok = await canLogin(body.data.username, body.data.password, fx.pgbed);
  await api('POST', 'sys/leases/revoke', { lease_id: body.lease_id });
  return ok;
}

async function probe(fx: Fixture): Promise<number> {
  const { status } = await bootstrapRequest(vault.addr, 'POST', `${fx.mount}/reset/pg`, {
    token: vault.rootToken,
    okStatuses: [204, 400, 500],
  });
  return status;
}

const cliArgs = (fx: Fixture, ...extra: string[]) => [
  'runbook',
  'rotate-root',
  '--mount',
  fx.mount,
  '--connection',
  'pg',
  '--journal',
  fx.journal,
  ...extra,
];
const env = (token = vault.rootToken) => ({ VAULT_ADDR: vault.addr, VAULT_TOKEN: token });

function assertNoSecrets(texts: string[], secrets: string[]): void {
  for (const secret of secrets.filter((s) => s.length >= 4)) {
    for (const text of texts) assert.ok(!text.includes(secret), `a secret value leaked: ${secret.slice(0, 3)}…`);
  }
}

const events = (records: JournalRecord[], event: string, step?: string) =>
  records.filter((r) => r.event === event && (step === undefined || ('step' in r && r.step === step)));

async function writePasswordFile(name: string, password: string): Promise<string> {
  const file = join(work, name);
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return file;
}

test(
  onServer(
    'happy path: rotates the root, old root no longer logs in, fresh dynamic creds do; journal and output hold no ' +
      'secrets',
  ),
  async () => {
    const fx = await setup();
    const svcBefore = (await api('GET', `${fx.mount}/static-roles/svc`)).body.data.last_vault_rotation;
    assert.ok(await canLogin(fx.admin, fx.adminPassword));
    const r = await runCli(cliArgs(fx, '--yes', '--log-level', 'debug'), env());
    assert.equal(r.code, 0, r.all);
    assert.match(r.stdout, /Runbook rotate-root: COMPLETED/);
    assert.match(r.stdout, new RegExp(`Journal: ${fx.journal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(r.stdout, /dynamic role ro: OK/);
    assert.match(r.stdout, /static role svc: OK/);
    // A live run speaks of what it did and will do, not of what it would do.
    assert.match(r.stdout, new RegExp(`=> completed: POSTed ${fx.mount}/rotate-root/pg: rotated`));
    assert.match(r.stdout, new RegExp(`· will POST ${fx.mount}/rotate-root/pg`));
    assert.doesNotMatch(r.stdout, /\bwould\b/);
    assert.equal(await canLogin(fx.admin, fx.adminPassword), false, 'the old root password must no longer log in');
    assert.ok(await freshCredsLogIn(fx), 'fresh dynamic credentials log in');
    const svcAfter = (await api('GET', `${fx.mount}/static-roles/svc`)).body.data.last_vault_rotation;
    assert.equal(svcAfter, svcBefore, 'no static role is rotated unless named as a canary');

    const records = await readJournal(fx.journal);
    for (const step of rotateRootRunbook.steps)
      assert.ok(
        events(records, 'step-completed', step.id).length + events(records, 'step-skipped', step.id).length === 1,
        step.id,
      );
    assert.equal(events(records, 'action-started', 'rotate-root').length, 1);
    assert.equal(records.at(-1)?.event, 'run-finished');
    assert.ok(records.every((rec) => rec.actor.user && rec.actor.vault === 'root'));
    const journalText = await readFile(fx.journal, 'utf8');
    assertNoSecrets([journalText, r.all], [fx.adminPassword, vault.rootToken, 'initial-']);
    assert.ok(!/"password"\s*:/.test(journalText));
  },
);

test(onServer('dry run prints a plan an on-call engineer can follow and changes nothing'), async () => {
  const fx = await setup();
  const r = await runCli(cliArgs(fx, '--dry-run'), env());
  assert.equal(r.code, 0, r.all);
  console.log(r.stdout);
  for (const step of rotateRootRunbook.steps) assert.match(r.stdout, new RegExp(`\\(${step.id}\\)`));
  assert.match(r.stdout, new RegExp(`would POST ${fx.mount}/rotate-root/pg`));
  assert.match(r.stdout, /gate: type "rotate pg" to confirm \(or --yes\)/);
  assert.match(r.stdout, /path: ROTATE/);
  assert.match(r.stdout, /dry run: nothing was changed/);
  assert.ok(!existsSync(fx.journal), 'a dry run writes no journal');
  assert.ok(await canLogin(fx.admin, fx.adminPassword), 'root not rotated');
});

test(onServer('a connection as the shared human root "postgres" is flagged with advice (dry run)'), async () => {
  const fx = await setup({ username: 'postgres' });
  const r = await runCli(cliArgs(fx, '--dry-run', '--output', 'json'), env());
  assert.equal(r.code, 0, r.all);
  const report = r.json();
  assert.equal(report.facts.preflight.sharedHumanRoot, true);
  assert.ok(report.warnings.some((w: string) => /shared human root.*Give Vault its own admin user/.test(w)));
  assert.ok(report.warnings.some((w: string) => /a real run refuses without --allow-shared-root/.test(w)));
  // A real run, even with --yes, refuses before anything changes unless the flag says Vault alone owns it.
  const refused = await runCli(cliArgs(fx, '--yes'), env());
  assert.equal(refused.code, 2, refused.all);
  assert.match(
    refused.stderr,
    /^error: refusing to rotate: the connection logs in as postgres, .*--allow-shared-root/m,
  );
  assert.equal(refused.stderr.trim().split('\n').length, 1, 'one line');
  const records = await readJournal(fx.journal);
  assert.equal(events(records, 'step-failed', 'preflight').length, 1);
  assert.equal(events(records, 'action-started').length, 0);
  assert.ok(await canLogin('postgres', db.password), 'the shared root is untouched');
  assertNoSecrets([r.all, refused.all], [db.password]);
});

test(onServer('a static role on the root user is refused before anything changes'), async () => {
  const fx = await setup({ staticOnRoot: true });
  const r = await runCli(cliArgs(fx, '--yes'), env());
  assert.equal(r.code, 3, r.all);
  assert.match(r.stderr, /refusing: static role rootsvc manages vault_admin_\d+, the connection's root user/);
  const records = await readJournal(fx.journal);
  assert.equal(events(records, 'step-failed', 'preflight').length, 1);
  assert.equal(events(records, 'action-started').length, 0);
});

test(
  onServer(
    'root password changed directly in PostgreSQL: preflight detects it and the re-bootstrap path restores the ' +
      'connection',
  ),
  async () => {
    const fx = await setup();
    const dbaPassword = `D${randomBytes(12).toString('hex')}`;
    await db.query(`ALTER ROLE ${fx.admin} PASSWORD '${dbaPassword}'`);
    assert.equal(await probe(fx), 500, 'Vault can no longer connect');

    // Without a password source the re-bootstrap cannot proceed (not a terminal): exit 2, nothing written.
    const noPassword = await runCli(cliArgs(fx, '--yes'), env());
    assert.equal(noPassword.code, 2, noPassword.all);
    assert.match(noPassword.stderr, /re-bootstrap needs the current root password.*--password-file/);
    assert.match(
      noPassword.stdout,
      /connection probe \(reset\/\): BROKEN: Vault cannot log in to the database as vault_admin_\d+ with the root password it holds \(.*password authentication failed.*\), although 127\.0\.0\.1:\d+ accepts connections/,
    );
    assert.match(noPassword.stdout, /path: RE-BOOTSTRAP/);

    const passwordFile = await writePasswordFile('dba-password', dbaPassword);
    const r = await runCli(cliArgs(fx, '--yes', '--resume', '--password-file', passwordFile), env());
    assert.equal(r.code, 0, r.all);
    assert.match(r.stdout, /\[done\] Preflight/);
    assert.match(r.stdout, /old password rejected/);
    assert.equal(await probe(fx), 204, 'connection restored');
    assert.ok(await freshCredsLogIn(fx));
    assert.equal(
      await canLogin(fx.admin, dbaPassword),
      false,
      'after the offered rotation only Vault knows the password',
    );
    const records = await readJournal(fx.journal);
    assert.equal(events(records, 'step-completed', 'rebootstrap').length, 1);
    assert.equal(events(records, 'step-skipped', 'health-before').length, 1);
    assert.equal(events(records, 'action-started', 'rotate-root').length, 1);
    assertNoSecrets(
      [await readFile(fx.journal, 'utf8'), r.all, noPassword.all],
      [dbaPassword, fx.adminPassword, vault.rootToken],
    );
  },
);

test(onServer('a wrong re-bootstrap password is refused by verify_connection and changes nothing'), async () => {
  const fx = await setup();
  const dbaPassword = `D${randomBytes(12).toString('hex')}`;
  await db.query(`ALTER ROLE ${fx.admin} PASSWORD '${dbaPassword}'`);
  const wrong = `W${randomBytes(12).toString('hex')}`;
  const wrongFile = await writePasswordFile('wrong-password', wrong);
  const configBefore = (await api('GET', `${fx.mount}/config/pg`)).body.data;

  const r = await runCli(cliArgs(fx, '--yes', '--password-file', wrongFile), env());
  assert.equal(r.code, 3, r.all);
  assert.match(
    r.stderr,
    /Vault refused the password: verify_connection could not log in as vault_admin_\d+ .*nothing was changed/,
  );
  assert.deepEqual((await api('GET', `${fx.mount}/config/pg`)).body.data, configBefore);
  assert.equal(await probe(fx), 500, 'still broken: the wrong password was not stored');
  assert.ok(await canLogin(fx.admin, dbaPassword), 'the database root is untouched');
  let records = await readJournal(fx.journal);
  assert.equal(events(records, 'action-started', 'rotate-root').length, 0);
  const failed = events(records, 'step-failed', 'rebootstrap')[0];
  assert.ok(failed && failed.event === 'step-failed' && failed.stateUnchanged);

  const rightFile = await writePasswordFile('right-password', dbaPassword);
  const resumed = await runCli(cliArgs(fx, '--yes', '--resume', '--password-file', rightFile), env());
  assert.equal(resumed.code, 0, resumed.all);
  assert.ok(await freshCredsLogIn(fx));
  records = await readJournal(fx.journal);
  assert.equal(events(records, 'action-started', 'rotate-root').length, 1);
  assertNoSecrets(
    [await readFile(fx.journal, 'utf8'), r.all, resumed.all],
    [wrong, dbaPassword, fx.adminPassword, vault.rootToken],
  );
});

test(
  onServer('a gate in a non-interactive run without --yes exits 4 naming the gate; --resume --yes rotates once'),
  async () => {
    const fx = await setup();
    const r = await runCli(cliArgs(fx), env());
    assert.equal(r.code, 4, r.all);
    assert.match(r.stderr, /step rotate-root needs a typed confirmation \("rotate pg"\).*--yes/);
    // Waiting at a gate is not a failure: the step's status is the run's result.
    assert.match(r.stdout, /Runbook rotate-root: NEEDS-CONFIRMATION/);
    assert.match(r.stdout, /^ +5\. rotate-root +needs-confirmation$/m);
    assert.match(
      r.stdout,
      new RegExp(
        `Continue with:\\n  vault-ops runbook rotate-root --mount ${fx.mount} --connection pg --journal \\S+ --resume`,
      ),
    );
    assert.ok(await canLogin(fx.admin, fx.adminPassword), 'not rotated');
    let records = await readJournal(fx.journal);
    assert.equal(events(records, 'gate', 'rotate-root').length, 1);
    assert.equal(
      records.at(-1)?.event === 'run-finished' && records.at(-1)?.event === 'run-finished'
        ? (records.at(-1) as { result: string }).result
        : '',
      'needs-confirmation',
    );
    const resumed = await runCli(cliArgs(fx, '--resume', '--yes'), env());
    assert.equal(resumed.code, 0, resumed.all);
    assert.match(resumed.stdout, /\[done\] Preflight/);
    records = await readJournal(fx.journal);
    assert.equal(events(records, 'action-started', 'rotate-root').length, 1);
    assert.equal(await canLogin(fx.admin, fx.adminPassword), false);
  },
);

/** A Vault API that records every call and every password Vault hands out. */
async function recordingVault() {
  const client = new VaultClient(
    await resolveConnection({ vaultAddr: vault.addr, allowInsecureHttp: false, requestTimeoutSeconds: 30 }),
    vault.rootToken,
  );
  const calls: string[] = [];
  const passwords: string[] = [];
  const api = {
    async read(path: string, options?: object) {
      calls.push(`GET ${path}`);
      const body = (await client.read(path, options)) as { data?: { password?: string } };
      if (body?.data?.password) passwords.push(body.data.password);
      return body;
    },
    async write(path: string, body?: unknown, options?: object) {
      calls.push(`POST ${path}`);
      return client.write(path, body, options);
    },
    async list(path: string, options?: object) {
      calls.push(`LIST ${path}`);
      return client.list(path, options);
    },
  } as unknown as VaultApi;
  return { api, calls, passwords };
}

const noPassword = {
  unavailable: () => 'not in this test',
  read: async () => {
    throw new VaultOpsError('usage', 'no password in this test');
  },
};
const notInteractive = async () => {
  throw new VaultOpsError('confirmation', 'not interactive');
};

test(onServer('killed after each step (library hook), then --resume: continues and never rotates twice'), async () => {
  for (const step of rotateRootRunbook.steps) {
    const fx = await setup();
    const { api: vaultApi, calls, passwords } = await recordingVault();
    const secrets = new SecretRegistry();
    const rendered: string[] = [];
    const input = {
      options: RotateRootOptionsSchema.parse({ mount: fx.mount, connection: 'pg', yes: true, journal: fx.journal }),
      vault: vaultApi,
      confirm: notInteractive,
      rootPassword: noPassword,
      actor: { user: 'test' },
      secrets,
      onEvent: (e: RunbookEvent) => rendered.push(JSON.stringify(e)),
    };
    const killed = await runRotateRoot({
      ...input,
      hooks: {
        afterStep: (id) => {
          if (id === step.id) throw new Error(`killed after ${id}`);
        },
      },
    }).then(
      (report) => `finished ${report.result}: ${report.error?.message}`,
      (err: Error) => err.message,
    );
    assert.equal(killed, `killed after ${step.id}`);
    const records = await readJournal(fx.journal);
    assert.notEqual(records.at(-1)?.event, 'run-finished', 'a kill leaves the run unfinished');
    const report = await runRotateRoot({ ...input, options: { ...input.options, resume: true } });
    assert.equal(report.result, 'completed', `${step.id}: ${report.error?.message}`);
    const rotations = calls.filter((c) => c === `POST ${fx.mount}/rotate-root/pg`).length;
    assert.equal(rotations, 1, `killed after ${step.id}: rotate-root POSTed ${rotations} times`);
    const index = rotateRootRunbook.steps.findIndex((s) => s.id === step.id);
    // Steps the first run skipped (no store, the rotate path) stay "skipped"; the others are "already-done".
    const skipped = new Set(['backup-before', 'rebootstrap', 'backup-after']);
    for (const s of report.steps.slice(0, index + 1))
      assert.equal(s.status, skipped.has(s.id) ? 'skipped' : 'already-done', `${s.id} after a kill after ${step.id}`);
    assert.equal(await canLogin(fx.admin, fx.adminPassword), false);
    assert.ok(passwords.length >= 2, 'the checks used issued credentials');
    // Check credentials are revoked by the path form only (the policy grants no other).
    const revokes = calls.filter((c) => c.startsWith('POST sys/leases/revoke'));
    assert.ok(
      revokes.length >= 1 && revokes.every((c) => c.startsWith(`POST sys/leases/revoke/${fx.mount}/creds/ro/`)),
      revokes.join(', '),
    );
    assertNoSecrets(
      [await readFile(fx.journal, 'utf8'), ...rendered],
      [...passwords, fx.adminPassword, vault.rootToken],
    );
  }
});

/** Run the library in a child process that SIGKILLs itself at a chosen point. */
async function killedChild(fx: Fixture, mode: 'after-step' | 'mid-rotate', step = ''): Promise<NodeJS.Signals | null> {
  const script = join(work, `child-${fx.mount}.mts`);
  const src = (p: string) => JSON.stringify(join(repoRoot, p));
  await writeFile(
    script,
    `import { runRotateRoot, RotateRootOptionsSchema } from ${src('src/rotation/db-root/index.ts')};
import { VaultClient } from ${src('src/vault/client.ts')};
import { resolveConnection } from ${src('src/vault/connection.ts')};
import { SecretRegistry } from ${src('src/observability/secret-registry.ts')};
const [mode, step, mount, journal] = process.argv.slice(2);
const connection = { vaultAddr: process.env.VAULT_ADDR, allowInsecureHttp: false, requestTimeoutSeconds: 30 };
const client = new VaultClient(await resolveConnection(connection), process.env.VAULT_TOKEN);
const vault = {
  read: (p, o) => client.read(p, o),
  list: (p, o) => client.list(p, o),
  async write(p, b, o) {
    const r = await client.write(p, b, o);
    if (mode === 'mid-rotate' && p.endsWith('/rotate-root/pg')) process.kill(process.pid, 'SIGKILL');
    return r;
  },
};
await runRotateRoot({
  options: RotateRootOptionsSchema.parse({ mount, connection: 'pg', yes: true, journal }),
  vault,
  confirm: async () => false,
  rootPassword: { unavailable: () => 'none', read: async () => '' },
  actor: { user: 'child' },
  secrets: new SecretRegistry(),
  hooks: { afterStep: (id) => { if (mode === 'after-step' && id === step) process.kill(process.pid, 'SIGKILL'); } },
});
process.exit(0);
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script, mode, step, fx.mount, fx.journal], {
    cwd: repoRoot,
    env: { ...process.env, ...env() },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) =>
    child.on('exit', (c, s) => res([c, s])),
  );
  assert.equal(signal, 'SIGKILL', `child exited ${code} without being killed: ${stderr}`);
  return signal;
}

async function resumeWithCliProcess(fx: Fixture): Promise<CliResult & { code: number }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/entry.ts', ...cliArgs(fx, '--resume', '--yes', '--output', 'json')],
    {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env() },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number>((res) => child.on('exit', (c) => res(c ?? -1)));
  return { code, stdout, stderr, all: stdout + stderr, json: () => JSON.parse(stdout) };
}

test(
  onServer('process SIGKILLed after health-before and after rotate-root, resumed by the CLI process: one rotation'),
  async () => {
    for (const step of ['health-before', 'rotate-root']) {
      const fx = await setup();
      await killedChild(fx, 'after-step', step);
      const before = await readJournal(fx.journal);
      assert.equal(before.at(-1)?.event, 'step-completed');
      const r = await resumeWithCliProcess(fx);
      assert.equal(r.code, 0, r.all);
      const report = r.json();
      assert.equal(report.result, 'completed');
      assert.equal(report.steps.find((s: { id: string }) => s.id === step).status, 'already-done');
      const records = await readJournal(fx.journal);
      assert.equal(events(records, 'action-started', 'rotate-root').length, 1, `killed after ${step}`);
      assert.equal(await canLogin(fx.admin, fx.adminPassword), false);
      assert.ok(await freshCredsLogIn(fx));
      assertNoSecrets([await readFile(fx.journal, 'utf8'), r.all], [fx.adminPassword, vault.rootToken]);
    }
  },
);

test(
  onServer(
    'process SIGKILLed right after the rotate-root POST (completion never journaled): resume verifies and does not ' +
      'rotate again',
  ),
  async () => {
    const fx = await setup();
    await killedChild(fx, 'mid-rotate');
    let records = await readJournal(fx.journal);
    assert.equal(records.at(-1)?.event, 'action-started');
    assert.equal(await canLogin(fx.admin, fx.adminPassword), false, 'the POST went through before the kill');
    const r = await resumeWithCliProcess(fx);
    assert.equal(r.code, 0, r.all);
    const report = r.json();
    const rotate = report.steps.find((s: { id: string }) => s.id === 'rotate-root');
    assert.equal(rotate.status, 'recovered');
    assert.ok(rotate.warnings.some((w: string) => /interrupted.*not repeated/.test(w)));
    // What is known: Vault holds a working root; whether the POST landed is not (never "OK with the new root").
    assert.match(rotate.summary, /whether the interrupted rotate-root POST reached Vault is unknown/);
    assert.doesNotMatch(rotate.summary, /with the new root/);
    records = await readJournal(fx.journal);
    assert.equal(events(records, 'action-started', 'rotate-root').length, 1);
    assert.ok(await freshCredsLogIn(fx));
  },
);

test(onServer('unknown mount and unknown connection: clear errors, journaled'), async () => {
  const fx = await setup();
  const badMount = await runCli(
    [
      'runbook',
      'rotate-root',
      '--mount',
      'nosuchmount',
      '--connection',
      'pg',
      '--journal',
      join(work, 'badmount.jsonl'),
      '--yes',
    ],
    env(),
  );
  assert.equal(badMount.code, 1, badMount.all);
  assert.match(
    badMount.stderr,
    /mount nosuchmount has no database connection pg: it is not a database secrets engine mount/,
  );
  const badConn = await runCli(
    [
      'runbook',
      'rotate-root',
      '--mount',
      fx.mount,
      '--connection',
      'nope',
      '--journal',
      join(work, 'badconn.jsonl'),
      '--yes',
    ],
    env(),
  );
  assert.equal(badConn.code, 1, badConn.all);
  assert.match(
    badConn.stderr,
    new RegExp(`connection nope does not exist on mount ${fx.mount} \\(connections there: pg\\)`),
  );
  for (const file of ['badmount.jsonl', 'badconn.jsonl']) {
    const records = await readJournal(join(work, file));
    const failed = events(records, 'step-failed', 'preflight')[0];
    assert.ok(failed && failed.event === 'step-failed' && failed.error.code === 'not-found', file);
  }
});

test(
  onServer(
    'a token without the needed capabilities gets one list of what is missing; the least-privilege policy suffices',
  ),
  async () => {
    const fx = await setup();
    await api('POST', `sys/policies/acl/weak-${fx.mount}`, {
      policy:
        `path "${fx.mount}/config/pg" { capabilities = ["read"] }\npath "${fx.mount}/roles/*" { capabilities = ` +
        `["read", "list"] }`,
    });
    const weak = (await api('POST', 'auth/token/create', { policies: [`weak-${fx.mount}`], ttl: '10m' })).body.auth
      .client_token as string;
    const r = await runCli(cliArgs(fx, '--yes'), env(weak));
    assert.equal(r.code, 1, r.all);
    assert.match(
      r.stderr,
      /the token lacks list on db\d+\/static-roles\/, update on db\d+\/reset\/pg, update on db\d+\/rotate-root\/pg: grant the runbook's policy/,
    );
    const records = await readJournal(fx.journal);
    const failed = events(records, 'step-failed', 'preflight')[0];
    assert.ok(failed && failed.event === 'step-failed' && failed.error.code === 'vault-permission');
    assertNoSecrets([r.all, await readFile(fx.journal, 'utf8')], [weak]);

    // A policy generated before role ro existed (no revoke path for it): the preflight names what is missing, before
    // issuing anything.
    await api('POST', `sys/policies/acl/stale-${fx.mount}`, {
      policy: rotateRootPolicy(fx.mount, 'pg', { dynamicRoles: [] }),
    });
    const stale = (await api('POST', 'auth/token/create', { policies: [`stale-${fx.mount}`], ttl: '10m' })).body.auth
      .client_token as string;
    const staleRun = await runCli(cliArgs(fx, '--yes', '--journal', join(work, `${fx.mount}-stale.jsonl`)), env(stale));
    assert.equal(staleRun.code, 1, staleRun.all);
    assert.match(
      staleRun.stderr,
      new RegExp(
        `^error: .*the token lacks update on sys/leases/revoke/${fx.mount}/creds/ro/: grant the runbook's policy ` +
          `\\(vault-ops setup policies --job rotate-root`,
        'm',
      ),
    );
    assert.equal(staleRun.stderr.trim().split('\n').length, 1, 'one line');
    assert.equal(
      (
        await bootstrapRequest(vault.addr, 'LIST', `sys/leases/lookup/${fx.mount}/creds/ro/`, {
          token: vault.rootToken,
          okStatuses: [200, 404],
        })
      ).status,
      404,
      'no credentials were issued',
    );

    // The README's policy (no sudo): the run completes and says the lease count was skipped.
    await api('POST', `sys/policies/acl/rr-${fx.mount}`, {
      policy: rotateRootPolicy(fx.mount, 'pg', { dynamicRoles: ['ro'] }),
    });
    const good = (await api('POST', 'auth/token/create', { policies: [`rr-${fx.mount}`], ttl: '10m' })).body.auth
      .client_token as string;
    const ok = await runCli(cliArgs(fx, '--yes', '--journal', join(work, `${fx.mount}-lp.jsonl`)), env(good));
    assert.equal(ok.code, 0, ok.all);
    assert.match(ok.stdout, /leases under db\d+\/creds\/: skipped \(listing sys\/leases\/lookup needs sudo\)/);
    assert.equal(await canLogin(fx.admin, fx.adminPassword), false);
    // With the optional sudo block the count is shown.
    await api('POST', `sys/policies/acl/rrl-${fx.mount}`, {
      policy: rotateRootPolicy(fx.mount, 'pg', { dynamicRoles: ['ro'], leaseCount: true }),
    });
    const sudo = (await api('POST', 'auth/token/create', { policies: [`rrl-${fx.mount}`], ttl: '10m' })).body.auth
      .client_token as string;
    const counted = await runCli(cliArgs(fx, '--dry-run'), env(sudo));
    assert.equal(counted.code, 0, counted.all);
    assert.match(counted.stdout, /leases under db\d+\/creds\/: \d+/);
    assertNoSecrets([ok.all, counted.all], [good, sudo]);
  },
);

test(onServer('database down: preflight says so, nothing is attempted, journal records it'), async () => {
  const second = await startPostgres();
  try {
    const fx = await setup({ pgbed: second });
    await second.stop();
    const r = await runCli(cliArgs(fx, '--yes'), env());
    assert.equal(r.code, 3, r.all);
    assert.match(
      r.stderr,
      /the database is down or unreachable.*refuses connections \(ECONNREFUSED\).*bring the database back/,
    );
    const records = await readJournal(fx.journal);
    assert.equal(events(records, 'step-failed', 'preflight').length, 1);
    assert.equal(events(records, 'action-started').length, 0);
  } finally {
    await second.stop();
  }
});

test(
  onServer(
    '--snapshot-store and --record-to: a snapshot before (none was recent), one after holding the new root, and a ' +
      'rotation record without secrets',
  ),
  async () => {
    const fx = await setup();
    const store = join(work, `store-${fx.mount}`);
    // The deployment encrypts its snapshots (VAULT_OPS_ENCRYPT_TO): the runbook's are encrypted too.
    const recipient = await identityToRecipient(await generateIdentity());
    const r = await runCli(cliArgs(fx, '--yes', '--snapshot-store', store, '--record-to', store, '--output', 'json'), {
      ...env(),
      VAULT_OPS_ENCRYPT_TO: recipient,
    });
    assert.equal(r.code, 0, r.all);
    const report = r.json();
    const before = report.facts['backup-before'].snapshotTaken as string;
    const afterId = report.facts['backup-after'].snapshotAfter as string;
    assert.ok(before && afterId && afterId !== before, `${before} then ${afterId}`);
    // Newest first by creation time (ids order only to the second).
    const catalogue = await listCatalogue(await openSnapshotStore(store), UNSIGNED_STORE);
    assert.deepEqual(
      catalogue.snapshots.map((m) => m.id),
      [afterId, before],
    );
    assert.ok(catalogue.snapshots[0]!.createdAt > catalogue.snapshots[1]!.createdAt);
    for (const m of catalogue.snapshots)
      assert.deepEqual(
        m.encryption,
        { type: 'age', recipients: [recipient] },
        `${m.id} is encrypted like snapshot save's`,
      );
    const records = await listRotationRecords(await openSnapshotStore(store));
    assert.equal(records.length, 1);
    assert.equal(records[0]?.kind, 'database-root');
    assert.equal(records[0]?.mount, fx.mount);
    assert.equal(records[0]?.path, `${fx.mount}/config/pg`);
    assert.equal(records[0]?.rotationId, report.facts['rotate-root'].rotationId);
    assert.equal(await canLogin(fx.admin, fx.adminPassword), false);

    // A second rotation right after: the snapshot is recent, so none is taken before.
    const again = await runCli(
      cliArgs(fx, '--yes', '--snapshot-store', store, '--journal', join(work, `${fx.mount}-again.jsonl`)),
      env(),
    );
    assert.equal(again.code, 0, again.all);
    assert.match(again.stdout, new RegExp(`newest good snapshot in .*: ${afterId} \\(\\d+ min old, holds db\\d+/`));
    assert.match(again.stdout, /recent enough: nothing to take/);
    const recordFiles = (await listRotationRecords(await openSnapshotStore(store)))
      .map((rec) => JSON.stringify(rec))
      .join('\n');
    assertNoSecrets([recordFiles, r.all, again.all], [fx.adminPassword, vault.rootToken]);
  },
);

/** PostgreSQL's SSLRequest (length 8, code 80877103): the only thing a client sends before TLS. */
const SSL_REQUEST_HEX = '0000000804d2162f';

test(
  onServer(
    'PostgreSQL without TLS and no sslmode: the login checks refuse before any password is sent; with ' +
      'sslmode=disable they work in plain text',
  ),
  async () => {
    const relay = await startRecordingRelay({ host: '127.0.0.1', port: db.port });
    try {
      // The testbed's default PostgreSQL has no TLS at all (ssl=off). Vault itself connects (pgx's
      // prefer falls back); vault-ops' checks go through the relay, which records what they send.
      const fx = await setup({ query: '' });
      const via = ['--login-check-address', `127.0.0.1:${relay.port}`];
      const refused = await runCli(cliArgs(fx, '--yes', ...via), env());
      assert.equal(refused.code, 2, refused.all);
      assert.match(
        refused.stderr,
        /^error: login checks of db\d+\/config\/pg: 127\.0\.0\.1:\d+ offers no TLS and the connection_url names no sslmode: refusing to send a password in clear text \(no password was sent\); enable TLS on the database, or write sslmode=disable into the connection_url if plain text is acceptable there$/m,
      );
      assert.equal(refused.stderr.trim().split('\n').length, 1, 'one line');
      assert.deepEqual(
        relay.clientBytes().map((b) => b.toString('hex')),
        [SSL_REQUEST_HEX],
        'one connection, and only the SSLRequest on it: no user name, no password',
      );
      const records = await readJournal(fx.journal);
      const failed = events(records, 'step-failed', 'preflight')[0];
      assert.ok(failed && failed.event === 'step-failed' && failed.error.code === 'insecure');
      assert.equal(events(records, 'action-started').length, 0);
      assert.equal(
        (
          await bootstrapRequest(vault.addr, 'LIST', `sys/leases/lookup/${fx.mount}/creds/ro/`, {
            token: vault.rootToken,
            okStatuses: [200, 404],
          })
        ).status,
        404,
        'no credentials were issued',
      );
      assert.ok(await canLogin(fx.admin, fx.adminPassword), 'nothing rotated');

      // The check itself refuses too (a server that lost TLS after the preflight, a resumed run): real credentials,
      // only the SSLRequest sent.
      const issued = (await api('GET', `${fx.mount}/creds/ro`)).body;
      const sentBefore = relay.clientBytes().length;
      await assert.rejects(
        new PostgresLoginCheck({ timeoutMs: 5_000 }).check(
          { host: '127.0.0.1', port: relay.port },
          { username: issued.data.username, password: issued.data.password },
        ),
        (err: unknown) =>
          isVaultOpsError(err) &&
          err.code === 'insecure' &&
          /offers no TLS .*no password was sent/.test(err.message) &&
          !err.message.includes(issued.data.password),
      );
      assert.deepEqual(
        relay
          .clientBytes()
          .slice(sentBefore)
          .map((b) => b.toString('hex')),
        [SSL_REQUEST_HEX],
      );
      await api('PUT', `sys/leases/revoke/${issued.lease_id}`);

      // sslmode=disable, written by the operator: the checks run in plain text, as asked.
      const plain = await setup({ query: 'sslmode=disable' });
      const sentBeforePlain = relay.clientBytes().length;
      const ok = await runCli(cliArgs(plain, '--yes', ...via), env());
      assert.equal(ok.code, 0, ok.all);
      assert.match(ok.stdout, /login checks: postgresql at 127\.0\.0\.1:\d+ in plain text \(sslmode=disable\)/);
      assert.match(ok.stdout, /dynamic role ro: OK \(logged in to 127\.0\.0\.1:\d+ as \S+ in plain text\)/);
      assert.match(ok.stdout, /static role svc: OK \(logged in to 127\.0\.0\.1:\d+ as svc_\d+ in plain text\)/);
      const plainConnections = relay
        .clientBytes()
        .slice(sentBeforePlain)
        .filter((b) => b.length > 0);
      assert.ok(
        plainConnections.some((b) => b.includes(Buffer.from(`user\0${plain.staticUser}\0`))),
        'the startup message crossed in clear, as sslmode=disable asks',
      );
      assert.ok(
        plainConnections.every((b) => b.subarray(0, 8).toString('hex') !== SSL_REQUEST_HEX),
        'no TLS attempted with sslmode=disable',
      );
      assert.equal(await canLogin(plain.admin, plain.adminPassword), false, 'rotated');
      assertNoSecrets(
        [refused.all, ok.all, await readFile(fx.journal, 'utf8'), await readFile(plain.journal, 'utf8')],
        [fx.adminPassword, plain.adminPassword, issued.data.password, vault.rootToken],
      );
    } finally {
      await relay.stop();
    }
  },
);

test(
  onServer(
    'PostgreSQL with TLS only (hostssl): checks without sslmode run over TLS; verify-full passes with the right ' +
      '--db-ca-cert and fails clearly with a wrong one',
  ),
  async () => {
    const certs = makeTestCertificates(work, 'pg-tls');
    const wrongCa = makeTestCertificates(work, 'other');
    const tlsDb = await startPostgres({ tls: certs });
    const relay = await startRecordingRelay({ host: '127.0.0.1', port: tlsDb.port });
    try {
      // The premise: this server rejects plain-text logins outright.
      assert.match(
        (await loginError('postgres', tlsDb.password, tlsDb, false)) ?? 'logged in',
        /no pg_hba\.conf entry .*no encryption/,
      );

      // No sslmode in the connection_url (Vault's pgx prefers TLS; so do vault-ops' checks, strictly).
      const fx = await setup({ pgbed: tlsDb, query: '' });
      const r = await runCli(cliArgs(fx, '--yes', '--login-check-address', `127.0.0.1:${relay.port}`), env());
      assert.equal(r.code, 0, r.all);
      assert.match(
        r.stdout,
        /login checks: postgresql at 127\.0\.0\.1:\d+ over TLSv1\.[23] \(no sslmode, read as TLS required: encrypted, server certificate not verified/,
      );
      assert.match(r.stdout, /dynamic role ro: OK \(logged in to 127\.0\.0\.1:\d+ as \S+ over TLS\)/);
      assert.match(r.stdout, /static role svc: OK \(logged in to 127\.0\.0\.1:\d+ as svc_\d+ over TLS\)/);
      const connections = relay.clientBytes().filter((b) => b.length > 0);
      assert.ok(connections.length >= 4, `probe, dynamic before and after, static: ${connections.length}`);
      for (const bytes of connections) {
        assert.equal(
          bytes.subarray(0, 8).toString('hex'),
          SSL_REQUEST_HEX,
          'each connection starts with the SSLRequest',
        );
        if (bytes.length > 8) assert.equal(bytes[8], 0x16, 'then a TLS handshake record');
        assert.ok(
          !bytes.includes(Buffer.from('user\0')) && !bytes.includes(Buffer.from(fx.staticUser)),
          'no startup message in clear',
        );
      }
      assert.equal(await canLogin(fx.admin, fx.adminPassword, tlsDb), false, 'rotated');

      // sslmode=verify-full (Vault verifies with sslrootcert; vault-ops with --db-ca-cert).
      const full = await setup({
        pgbed: tlsDb,
        query: `sslmode=verify-full&sslrootcert=${encodeURIComponent(certs.caFile)}`,
      });
      for (const [ca, pattern] of [
        [
          undefined,
          /TLS to the database at 127\.0\.0\.1:\d+ failed \(.+; sslmode=verify-full\): pass --db-ca-cert FILE with the CA that signed the database's certificate; no password was sent$/m,
        ],
        [
          wrongCa.caFile,
          /TLS to the database at 127\.0\.0\.1:\d+ failed \(.+; sslmode=verify-full\): check that --db-ca-cert \S+other-ca\.pem is the CA that signed the database's certificate; no password was sent$/m,
        ],
      ] as const) {
        const bad = await runCli(cliArgs(full, '--yes', ...(ca ? ['--db-ca-cert', ca] : [])), env());
        assert.equal(bad.code, 3, bad.all);
        assert.match(bad.stderr, new RegExp(`^error: login checks of db\\d+/config/pg: ${pattern.source}`, 'm'));
        assert.equal(bad.stderr.trim().split('\n').length, 1, 'one line');
        const records = await readJournal(full.journal);
        assert.equal(
          events(records, 'action-started').length,
          0,
          'stopped in the preflight: nothing issued, nothing rotated',
        );
        await rm(full.journal);
      }
      assert.ok(await canLogin(full.admin, full.adminPassword, tlsDb), 'not rotated');

      // The right CA, from the environment (VAULT_OPS_DB_CA_CERT): verified, checked, rotated.
      const good = await runCli(cliArgs(full, '--yes'), { ...env(), VAULT_OPS_DB_CA_CERT: certs.caFile });
      assert.equal(good.code, 0, good.all);
      assert.match(
        good.stdout,
        /over TLSv1\.[23] \(sslmode=verify-full: chain and host name 127\.0\.0\.1 verified against --db-ca-cert \S+pg-tls-ca\.pem\)/,
      );
      assert.match(good.stdout, /dynamic role ro: OK \(logged in to 127\.0\.0\.1:\d+ as \S+ over TLS\)/);
      assert.match(good.stdout, /static role svc: OK/);
      assert.equal(await canLogin(full.admin, full.adminPassword, tlsDb), false, 'rotated');
      assertNoSecrets(
        [r.all, good.all, await readFile(fx.journal, 'utf8'), await readFile(full.journal, 'utf8')],
        [fx.adminPassword, full.adminPassword, tlsDb.password, vault.rootToken],
      );
    } finally {
      await relay.stop();
      await tlsDb.stop();
    }
  },
);

/** The connection_url's query: sslmode=disable unless the test names one ('' for none at all). */
function queryOf(query: string | undefined): string {
  const q = query ?? 'sslmode=disable';
  return q ? `?${q}` : '';
}

test(
  onServer(
    'backup-before counts only a snapshot that holds the mount and whose last drill passed; otherwise it takes one',
  ),
  async () => {
    const store = join(work, `bb-store-${seq + 1}`);
    const save = async () => {
      const saved = await runCli(['snapshot', 'save', '--to', store, '--output', 'json'], env());
      assert.equal(saved.code, 0, saved.all);
      return saved.json().id as string;
    };
    const beforeMount = await save();
    const fx = await setup();
    const plan = async () => {
      const r = await runCli(cliArgs(fx, '--dry-run', '--snapshot-store', store), env());
      assert.equal(r.code, 0, r.all);
      return r.stdout;
    };
    let out = await plan();
    assert.match(out, new RegExp(`not counted: ${beforeMount} does not hold mount ${fx.mount}/`));
    assert.match(out, new RegExp(`no good snapshot holding ${fx.mount}/ in `));
    assert.match(out, /would take a snapshot now/);

    const withMount = await save();
    const repository = new SnapshotRepository(await openSnapshotStore(store));
    const drill = (passed: boolean, finishedAt: Date) =>
      repository.drills.write({
        snapshotId: withMount,
        finishedAt: finishedAt.toISOString(),
        passed,
        mode: 'recovery',
        server: {},
        checks: [{ name: 'restore', passed, detail: passed ? 'ok' : 'the restore failed' }],
        timings: { download: 0, start: 0, restore: 0, unseal: 0, checks: 0, total: 0 },
        rtoSeconds: 0,
        toolVersion: 'test',
      });
    await drill(false, new Date());
    out = await plan();
    assert.match(out, new RegExp(`not counted: ${withMount} failed its last restore drill`));
    assert.match(out, /would take a snapshot now/);

    await drill(true, new Date(Date.now() + 2_000));
    await repository.close();
    out = await plan();
    assert.match(
      out,
      new RegExp(`newest good snapshot in .*: ${withMount} \\(\\d+ min old, holds ${fx.mount}/, last drill passed\\)`),
    );
    assert.match(out, /recent enough: nothing to take/);

    // A real run behind a store holding only the pre-mount snapshot takes its own before rotating.
    const freshStore = join(work, `bb-fresh-${seq + 1}`);
    assert.equal((await runCli(['snapshot', 'save', '--to', freshStore], env())).code, 0);
    const fresh = await setup();
    const first = await runCli(cliArgs(fresh, '--yes', '--snapshot-store', freshStore, '--output', 'json'), env());
    assert.equal(first.code, 0, first.all);
    assert.ok(first.json().facts['backup-before'].snapshotTaken, 'a snapshot holding the mount was taken');
  },
);

test(
  onServer('Ctrl-C at a gate on a terminal: says what is done and how to continue; nothing of the step happened'),
  async () => {
    const fx = await setup();
    const cmd = [process.execPath, '--import', 'tsx', 'src/cli/entry.ts', ...cliArgs(fx)].join(' ');
    const child = spawn('script', ['-qec', cmd, '/dev/null'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env(), VAULT_OPS_LOG_LEVEL: 'warn', TERM: 'dumb' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    let typed = false;
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
      if (!typed && screen.includes('to continue (anything else stops)')) {
        typed = true;
        child.stdin.write('\x03');
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    clearTimeout(timer);
    screen = screen.replace(/\r/g, '');
    assert.ok(typed, screen);
    assert.equal(code, 4, screen);
    assert.match(
      screen,
      /interrupted \(Ctrl-C\) at the confirmation of step rotate-root: nothing of this step happened; done and journaled: preflight, health-before; continue with the same command and --resume/,
    );
    assert.match(screen, /^ +5\. rotate-root +interrupted$/m);
    assert.match(screen, new RegExp(`Continue with:\\n  vault-ops runbook rotate-root --mount ${fx.mount} .*--resume`));
    assert.ok(await canLogin(fx.admin, fx.adminPassword), 'not rotated');
    const records = await readJournal(fx.journal);
    const gate = events(records, 'gate', 'rotate-root')[0];
    assert.ok(gate && gate.event === 'gate' && gate.outcome === 'interrupted');
    assert.equal(events(records, 'action-started', 'rotate-root').length, 0);
    const resumed = await runCli(cliArgs(fx, '--resume', '--yes'), env());
    assert.equal(resumed.code, 0, resumed.all);
    assert.equal(await canLogin(fx.admin, fx.adminPassword), false);
    assertNoSecrets([screen, resumed.all], [fx.adminPassword, vault.rootToken]);
  },
);
