import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { sign } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { createJobFromCronJob, jobPod, preparePod, type PreparedPod } from '../testbed/kubelet.js';
import { SERVICE_ACCOUNT_ISSUER, startKubernetes, type KubernetesTestbed } from '../testbed/kubernetes.js';
import { startS3, type S3Testbed } from '../testbed/s3.js';
import { onServer } from '../testbed/servers.js';
import { startVault, type VaultTestbed, rootRequest } from '../testbed/vault.js';
import { CHART, helm } from '../helpers/helm.js';
import { runCli, type CliResult } from '../helpers/run-cli.js';

/**
 * The chart's jobs against a real Kubernetes control plane, step by step as the README's "Deploy on
 * Kubernetes" says: the Vault server (OpenBao or Vault) has Kubernetes auth configured against the
 * testbed's kube-apiserver (its CA, a token-reviewer ServiceAccount bound to
 * system:auth-delegator); `helm install` puts the CronJobs in; the CronJob controller, or a
 * `create job --from=cronjob/…`, makes a Job, the Job controller its Pod; the test then plays the
 * kubelet (test/testbed/kubelet.ts): the Pod's projected token is minted by TokenRequest for the
 * chart's ServiceAccount with the chart's audience and expiry, its ConfigMap and Secrets become
 * files, and its args and env run under the image's entrypoint as a local process. Vault checks
 * every login with a real TokenReview (the API server's audit log shows it). Refused tokens: another
 * ServiceAccount, another namespace, the wrong audience, an expired token, a forged one, a deleted
 * ServiceAccount.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const NS = 'vault-ops';
const BUCKET = 'vault-snapshots';
const REVIEWER = 'system:serviceaccount:vault:vault-token-reviewer';
// Due 5 s after it is written (before() writes it; the rotate test runs a minute later).
const ROTATED = { mount: 'secret', path: 'app/db', every: '5s', keys: { password: { length: 32 } } };

let kube: KubernetesTestbed;
let vault: VaultTestbed;
let s3: S3Testbed;
let dir: string;
let seq = 0;
/** The snapshot the snapshot job stored (the drill must restore that one). */
let snapshotId = '';

const api = (method: string, path: string, body?: unknown) => rootRequest(vault, method, path, body);
const admin = { VAULT_ADDR: '', VAULT_TOKEN: '' };

async function createServiceAccount(namespace: string, name: string): Promise<void> {
  await kube.ensureNamespace(namespace);
  await kube.request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name },
  });
}

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
const login = async (token: string, role?: string) =>
  runCli(statusArgs(await jwtFile(token), role), { VAULT_ADDR: vault.addr });

const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8'));

/** TokenReviews the API server answered for Vault's reviewer identity since audit event `from`. */
async function reviewsSince(from: number): Promise<number> {
  return (await kube.auditEvents())
    .slice(from)
    .filter((e) => e.user.username === REVIEWER && e.objectRef?.resource === 'tokenreviews' && e.verb === 'create')
    .length;
}

/** Vault's bare refusal after a TokenReview said no, as vault-ops words it. */
const NOT_CONFIRMED = /: permission denied: the Kubernetes API server did not confirm the token \(TokenReview\)/;

/** One line naming the failed login and the server's reason, never the JWT. */
function assertLoginFailed(r: CliResult, jwt: string, reason: RegExp): void {
  assert.equal(r.code, 1, r.all);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^error: Kubernetes login to auth\/kubernetes failed: /);
  assert.match(lines[0]!, reason);
  assert.doesNotMatch(lines[0]!, /lacks a capability|setup policies/, 'a failed login is not a missing policy');
  assert.ok(!r.all.includes(jwt), 'the JWT never appears');
  assert.ok(!r.all.includes(jwt.split('.')[2]!), 'not even its signature');
}

/** The Pod's container run as a local process under the image's entrypoint (node bin/vault-ops.js). */
async function runPod(
  pod: any,
): Promise<{ code: number | null; stdout: string; stderr: string; prepared: PreparedPod }> {
  const podRoot = await mkdtemp(join(dir, `pod-${pod.metadata.name}-`));
  const prepared = await preparePod(kube, pod, podRoot);
  // The image's ENTRYPOINT is `node /opt/vault-ops/bin/vault-ops.js`; from the sources that is src/cli/entry.ts.
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'entry.ts'), ...prepared.args], {
    cwd: root,
    env: { PATH: process.env.PATH, ...prepared.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  return { code, stdout, stderr, prepared };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-k8s-auth-'));
  const started = Date.now();
  [kube, vault, s3] = await Promise.all([startKubernetes({ controllerManager: true }), startVault(), startS3()]);
  console.log(`testbed: ${vault.version}; ${kube.version} at ${kube.url} (all ready in ${Date.now() - started} ms)`);
  admin.VAULT_ADDR = vault.addr;
  admin.VAULT_TOKEN = vault.rootToken;
  await s3.createBucket(BUCKET);

  // README "Deploy on Kubernetes", step 2: Vault's token reviewer in the cluster.
  await createServiceAccount('vault', 'vault-token-reviewer');
  await kube.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'vault-token-reviewer' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
    subjects: [{ kind: 'ServiceAccount', name: 'vault-token-reviewer', namespace: 'vault' }],
  });
  // A long-lived token for Vault to call TokenReview with: a service-account-token Secret, filled
  // by the controller manager's token controller (the signing key is the API server's).
  await kube.request('POST', '/api/v1/namespaces/vault/secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'vault-token-reviewer',
      annotations: { 'kubernetes.io/service-account.name': 'vault-token-reviewer' },
    },
    type: 'kubernetes.io/service-account-token',
  });
  let reviewerJwt = '';
  for (const deadline = Date.now() + 30_000; !reviewerJwt; await sleep(200)) {
    const secret = (await kube.request('GET', '/api/v1/namespaces/vault/secrets/vault-token-reviewer')).body;
    reviewerJwt = Buffer.from(secret.data?.token ?? '', 'base64').toString('utf8');
    assert.ok(reviewerJwt || Date.now() < deadline, 'the token controller fills the reviewer Secret within 30 s');
  }

  // Step 3: Vault's Kubernetes auth, the canary mount, the jobs' policies and roles.
  await api('POST', 'sys/auth/kubernetes', { type: 'kubernetes' });
  await api('POST', 'auth/kubernetes/config', {
    kubernetes_host: kube.url,
    kubernetes_ca_cert: kube.caPem,
    token_reviewer_jwt: reviewerJwt,
    disable_local_ca_jwt: true,
  });
  const canary = await runCli(['setup', 'canary'], admin);
  assert.equal(canary.code, 0, canary.all);
  await api('POST', 'sys/mounts/secret', { type: 'kv', options: { version: '2' } });
  await api('POST', `secret/data/${ROTATED.path}`, { data: { password: 'the-first-password', user: 'app' } });
  const rotationPolicy = join(dir, 'rotation.yaml');
  await writeFile(rotationPolicy, stringify({ secrets: [ROTATED] }));
  for (const job of [['snapshot'], ['rotate-kv', '--policy', rotationPolicy]]) {
    const printed = await runCli(['setup', 'policies', '--job', ...job, '--k8s-namespace', NS, '--output', 'json']);
    assert.equal(printed.code, 0, printed.all);
    for (const p of printed.json().policies) {
      await api('POST', `sys/policies/acl/${p.name}`, { policy: p.hcl });
      await api('POST', p.kubernetesRole.path, p.kubernetesRole.params);
    }
  }
  // A role for the login checks below: `status` reads the Raft configuration.
  await api('POST', 'sys/policies/acl/status-reader', {
    policy:
      'path "sys/storage/raft/configuration" { capabilities = ["read"] }\n' +
      'path "sys/storage/raft/autopilot/state" { capabilities = ["read"] }',
  });
  for (const name of ['vault-ops-status', 'vault-ops-gone'])
    await api('POST', `auth/kubernetes/role/${name}`, {
      bound_service_account_names: name,
      bound_service_account_namespaces: NS,
      audience: 'vault',
      token_policies: 'status-reader',
      token_ttl: '5m',
    });

  // Step 4: the release namespace's Secrets (the chart takes only their names).
  await kube.ensureNamespace(NS);
  await kube.createSecret(NS, 'vault-ops-s3', {
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
  });
  await kube.createSecret(NS, 'vault-ops-unseal-keys', { 'unseal-keys': `${vault.unsealKeys.join('\n')}\n` });

  // Step 5: helm install. The snapshot CronJob runs every minute here, so that the CronJob
  // controller makes its Job while the login checks run.
  const values = join(dir, 'values.yaml');
  await writeFile(
    values,
    stringify({
      vault: { address: vault.addr, auth: { mount: 'kubernetes', audience: 'vault' } },
      store: {
        url: `s3://${BUCKET}/prod`,
        s3: { endpoint: s3.endpoint, region: s3.region, forcePathStyle: true },
        credentials: { existingSecret: 'vault-ops-s3' },
      },
      jobs: {
        snapshot: { schedule: '* * * * *' },
        verify: { vaultBinary: vault.binary, unsealKeys: { existingSecret: 'vault-ops-unseal-keys' } },
        rotateKv: { enabled: true, secrets: [ROTATED] },
      },
    }),
  );
  const installed = await helm(['install', 'vault-ops', CHART, '--namespace', NS, '-f', values], {
    home: dir,
    kubeconfig: kube.kubeconfig,
  });
  assert.equal(installed.code, 0, installed.stderr);
  for (const name of ['vault-ops-status', 'someone-else', 'vault-ops-gone']) await createServiceAccount(NS, name);
  await createServiceAccount('elsewhere', 'vault-ops-status');
});
after(async () => {
  await Promise.allSettled([vault?.stop(), kube?.stop(), s3?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe(onServer('Kubernetes auth against a real kube-apiserver (TokenRequest, TokenReview)'), () => {
  test('a token minted for the bound ServiceAccount logs in through a real TokenReview, unprinted', async () => {
    const token = await kube.createToken(NS, 'vault-ops-status', { audiences: ['vault'], expirationSeconds: 600 });
    const from = (await kube.auditEvents()).length;
    const r = await login(token);
    assert.equal(r.code, 0, r.all);
    assert.equal(r.json().sealed, false);
    assert.ok(!r.all.includes(token) && !r.all.includes(token.split('.')[2]!), 'the JWT never appears');
    assert.equal(await reviewsSince(from), 1, 'Vault asked the API server (one TokenReview by its reviewer)');
  });

  test('another ServiceAccount, another namespace, the wrong audience, an unknown role: exit 1 and why', async () => {
    const other = await kube.createToken(NS, 'someone-else', { audiences: ['vault'] });
    assertLoginFailed(await login(other), other, /service account name not authorized/);
    const elsewhere = await kube.createToken('elsewhere', 'vault-ops-status', { audiences: ['vault'] });
    assertLoginFailed(await login(elsewhere), elsewhere, /namespace not authorized/);
    const apiAudience = await kube.createToken(NS, 'vault-ops-status');
    assert.deepEqual(claims(apiAudience).aud, [SERVICE_ACCOUNT_ISSUER], "the API server's own audience");
    assertLoginFailed(await login(apiAudience), apiAudience, /invalid audience \(aud\) claim/);
    const good = await kube.createToken(NS, 'vault-ops-status', { audiences: ['vault'] });
    assertLoginFailed(await login(good, 'no-such-role'), good, /invalid role name "no-such-role"/);
  });

  test("an expired token (the server's own check) and a forged one (the TokenReview): exit 1, why", async () => {
    // The API server mints no token shorter than 10 minutes: the expired one is a real token of the
    // ServiceAccount with its times moved 2 h back, signed with the API server's own key (what the
    // server minted 2 h ago). The same token re-signed unchanged logs in, so only the times differ.
    const real = await kube.createToken(NS, 'vault-ops-status', { audiences: ['vault'], expirationSeconds: 600 });
    const [header, payload] = real.split('.') as [string, string];
    const resign = (c: Record<string, unknown>) => {
      const body = `${header}.${Buffer.from(JSON.stringify(c)).toString('base64url')}`;
      const sig = sign('sha256', Buffer.from(body), { key: kube.serviceAccountKeyPem, dsaEncoding: 'ieee-p1363' });
      return `${body}.${sig.toString('base64url')}`;
    };
    const c = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const same = resign(c);
    assert.equal((await login(same)).code, 0, 'a token signed by the testbed with the real claims is accepted');
    const expired = resign({ ...c, iat: c.iat - 7200, nbf: c.nbf - 7200, exp: c.exp - 7200 });
    const from = (await kube.auditEvents()).length;
    // Both servers check `exp` themselves, before any TokenReview, and say so.
    assertLoginFailed(await login(expired), expired, /: invalid expiration time \(exp\) claim: token is expired;/);
    assert.equal(await reviewsSince(from), 0, 'refused before any TokenReview');

    // Forged: another ServiceAccount's token with its claims edited to the bound name, signature kept.
    const other = await kube.createToken(NS, 'someone-else', { audiences: ['vault'] });
    const oc = claims(other);
    oc.sub = `system:serviceaccount:${NS}:vault-ops-status`;
    oc['kubernetes.io'].serviceaccount.name = 'vault-ops-status';
    const [oh, , os] = other.split('.');
    const forged = `${oh}.${Buffer.from(JSON.stringify(oc)).toString('base64url')}.${os}`;
    assertLoginFailed(await login(forged), forged, NOT_CONFIRMED);
    assert.equal(await reviewsSince(from), 1, 'the API server was asked, and said no');
  });

  test('a deleted ServiceAccount: its token is refused once the API server forgets the review (10 s)', async () => {
    const token = await kube.createToken(NS, 'vault-ops-gone', { audiences: ['vault'] });
    assert.equal((await login(token, 'vault-ops-gone')).code, 0, 'valid while the ServiceAccount exists');
    await kube.request('DELETE', `/api/v1/namespaces/${NS}/serviceaccounts/vault-ops-gone`);
    // The API server caches a successful TokenReview for 10 s.
    await sleep(11_000);
    assertLoginFailed(await login(token, 'vault-ops-gone'), token, NOT_CONFIRMED);
  });

  test("Vault's token reviewer without system:auth-delegator: a valid token is refused, exit 1", async () => {
    const crb = '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/vault-token-reviewer';
    const binding = (await kube.request('GET', crb)).body;
    await kube.request('DELETE', crb);
    try {
      await sleep(1000);
      const token = await kube.createToken(NS, 'vault-ops-status', { audiences: ['vault'] });
      const r = await login(token);
      assertLoginFailed(r, token, NOT_CONFIRMED);
    } finally {
      const { metadata, ...rest } = binding;
      await kube.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
        ...rest,
        metadata: { name: metadata.name },
      });
    }
  });

  test(
    'the snapshot CronJob: the CronJob controller makes the Job, the Job controller its Pod; run as the kubelet ' +
      'would, it logs in through TokenReview and stores a snapshot in S3',
    async () => {
      // Forbid + a Pod that never runs (no kubelet): the controller makes exactly one Job.
      let job: any;
      const deadline = Date.now() + 75_000;
      while (!job) {
        const jobs = (await kube.request('GET', `/apis/batch/v1/namespaces/${NS}/jobs`)).body.items;
        job = jobs.find((j: any) => j.metadata.ownerReferences?.some((o: any) => o.name === 'vault-ops-snapshot'));
        if (!job) {
          assert.ok(Date.now() < deadline, 'the CronJob controller made a Job within 75 s of a "* * * * *" schedule');
          await sleep(500);
        }
      }
      assert.ok(job.metadata.annotations['batch.kubernetes.io/cronjob-scheduled-timestamp'], 'a scheduled run');
      const pod = await jobPod(kube, NS, job.metadata.name);
      assert.equal(pod.spec.serviceAccountName, 'vault-ops-snapshot');

      const from = (await kube.auditEvents()).length;
      const r = await runPod(pod);
      assert.equal(r.code, 0, r.stderr);
      const token = r.prepared.tokens.get('vault-token')!;
      const c = claims(token);
      assert.deepEqual(c.aud, ['vault'], "the chart's audience");
      assert.equal(c.exp - c.iat, 600, "the chart's expiry");
      assert.equal(c.iss, SERVICE_ACCOUNT_ISSUER);
      assert.equal(c.sub, `system:serviceaccount:${NS}:vault-ops-snapshot`);
      assert.equal(c['kubernetes.io'].pod.name, pod.metadata.name, 'bound to the Pod, as the kubelet asks');
      assert.ok(!(r.stdout + r.stderr).includes(token), 'the projected token never appears');
      assert.ok(!(r.stdout + r.stderr).includes(s3.secretAccessKey), 'nor the S3 secret from the Secret');
      assert.ok((await reviewsSince(from)) >= 1, 'the login went through a TokenReview');
      assert.ok(!JSON.stringify(await kube.auditEvents()).includes(token), "nor the API server's audit log");
      const manifests = (await s3.listKeys(BUCKET, 'prod/')).filter((k) => k.endsWith('.manifest.json'));
      assert.equal(manifests.length, 1, `one snapshot in s3://${BUCKET}/prod: ${manifests.join(', ')}`);
      snapshotId = manifests[0]!.slice('prod/'.length, -'.manifest.json'.length);
    },
  );

  test('the verify CronJob (create job --from=cronjob): the drill restores the snapshot from S3', async () => {
    await createJobFromCronJob(kube, NS, 'vault-ops-verify', 'verify-now');
    const pod = await jobPod(kube, NS, 'verify-now');
    const r = await runPod(pod);
    assert.equal(r.code, 0, r.stderr);
    const drill = JSON.parse(r.stdout);
    assert.equal(drill.passed, true, r.stdout);
    assert.equal(drill.mode, 'recovery');
    assert.equal(drill.snapshotId, snapshotId, 'the drill restored the snapshot the snapshot job stored');
    assert.equal(r.prepared.tokens.size, 0, 'the verify pod gets no Vault token');
    assert.equal(r.prepared.env.VAULT_ADDR, undefined);
    const keysFile = r.prepared.env.VAULT_OPS_UNSEAL_KEYS_FILE!;
    assert.equal((await readFile(keysFile, 'utf8')).trim().split('\n').length, vault.unsealKeys.length);
    for (const key of vault.unsealKeys) assert.ok(!(r.stdout + r.stderr).includes(key), 'no unseal key printed');
  });

  test('the rotate-kv CronJob (create job --from=cronjob): its own role rotates the secret', async () => {
    await createJobFromCronJob(kube, NS, 'vault-ops-rotate-kv', 'rotate-now');
    const pod = await jobPod(kube, NS, 'rotate-now');
    assert.equal(pod.spec.serviceAccountName, 'vault-ops-rotate-kv');
    const r = await runPod(pod);
    assert.equal(r.code, 0, r.stderr);
    const secret = (await api('GET', `secret/data/${ROTATED.path}`)).body;
    assert.notEqual(secret.data.data.password, 'the-first-password', 'rotated');
    assert.equal(secret.data.data.user, 'app', 'other keys kept');
    assert.ok(!(r.stdout + r.stderr).includes(secret.data.data.password), 'the new value never appears');
  });
});
