// The runbooks followed literally (issue 29): the `vault-ops` commands of rotate-root.md's "Before you
// start" and of restore.md's sections 2, 3, 5 and 6 are read from the markdown's code blocks and run
// against real servers, so that the pages keep matching the tool.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  addDynamicRole,
  configurePostgresConnection,
  mountDatabaseEngine,
  postgresLoginWorks,
} from '../helpers/database-engine.js';
import { runCli } from '../helpers/run-cli.js';
import { bootstrapRequest } from '../testbed/bootstrap-http.js';
import { startPostgres, type PostgresTestbed } from '../testbed/postgres.js';
import { onServer } from '../testbed/servers.js';
import { startVault, type VaultTestbed, rootRequest } from '../testbed/vault.js';

const runbooks = new URL('../../runbooks/', import.meta.url);
let vault: VaultTestbed;
let db: PostgresTestbed;
let dir: string;
let store: string;
const adminPassword = `A${randomBytes(12).toString('hex')}`;
const dbaPassword = `D${randomBytes(12).toString('hex')}`;

before(async () => {
  [vault, db] = await Promise.all([startVault(), startPostgres()]);
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-walkthrough-'));
  store = join(dir, 'store');
  await writeFile(join(dir, 'keys.txt'), `${vault.unsealKeys.join('\n')}\n`, { mode: 0o600 });
  // The testbed's --database: the engine the rotate-root runbook uses.
  const api = (method: string, path: string, body?: unknown) => rootRequest(vault, method, path, body);
  await db.query(`CREATE ROLE vault_admin WITH LOGIN CREATEROLE PASSWORD '${adminPassword}'`);
  await mountDatabaseEngine(api, vault, 'database');
  await configurePostgresConnection(api, db, {
    mount: 'database',
    connection: 'pg',
    username: 'vault_admin',
    password: adminPassword,
    mountIt: false,
  });
  await addDynamicRole(api, { mount: 'database', connection: 'pg', role: 'ro' });
});
after(async () => {
  await Promise.allSettled([vault?.stop(), db?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The `vault-ops …` lines of the sh code blocks in a section (`## 3.`, or a heading's first words). */
async function commandsIn(file: string, heading: string): Promise<string[][]> {
  const markdown = await readFile(new URL(file, runbooks), 'utf8');
  const section = markdown.split(/^## /m).find((s) => s.startsWith(heading));
  assert.ok(section, `${file} has a section "${heading}"`);
  const out: string[][] = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g))
    for (const line of block[1]!.replace(/\\\n\s*/g, ' ').split('\n')) {
      const command = line.replace(/#.*$/, '').trim();
      if (command.startsWith('vault-ops ')) out.push(command.split(/\s+/).slice(1));
    }
  assert.ok(out.length > 0, `${file} "${heading}" has vault-ops commands`);
  return out;
}

/** Shell variables and placeholders of the runbooks, as an on-call engineer fills them in. */
const fill = (argv: string[], values: Record<string, string>) =>
  argv.map((a) => values[a] ?? a.replace(/^"\$STORE"$/, store).replace(/^keys\.txt$/, join(dir, 'keys.txt')));

const env = () => ({
  VAULT_ADDR: vault.addr,
  VAULT_TOKEN: vault.rootToken,
  VAULT_OPS_VAULT_BINARY: vault.binary,
});

async function dynamicCredsWork(): Promise<boolean> {
  try {
    const { body } = await bootstrapRequest(vault.addr, 'GET', 'database/creds/ro', { token: vault.rootToken });
    return await postgresLoginWorks(db, body.data.username, body.data.password);
  } catch {
    return false;
  }
}

describe(onServer('the runbooks, followed literally'), () => {
  let before: string;
  const outputs: string[] = [];

  test('rotate-root.md, "Before you start": the dry run, then the same command for real', async () => {
    const [dryRun] = await commandsIn('rotate-root.md', 'Before you start');
    assert.ok(dryRun?.includes('--dry-run'));
    const plan = await runCli(dryRun!, env());
    outputs.push(plan.all);
    assert.equal(plan.code, 0, plan.all);
    assert.match(plan.stdout, /path: ROTATE/);
    // "Then run the same command without --dry-run", with the stores item 3 asks for (--yes: no terminal here).
    const real = dryRun!
      .filter((a) => a !== '--dry-run')
      .concat(['--yes', '--snapshot-store', store, '--record-to', store, '--journal', join(dir, 'rr.jsonl')]);
    const r = await runCli([...real, '--output', 'json'], env());
    outputs.push(r.all);
    assert.equal(r.code, 0, r.all);
    before = r.json().facts['backup-before'].snapshotTaken ?? r.json().facts['backup-before'].latestSnapshot;
    assert.ok(before);
    assert.ok(await dynamicCredsWork());
  });

  test('restore.md 2 (pick, drill), 3 (restore), 5 (validate), 6 (reconcile with the printed command)', async () => {
    for (const argv of await commandsIn('restore.md', '2. Pick')) {
      const r = await runCli(fill(argv, { '<ID>': before }), env());
      outputs.push(r.all);
      assert.equal(r.code, 0, `vault-ops ${argv.join(' ')}\n${r.all}`);
      if (argv[0] === 'verify') assert.match(r.stdout, /PASSED/);
    }
    const [restore] = await commandsIn('restore.md', '3. Run');
    // "In automation pass --yes".
    const r = await runCli([...fill(restore!, { '<ID>': before }), '--yes'], env());
    outputs.push(r.all);
    assert.equal(r.code, 0, r.all);
    const line = r.stdout.split('\n').find((l) => l.includes('database/config/pg'));
    assert.ok(line, r.stdout);
    const printed = /'(vault-ops runbook rotate-root [^']+)'/.exec(line)?.[1];
    assert.ok(printed, line);

    for (const argv of await commandsIn('restore.md', '5. Validate')) {
      const status = await runCli(argv, env());
      assert.equal(status.code, 0, status.all);
    }
    assert.equal(await dynamicCredsWork(), false, 'Vault holds the old root, as section 6 says');

    // Section 6: the DBA sets a NEW password, it goes into a 0600 file, the printed command runs.
    await db.query(`ALTER ROLE vault_admin PASSWORD '${dbaPassword}'`);
    const file = join(dir, 'dba-password');
    await writeFile(file, `${dbaPassword}\n`, { mode: 0o600 });
    const fixed = await runCli(
      [
        ...printed
          .split(/\s+/)
          .slice(1)
          .map((a) => (a === 'FILE' ? file : a)),
        '--yes',
        '--journal',
        join(dir, 'fix.jsonl'),
      ],
      env(),
    );
    outputs.push(fixed.all);
    assert.equal(fixed.code, 0, fixed.all);
    assert.ok(await dynamicCredsWork(), 'applications get working credentials again');
    for (const secret of [adminPassword, dbaPassword, vault.rootToken, ...vault.unsealKeys])
      for (const text of outputs) assert.ok(!text.includes(secret), `a secret leaked: ${secret.slice(0, 3)}…`);
  });
});
