import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../helpers/run-cli.js';
import { readSecret, seedSecrets } from '../helpers/seed.js';
import { startAzurite, type AzuriteTestbed } from '../testbed/azurite.js';
import { onServer } from '../testbed/servers.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';

// The commands against an az:// store, on each server of the matrix. Kept apart from
// store-azure.test.ts so that the store contract does not run once per server.

let vault: VaultTestbed;
let az: AzuriteTestbed;
let dir: string;
let keysFile: string;
let env: Record<string, string>;
const store = 'az://backups/vault/prod';

before(async () => {
  [vault, az] = await Promise.all([startVault(), startAzurite()]);
  console.log(`testbed: ${vault.version}; azurite ${az.version}`);
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-azure-e2e-'));
  const drillTmp = join(dir, 'tmp');
  await mkdir(drillTmp);
  process.env.TMPDIR = drillTmp;
  keysFile = join(dir, 'unseal-keys');
  await writeFile(keysFile, `${vault.unsealKeys.join('\n')}\n`, { mode: 0o600 });
  await az.createContainer('backups');
  env = {
    VAULT_ADDR: vault.addr,
    VAULT_TOKEN: vault.rootToken,
    VAULT_OPS_VAULT_BINARY: vault.binary,
    TMPDIR: drillTmp,
    AZURE_STORAGE_ACCOUNT: az.account,
    AZURE_STORAGE_KEY: az.accountKey,
    VAULT_OPS_AZURE_ENDPOINT: az.endpoint,
  };
});
after(async () => {
  await Promise.allSettled([vault?.stop(), az?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

function assertNoSecret(output: string): void {
  for (const secret of [az.accountKey, vault.rootToken, ...vault.unsealKeys])
    assert.ok(!output.includes(secret), 'a secret reached the output');
}

describe(onServer('snapshot save/list/inspect/prune, verify and restore against an az:// store'), () => {
  let first: any;
  let second: any;

  test('save (several blocks), list, inspect az://…#ID', async () => {
    await seedSecrets(vault.addr, vault.rootToken, { count: 5, prefix: 'before' });
    // Incompressible values so that the archive spans two 8 MiB blocks.
    await seedSecrets(vault.addr, vault.rootToken, { count: 20, valueBytes: 500_000, prefix: 'bulk' });
    const a = await runCli(['snapshot', 'save', '--to', store, '--output', 'json', '--log-level', 'debug'], env);
    assert.equal(a.code, 0, a.stderr);
    first = a.json();
    assert.equal(first.archive.key, `vault/prod/${first.id}.snap`);
    assert.ok(first.archive.bytes > 8 * 1024 * 1024, `archive of ${first.archive.bytes} bytes spans blocks`);
    assertNoSecret(a.all);
    const b = await runCli(['snapshot', 'save', '--to', store, '--output', 'json'], env);
    assert.equal(b.code, 0, b.stderr);
    second = b.json();
    // Two saves in one second get ids in random order: compare sorted.
    assert.deepEqual(
      (await az.listKeys('backups', 'vault/prod/')).sort(),
      [
        `vault/prod/${first.id}.manifest.json`,
        `vault/prod/${first.id}.snap`,
        `vault/prod/${second.id}.manifest.json`,
        `vault/prod/${second.id}.snap`,
      ].sort(),
    );

    const listed = await runCli(['snapshot', 'list', '--from', store, '--output', 'json'], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      listed.json().snapshots.map((s: any) => s.id),
      [second.id, first.id],
    );
    assert.deepEqual(listed.json().incomplete, []);

    const inspected = await runCli(['snapshot', 'inspect', `${store}#${first.id}`, '--output', 'json'], env);
    assert.equal(inspected.code, 0, inspected.stderr);
    assert.equal(inspected.json().manifest.sha256Matches, true);
    assert.equal(inspected.json().meta.index, first.raft.index);
  });

  test('verify drills the latest snapshot from the az:// store', async () => {
    const r = await runCli(
      ['verify', '--from', store, '--snapshot', 'latest', '--unseal-keys-file', keysFile, '--output', 'json'],
      env,
    );
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const report = r.json();
    assert.equal(report.snapshotId, second.id);
    assert.equal(report.passed, true, JSON.stringify(report.checks));
    assert.ok(report.checks.some((c: any) => c.name === 'archive-integrity' && c.passed));
    assertNoSecret(r.all);
  });

  test('restore from the az:// store brings the cluster back; its safety snapshot lands there too', async () => {
    await seedSecrets(vault.addr, vault.rootToken, { count: 3, prefix: 'after' });
    const r = await runCli(['restore', '--from', store, '--snapshot', first.id, '--yes', '--output', 'json'], env);
    assert.equal(r.code, 0, r.stderr);
    const result = r.json();
    assert.equal(result.applied, true);
    assert.equal(await readSecret(vault.addr, vault.rootToken, 'secret', 'before/s1'), 'value-before/s1');
    assert.equal(await readSecret(vault.addr, vault.rootToken, 'secret', 'after/s1'), undefined);
    const listed = await runCli(['snapshot', 'list', '--from', store, '--output', 'json'], env);
    assert.ok(listed.json().snapshots.some((s: any) => s.id === result.safetySnapshotId));
    assertNoSecret(r.all);
  });

  test('prune keeps the newest, removes the rest (manifest first), leaves nothing of them', async () => {
    const before = await runCli(['snapshot', 'list', '--from', store, '--output', 'json'], env);
    const ids = before.json().snapshots.map((s: any) => s.id);
    assert.equal(ids.length, 3);
    const keysBefore = await az.listKeys('backups', 'vault/prod/');
    // 3 snapshots (manifest + archive) and the drill record the verify test left beside one of them.
    assert.equal(keysBefore.length, 7, keysBefore.join(' '));
    assert.equal(keysBefore.filter((k) => k.includes('.drill-')).length, 1, keysBefore.join(' '));
    const dry = await runCli(['snapshot', 'prune', '--from', store, '--keep-last', '1', '--dry-run'], env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal((await az.listKeys('backups', 'vault/prod/')).length, 7, 'a dry run deletes nothing');
    const r = await runCli(['snapshot', 'prune', '--from', store, '--keep-last', '1', '--output', 'json'], env);
    assert.equal(r.code, 0, r.stderr);
    const report = r.json();
    assert.deepEqual(
      report.keep.map((k: any) => k.id),
      [ids[0]],
    );
    assert.deepEqual(
      report.remove.map((x: any) => [x.id, x.status]).sort(),
      ids
        .slice(1)
        .map((id: string) => [id, 'removed'])
        .sort(),
    );
    assert.deepEqual((await az.listKeys('backups', 'vault/prod/')).sort(), [
      `vault/prod/${ids[0]}.manifest.json`,
      `vault/prod/${ids[0]}.snap`,
    ]);
  });
});
