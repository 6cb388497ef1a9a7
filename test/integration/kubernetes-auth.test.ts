import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bootstrapRequest } from '../testbed/bootstrap-http.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';
import { runCli } from '../helpers/run-cli.js';
import { startTokenReviewServer, type TokenReviewServer } from '../helpers/token-review-server.js';
import { onServer } from '../testbed/servers.js';

/**
 * Vault's Kubernetes auth end to end: the server's kubernetes auth method (OpenBao or Vault) is configured against a
 * local HTTPS TokenReview endpoint (what the API server answers in a cluster), and vault-ops logs
 * in with a service-account JWT file, as the chart's CronJobs do with their projected token.
 */

let vault: VaultTestbed;
let kube: TokenReviewServer;
let dir: string;
let seq = 0;

const NS = 'vault-ops';
const api = (method: string, path: string, body?: unknown) =>
  bootstrapRequest(vault.addr, method, path, { token: vault.rootToken, ...(body !== undefined ? { body } : {}) });

async function jwtFile(token: string): Promise<string> {
  const file = join(dir, `jwt-${++seq}`);
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return file;
}

const statusArgs = (file: string, role = 'vault-ops-status') => [
  'status',
  '--auth-method',
  'kubernetes',
  '--auth-role',
  role,
  '--jwt-file',
  file,
  '--output',
  'json',
  '--log-level',
  'debug',
];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-k8s-auth-'));
  [vault, kube] = await Promise.all([startVault(), startTokenReviewServer(dir)]);
  console.log(`testbed: ${vault.version}; TokenReview endpoint at ${kube.url}`);
  await api('POST', 'sys/auth/kubernetes', { type: 'kubernetes' });
  // Outside a pod the server would look for the in-cluster CA and token files: give the CA, turn those off.
  await api('POST', 'auth/kubernetes/config', {
    kubernetes_host: kube.url,
    kubernetes_ca_cert: kube.caPem,
    disable_local_ca_jwt: true,
  });
  await api('POST', 'sys/policies/acl/status-reader', {
    policy:
      'path "sys/storage/raft/configuration" { capabilities = ["read"] }\npath "sys/storage/raft/autopilot/state" { ' +
      'capabilities = ["read"] }',
  });
  await api('POST', 'auth/kubernetes/role/vault-ops-status', {
    bound_service_account_names: 'vault-ops-status',
    bound_service_account_namespaces: NS,
    audience: 'vault',
    token_policies: 'status-reader',
    token_ttl: '5m',
    token_max_ttl: '15m',
  });
});
after(async () => {
  await Promise.allSettled([vault?.stop(), kube?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe(onServer('kubernetes auth against a TokenReview endpoint'), () => {
  test(
    'vault-ops status --auth-method kubernetes logs in with the JWT file; the JWT and the Vault token are never ' +
      'printed',
    async () => {
      const jwt = kube.issue({ namespace: NS, name: 'vault-ops-status' }, { audiences: ['vault'] });
      const before = kube.reviews.length;
      const r = await runCli(statusArgs(await jwtFile(jwt)), { VAULT_ADDR: vault.addr });
      assert.equal(r.code, 0, r.all);
      assert.equal(r.json().sealed, false);
      assert.equal(r.json().peers.length, 1);
      assert.ok(!r.all.includes(jwt), 'the JWT never appears');
      assert.ok(!r.all.includes(jwt.split('.')[2]!), 'not even its signature');
      const review = kube.reviews.at(-1)!;
      assert.equal(kube.reviews.length, before + 1, 'the server asked the TokenReview endpoint');
      assert.deepEqual(review, {
        audiences: ['vault'],
        authenticated: true,
        username: `system:serviceaccount:${NS}:vault-ops-status`,
      });
    },
  );

  /** One line naming the failed login and what to check, never the JWT. */
  function assertLoginFailed(r: Awaited<ReturnType<typeof runCli>>, jwt: string): void {
    assert.equal(r.code, 1, r.all);
    const line = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
    assert.equal(line.length, 1, r.stderr);
    assert.match(
      line[0]!,
      /^error: Kubernetes login to auth\/kubernetes failed: .*; check the role, the credential and the auth mount \(--auth-mount\)$/,
    );
    assert.ok(!r.all.includes(jwt), 'the JWT never appears');
  }

  test('a token for the wrong audience: exit 1, one clear line; the server never asked the API server', async () => {
    const jwt = kube.issue(
      { namespace: NS, name: 'vault-ops-status' },
      { audiences: ['https://kubernetes.default.svc'] },
    );
    const reviews = kube.reviews.length;
    assertLoginFailed(await runCli(statusArgs(await jwtFile(jwt)), { VAULT_ADDR: vault.addr }), jwt);
    assert.equal(kube.reviews.length, reviews, 'rejected on its aud claim before any TokenReview');
  });

  test('a token the API server rejects (revoked): exit 1, one clear line', async () => {
    const jwt = kube.issue({ namespace: NS, name: 'vault-ops-status' }, { audiences: ['vault'] });
    kube.revoke(jwt);
    assertLoginFailed(await runCli(statusArgs(await jwtFile(jwt)), { VAULT_ADDR: vault.addr }), jwt);
    assert.deepEqual(kube.reviews.at(-1), { audiences: ['vault'], authenticated: false });
  });

  test('forged claims are caught by the review: audience and uid must match what the API server says', async () => {
    const forgedAud = kube.issue(
      { namespace: NS, name: 'vault-ops-status' },
      { audiences: ['other'], forgedClaims: { audiences: ['vault'] } },
    );
    assertLoginFailed(await runCli(statusArgs(await jwtFile(forgedAud)), { VAULT_ADDR: vault.addr }), forgedAud);
    assert.deepEqual(
      kube.reviews.at(-1),
      { audiences: ['vault'], authenticated: false },
      'the API server said no for audience vault',
    );

    const forgedUid = kube.issue(
      { namespace: NS, name: 'vault-ops-status' },
      { audiences: ['vault'], forgedClaims: { uid: '00000000-0000-4000-8000-000000000000' } },
    );
    assertLoginFailed(await runCli(statusArgs(await jwtFile(forgedUid)), { VAULT_ADDR: vault.addr }), forgedUid);
    assert.equal(
      kube.reviews.at(-1)!.authenticated,
      true,
      'the token itself is valid: the server refused the uid mismatch',
    );
  });

  test('a service account the role does not bind, a wrong namespace, an unknown role: exit 1', async () => {
    const other = kube.issue({ namespace: NS, name: 'someone-else' }, { audiences: ['vault'] });
    assertLoginFailed(await runCli(statusArgs(await jwtFile(other)), { VAULT_ADDR: vault.addr }), other);
    const wrongNs = kube.issue({ namespace: 'default', name: 'vault-ops-status' }, { audiences: ['vault'] });
    assertLoginFailed(await runCli(statusArgs(await jwtFile(wrongNs)), { VAULT_ADDR: vault.addr }), wrongNs);
    const good = kube.issue({ namespace: NS, name: 'vault-ops-status' }, { audiences: ['vault'] });
    const role = await runCli(statusArgs(await jwtFile(good), 'no-such-role'), { VAULT_ADDR: vault.addr });
    assertLoginFailed(role, good);
    assert.match(role.stderr, /invalid role name "no-such-role"/);
  });

  // Both servers answer these 403s with a precise reason ("invalid audience (aud) claim: …", "service
  // account name not authorized", "namespace not authorized"), but src/vault/errors.ts drops the
  // detail of every 403 and src/vault/auth.ts then says "the token lacks a capability on this
  // path … grant it with the policy from 'vault-ops setup policies'", which is wrong for a login.
  test('login failures name the server`s reason', async () => {
    const wrongAud = kube.issue({ namespace: NS, name: 'vault-ops-status' }, { audiences: ['other'] });
    assert.match(
      (await runCli(statusArgs(await jwtFile(wrongAud)), { VAULT_ADDR: vault.addr })).stderr,
      /Kubernetes login to auth\/kubernetes failed: invalid audience \(aud\) claim/,
    );
    const other = kube.issue({ namespace: NS, name: 'someone-else' }, { audiences: ['vault'] });
    assert.match(
      (await runCli(statusArgs(await jwtFile(other)), { VAULT_ADDR: vault.addr })).stderr,
      /service account name not authorized/,
    );
    const wrongNs = kube.issue({ namespace: 'default', name: 'vault-ops-status' }, { audiences: ['vault'] });
    assert.match(
      (await runCli(statusArgs(await jwtFile(wrongNs)), { VAULT_ADDR: vault.addr })).stderr,
      /namespace not authorized/,
    );
    const revoked = kube.issue({ namespace: NS, name: 'vault-ops-status' }, { audiences: ['vault'] });
    kube.revoke(revoked);
    const errorLine =
      (await runCli(statusArgs(await jwtFile(revoked)), { VAULT_ADDR: vault.addr })).stderr
        .split('\n')
        .find((l) => l.startsWith('error:')) ?? '';
    assert.match(errorLine, /Kubernetes login to auth\/kubernetes failed/);
    assert.doesNotMatch(errorLine, /lacks a capability|setup policies/, 'a failed login is not a missing policy');
  });

  test(
    'the snapshot job end to end: the role and policy printed by setup policies, a projected-style token, a ' +
      'stored snapshot',
    async () => {
      const printed = await runCli([
        'setup',
        'policies',
        '--job',
        'snapshot',
        '--no-canary',
        '--k8s-namespace',
        NS,
        '--output',
        'json',
      ]);
      assert.equal(printed.code, 0, printed.all);
      const [p] = printed.json().policies;
      await api('POST', `sys/policies/acl/${p.name}`, { policy: p.hcl });
      await api('POST', p.kubernetesRole.path, p.kubernetesRole.params);
      assert.equal(
        p.kubernetesRole.params.bound_service_account_names,
        'vault-ops-snapshot',
        "the chart's service account name",
      );

      const jwt = kube.issue({ namespace: NS, name: 'vault-ops-snapshot' }, { audiences: ['vault'] });
      const store = join(dir, 'store');
      const env = {
        VAULT_ADDR: vault.addr,
        VAULT_OPS_AUTH_METHOD: 'kubernetes',
        VAULT_OPS_AUTH_ROLE: 'vault-ops-snapshot',
        VAULT_OPS_JWT_FILE: await jwtFile(jwt),
      };
      const r = await runCli(['snapshot', 'save', '--to', store, '--output', 'json'], env);
      assert.equal(r.code, 0, r.all);
      assert.ok(
        (await readdir(store, { recursive: true })).some((f) => String(f).endsWith(`${r.json().id}.manifest.json`)),
      );
      assert.ok(!r.all.includes(jwt));

      // The same service account cannot use another job's role.
      const status = await runCli(['status'], { ...env, VAULT_OPS_AUTH_ROLE: 'vault-ops-status' });
      assertLoginFailed(status, jwt);
    },
  );
});
