import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { addDynamicRole, mountDatabaseEngine, postgresLoginWorks } from '../helpers/database-engine.js';
import { runCli } from '../helpers/run-cli.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { startPostgres, type PostgresTestbed } from '../testbed/postgres.js';
import { onServer } from '../testbed/servers.js';
import { startVault, type VaultTestbed, rootRequest } from '../testbed/vault.js';

/**
 * Roles out of a snapshot, and the proof that reading a snapshot never acts outward. The snapshot holds a
 * database mount whose connection goes through a counting proxy to the real PostgreSQL, a static role
 * overdue for rotation (5 s period) and a live dynamic lease. After the snapshot the live cluster talks
 * to PostgreSQL directly and its static role waits an hour: from then on only a copy of the snapshot
 * could dial the proxy, or change the static user's password.
 */
let vault: VaultTestbed;
let db: PostgresTestbed;
let proxy: TcpProxy;
let dir: string;
let store: string;
let keysFile: string;
let env: Record<string, string>;
/** `vault-ops recover` from the test's snapshot, with its unseal keys. */
const recover = (args: string[]) =>
  runCli(['recover', '--from', store, '--snapshot', snapshotId, '--unseal-keys-file', keysFile, ...args], env);
let snapshotId: string;
let roleId: string;
const staticPassword = `static-${randomBytes(8).toString('hex')}`;
const kvValue = `kv-${randomBytes(8).toString('hex')}`;
let lease: { username: string; password: string };
let leaseId: string;

const api = async (method: string, path: string, body?: unknown) => (await rootRequest(vault, method, path, body)).body;
const connectionUrl = (port: number) =>
  `postgresql://{{username}}:{{password}}@127.0.0.1:${port}/postgres?sslmode=disable`;

/** TCP sockets (IPv4) whose remote end is `port`, in any state (a dial shows as SYN_SENT, then TIME_WAIT). */
async function socketsDialling(port: number): Promise<string[]> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return (await readFile('/proc/net/tcp', 'utf8'))
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[2]?.endsWith(`:${hex}`))
    .map((f) => `${f[1]} -> ${f[2]} state ${f[3]}`);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-recover-roles-'));
  db = await startPostgres();
  await mkdir(join(dir, 'tmp'));
  process.env.TMPDIR = join(dir, 'tmp');
  proxy = await startTcpProxy({ host: '127.0.0.1', port: db.port });
  vault = await startVault();
  store = join(dir, 'store');
  keysFile = join(dir, 'unseal-keys');
  await writeFile(keysFile, `${vault.unsealKeys.join('\n')}\n`, { mode: 0o600 });
  env = {
    VAULT_ADDR: vault.addr,
    VAULT_TOKEN: vault.rootToken,
    VAULT_OPS_VAULT_BINARY: vault.binary,
    TMPDIR: join(dir, 'tmp'),
  };
  await api('POST', 'sys/auth/kubernetes', { type: 'kubernetes' });
  await api('POST', 'auth/kubernetes/role/payments', {
    bound_service_account_names: ['payments'],
    bound_service_account_namespaces: ['prod'],
    token_policies: ['payments-read'],
    token_ttl: 3600,
  });
  await api('POST', 'sys/auth/approle', { type: 'approle' });
  await api('POST', 'auth/approle/role/ci', { token_policies: ['ci'], secret_id_ttl: 600, token_max_ttl: 7200 });
  roleId = (await api('GET', 'auth/approle/role/ci/role-id')).data.role_id;
  await api('POST', 'sys/mounts/apps', { type: 'kv', options: { version: '2' } });
  await api('POST', 'apps/data/one', { data: { key: kvValue } });
  // The database engine, through the proxy: the snapshot records the proxy's address.
  await db.query(`CREATE ROLE app_static WITH LOGIN PASSWORD '${staticPassword}'`);
  await mountDatabaseEngine(api, vault, 'database');
  await api('POST', 'database/config/pg', {
    plugin_name: 'postgresql-database-plugin',
    connection_url: connectionUrl(proxy.port),
    username: db.superuser,
    password: db.password,
    allowed_roles: '*',
  });
  await api('POST', 'database/static-roles/app', { db_name: 'pg', username: 'app_static', rotation_period: 5 });
  await addDynamicRole(api, { mount: 'database', connection: 'pg', role: 'dyn', defaultTtl: '20s', maxTtl: '1h' });
  const creds = await api('GET', 'database/creds/dyn');
  lease = creds.data;
  leaseId = creds.lease_id;
  const saved = await runCli(['snapshot', 'save', '--to', store, '--output', 'json'], env);
  assert.equal(saved.code, 0, saved.stderr);
  snapshotId = saved.json().id;
  // From here the live cluster goes to PostgreSQL directly, rotates its static role hourly, renews its lease.
  await api('POST', 'database/config/pg', { connection_url: connectionUrl(db.port) });
  await api('POST', 'database/static-roles/app', { db_name: 'pg', username: 'app_static', rotation_period: 3600 });
  await api('POST', 'sys/leases/renew', { lease_id: leaseId, increment: 3600 });
});
after(async () => {
  await vault?.stop();
  await proxy?.close();
  await db?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe(onServer('recover: roles, and a snapshot that is read without ever acting'), () => {
  test('reading a snapshot with an overdue static role and a lease: no dial to PostgreSQL or the source', async () => {
    const staticCreds = async () => (await api('GET', 'database/static-creds/app')).data.password as string;
    const livePassword = await staticCreds();
    // The lease, as the snapshot knew it (20 s), has expired by the time the copy is read; live renewed it.
    await sleep(21_000);
    const dialsBefore = proxy.connections();
    const clusterPort = vault.nodes[0]!.clusterPort;
    const dialled = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const s of await socketsDialling(clusterPort)) dialled.add(s);
        await sleep(50);
      }
    })();
    const r = await recover([
      '--path',
      'database/static-roles/app',
      '--path',
      'apps/one',
      '--dry-run',
      '--output',
      'json',
    ]);
    watching = false;
    await watcher;
    assert.equal(r.code, 0, r.stderr);
    const { plan } = r.json();
    // The copy was read: the static role's definition as the snapshot holds it (its 5 s period).
    assert.deepEqual(plan.items[0].keys.changed, ['rotation_period']);
    assert.equal(proxy.connections(), dialsBefore, 'nothing dialled PostgreSQL through the address the snapshot holds');
    assert.deepEqual([...dialled], [], "nothing dialled the source's cluster port");
    assert.equal(await staticCreds(), livePassword, "the static role's password did not change");
    assert.ok(await postgresLoginWorks(db, 'app_static', livePassword), 'the static user still logs in');
    assert.ok(await postgresLoginWorks(db, lease.username, lease.password), "the lease's user was not revoked");
    for (const v of [staticPassword, livePassword, lease.password, kvValue, db.password])
      assert.ok(!r.all.includes(v), 'a secret reached the output');
    assert.deepEqual(
      (await readdir(env.TMPDIR!)).filter((d) => d.startsWith('vault-ops-drill-')),
      [],
      'the scratch server left nothing behind',
    );
  });

  test('kubernetes and approle roles and a static-role definition deleted live come back', async () => {
    await api('DELETE', 'auth/kubernetes/role/payments');
    await api('DELETE', 'auth/approle/role/ci');
    await api('DELETE', 'database/static-roles/app');
    const r = await recover([
      '--path',
      'auth/kubernetes/role/payments',
      '--path',
      'auth/approle/role/ci',
      '--path',
      'database/static-roles/app',
      '--yes',
      '--output',
      'json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.json().items.map((i: any) => [i.kind, i.target, i.written]),
      [
        ['kubernetes-role', 'auth/kubernetes/role/payments', true],
        ['approle-role', 'auth/approle/role/ci', true],
        ['static-role', 'database/static-roles/app', true],
      ],
    );
    const k8s = (await api('GET', 'auth/kubernetes/role/payments')).data;
    assert.deepEqual(
      [k8s.bound_service_account_names, k8s.bound_service_account_namespaces, k8s.token_policies, k8s.token_ttl],
      [['payments'], ['prod'], ['payments-read'], 3600],
    );
    const ci = (await api('GET', 'auth/approle/role/ci')).data;
    assert.deepEqual([ci.token_policies, ci.secret_id_ttl, ci.token_max_ttl], [['ci'], 600, 7200]);
    assert.equal((await api('GET', 'auth/approle/role/ci/role-id')).data.role_id, roleId, 'clients keep their role id');
    const role = (await api('GET', 'database/static-roles/app')).data;
    assert.deepEqual([role.db_name, role.username, role.rotation_period], ['pg', 'app_static', 5]);
    for (const v of [roleId, staticPassword, kvValue, db.password])
      assert.ok(!r.all.includes(v), 'a secret reached the output');
  });
});
