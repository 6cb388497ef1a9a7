import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { silentLogger } from '../../src/observability/logger.js';
import { SecretRegistry } from '../../src/observability/secret-registry.js';
import { executeRecovery, planRecovery } from '../../src/recover/index.js';
import { SnapshotRepository } from '../../src/repository/snapshot-repository.js';
import { openSnapshotStore } from '../../src/store/open-store.js';
import { VaultClient } from '../../src/vault/client.js';
import { resolveConnection } from '../../src/vault/connection.js';
import { runCli } from '../helpers/run-cli.js';
import { bootstrapRequest } from '../testbed/bootstrap-http.js';
import { onServer } from '../testbed/servers.js';
import { startVault, type VaultTestbed, rootRequest } from '../testbed/vault.js';

/**
 * `vault-ops recover` against a real server: a snapshot is taken, then secrets are overwritten, deleted,
 * destroyed; recover writes the snapshot's values back as new versions (the live history keeps the bad
 * ones). Every value is random and searched for in everything the CLI printed.
 */
let vault: VaultTestbed;
let dir: string;
let store: string;
let keysFile: string;
let env: Record<string, string>;
let snapshotId: string;
const values = {
  dbV1: `db-one-${randomBytes(8).toString('hex')}`,
  dbV2: `db-two-${randomBytes(8).toString('hex')}`,
  dbBad: `db-bad-${randomBytes(8).toString('hex')}`,
  orders: `orders-${randomBytes(8).toString('hex')}`,
  gone: `gone-${randomBytes(8).toString('hex')}`,
  legacy: `legacy-${randomBytes(8).toString('hex')}`,
  legacyBad: `legacy-bad-${randomBytes(8).toString('hex')}`,
  teamA: `team-a-${randomBytes(8).toString('hex')}`,
  teamB: `team-b-${randomBytes(8).toString('hex')}`,
  teamC: `team-c-${randomBytes(8).toString('hex')}`,
};
const policyText = 'path "apps/data/payments/*" {\n  capabilities = ["read"]\n}\n';

const api = async (method: string, path: string, body?: unknown) => (await rootRequest(vault, method, path, body)).body;
const kvRead = async (path: string) => (await api('GET', `apps/data/${path}`)).data;
const kvMeta = async (path: string) => (await api('GET', `apps/metadata/${path}`)).data;

function assertNoValue(output: string): void {
  for (const v of [...Object.values(values), vault.rootToken, ...vault.unsealKeys])
    assert.ok(!output.includes(v), 'a secret value reached the output');
}

async function drillDirs(): Promise<string[]> {
  return (await readdir(env.TMPDIR!)).filter((d) => d.startsWith('vault-ops-drill-'));
}

const recover = (args: string[], extraEnv: Record<string, string> = {}) =>
  runCli(['recover', '--from', store, '--snapshot', snapshotId, '--unseal-keys-file', keysFile, ...args], {
    ...env,
    ...extraEnv,
  });

before(async () => {
  vault = await startVault();
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-recover-test-'));
  await mkdir(join(dir, 'tmp'));
  store = join(dir, 'store');
  keysFile = join(dir, 'unseal-keys');
  await writeFile(keysFile, `${vault.unsealKeys.join('\n')}\n`, { mode: 0o600 });
  env = {
    VAULT_ADDR: vault.addr,
    VAULT_TOKEN: vault.rootToken,
    VAULT_OPS_VAULT_BINARY: vault.binary,
    TMPDIR: join(dir, 'tmp'),
  };
  process.env.TMPDIR = env.TMPDIR;
  await api('POST', 'sys/mounts/apps', { type: 'kv', options: { version: '2' } });
  await api('POST', 'sys/mounts/legacy', { type: 'kv', options: { version: '1' } });
  await api('POST', 'apps/data/payments/db', { data: { user: 'app', password: values.dbV1 } });
  await api('POST', 'apps/data/payments/db', { data: { user: 'app', password: values.dbV2, port: 5432 } });
  await api('POST', 'apps/metadata/payments/db', { custom_metadata: { owner: 'team-payments' } });
  await api('POST', 'apps/data/orders', { data: { key: values.orders } });
  await api('POST', 'apps/data/gone/forever', { data: { key: values.gone } });
  await api('POST', 'apps/metadata/gone/forever', { custom_metadata: { owner: 'team-gone', ticket: 'T-1' } });
  await api('POST', 'legacy/config', { token: values.legacy, mode: 'strict' });
  await api('POST', 'apps/data/team/a', { data: { k: values.teamA } });
  await api('POST', 'apps/data/team/sub/b', { data: { k: values.teamB } });
  await api('POST', 'legacy/team/deep/c', { k: values.teamC });
  await api('POST', 'sys/policies/acl/payments-read', { policy: policyText });
  const saved = await runCli(['snapshot', 'save', '--to', store, '--output', 'json'], env);
  assert.equal(saved.code, 0, saved.stderr);
  snapshotId = saved.json().id;
  // The mistakes, after the snapshot.
  await api('POST', 'apps/data/payments/db', { data: { password: values.dbBad } }); // overwritten: version 3
  await api('DELETE', 'apps/data/orders'); // deleted (soft)
  await api('DELETE', 'apps/metadata/gone/forever'); // destroyed: every version and the metadata
  await api('POST', 'legacy/config', { token: values.legacyBad });
  await api('DELETE', 'sys/policies/acl/payments-read');
  await api('DELETE', 'apps/metadata/team/a');
  await api('DELETE', 'apps/metadata/team/sub/b');
  await api('DELETE', 'legacy/team/deep/c');
});
after(async () => {
  await vault?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe(onServer('recover: one item from a snapshot into the live cluster'), () => {
  test('--dry-run plans every item (both sides, which keys change, never a value) and writes nothing', async () => {
    const dry = await recover([
      '--path',
      'apps/payments/db',
      '--path',
      'apps/orders',
      '--path',
      'legacy/config',
      '--policy',
      'payments-read',
      '--dry-run',
      '--output',
      'json',
    ]);
    assert.equal(dry.code, 0, dry.stderr);
    assertNoValue(dry.all);
    const { plan, applied } = dry.json();
    assert.equal(applied, false);
    assert.equal(plan.snapshot.id, snapshotId);
    const [db, orders, legacy, policy] = plan.items;
    assert.deepEqual(
      { kind: db.kind, snapshot: db.snapshot.version, live: db.live.version, cas: db.cas, keys: db.keys },
      {
        kind: 'kv2',
        snapshot: 2,
        live: 3,
        cas: 3,
        keys: { added: ['port', 'user'], removed: [], changed: ['password'], unchanged: 0 },
      },
    );
    assert.equal(orders.live.deleted, true);
    assert.deepEqual(orders.keys.added, ['key']);
    assert.equal(legacy.kind, 'kv1');
    assert.deepEqual(legacy.keys, { added: ['mode'], removed: [], changed: ['token'], unchanged: 0 });
    assert.deepEqual([policy.kind, policy.live.present, policy.action], ['policy', false, 'write']);
    assert.equal((await kvMeta('payments/db')).current_version, 3, 'the dry run wrote nothing');
    assert.deepEqual(await drillDirs(), [], 'the scratch server left nothing behind');
  });

  test('without --yes in a non-interactive run: refused (exit 4), nothing written', async () => {
    const r = await recover(['--path', 'apps/payments/db']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /--yes/);
    // The text plan, on stderr: both sides and the keys, the version the write is check-and-set on.
    assert.match(r.stderr, /Recovery plan:/);
    assert.match(r.stderr, /apps\/payments\/db \(kv2\): WRITE/);
    assert.match(r.stderr, /snapshot +version 2 of /);
    assert.match(r.stderr, /live +version 3 of .*\(check-and-set on version 3\)/);
    assert.match(r.stderr, /added: port, user; removed: -; changed: password; unchanged: 0/);
    assert.equal((await kvMeta('payments/db')).current_version, 3);
    assertNoValue(r.all);
  });

  test('overwritten, deleted and destroyed KV v2 secrets, a KV v1 secret and a policy come back', async () => {
    const r = await recover([
      '--path',
      'apps/payments/db',
      '--path',
      'apps/orders',
      '--path',
      'apps/gone/forever',
      '--path',
      'legacy/config',
      '--policy',
      'payments-read',
      '--yes',
      '--output',
      'json',
      '--log-level',
      'debug',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assertNoValue(r.all);
    const result = r.json();
    assert.deepEqual(
      result.items.map((i: any) => [i.target, i.written, i.version]),
      [
        ['apps/payments/db', true, 4],
        ['apps/orders', true, 2],
        ['apps/gone/forever', true, 1],
        ['legacy/config', true, undefined],
        ['policy payments-read', true, undefined],
      ],
    );
    // Overwritten: the snapshot's values are the new current version; the bad one stays in the history.
    assert.deepEqual((await kvRead('payments/db')).data, { user: 'app', password: values.dbV2, port: 5432 });
    assert.deepEqual((await api('GET', 'apps/data/payments/db?version=3')).data.data, { password: values.dbBad });
    assert.deepEqual((await kvMeta('payments/db')).custom_metadata, { owner: 'team-payments' });
    assert.deepEqual((await kvRead('orders')).data, { key: values.orders });
    // Destroyed with its metadata: recreated, custom metadata and all.
    assert.deepEqual((await kvRead('gone/forever')).data, { key: values.gone });
    assert.deepEqual((await kvMeta('gone/forever')).custom_metadata, { owner: 'team-gone', ticket: 'T-1' });
    assert.deepEqual((await api('GET', 'legacy/config')).data, { token: values.legacy, mode: 'strict' });
    assert.equal((await api('GET', 'sys/policies/acl/payments-read')).data.policy, policyText);
    for (const phase of ['download', 'restore', 'read', 'plan', 'write'])
      assert.equal(typeof result.timings[phase], 'number', phase);
    assert.deepEqual(await drillDirs(), []);
  });

  test('--version N --as MOUNT/OTHER writes an older version beside the live secret', async () => {
    const before = (await kvMeta('payments/db')).current_version;
    const r = await recover(['--path', 'apps/payments/db', '--version', '1', '--as', 'apps/payments/db-v1', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assertNoValue(r.all);
    assert.deepEqual((await kvRead('payments/db-v1')).data, { user: 'app', password: values.dbV1 });
    assert.equal((await kvMeta('payments/db')).current_version, before, 'the live secret is untouched');
  });

  test('a live write between the plan and the write refuses (check-and-set): nothing overwritten', async () => {
    const secrets = new SecretRegistry();
    const client = new VaultClient(
      await resolveConnection({ vaultAddr: vault.addr, allowInsecureHttp: false, requestTimeoutSeconds: 30 }),
      vault.rootToken,
    );
    const repository = new SnapshotRepository(await openSnapshotStore(store, {}), {
      verifyKeys: [],
      now: () => new Date(),
    });
    const deps = {
      repository,
      vault: client,
      logger: silentLogger,
      secrets,
      toolVersion: 'test',
    };
    await api('POST', 'apps/data/payments/db', { data: { password: values.dbBad } });
    const prepared = await planRecovery(deps, {
      snapshot: snapshotId,
      paths: ['apps/payments/db'],
      policies: [],
      binary: vault.binary,
      unsealKeys: vault.unsealKeys,
    });
    const planned = prepared.plan.items[0]!.cas!;
    await api('POST', 'apps/data/payments/db', { data: { password: 'someone-else-wrote-this' } });
    await assert.rejects(executeRecovery(deps, prepared), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'verification');
      assert.match(err.message, /changed in the live cluster after the plan/);
      assertNoValue(err.message);
      return true;
    });
    assert.equal((await kvMeta('payments/db')).current_version, planned + 1);
    assert.deepEqual((await kvRead('payments/db')).data, { password: 'someone-else-wrote-this' });
    await repository.close();
  });

  test('with a verify key, an unsigned or tampered snapshot refuses before anything is read or written', async () => {
    const keys = generateKeyPairSync('ed25519');
    const signingKey = join(dir, 'signing.pem');
    const verifyKey = join(dir, 'verify.pem');
    await writeFile(signingKey, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await writeFile(verifyKey, keys.publicKey.export({ type: 'spki', format: 'pem' }));
    const before = (await kvMeta('payments/db')).current_version;
    const unsigned = await recover(['--path', 'apps/payments/db', '--yes', '--verify-key', verifyKey]);
    assert.notEqual(unsigned.code, 0, unsigned.stdout);
    assert.match(unsigned.stderr, /sign/);
    // Signed, then altered in the store.
    const saved = await runCli(
      ['snapshot', 'save', '--to', store, '--signing-key', signingKey, '--output', 'json'],
      env,
    );
    assert.equal(saved.code, 0, saved.stderr);
    const id = saved.json().id;
    const manifestFile = (await readdir(store, { recursive: true })).find((f) => f.endsWith(`${id}.manifest.json`));
    assert.ok(manifestFile, 'the manifest is in the store');
    const manifest = JSON.parse(await readFile(join(store, manifestFile), 'utf8'));
    manifest.cluster.name = 'someone-else';
    await writeFile(join(store, manifestFile), JSON.stringify(manifest));
    const tampered = await runCli(
      ['recover', '--from', store, '--snapshot', id, '--unseal-keys-file', keysFile, '--path', 'apps/payments/db'],
      { ...env, VAULT_OPS_VERIFY_KEY: verifyKey },
    );
    assert.notEqual(tampered.code, 0, tampered.stdout);
    assert.equal((await kvMeta('payments/db')).current_version, before, 'nothing was written');
    assert.deepEqual(await drillDirs(), [], 'no scratch server was started');
    assertNoValue(unsigned.all + tampered.all);
  });

  test('MOUNT/PREFIX/* recovers a subtree; --record-to keeps the record, metrics like the other jobs', async () => {
    const records = join(dir, 'records');
    const metricsFile = join(dir, 'recover.prom');
    const r = await recover([
      '--path',
      'apps/team/*',
      '--path',
      'legacy/team/*',
      '--yes',
      '--record-to',
      records,
      '--metrics-textfile',
      metricsFile,
      '--output',
      'json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assertNoValue(r.all);
    const result = r.json();
    assert.deepEqual(
      result.items.map((i: any) => [i.target, i.written]),
      [
        ['apps/team/a', true],
        ['apps/team/sub/b', true],
        ['legacy/team/deep/c', true],
      ],
    );
    assert.deepEqual((await api('GET', 'legacy/team/deep/c')).data, { k: values.teamC });
    assert.deepEqual((await kvRead('team/a')).data, { k: values.teamA });
    assert.deepEqual((await kvRead('team/sub/b')).data, { k: values.teamB });
    assert.match(result.record, /records\/\d{8}T\d{6}Z-recover-.+\.json$/);
    const record = await readFile(join(records, result.record), 'utf8');
    assertNoValue(record);
    const parsed = JSON.parse(record);
    assert.equal(parsed.kind, 'recover');
    // Ordered against snapshots by the live cluster's raft log, as rotation records are.
    assert.ok(parsed.raftIndex > parsed.raftIndexBefore, record);
    assert.equal(typeof parsed.clusterId, 'string');
    assert.match(
      parsed.detail,
      new RegExp(`from snapshot ${snapshotId}.*apps/team/a \\(version 1\\), apps/team/sub/b`),
    );
    assert.match(parsed.detail, /by root/);
    const metrics = await readFile(metricsFile, 'utf8');
    // Every series names its cluster (issue #28's vault_cluster label).
    assert.match(metrics, /^vault_ops_recover_last_success_timestamp_seconds\{vault_cluster="[^"]+"\} \d/m);
    assert.match(metrics, /^vault_ops_recover_items\{result="written",vault_cluster="[^"]+"\} 3$/m);
    assert.match(metrics, /^vault_ops_recover_phase_seconds\{phase="restore",vault_cluster="[^"]+"\} /m);
  });

  test('snapshot history lists the versions each snapshot holds, newest first, metadata only', async () => {
    const live = (await kvMeta('payments/db')).current_version;
    const saved = await runCli(['snapshot', 'save', '--to', store, '--output', 'json'], env);
    assert.equal(saved.code, 0, saved.stderr);
    const r = await runCli(
      ['snapshot', 'history', '--from', store, '--path', 'apps/payments/db', '--unseal-keys-file', keysFile],
      { ...env, VAULT_OPS_OUTPUT: 'json' },
    );
    assert.equal(r.code, 0, r.stderr);
    assertNoValue(r.all);
    const { path, snapshots } = r.json();
    assert.equal(path, 'apps/payments/db');
    const ids = snapshots.map((e: any) => e.snapshotId);
    const times = snapshots.map((e: any) => Date.parse(e.createdAt));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
      'newest first',
    );
    assert.equal(ids[0], saved.json().id);
    const newest = snapshots[0];
    assert.deepEqual([newest.present, newest.kind, newest.currentVersion], [true, 'kv2', live]);
    const first = snapshots.find((e: any) => e.snapshotId === snapshotId);
    assert.deepEqual([first.present, first.currentVersion], [true, 2]);
    assert.deepEqual(
      first.versions.map((v: any) => [v.version, v.deleted, v.destroyed]),
      [
        [1, false, false],
        [2, false, false],
      ],
    );
    assert.ok(Date.parse(first.updatedTime) <= Date.parse(first.createdAt));
    assert.deepEqual(await drillDirs(), []);
  });

  test("cross-cluster: cluster A's snapshot into cluster B, with A's unseal keys and B's token", async () => {
    const b = await startVault();
    try {
      await bootstrapRequest(b.addr, 'POST', 'sys/mounts/apps', {
        token: b.rootToken,
        body: { type: 'kv', options: { version: '2' } },
      });
      const r = await runCli(
        [
          'recover',
          '--from',
          store,
          '--snapshot',
          snapshotId,
          '--unseal-keys-file',
          keysFile,
          '--path',
          'apps/payments/db',
          '--yes',
          '--output',
          'json',
        ],
        { ...env, VAULT_ADDR: b.addr, VAULT_TOKEN: b.rootToken },
      );
      assert.equal(r.code, 0, r.stderr);
      assertNoValue(r.all);
      assert.ok(!r.all.includes(b.rootToken));
      assert.equal(r.json().plan.target.address, b.addr);
      const read = await bootstrapRequest(b.addr, 'GET', 'apps/data/payments/db', { token: b.rootToken });
      assert.deepEqual(read.body.data.data, { user: 'app', password: values.dbV2, port: 5432 });
      assert.equal(read.body.data.metadata.version, 1, "a new secret in B, A's history stays A's");
    } finally {
      await b.stop();
    }
  });

  test('an encrypted snapshot: read with --identity-file; without it, refused before any scratch server', async () => {
    const identity = await generateIdentity();
    const identityFile = join(dir, 'identity.txt');
    await writeFile(identityFile, `${identity}\n`, { mode: 0o600 });
    const saved = await runCli(
      ['snapshot', 'save', '--to', store, '--encrypt-to', await identityToRecipient(identity), '--output', 'json'],
      env,
    );
    assert.equal(saved.code, 0, saved.stderr);
    const args = ['recover', '--from', store, '--snapshot', saved.json().id, '--unseal-keys-file', keysFile];
    const refused = await runCli([...args, '--path', 'apps/payments/db', '--dry-run'], env);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /encrypted: pass --identity-file/);
    const r = await runCli(
      [...args, '--path', 'apps/payments/db', '--identity-file', identityFile, '--dry-run', '--output', 'json'],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    const item = r.json().plan.items[0];
    assert.deepEqual([item.action, item.snapshot.version], ['unchanged', item.live.version]);
    assertNoValue(r.all);
    assert.ok(!r.all.includes(identity));
    assert.deepEqual(await drillDirs(), []);
  });
});
