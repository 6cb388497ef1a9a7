import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { bootstrapRequest } from '../testbed/bootstrap-http.js';
import { startPostgres, type PostgresTestbed } from '../testbed/postgres.js';
import { startS3, type S3Testbed } from '../testbed/s3.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';
import { addDynamicRole, configurePostgresConnection } from '../helpers/database-engine.js';
import { runCli } from '../helpers/run-cli.js';
import { onServer } from '../testbed/servers.js';

/**
 * `vault-ops setup policies` against the real server (OpenBao and Vault): each job's policy, as printed, is applied;
 * the job then runs with a token holding ONLY that policy (plus Vault's `default`), and a token
 * without it fails with a clear error. The policies are least privilege: what they do not grant is
 * denied (other secrets, other jobs' paths).
 */

let vault: VaultTestbed;
let s3: S3Testbed;
let db: PostgresTestbed;
let dir: string;
let s3Env: Record<string, string>;

const api = (method: string, path: string, body?: unknown, token = vault.rootToken, okStatuses?: number[]) =>
  bootstrapRequest(vault.addr, method, path, {
    token,
    ...(body !== undefined ? { body } : {}),
    ...(okStatuses ? { okStatuses } : {}),
  });

/**
 * The policies `setup policies` prints for these arguments (JSON output); `env` for those read from the server
 * (rotate-root).
 */
async function printedPolicies(
  args: string[],
  env: Record<string, string> = {},
): Promise<
  Array<{
    job: string;
    name?: string;
    hcl: string;
    notes: string[];
    commands: string[];
    kubernetesRole?: { path: string; params: Record<string, string> };
  }>
> {
  const r = await runCli(['setup', 'policies', ...args, '--output', 'json'], env);
  assert.equal(r.code, 0, r.all);
  return r.json().policies;
}

/** Apply a printed policy and return a token holding only it (and `default`). */
async function tokenWith(name: string, hcl: string): Promise<string> {
  await api('POST', `sys/policies/acl/${name}`, { policy: hcl });
  return (await api('POST', 'auth/token/create', { policies: [name], ttl: '15m' })).body.auth.client_token as string;
}

async function defaultOnlyToken(): Promise<string> {
  return (await api('POST', 'auth/token/create', { policies: ['default'], ttl: '15m' })).body.auth
    .client_token as string;
}

/** HTTP status of `method path` with `token` (to prove what a policy does NOT grant). */
async function statusOf(method: string, path: string, token: string, body?: unknown): Promise<number> {
  return (await api(method, path, body, token, [200, 204, 400, 403, 404])).status;
}

before(async () => {
  [vault, s3, db] = await Promise.all([startVault(), startS3(), startPostgres()]);
  console.log(`testbed: ${vault.version}; versitygw ${s3.version}; ${db.version}`);
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-setup-policies-'));
  await s3.createBucket('backups');
  s3Env = {
    VAULT_ADDR: vault.addr,
    ...s3.cliEnv(),
  };
  await api('POST', 'sys/mounts/secret', { type: 'kv', options: { version: '2' } });
  await api('POST', 'sys/mounts/vault-ops-staging', { type: 'kv', options: { version: '2' } });
  await api('POST', 'secret/data/other/unrelated', { data: { value: 'not-for-vault-ops' } });
});
after(async () => {
  await Promise.allSettled([vault?.stop(), s3?.stop(), db?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe(onServer('setup canary'), () => {
  test('creates the KV v1 canary mount once; a second run says it exists', async () => {
    const first = await runCli(['setup', 'canary', '--output', 'json'], {
      VAULT_ADDR: vault.addr,
      VAULT_TOKEN: vault.rootToken,
    });
    assert.equal(first.code, 0, first.all);
    assert.deepEqual(first.json(), { kind: 'setup-canary', mount: 'vault-ops-canary', result: 'created' });
    const mounts = (await api('GET', 'sys/mounts')).body.data;
    assert.equal(mounts['vault-ops-canary/'].type, 'kv');
    assert.equal(mounts['vault-ops-canary/'].options?.version ?? '1', '1');
    const second = await runCli(['setup', 'canary'], { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken });
    assert.equal(second.code, 0, second.all);
    assert.match(second.stdout, /already exists/);
  });
});

describe(onServer('setup staging and setup all (issue #17)'), () => {
  const admin = () => ({ VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken });
  const mountsNow = async () => (await api('GET', 'sys/mounts')).body.data as Record<string, any>;

  test('setup staging: a dry run creates nothing; then KV v2 once; a mount of another kind is refused', async () => {
    const dry = await runCli(['setup', 'staging', '--staging-mount', 'st-a', '--dry-run'], admin());
    assert.equal(dry.code, 0, dry.all);
    assert.match(dry.stdout, /would create the KV v2 staging mount st-a\/ \(dry run\)/);
    assert.equal((await mountsNow())['st-a/'], undefined);
    const first = await runCli(['setup', 'staging', '--staging-mount', 'st-a', '--output', 'json'], admin());
    assert.equal(first.code, 0, first.all);
    assert.deepEqual(first.json(), { kind: 'setup-staging', mount: 'st-a', result: 'created' });
    assert.equal((await mountsNow())['st-a/'].options.version, '2');
    const again = await runCli(['setup', 'staging', '--staging-mount', 'st-a'], admin());
    assert.equal(again.code, 0, again.all);
    assert.match(again.stdout, /the KV v2 staging mount st-a\/ already exists/);
    await api('POST', 'sys/mounts/st-v1', { type: 'kv', options: { version: '1' } });
    const wrong = await runCli(['setup', 'staging', '--staging-mount', 'st-v1'], admin());
    assert.equal(wrong.code, 2, wrong.all);
    assert.match(wrong.stderr, /st-v1\/ is mounted as kv v1, not KV v2 as the staging mount must be: choose another/);
  });

  test('setup all: creates what the jobs need, idempotently, and prints pipeable policies', async () => {
    const hooked = join(dir, 'all-hooked.yaml');
    await writeFile(
      hooked,
      stringify({
        secrets: [{ mount: 'secret', path: 'app/db', every: '30d', keys: { password: {} }, hooks: { set: ['true'] } }],
      }),
    );
    const args = ['setup', 'all', '--job', 'all', '--policy', hooked, '--canary-mount', 'ca-b', '--staging-mount'];
    const dry = await runCli([...args, 'st-b', '--dry-run', '--output', 'json'], admin());
    assert.equal(dry.code, 0, dry.all);
    assert.deepEqual(
      dry.json().mounts.map((m: { mount: string; result: string }) => `${m.mount}:${m.result}`),
      ['ca-b:would create', 'st-b:would create'],
    );
    assert.equal((await mountsNow())['ca-b/'], undefined);
    assert.equal((await mountsNow())['st-b/'], undefined);

    const first = await runCli([...args, 'st-b'], admin());
    assert.equal(first.code, 0, first.all);
    assert.match(first.stdout, /^# created the KV v1 canary mount ca-b\/$/m);
    assert.match(first.stdout, /^# created the KV v2 staging mount st-b\/$/m);
    // Everything that is not a comment is a command an admin pipes into a shell.
    const commands = first.stdout.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    assert.ok(
      commands.some((l) => l.startsWith('vault policy write vault-ops-snapshot')),
      first.stdout,
    );
    assert.ok(
      commands.some((l) => l.startsWith('vault policy write vault-ops-rotate-kv')),
      first.stdout,
    );
    const mounts = await mountsNow();
    assert.equal(mounts['ca-b/'].options?.version ?? '1', '1');
    assert.equal(mounts['st-b/'].options.version, '2');

    const second = await runCli([...args, 'st-b', '--output', 'json'], admin());
    assert.equal(second.code, 0, second.all);
    assert.deepEqual(
      second.json().mounts.map((m: { result: string }) => m.result),
      ['exists', 'exists'],
    );

    const hookless = join(dir, 'all-hookless.yaml');
    await writeFile(
      hookless,
      stringify({ secrets: [{ mount: 'secret', path: 'app/key', every: '30d', keys: { value: {} } }] }),
    );
    const plain = await runCli(
      ['setup', 'all', '--job', 'rotate-kv', '--policy', hookless, '--staging-mount', 'st-c', '--output', 'json'],
      admin(),
    );
    assert.equal(plain.code, 0, plain.all);
    assert.deepEqual(plain.json().mounts, []);
    assert.match(plain.json().skipped[0], /staging mount st-c\/: no secret in .* has hooks/);
    assert.equal((await mountsNow())['st-c/'], undefined);
  });
});

describe(onServer('least-privilege policies, proven against the server'), () => {
  test(
    'snapshot: saves (with canary and prune) with only its policy; fails cleanly without it; reads no ' + 'secret',
    async () => {
      const [p] = await printedPolicies(['--job', 'snapshot']);
      assert.equal(p!.name, 'vault-ops-snapshot');
      assert.match(p!.commands.join('\n'), /vault write auth\/kubernetes\/role\/vault-ops-snapshot/);
      const token = await tokenWith(p!.name!, p!.hcl);

      const ok = await runCli(
        [
          'snapshot',
          'save',
          '--to',
          's3://backups/vault',
          '--canary',
          '--prune',
          '--keep-last',
          '5',
          '--output',
          'json',
        ],
        { ...s3Env, VAULT_TOKEN: token },
      );
      assert.equal(ok.code, 0, ok.all);
      const manifest = ok.json();
      assert.equal(manifest.canary.mount, 'vault-ops-canary');
      assert.ok(manifest.policies.includes('vault-ops-snapshot'), 'the policy list was readable');
      assert.ok(
        manifest.mounts.some((m: { path: string }) => m.path === 'secret/'),
        'the mount table was readable',
      );
      assert.ok(!ok.all.includes(token));

      // What the policy does not grant stays denied.
      assert.equal(await statusOf('GET', 'secret/data/other/unrelated', token), 403);
      assert.equal(await statusOf('POST', 'sys/storage/raft/snapshot', token), 403, 'no restore');
      assert.equal(await statusOf('GET', 'sys/storage/raft/configuration', token), 403);

      const denied = await runCli(['snapshot', 'save', '--to', 's3://backups/denied'], {
        ...s3Env,
        VAULT_TOKEN: await defaultOnlyToken(),
      });
      assert.equal(denied.code, 1, denied.all);
      assert.match(denied.stderr, /^error: .*permission denied/m);
      assert.equal(denied.stderr.trim().split('\n').length, 1, 'one line');
      assert.deepEqual(await s3.listKeys('backups', 'denied/'), [], 'nothing stored');

      const [noCanary] = await printedPolicies(['--job', 'snapshot', '--no-canary']);
      const noCanaryToken = await tokenWith('vault-ops-snapshot-no-canary', noCanary!.hcl);
      const withoutCanaryGrant = await runCli(['snapshot', 'save', '--to', 's3://backups/vault', '--canary'], {
        ...s3Env,
        VAULT_TOKEN: noCanaryToken,
      });
      assert.equal(withoutCanaryGrant.code, 1, withoutCanaryGrant.all);
      assert.match(
        withoutCanaryGrant.stderr,
        /cannot write the canary to vault-ops-canary\/canary .*grant 'create, update'/,
      );
    },
  );

  test(
    'verify: needs no Vault token or Vault at all, only the store and the unseal keys; fails cleanly without the ' +
      'keys',
    async () => {
      const [p] = await printedPolicies(['--job', 'verify']);
      assert.equal(p!.name, undefined);
      assert.equal(p!.kubernetesRole, undefined);
      assert.match(p!.hcl, /needs NO Vault policy/);
      const keys = join(dir, 'unseal-keys');
      await writeFile(keys, `${vault.unsealKeys.join('\n')}\n`, { mode: 0o600 });
      // VAULT_ADDR points nowhere and there is no token: the drill must not need them.
      const env = { ...s3Env, VAULT_ADDR: 'http://127.0.0.1:1' };
      const ok = await runCli(
        [
          'verify',
          '--from',
          's3://backups/vault',
          '--unseal-keys-file',
          keys,
          '--vault-binary',
          vault.binary,
          '--output',
          'json',
        ],
        env,
      );
      assert.equal(ok.code, 0, ok.all);
      assert.equal(ok.json().passed, true);
      assert.ok(
        ok.json().checks.some((c: { name: string; passed: boolean }) => c.name === 'canary' && c.passed),
        JSON.stringify(ok.json().checks),
      );
      assert.ok(!ok.all.includes(vault.unsealKeys[0]!));

      const missing = await runCli(
        [
          'verify',
          '--from',
          's3://backups/vault',
          '--unseal-keys-file',
          join(dir, 'no-such-keys'),
          '--vault-binary',
          vault.binary,
        ],
        env,
      );
      assert.equal(missing.code, 2, missing.all);
      assert.match(
        missing.stderr,
        /cannot read the unseal keys file .*no-such-keys \(ENOENT\): check --unseal-keys-file/,
      );
    },
  );

  test(
    'rotate-kv: generated from the policy file; rotates with only its policy; never reads unrelated or hook-less ' +
      'values',
    async () => {
      await api('POST', 'sys/policies/password/strong', {
        policy: 'length = 24\nrule "charset" {\n  charset = "abcdefghijklmnopqrstuvwxyz0123456789"\n}\n',
      });
      await api('POST', 'secret/data/app/db', { data: { user: 'app', password: 'initial-db-password' } });
      await api('POST', 'secret/data/app/api', { data: { key: 'initial-api-key' } });
      const policyFile = join(dir, 'rotate-kv.yaml');
      await writeFile(
        policyFile,
        stringify({
          job: { command: 'rotate kv', schedule: '15 * * * *' },
          secrets: [
            { mount: 'secret', path: 'app/db', every: '1d', keys: { password: { passwordPolicy: 'strong' } } },
            {
              mount: 'secret',
              path: 'app/api',
              every: '1d',
              keys: { key: { length: 40 } },
              hooks: {
                set: ['sh', '-c', 'cat >/dev/null'],
                test: ['sh', '-c', 'cat >/dev/null'],
                revoke: ['sh', '-c', 'cat >/dev/null'],
                grace: '1s',
              },
            },
          ],
        }),
      );
      const [p] = await printedPolicies(['--job', 'rotate-kv', '--policy', policyFile]);
      assert.equal(p!.name, 'vault-ops-rotate-kv');
      const token = await tokenWith(p!.name!, p!.hcl);

      const denied = await runCli(['rotate', 'kv', '--policy', policyFile, '--force'], {
        VAULT_ADDR: vault.addr,
        VAULT_TOKEN: await defaultOnlyToken(),
      });
      assert.notEqual(denied.code, 0, denied.all);
      assert.match(denied.stderr, /^error: .*(not a secrets engine mount this token can see|permission denied)/m);
      assert.equal((await api('GET', 'secret/data/app/db')).body.data.metadata.version, 1, 'nothing rotated');

      const ok = await runCli(['rotate', 'kv', '--policy', policyFile, '--force', '--output', 'json'], {
        VAULT_ADDR: vault.addr,
        VAULT_TOKEN: token,
      });
      assert.equal(ok.code, 0, ok.all);
      assert.deepEqual(
        ok.json().secrets.map((s: { secret: string; outcome: string }) => [s.secret, s.outcome]),
        [
          ['secret/app/db', 'rotated'],
          ['secret/app/api', 'rotated'],
        ],
      );
      const db1 = (await api('GET', 'secret/data/app/db')).body.data;
      assert.equal(db1.metadata.version, 2);
      assert.equal(db1.data.user, 'app', 'other keys kept');
      assert.match(db1.data.password, /^[a-z0-9]{24}$/, 'from the password policy');
      assert.equal((await api('GET', 'secret/data/app/api')).body.data.metadata.version, 2);
      // The revoke, after its grace period, reads and updates the rotation's record in the staging mount.
      await new Promise((r) => setTimeout(r, 1100));
      const revoked = await runCli(['rotate', 'kv', '--policy', policyFile, '--output', 'json'], {
        VAULT_ADDR: vault.addr,
        VAULT_TOKEN: token,
      });
      assert.equal(revoked.code, 0, revoked.all);
      assert.equal(revoked.json().secrets[1].outcome, 'revoked', revoked.all);
      assert.equal(
        (await api('GET', 'vault-ops-staging/data/revoke/secret/app/api')).body.data.data.state,
        'done',
        "the rotation's own record says the revoke ran",
      );

      assert.equal(
        await statusOf('GET', 'secret/data/app/db', token),
        403,
        'a hook-less secret is written, never read',
      );
      assert.equal(await statusOf('GET', 'secret/data/other/unrelated', token), 403);
      assert.equal(
        await statusOf('POST', 'vault-ops-staging/data/locks/secret/app/db', token, { data: { x: '1' } }),
        403,
        'a hook-less secret takes no lock: nothing on the staging mount',
      );
      assert.equal(await statusOf('GET', 'sys/storage/raft/snapshot', token), 403);
    },
  );

  test(
    'rotate-root: the printed policy suffices for the runbook; without it the preflight lists what is missing; it ' +
      "revokes leases of this connection's roles only",
    async () => {
      const admin = 'vault_admin_setup';
      const adminPassword = `A${randomBytes(12).toString('hex')}`;
      await db.query(`CREATE ROLE ${admin} WITH LOGIN CREATEROLE PASSWORD '${adminPassword}'`);
      await configurePostgresConnection(api, db, {
        mount: 'database',
        connection: 'pg',
        username: admin,
        password: adminPassword,
      });
      await addDynamicRole(api, { mount: 'database', connection: 'pg', role: 'ro' });
      // Roles that are not this connection's: ro2 on connection pg2 of the same mount (a name that
      // starts like ro), and ro on another mount. Their leases must stay out of the policy's reach.
      const superuser = { username: 'postgres', password: db.password };
      await configurePostgresConnection(api, db, {
        mount: 'database',
        connection: 'pg2',
        ...superuser,
        mountIt: false,
      });
      await addDynamicRole(api, { mount: 'database', connection: 'pg2', role: 'ro2' });
      await configurePostgresConnection(api, db, { mount: 'database-other', connection: 'pg', ...superuser });
      await addDynamicRole(api, { mount: 'database-other', connection: 'pg', role: 'ro' });

      // setup policies reads the connection's roles with the caller's token; one that may not: one clear line.
      const weakAdmin = await runCli(
        ['setup', 'policies', '--job', 'rotate-root', '--mount', 'database', '--connection', 'pg'],
        { VAULT_ADDR: vault.addr, VAULT_TOKEN: await defaultOnlyToken() },
      );
      assert.equal(weakAdmin.code, 1, weakAdmin.all);
      assert.match(
        weakAdmin.stderr,
        /^error: the rotate-root policy names each dynamic role of database\/config\/pg, but this token may not read the connection or list\/read database\/roles\/: run setup policies with an administrator's token$/m,
      );
      assert.equal(weakAdmin.stderr.trim().split('\n').length, 1, 'one line');

      const [p] = await printedPolicies(['--job', 'rotate-root', '--mount', 'database', '--connection', 'pg'], {
        VAULT_ADDR: vault.addr,
        VAULT_TOKEN: vault.rootToken,
      });
      assert.equal(p!.name, 'vault-ops-rotate-root-pg');
      const revokePaths = [...p!.hcl.matchAll(/^path "(sys\/(?:leases\/)?revoke[^"]*)"/gm)].map((m) => m[1]);
      assert.deepEqual(
        revokePaths,
        ['sys/leases/revoke/database/creds/ro/*'],
        'exactly the roles of connection pg, path form only',
      );
      assert.ok(
        p!.notes.some((n) => /per dynamic role of the connection \(ro\)/.test(n)),
        p!.notes.join('; '),
      );
      const token = await tokenWith(p!.name!, p!.hcl);
      const args = ['runbook', 'rotate-root', '--mount', 'database', '--connection', 'pg', '--yes'];

      const denied = await runCli([...args, '--journal', join(dir, 'denied.jsonl')], {
        VAULT_ADDR: vault.addr,
        VAULT_TOKEN: await defaultOnlyToken(),
      });
      assert.equal(denied.code, 1, denied.all);
      assert.match(denied.stderr, /the token lacks .*update on database\/rotate-root\/pg/);

      const ok = await runCli([...args, '--journal', join(dir, 'ok.jsonl')], {
        VAULT_ADDR: vault.addr,
        VAULT_TOKEN: token,
      });
      assert.equal(ok.code, 0, ok.all);
      assert.match(ok.stdout, /Runbook rotate-root: COMPLETED/);
      assert.equal(await statusOf('GET', 'secret/data/other/unrelated', token), 403);
      assert.ok(!ok.all.includes(adminPassword));
      // The runbook revoked its check credentials itself (path form, with only this policy): none is left.
      assert.equal(await statusOf('LIST', 'sys/leases/lookup/database/creds/ro/', vault.rootToken), 404);

      // The policy's reach: leases of another mount and of another connection's role stay out of it,
      // by path, by the body form, by a lease_id smuggled into the body of a granted path, and by the legacy
      // sys/revoke.
      const foreign = [
        (await api('GET', 'database-other/creds/ro')).body.lease_id as string,
        (await api('GET', 'database/creds/ro2')).body.lease_id as string,
      ];
      assert.match(foreign[0]!, /^database-other\/creds\/ro\//);
      assert.match(foreign[1]!, /^database\/creds\/ro2\//);
      for (const leaseId of foreign) {
        assert.equal(await statusOf('PUT', `sys/leases/revoke/${leaseId}`, token), 403, `path form: ${leaseId}`);
        assert.equal(
          await statusOf('PUT', 'sys/leases/revoke', token, { lease_id: leaseId }),
          403,
          `body form: ${leaseId}`,
        );
        assert.equal(
          await statusOf('PUT', 'sys/leases/revoke/database/creds/ro/anything', token, { lease_id: leaseId }),
          403,
          `lease_id in the body of a granted path: ${leaseId}`,
        );
        assert.equal(await statusOf('PUT', `sys/revoke/${leaseId}`, token), 403, `legacy sys/revoke: ${leaseId}`);
        assert.equal(
          await statusOf('PUT', 'sys/leases/lookup', vault.rootToken, { lease_id: leaseId }),
          200,
          `still valid: ${leaseId}`,
        );
      }
      // And what it does grant: a lease of this connection's role, by its path.
      const own = (await api('GET', 'database/creds/ro')).body.lease_id as string;
      assert.equal(await statusOf('PUT', `sys/leases/revoke/${own}`, token), 204);
      assert.equal(
        await statusOf('PUT', 'sys/leases/lookup', vault.rootToken, { lease_id: own }),
        400,
        'revoked: the lease is gone',
      );
      for (const leaseId of foreign) await api('PUT', `sys/leases/revoke/${leaseId}`);
    },
  );
});
