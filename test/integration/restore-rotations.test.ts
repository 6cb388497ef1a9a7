import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { listRotationRecords, writeRotationRecord } from '../../src/repository/records.js';
import { openSnapshotStore } from '../../src/store/open-store.js';
import { addDynamicRole, configurePostgresConnection, mountDatabaseEngine } from '../helpers/database-engine.js';
import { runCli, type CliResult } from '../helpers/run-cli.js';
import { startPostgres, type PostgresTestbed } from '../testbed/postgres.js';
import { onServer } from '../testbed/servers.js';
import { startVault, type VaultTestbed, rootRequest } from '../testbed/vault.js';
import { postgresLoginWorks } from '../helpers/database-engine.js';

/**
 * Issue 29, items 1–4: a restore after `runbook rotate-root` reports the rotation truthfully whether
 * the snapshot is the run's "before", its "after", or older, reading the records from the store
 * rotate-root wrote them to (`--records-from`), one entry per connection, with a fix that works.
 */
let vault: VaultTestbed;
let db: PostgresTestbed;
let dir: string;
let snaps: string;
let recs: string;
const admin = 'vault_admin_rr';
const adminPassword = `A${randomBytes(12).toString('hex')}`;
const dbaPassword = `D${randomBytes(12).toString('hex')}`;

const api = (method: string, path: string, body?: unknown) => rootRequest(vault, method, path, body);
const env = () => ({ VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken });

before(async () => {
  [vault, db] = await Promise.all([startVault(), startPostgres()]);
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-restore-rotations-'));
  snaps = join(dir, 'snapshots');
  recs = join(dir, 'records');
  console.log(`testbed: ${vault.version}; ${db.version}`);
});
after(async () => {
  await Promise.allSettled([vault?.stop(), db?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Fresh dynamic credentials of role ro log in to the database (Vault's root works). */
async function dynamicCredsWork(): Promise<boolean> {
  let issued: { body: any };
  try {
    issued = await api('GET', 'database/creds/ro');
  } catch {
    return false;
  }
  const ok = await postgresLoginWorks(db, issued.body.data.username, issued.body.data.password);
  await api('PUT', `sys/leases/revoke/${issued.body.lease_id}`).catch(() => undefined);
  return ok;
}

async function save(): Promise<string> {
  const r = await runCli(['snapshot', 'save', '--to', snaps, '--output', 'json'], env());
  assert.equal(r.code, 0, r.all);
  return r.json().id as string;
}

const rotateRoot = (journal: string, ...extra: string[]) =>
  runCli(
    [
      'runbook',
      'rotate-root',
      '--mount',
      'database',
      '--connection',
      'pg',
      '--yes',
      '--snapshot-store',
      snaps,
      '--record-to',
      recs,
      '--journal',
      join(dir, journal),
      '--output',
      'json',
      ...extra,
    ],
    env(),
  );

async function restore(id: string, ...extra: string[]): Promise<CliResult> {
  return runCli(['restore', '--from', snaps, '--snapshot', id, '--no-safety-snapshot', ...extra], env());
}

/** Right after a restore the node may still be taking over as active. */
async function waitActive(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await api('GET', 'sys/mounts').then(
      () => true,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function assertNoSecrets(texts: string[]): void {
  for (const secret of [adminPassword, dbaPassword, vault.rootToken])
    for (const text of texts) assert.ok(!text.includes(secret), `a secret leaked: ${secret.slice(0, 3)}…`);
}

describe(onServer('restore after runbook rotate-root'), () => {
  let s0: string;
  let s1: string;
  let run1: { before: string; after: string; rotationId: string };
  let run2: { before: string; after: string; rotationId: string };
  const outputs: string[] = [];

  test('setup: a snapshot before the database mount, one with it, then two rotate-root runs', async () => {
    s0 = await save();
    await db.query(`CREATE ROLE ${admin} WITH LOGIN CREATEROLE PASSWORD '${adminPassword}'`);
    await mountDatabaseEngine(api, vault, 'database');
    await configurePostgresConnection(api, db, {
      mount: 'database',
      connection: 'pg',
      username: admin,
      password: adminPassword,
      mountIt: false,
    });
    await addDynamicRole(api, { mount: 'database', connection: 'pg', role: 'ro' });
    s1 = await save();
    for (const [i, journal] of ['run1.jsonl', 'run2.jsonl'].entries()) {
      const r = await rotateRoot(journal);
      outputs.push(r.all);
      assert.equal(r.code, 0, r.all);
      const facts = r.json().facts;
      const run = {
        before: (facts['backup-before'].snapshotTaken ?? facts['backup-before'].latestSnapshot) as string,
        after: facts['backup-after'].snapshotAfter as string,
        rotationId: facts['rotate-root'].rotationId as string,
      };
      if (i === 0) run1 = run;
      else run2 = run;
    }
    assert.equal(run2.before, run1.after, "run 2's snapshot before is run 1's after");
    assert.ok(await dynamicCredsWork());
    const records = await listRotationRecords(await openSnapshotStore(recs));
    assert.equal(records.length, 2);
    for (const record of records) {
      assert.equal(typeof record.raftIndex, 'number', 'the record carries the raft index of the rotation');
      assert.ok(record.clusterId);
      assert.ok(record.snapshotBefore && record.snapshotAfter);
    }
    // A resumed run that found the rotation interrupted records it as such (whether it happened is unknown).
    const store = await openSnapshotStore(recs);
    await writeRotationRecord(store, {
      time: new Date(),
      kind: 'database-root',
      mount: 'database',
      path: 'database/config/other',
      connection: 'other',
      rotationId: `interrupted-${new Date().toISOString()}`,
      clusterId: records[0]!.clusterId!,
      raftIndex: records[0]!.raftIndex!,
    });
    await store.close();
  });

  test("restoring a run's own snapshot after: no false alarm, though its record is newer by the clock", async () => {
    const r = await restore(run2.after, '--yes', '--records-from', recs, '--output', 'json');
    outputs.push(r.all);
    assert.equal(r.code, 0, r.all);
    const result = r.json();
    assert.deepEqual(result.rolledBackRotations, []);
    assert.equal(result.recordsRead.length, 2, 'the snapshot store and the records store');
    await waitActive();
    assert.ok(await dynamicCredsWork(), 'the restored root works: nothing to reconcile');
  });

  test('without --records-from the plan names the one store it read and where else records may be', async () => {
    const r = await restore(s1);
    outputs.push(r.all);
    assert.equal(r.code, 4, r.all);
    assert.match(r.stderr, new RegExp(`rotation records read from: file://${snaps}\\n`));
    assert.match(r.stderr, /no rotation recorded after the snapshot in these stores \(.*--records-from URL\)/);
  });

  test('a snapshot from before the database mount existed lists no rotation of it', async () => {
    const r = await restore(s0, '--records-from', recs);
    outputs.push(r.all);
    assert.equal(r.code, 4, r.all);
    assert.match(r.stderr, /mount\(s\) the snapshot does not hold \(database\) are not listed/);
    assert.doesNotMatch(r.stderr, /database\/config\/pg/);
  });

  test("restoring a run's snapshot before: the rotation is reported once, and the printed fix works", async () => {
    const r = await restore(run2.before, '--yes', '--records-from', recs);
    outputs.push(r.all);
    assert.equal(r.code, 0, r.all);
    assert.match(r.stdout, new RegExp(`rotation records read from: file://${snaps}, file://${recs}`));
    const lines = r.stdout.split('\n').filter((l) => /config\/pg/.test(l));
    assert.equal(lines.length, 1, r.stdout);
    assert.match(lines[0]!, /^ {4}database\/config\/pg \(database-root, rolled back, /);
    assert.doesNotMatch(r.stdout, /database\/database/);
    assert.doesNotMatch(r.stdout, /config\/other/, 'the interrupted record is older than this snapshot');
    const command =
      `vault-ops runbook rotate-root --mount database --connection pg --rebootstrap --password-file FILE ` +
      `--snapshot-store ${snaps} --record-to ${recs}`;
    assert.ok(lines[0]!.includes(`have the DBA set a NEW password`), lines[0]);
    assert.ok(lines[0]!.includes(`'${command}'`), lines[0]);
    await waitActive();
    assert.equal(await dynamicCredsWork(), false, 'Vault holds the old root: what the restore said');

    // The fix, as printed: the DBA sets a new password, the runbook re-bootstraps with it.
    await db.query(`ALTER ROLE ${admin} PASSWORD '${dbaPassword}'`);
    const file = join(dir, 'dba-password');
    await writeFile(file, `${dbaPassword}\n`, { mode: 0o600 });
    const fixed = await rotateRoot('fix.jsonl', '--rebootstrap', '--password-file', file);
    outputs.push(fixed.all);
    assert.equal(fixed.code, 0, fixed.all);
    assert.ok(await dynamicCredsWork());
  });

  test('an older snapshot: each rotated connection once; an interrupted run may not have rotated', async () => {
    const r = await restore(s1, '--yes', '--records-from', recs, '--output', 'json');
    outputs.push(r.all);
    assert.equal(r.code, 0, r.all);
    const rotations = r.json().rolledBackRotations as Array<Record<string, any>>;
    assert.deepEqual(rotations.map((x) => [x.where, x.certainty]).sort(), [
      ['database/config/other', 'may-not-have-happened'],
      ['database/config/pg', 'rolled-back'],
    ]);
    const pg = rotations.find((x) => x.where === 'database/config/pg')!;
    assert.equal(pg.rotationIds.length, 3, 'runs 1, 2 and the fix');
    assert.ok(pg.rotationIds.includes(run1.rotationId) && pg.rotationIds.includes(run2.rotationId));
    const other = rotations.find((x) => x.where === 'database/config/other')!;
    assert.match(
      other.action,
      /may not have happened: check with 'vault-ops runbook rotate-root --mount database --connection other --dry-run'/,
    );
    assertNoSecrets(outputs);
  });
});
